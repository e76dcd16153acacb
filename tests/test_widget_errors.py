"""Errors inside widget callbacks show in the widget (helpers.widgets.errors_shown_in), with
the previous output kept on screen and marked not updated, in all three widgets that use it."""

from __future__ import annotations

import ipywidgets
import pytest
from torch import nn

from helpers import architectures as arch
from helpers import imagenet
from helpers.widgets import NOT_UPDATED_CLASS, errors_shown_in


class Small(nn.Module):
    """A 162-value classifier that summarize() accepts: features (112 values), fc (50)."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 4, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.fc = nn.Linear(4, 10)

    def forward(self, x):
        return self.fc(self.features(x))


class Headless(nn.Module):
    """Convolutions only: no classifier layer, so the summary cannot name a head."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)

    def forward(self, x):
        return self.conv(x)


def is_marked(widget: ipywidgets.DOMWidget) -> bool:
    return NOT_UPDATED_CLASS in widget._dom_classes and widget.layout.border is not None


def test_errors_shown_in_keeps_the_previous_output_and_marks_it():
    message, previous = ipywidgets.Label(), ipywidgets.HTML("old result")
    with errors_shown_in(message, [previous]):
        raise ValueError("the index   must be\nbelow 1000")
    assert message.value.startswith("Could not update: the index must be below 1000")
    assert "not updated" in message.value
    assert previous.value == "old result" and is_marked(previous)
    with errors_shown_in(message, [previous]):
        previous.value = "new result"
    assert message.value == "" and not is_marked(previous)


def test_errors_shown_in_lets_a_stop_through():
    message, previous = ipywidgets.Label(), ipywidgets.HTML()
    with pytest.raises(KeyboardInterrupt), errors_shown_in(message, [previous]):
        raise KeyboardInterrupt
    assert message.value == "" and not is_marked(previous)


def test_picker_shows_a_failing_choice_in_the_widget_and_keeps_the_old_summary():
    builders = {"small": Small, "headless": Headless}
    picker = arch.ArchitecturePicker(["small", "headless"], "small", lambda name: builders[name]())
    shown = picker.output.outputs
    assert picker.summary.startswith("small: 162 parameters") and picker.message.value == ""
    picker.value = "headless"  # summarize raises ValueError: no head to show
    assert picker.message.value.startswith("Could not update: Headless has no classifier layer")
    assert picker.summary.startswith("small: 162 parameters")
    assert picker.output.outputs == shown and is_marked(picker.output)
    picker.value = "small"
    assert picker.message.value == "" and not is_marked(picker.output)
    assert picker.output.outputs[0]["text"] == picker.summary + "\n"


def test_class_search_shows_a_failing_search_in_the_widget_and_keeps_the_old_list(monkeypatch):
    box = imagenet.ClassSearch(names=["ant", "bee", "tiger beetle"], value="bee")
    assert box.matches == [(1, "bee"), (2, "tiger beetle")] and box.message.value == ""
    shown = box.results.value
    real_search = imagenet.search_classes

    def failing_search(query, names=None):
        if query == "boom":
            raise ValueError("the class list could not be read")
        return real_search(query, names)

    monkeypatch.setattr(imagenet, "search_classes", failing_search)
    box.query.value = "boom"
    assert box.message.value.startswith("Could not update: the class list could not be read")
    assert box.results.value == shown and is_marked(box.results)
    assert box.matches == [(1, "bee"), (2, "tiger beetle")]
    box.query.value = "ant"
    assert box.matches == [(0, "ant")] and box.message.value == ""
    assert not is_marked(box.results)


def test_search_treats_only_plain_numbers_as_indices():
    assert imagenet.search_classes("²", ["ant", "bee"]) == []
    assert imagenet.search_classes("1", ["ant", "bee"]) == [(1, "bee")]
