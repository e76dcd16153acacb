"""helpers.exercises.nb05: every check accepts the right answer and explains a wrong one."""

from __future__ import annotations

import pytest

from helpers.exercises import nb05


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


def _study(first, second):
    runs = {name: [{"final": r / 153} for r in rights] for name, rights in
            (("fine-tune", first), ("probe", second))}  # fmt: skip
    return {"cells": {"small similar": {"val_images": 153, "runs": runs}}}


def test_rule_verdict_follows_results_compare(capsys):
    ahead = _study([150, 149, 151], [145, 145, 146])
    assert nb05.check_rule_verdict("ahead", ahead, "small similar", "fine-tune", "probe")
    out = capsys.readouterr().out
    assert "verdict: fine-tune ahead of probe" in out and "+5, +4, +5" in out
    tie = _study([150, 140, 152], [145, 145, 145])
    assert nb05.check_rule_verdict(" Tie ", tie, "small similar", "fine-tune", "probe")
    capsys.readouterr()
    assert not nb05.check_rule_verdict("ahead", tie, "small similar", "fine-tune", "probe")
    assert "+5, -5, +7" in capsys.readouterr().out  # the wrong answer sees the paired gaps
    assert not nb05.check_rule_verdict("maybe", tie, "small similar", "fine-tune", "probe")
    assert "cannot say" in capsys.readouterr().out  # lists the three verdicts


@pytest.mark.parametrize("answer", ["linear probe", "earlier-layer probe", " Linear Probe "])
def test_xray_probes_are_right(answer, capsys):
    measured = {"linear probe": 0.7, "earlier-layer probe": 0.8, "fine-tune": 0.5}
    assert nb05.check_xray_strategy(answer, measured)
    assert "earlier-layer probe 0.800" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("answer", "hint"),
    [
        ("ImageNet's own head", "no 'pneumonia' class"),
        ("from scratch", "random"),
        ("fine-tune", "overfits"),
    ],
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
