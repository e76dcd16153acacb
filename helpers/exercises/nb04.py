"""Checks for notebook 04's exercises (fine-tuning on the ants/bees photos)."""

from __future__ import annotations

import math
import numbers

import torch
from torch import nn

from helpers import freezing, models, results
from helpers.exercises import feedback
from helpers.training import History


def steps_per_epoch(num_images: int, batch_size: int) -> int:
    """Exercise 1's answer: one optimizer step per batch, the last, smaller batch kept."""
    return math.ceil(num_images / batch_size)


def photos_apart(first: float, second: float, num_val_images: int) -> float:
    """Exercise 3's answer: how many val photos separate two accuracies."""
    return abs(first - second) * num_val_images


def check_steps_per_epoch(answer, num_images: int, batch_size: int) -> bool:
    """Exercise 1: optimizer steps in one epoch of num_images at batch_size (last batch kept)."""
    expected = steps_per_epoch(num_images, batch_size)
    if not isinstance(answer, numbers.Integral) or isinstance(answer, bool):
        return feedback(False, "", "answer with a whole number of steps (an int).")
    if answer == num_images // batch_size and answer != expected:
        return feedback(
            False,
            "",
            f"close: the full batches of {batch_size} leave some images over. What does the "
            "DataLoader do with them (drop_last=False)?",
        )
    return feedback(
        answer == expected,
        f"{expected} steps per epoch (the last batch has {num_images - (expected - 1) * batch_size}"
        f" images). A one-cycle schedule over E epochs therefore has E x {expected} steps; the "
        f"tutorial's batch of 4 over 25 epochs takes {25 * math.ceil(num_images / 4)}.",
        f"one step per batch: how many batches of {batch_size} does it take to cover "
        f"{num_images} images?",
    )


def check_lr_groups(
    optimizer, model: nn.Module, head_lr: float = 1e-3, factor: float = 10.0
) -> bool:
    """Exercise 2: exactly the trainable parameters, with three learning rates: head_lr for the
    head, head_lr / factor for the layer group just below it, head_lr / factor**2 for the rest."""
    if not isinstance(optimizer, torch.optim.Optimizer):
        return feedback(
            False,
            "",
            "build an optimizer from a list of dicts, one per learning rate: "
            'torch.optim.AdamW([{"params": ..., "lr": ...}, ...]).',
        )
    held = {id(p): group["lr"] for group in optimizer.param_groups for p in group["params"]}
    parameters = {id(p): p for p in model.parameters()}
    frozen = [i for i in held if i in parameters and not parameters[i].requires_grad]
    missing = [i for i, p in parameters.items() if p.requires_grad and i not in held]
    if set(held) - set(parameters) or frozen or missing:
        return feedback(
            False,
            "",
            f"the optimizer should hold every trainable parameter and nothing else: {len(missing)} "
            f"trainable tensor(s) missing, {len(frozen)} frozen tensor(s) included.",
        )
    groups = list(freezing.layer_groups(model).items())  # input to output: the head is last
    (below_name, below), (head_name, head) = groups[-2], groups[-1]
    near = {id(p) for p in [*head.parameters(), *below.parameters()]}
    wanted = {
        f"the head ({head_name})": ({id(p) for p in head.parameters()}, head_lr),
        f"the group just below it ({below_name})": (
            {id(p) for p in below.parameters() if p.requires_grad},
            head_lr / factor,
        ),
        "the rest of the trainable parameters": (
            {i for i, p in parameters.items() if p.requires_grad and i not in near},
            head_lr / factor**2,
        ),
    }
    for part, (ids, lr) in wanted.items():
        rates = {held[i] for i in ids}
        if any(not math.isclose(rate, lr, rel_tol=1e-6) for rate in rates):
            found = ", ".join(f"{rate:g}" for rate in sorted(rates))
            return feedback(False, "", f"{part} learns at {found}; the exercise asks for {lr:g}.")
    return feedback(
        True,
        f"the new head learns at {head_lr:g}, the layers next to it at {head_lr / factor:g}, the "
        f"rest of the backbone at {head_lr / factor**2:g}: the further from the head, the more "
        "general the features, and the less they need to move.",
        "",
    )


def check_photos_apart(answer, first: float, second: float, num_val_images: int) -> bool:
    """Exercise 3: how many val photos separate two accuracies measured on num_val_images."""
    exact = photos_apart(first, second, num_val_images)
    expected = round(exact)
    if not isinstance(answer, numbers.Real) or isinstance(answer, bool):
        return feedback(False, "", "answer with a number of photos, e.g. 3.")
    answer = abs(answer)  # a distance: second - first counts as well as first - second
    if math.isclose(answer, abs(first - second), rel_tol=0.05):
        return feedback(
            False,
            "",
            f"that is the gap in accuracy: how many photos is it, out of {num_val_images}?",
        )
    return feedback(
        answer == expected or abs(answer - exact) < 0.05,
        f"{abs(first - second):.3f} x {num_val_images} = {exact:.2f}, so {expected} photo(s): "
        f"each photo moves val accuracy by 1/{num_val_images} = {1 / num_val_images:.4f}. "
        "Single runs rank nothing. The course's one rule (results.compare, section 6) pairs "
        "seed k of one strategy with seed k of the other and counts each pair's gap in val "
        "photos: one strategy is ahead only when the mean gap is more than one photo and its "
        "95% interval lies on one side of zero; otherwise it is a tie. With fewer than "
        f'{results.MIN_SEEDS} seeds (one run each, as here) it says "cannot say".',
        f"accuracy is correct / {num_val_images}: one photo is worth 1/{num_val_images} of it.",
    )


def check_fixed_extractor(
    optimizer, model: nn.Module, num_classes: int = 2, lr: float = 0.001, momentum: float = 0.9
) -> bool:
    """Exercise 6: the tutorial's fixed extractor: a new head of num_classes outputs is the only
    trainable part of model, and the optimizer, SGD with lr and momentum, holds exactly its
    parameters."""
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
            "only the head may learn.",
        )
    if not all(p.requires_grad for p in head.parameters()):
        return feedback(
            False, "", "the head is frozen too: nothing would learn. The head must stay trainable."
        )
    if not isinstance(optimizer, torch.optim.SGD):
        return feedback(
            False,
            "",
            f"build the optimizer: torch.optim.SGD(..., lr={lr:g}, momentum={momentum:g}).",
        )
    settings = {(group["lr"], group["momentum"]) for group in optimizer.param_groups}
    if settings != {(lr, momentum)}:
        return feedback(False, "", f"the tutorial's SGD uses lr={lr:g} and momentum={momentum:g}.")
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
    measured = f"gap with augmentation {gaps['with']:+.3f}, without {gaps['without']:+.3f}"
    if abs(gaps["with"] - gaps["without"]) < 1e-9:
        return feedback(True, f"{measured}: equal, so either answer is right for these runs.", "")
    larger = max(gaps, key=gaps.get)
    if larger == "without":
        why = (
            "Without augmentation the network sees the very same crops every epoch and can "
            "memorise them; random crops and flips make the training set look larger."
        )
    else:
        why = (
            "Here the run with augmentation ended with the larger gap: one short run per setting "
            "is noisy, and it is one seed. Mind too that with augmentation the train accuracy is "
            "measured on random crops, which lowers it, so the gap is not a pure measure of "
            "memorising."
        )
    return feedback(
        answer == larger,
        f"{measured}. {why}",
        "look at the last epoch of each run (with_augmentation.final and "
        "without_augmentation.final): subtract its val accuracy from its train accuracy.",
    )
