"""helpers.exercises.nb05: every check accepts the right answer and explains a wrong one."""

from __future__ import annotations

import pytest

from helpers import comparison
from helpers.exercises import nb05


def test_head_parameters(capsys):
    assert nb05.check_head_parameters(2562)
    assert "Correct" in capsys.readouterr().out
    assert not nb05.check_head_parameters(2560)
    assert "bias" in capsys.readouterr().out
    assert not nb05.check_head_parameters(None)
    assert nb05.check_head_parameters(10 * 80 + 10, in_features=80, num_classes=10)


def test_cacheable_part(capsys):
    assert nb05.check_cacheable_part("b")
    assert nb05.check_cacheable_part(" B) what blocks.5 outputs")
    capsys.readouterr()
    assert not nb05.check_cacheable_part("banana")  # a word that starts with b is no choice
    assert "pick one of" in capsys.readouterr().out
    assert not nb05.check_cacheable_part("d")
    assert "blocks.6 learns" in capsys.readouterr().out
    assert not nb05.check_cacheable_part(None)
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


def _xray_study(**means):
    """A study whose small, dissimilar cell has three seeds around each given mean."""
    names = {
        "linear": comparison.LINEAR_PROBE,
        "earlier": comparison.EARLIER_PROBE,
        "fine_tune": comparison.FINETUNE_RANDOM,
        "scratch": comparison.FROM_SCRATCH,
    }
    runs = {
        names[key]: [{"final": mean + delta} for delta in (-0.004, 0.0, 0.004)]
        for key, mean in means.items()
    }
    return {"cells": {"small different": {"val_images": 500, "runs": runs}}}


MEASURED = _xray_study(linear=0.7, earlier=0.8, fine_tune=0.5, scratch=0.2)


@pytest.mark.parametrize("answer", ["earlier-layer probe", " Earlier-Layer Probe "])
def test_xray_the_best_probe_is_right(answer, capsys):
    assert nb05.check_xray_strategy(answer, MEASURED)
    assert "earlier-layer probe 0.800" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("answer", "hint"),
    [
        ("ImageNet's own head", "no 'pneumonia' class"),
        ("from scratch", "random"),
        ("fine-tune", "overfits"),
        ("linear probe", "close"),
    ],
)
def test_xray_wrong_answers_are_explained_without_the_numbers(answer, hint, capsys):
    assert not nb05.check_xray_strategy(answer, MEASURED)
    out = capsys.readouterr().out
    assert hint in out and "0.800" not in out and "0.700" not in out


def test_xray_follows_the_evidence(capsys):
    tie = _xray_study(linear=0.799, earlier=0.8, fine_tune=0.5, scratch=0.2)
    assert nb05.check_xray_strategy("linear probe", tie)  # the rule cannot tell it from the best
    fine_tune_wins = _xray_study(linear=0.7, earlier=0.8, fine_tune=0.9, scratch=0.2)
    assert nb05.check_xray_strategy("fine-tune", fine_tune_wins)
    assert not nb05.check_xray_strategy("earlier-layer probe", fine_tune_wins)
    assert not nb05.check_xray_strategy("transfer", MEASURED)
    assert "one of" in capsys.readouterr().out.splitlines()[-1]
