"""Each exercise check of notebook 02 accepts the right answer and explains a wrong one."""

from __future__ import annotations

from torch import nn

from helpers.exercises import nb02


def test_conv_parameters(capsys):
    right = sum(p.numel() for p in nn.Conv2d(128, 256, 3).parameters())
    assert nb02.check_conv_parameters(right) is True
    assert capsys.readouterr().out.startswith("Correct:")
    assert nb02.check_conv_parameters(128 * 256 * 9) is False
    assert "bias" in capsys.readouterr().out
    assert nb02.check_conv_parameters(128 * 9 + 1) is False
    assert "there are 256 of them" in capsys.readouterr().out
    assert nb02.check_conv_parameters(None) is False
    assert "replace None" in capsys.readouterr().out


def test_dense_block_channels(capsys):
    assert nb02.check_dense_block_channels(256) is True
    assert nb02.check_dense_block_channels(192) is False
    assert "input" in capsys.readouterr().out.splitlines()[-1]


def test_separable_savings(capsys):
    expected = 1 / (1 / 256 + 1 / 9)
    assert nb02.check_separable_savings(round(expected, 2)) is True
    assert nb02.check_separable_savings(9) is False
    assert "pointwise" in capsys.readouterr().out.splitlines()[-1]
    assert nb02.check_separable_savings(1 / expected) is False
    assert "standard / separable" in capsys.readouterr().out


def test_most_accurate_within_a_compute_and_a_size_budget(capsys):
    # torchvision's metadata: regnet_y_400mf, 75.804% top-1, 0.402 GFLOPS, 4.3 M parameters;
    # efficientnet_b1 (the best under 1 GFLOP) has 7.8 M and is refused for its size
    assert nb02.most_accurate_under(1.0, 5.0) == "regnet_y_400mf"
    assert nb02.check_most_accurate_under("regnet_y_400mf", 1.0, 5.0) is True
    assert nb02.check_most_accurate_under("efficientnet_b1", 1.0, 5.0) is False
    assert "over the 5 M budget" in capsys.readouterr().out.splitlines()[-1]


def test_most_accurate_under_one_gflop(capsys):
    # torchvision's metadata: efficientnet_b1, 79.838% top-1 at 0.687 GFLOPS (DEFAULT weights)
    assert nb02.most_accurate_under(1.0) == "efficientnet_b1"
    assert nb02.check_most_accurate_under("efficientnet_b1") is True
    assert nb02.check_most_accurate_under("resnet18") is False
    assert "over the 1.0 budget" in capsys.readouterr().out.splitlines()[-1]
    assert nb02.check_most_accurate_under("mobilenet_v3_small") is False
    assert "does better" in capsys.readouterr().out
    assert nb02.check_most_accurate_under("not_a_model") is False
