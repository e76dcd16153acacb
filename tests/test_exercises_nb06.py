"""helpers.exercises.nb06: every check accepts the right answer and explains a wrong one."""

from __future__ import annotations

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


def test_reloaded_prediction(capsys):
    assert nb06.check_reloaded_prediction([("bees", 0.9), ("ants", 0.1)], "bees")
    assert nb06.check_reloaded_prediction("bees", "bees")
    assert nb06.check_reloaded_prediction(("bees", 0.85), "bees")  # top_predictions(...)[0]
    assert not nb06.check_reloaded_prediction([("ants", 0.6)], "bees")
    assert "'ants'" in capsys.readouterr().out.splitlines()[-1]
    assert not nb06.check_reloaded_prediction(None, "bees")
