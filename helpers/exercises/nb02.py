"""Checks for the exercises of notebook 02 (a tour of CNN architectures).

Each check prints 'Correct: ...' or 'Not yet: ...' with a hint, and returns True or False.
"""

from __future__ import annotations

from helpers.architectures import conv_multiply_adds, landscape
from helpers.exercises import feedback

PLACEHOLDER_HINT = "replace None with your answer, then run the cell again."


def _as_number(answer) -> float | None:
    if isinstance(answer, bool) or answer is None:
        return None
    try:
        return float(answer)
    except (TypeError, ValueError):
        return None


def conv_parameters(in_channels: int = 128, out_channels: int = 256, k: int = 3) -> int:
    """Exercise 1's answer: the parameters of nn.Conv2d(in_channels, out_channels, k), bias too."""
    return out_channels * (in_channels * k * k + 1)


def dense_block_channels(in_channels: int = 64, growth_rate: int = 32, num_layers: int = 6) -> int:
    """Exercise 2's answer: the output channels of a dense block."""
    return in_channels + num_layers * growth_rate


def separable_savings(
    in_channels: int = 256, out_channels: int = 256, k: int = 3, size: int = 14
) -> tuple[int, int]:
    """Exercise 3's answer, as (standard, separable) multiply-adds of a k x k conv on a size x size
    map; the answer is standard / separable."""
    standard = conv_multiply_adds(in_channels, out_channels, k, size, size)
    separable = conv_multiply_adds(
        in_channels, in_channels, k, size, size, groups=in_channels
    ) + conv_multiply_adds(in_channels, out_channels, 1, size, size)
    return standard, separable


def check_conv_parameters(answer, in_channels: int = 128, out_channels: int = 256, k: int = 3):
    """Exercise 1: the parameters of nn.Conv2d(in_channels, out_channels, k) (with bias)."""
    if answer is None:
        return feedback(False, "", PLACEHOLDER_HINT)
    weights = out_channels * in_channels * k * k
    expected = conv_parameters(in_channels, out_channels, k)
    value = _as_number(answer)
    if value == weights:
        hint = (
            f"{weights:,} counts the weights only; each of the {out_channels} filters has a bias."
        )
    elif value in (in_channels * k * k + 1, in_channels * k * k):
        hint = f"that is one filter; there are {out_channels} of them, one per output channel."
    else:
        hint = (
            "each output channel has one filter of shape (in_channels, k, k) plus one bias: "
            "out * (in * k * k + 1)."
        )
    return feedback(
        value == expected,
        f"{out_channels} x ({in_channels} x {k} x {k} + 1) = {expected:,}; compare with "
        f"sum(p.numel() for p in nn.Conv2d({in_channels}, {out_channels}, {k}).parameters()).",
        hint,
    )


def check_dense_block_channels(
    answer, in_channels: int = 64, growth_rate: int = 32, num_layers: int = 6
):
    """Exercise 2: output channels of DenseBlock(in_channels, growth_rate, num_layers)."""
    if answer is None:
        return feedback(False, "", PLACEHOLDER_HINT)
    expected = dense_block_channels(in_channels, growth_rate, num_layers)
    value = _as_number(answer)
    if value == num_layers * growth_rate:
        hint = "the block also passes its input through: the input's channels are concatenated too."
    elif value == growth_rate:
        hint = "every layer adds growth_rate channels, and all of them are kept (concatenated)."
    else:
        hint = "start with the input's channels and add growth_rate for every layer."
    return feedback(
        value == expected,
        f"{in_channels} + {num_layers} x {growth_rate} = {expected}: DenseNet-121's first block.",
        hint,
    )


def check_separable_savings(
    answer, in_channels: int = 256, out_channels: int = 256, k: int = 3, size: int = 14
):
    """Exercise 3: how many times fewer multiply-adds a depthwise-separable conv needs (+-0.1)."""
    if answer is None:
        return feedback(False, "", PLACEHOLDER_HINT)
    standard, separable = separable_savings(in_channels, out_channels, k, size)
    expected = standard / separable
    value = _as_number(answer)
    correct = value is not None and abs(value - expected) <= 0.1
    if value is not None and abs(value - 1 / expected) < 0.01:
        hint = "you computed separable / standard; the question asks standard / separable."
    elif value is not None and abs(value - k * k) < 0.5:
        hint = "close: that ignores the 1x1 pointwise conv, which costs in x out per pixel too."
    else:
        hint = (
            "standard: out*H*W*k*k*in; depthwise: in*H*W*k*k; pointwise: out*H*W*in. "
            "The ratio is 1 / (1/out + 1/(k*k))."
        )
    return feedback(
        correct,
        f"{standard:,} / {separable:,} = {expected:.2f}x fewer multiply-adds "
        f"(1 / (1/{out_channels} + 1/{k * k})).",
        hint,
    )


def most_accurate_under(gflops: float, params_m: float = float("inf")) -> str:
    """The torchvision model (DEFAULT weights) with the best top-1 under a GFLOPS budget and
    under params_m million parameters."""
    affordable = [c for c in landscape() if c.gflops < gflops and c.params_m < params_m]
    return max(affordable, key=lambda card: card.acc1).name


def check_most_accurate_under(answer, gflops: float = 1.0, params_m: float = float("inf")):
    """Exercise 4: the most accurate torchvision classifier under `gflops` GFLOPS and under
    params_m million parameters."""
    if answer is None:
        return feedback(False, "", PLACEHOLDER_HINT + " (a model name, e.g. 'resnet18')")
    cards = {card.name: card for card in landscape()}
    expected = most_accurate_under(gflops, params_m)
    name = str(answer).strip()
    if name not in cards:
        hint = (
            f"{name!r} is not a torchvision model name; use a name from the table's first column."
        )
    elif cards[name].gflops >= gflops:
        hint = f"{name} needs {cards[name].gflops} GFLOPS, over the {gflops} budget."
    elif cards[name].params_m >= params_m:
        hint = (
            f"{name} has {cards[name].params_m:.1f} M parameters, over the {params_m:g} M budget."
        )
    else:
        hint = (
            f"{name} fits both budgets with {cards[name].acc1}% top-1, but another model does "
            "better: filter the cards by gflops and params, then take the max of acc1."
        )
    best = cards[expected]
    return feedback(
        name == expected,
        f"{expected}: {best.acc1}% top-1 for {best.gflops} GFLOPS ({best.params_m:.1f} M params).",
        hint,
    )
