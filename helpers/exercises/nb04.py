"""Checks for notebook 04's exercises (fine-tuning on the ants/bees photos)."""

from __future__ import annotations

import math
import numbers

import torch
from torch import nn

from helpers import models, results
from helpers.exercises import feedback
from helpers.training import History


def check_steps_per_epoch(answer, num_images: int, batch_size: int) -> bool:
    """Exercise 1: optimizer steps in one epoch of num_images at batch_size (last batch kept)."""
    expected = math.ceil(num_images / batch_size)
    if not isinstance(answer, numbers.Integral):
        return feedback(False, "", "answer with a whole number of steps (an int).")
    if answer == num_images // batch_size and answer != expected:
        return feedback(
            False,
            "",
            f"close: {num_images} / {batch_size} leaves a last, smaller batch of "
            f"{num_images % batch_size} images, and the DataLoader keeps it (drop_last=False).",
        )
    return feedback(
        answer == expected,
        f"{expected} steps per epoch (the last batch has {num_images - (expected - 1) * batch_size}"
        f" images). A one-cycle schedule over E epochs therefore has E x {expected} steps; the "
        f"tutorial's batch of 4 over 25 epochs takes {25 * math.ceil(num_images / 4)}.",
        f"one step per batch: how many batches of {batch_size} does it take to cover "
        f"{num_images} images?",
    )


def check_head_lr_groups(optimizer, model: nn.Module, ratio: float = 10.0) -> bool:
    """Exercise 2: two parameter groups, the head's with a learning rate ratio x the rest's."""
    if not isinstance(optimizer, torch.optim.Optimizer):
        return feedback(
            False,
            "",
            "build an optimizer from a list of two dicts: "
            'torch.optim.AdamW([{"params": ..., "lr": ...}, {"params": ..., "lr": ...}]).',
        )
    _, head = models.find_head(model)
    head_ids = {id(p) for p in head.parameters()}
    trainable_ids = {id(p) for p in model.parameters() if p.requires_grad}
    groups = optimizer.param_groups
    if len(groups) != 2:
        return feedback(
            False, "", f"expected 2 parameter groups (head, rest), found {len(groups)}."
        )
    ids = [{id(p) for p in group["params"]} for group in groups]
    head_index = next((i for i, group_ids in enumerate(ids) if group_ids == head_ids), None)
    if head_index is None:
        return feedback(
            False,
            "",
            "one group must hold exactly the head's parameters: "
            "helpers.models.find_head(model)[1].parameters().",
        )
    rest = ids[1 - head_index]
    if rest | ids[head_index] != trainable_ids:
        missing = len(trainable_ids - rest - head_ids)
        frozen = len(rest - trainable_ids)
        return feedback(
            False,
            "",
            f"the other group should hold every other trainable parameter: {missing} trainable "
            f"tensor(s) missing, {frozen} frozen tensor(s) included.",
        )
    head_lr, rest_lr = groups[head_index]["lr"], groups[1 - head_index]["lr"]
    return feedback(
        math.isclose(head_lr, ratio * rest_lr, rel_tol=1e-6),
        f"the new head learns at {head_lr:g}, the pretrained backbone at {rest_lr:g}: the random "
        "head can move fast while the backbone's useful features are only nudged.",
        f"the head's learning rate ({head_lr:g}) should be {ratio:g} x the backbone's "
        f"({rest_lr:g}).",
    )


def check_photos_apart(answer, first: float, second: float, num_val_images: int) -> bool:
    """Exercise 3: how many val photos separate two accuracies measured on num_val_images."""
    exact = abs(first - second) * num_val_images
    expected = round(exact)
    if not isinstance(answer, numbers.Real):
        return feedback(False, "", "answer with a number of photos, e.g. 3.")
    if math.isclose(answer, abs(first - second), rel_tol=0.05):
        return feedback(
            False,
            "",
            f"that is the gap in accuracy: how many photos is it, out of {num_val_images}?",
        )
    return feedback(
        abs(answer - exact) < 0.5,
        f"{abs(first - second):.3f} x {num_val_images} = {exact:.2f}, so {expected} photo(s): "
        f"each photo moves val accuracy by 1/{num_val_images} = {1 / num_val_images:.4f}. "
        "Single runs rank nothing. The course's one rule (results.compare, section 6) pairs "
        "seed k of one strategy with seed k of the other and counts each pair's gap in val "
        "photos: one strategy is ahead only when the mean gap is more than one photo and its "
        "95% interval lies on one side of zero; otherwise it is a tie. With fewer than "
        f'{results.MIN_SEEDS} seeds (one run each, as here) it says "cannot say".',
        f"accuracy is correct / {num_val_images}: one photo is worth 1/{num_val_images} of it.",
    )


def check_fixed_extractor(optimizer, model: nn.Module, num_classes: int = 2) -> bool:
    """Exercise 6: the tutorial's fixed extractor: a new head of num_classes outputs is the only
    trainable part of model, and the optimizer holds exactly its parameters."""
    _, head = models.find_head(model)
    if getattr(head, "out_features", None) != num_classes:
        return feedback(
            False,
            "",
            f"give the model a new head with {num_classes} outputs "
            "(the tutorial: model.fc = nn.Linear(num_ftrs, 2)).",
        )
    head_ids = {id(p) for p in head.parameters()}
    trainable = [p for p in model.parameters() if p.requires_grad and id(p) not in head_ids]
    if trainable:
        return feedback(
            False,
            "",
            f"{len(trainable)} backbone tensor(s) still have requires_grad=True: "
            "set it to False for every parameter before you replace the head.",
        )
    if not all(p.requires_grad for p in head.parameters()):
        return feedback(
            False,
            "",
            "the head is frozen too: freeze the backbone first, then replace the head "
            "(a new layer has requires_grad=True).",
        )
    if not isinstance(optimizer, torch.optim.Optimizer):
        return feedback(
            False, "", "build the optimizer: torch.optim.SGD(..., lr=0.001, momentum=0.9)."
        )
    optimized = {id(p) for group in optimizer.param_groups for p in group["params"]}
    return feedback(
        optimized == head_ids,
        f"only the head's {sum(p.numel() for p in head.parameters()):,} parameters learn; the "
        "backbone's outputs never change, so its backward pass is skipped too.",
        "the optimizer should hold exactly the head's parameters "
        "(the tutorial: optim.SGD(model_conv.fc.parameters(), ...)).",
    )


def _gap(history: History) -> float:
    last = history.records[-1]
    return last.train_accuracy - last.val_accuracy


def check_augmentation_gap(
    answer, with_augmentation: History | None, without_augmentation: History | None
) -> bool:
    """Exercise 4: which run ("with" or "without" augmentation) ends with the larger
    train-minus-val accuracy gap, judged on the learner's own two runs."""
    if not isinstance(with_augmentation, History) or not isinstance(without_augmentation, History):
        return feedback(
            False, "", "run both trainings first (set RUN_EXERCISE_4 = True and run the cell)."
        )
    if answer not in ("with", "without"):
        return feedback(False, "", 'answer "with" or "without".')
    gaps = {"with": _gap(with_augmentation), "without": _gap(without_augmentation)}
    larger = max(gaps, key=gaps.get)
    measured = f"gap with augmentation {gaps['with']:+.3f}, without {gaps['without']:+.3f}"
    return feedback(
        answer == larger,
        f"{measured}. Without augmentation the network sees the very same crops every epoch and "
        "can memorise them; random crops and flips make the training set look larger.",
        f"{measured}: look at the last epoch's train and val accuracy of each run.",
    )
