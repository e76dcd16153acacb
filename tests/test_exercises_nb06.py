"""helpers.exercises.nb06: every check accepts the right answer and explains a wrong one."""

from __future__ import annotations

import torch
from PIL import Image
from torch import nn

from helpers.exercises import nb06

COUNTS = {"ants": 193, "bees": 204}


def test_class_ratio(capsys):
    assert nb06.check_class_ratio(204 / 193, COUNTS)
    out = capsys.readouterr().out
    assert "bees 204 / ants 193 = 1.06" in out and "no warning" in out
    assert nb06.check_class_ratio(1.06, COUNTS)  # to within 0.01
    assert not nb06.check_class_ratio(1.1, COUNTS)
    assert not nb06.check_class_ratio(193 / 204, COUNTS)
    assert "other way round" in capsys.readouterr().out
    assert not nb06.check_class_ratio(None, COUNTS)
    assert not nb06.check_class_ratio(True, COUNTS)
    assert nb06.check_class_ratio(4, {"cats": 40, "dogs": 10})
    assert "so a warning" in capsys.readouterr().out
    assert not nb06.check_class_ratio(1, {"cats": 5, "dogs": 0})
    assert "no photos" in capsys.readouterr().out


def test_val_photos(capsys):
    targets = [0, 0, 1, 1, 1]
    assert nb06.check_val_photos(3, targets, ["ants", "bees"], "bees")
    assert "3 bees photos" in capsys.readouterr().out
    assert not nb06.check_val_photos(2, targets, ["ants", "bees"], "bees")
    assert not nb06.check_val_photos(3.0, targets, ["ants", "bees"], "bees")
    assert not nb06.check_val_photos(3, targets, ["ants", "bees"], "wasps")
    assert "not a class" in capsys.readouterr().out


class SaysBees(nn.Module):
    """A trained model that gives every photo the logits (0, 2): 'bees' with 88.1%."""

    def forward(self, images):
        return torch.tensor([[0.0, 2.0]]).expand(len(images), 2)


def test_reloaded_prediction(capsys):
    photo, classes = Image.new("RGB", (8, 8)), ["ants", "bees"]

    def transform(image):
        return torch.zeros(3, 8, 8)

    def check(answer):
        return nb06.check_reloaded_prediction(answer, SaysBees(), photo, classes, transform)

    p = float(torch.tensor([0.0, 2.0]).softmax(0)[1])
    assert check([("bees", p), ("ants", 1 - p)])
    assert check(("bees", round(p, 2)))  # top_predictions(...)[0], rounded
    assert check(("bees", round(100 * p, 1)))  # a percentage
    assert not check("bees")
    assert "probability too" in capsys.readouterr().out.splitlines()[-1]
    assert not check(("bees", 0.5))
    assert not check([("ants", 0.6)])
    out = capsys.readouterr().out.splitlines()[-1]
    assert "'ants' is not what the trained model says" in out and "bees" not in out
    assert not check(None)
