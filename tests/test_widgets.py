"""helpers.widgets.FreezePanel, driven as a user would: tick boxes, click buttons, read it."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from helpers import freezing, models
from helpers.widgets import BUTTON_LABELS, FreezePanel, readout_text


class Tiny(nn.Module):
    """Three layer groups: stem (3*4+4=16 values), body (4*4+4=20), head (4*2+2=10)."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Linear(3, 4)
        self.body = nn.Linear(4, 4)
        self.head = nn.Linear(4, 2)

    def forward(self, x):
        return self.head(torch.relu(self.body(torch.relu(self.stem(x)))))


def tiny_loaders() -> dict[str, DataLoader]:
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(32, 3, generator=generator)
    y = (x[:, 0] > 0).long()
    dataset = TensorDataset(x, y)
    return {"train": DataLoader(dataset, batch_size=8), "val": DataLoader(dataset, batch_size=16)}


def requires_grad(model: nn.Module) -> dict[str, bool]:
    return {name: p.requires_grad for name, p in model.named_parameters()}


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
    assert "<td>head</td>" in panel.table.value and "<td>10</td>" in panel.table.value
    assert panel.plot.value[:4] == b"\x89PNG"
    panel.buttons["Unfreeze all"].click()
    panel.buttons["Train 1 epoch"].click()
    assert [r.setting for r in panel.results] == ["head", "all"]
    assert panel.table.value.count("<tr>") == 3  # header and two runs


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


def test_a_failing_epoch_unlocks_the_controls():
    def broken(parameters):
        raise RuntimeError("boom")

    panel = FreezePanel(Tiny(), tiny_loaders(), make_optimizer=broken, progress=False)
    with pytest.raises(RuntimeError, match="boom"):
        panel.train_one_epoch()
    assert not panel.training and not any(w.disabled for w in panel._controls())
    assert "boom" in panel.status.value
    assert freezing.count_parameters(panel.model) == (46, 46)
