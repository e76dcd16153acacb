"""Widgets for the notebooks: FreezePanel, a live view of what a model will train, and
errors_shown_in, which keeps a widget's errors in the widget.

Taught in notebook 03 (freezing); errors_shown_in is used by the widgets of notebooks 01-03.
"""

from __future__ import annotations

import html
import io
import textwrap
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
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
MESSAGE_CLASS = "widget-message"
NOT_UPDATED_CLASS = "widget-not-updated"
ERROR_PREFIX = "Could not update: "
NOT_UPDATED_NOTE = " (what is shown below is the previous result, not updated)"
NOT_UPDATED_BORDER = "2px dashed #c0392b"
BUTTON_LABELS = ("Freeze all", "Head only", "Unfreeze all", "Train 1 epoch", "Reset")
CONTINUE_LABEL = "continue from the current weights"
# What the BatchNorm control shows -> the batchnorm argument of training.fit.
BATCHNORM_CHOICES = {"follow the freezing": "follow-freezing", "always train mode": "train"}
STOPPED_MESSAGE = (
    "Stopped before the epoch finished: nothing was recorded, and the weights were restored "
    "to what they were before this run."
)
CELL_STYLE = "padding:4px 12px;border-bottom:1px solid #ccc;"
HEADER_STYLE = "padding:4px 12px;border-bottom:2px solid #333;"


# -- errors inside widget callbacks -------------------------------------------------------------
def plain_message(error: BaseException) -> str:
    """The error's own words on one line, or its type's name when it has none."""
    text = " ".join(str(error).split())
    return text or type(error).__name__


def mark_not_updated(widget: widgets.DOMWidget, not_updated: bool) -> None:
    """Give widget (or take away) the class "widget-not-updated" and a dashed red border."""
    if not_updated:
        widget.add_class(NOT_UPDATED_CLASS)
        widget.layout.border = NOT_UPDATED_BORDER
    else:
        widget.remove_class(NOT_UPDATED_CLASS)
        widget.layout.border = None


@contextmanager
def errors_shown_in(
    message: widgets.ValueWidget, previous: Sequence[widgets.DOMWidget]
) -> Iterator[None]:
    """Run a widget callback's work so that an error shows in the widget, not in a log.

    An Exception raised inside is swallowed: message (a Label) then reads "Could not update:
    <the error's words> (what is shown below is the previous result, not updated)", and each
    widget in previous keeps what it showed but gets the class "widget-not-updated" and a
    dashed red border. On success those marks go, and an old error in message is cleared.
    KeyboardInterrupt passes through: a widget that trains handles it itself (FreezePanel).
    Used by FreezePanel (notebook 03), ArchitecturePicker (02) and ClassSearch (01).
    """
    if message.value.startswith(ERROR_PREFIX):
        message.value = ""
    try:
        yield
    except Exception as error:  # noqa: BLE001 - shown in the widget, which is the point
        message.value = ERROR_PREFIX + plain_message(error) + NOT_UPDATED_NOTE
        for widget in previous:
            mark_not_updated(widget, True)
    else:
        for widget in previous:
            mark_not_updated(widget, False)


# -- FreezePanel ----------------------------------------------------------------------------------
@dataclass
class PanelResult:
    """One "Train 1 epoch" run: what trained, how many values, val accuracy, seconds, whether
    it continued from the current weights (else from the panel's starting weights), and the
    BatchNorm setting passed to training.fit ("follow-freezing" or "train")."""

    run: int
    setting: str
    trainable: int
    val_accuracy: float | None
    seconds: float
    continued: bool = False
    batchnorm: str = "follow-freezing"


def percent_text(part: int, whole: int) -> str:
    """part / whole in percent with one decimal, more when one would round a share strictly
    between 0 and 100 to "0.0%" or "100.0%": percent_text(999_999, 1_000_000) == "99.9999%"."""
    share = 100 * part / whole if whole else 0.0
    decimals = 1
    while 0 < part < whole and decimals < 12 and float(f"{share:.{decimals}f}") in (0.0, 100.0):
        decimals += 1
    return f"{share:.{decimals}f}%"


def readout_text(model: nn.Module) -> str:
    """'Trainable: 1,281,000 / 4,652,008 parameters (27.5%)' for the model's current state
    (percent_text: more decimals rather than 100.0% while something is frozen)."""
    trainable, total = freezing.count_parameters(model)
    return f"Trainable: {trainable:,} / {total:,} parameters ({percent_text(trainable, total)})"


def _adam(parameters: list[nn.Parameter]) -> torch.optim.Optimizer:
    return torch.optim.AdamW(parameters, lr=1e-3)


def _cloned_state(model: nn.Module) -> dict[str, torch.Tensor]:
    return {name: value.detach().clone() for name, value in model.state_dict().items()}


def _batchnorm_label(mode: str) -> str:
    return next(label for label, value in BATCHNORM_CHOICES.items() if value == mode)


def results_table_html(results: Sequence[PanelResult]) -> str:
    """The panel's results as an HTML table a projector shows well: padded cells, a ruled
    header, numbers right-aligned. Notebook 03."""
    columns = [
        ("run", "right"),
        ("trainable groups", "left"),
        ("trainable params", "right"),
        ("started from", "left"),
        ("BatchNorm", "left"),
        ("val accuracy", "right"),
        ("seconds", "right"),
    ]
    header = "".join(
        f'<th style="{HEADER_STYLE}text-align:{align}">{name}</th>' for name, align in columns
    )
    rows = []
    for r in results:
        cells = [
            str(r.run),
            html.escape(r.setting),
            f"{r.trainable:,}",
            "current weights" if r.continued else "starting weights",
            _batchnorm_label(r.batchnorm),
            "n/a" if r.val_accuracy is None else f"{r.val_accuracy:.3f}",
            f"{r.seconds:.1f}",
        ]
        rows.append(
            "<tr>"
            + "".join(
                f'<td style="{CELL_STYLE}text-align:{align}">{cell}</td>'
                for cell, (_, align) in zip(cells, columns, strict=True)
            )
            + "</tr>"
        )
    return (
        '<table style="border-collapse:collapse;font-size:14px;'
        'font-variant-numeric:tabular-nums">'
        f"<thead><tr>{header}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def run_label(result: PanelResult, width: int = 14) -> str:
    """A short x-axis label for a run: its number, then what trained, cut and wrapped to width."""
    setting = textwrap.shorten(result.setting, width=2 * width, placeholder="…")
    return f"{result.run}\n" + "\n".join(textwrap.wrap(setting, width=width)[:2])


def results_figure(results: Sequence[PanelResult]) -> Figure:
    """Val accuracy per run (runs with a val accuracy only), labels kept inside the frame.

    Runs that continued from the current weights are drawn as open squares. Notebook 03.
    """
    scored = [r for r in results if r.val_accuracy is not None]
    figure = Figure(figsize=(min(4.2 + 0.5 * max(len(scored) - 4, 0), 9.0), 3.0), dpi=100)
    FigureCanvasAgg(figure)
    ax = figure.add_subplot()
    ax.plot([r.run for r in scored], [r.val_accuracy for r in scored], "-", color="tab:blue")
    for r in scored:
        face = "white" if r.continued else "tab:blue"
        ax.plot(r.run, r.val_accuracy, "s" if r.continued else "o", color="tab:blue", mfc=face)
    if any(r.continued for r in scored):
        ax.plot([], [], "s", color="tab:blue", mfc="white", label="continued")
        ax.legend(loc="lower right", fontsize=8)
    ax.set_xticks([r.run for r in scored], [run_label(r) for r in scored], fontsize=8)
    ax.set_xlabel("run")
    ax.set_ylabel("val accuracy")
    ax.set_ylim(0, 1.05)
    ax.set_yticks([0, 0.25, 0.5, 0.75, 1.0])
    ax.grid(axis="y", alpha=0.3)
    figure.tight_layout()
    return figure


class FreezePanel(widgets.VBox):
    """Tick which layer groups of a model learn; see the trainable count; train one epoch.

    FreezePanel(model) shows, top to bottom: one checkbox per layer group (input to output,
    `freezing.layer_groups`; ticked = trainable), a read-out of trainable / total parameters,
    the buttons "Freeze all", "Head only" (the final classifier layer, freezing.head_only),
    "Unfreeze all", "Train 1 epoch" and "Reset", a checkbox "continue from the current
    weights", a "BatchNorm" toggle ("follow the freezing" / "always train mode"), a status
    line, and, once something was trained, a results table and a plot of val accuracy per
    run. Ticking a box sets requires_grad on that group at once.

    The panel keeps a copy of the weights it was created with. With loaders ({"train": ...,
    "val": ...}), "Train 1 epoch" loads those starting weights (unless "continue from the
    current weights" is ticked) and runs `training.fit(model, loaders, epochs=1,
    optimizer=make_optimizer(trainable parameters), batchnorm=...)`, "follow-freezing" or
    "train" as the BatchNorm toggle says, with a fresh optimizer each click (default AdamW,
    lr 1e-3); it appends a PanelResult to `results`. "Reset" loads the starting weights (the
    freezing and the results stay). Without loaders "Train 1 epoch" is disabled, with a
    tooltip saying why. While training runs every control is disabled, and a change to a
    checkbox made in code is undone, so the model's freezing cannot change mid-epoch.

    A stop (the notebook's stop button, or a KeyboardInterrupt in a callback) never escapes
    the panel: the weights go back to what they were before the click, nothing is recorded,
    and the status line says so. Any other error shows in the status line as "Could not
    update: ..." with the results table and plot kept but marked not updated
    (errors_shown_in); train_one_epoch then returns None.

    Contract for tests and browser automation (keep it stable):
      - the panel has the CSS class "freeze-panel"; the read-out is a Label with class
        "freeze-readout" whose text is exactly `readout_text(model)`, e.g.
        "Trainable: 1,281,000 / 4,652,008 parameters (27.5%)" (thousands separators, one
        decimal, more decimals only where one would read 0.0% or 100.0% although the share
        is strictly between: "(99.9998%)", see percent_text);
      - checkbox descriptions start with the group name: "blocks.3 (111,126 params)";
      - buttons are labelled exactly "Freeze all", "Head only", "Unfreeze all",
        "Train 1 epoch", "Reset"; the continue checkbox's description is exactly
        "continue from the current weights"; the BatchNorm control is a ToggleButtons
        whose labels are "follow the freezing" and "always train mode";
      - the status line is a Label with class "freeze-status": after a stop it starts
        with "Stopped", after "Reset" with "Weights reset", after an error with
        "Could not update:"; the results table is an HTML widget with class
        "freeze-results" (header row, then one row per run).
    In Python: `panel.checkboxes[name]`, `panel.buttons[label]`, `panel.continue_box`,
    `panel.batchnorm`, `panel.readout.value`, `panel.results` (PanelResult list),
    `panel.status.value`, `panel.start_state`. Notebook 03.
    """

    def __init__(
        self,
        model: nn.Module,
        loaders: Mapping[str, DataLoader] | None = None,
        *,
        make_optimizer: Callable[[list[nn.Parameter]], torch.optim.Optimizer] = _adam,
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
        self.start_state = _cloned_state(model)
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
        self.buttons["Reset"].on_click(lambda _: self.reset())
        self.buttons["Reset"].tooltip = "Load the weights the panel was created with"
        train = self.buttons["Train 1 epoch"]
        train.button_style = "primary"
        train.on_click(lambda _: self.train_one_epoch())
        if self.loaders is None:
            train.disabled = True
            train.tooltip = "Give FreezePanel(model, loaders) data loaders to train from here"
        else:
            train.tooltip = "Train one epoch with the ticked groups trainable (a fresh optimizer)"
        self.continue_box = widgets.Checkbox(
            value=False, description=CONTINUE_LABEL, indent=False, layout={"width": "auto"}
        )
        self.batchnorm = widgets.ToggleButtons(
            options=list(BATCHNORM_CHOICES.items()),
            value="follow-freezing",
            description="BatchNorm:",
            tooltips=[
                "Frozen BatchNorm layers keep their pretrained statistics (the fix)",
                "Every BatchNorm layer updates its statistics, frozen or not (the trap)",
            ],
        )
        self.status = widgets.Label()
        self.status.add_class(STATUS_CLASS)
        self.table = widgets.HTML()
        self.table.add_class(RESULTS_CLASS)
        self.plot = widgets.Image(format="png", layout=widgets.Layout(max_width="520px"))
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
                widgets.HBox([self.continue_box, self.batchnorm]),
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
            with errors_shown_in(self.status, [self.readout]):
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
        freezing.head_only(self.model)
        self.refresh()

    def _controls(self) -> list[widgets.Widget]:
        return [
            *self.checkboxes.values(),
            *self.buttons.values(),
            self.continue_box,
            self.batchnorm,
        ]

    def reset(self) -> None:
        """What the "Reset" button does: load the weights the panel was created with."""
        if self.training:
            return
        self.model.load_state_dict(self.start_state)
        self.status.value = (
            "Weights reset to the ones the panel started with; "
            "the ticked groups and the results table are unchanged."
        )

    # -- training -----------------------------------------------------------------------------
    def train_one_epoch(self) -> PanelResult | None:
        """What the "Train 1 epoch" button does; returns the new result (None if nothing ran,
        the run was stopped, or it failed: the status line says which)."""
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
        continued, batchnorm = self.continue_box.value, self.batchnorm.value
        before = _cloned_state(self.model)
        was_disabled = {id(w): w.disabled for w in self._controls()}
        self.training = True
        for control in self._controls():
            control.disabled = True
        start = "the current weights" if continued else "the starting weights"
        self.status.value = f"Training 1 epoch ({setting} trainable, from {start})…"
        self.progress_output.clear_output()
        with errors_shown_in(self.status, [self.table, self.plot]):
            try:
                if not continued:
                    self.model.load_state_dict(self.start_state)
                history, failure = self._fit_one_epoch(parameters, batchnorm)
                if failure is not None:
                    # whatever stopped the run, it leaves the weights it found
                    self.model.load_state_dict(before)
                    if not isinstance(failure, KeyboardInterrupt):
                        raise failure
                    self.status.value = STOPPED_MESSAGE
                    return None
            finally:
                self.training = False
                for control in self._controls():
                    control.disabled = was_disabled[id(control)]
                self.refresh()
            return self._record(history, setting, trainable, continued, batchnorm)
        return None

    def _fit_one_epoch(
        self, parameters: list[nn.Parameter], batchnorm: str
    ) -> tuple[training.History | None, BaseException | None]:
        """(history, None), or (None, the exception that ended the epoch, a stop included).

        The exception is caught here, inside the progress Output, because in a kernel an
        ipywidgets Output context swallows whatever is raised within it.
        """
        with self.progress_output:
            try:
                history = training.fit(
                    self.model,
                    self.loaders,
                    epochs=1,
                    optimizer=self.make_optimizer(parameters),
                    device=self.device,
                    batchnorm=batchnorm,
                    callbacks=self.callbacks,
                    progress=self.progress,
                )
            except BaseException as error:  # noqa: BLE001 - handed back to train_one_epoch
                return None, error
        return history, None

    def _record(
        self,
        history: training.History,
        setting: str,
        trainable: int,
        continued: bool,
        batchnorm: str,
    ) -> PanelResult:
        record = history.records[-1]
        result = PanelResult(
            len(self.results) + 1,
            setting,
            trainable,
            record.val_accuracy,
            record.seconds,
            continued,
            batchnorm,
        )
        self.results.append(result)
        accuracy = "n/a" if result.val_accuracy is None else f"{result.val_accuracy:.3f}"
        start = "continued from the current weights" if continued else "from the starting weights"
        self.status.value = (
            f"Run {result.run}: {setting} trainable, {start}, BatchNorm "
            f"{_batchnorm_label(batchnorm)}: val accuracy {accuracy}, {result.seconds:.1f} s."
        )
        self._draw_results()
        return result

    def _draw_results(self) -> None:
        self.table.value = results_table_html(self.results)
        if not any(r.val_accuracy is not None for r in self.results):
            return
        buffer = io.BytesIO()
        results_figure(self.results).savefig(buffer, format="png")
        self.plot.value = buffer.getvalue()
        self.plot.layout.display = None
