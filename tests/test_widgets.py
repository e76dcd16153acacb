"""helpers.widgets.FreezePanel, driven as a user would: tick boxes, click buttons, read it."""

from __future__ import annotations

import re
import signal

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from helpers import freezing, models
from helpers.widgets import (
    BUTTON_LABELS,
    NOT_UPDATED_CLASS,
    FreezePanel,
    PanelResult,
    percent_text,
    readout_text,
    results_figure,
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
        "Reset",
    ]
    assert panel.continue_box.description == "continue from the current weights"
    assert panel.continue_box.value is False
    assert panel.batchnorm._options_labels == ("follow the freezing", "always train mode")
    assert panel.batchnorm.value == "follow-freezing"
    assert "freeze-status" in panel.status._dom_classes
    assert "freeze-results" in panel.table._dom_classes
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
    assert len(cells) == 7
    for style, text in cells:
        assert "padding" in style
        numeric = re.fullmatch(r"[\d,.]+", text) is not None
        assert ("text-align:right" in style) == numeric, (text, style)


def test_plot_labels_stay_inside_the_figure():
    long = "blocks.0 (part), blocks.2–blocks.6, conv_head (part), classifier"
    results = [
        PanelResult(i, long if i % 2 else "all", 10**6, 0.5 + i / 20, 1.0, i > 4)
        for i in range(1, 9)
    ]
    figure = results_figure(results)
    renderer = figure.canvas.get_renderer()
    figure.canvas.draw()
    ax = figure.axes[0]
    texts = [*ax.get_xticklabels(), *ax.get_yticklabels(), ax.xaxis.label, ax.yaxis.label]
    frame = figure.bbox
    for text in texts:
        box = text.get_window_extent(renderer)
        assert box.x0 >= frame.x0 - 1 and box.x1 <= frame.x1 + 1, text.get_text()
        assert box.y0 >= frame.y0 - 1 and box.y1 <= frame.y1 + 1, text.get_text()
    assert all(len(line) <= 15 for t in ax.get_xticklabels() for line in t.get_text().split("\n"))


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
        result = panel.train_one_epoch()
    finally:
        signal.signal(signal.SIGINT, handler)
    assert result is None and panel.status.value.startswith("Stopped")
    assert same_weights(weights(model), before) and panel.results == []


def test_a_stop_from_a_callback_after_the_epoch_records_nothing():
    def stop(history):
        raise KeyboardInterrupt

    torch.manual_seed(0)
    model = Tiny()
    before = weights(model)
    panel = FreezePanel(model, tiny_loaders(), progress=False, callbacks=[stop])
    assert panel.train_one_epoch() is None
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
    assert panel.train_one_epoch() is None
    assert panel.status.value.startswith("Stopped"), panel.status.value
    assert same_weights(weights(model), before) and panel.results == []
