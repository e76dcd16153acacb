"""Fine-tuning recipes: the course's fast one and the PyTorch tutorial's reference one.

Both take the loaders of `helpers.data.dataloaders(...)`, build a pretrained backbone with a
new head, train it with `helpers.training.fit` and return (model, History) with the best
epoch's weights restored. Taught in notebook 04, reused by notebook 05 and the benchmarks.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable, Iterable, Sequence

import torch
from torch import nn
from torch.utils.data import DataLoader

from helpers import freezing, models, training

# The course recipe: probe the new head, then fine-tune (LP-FT, Kumar et al., ICLR 2022).
# Measured on 2 idle CPU cores, hymenoptera, efficientnet_lite0, seeds 0-2: best val accuracy
# 0.961 / 0.954 / 0.954 in about 50 s each; the same budget without the probe phase gave
# 0.954 / 0.941 / 0.941 (head lr 3e-3, backbone 1e-4) and 0.954 / 0.935 / 0.935 (3e-3, 3e-4).
COURSE_BATCH_SIZE = 16
COURSE_EPOCHS = 6  # in all: COURSE_PROBE_EPOCHS of them train only the head
COURSE_PROBE_EPOCHS = 2
COURSE_PROBE_LR = 3e-3
COURSE_HEAD_LR = 1e-3
COURSE_BACKBONE_LR = 1e-4
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


def _score(record: training.EpochRecord) -> tuple[float, float]:
    """How fit ranks epochs: val accuracy, then lower val loss (train when there is no val)."""
    if record.val_accuracy is not None:
        return record.val_accuracy, -record.val_loss
    return record.train_accuracy, -record.train_loss


def _concatenate(first: training.History, second: training.History) -> training.History:
    """One History of two consecutive fits, epochs numbered on; best is the better phase's."""
    offset = len(first.records)
    records = first.records + [
        dataclasses.replace(record, epoch=record.epoch + offset) for record in second.records
    ]
    best_epochs = {first.best_epoch}
    if second.best_epoch is not None:
        best_epochs.add(second.best_epoch + offset)
    candidates = [record for record in records if record.epoch in best_epochs]
    best = max(candidates, key=_score).epoch if candidates else None  # a tie goes to the probe
    return training.History(records, best, first.interrupted or second.interrupted)


def probe_head(
    model: nn.Module,
    loaders: dict[str, DataLoader],
    *,
    epochs: int = COURSE_PROBE_EPOCHS,
    lr: float = COURSE_PROBE_LR,
    device: str | torch.device | None = None,
    callbacks: Iterable[Callback] = (),
    progress: bool = True,
) -> training.History:
    """Train only the head (everything else frozen) with AdamW at lr; returns its History.

    Which parameters were trainable before is restored afterwards. Notebook 04.
    """
    was_trainable = [p.requires_grad for p in model.parameters()]
    freezing.freeze(model)
    _, head = models.find_head(model)
    freezing.unfreeze(head)
    try:
        optimizer = torch.optim.AdamW(head.parameters(), lr=lr)
        return training.fit(
            model, loaders, epochs=epochs, optimizer=optimizer, device=device,
            callbacks=callbacks, progress=progress,
        )  # fmt: skip
    finally:
        for parameter, trainable in zip(model.parameters(), was_trainable, strict=True):
            parameter.requires_grad = trainable


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
    probe_epochs: int | None = None,
) -> tuple[nn.Module, training.History]:
    """The course's fine-tune: probe the new head, then fine-tune with two learning rates.

    1. Probe: for probe_epochs (default COURSE_PROBE_EPOCHS when pretrained, 0 from scratch)
       only the new head learns, so the backbone never sees a random head's large gradients.
    2. Fine-tune, for the remaining epochs: the early, high-resolution groups stay frozen
       (EARLY_GROUPS[backbone] unless frozen_groups is given; pass () to train everything);
       the head and the rest of the backbone go into two AdamW parameter groups (head_lr,
       backbone_lr), both annealed by OneCycleLR (30% warm-up, then cosine), every batch.
    At least one epoch is always a fine-tuning epoch. seed fixes the head's initialisation,
    the augmentation and the train loader's shuffling. Use loaders built with batch size
    COURSE_BATCH_SIZE. Returns (model with the best epoch's weights, the History of both
    phases, epochs numbered on). Notebook 04.
    """
    _reseed(loaders, seed)
    if frozen_groups is None:
        frozen_groups = EARLY_GROUPS.get(backbone, ())
    if probe_epochs is None:
        probe_epochs = COURSE_PROBE_EPOCHS if pretrained else 0
    probe_epochs = max(0, min(probe_epochs, epochs - 1))
    model = build_model(num_classes, backbone, pretrained, frozen_groups)
    callbacks = list(callbacks)
    probed = training.History()
    if probe_epochs:
        probed = probe_head(
            model, loaders, epochs=probe_epochs, device=device, callbacks=callbacks,
            progress=progress,
        )  # fmt: skip
        if probed.interrupted:
            return model, probed
    probed_state = copy.deepcopy(model.state_dict())
    head_params, backbone_params = head_and_backbone_parameters(model)
    groups = [{"params": head_params, "lr": head_lr}]
    if backbone_params:
        groups.append({"params": backbone_params, "lr": backbone_lr})
    optimizer = torch.optim.AdamW(groups)
    finetune_epochs = epochs - probe_epochs
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer,
        max_lr=[group["lr"] for group in groups],
        total_steps=finetune_epochs * len(loaders["train"]),
        pct_start=COURSE_PCT_START,
    )
    finetuned = training.fit(
        model,
        loaders,
        epochs=finetune_epochs,
        optimizer=optimizer,
        scheduler=scheduler,
        device=device,
        callbacks=[lambda h, c=c: c(_concatenate(probed, h)) for c in callbacks],
        progress=progress,
    )
    history = _concatenate(probed, finetuned)
    if history.best_epoch is not None and history.best_epoch <= probe_epochs:
        model.load_state_dict(probed_state)  # the probe's best beat every fine-tuning epoch
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
        freeze_batchnorm_stats=False,  # as in the tutorial: BatchNorm statistics keep moving
    )
    return model, history
