"""Checks for the exercises of notebook 02b (model hubs).

Each check prints 'Correct: ...' or 'Not yet: ...' with a hint, and returns True or False.
"""

from __future__ import annotations

import timm
import timm.data
import torch
import torchvision
from torchvision import transforms as T

from helpers import models
from helpers.exercises import feedback

PLACEHOLDER_HINT = "replace None with your answer, then run the cell again."


def _close(value, expected: float, tolerance: float) -> bool:
    try:
        return abs(float(value) - expected) <= tolerance
    except (TypeError, ValueError):
        return False


def _top5(name: str) -> float:
    metrics = torchvision.models.get_model_weights(name).DEFAULT.meta["_metrics"]
    return metrics["ImageNet-1K"]["acc@5"]


def check_weights_facts(answer, name: str = "efficientnet_b0"):
    """Exercise 1: (ImageNet top-5 in %, download size in MiB, as '_file_size' gives it) of a
    model's DEFAULT weights. The same size in MB (10**6 bytes) is accepted too, and both
    numbers rounded to one decimal."""
    if answer is None:
        return feedback(False, "", PLACEHOLDER_HINT)
    weights = torchvision.models.get_model_weights(name).DEFAULT
    metrics = weights.meta["_metrics"]["ImageNet-1K"]
    top5, mebibytes = metrics["acc@5"], weights.meta["_file_size"]
    megabytes = mebibytes * 2**20 / 1e6
    if not isinstance(answer, (tuple, list)) or len(answer) != 2:
        return feedback(False, "", "give two numbers: answer = (top5, mebibytes).")
    accuracy, size = answer
    if _close(accuracy, metrics["acc@1"], 0.01):
        hint = "that accuracy is acc@1 (top-1); the question asks for top-5, acc@5."
    elif _close(accuracy, _top5("resnet18"), 0.05):
        hint = f"that is ResNet-18's top-5 (section 1's weights); read {name}'s DEFAULT weights."
    elif _close(top5 / 100, accuracy, 0.0005):
        hint = "give the accuracy in %, as the metadata does, not as a proportion."
    elif _close(size, weights.meta["num_params"] / 1e6, 0.01):
        hint = "that size is millions of parameters (num_params); the file size is '_file_size'."
    elif _close(size, weights.meta["_ops"], 0.001):
        hint = "that is '_ops' (GFLOPS); the download size is '_file_size'."
    else:
        hint = (
            "read weights.meta['_metrics']['ImageNet-1K']['acc@5'] and weights.meta['_file_size'] "
            f"of torchvision.models.get_model_weights({name!r}).DEFAULT."
        )
    return feedback(
        _close(accuracy, top5, 0.05)
        and (_close(size, mebibytes, 0.05) or _close(size, megabytes, 0.05)),
        f"{weights}: {top5}% top-5 for a {mebibytes} MiB download ({megabytes:.1f} MB), read "
        "offline from its metadata.",
        hint,
    )


def _same_resize(transform, reference) -> bool:
    """The same Resize steps: size and interpolation."""

    def settings(steps):
        return [(step.size, step.interpolation) for step in _find(steps, T.Resize)]

    return settings(transform) == settings(reference)


def _find(transform, kind):
    steps = getattr(transform, "transforms", [transform])
    return [step for step in steps if isinstance(step, kind)]


def timm_eval_transform(backbone: str = "efficientnet_lite0"):
    """Exercise 2's answer: the evaluation transform that timm's data config gives the backbone."""
    model = models.backbone_spec(backbone).build(False)  # the architecture carries the config
    return timm.data.create_transform(**timm.data.resolve_model_data_config(model))


def check_timm_transform(transform, backbone: str = "efficientnet_lite0"):
    """Exercise 2: the evaluation transform timm's config gives the course's backbone (its
    resizing, centre crop and normalisation)."""
    if transform is None:
        return feedback(False, "", PLACEHOLDER_HINT)
    spec = models.backbone_spec(backbone)
    normalise = _find(transform, T.Normalize)
    if not callable(transform) or not normalise:
        return feedback(
            False,
            "",
            "let timm build it from the model's data config (the cell above printed that "
            "config): a Compose that ends with Normalize.",
        )
    mean = torch.as_tensor(normalise[-1].mean, dtype=torch.float32)
    std = torch.as_tensor(normalise[-1].std, dtype=torch.float32)
    right_statistics = torch.allclose(mean, torch.tensor(spec.mean)) and torch.allclose(
        std, torch.tensor(spec.std)
    )
    crops = _find(transform, T.CenterCrop)
    steps = getattr(transform, "transforms", [transform])
    random_steps = [s for s in steps if type(s).__name__.startswith(("Random", "ColorJitter"))]
    if not right_statistics and torch.allclose(mean, torch.tensor(models.IMAGENET_MEAN)):
        hint = (
            "that is the ImageNet mean/std. This model was trained in TensorFlow on inputs "
            "scaled to [-1, 1]: take the numbers from the model's own config, not from memory."
        )
    elif not right_statistics:
        hint = "read mean and std from the model's config (resolve_model_data_config)."
    elif random_steps:
        hint = "that is the training transform (random crops, flips); leave is_training False."
    elif not crops or tuple(crops[0].size) != (spec.input_size, spec.input_size):
        hint = f"the evaluation transform crops the centre {spec.input_size} x {spec.input_size}."
    elif not _same_resize(transform, timm_eval_transform(backbone)):
        hint = (
            "the resizing differs from the config's (its size or its interpolation): let "
            "timm.data.create_transform read them from the config instead of choosing them."
        )
    else:
        hint = ""
    return feedback(
        not hint,
        f"mean {tuple(mean.tolist())}, std {tuple(std.tolist())}: the same numbers as "
        f"helpers.models.backbone_spec({backbone!r}), which data.val_transform uses.",
        hint,
    )
