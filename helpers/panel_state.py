"""FreezePanel's state and its training, in plain Python: no widgets.

`FreezePanelState(model, loaders)` holds what notebook 03's panel shows and does: which layer
groups train, the weights the panel started with, the seeded one-epoch runs and their results,
a stop that ends a run after its current batch and puts the weights back. `widgets.FreezePanel`
draws it and forwards clicks to it; a script or a test drives it directly:

    state = FreezePanelState(model, loaders)
    state.head_only()
    first = state.train_one_epoch(seed=0)          # a PanelResult
    state.set_group("blocks.6", True)
    second = state.train_one_epoch(seed=0)

Every run starts from the starting weights unless continued=True, seeds everything with its
seed (training.seed_everything and the loaders' own generators), and trains one epoch of
`training.fit` with a fresh optimizer over the trainable parameters (`make_optimizer`, AdamW at
lr 1e-3 by default) and the BatchNorm mode asked for ("follow-freezing" or "train"). The same
setting and seed give the same val accuracy. The first run warms up once (one batch forward and
backward) before its epoch is timed. While a run trains, every change is refused (PanelBusy).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass

import torch
from torch import nn
from torch.utils.data import DataLoader

from helpers import freezing, training

BATCHNORM_MODES = ("follow-freezing", "train")
STOPPED_MESSAGE = (
    "Stopped before the epoch finished: nothing was recorded, and the weights were restored "
    "to what they were before this run."
)
BUSY_MESSAGE = "A run is already training: wait for it to finish, or click Stop."


@dataclass
class PanelResult:
    """One "Train 1 epoch" run: what trained, how many values, val accuracy, seconds (the
    epoch alone: the first run's warm-up is not counted), whether it continued from the
    current weights (else from the panel's starting weights), the BatchNorm setting passed to
    training.fit ("follow-freezing" or "train") and the seed it ran with."""

    run: int
    setting: str
    trainable: int
    val_accuracy: float | None
    seconds: float
    continued: bool = False
    batchnorm: str = "follow-freezing"
    seed: int = 0


class PanelStopped(KeyboardInterrupt):
    """Raised by train_one_epoch when the run was stopped: the cell stops as it does when
    training.fit is stopped. The weights are those before the run."""


class PanelBusy(RuntimeError):
    """A change asked for while a run trains (the model must not change under it)."""


class NotStarted(RuntimeError):
    """Why a run could not start: no data, nothing trainable, or a run already training."""


@dataclass
class Run:
    """What one run was asked to do, fixed when it started."""

    parameters: list[nn.Parameter]
    setting: str
    trainable: int
    continued: bool
    batchnorm: str
    seed: int
    before: dict[str, torch.Tensor]


# What builds a run's optimizer from the trainable parameters (a fresh one for every run).
OptimizerFactory = Callable[[list[nn.Parameter]], torch.optim.Optimizer]


def default_optimizer(parameters: list[nn.Parameter]) -> torch.optim.Optimizer:
    return torch.optim.AdamW(parameters, lr=1e-3)


def cloned_state(model: nn.Module) -> dict[str, torch.Tensor]:
    return {name: value.detach().clone() for name, value in model.state_dict().items()}


class FreezePanelState:
    """The panel without its widgets (see the module docstring). Attributes: model, loaders,
    groups (freezing.layer_groups), head, start_state, results (PanelResult list), training,
    warm_up_seconds, make_optimizer, device, progress, callbacks."""

    def __init__(
        self,
        model: nn.Module,
        loaders: Mapping[str, DataLoader] | None = None,
        *,
        make_optimizer: OptimizerFactory = default_optimizer,
        device: str | torch.device | None = None,
        progress: bool = True,
        callbacks: Sequence[Callable[[training.History], None]] = (),
    ):
        self.model = model
        self.loaders = dict(loaders) if loaders is not None else None
        self.make_optimizer = make_optimizer
        self.device = device
        self.progress = progress
        self.callbacks = list(callbacks)
        self.groups = freezing.layer_groups(model)
        self.head = freezing.head_name(model)
        self.start_state = cloned_state(model)
        self.results: list[PanelResult] = []
        self.training = False
        self.warm_up_seconds: float | None = None
        self._stop_requested = threading.Event()

    # -- which groups train -----------------------------------------------------------------
    def trainable_groups(self) -> dict[str, bool | None]:
        """{group: True (all of it trains), False (frozen) or None (partly)}."""
        return freezing.trainable_groups(self.model)

    def _refuse_while_training(self) -> None:
        if self.training:
            raise PanelBusy(BUSY_MESSAGE)

    def set_group(self, name: str, trainable: bool) -> None:
        self._refuse_while_training()
        (freezing.unfreeze if trainable else freezing.freeze)(self.groups[name])

    def set_all(self, trainable: bool) -> None:
        self._refuse_while_training()
        (freezing.unfreeze if trainable else freezing.freeze)(self.model)

    def head_only(self) -> None:
        self._refuse_while_training()
        freezing.head_only(self.model)

    def reset(self) -> None:
        """Load the weights the state was created with (the freezing and results stay)."""
        self._refuse_while_training()
        self.model.load_state_dict(self.start_state)

    # -- runs -------------------------------------------------------------------------------
    def request_stop(self) -> bool:
        """End the running epoch after its current batch; False when nothing trains."""
        if not self.training:
            return False
        self._stop_requested.set()
        return True

    def begin(
        self, *, continued: bool = False, batchnorm: str = "follow-freezing", seed: int = 0
    ) -> Run:
        """Fix what a run will do and mark the state as training; NotStarted says why not."""
        if self.training:
            raise NotStarted(BUSY_MESSAGE)
        if self.loaders is None:
            raise NotStarted("No data: create the panel as FreezePanel(model, loaders).")
        if batchnorm not in BATCHNORM_MODES:
            raise ValueError(f"batchnorm is one of {BATCHNORM_MODES}, not {batchnorm!r}")
        parameters = freezing.trainable_parameters(self.model)
        if not parameters:
            raise NotStarted("Nothing is trainable: tick at least one group.")
        run = Run(
            parameters=parameters,
            setting=freezing.describe_trainable(self.model),
            trainable=sum(p.numel() for p in parameters),
            continued=continued,
            batchnorm=batchnorm,
            seed=int(seed),
            before=cloned_state(self.model),
        )
        self.training = True
        self._stop_requested.clear()
        return run

    def execute(
        self,
        run: Run,
        *,
        report: Callable[[str], None] = lambda text: None,
        output: Callable[[], AbstractContextManager] = nullcontext,
    ) -> tuple[PanelResult | None, KeyboardInterrupt | None]:
        """Train a run begun with begin(): (result, None), or (None, the stop) when it was
        stopped. Any other error is raised. Either way the weights a failed run found are put
        back and the state is no longer training. report(text) hears what the run is doing;
        output() is entered around training.fit (a widget's progress area)."""
        try:
            self._warm_up_once(run, report)
            if not run.continued:
                self.model.load_state_dict(self.start_state)
            self._seed(run.seed)
            history, failure = self._fit_one_epoch(run, output)
            if failure is not None:
                self.model.load_state_dict(run.before)  # a failed run leaves what it found
                if isinstance(failure, KeyboardInterrupt):
                    return None, failure
                raise failure
        finally:
            self.training = False
        return self._record(history, run), None

    def train_one_epoch(
        self, *, continued: bool = False, batchnorm: str = "follow-freezing", seed: int = 0
    ) -> PanelResult:
        """begin() and execute() in one call; a stop raises PanelStopped."""
        run = self.begin(continued=continued, batchnorm=batchnorm, seed=seed)
        result, stopped = self.execute(run)
        if stopped is not None:
            raise PanelStopped(STOPPED_MESSAGE) from None
        return result

    @property
    def stop_requested(self) -> bool:
        return self._stop_requested.is_set()

    def _seed(self, seed: int) -> None:
        training.seed_everything(seed)
        for loader in self.loaders.values():
            generator = getattr(loader, "generator", None)
            if generator is not None:
                generator.manual_seed(seed)

    def _warm_up_once(self, run: Run, report: Callable[[str], None]) -> None:
        """Before the first timed epoch: one batch forward and backward through every layer
        (first-time set-up of each layer's kernels, starting loader workers), then the
        weights and the freezing exactly as they were. Its time is kept in warm_up_seconds."""
        if self.warm_up_seconds is not None:
            return
        report("Warming up before the first run (not counted in its seconds)…")
        start = time.perf_counter()
        device = training.pick_device(self.device)
        flags = {name: p.requires_grad for name, p in self.model.named_parameters()}
        state = cloned_state(self.model)
        try:
            freezing.unfreeze(self.model)
            self.model.to(device).train()
            images, labels = next(iter(self.loaders["train"]))
            loss = nn.functional.cross_entropy(self.model(images.to(device)), labels.to(device))
            loss.backward()
            if "val" in self.loaders:
                self.model.eval()
                with torch.no_grad():
                    self.model(next(iter(self.loaders["val"]))[0].to(device))
        finally:
            self.model.zero_grad(set_to_none=True)
            self.model.load_state_dict(state)
            for name, parameter in self.model.named_parameters():
                parameter.requires_grad_(flags[name])
        self.warm_up_seconds = time.perf_counter() - start
        report(
            f"Training 1 epoch ({run.setting} trainable, seed {run.seed}; warm-up took "
            f"{self.warm_up_seconds:.1f} s, not counted)…"
        )

    def _fit_one_epoch(
        self, run: Run, output: Callable[[], AbstractContextManager]
    ) -> tuple[training.History | None, BaseException | None]:
        """(history, None), or (None, the exception that ended the epoch, a stop included).

        The exception is caught inside output(), because in a kernel an ipywidgets Output
        context swallows whatever is raised within it.
        """
        with output():
            try:
                history = training.fit(
                    self.model,
                    self.loaders,
                    epochs=1,
                    optimizer=self.make_optimizer(run.parameters),
                    device=self.device,
                    batchnorm=run.batchnorm,
                    callbacks=self.callbacks,
                    progress=self.progress,
                    should_stop=self._stop_requested.is_set,
                )
            except BaseException as error:  # noqa: BLE001 - handed back to execute
                return None, error
        return history, None

    def _record(self, history: training.History, run: Run) -> PanelResult:
        record = history.records[-1]
        result = PanelResult(
            len(self.results) + 1,
            run.setting,
            run.trainable,
            record.val_accuracy,
            record.seconds,
            run.continued,
            run.batchnorm,
            run.seed,
        )
        self.results.append(result)
        return result

    def val_images(self) -> int | None:
        """How many images the val loader holds (the comparison rule counts in them)."""
        val = self.loaders.get("val") if self.loaders else None
        return len(val.dataset) if val is not None else None

    def close(self) -> None:
        """Let go of the model, its starting weights and the data."""
        self._stop_requested.set()
        self.model = self.loaders = self.start_state = None
        self.groups = {}
        self.make_optimizer, self.callbacks = default_optimizer, []
