"""Widgets for the notebooks: FreezePanel, a live view of what a model will train, and
errors_shown_in, which keeps a widget's errors in the widget.

Taught in notebook 03 (freezing); errors_shown_in is used by the widgets of notebooks 01-03.
"""

from __future__ import annotations

import contextvars
import html
import io
import threading
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager

import ipywidgets as widgets
import torch
import traitlets
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from torch import nn
from torch.utils.data import DataLoader

from helpers import freezing, training
from helpers.panel_state import (
    STOPPED_MESSAGE,
    FreezePanelState,
    NotStarted,
    OptimizerFactory,
    PanelBusy,
    PanelResult,
    PanelStopped,
    Run,
    default_optimizer,
)
from helpers.results import compare

PANEL_CLASS = "freeze-panel"
READOUT_CLASS = "freeze-readout"
STATUS_CLASS = "freeze-status"
RESULTS_CLASS = "freeze-results"
MESSAGE_CLASS = "widget-message"
NOT_UPDATED_CLASS = "widget-not-updated"
ERROR_PREFIX = "Could not update: "
NOT_UPDATED_NOTE = " (what is shown below is the previous result, not updated)"
NOT_UPDATED_BORDER = "2px dashed #c0392b"
VERDICT_CLASS = "freeze-verdict"
BUTTON_LABELS = ("Freeze all", "Head only", "Unfreeze all", "Train 1 epoch", "Stop", "Reset")
CONTINUE_LABEL = "continue from the current weights"
# What the BatchNorm control shows -> the batchnorm argument of training.fit.
BATCHNORM_CHOICES = {"follow the freezing": "follow-freezing", "always train mode": "train"}
PLOT_WIDTH_PX, PLOT_HEIGHT_PX = 480, 250  # drawn at this size: never stretched
CELL_STYLE = "padding:4px 12px;border-bottom:1px solid #ccc;"
HEADER_STYLE = "padding:4px 12px;border-bottom:2px solid #333;"


class TextLine(widgets.HTML):
    """A line of plain text that wraps where a Label would cut it off (a verdict, a status).

    What is assigned to value is shown as text: <, > and & are escaped on the way in, so
    value reads back escaped ("a &lt; b"); plain sentences read back unchanged.
    """

    @traitlets.validate("value")
    def _as_text(self, proposal: dict) -> str:
        return html.escape(proposal["value"], quote=False)


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
        ("seed", "right"),
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
            str(r.seed),
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
    return (  # scrolls sideways rather than being cut off in a narrow column
        '<div style="overflow-x:auto;max-width:100%">'
        '<table style="border-collapse:collapse;font-size:13px;'
        'font-variant-numeric:tabular-nums">'
        f"<thead><tr>{header}</tr></thead><tbody>{''.join(rows)}</tbody></table></div>"
    )


def results_figure(results: Sequence[PanelResult]) -> Figure:
    """Val accuracy per run, one unjoined marker each (runs are settings, not a curve); the x
    axis is the run number, which the results table beside it explains.

    Runs that continued from the current weights are open squares. Drawn at PLOT_WIDTH_PX x
    PLOT_HEIGHT_PX so the panel shows it at its own size. Notebook 03.
    """
    scored = [r for r in results if r.val_accuracy is not None]
    figure = Figure(figsize=(PLOT_WIDTH_PX / 100, PLOT_HEIGHT_PX / 100), dpi=100)
    FigureCanvasAgg(figure)
    ax = figure.add_subplot()
    for r in scored:
        face = "white" if r.continued else "tab:blue"
        ax.plot(r.run, r.val_accuracy, "s" if r.continued else "o", color="tab:blue", mfc=face)
    if any(r.continued for r in scored):
        ax.plot([], [], "o", color="tab:blue", label="from the starting weights")
        ax.plot([], [], "s", color="tab:blue", mfc="white", label="continued")
        ax.legend(loc="lower right", fontsize=8)
    runs = [r.run for r in scored]
    step = max(1, len(runs) // 12)  # at most about 12 labels, never overlapping
    ax.set_xticks(runs[::step], [str(run) for run in runs[::step]], fontsize=8)
    if runs:
        ax.set_xlim(min(runs) - 0.6, max(runs) + 0.6)
    ax.set_xlabel("run (its setting: the table's row of that number)", fontsize=9)
    ax.set_ylabel("val accuracy", fontsize=9)
    ax.set_ylim(0, 1.05)
    ax.set_yticks([0, 0.25, 0.5, 0.75, 1.0])
    ax.tick_params(axis="y", labelsize=8)
    ax.grid(axis="y", alpha=0.3)
    figure.tight_layout()
    return figure


def _setting_name(result: PanelResult) -> str:
    return f"{result.setting} (BatchNorm {_batchnorm_label(result.batchnorm)})"


def verdict_text(results: Sequence[PanelResult], val_images: int) -> str:
    """What the panel's runs so far can say, by the course's one comparison rule.

    Only runs from the starting weights count (a continued run depends on what ran before).
    Runs with the same groups, BatchNorm setting and seed repeat each other: the latest
    counts. The two settings used most recently are compared over the seeds both have
    (results.compare: three or more for a verdict); with one setting so far, the spread of
    its seeds is given in val photos. Notebook 03.
    """
    by_setting: dict[str, dict[int, float]] = {}
    for r in results:
        if r.continued or r.val_accuracy is None:
            continue
        name = _setting_name(r)
        seeds = by_setting.pop(name, {})  # re-inserted: the most recently used comes last
        seeds[r.seed] = r.val_accuracy
        by_setting[name] = seeds
    if not by_setting:
        return ""
    names = list(by_setting)
    latest = by_setting[names[-1]]
    spread = ""
    if len(latest) > 1:
        photos = round((max(latest.values()) - min(latest.values())) * val_images)
        spread = (
            f"{names[-1]} over seeds {', '.join(map(str, sorted(latest)))}: "
            f"{min(latest.values()):.3f} to {max(latest.values()):.3f}, "
            f"{photos} of {val_images} val photos apart. "
        )
    if len(names) < 2:
        return spread + (
            "Run a second setting with the same seeds (0, 1, 2) for a verdict: "
            "one run per setting cannot rank two settings."
        )
    previous = by_setting[names[-2]]
    seeds = sorted(set(latest) & set(previous))
    if not seeds:
        return spread + (
            f"No seed was run with both {names[-2]} and {names[-1]}: run them with the same "
            "seeds (0, 1, 2) for a verdict."
        )
    verdict = compare(
        names[-1], [latest[s] for s in seeds], names[-2], [previous[s] for s in seeds], val_images
    )
    return spread + str(verdict)


# -- Stopping: the panel's Stop button and the kernel's interrupt ---------------------------------
# In JupyterLab 4.6 with ipykernel 7, a widget's callbacks run on a kernel subshell thread, and
# the kernel's interrupt (SIGINT) reaches only the main thread. So a click on "Train 1 epoch"
# trains on a thread of its own and returns at once: the subshell stays free to deliver the
# click on "Stop", and an interrupt while no cell runs reaches the training panels through
# _InterruptRouter. While a cell runs, the interrupt stops that cell, as always.
_training_panels: weakref.WeakSet[FreezePanel] = weakref.WeakSet()
_live_panels: list[weakref.ref[FreezePanel]] = []


def _kernel():
    """The running ipykernel, or None outside one (a script, pytest)."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with ipywidgets
        return None
    shell = get_ipython()
    return getattr(shell, "kernel", None)


def current_cell_id() -> str | None:
    """The id of the notebook cell running now (JupyterLab sends it with each execution)."""
    kernel = _kernel()
    try:
        parent = kernel.get_parent() if kernel is not None else None
    except Exception:  # noqa: BLE001 - an older kernel without get_parent: no id
        return None
    return ((parent or {}).get("metadata") or {}).get("cellId")


class _InterruptRouter:
    """The kernel's SIGINT handler while no cell runs: stops every training FreezePanel, and
    otherwise does what the kernel's own idle handler does (which ignores the signal)."""

    def __init__(self, previous):
        self.previous = previous

    def __call__(self, signum, frame):
        panels = list(_training_panels)
        for panel in panels:
            panel.stop()
        if not panels and callable(self.previous):
            self.previous(signum, frame)


def route_interrupts_to_panels() -> bool:
    """Make the kernel's interrupt stop a panel that trains while no cell runs; True if done.

    ipykernel keeps its idle SIGINT handler in kernel.saved_sigint_handler while a cell runs
    and puts it back when the cell ends: wrapping it there is the one place a handler for idle
    time can be set from a cell. Elsewhere (no kernel, another thread) nothing changes.
    """
    kernel = _kernel()
    if kernel is None or threading.current_thread() is not threading.main_thread():
        return False
    saved = getattr(kernel, "saved_sigint_handler", None)
    if saved is None:
        return False
    if type(saved).__name__ != _InterruptRouter.__name__:  # also after a module reload
        kernel.saved_sigint_handler = _InterruptRouter(saved)
    return True


class FreezePanel(widgets.VBox):
    """Tick which layer groups of a model learn; see the trainable count; train one epoch.

    FreezePanel(model, loaders) shows, top to bottom: one checkbox per layer group (input to
    output, `freezing.layer_groups`; ticked = trainable), a read-out of trainable / total
    parameters, the buttons "Freeze all", "Head only" (the final classifier layer,
    freezing.head_only), "Unfreeze all", "Train 1 epoch", "Stop" and "Reset", a checkbox
    "continue from the current weights", a "BatchNorm" toggle ("follow the freezing" /
    "always train mode"), a seed box, a status line, a verdict line, and, once something was
    trained, a results table with a plot of val accuracy per run below it. Ticking a box sets
    requires_grad on that group at once.

    The panel keeps a copy of the weights it was created with. With loaders ({"train": ...,
    "val": ...}), "Train 1 epoch" loads those starting weights (unless "continue from the
    current weights" is ticked), seeds everything with the seed box's value
    (training.seed_everything, and the loaders' own generators), and runs
    `training.fit(model, loaders, epochs=1, optimizer=make_optimizer(trainable parameters),
    batchnorm=...)`, "follow-freezing" or "train" as the BatchNorm toggle says, with a fresh
    optimizer each click (default AdamW, lr 1e-3); it appends a PanelResult to `results`. The
    same setting and seed give the same val accuracy (with loaders that decode in this
    process; worker processes keep their own random state). The first run warms up once
    (a forward and backward pass of one batch) before its epoch is timed, so the seconds
    column compares epochs, not start-up costs. The verdict line compares the two settings
    run most recently by the course's comparison rule (verdict_text). "Reset" loads the
    starting weights (the freezing and the results stay). Without loaders "Train 1 epoch" is
    disabled, with a tooltip saying why.

    In a kernel, a click on "Train 1 epoch" trains on a thread of its own, so that "Stop"
    (and Kernel > Interrupt while no cell runs) can stop it under JupyterLab's subshells; a
    second click while it trains is refused with a message, every other control is
    disabled, a change to a checkbox made in code is undone, and training.fit refuses to
    train the same model from a cell meanwhile. `wait()` waits for that run.
    `train_one_epoch()` called from code trains in the calling cell and returns the result.

    A stop (the panel's "Stop", the notebook's stop button, a KeyboardInterrupt in a
    callback) puts the weights back to what they were before the run and records nothing;
    the status line says so. After a click that is all; from code, train_one_epoch then
    raises PanelStopped, a KeyboardInterrupt, so the cell stops as it does when fit is
    stopped. Any other error shows in the status line as "Could not update: ..." with the
    results table and plot kept but marked not updated (errors_shown_in); train_one_epoch
    then returns None.

    Memory: `close()` closes every widget of the panel and lets go of the model, its
    starting weights and the loaders. Creating a panel in a notebook cell closes the panel
    that the same cell created before, and any live panel over the same model, so
    re-running the cell does not keep old models alive. (`del panel` alone cannot free a
    widget: the widget registry keeps every widget until it is closed.)

    Contract for tests and browser automation (keep it stable):
      - the panel has the CSS class "freeze-panel"; the read-out is a Label with class
        "freeze-readout" whose text is exactly `readout_text(model)`, e.g.
        "Trainable: 1,281,000 / 4,652,008 parameters (27.5%)" (thousands separators, one
        decimal, more decimals only where one would read 0.0% or 100.0% although the share
        is strictly between: "(99.9998%)", see percent_text);
      - checkbox descriptions start with the group name: "blocks.3 (111,126 params)";
      - buttons are labelled exactly "Freeze all", "Head only", "Unfreeze all",
        "Train 1 epoch", "Stop", "Reset" ("Stop" is enabled only while a run trains); the
        continue checkbox's description is exactly "continue from the current weights";
        the BatchNorm control is a ToggleButtons whose labels are "follow the freezing" and
        "always train mode"; the seed box is an IntText described "seed:";
      - the status line is a TextLine (an HTML widget showing plain text, which wraps)
        with class "freeze-status": while training it starts
        with "Training 1 epoch", after a stop with "Stopped", after "Reset" with
        "Weights reset", after an error with "Could not update:", after a run with
        "Run <n>:"; the verdict line is a TextLine with class "freeze-verdict"; the results
        table is an HTML widget with class "freeze-results" (header row, then one row per
        run).
    The state and the training live in `panel.state`, a `panel_state.FreezePanelState` (plain
    Python, tested without widgets); the panel draws it and forwards clicks to it.
    In Python: `panel.checkboxes[name]`, `panel.buttons[label]`, `panel.continue_box`,
    `panel.batchnorm`, `panel.seed`, `panel.readout.value`, `panel.results` (PanelResult
    list), `panel.status.value`, `panel.verdict.value`, `panel.start_state`. Notebook 03.
    """

    def __init__(
        self,
        model: nn.Module,
        loaders: Mapping[str, DataLoader] | None = None,
        *,
        make_optimizer: OptimizerFactory = default_optimizer,
        device: str | torch.device | None = None,
        progress: bool = True,
        callbacks: Sequence[Callable[[training.History], None]] = (),
        background: bool | None = None,
    ):
        self.state = FreezePanelState(
            model,
            loaders,
            make_optimizer=make_optimizer,
            device=device,
            progress=progress,
            callbacks=callbacks,
        )
        self.background = _kernel() is not None if background is None else background
        self._syncing = False
        self._worker: threading.Thread | None = None
        self._was_disabled: dict[int, bool] = {}
        self._cell = current_cell_id()

        self.checkboxes: dict[str, widgets.Checkbox] = {}
        for name, group in self.state.groups.items():
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
        self.buttons["Freeze all"].on_click(lambda _: self._change(self.state.set_all, False))
        self.buttons["Head only"].on_click(lambda _: self._change(self.state.head_only))
        self.buttons["Unfreeze all"].on_click(lambda _: self._change(self.state.set_all, True))
        self.buttons["Reset"].on_click(lambda _: self.reset())
        self.buttons["Reset"].tooltip = "Load the weights the panel was created with"
        stop = self.buttons["Stop"]
        stop.on_click(lambda _: self.stop())
        stop.disabled = True
        stop.button_style = "danger"
        stop.tooltip = "Stop the run after the current batch; its weights are put back"
        train = self.buttons["Train 1 epoch"]
        train.button_style = "primary"
        train.on_click(lambda _: self._on_train_click())
        if self.state.loaders is None:
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
        self.seed = widgets.BoundedIntText(
            value=0,
            min=0,
            max=9999,
            description="seed:",
            layout=widgets.Layout(width="10em"),
            tooltip="The same setting and seed give the same val accuracy",
        )
        self.status = TextLine()
        self.status.add_class(STATUS_CLASS)
        self.verdict = TextLine()
        self.verdict.add_class(VERDICT_CLASS)
        self.table = widgets.HTML()
        self.table.add_class(RESULTS_CLASS)
        self.plot = widgets.Image(
            format="png",
            layout=widgets.Layout(
                width=f"{PLOT_WIDTH_PX}px", max_width="100%", height="auto", display="none"
            ),
        )
        self.progress_output = widgets.Output()

        super().__init__(
            [
                widgets.HTML(
                    "<b>Trainable layer groups</b> (input at the top, head at the bottom)"
                ),
                widgets.VBox(list(self.checkboxes.values())),
                self.readout,
                widgets.HBox(list(self.buttons.values()), layout={"flex_flow": "row wrap"}),
                widgets.HBox(
                    [self.continue_box, self.batchnorm, self.seed],
                    layout={"flex_flow": "row wrap"},
                ),
                self.status,
                self.progress_output,
                self.verdict,
                self.table,
                self.plot,
            ]
        )
        self.add_class(PANEL_CLASS)
        self.refresh()
        self._close_replaced_panels()
        route_interrupts_to_panels()

    # -- the state's attributes, as the panel's (the contract above) ------------------------
    @property
    def model(self) -> nn.Module | None:
        return self.state.model

    @property
    def loaders(self) -> dict[str, DataLoader] | None:
        return self.state.loaders

    @property
    def results(self) -> list[PanelResult]:
        return self.state.results

    @property
    def start_state(self) -> dict[str, torch.Tensor] | None:
        return self.state.start_state

    @property
    def training(self) -> bool:
        return self.state.training

    @property
    def warm_up_seconds(self) -> float | None:
        return self.state.warm_up_seconds

    @property
    def groups(self) -> dict[str, nn.Module]:
        return self.state.groups

    @property
    def make_optimizer(self) -> OptimizerFactory:
        return self.state.make_optimizer

    @make_optimizer.setter
    def make_optimizer(self, value: OptimizerFactory):
        self.state.make_optimizer = value

    # -- memory ---------------------------------------------------------------------------------
    def _close_replaced_panels(self) -> None:
        """Close the live panels this one replaces: the same cell's, and any over this model."""
        alive = []
        for ref in _live_panels:
            other = ref()
            if other is None or other is self or other.model is None:
                continue
            if other.model is self.model or (self._cell is not None and other._cell == self._cell):
                other.close()
            else:
                alive.append(ref)
        _live_panels[:] = [*alive, weakref.ref(self)]

    def close(self) -> None:
        """Stop a run, close every widget of the panel, and let go of the model and the data."""
        self.stop()
        worker = self._worker
        if worker is not None and worker is not threading.current_thread():
            worker.join(timeout=60)
        pending = list(self.children)
        while pending:
            widget = pending.pop()
            pending.extend(getattr(widget, "children", ()))
            widget.close()
        super().close()
        self.state.close()
        self.checkboxes, self.buttons = {}, {}

    # -- keeping boxes, model and read-out in step ------------------------------------------
    def refresh(self) -> None:
        """Re-read requires_grad into the boxes and the read-out (after changes made in code).

        A group counts as ticked when all its parameters train; a partly trainable one is
        shown unticked and its box says "(part)".
        """
        self._syncing = True
        try:
            for name, state in self.state.trainable_groups().items():
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
                self.state.set_group(name, change["new"])
                self.refresh()

        return handler

    def _change(self, change: Callable[..., None], *args) -> None:
        """A button's change to the freezing (ignored while a run trains: buttons are locked)."""
        try:
            change(*args)
        except PanelBusy:
            return
        self.refresh()

    def _controls(self) -> list[widgets.Widget]:
        """Every control a run locks (all but "Stop")."""
        return [
            *self.checkboxes.values(),
            *(button for label, button in self.buttons.items() if label != "Stop"),
            self.continue_box,
            self.batchnorm,
            self.seed,
        ]

    def reset(self) -> None:
        """What the "Reset" button does: load the weights the panel was created with."""
        try:
            self.state.reset()
        except PanelBusy:
            return
        self.status.value = (
            "Weights reset to the ones the panel started with; "
            "the ticked groups and the results table are unchanged."
        )

    # -- training -----------------------------------------------------------------------------
    def stop(self) -> None:
        """What "Stop" does: end the running epoch after its current batch (no-op when idle)."""
        if self.state.request_stop():
            self.status.value = "Stopping after the current batch…"

    def wait(self, timeout: float | None = None) -> None:
        """Wait for a run started by a click to finish (at most timeout seconds)."""
        worker = self._worker
        if worker is not None and worker is not threading.current_thread():
            worker.join(timeout)

    def train_one_epoch(self) -> PanelResult | None:
        """What "Train 1 epoch" does, in the calling cell; returns the new result.

        None if nothing ran (no data, nothing trainable, a run already training) or the run
        failed: the status line says which. A stop raises PanelStopped after the weights are
        put back, so the cell stops there.
        """
        run = self._begin()
        if run is None:
            return None
        result, failure = self._finish(run)
        if isinstance(failure, KeyboardInterrupt):
            raise PanelStopped(STOPPED_MESSAGE) from None
        return result

    def _on_train_click(self) -> None:
        run = self._begin()
        if run is None:
            return
        if not self.background:
            self._finish(run)
            return
        # the click's context (its message) goes with the thread, so the progress bar shows
        # in the panel's progress area as it would from the click itself
        context = contextvars.copy_context()
        self._worker = threading.Thread(
            target=context.run, args=(self._finish, run), name="FreezePanel run", daemon=True
        )
        self._worker.start()

    def _begin(self) -> Run | None:
        """Start a run in the state with the controls' values, and lock the controls."""
        try:
            run = self.state.begin(
                continued=self.continue_box.value,
                batchnorm=self.batchnorm.value,
                seed=int(self.seed.value),
            )
        except NotStarted as why:
            self.status.value = str(why)
            return None
        self._was_disabled = {id(w): w.disabled for w in self._controls()}
        _training_panels.add(self)
        for control in self._controls():
            control.disabled = True
        self.buttons["Stop"].disabled = False
        start = "the current weights" if run.continued else "the starting weights"
        self.status.value = (
            f"Training 1 epoch ({run.setting} trainable, from {start}, seed {run.seed})…"
        )
        return run

    def _end(self) -> None:
        _training_panels.discard(self)
        self.buttons["Stop"].disabled = True
        for control in self._controls():
            control.disabled = self._was_disabled.get(id(control), False)
        self.refresh()

    def _finish(self, run: Run) -> tuple[PanelResult | None, BaseException | None]:
        """Train the run, then unlock: (result, None), (None, the stop), or (None, None) when
        it failed (the status line shows the error)."""
        with errors_shown_in(self.status, [self.table, self.plot]):
            try:
                result, stopped = self.state.execute(
                    run, report=self._report, output=self._progress_area
                )
            finally:
                self._end()
            if stopped is not None:
                self.status.value = STOPPED_MESSAGE
                return None, stopped
            self._show(result)
            return result, None
        return None, None

    def _progress_area(self) -> widgets.Output:
        """Where training.fit draws its progress bar: the panel's, emptied for the run."""
        self.progress_output.clear_output()
        return self.progress_output

    def _report(self, text: str) -> None:
        self.status.value = text

    def _show(self, result: PanelResult) -> None:
        accuracy = "n/a" if result.val_accuracy is None else f"{result.val_accuracy:.3f}"
        start = (
            "continued from the current weights"
            if result.continued
            else "from the starting weights"
        )
        self.status.value = (
            f"Run {result.run}: {result.setting} trainable, {start}, BatchNorm "
            f"{_batchnorm_label(result.batchnorm)}, seed {result.seed}: val accuracy {accuracy}, "
            f"{result.seconds:.1f} s."
        )
        self._draw_results()

    def _draw_results(self) -> None:
        self.table.value = results_table_html(self.results)
        val_images = self.state.val_images()
        if val_images is not None:
            self.verdict.value = verdict_text(self.results, val_images)
        if not any(r.val_accuracy is not None for r in self.results):
            return
        buffer = io.BytesIO()
        results_figure(self.results).savefig(buffer, format="png")
        self.plot.value = buffer.getvalue()
        self.plot.layout.display = None
