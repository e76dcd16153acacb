"""Notebook 03's exercise checks accept right answers and explain wrong ones."""

from __future__ import annotations

import pytest
import torch

from helpers import freezing, models
from helpers.exercises import nb03


@pytest.fixture
def lite0():
    return models.replace_head(models.load_backbone(pretrained=False), 2)


def test_freeze_all_but(lite0, capsys):
    assert not nb03.check_freeze_all_but(lite0)  # nothing frozen yet
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


def test_optimizer(lite0, capsys):
    freezing.head_only(lite0)
    assert not nb03.check_optimizer(None, lite0)
    assert not nb03.check_optimizer(torch.optim.SGD(lite0.parameters(), lr=0.1), lite0)
    assert "frozen tensors" in capsys.readouterr().out
    optimizer = torch.optim.SGD(freezing.trainable_parameters(lite0), lr=0.1)
    assert nb03.check_optimizer(optimizer, lite0)
    freezing.unfreeze(lite0.conv_head)
    assert not nb03.check_optimizer(optimizer, lite0)
    assert "not in the optimizer" in capsys.readouterr().out


def test_batchnorm_modes(lite0, capsys):
    freezing.head_only(lite0)
    freezing.unfreeze(lite0.blocks[6])
    lite0.eval()
    assert not nb03.check_batchnorm_modes(lite0)
    lite0.train()
    assert not nb03.check_batchnorm_modes(lite0)
    assert "train mode" in capsys.readouterr().out
    lite0.eval().train()
    for module in lite0.modules():  # everything to eval: too much
        if isinstance(module, torch.nn.BatchNorm2d):
            module.eval()
    assert not nb03.check_batchnorm_modes(lite0)
    assert "trainable BatchNorm" in capsys.readouterr().out
    lite0.train()
    freezing.frozen_batchnorm_to_eval(lite0)
    assert nb03.check_batchnorm_modes(lite0)


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
    right = torch.optim.AdamW(freezing.discriminative_param_groups(lite0, 1e-3))
    assert nb03.check_discriminative(right, lite0)
