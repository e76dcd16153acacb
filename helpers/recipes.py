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

from helpers import anatomy, freezing, models, training

# The course recipe. Start the fine-tune from a head that already predicts well: ImageNet's own
# rows when the classes are ImageNet classes (ants, bees), else a short head warm-up (the head
# alone learns for 2 epochs first; LP-FT, Kumar et al., ICLR 2022, trains that linear probe to
# convergence first, so this is a shortened form of it). Then fine-tune with BatchNorm in
# inference mode, the early groups frozen and two small AdamW learning rates on one cycle. The
# numbers behind each choice (5 seeds, final and best epoch) are in benchmarks/seed_study.py's
# saved table.
COURSE_BATCH_SIZE = 16
COURSE_EPOCHS = 4  # fine-tuning epochs, after any probe epochs
COURSE_PROBE_EPOCHS = 2  # head-only epochs first, when the head cannot be warm-started
COURSE_PROBE_LR = 3e-3
COURSE_HEAD_LR = 3e-4
COURSE_BACKBONE_LR = 3e-5
COURSE_BATCHNORM = "inference"  # keep ImageNet's statistics: batches of 16 are noisy estimates
COURSE_PCT_START = 0.3  # share of the one-cycle schedule spent warming up
# The layer groups kept frozen while fine-tuning are each backbone's early groups
# (models.BackboneSpec.early_groups): high-resolution layers whose edges and textures transfer.
# Data far from ImageNet (8x8 digits, notebook 05): everything trains, BatchNorm learns the new
# statistics, one learning rate for head and backbone, no probe, more epochs.
FAR_DOMAIN = {
    "frozen_groups": (),
    "head_lr": 1e-3,
    "backbone_lr": 1e-3,
    "probe_epochs": 0,
    "batchnorm": "train",
    "epochs": 6,
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
    head_rows: Sequence[int] | None = None,
) -> nn.Module:
    """A pretrained backbone with a new nn.Linear(features, num_classes) head.

    frozen_groups: layer groups (see helpers.anatomy.layer_groups) to freeze, e.g.
    models.backbone_spec(backbone).early_groups. head_rows: ImageNet classes to copy into the
    new head (one per class, models.imagenet_indices); None for a random head. Notebook 04.
    """
    model = models.replace_head(models.load_backbone(backbone, pretrained), num_classes, head_rows)
    freezing.set_trainable(model, dict.fromkeys(frozen_groups, False))
    return model


def head_and_backbone_parameters(
    model: nn.Module,
) -> tuple[list[nn.Parameter], list[nn.Parameter]]:
    """(head parameters, other trainable parameters): the two learning-rate groups."""
    head_ids = {id(p) for p in anatomy.head(model).parameters()}
    trainable = freezing.trainable_parameters(model)
    head_params = [p for p in trainable if id(p) in head_ids]
    backbone_params = [p for p in trainable if id(p) not in head_ids]
    return head_params, backbone_params


def warm_start_rows(
    loaders: dict[str, DataLoader], num_classes: int, pretrained: bool
) -> list[int] | None:
    """ImageNet rows for the new head when every class of the train set is an ImageNet class."""
    class_names = getattr(loaders["train"].dataset, "classes", None)
    if not pretrained or class_names is None or len(class_names) != num_classes:
        return None
    return models.imagenet_indices(class_names)


def _reseed(loaders: dict[str, DataLoader], seed: int) -> None:
    """Seed everything a run draws from: the new head, augmentation, and the shuffling order."""
    training.seed_everything(seed)
    generator = getattr(loaders["train"], "generator", None)
    if generator is not None:
        generator.manual_seed(seed)


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
    best = max(candidates, key=training.epoch_score).epoch if candidates else None  # tie: probe
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

    Every epoch is recorded as phase "probe". Which parameters were trainable before is
    restored afterwards. Notebook 04.
    """
    was_trainable = [p.requires_grad for p in model.parameters()]
    freezing.head_only(model)
    try:
        optimizer = torch.optim.AdamW(anatomy.head(model).parameters(), lr=lr)
        return training.fit(
            model, loaders, epochs=epochs, optimizer=optimizer, device=device,
            phase="probe", callbacks=callbacks, progress=progress,
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
    warm_start: bool = True,
    batchnorm: str = COURSE_BATCHNORM,
) -> tuple[nn.Module, training.History]:
    """The course's fine-tune: a head that already predicts, then two small learning rates.

    Args:
        loaders: {"train", "val"} from data.dataloaders, batch size COURSE_BATCH_SIZE.
        epochs: fine-tuning epochs (at least 1), after the probe epochs.
        warm_start: if pretrained and every train class is an ImageNet class (by name,
            models.imagenet_indices), the new head starts as a copy of those ImageNet rows.
        probe_epochs: head-only epochs first (phase "probe", AdamW at COURSE_PROBE_LR);
            default COURSE_PROBE_EPOCHS for a random head on a pretrained backbone, else 0.
        frozen_groups: groups kept frozen while fine-tuning; default the backbone's early
            groups (models.BackboneSpec.early_groups); pass () to train everything.
        head_lr, backbone_lr: the two AdamW groups' peak rates, annealed by OneCycleLR
            (COURSE_PCT_START warm-up, then cosine) every batch.
        batchnorm: BatchNorm behaviour while fine-tuning (training.fit), default "inference".
        seed: fixes the head's initialisation, the augmentation and the shuffling.
    Returns:
        (model with the best epoch's weights, History of both phases, epochs numbered on,
        each labelled "probe", "fine-tune", or "scratch" when not pretrained). Notebook 04.
    """
    _reseed(loaders, seed)
    if frozen_groups is None:
        frozen_groups = models.backbone_spec(backbone).early_groups
    rows = warm_start_rows(loaders, num_classes, pretrained) if warm_start else None
    if probe_epochs is None:
        probe_epochs = COURSE_PROBE_EPOCHS if pretrained and rows is None else 0
    model = build_model(num_classes, backbone, pretrained, frozen_groups, rows)
    callbacks = list(callbacks)
    probed = training.History()
    if probe_epochs:
        probed = probe_head(
            model, loaders, epochs=probe_epochs, device=device, callbacks=callbacks,
            progress=progress,
        )  # fmt: skip
    probed_state = copy.deepcopy(model.state_dict())
    finetune_epochs = max(1, epochs)
    optimizer, scheduler = course_optimizer(
        model, finetune_epochs * len(loaders["train"]), head_lr, backbone_lr
    )
    try:
        finetuned = training.fit(
            model,
            loaders,
            epochs=finetune_epochs,
            optimizer=optimizer,
            scheduler=scheduler,
            device=device,
            batchnorm=batchnorm,
            phase="fine-tune" if pretrained else "scratch",
            callbacks=[lambda h, c=c: c(_concatenate(probed, h)) for c in callbacks],
            progress=progress,
        )
    except training.TrainingInterrupted as stop:
        history = _concatenate(probed, stop.history)
        _keep_probe_if_better(model, history, probe_epochs, probed_state)
        raise training.interrupted(history) from None
    history = _concatenate(probed, finetuned)
    _keep_probe_if_better(model, history, probe_epochs, probed_state)
    return model, history


def course_optimizer(
    model: nn.Module,
    steps: int,
    head_lr: float = COURSE_HEAD_LR,
    backbone_lr: float = COURSE_BACKBONE_LR,
) -> tuple[torch.optim.AdamW, torch.optim.lr_scheduler.OneCycleLR]:
    """The course recipe's optimizer and schedule for model's trainable parameters: AdamW with
    the head at head_lr and the rest of the trainable backbone at backbone_lr (one group when
    only the head trains), each rate on a one-cycle schedule over steps batches (a warm-up for
    COURSE_PCT_START of them, then a cosine decay to almost 0). course_finetune trains with it;
    notebook 04 plots its schedule."""
    head_params, backbone_params = head_and_backbone_parameters(model)
    groups = [{"params": head_params, "lr": head_lr}]
    if backbone_params:
        groups.append({"params": backbone_params, "lr": backbone_lr})
    optimizer = torch.optim.AdamW(groups)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer,
        max_lr=[group["lr"] for group in groups],
        total_steps=steps,
        pct_start=COURSE_PCT_START,
    )
    return optimizer, scheduler


def _keep_probe_if_better(
    model: nn.Module, history: training.History, probe_epochs: int, probed_state: dict
) -> None:
    if probe_epochs and history.best_epoch is not None and history.best_epoch <= probe_epochs:
        model.load_state_dict(probed_state)  # the probe's best beat every fine-tuning epoch


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
        freezing.head_only(model)
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
        batchnorm="train",  # as in the tutorial: BatchNorm statistics keep moving
        phase="probe" if fixed_feature_extractor else "fine-tune",
    )
    return model, history
