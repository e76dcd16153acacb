"""helpers.exercises.nb06: every check accepts the right answer and explains a wrong one."""

from __future__ import annotations

from helpers.exercises import nb06

COUNTS = {"ants": 193, "bees": 204}


def test_photo_count(capsys):
    assert nb06.check_photo_count(397, COUNTS, skipped=1)
    assert "ants 193, bees 204" in capsys.readouterr().out
    assert not nb06.check_photo_count(398, COUNTS, skipped=1)
    assert "skipped" in capsys.readouterr().out
    assert not nb06.check_photo_count(None, COUNTS, skipped=1)
    assert not nb06.check_photo_count(True, {"a": 1}, skipped=0)
    assert not nb06.check_photo_count(396, COUNTS, skipped=1)
    assert nb06.check_photo_count(397, COUNTS, skipped=0)  # nothing skipped: the total is right


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
    assert not nb06.check_reloaded_prediction([("ants", 0.6)], "bees")
    assert "'ants'" in capsys.readouterr().out.splitlines()[-1]
    assert not nb06.check_reloaded_prediction(None, "bees")
