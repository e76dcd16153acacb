"""helpers.widgets.FreezePanel, driven as a user would: tick boxes, click buttons, read it."""

from __future__ import annotations

import gc
import itertools
import re
import signal
import threading
import time
import weakref

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from helpers import freezing, models, training
from helpers import widgets as widgets_module
from helpers.panel_state import BUSY_MESSAGE, STOPPED_MESSAGE, PanelResult, PanelStopped
from helpers.results import compare
from helpers.training import ModelBusyError
from helpers.widgets import (
    BUTTON_LABELS,
    NOT_UPDATED_CLASS,
    PLOT_HEIGHT_PX,
    PLOT_WIDTH_PX,
    FreezePanel,
    percent_text,
    readout_text,
    results_figure,
    verdict_text,
)


class Tiny(nn.Module):
    """Three layer groups: stem (3*4+4=16 values), body (4*4+4=20), head (4*2+2=10)."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Linear(3, 4)
        self.body = nn.Linear(4, 4)
        self.head = nn.Linear(4, 2)

    def forward(self, x):
        return self.head(torch.relu(self.body(torch.relu(self.stem(x)))))


class TinyBN(Tiny):
    """Tiny with a BatchNorm layer in its stem group, for the BatchNorm control."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))


def tiny_loaders(offset: float = 0.0) -> dict[str, DataLoader]:
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(32, 3, generator=generator) + offset
    y = (x[:, 0] > 0).long()
    dataset = TensorDataset(x, y)
    return {"train": DataLoader(dataset, batch_size=8), "val": DataLoader(dataset, batch_size=16)}


def requires_grad(model: nn.Module) -> dict[str, bool]:
    return {name: p.requires_grad for name, p in model.named_parameters()}


def weights(model: nn.Module) -> dict[str, torch.Tensor]:
    return {name: value.detach().clone() for name, value in model.state_dict().items()}


def same_weights(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[name], b[name]) for name in a)


def table_rows(table_html: str) -> list[list[str]]:
    """The text of each row's cells, header row first."""
    return [
        re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row)
        for row in re.findall(r"<tr>(.*?)</tr>", table_html)
    ]


def raise_keyboard_interrupt():
    raise KeyboardInterrupt


def interrupt_on_step(call: int, lr: float = 0.1, stop=None):
    """A make_optimizer whose optimizer.step calls stop (default: raise KeyboardInterrupt)
    on the call-th step."""

    def make_optimizer(parameters):
        optimizer = torch.optim.SGD(parameters, lr=lr)
        step, calls = optimizer.step, []

        def step_or_stop(*args, **kwargs):
            calls.append(1)
            if len(calls) == call:
                (stop or raise_keyboard_interrupt)()
            return step(*args, **kwargs)

        optimizer.step = step_or_stop
        return optimizer

    return make_optimizer


def test_layout_follows_the_contract():
    model = Tiny()
    panel = FreezePanel(model)
    assert "freeze-panel" in panel._dom_classes
    assert "freeze-readout" in panel.readout._dom_classes
    assert [box.description for box in panel.checkboxes.values()] == [
        "stem (16 params)",
        "body (20 params)",
        "head (10 params)",
    ]
    assert [b.description for b in panel.buttons.values()] == list(BUTTON_LABELS)
    assert list(BUTTON_LABELS) == [
        "Freeze all",
        "Head only",
        "Unfreeze all",
        "Train 1 epoch",
        "Stop",
        "Reset",
    ]
    assert panel.buttons["Stop"].disabled  # enabled only while a run trains
    assert panel.continue_box.description == "continue from the current weights"
    assert panel.continue_box.value is False
    assert panel.batchnorm._options_labels == ("follow the freezing", "always train mode")
    assert panel.batchnorm.value == "follow-freezing"
    assert "freeze-status" in panel.status._dom_classes
    assert "freeze-results" in panel.table._dom_classes
    assert "freeze-verdict" in panel.verdict._dom_classes
    assert panel.seed.description == "seed:" and panel.seed.value == 0
    assert panel.readout.value == "Trainable: 46 / 46 parameters (100.0%)"
    assert all(box.value for box in panel.checkboxes.values())


def test_untick_a_box_freezes_that_group_and_updates_the_readout():
    model = Tiny()
    panel = FreezePanel(model)
    panel.checkboxes["body"].value = False
    assert not model.body.weight.requires_grad and not model.body.bias.requires_grad
    assert model.stem.weight.requires_grad and model.head.weight.requires_grad
    assert panel.readout.value == "Trainable: 26 / 46 parameters (56.5%)"
    panel.checkboxes["body"].value = True
    assert all(requires_grad(model).values())
    assert panel.readout.value == readout_text(model)


def test_buttons_freeze_all_head_only_unfreeze_all():
    model = Tiny()
    panel = FreezePanel(model)
    panel.buttons["Freeze all"].click()
    assert not any(requires_grad(model).values())
    assert panel.readout.value == "Trainable: 0 / 46 parameters (0.0%)"
    assert not any(box.value for box in panel.checkboxes.values())
    panel.buttons["Head only"].click()
    assert requires_grad(model) == {
        "stem.weight": False,
        "stem.bias": False,
        "body.weight": False,
        "body.bias": False,
        "head.weight": True,
        "head.bias": True,
    }
    assert [box.value for box in panel.checkboxes.values()] == [False, False, True]
    assert panel.readout.value == "Trainable: 10 / 46 parameters (21.7%)"
    panel.buttons["Unfreeze all"].click()
    assert all(requires_grad(model).values())


def test_refresh_shows_changes_made_in_code_and_partly_frozen_groups():
    model = Tiny()
    panel = FreezePanel(model)
    model.body.bias.requires_grad = False
    panel.refresh()
    assert not panel.checkboxes["body"].value
    assert panel.checkboxes["body"].description.startswith("body (20 params)")
    assert "part" in panel.checkboxes["body"].description
    assert panel.readout.value == "Trainable: 42 / 46 parameters (91.3%)"


def test_lite0_readout_with_the_head_only():
    model = models.replace_head(models.load_backbone(pretrained=False), 2)
    panel = FreezePanel(model)
    assert list(panel.checkboxes)[-1] == "classifier"
    assert panel.checkboxes["blocks.3"].description.startswith("blocks.3 (")
    panel.buttons["Head only"].click()
    assert panel.readout.value == "Trainable: 2,562 / 3,373,570 parameters (0.1%)"


def test_train_button_is_disabled_without_loaders():
    panel = FreezePanel(Tiny())
    button = panel.buttons["Train 1 epoch"]
    assert button.disabled and "loaders" in button.tooltip
    assert panel.train_one_epoch() is None
    assert panel.results == []


def test_train_one_epoch_records_a_result_and_changes_only_trainable_weights():
    torch.manual_seed(0)
    model = Tiny()
    panel = FreezePanel(model, tiny_loaders(), progress=False)
    panel.buttons["Head only"].click()
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    panel.buttons["Train 1 epoch"].click()
    assert len(panel.results) == 1
    result = panel.results[0]
    assert result.setting == "head" and result.trainable == 10
    assert 0.0 <= result.val_accuracy <= 1.0 and result.seconds > 0
    for name, parameter in model.named_parameters():
        assert torch.equal(parameter, before[name]) == (not name.startswith("head.")), name
    header, row = table_rows(panel.table.value)
    assert header == [
        "run",
        "trainable groups",
        "trainable params",
        "started from",
        "BatchNorm",
        "seed",
        "val accuracy",
        "seconds",
    ]
    assert row[:5] == ["1", "head", "10", "starting weights", "follow the freezing"]
    assert panel.plot.value[:4] == b"\x89PNG"
    panel.buttons["Unfreeze all"].click()
    panel.continue_box.value = True
    panel.batchnorm.value = "train"
    panel.buttons["Train 1 epoch"].click()
    assert [r.setting for r in panel.results] == ["head", "all"]
    assert [(r.continued, r.batchnorm) for r in panel.results] == [
        (False, "follow-freezing"),
        (True, "train"),
    ]
    rows = table_rows(panel.table.value)
    assert len(rows) == 3  # header and two runs
    assert rows[2][:5] == ["2", "all", "46", "current weights", "always train mode"]


def test_results_table_is_padded_with_numbers_right_aligned():
    panel = FreezePanel(Tiny(), tiny_loaders(), progress=False)
    panel.buttons["Train 1 epoch"].click()
    cells = re.findall(r"<td style=\"([^\"]*)\">([^<]*)</td>", panel.table.value)
    assert len(cells) == 8
    for style, text in cells:
        assert "padding" in style
        numeric = re.fullmatch(r"[\d,.]+", text) is not None
        assert ("text-align:right" in style) == numeric, (text, style)


def test_plot_labels_stay_inside_the_figure_and_runs_are_not_joined():
    long = "blocks.0 (part), blocks.2–blocks.6, conv_head (part), classifier"
    results = [
        PanelResult(i, long if i % 2 else "all", 10**6, 0.5 + i / 40, 1.0, i > 4)
        for i in range(1, 30)
    ]
    figure = results_figure(results)
    renderer = figure.canvas.get_renderer()
    figure.canvas.draw()
    ax = figure.axes[0]
    ticks = ax.get_xticklabels()
    texts = [*ticks, *ax.get_yticklabels(), ax.xaxis.label, ax.yaxis.label]
    frame = figure.bbox
    for text in texts:
        box = text.get_window_extent(renderer)
        assert box.x0 >= frame.x0 - 1 and box.x1 <= frame.x1 + 1, text.get_text()
        assert box.y0 >= frame.y0 - 1 and box.y1 <= frame.y1 + 1, text.get_text()
    boxes = [t.get_window_extent(renderer) for t in ticks]
    assert all(a.x1 < b.x0 for a, b in itertools.pairwise(boxes)), "x tick labels overlap"
    assert all(len(line.get_xdata()) <= 1 for line in ax.lines), "runs joined by a line"
    width, height = figure.canvas.get_width_height()
    assert (width, height) == (PLOT_WIDTH_PX, PLOT_HEIGHT_PX)  # shown at its own size


def test_controls_are_locked_while_training():
    model = Tiny()
    seen = {}

    def make_optimizer(parameters):
        # runs inside the training call: a user's click now must change nothing
        seen["disabled"] = all(w.disabled for w in panel._controls())
        panel.checkboxes["stem"].value = False
        panel.buttons["Freeze all"].click()
        seen["stem_trainable"] = model.stem.weight.requires_grad
        return torch.optim.SGD(parameters, lr=0.1)

    panel = FreezePanel(model, tiny_loaders(), make_optimizer=make_optimizer, progress=False)
    panel.buttons["Train 1 epoch"].click()
    assert seen == {"disabled": True, "stem_trainable": True}
    assert panel.checkboxes["stem"].value is True
    assert all(requires_grad(model).values())
    assert not any(w.disabled for w in panel._controls())
    assert len(panel.results) == 1


def test_nothing_trainable_gives_a_message_not_an_error():
    panel = FreezePanel(Tiny(), tiny_loaders(), progress=False)
    panel.buttons["Freeze all"].click()
    panel.buttons["Train 1 epoch"].click()
    assert panel.results == [] and "Nothing is trainable" in panel.status.value


def test_a_failing_epoch_shows_in_the_panel_and_unlocks_the_controls():
    fail = {"now": False}

    def make_optimizer(parameters):
        if fail["now"]:
            raise RuntimeError("the learning rate is missing")
        return torch.optim.SGD(parameters, lr=0.1)

    panel = FreezePanel(Tiny(), tiny_loaders(), make_optimizer=make_optimizer, progress=False)
    panel.buttons["Train 1 epoch"].click()
    table = panel.table.value
    fail["now"] = True
    assert panel.train_one_epoch() is None  # shown, not raised
    assert panel.status.value.startswith("Could not update: the learning rate is missing")
    assert panel.table.value == table and NOT_UPDATED_CLASS in panel.table._dom_classes
    assert NOT_UPDATED_CLASS in panel.plot._dom_classes
    assert not panel.training and not any(w.disabled for w in panel._controls())
    assert freezing.count_parameters(panel.model) == (46, 46) and len(panel.results) == 1
    fail["now"] = False
    panel.buttons["Train 1 epoch"].click()
    assert panel.status.value.startswith("Run 2:")
    assert NOT_UPDATED_CLASS not in panel.table._dom_classes


def test_each_run_starts_from_the_panels_starting_weights_unless_continuing():
    torch.manual_seed(0)
    model = Tiny()
    start = weights(model)
    seen = []

    def make_optimizer(parameters):
        seen.append(weights(model))  # the weights this run starts from
        return torch.optim.SGD(parameters, lr=0.5)

    panel = FreezePanel(model, tiny_loaders(), make_optimizer=make_optimizer, progress=False)
    panel.train_one_epoch()
    after_first = weights(model)
    assert not same_weights(after_first, start)
    panel.train_one_epoch()
    assert same_weights(seen[1], start)  # not where run 1 ended
    panel.continue_box.value = True
    model.load_state_dict(after_first)
    panel.train_one_epoch()
    assert same_weights(seen[2], after_first)
    assert not same_weights(weights(model), after_first)
    assert [r.continued for r in panel.results] == [False, False, True]


def test_reset_restores_the_starting_weights_and_says_so():
    torch.manual_seed(0)
    model = Tiny()
    start = weights(model)
    panel = FreezePanel(model, tiny_loaders(), progress=False)
    panel.buttons["Head only"].click()
    panel.buttons["Train 1 epoch"].click()
    assert not same_weights(weights(model), start)
    panel.buttons["Reset"].click()
    assert same_weights(weights(model), start)
    assert panel.status.value.startswith("Weights reset")
    assert panel.checkboxes["head"].value and not panel.checkboxes["stem"].value
    assert len(panel.results) == 1


def test_a_stop_in_the_first_epoch_restores_the_weights_and_is_reported():
    torch.manual_seed(0)
    model = Tiny()
    panel = FreezePanel(model, tiny_loaders(), progress=False)
    panel.continue_box.value = True
    panel.buttons["Train 1 epoch"].click()  # now the weights differ from the starting ones
    panel.continue_box.value = False
    before = weights(model)
    panel.make_optimizer = interrupt_on_step(2)  # step 1 changes the weights, step 2 stops
    panel.buttons["Train 1 epoch"].click()  # must not raise
    assert same_weights(weights(model), before)
    assert panel.status.value.startswith("Stopped") and "restored" in panel.status.value
    assert "nothing was recorded" in panel.status.value
    assert len(panel.results) == 1 and not panel.training
    assert not any(w.disabled for w in panel._controls())


def test_a_real_sigint_mid_epoch_is_reported_like_the_stop_button():
    def sigint():
        signal.raise_signal(signal.SIGINT)  # what the kernel's stop button sends

    torch.manual_seed(0)
    model = Tiny()
    before = weights(model)
    panel = FreezePanel(model, tiny_loaders(), progress=False)
    panel.make_optimizer = interrupt_on_step(2, stop=sigint)
    handler = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(PanelStopped, match="nothing was recorded"):
            panel.train_one_epoch()  # from code, a stop stops the cell
    finally:
        signal.signal(signal.SIGINT, handler)
    assert panel.status.value.startswith("Stopped")
    assert same_weights(weights(model), before) and panel.results == []


def test_a_stop_from_a_callback_after_the_epoch_records_nothing():
    def stop(history):
        raise KeyboardInterrupt

    torch.manual_seed(0)
    model = Tiny()
    before = weights(model)
    panel = FreezePanel(model, tiny_loaders(), progress=False, callbacks=[stop])
    with pytest.raises(PanelStopped):
        panel.train_one_epoch()
    assert same_weights(weights(model), before)  # fit alone would keep the finished epoch
    assert panel.results == [] and panel.status.value.startswith("Stopped")


def test_batchnorm_control_decides_whether_a_frozen_layer_learns_statistics():
    statistics = {}
    for mode in ("follow-freezing", "train"):
        torch.manual_seed(0)
        model = TinyBN()
        panel = FreezePanel(model, tiny_loaders(offset=3.0), progress=False)
        panel.checkboxes["stem"].value = False  # the BatchNorm layer is frozen
        panel.batchnorm.value = mode
        before = model.stem[1].running_mean.clone()
        panel.buttons["Train 1 epoch"].click()
        assert panel.results[-1].batchnorm == mode
        statistics[mode] = not torch.equal(model.stem[1].running_mean, before)
    assert statistics == {"follow-freezing": False, "train": True}


@pytest.mark.parametrize(
    ("part", "whole", "text"),
    [
        (10, 46, "21.7%"),
        (46, 46, "100.0%"),
        (0, 46, "0.0%"),
        (1_001_000, 1_001_002, "99.9998%"),
        (2, 1_001_002, "0.0002%"),
        (1, 3, "33.3%"),
    ],
)
def test_percent_text(part, whole, text):
    assert percent_text(part, whole) == text


def test_readout_never_shows_100_percent_with_a_group_frozen():
    model = nn.Sequential(nn.Linear(1000, 1000), nn.Linear(1, 1))
    panel = FreezePanel(model)
    panel.checkboxes["1"].value = False
    assert panel.readout.value == "Trainable: 1,001,000 / 1,001,002 parameters (99.9998%)"
    panel.checkboxes["1"].value = True
    panel.checkboxes["0"].value = False
    assert panel.readout.value == "Trainable: 2 / 1,001,002 parameters (0.0002%)"


class SwallowingOutput:
    """Stands in for an ipywidgets Output inside a kernel, whose context swallows exceptions."""

    def clear_output(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        return True


def test_a_stop_is_reported_even_where_the_progress_area_swallows_exceptions():
    torch.manual_seed(0)
    model = Tiny()
    before = weights(model)
    panel = FreezePanel(model, tiny_loaders(), progress=False)
    panel.progress_output = SwallowingOutput()
    panel.make_optimizer = interrupt_on_step(2)
    with pytest.raises(PanelStopped):
        panel.train_one_epoch()
    assert panel.status.value.startswith("Stopped"), panel.status.value
    assert same_weights(weights(model), before) and panel.results == []


# -- runs on a thread of their own, Stop, the kernel's interrupt (JupyterLab's subshells) -------
def slow_optimizer(started: threading.Event, seconds: float = 0.05):
    """A make_optimizer whose every step sets started, then takes `seconds`."""

    def make_optimizer(parameters):
        optimizer = torch.optim.SGD(parameters, lr=0.1)
        step = optimizer.step

        def slow_step(*args, **kwargs):
            started.set()
            time.sleep(seconds)
            return step(*args, **kwargs)

        optimizer.step = slow_step
        return optimizer

    return make_optimizer


def long_loaders() -> dict[str, DataLoader]:
    """Tiny's data, 64 batches of one: an epoch of slow steps lasts seconds, time to stop it."""
    loaders = tiny_loaders()
    dataset = loaders["train"].dataset
    return {"train": DataLoader(dataset, batch_size=1), "val": loaders["val"]}


def test_stop_stops_a_clicked_run_every_time_and_a_second_click_is_refused():
    torch.manual_seed(0)
    model = Tiny()
    start = weights(model)
    started = threading.Event()
    panel = FreezePanel(
        model, long_loaders(), make_optimizer=slow_optimizer(started), progress=False,
        background=True,
    )  # fmt: skip
    for attempt in range(3):  # the issue: only the first stop used to work
        started.clear()
        panel.buttons["Train 1 epoch"].click()  # returns at once: the run has its own thread
        assert started.wait(10) and panel.training
        assert not panel.buttons["Stop"].disabled
        assert panel.buttons["Train 1 epoch"].disabled
        panel._on_train_click()  # a second click (disabled in the browser) is refused
        assert panel.status.value == BUSY_MESSAGE
        with pytest.raises(ModelBusyError):  # nor can a cell train the model meanwhile
            training.fit(model, tiny_loaders(), epochs=1, optimizer=torch.optim.SGD(
                model.parameters(), lr=0.1), progress=False)  # fmt: skip
        panel.buttons["Stop"].click()
        panel.wait(10)
        assert not panel.training, attempt
        assert panel.status.value == STOPPED_MESSAGE, (attempt, panel.status.value)
        assert same_weights(weights(model), start) and panel.results == []
        assert panel.buttons["Stop"].disabled and not panel.buttons["Train 1 epoch"].disabled


def test_a_clicked_run_that_finishes_records_its_result():
    started = threading.Event()
    panel = FreezePanel(
        Tiny(), tiny_loaders(), make_optimizer=slow_optimizer(started, 0.0), progress=False,
        background=True,
    )  # fmt: skip
    panel.buttons["Train 1 epoch"].click()
    panel.wait(30)
    assert [r.run for r in panel.results] == [1]
    assert panel.status.value.startswith("Run 1:") and not panel.training


class FakeKernel:
    """ipykernel's part that route_interrupts_to_panels uses: the idle SIGINT handler that
    the kernel saved while a cell runs, and the message that started that cell."""

    def __init__(self, cell_id="cell-1"):
        self.saved_sigint_handler = signal.SIG_IGN
        self.cell_id = cell_id

    def get_parent(self):
        return {"metadata": {"cellId": self.cell_id}, "header": {"msg_id": "x"}}


def test_the_kernels_interrupt_while_no_cell_runs_stops_a_training_panel(monkeypatch):
    kernel = FakeKernel()
    monkeypatch.setattr(widgets_module, "_kernel", lambda: kernel)
    started = threading.Event()
    panel = FreezePanel(
        Tiny(), long_loaders(), make_optimizer=slow_optimizer(started), progress=False
    )
    assert panel.background  # in a kernel, clicks train on their own thread
    router = kernel.saved_sigint_handler
    assert callable(router) and router.previous == signal.SIG_IGN
    kernel.cell_id = "cell-2"
    FreezePanel(Tiny())  # a second panel does not wrap the handler twice
    assert kernel.saved_sigint_handler is router
    router(signal.SIGINT, None)  # no panel training: the kernel's own idle handler (ignore)
    for _ in range(2):
        started.clear()
        panel.buttons["Train 1 epoch"].click()
        assert started.wait(10)
        router(signal.SIGINT, None)  # what the kernel does with Kernel > Interrupt when idle
        panel.wait(10)
        assert panel.status.value == STOPPED_MESSAGE and panel.results == []


def test_a_stop_during_the_code_driven_cell_stops_the_cell_with_the_weights_restored():
    torch.manual_seed(0)
    model = Tiny()
    before = weights(model)
    panel = FreezePanel(model, tiny_loaders(), progress=False)
    panel.make_optimizer = interrupt_on_step(2)
    with pytest.raises(KeyboardInterrupt, match="Stopped before the epoch finished"):
        panel.train_one_epoch()
    assert same_weights(weights(model), before) and panel.results == []
    assert not panel.training and not any(w.disabled for w in panel._controls())


# -- repeatable runs and the verdict -------------------------------------------------------------
def shuffled_loaders() -> dict[str, DataLoader]:
    loaders = tiny_loaders(offset=0.3)
    dataset = loaders["train"].dataset
    generator = torch.Generator().manual_seed(123)  # as data.dataloaders makes it
    train = DataLoader(dataset, batch_size=4, shuffle=True, generator=generator)
    return {"train": train, "val": loaders["val"]}


def test_the_same_setting_and_seed_give_the_same_number_and_another_seed_does_not():
    model = Tiny()
    panel = FreezePanel(
        model, shuffled_loaders(), progress=False,
        make_optimizer=lambda p: torch.optim.SGD(p, lr=0.5),
    )  # fmt: skip
    trained = []
    for seed in (0, 0, 1, 0):
        panel.seed.value = seed
        panel.train_one_epoch()
        trained.append(weights(model))
    assert [r.seed for r in panel.results] == [0, 0, 1, 0]
    assert same_weights(trained[0], trained[1]) and same_weights(trained[0], trained[3])
    assert not same_weights(trained[0], trained[2])
    assert panel.results[0].val_accuracy == panel.results[1].val_accuracy
    assert table_rows(panel.table.value)[1][5] == "0"  # the seed column


def test_the_first_run_warms_up_outside_its_timed_epoch():
    model = Tiny()
    model.head.weight.requires_grad = False
    panel = FreezePanel(model, tiny_loaders(), progress=False)
    start = weights(model)
    panel.continue_box.value = True  # so the warm-up's own effect would show
    panel.train_one_epoch()
    assert panel.warm_up_seconds is not None and panel.warm_up_seconds > 0
    assert not model.head.weight.requires_grad  # the freezing is as it was
    assert torch.equal(model.head.weight, start["head.weight"])  # frozen: unchanged
    seconds = panel.warm_up_seconds
    panel.train_one_epoch()
    assert panel.warm_up_seconds == seconds  # once per panel


def result(run, setting, seed, accuracy, batchnorm="follow-freezing", continued=False):
    return PanelResult(run, setting, 10, accuracy, 1.0, continued, batchnorm, seed)


def test_verdict_uses_the_comparison_rule_over_the_seeds_both_settings_ran():
    runs = [result(1, "head", 0, 0.90), result(2, "head", 1, 0.92)]
    text = verdict_text(runs, 153)
    assert "0.900 to 0.920, 3 of 153 val photos apart" in text
    assert "second setting" in text
    runs += [result(3, "head", 0, 0.80, "train")]
    assert "cannot say (one run" in verdict_text(runs, 153)
    runs += [
        result(4, "head", 1, 0.82, "train"),
        result(5, "head", 2, 0.81, "train"),
        result(6, "head", 2, 0.91),
        result(7, "head", 0, 0.10, continued=True),  # continued: not counted
    ]
    expected = str(
        compare("head (BatchNorm follow the freezing)", [0.90, 0.92, 0.91],
                "head (BatchNorm always train mode)", [0.80, 0.82, 0.81], 153)
    )  # fmt: skip
    assert verdict_text(runs, 153).endswith(expected)
    assert "ahead of head (BatchNorm always train mode)" in expected


def test_the_panel_shows_its_verdict_line_after_runs():
    panel = FreezePanel(Tiny(), tiny_loaders(), progress=False)
    panel.train_one_epoch()
    assert "second setting" in panel.verdict.value


# -- memory: re-running the panel's cell keeps one panel and one model alive ---------------------
def test_close_lets_go_of_the_model_and_closes_every_widget():
    model = Tiny()
    panel = FreezePanel(model, tiny_loaders(), progress=False)
    panel.train_one_epoch()
    children = [panel.readout, panel.buttons["Stop"], panel.checkboxes["head"], panel.table]
    model_ref = weakref.ref(model)
    del model
    panel.close()
    gc.collect()
    assert model_ref() is None
    assert all(child.comm is None for child in children)  # closed: gone from the registry


def test_rerunning_a_panel_cell_ten_times_keeps_one_panel_and_one_model(monkeypatch):
    kernel = FakeKernel("the-panel-cell")
    monkeypatch.setattr(widgets_module, "_kernel", lambda: kernel)
    models_made, panels_made = [], []
    for _ in range(10):  # each re-run builds a new model and a new panel, as notebook 03 does
        model = Tiny()
        panel = FreezePanel(model, tiny_loaders(), progress=False)
        panel.train_one_epoch()
        models_made.append(weakref.ref(model))
        panels_made.append(weakref.ref(panel))
    del model
    gc.collect()
    assert sum(ref() is not None for ref in models_made) == 1
    assert [ref() is not None for ref in panels_made] == [False] * 9 + [True]
    kernel.cell_id = "another-cell"
    other = FreezePanel(Tiny())  # another cell's panel leaves this one open
    assert panel.model is not None and other.model is not None


def test_a_new_panel_over_the_same_model_closes_the_old_one():
    model = Tiny()
    first = FreezePanel(model)
    second = FreezePanel(model)
    assert first.model is None and second.model is model


def test_status_and_verdict_lines_show_text_and_wrap():
    panel = FreezePanel(Tiny())
    assert isinstance(panel.status, widgets_module.TextLine)  # an HTML widget: it wraps
    panel.status.value = "Could not update: expected <class 'int'> & got str"
    assert panel.status.value == "Could not update: expected &lt;class 'int'&gt; &amp; got str"
