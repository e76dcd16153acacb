"""helpers.exercises.nb05: every check accepts the right answer and explains a wrong one."""

from __future__ import annotations

import numpy as np
import pytest
import torch

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
    assert not nb05.check_rule_verdict("cannot say", tie, "small similar", "fine-tune", "probe")
    assert "fewer than 3 seeds" in capsys.readouterr().out
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


class _ProbeData:
    """Stands in for a StudyData on another backbone: its features and val set size."""

    backbone = "efficientnet_lite0"  # the check builds it (random weights) to count parameters
    val_images = 153

    def features(self, layer):
        return torch.zeros(12, 512), torch.zeros(153, 512), torch.zeros(12, dtype=torch.long)


def _swap_study(rights):
    runs = {comparison.LINEAR_PROBE: [{"final": r / 153} for r in rights]}
    return {"cells": {"small similar": {"val_images": 153, "runs": runs}}}


def test_backbone_swap_needs_the_runs_and_the_width(capsys):
    study = _swap_study([140, 136, 142])
    assert not nb05.check_backbone_swap(None, None, None, None, study)
    assert "run the probe" in capsys.readouterr().out
    assert not nb05.check_backbone_swap(1280, "tie", [0.9] * 3, _ProbeData(), study)
    assert "shape" in capsys.readouterr().out  # Lite0's width is not ResNet-18's
    assert not nb05.check_backbone_swap(512, "tie", [0.9, 0.9], _ProbeData(), study)
    assert "each of the study's 3 seeds" in capsys.readouterr().out
    assert not nb05.check_backbone_swap(512, "maybe", [0.9] * 3, _ProbeData(), study)
    assert "ResNet-18, Lite0, tie, cannot say" in capsys.readouterr().out


def test_backbone_swap_follows_the_rule_on_the_learners_runs(capsys):
    study = _swap_study([140, 136, 142])
    behind = [r / 153 for r in (130, 126, 133)]  # 10, 10 and 9 photos behind Lite0
    assert nb05.check_backbone_swap(512, "lite0", behind, _ProbeData(), study)
    out = capsys.readouterr().out
    assert "verdict: Lite0 ahead of ResNet-18 by 9.7 photos" in out
    assert "512 features" in out and "1,280" in out
    assert not nb05.check_backbone_swap(512, "ResNet-18", behind, _ProbeData(), study)
    assert not nb05.check_backbone_swap(512, "tie", behind, _ProbeData(), study)
    spread = [r / 153 for r in (150, 126, 140)]  # +10, -10, -2: the interval spans zero
    assert nb05.check_backbone_swap(512, "tie", spread, _ProbeData(), study)
    # any sequence of three numbers is the learner's three runs: a tuple, an array, a tensor
    assert nb05.check_backbone_swap(512, "Lite0", np.array(behind), _ProbeData(), study)
    assert nb05.check_backbone_swap(512, "Lite0", torch.tensor(behind), _ProbeData(), study)


def test_new_data_set_takes_the_cell_as_a_list_too(capsys):
    assert nb05.check_new_data_set(["Small", " different"], FACES_RUNS, "agrees")


FACES_RUNS = {
    comparison.EARLIER_PROBE: [0.99, 0.99, 1.0],
    comparison.LINEAR_PROBE: [0.97, 0.98, 0.99],
    comparison.RAW_PROBE: [0.95, 0.97, 0.97],
}


@pytest.mark.parametrize(
    ("cell", "hint"),
    [
        (None, "(size, similarity)"),
        (("small",), "(size, similarity)"),
        (("tiny", "different"), "size is one of"),
        (("large", "different"), "1.28 million"),
        (("small", "similar"), "'similar' is about the images"),
    ],
)
def test_new_data_set_cell_is_explained(cell, hint, capsys):
    assert not nb05.check_new_data_set(cell, FACES_RUNS, "agrees")
    assert hint in capsys.readouterr().out


def test_new_data_set_needs_the_advised_strategy_over_seeds(capsys):
    cell = ("small", "different")
    only_linear = {comparison.LINEAR_PROBE: [0.9] * 3, comparison.RAW_PROBE: [0.9] * 3}
    assert not nb05.check_new_data_set(cell, only_linear, "agrees")
    assert "run it too" in capsys.readouterr().out
    two_seeds = {name: values[:2] for name, values in FACES_RUNS.items()}
    assert not nb05.check_new_data_set(cell, two_seeds, "agrees")
    assert "at least 3" in capsys.readouterr().out
    assert not nb05.check_new_data_set(cell, FACES_RUNS, "yes")
    assert "agrees or disagrees" in capsys.readouterr().out
    # the advised strategy against the raw-pixel reference alone is a race of one
    against_reference = {k: FACES_RUNS[k] for k in (comparison.EARLIER_PROBE, comparison.RAW_PROBE)}
    assert not nb05.check_new_data_set(cell, against_reference, "agrees")
    assert "race of one" in capsys.readouterr().out


def test_new_data_set_verdict_follows_the_rule(capsys):
    cell = ("small", "different")
    assert nb05.check_new_data_set(cell, FACES_RUNS, "agrees")  # best: the earlier layer
    out = capsys.readouterr().out
    assert "best: earlier-layer probe (blocks.4)" in out and "reference raw-pixel probe" in out
    assert not nb05.check_new_data_set(cell, FACES_RUNS, "disagrees")
    fine_tune_ahead = {
        comparison.EARLIER_PROBE: [0.80, 0.82, 0.81],
        comparison.FINETUNE_RANDOM: [0.95, 0.96, 0.97],
    }
    assert nb05.check_new_data_set(cell, fine_tune_ahead, "disagrees")
    assert "the advice does not hold here" in capsys.readouterr().out
