"""Training and evaluation: fit, evaluate, predict, export, History, device choice, seeding.

Taught in notebook 04 (the fine-tune), used by 03 and 05.
"""

from __future__ import annotations

import copy
import json
import random
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import nn
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from helpers.data import load_photo

# Exporting a trained model belongs to training's public API; the code lives in helpers.export.
from helpers.export import export_model as export_model
from helpers.export import load_exported as load_exported
from helpers.files import atomic_path, save_atomically
from helpers.freezing import layer_groups, set_batchnorm_mode, unfreeze

# Schedulers that expect a step after every batch rather than every epoch.
_PER_BATCH_SCHEDULERS = (torch.optim.lr_scheduler.OneCycleLR, torch.optim.lr_scheduler.CyclicLR)
# What an epoch's record says it was: only the head learned, a pretrained backbone learned too,
# a randomly initialised network learned, or plain training (any other fit).
PHASES = ("probe", "fine-tune", "scratch", "train")


def pick_device(preferred: str | torch.device | None = None) -> torch.device:
    """The given device, else CUDA if available, then Apple's MPS, then the CPU.

    The course's one device policy: every function that takes device=None calls this.
    """
    if preferred is not None:
        return torch.device(preferred)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and PyTorch so a run can be repeated."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


@dataclass
class EpochRecord:
    """What one epoch measured. lr is the first parameter group's at the epoch's end.

    phase: one of PHASES, e.g. "probe" (only the head learned) or "fine-tune".
    """

    epoch: int
    train_loss: float
    train_accuracy: float
    val_loss: float | None
    val_accuracy: float | None
    seconds: float
    lr: float
    phase: str = "train"


def epoch_score(record: EpochRecord) -> tuple[float, float]:
    """The one rule that ranks epochs (higher is better): val accuracy, then lower val loss.

    Without validation, train accuracy then lower train loss. fit keeps the weights of the
    epoch with the highest score; an earlier epoch wins a tie.
    """
    if record.val_accuracy is not None:
        return record.val_accuracy, -record.val_loss
    return record.train_accuracy, -record.train_loss


@dataclass
class History:
    """Per-epoch records of a fit, the best epoch, and whether it was interrupted."""

    records: list[EpochRecord] = field(default_factory=list)
    best_epoch: int | None = None
    interrupted: bool = False

    def column(self, name: str) -> list:
        """One field across epochs, e.g. history.column("val_accuracy")."""
        return [getattr(record, name) for record in self.records]

    @property
    def best(self) -> EpochRecord | None:
        """The record of the epoch whose weights fit restored."""
        return next((r for r in self.records if r.epoch == self.best_epoch), None)

    @property
    def final(self) -> EpochRecord | None:
        """The last epoch's record: what training ended with, not chosen on the val set."""
        return self.records[-1] if self.records else None

    @property
    def probe_end(self) -> int | None:
        """The last epoch of a leading probe phase (0 when the first epoch is not a probe)."""
        if not self.records:
            return None
        probes = [r.epoch for r in self.records if r.phase == "probe"]
        return max(probes) if probes else 0

    @property
    def total_seconds(self) -> float:
        return sum(record.seconds for record in self.records)

    def to_dict(self) -> dict:
        return asdict(self)

    def save(self, path: str | Path) -> None:
        with atomic_path(path) as temporary:
            temporary.write_text(json.dumps(self.to_dict(), indent=1))

    @classmethod
    def load(cls, path: str | Path) -> History:
        data = json.loads(Path(path).read_text())
        data["records"] = [EpochRecord(**record) for record in data["records"]]
        return cls(**data)


class TrainingInterrupted(KeyboardInterrupt):
    """Raised by fit when training is stopped; .history holds the epochs completed so far.

    It is a KeyboardInterrupt, so the stop button stops the cell (and Run All), while the
    model keeps the best completed epoch's weights. last_interrupted() returns the history.
    """

    def __init__(self, history: History, message: str):
        super().__init__(message)
        self.history = history


_last_interrupted: History | None = None


def last_interrupted() -> History | None:
    """The History of the most recent training run that was stopped (None if none was)."""
    return _last_interrupted


def interrupted(history: History, best_note: str = "") -> TrainingInterrupted:
    """Mark history as interrupted, remember it for last_interrupted(), and build the error."""
    global _last_interrupted
    history.interrupted = True
    _last_interrupted = history
    best = history.best
    kept = (
        f"the model holds the weights of epoch {best.epoch} ({best.phase}, best so far{best_note})"
        if best is not None
        else "no epoch was completed, so the model has the weights it started with"
    )
    return TrainingInterrupted(
        history,
        f"Training stopped after {len(history.records)} complete epoch(s): {kept}. "
        "The history so far is training.last_interrupted().",
    )


# The models fit is training now: a second fit on one of them (another thread, such as a
# FreezePanel's run, and a cell) is refused rather than letting two loops change one model.
_models_in_fit: weakref.WeakSet[nn.Module] = weakref.WeakSet()
_models_in_fit_lock = threading.Lock()


class ModelBusyError(RuntimeError):
    """Raised by fit when the model is already being trained by another fit."""


@contextmanager
def _training_alone(model: nn.Module) -> Iterator[None]:
    with _models_in_fit_lock:
        if model in _models_in_fit:
            raise ModelBusyError(
                "This model is already training (a FreezePanel's run, or another fit): wait "
                "until that run ends, or stop it, then run this again."
            )
        _models_in_fit.add(model)
    try:
        yield
    finally:
        with _models_in_fit_lock:
            _models_in_fit.discard(model)


def predicted_classes(logits: torch.Tensor) -> torch.Tensor:
    """The class each row of logits predicts: the highest logit's column, or for one logit per
    row (a binary head trained with BCEWithLogitsLoss) 1 where the logit is above 0, that is
    where sigmoid(logit) > 0.5. Notebooks 02 and 04."""
    if logits.dim() == 2 and logits.shape[1] == 1:
        return (logits[:, 0] > 0).long()
    return logits.argmax(dim=1)


def batch_loss(criterion: nn.Module, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """criterion on a batch, with the loss's own shapes: BCEWithLogitsLoss takes one logit per
    row and float labels; a one-logit model with any other loss is refused (cross-entropy over
    one class is 0 whatever the model does, so it would train nothing without a word)."""
    if logits.dim() == 2 and logits.shape[1] == 1:
        if not isinstance(criterion, nn.BCEWithLogitsLoss):
            raise ValueError(
                f"The model gives one logit per image, and {type(criterion).__name__} cannot "
                "learn from that: pass criterion=nn.BCEWithLogitsLoss() (one logit: "
                "sigmoid > 0.5 means class 1), or give the model one output per class."
            )
        return criterion(logits[:, 0], labels.float())
    return criterion(logits, labels)


def _run_epoch(
    model: nn.Module,
    loader: DataLoader,
    criterion: nn.Module,
    device: torch.device,
    optimizer: torch.optim.Optimizer | None = None,
    scheduler_per_batch: torch.optim.lr_scheduler.LRScheduler | None = None,
    bar: tqdm | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> tuple[float, float]:
    """One pass over loader; trains when an optimizer is given. Returns (mean loss, accuracy).

    should_stop is asked before every batch; True stops the pass as a KeyboardInterrupt does.
    """
    total_loss, correct, seen = 0.0, 0, 0
    with torch.set_grad_enabled(optimizer is not None):
        for images, labels in loader:
            if should_stop is not None and should_stop():
                raise KeyboardInterrupt
            images = images.to(device, non_blocking=True)
            labels = labels.to(device, non_blocking=True)
            logits = model(images)
            loss = batch_loss(criterion, logits, labels)
            if optimizer is not None:
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                if scheduler_per_batch is not None:
                    scheduler_per_batch.step()
            total_loss += loss.item() * labels.size(0)
            correct += (predicted_classes(logits) == labels).sum().item()
            seen += labels.size(0)
            if bar is not None:
                bar.update(1)
                bar.set_postfix(loss=f"{total_loss / seen:.3f}", acc=f"{correct / seen:.3f}")
    return total_loss / max(seen, 1), correct / max(seen, 1)


def fit(
    model: nn.Module,
    loaders: dict[str, DataLoader],
    *,
    epochs: int,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler | None = None,
    device: str | torch.device | None = None,
    criterion: nn.Module | None = None,
    scheduler_per_batch: bool | None = None,
    batchnorm: str = "follow-freezing",
    phase: str = "train",
    callbacks: Iterable[Callable[[History], None]] = (),
    progress: bool = True,
    should_stop: Callable[[], bool] | None = None,
) -> History:
    """Train for `epochs` on loaders["train"], evaluate on loaders["val"], keep the best weights.

    Args:
        epochs, optimizer, scheduler: the budget; scheduler_per_batch steps the scheduler
            after every batch (default: for OneCycleLR and CyclicLR) rather than every epoch.
        batchnorm: how BatchNorm layers behave while training (freezing.set_batchnorm_mode):
            "follow-freezing" (frozen layers keep their statistics: notebook 03's BatchNorm
            trap avoided), "inference" (all keep them) or "train" (all update them).
        phase: what every epoch's record says it was, one of PHASES ("probe", "fine-tune"...).
        criterion: default nn.CrossEntropyLoss (one logit per class). A binary head with one
            logit takes nn.BCEWithLogitsLoss(); accuracy then counts sigmoid > 0.5 as class 1
            (predicted_classes, batch_loss).
        callbacks: called with the History after every epoch (a live plot, say).
        should_stop: asked before every batch; True stops as the stop button does. A stop
            button that is a widget (FreezePanel's "Stop") uses it: in JupyterLab a widget's
            callback runs on a thread that the kernel's interrupt does not reach.
    Returns:
        The History. After the last epoch the weights of the best epoch (training.epoch_score:
        val accuracy, then val loss) are restored. A stop (KeyboardInterrupt, the stop button)
        restores the best completed epoch too, then raises TrainingInterrupted, so the cell
        stops; its .history and training.last_interrupted() hold the epochs so far. While it
        runs, a second fit on the same model (from another thread) raises ModelBusyError.
        Notebook 04.
    """
    if phase not in PHASES:
        raise ValueError(f"Unknown phase {phase!r}; choose one of {PHASES}.")
    with _training_alone(model):
        return _fit(
            model, loaders, epochs=epochs, optimizer=optimizer, scheduler=scheduler,
            device=device, criterion=criterion, scheduler_per_batch=scheduler_per_batch,
            batchnorm=batchnorm, phase=phase, callbacks=callbacks, progress=progress,
            should_stop=should_stop,
        )  # fmt: skip


def _where(device: torch.device) -> str:
    """Where fit runs, for its progress bar: "cpu, 2 threads", "cuda", "mps"."""
    if device.type == "cpu":
        threads = torch.get_num_threads()
        return f"cpu, {threads} thread{'s' * (threads != 1)}"
    return device.type


def _fit(
    model: nn.Module,
    loaders: dict[str, DataLoader],
    *,
    epochs: int,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler | None,
    device: str | torch.device | None,
    criterion: nn.Module | None,
    scheduler_per_batch: bool | None,
    batchnorm: str,
    phase: str,
    callbacks: Iterable[Callable[[History], None]],
    progress: bool,
    should_stop: Callable[[], bool] | None,
) -> History:
    device = pick_device(device)
    criterion = criterion or nn.CrossEntropyLoss()
    if scheduler_per_batch is None:
        scheduler_per_batch = isinstance(scheduler, _PER_BATCH_SCHEDULERS)
    model.to(device)
    history = History()
    best_key, best_state = None, None
    start_state = copy.deepcopy(model.state_dict())  # restored if stopped before an epoch ends
    val_loader = loaders.get("val")
    steps = epochs * (len(loaders["train"]) + (len(val_loader) if val_loader else 0))
    where = _where(device)
    bar = tqdm(total=steps, desc=f"fit ({where})", unit="batch", disable=not progress)
    try:
        for epoch in range(1, epochs + 1):
            start = time.perf_counter()
            model.train()
            set_batchnorm_mode(model, batchnorm)
            bar.set_description(f"epoch {epoch}/{epochs} train ({where})")
            train_loss, train_accuracy = _run_epoch(
                model,
                loaders["train"],
                criterion,
                device,
                optimizer,
                scheduler if scheduler_per_batch else None,
                bar,
                should_stop,
            )
            if scheduler is not None and not scheduler_per_batch:
                scheduler.step()
            val_loss = val_accuracy = None
            if val_loader is not None:
                model.eval()
                bar.set_description(f"epoch {epoch}/{epochs} val ({where})")
                val_loss, val_accuracy = _run_epoch(
                    model, val_loader, criterion, device, bar=bar, should_stop=should_stop
                )
            history.records.append(
                EpochRecord(
                    epoch,
                    train_loss,
                    train_accuracy,
                    val_loss,
                    val_accuracy,
                    time.perf_counter() - start,
                    optimizer.param_groups[0]["lr"],
                    phase,
                )
            )
            key = epoch_score(history.records[-1])
            if best_key is None or key > best_key:
                best_key, history.best_epoch = key, epoch
                best_state = copy.deepcopy(model.state_dict())
            for callback in callbacks:
                callback(history)
    except KeyboardInterrupt:
        stop = interrupted(history)
    else:
        stop = None
    finally:
        bar.close()
        model.load_state_dict(best_state if best_state is not None else start_state)
        model.eval()
    if stop is not None:
        raise stop from None
    return history


@torch.no_grad()
def predict(
    model: nn.Module, loader: DataLoader, device: str | torch.device | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """(logits (N, C), labels (N,)) for every batch of loader, on the CPU, in eval mode."""
    device = pick_device(device)
    model.to(device).eval()
    all_logits, all_labels = [], []
    for images, labels in loader:
        all_logits.append(model(images.to(device)).float().cpu())
        all_labels.append(labels)
    return torch.cat(all_logits), torch.cat(all_labels)


def evaluate(
    model: nn.Module,
    loader: DataLoader,
    device: str | torch.device | None = None,
    criterion: nn.Module | None = None,
) -> dict[str, float]:
    """{"loss", "accuracy", "num_samples"} of model on loader, in eval mode."""
    logits, labels = predict(model, loader, device)
    loss = batch_loss(criterion or nn.CrossEntropyLoss(), logits, labels).item()
    return {"loss": loss, "accuracy": logits_accuracy(logits, labels), "num_samples": len(labels)}


def time_training_step(
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    repeats: int = 4,
    batchnorm: str = "follow-freezing",
) -> float:
    """Seconds of one training step (forward, backward, AdamW step) with the model's freezing.

    images: (B, 3, H, W). The first step is a warm-up; the fastest of the others is returned,
    since a busy machine only ever makes a step slower. The weights are restored afterwards;
    the model is left in train mode, BatchNorm set by batchnorm, as a step uses it.
    Notebooks 03 and 05.
    """
    state = copy.deepcopy(model.state_dict())
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=1e-4)
    model.train()
    set_batchnorm_mode(model, batchnorm)
    seconds = []
    for _ in range(max(2, repeats)):
        start = time.perf_counter()
        loss = nn.functional.cross_entropy(model(images), labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        seconds.append(time.perf_counter() - start)
    model.zero_grad(set_to_none=True)
    model.load_state_dict(state)
    return min(seconds[1:])


def logits_accuracy(
    logits: torch.Tensor, labels: torch.Tensor, class_indices: Sequence[int] | None = None
) -> float:
    """Share of rows whose predicted class (predicted_classes: the highest logit, or one
    logit above 0) is the label. With class_indices, only those columns
    compete and class_indices[k] stands for label k: [310, 309] reads ImageNet's ant and bee
    logits as labels 0 (ants) and 1 (bees), the baseline of ImageNet's own head (the pretrained
    classifier as it is, no training). Notebooks 01, 03 and 05.
    """
    if class_indices is not None:
        logits = logits[:, list(class_indices)]
    return (predicted_classes(logits) == labels).float().mean().item()


def imagenet_head_accuracy(
    imagenet_model: nn.Module,
    loader: DataLoader,
    class_indices: Sequence[int],
    device: str | torch.device | None = None,
) -> float:
    """Accuracy of ImageNet's own head: the pretrained classifier's logits, restricted to
    class_indices, with no training at all.

    class_indices[k] is the ImageNet class standing for the loader's label k, e.g. [310, 309]
    for ants and bees (models.imagenet_indices). The classifier was trained on those classes,
    so this is not zero-shot. Notebooks 03, 04 and 06.
    """
    logits, labels = predict(imagenet_model, loader, device)
    return logits_accuracy(logits, labels, class_indices)


def save_weights(model: nn.Module, path: str | Path) -> Path:
    """Save model.state_dict() (tensors only, no pickled code) to path. Notebook 04.

    Load it with load_weights, i.e. torch.load(path, weights_only=True), into a model of the
    same architecture: the file holds weights, not the model's class.
    """
    state = {name: tensor.detach().cpu() for name, tensor in model.state_dict().items()}
    return save_atomically(state, path)  # a crash mid-save never leaves a truncated file


def load_weights(model: nn.Module, path: str | Path) -> nn.Module:
    """Load a state dict saved by save_weights into model (strict), safely. Notebook 04.

    weights_only=True refuses anything but tensors and plain containers, so a checkpoint
    from an untrusted source cannot run code. Returns model, in eval mode.
    """
    state = torch.load(Path(path), map_location="cpu", weights_only=True)
    model.load_state_dict(state, strict=True)
    return model.eval()


@torch.no_grad()
def predict_image(
    model: nn.Module,
    image: str | Path | Image.Image,
    transform: Callable[[Image.Image], torch.Tensor],
    class_names: Sequence[str],
    device: str | torch.device | None = None,
) -> dict[str, float]:
    """{class name: probability} for one image file (or PIL image), most likely first.

    transform: the validation transform, PIL image -> (3, H, W) normalised tensor, e.g.
    datasets["val"].transform. Notebook 04.
    """
    if not isinstance(image, Image.Image):
        path = Path(image).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f"No image file at {path.resolve()}.")
        image = load_photo(path)  # upright, as the camera's EXIF tag says; alpha on white
    device = pick_device(device)
    model.to(device).eval()
    batch = transform(image.convert("RGB")).unsqueeze(0).to(device)
    probabilities = torch.softmax(model(batch).float(), dim=1)[0].cpu()
    if len(class_names) != len(probabilities):
        raise ValueError(
            f"the model has {len(probabilities)} outputs but {len(class_names)} class names"
        )
    ranked = sorted(zip(class_names, probabilities.tolist(), strict=True), key=lambda p: -p[1])
    return dict(ranked)


class GradualUnfreezer:
    """A `training.fit` callback: after each epoch, unfreeze the next layer group(s) downwards.

    Start with only the head trainable (head_only) and an optimizer over the trainable
    parameters; after every epoch this unfreezes the next `groups_per_epoch` frozen groups
    from the top and adds them to the optimizer as new parameter groups with the learning
    rate lr / lr_decay**depth (depth 0 is the head): ULMFiT's gradual unfreezing with
    discriminative learning rates. `unfrozen` records (epoch, [group names]) for each step.
    fit puts BatchNorm layers of still-frozen groups in eval mode at every epoch's start.
    Notebook 03.
    """

    def __init__(
        self,
        model: nn.Module,
        optimizer: torch.optim.Optimizer,
        *,
        lr: float,
        lr_decay: float = 2.6,
        groups_per_epoch: int = 1,
    ):
        if groups_per_epoch < 1:
            raise ValueError("groups_per_epoch must be at least 1")
        frozen = {id(p) for p in model.parameters() if not p.requires_grad}
        held = sum(id(p) in frozen for g in optimizer.param_groups for p in g["params"])
        if held:
            raise ValueError(
                f"The optimizer already holds {held} frozen parameter tensors (it was built over "
                "model.parameters()?). GradualUnfreezer adds each group to the optimizer when "
                "it unfreezes it, with its own learning rate, so the optimizer must start with "
                "the trainable parameters only: freezing.head_only(model), then "
                "torch.optim.AdamW(freezing.trainable_parameters(model), lr=...)."
            )
        self.model, self.optimizer = model, optimizer
        self.lr, self.lr_decay, self.groups_per_epoch = lr, lr_decay, groups_per_epoch
        self.unfrozen: list[tuple[int, list[str]]] = []

    def __call__(self, history: History) -> None:
        groups = list(reversed(layer_groups(self.model).items()))  # head first
        in_optimizer = {id(p) for g in self.optimizer.param_groups for p in g["params"]}
        opened = []
        for depth, (name, group) in enumerate(groups):
            if len(opened) == self.groups_per_epoch:
                break
            new = [p for p in group.parameters() if id(p) not in in_optimizer]
            if not new:
                continue
            unfreeze(group)
            self.optimizer.add_param_group(self._param_group(new, name, depth))
            opened.append(name)
        if opened:
            self.unfrozen.append((len(history.records), opened))

    def _param_group(self, params: list, name: str, depth: int) -> dict:
        """A new optimizer group at lr / lr_decay**depth. A scheduler's per-group settings
        (any key ending in "lr": initial_lr, OneCycleLR's max_lr and min_lr) are copied from
        the first group scaled by the same factor, and its other own keys as they are, so the
        scheduler drives the new group too; the new group then starts where the schedule has
        the first group now."""
        factor = 1 / self.lr_decay**depth
        template = self.optimizer.param_groups[0]
        group = {"params": params, "name": name, "lr": self.lr * factor}
        for key, value in template.items():
            if key in ("params", "name", "lr") or key in self.optimizer.defaults:
                continue
            group[key] = value * factor if key.endswith("lr") else value
        if "initial_lr" in template:
            group["lr"] = template["lr"] * factor
        return group
