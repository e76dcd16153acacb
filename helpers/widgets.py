"""Widgets for the notebooks: FreezePanel, a live view of what a model will train.

Taught in notebook 03 (freezing).
"""

from __future__ import annotations

import html
import io
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import ipywidgets as widgets
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from torch import nn
from torch.utils.data import DataLoader

from helpers import freezing, training

PANEL_CLASS = "freeze-panel"
READOUT_CLASS = "freeze-readout"
STATUS_CLASS = "freeze-status"
RESULTS_CLASS = "freeze-results"
BUTTON_LABELS = ("Freeze all", "Head only", "Unfreeze all", "Train 1 epoch")


@dataclass
class PanelResult:
    """One "Train 1 epoch" run: what trained, how many values, val accuracy, seconds."""

    run: int
    setting: str
    trainable: int
    val_accuracy: float | None
    seconds: float


def readout_text(model: nn.Module) -> str:
    """'Trainable: 1,281,000 / 4,652,008 parameters (27.5%)' for the model's current state."""
    trainable, total = freezing.count_parameters(model)
    share = 100 * trainable / total if total else 0.0
    return f"Trainable: {trainable:,} / {total:,} parameters ({share:.1f}%)"


def _adam(parameters: list[nn.Parameter]) -> torch.optim.Optimizer:
    return torch.optim.AdamW(parameters, lr=1e-3)


class FreezePanel(widgets.VBox):
    """Tick which layer groups of a model learn; see the trainable count; train one epoch.

    FreezePanel(model) shows, top to bottom: one checkbox per layer group (input to output,
    `freezing.layer_groups`; ticked = trainable), a read-out of trainable / total parameters,
    the buttons "Freeze all", "Head only" (the head is the last layer group), "Unfreeze all"
    and "Train 1 epoch", a status line, and, once something was trained, a results table and
    a plot of val accuracy per run. Ticking a box sets requires_grad on that group at once.

    With loaders ({"train": ..., "val": ...}), "Train 1 epoch" runs
    `training.fit(model, loaders, epochs=1, optimizer=make_optimizer(trainable parameters))`,
    a fresh optimizer each click (default AdamW, lr 1e-3), and appends (setting, val accuracy,
    seconds) to `results`. Without loaders that button is disabled, with a tooltip saying why.
    While training runs every control is disabled, and a change to a checkbox made in code
    is undone, so the model's freezing cannot change mid-epoch.

    Contract for tests and browser automation (keep it stable):
      - the panel has the CSS class "freeze-panel"; the read-out is a Label with class
        "freeze-readout" whose text is exactly `readout_text(model)`, e.g.
        "Trainable: 1,281,000 / 4,652,008 parameters (27.5%)" (thousands separators,
        one decimal);
      - checkbox descriptions start with the group name: "blocks.3 (111,126 params)";
      - buttons are labelled exactly "Freeze all", "Head only", "Unfreeze all",
        "Train 1 epoch"; the results table is an HTML widget with class "freeze-results".
    In Python: `panel.checkboxes[name]`, `panel.buttons[label]`, `panel.readout.value`,
    `panel.results` (PanelResult list), `panel.status.value`. Notebook 03.
    """

    def __init__(
        self,
        model: nn.Module,
        loaders: Mapping[str, DataLoader] | None = None,
        *,
        make_optimizer: Callable[[list[nn.Parameter]], torch.optim.Optimizer] = _adam,
        device: str | torch.device | None = None,
        progress: bool = True,
    ):
        self.model = model
        self.loaders = dict(loaders) if loaders is not None else None
        self.make_optimizer = make_optimizer
        self.device = device
        self.progress = progress
        self.groups = freezing.layer_groups(model)
        self.head = next(reversed(self.groups))
        self.results: list[PanelResult] = []
        self.training = False
        self._syncing = False

        self.checkboxes: dict[str, widgets.Checkbox] = {}
        for name, group in self.groups.items():
            count = sum(p.numel() for p in group.parameters())
            box = widgets.Checkbox(
                description=f"{name} ({count:,} params)",
                indent=False,
                layout=widgets.Layout(width="auto"),
            )
            box.observe(self._on_toggle(name), names="value")
            self.checkboxes[name] = box
        self.readout = widgets.Label()
        self.readout.add_class(READOUT_CLASS)
        self.buttons = {label: widgets.Button(description=label) for label in BUTTON_LABELS}
        self.buttons["Freeze all"].on_click(lambda _: self._set_all(False))
        self.buttons["Head only"].on_click(lambda _: self._head_only())
        self.buttons["Unfreeze all"].on_click(lambda _: self._set_all(True))
        train = self.buttons["Train 1 epoch"]
        train.button_style = "primary"
        train.on_click(lambda _: self.train_one_epoch())
        if self.loaders is None:
            train.disabled = True
            train.tooltip = "Give FreezePanel(model, loaders) data loaders to train from here"
        else:
            train.tooltip = "Train one epoch with the ticked groups trainable (a fresh optimizer)"
        self.status = widgets.Label()
        self.status.add_class(STATUS_CLASS)
        self.table = widgets.HTML()
        self.table.add_class(RESULTS_CLASS)
        self.plot = widgets.Image(format="png", layout=widgets.Layout(max_width="420px"))
        self.plot.layout.display = "none"
        self.progress_output = widgets.Output()

        super().__init__(
            [
                widgets.HTML(
                    "<b>Trainable layer groups</b> (input at the top, head at the bottom)"
                ),
                widgets.VBox(list(self.checkboxes.values())),
                self.readout,
                widgets.HBox(list(self.buttons.values())),
                self.status,
                self.progress_output,
                widgets.HBox([self.table, self.plot]),
            ]
        )
        self.add_class(PANEL_CLASS)
        self.refresh()

    # -- keeping boxes, model and read-out in step ------------------------------------------
    def refresh(self) -> None:
        """Re-read requires_grad into the boxes and the read-out (after changes made in code).

        A group counts as ticked when all its parameters train; a partly trainable one is
        shown unticked and its box says "(part)".
        """
        self._syncing = True
        try:
            for name, state in freezing.trainable_groups(self.model).items():
                box = self.checkboxes[name]
                box.value = state is True
                base = box.description.split(" — ")[0]
                box.description = base + (" — part" if state is None else "")
        finally:
            self._syncing = False
        self.readout.value = readout_text(self.model)

    def _on_toggle(self, name: str) -> Callable[[dict], None]:
        def handler(change: dict) -> None:
            if self._syncing:
                return
            if self.training:  # undo: the model must not change under a running epoch
                self._syncing = True
                try:
                    self.checkboxes[name].value = change["old"]
                finally:
                    self._syncing = False
                self.status.value = "Training is running; change the groups when it has finished."
                return
            (freezing.unfreeze if change["new"] else freezing.freeze)(self.groups[name])
            self.refresh()

        return handler

    def _set_all(self, trainable: bool) -> None:
        if self.training:
            return
        (freezing.unfreeze if trainable else freezing.freeze)(self.model)
        self.refresh()

    def _head_only(self) -> None:
        if self.training:
            return
        freezing.freeze(self.model)
        freezing.unfreeze(self.groups[self.head])
        self.refresh()

    def _controls(self) -> list[widgets.Widget]:
        return [*self.checkboxes.values(), *self.buttons.values()]

    # -- training -----------------------------------------------------------------------------
    def train_one_epoch(self) -> PanelResult | None:
        """What the "Train 1 epoch" button does; returns the new result (None if nothing ran)."""
        if self.training:
            return None
        if self.loaders is None:
            self.status.value = "No data: create the panel as FreezePanel(model, loaders)."
            return None
        parameters = freezing.trainable_parameters(self.model)
        if not parameters:
            self.status.value = "Nothing is trainable: tick at least one group."
            return None
        setting = freezing.describe_trainable(self.model)
        trainable = sum(p.numel() for p in parameters)
        was_disabled = {id(w): w.disabled for w in self._controls()}
        self.training = True
        for control in self._controls():
            control.disabled = True
        self.status.value = f"Training 1 epoch ({setting} trainable)…"
        self.progress_output.clear_output()
        try:
            with self.progress_output:
                history = training.fit(
                    self.model,
                    self.loaders,
                    epochs=1,
                    optimizer=self.make_optimizer(parameters),
                    device=self.device,
                    progress=self.progress,
                )
        except Exception as error:
            self.status.value = f"Training failed: {type(error).__name__}: {error}"
            raise
        finally:
            self.training = False
            for control in self._controls():
                control.disabled = was_disabled[id(control)]
            self.refresh()
        if not history.records:
            self.status.value = "Interrupted before the epoch finished; nothing recorded."
            return None
        record = history.records[-1]
        result = PanelResult(
            len(self.results) + 1, setting, trainable, record.val_accuracy, record.seconds
        )
        self.results.append(result)
        accuracy = "n/a" if result.val_accuracy is None else f"{result.val_accuracy:.3f}"
        self.status.value = (
            f"Run {result.run}: {setting} trainable, val accuracy {accuracy}, "
            f"{result.seconds:.1f} s."
        )
        self._draw_results()
        return result

    def _draw_results(self) -> None:
        rows = "".join(
            f"<tr><td>{r.run}</td><td>{html.escape(r.setting)}</td><td>{r.trainable:,}</td>"
            f"<td>{'n/a' if r.val_accuracy is None else f'{r.val_accuracy:.3f}'}</td>"
            f"<td>{r.seconds:.1f}</td></tr>"
            for r in self.results
        )
        self.table.value = (
            "<table><thead><tr><th>run</th><th>trainable groups</th><th>trainable params</th>"
            f"<th>val accuracy</th><th>seconds</th></tr></thead><tbody>{rows}</tbody></table>"
        )
        scored = [r for r in self.results if r.val_accuracy is not None]
        if not scored:
            return
        figure = Figure(figsize=(4.2, 2.6), dpi=100)
        FigureCanvasAgg(figure)
        ax = figure.add_subplot()
        ax.plot([r.run for r in scored], [r.val_accuracy for r in scored], "o-")
        for r in scored:
            ax.annotate(r.setting, (r.run, r.val_accuracy), fontsize=7, rotation=20)
        ax.set_xlabel("run")
        ax.set_ylabel("val accuracy")
        ax.set_xticks([r.run for r in scored])
        figure.tight_layout()
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
        self.plot.value = buffer.getvalue()
        self.plot.layout.display = None
