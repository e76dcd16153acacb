"""Notebook 03's exercise checks accept right answers and explain wrong ones."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

from helpers import freezing, models
from helpers.exercises import nb03


@pytest.fixture
def lite0():
    return models.replace_head(models.load_backbone(pretrained=False), 2)


def test_freeze_all_but(lite0, capsys):
    assert not nb03.check_freeze_all_but(lite0)  # nothing frozen yet: no method given away
    untouched = capsys.readouterr().out
    assert "every layer group still trains" in untouched and "Freeze" not in untouched
    freezing.freeze(lite0.blocks[0])
    assert not nb03.check_freeze_all_but(lite0)
    assert "should be frozen" in capsys.readouterr().out
    freezing.freeze(lite0)
    freezing.unfreeze(lite0.classifier)
    assert not nb03.check_freeze_all_but(lite0)
    assert "blocks.5 should be trainable" in capsys.readouterr().out
    freezing.unfreeze(lite0.blocks[5])
    assert nb03.check_freeze_all_but(lite0)
    assert capsys.readouterr().out.startswith("Correct")
    lite0.blocks[5][0].conv_pw.weight.requires_grad = False  # only part of the group open
    assert not nb03.check_freeze_all_but(lite0)
    freezing.unfreeze(lite0.blocks[5])
    lite0.blocks[2][0].bn1.weight.requires_grad = True  # a frozen group left partly trainable
    assert not nb03.check_freeze_all_but(lite0)
    assert "blocks.2 should be frozen" in capsys.readouterr().out


def test_optimizer(lite0, capsys):
    freezing.head_only(lite0)
    head_optimizer = torch.optim.AdamW(freezing.trainable_parameters(lite0), lr=1e-3)
    assert not nb03.check_optimizer(None, lite0)
    started = head_optimizer
    assert not nb03.check_optimizer(head_optimizer, lite0)
    assert "conv_head is still frozen" in capsys.readouterr().out
    freezing.unfreeze(lite0.conv_head)  # the convolution alone, not its group's BatchNorm
    assert not nb03.check_optimizer(head_optimizer, lite0)
    assert "only part of the layer group conv_head" in capsys.readouterr().out
    conv_head = freezing.layer_groups(lite0)["conv_head"]
    freezing.unfreeze(conv_head)
    assert not nb03.check_optimizer(head_optimizer, lite0)
    assert "not in the optimizer" in capsys.readouterr().out
    one_rate = torch.optim.AdamW(freezing.trainable_parameters(lite0), lr=1e-3)
    assert not nb03.check_optimizer(one_rate, lite0)
    assert "conv_head learns at 0.001" in capsys.readouterr().out
    everything = torch.optim.AdamW(lite0.parameters(), lr=1e-3)
    assert not nb03.check_optimizer(everything, lite0)
    assert "frozen tensors" in capsys.readouterr().out
    head_optimizer.add_param_group({"params": list(conv_head.parameters()), "lr": 1e-4})
    assert nb03.check_optimizer(head_optimizer, lite0, started_as=started)
    assert capsys.readouterr().out.startswith("Correct")
    rebuilt = torch.optim.AdamW(
        [{"params": list(lite0.classifier.parameters()), "lr": 1e-3},
         {"params": list(conv_head.parameters()), "lr": 1e-4}]
    )  # fmt: skip
    assert nb03.check_optimizer(rebuilt, lite0)  # the right parameters and rates...
    assert not nb03.check_optimizer(rebuilt, lite0, started_as=started)  # ...but a new optimizer
    assert "add_param_group" in capsys.readouterr().out
    freezing.unfreeze(lite0.blocks[6])  # one group too many
    assert not nb03.check_optimizer(head_optimizer, lite0)
    assert "not blocks.6" in capsys.readouterr().out


def test_batchnorm_modes_every_batchnorm_in_eval(lite0, capsys):
    freezing.head_only(lite0)
    freezing.set_trainable(lite0, {"blocks.6": True, "conv_head": True})
    lite0.train()
    assert not nb03.check_batchnorm_modes(lite0)
    assert "every BatchNorm layer" in capsys.readouterr().out
    freezing.frozen_batchnorm_to_eval(lite0)  # the frozen ones only: not enough this time
    assert not nb03.check_batchnorm_modes(lite0)
    assert "trainable BatchNorm" in capsys.readouterr().out
    lite0.eval()  # everything in eval mode: too much
    assert not nb03.check_batchnorm_modes(lite0)
    assert "model itself is in eval mode" in capsys.readouterr().out
    lite0.train()
    freezing.set_batchnorm_mode(lite0, "inference")
    assert nb03.check_batchnorm_modes(lite0)
    lite0.conv_stem.eval()  # a convolution in eval mode is not a BatchNorm layer
    assert not nb03.check_batchnorm_modes(lite0)
    assert "not BatchNorm (e.g. conv_stem)" in capsys.readouterr().out


def test_discriminative(lite0, capsys):
    freezing.head_only(lite0)
    freezing.set_trainable(lite0, {"blocks.6": True, "conv_head": True})
    assert not nb03.check_discriminative(None, lite0)
    flat = torch.optim.AdamW(freezing.trainable_parameters(lite0), lr=1e-3)
    assert not nb03.check_discriminative(flat, lite0)
    upside_down = torch.optim.AdamW(
        [{**g, "lr": 1e-6 / g["lr"]} for g in freezing.discriminative_param_groups(lite0, 1e-3)]
    )
    assert not nb03.check_discriminative(upside_down, lite0)
    assert "rise towards the head" in capsys.readouterr().out
    ulmfit = torch.optim.AdamW(freezing.discriminative_param_groups(lite0, 1e-3))  # 2.6, not 2
    assert not nb03.check_discriminative(ulmfit, lite0)
    assert "conv_head learns at 0.000384615" in capsys.readouterr().out
    halves = freezing.discriminative_param_groups(lite0, 1e-3, lr_decay=2)
    assert nb03.check_discriminative(torch.optim.AdamW(halves), lite0)
    assert not nb03.check_discriminative(torch.optim.AdamW(halves[:2]), lite0)  # blocks.6 missing
    assert "of blocks.6 are not in the optimizer" in capsys.readouterr().out
    with_frozen = freezing.discriminative_param_groups(lite0, 1e-3, 2, trainable_only=False)
    assert not nb03.check_discriminative(torch.optim.AdamW(with_frozen), lite0)
    assert "frozen" in capsys.readouterr().out


def _runs(**finals):
    """{"7 frozen": [history-like runs], ...} from final val accuracies, one run per seed."""
    return {
        name.replace("_", " "): [
            SimpleNamespace(final=SimpleNamespace(val_accuracy=a, val_loss=1 - a + 0.01 * seed))
            for seed, a in enumerate(accuracies)
        ]
        for name, accuracies in finals.items()
    }


def test_seed_verdict_follows_results_compare(capsys):
    ahead = _runs(**{"7_frozen": [0.93, 0.95, 0.94], "9_frozen": [0.90, 0.91, 0.89]})
    assert nb03.check_seed_verdict("7 frozen", ahead, 153)
    out = capsys.readouterr().out
    assert "verdict: 7 frozen ahead of 9 frozen" in out and "+5, +6, +8" in out
    assert not nb03.check_seed_verdict("tie", ahead, 153)
    assert "+5, +6, +8" in capsys.readouterr().out  # a wrong answer sees the paired gaps
    assert not nb03.check_seed_verdict("9 frozen", ahead, 153)  # the direction counts
    behind = _runs(**{"7_frozen": [0.90, 0.91, 0.89], "9_frozen": [0.93, 0.95, 0.94]})
    assert nb03.check_seed_verdict("9 Frozen", behind, 153)
    assert not nb03.check_seed_verdict("7 frozen", behind, 153)
    tie = _runs(**{"7_frozen": [0.93, 0.88, 0.94], "9_frozen": [0.90, 0.91, 0.89]})
    assert nb03.check_seed_verdict(" Tie", tie, 153)


def test_seed_verdict_needs_three_paired_seeded_runs(capsys):
    assert not nb03.check_seed_verdict("tie", None, 153)
    assert "'7 frozen'" in capsys.readouterr().out
    numbers = {"7 frozen": [0.93, 0.95, 0.94], "9 frozen": [0.90, 0.91, 0.89]}
    assert not nb03.check_seed_verdict("7 frozen", numbers, 153)  # best or final? histories
    assert "final epoch" in capsys.readouterr().out
    unpaired = _runs(**{"7_frozen": [0.93, 0.95, 0.94], "9_frozen": [0.90, 0.91]})
    assert not nb03.check_seed_verdict("7 frozen", unpaired, 153)
    assert "same seeds" in capsys.readouterr().out
    one_seed = _runs(**{"7_frozen": [0.93], "9_frozen": [0.90]})
    for answer in ("7 frozen", "tie", "cannot say"):  # the one-seed sweep decides nothing
        assert not nb03.check_seed_verdict(answer, one_seed, 153)
        assert "run seeds 0, 1 and 2" in capsys.readouterr().out
    repeated = _runs(**{"7_frozen": [0.93, 0.95, 0.94], "9_frozen": [0.90, 0.91, 0.89]})
    repeated["9 frozen"] = [repeated["9 frozen"][0]] * 3  # seed 0 three times
    assert not nb03.check_seed_verdict("7 frozen", repeated, 153)
    assert "its own seed" in capsys.readouterr().out
    level = _runs(**{"7_frozen": [0.9] * 3, "9_frozen": [0.9] * 3})
    assert not nb03.check_seed_verdict("ahead", level, 153)  # ahead of what?
    assert "'7 frozen', '9 frozen', 'tie'" in capsys.readouterr().out
