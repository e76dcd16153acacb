"""helpers.exercises.nb05: every check accepts the right answer and explains a wrong one."""

from __future__ import annotations

import pytest

from helpers.exercises import nb05

CURVES = {
    "linear probe": {12: 0.90, 61: 0.93, 245: 0.94},
    "fine-tune": {12: 0.70, 61: 0.92, 245: 0.96},
    "from scratch": {12: 0.50, 61: 0.55, 245: 0.60},
}


def test_head_parameters(capsys):
    assert nb05.check_head_parameters(2562)
    assert "Correct" in capsys.readouterr().out
    assert not nb05.check_head_parameters(2560)
    assert "bias" in capsys.readouterr().out
    assert not nb05.check_head_parameters(None)
    assert nb05.check_head_parameters(10 * 80 + 10, in_features=80, num_classes=10)


def test_cache_limitation(capsys):
    assert nb05.check_cache_limitation("b")
    assert nb05.check_cache_limitation(" B) augmentation")
    capsys.readouterr()
    assert not nb05.check_cache_limitation("a")
    assert "frozen" in capsys.readouterr().out
    assert not nb05.check_cache_limitation(None)
    assert "pick one of" in capsys.readouterr().out


def test_first_win():
    assert nb05.first_win(CURVES, "fine-tune", "linear probe") == 245
    assert nb05.first_win(CURVES, "linear probe", "fine-tune") == 12
    assert nb05.first_win(CURVES, "from scratch", "linear probe") is None


def test_crossover(capsys):
    assert nb05.check_crossover(245, CURVES)
    assert "245" in capsys.readouterr().out
    assert not nb05.check_crossover(61, CURVES)
    assert "61: 0.920 vs 0.930" in capsys.readouterr().out  # shows the numbers to compare
    assert not nb05.check_crossover(None, CURVES)
    assert not nb05.check_crossover("never", CURVES)
    assert nb05.check_crossover("never", CURVES, winner="from scratch")
    assert nb05.check_crossover(None, CURVES, winner="from scratch") is False  # not answered


@pytest.mark.parametrize("answer", ["linear probe", "earlier-layer probe", " Linear Probe "])
def test_xray_probes_are_right(answer, capsys):
    measured = {"linear probe": 0.7, "earlier-layer probe": 0.8, "fine-tune": 0.5}
    assert nb05.check_xray_strategy(answer, measured)
    assert "earlier-layer probe 0.800" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("answer", "hint"),
    [("zero-shot", "no 'pneumonia' class"), ("from scratch", "random"), ("fine-tune", "overfits")],
)
def test_xray_wrong_answers_are_explained(answer, hint, capsys):
    measured = {"linear probe": 0.7, "earlier-layer probe": 0.8, "fine-tune": 0.5}
    assert not nb05.check_xray_strategy(answer, measured)
    assert hint in capsys.readouterr().out


def test_xray_follows_the_evidence_when_fine_tuning_wins(capsys):
    measured = {"linear probe": 0.7, "earlier-layer probe": 0.8, "fine-tune": 0.9}
    assert nb05.check_xray_strategy("fine-tune", measured)
    assert not nb05.check_xray_strategy("transfer", measured)
    assert "one of" in capsys.readouterr().out.splitlines()[-1]
