"""Fine-tuning recipes: the course's fast one and the PyTorch tutorial's reference one.

Both take the loaders of `helpers.data.dataloaders(...)`, build a pretrained backbone with a
new head, train it with `helpers.training.fit` and return (model, History) with the best
epoch's weights restored. Taught in notebook 04, reused by notebook 05 and the benchmarks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import torch
from torch import nn
from torch.utils.data import DataLoader

from helpers import freezing, models, training

# The course recipe. Measured in notebook 04 (2 CPU cores, hymenoptera, efficientnet_lite0).
COURSE_BATCH_SIZE = 16
COURSE_EPOCHS = 5
COURSE_HEAD_LR = 3e-3
COURSE_BACKBONE_LR = 3e-4
COURSE_PCT_START = 0.3  # share of the one-cycle schedule spent warming up
# The high-resolution early layers: their backward pass dominates a CPU training step, and the
# edges and textures they detect transfer unchanged, so the course recipe keeps them frozen.
EARLY_GROUPS = {
    "efficientnet_lite0": ("stem", "blocks.0", "blocks.1"),
    "resnet18": ("stem", "layer1"),
}

# The PyTorch "Transfer Learning for Computer Vision" tutorial (ResNet-18), and what it reports.
TUTORIAL_BATCH_SIZE = 4
TUTORIAL_EPOCHS = 25
TUTORIAL_LR = 0.001
TUTORIAL_MOMENTUM = 0.9
TUTORIAL_STEP_SIZE = 7
TUTORIAL_GAMMA = 0.1
TUTORIAL_URL = "https://pytorch.org/tutorials/beginner/transfer_learning_tutorial.html"
TUTORIAL_PUBLISHED = {
    "finetune_best_val_accuracy": 0.935,
    "fixed_extractor_best_val_accuracy": 0.948,
    "cpu_minutes": "15-25",
}

Callback = Callable[[training.History], None]


def build_model(
    num_classes: int = 2,
    backbone: str = models.DEFAULT_BACKBONE,
    pretrained: bool = True,
    frozen_groups: Sequence[str] = (),
) -> nn.Module:
    """A pretrained backbone with a new nn.Linear(features, num_classes) head.

    frozen_groups: layer groups (see helpers.freezing.layer_groups) to freeze, e.g.
    EARLY_GROUPS[backbone]. Notebook 04.
    """
    model = models.replace_head(models.load_backbone(backbone, pretrained), num_classes)
    freezing.set_trainable(model, dict.fromkeys(frozen_groups, False))
    return model


def head_and_backbone_parameters(
    model: nn.Module,
) -> tuple[list[nn.Parameter], list[nn.Parameter]]:
    """(head parameters, other trainable parameters): the two learning-rate groups."""
    _, head = models.find_head(model)
    head_ids = {id(p) for p in head.parameters()}
    trainable = freezing.trainable_parameters(model)
    head_params = [p for p in trainable if id(p) in head_ids]
    backbone_params = [p for p in trainable if id(p) not in head_ids]
    return head_params, backbone_params


def _reseed(loaders: dict[str, DataLoader], seed: int) -> None:
    """Seed everything a run draws from: the new head, augmentation, and the shuffling order."""
    training.seed_everything(seed)
    generator = getattr(loaders["train"], "generator", None)
    if generator is not None:
        generator.manual_seed(seed)


def course_finetune(
    loaders: dict[str, DataLoader],
    *,
    num_classes: int = 2,
    backbone: str = models.DEFAULT_BACKBONE,
    pretrained: bool = True,
    epochs: int = COURSE_EPOCHS,
    seed: int = 0,
    device: str | torch.device | None = None,
    callbacks: Iterable[Callback] = (),
    progress: bool = True,
    head_lr: float = COURSE_HEAD_LR,
    backbone_lr: float = COURSE_BACKBONE_LR,
    frozen_groups: Sequence[str] | None = None,
) -> tuple[nn.Module, training.History]:
    """The course's fine-tune: new head, AdamW with a 10x higher LR for the head, one cycle.

    Freezes the backbone's early, high-resolution groups (EARLY_GROUPS[backbone] unless
    frozen_groups is given; pass () to train everything), puts the head and the rest of the
    backbone in two AdamW parameter groups (head_lr, backbone_lr), and anneals both with
    OneCycleLR (warm-up for 30% of the steps, then cosine decay), stepped every batch.
    seed fixes the head's initialisation, the augmentation and the train loader's shuffling.
    Use loaders built with batch size COURSE_BATCH_SIZE. Returns (model with the best epoch's
    weights, History). Notebook 04.
    """
    _reseed(loaders, seed)
    if frozen_groups is None:
        frozen_groups = EARLY_GROUPS.get(backbone, ())
    model = build_model(num_classes, backbone, pretrained, frozen_groups)
    head_params, backbone_params = head_and_backbone_parameters(model)
    groups = [{"params": head_params, "lr": head_lr}]
    if backbone_params:
        groups.append({"params": backbone_params, "lr": backbone_lr})
    optimizer = torch.optim.AdamW(groups)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer,
        max_lr=[group["lr"] for group in groups],
        total_steps=epochs * len(loaders["train"]),
        pct_start=COURSE_PCT_START,
    )
    history = training.fit(
        model,
        loaders,
        epochs=epochs,
        optimizer=optimizer,
        scheduler=scheduler,
        device=device,
        callbacks=callbacks,
        progress=progress,
    )
    return model, history


def tutorial_finetune(
    loaders: dict[str, DataLoader],
    *,
    num_classes: int = 2,
    backbone: str = "resnet18",
    pretrained: bool = True,
    epochs: int = TUTORIAL_EPOCHS,
    seed: int = 0,
    device: str | torch.device | None = None,
    callbacks: Iterable[Callback] = (),
    progress: bool = True,
    fixed_feature_extractor: bool = False,
) -> tuple[nn.Module, training.History]:
    """The PyTorch tutorial's recipe: SGD(lr 0.001, momentum 0.9), StepLR(7, 0.1), 25 epochs.

    Every parameter learns at one rate (or only the new head, when fixed_feature_extractor).
    The tutorial uses ResNet-18 and batch size TUTORIAL_BATCH_SIZE (4); its published best
    val accuracies are in TUTORIAL_PUBLISHED. Returns (model, History). Notebook 04.
    """
    _reseed(loaders, seed)
    model = models.replace_head(models.load_backbone(backbone, pretrained), num_classes)
    if fixed_feature_extractor:
        freezing.freeze(model)
        freezing.unfreeze(models.find_head(model)[1])
    optimizer = torch.optim.SGD(
        freezing.trainable_parameters(model), lr=TUTORIAL_LR, momentum=TUTORIAL_MOMENTUM
    )
    scheduler = torch.optim.lr_scheduler.StepLR(
        optimizer, step_size=TUTORIAL_STEP_SIZE, gamma=TUTORIAL_GAMMA
    )
    history = training.fit(
        model,
        loaders,
        epochs=epochs,
        optimizer=optimizer,
        scheduler=scheduler,
        device=device,
        callbacks=callbacks,
        progress=progress,
    )
    return model, history
