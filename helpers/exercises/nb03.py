"""Checks for notebook 03's exercises (freezing)."""

from __future__ import annotations

import math

import torch
from torch import nn

from helpers import freezing, results
from helpers.exercises import feedback


def check_freeze_all_but(model: nn.Module, open_groups: tuple[str, ...] = ("blocks.5",)) -> bool:
    """Exercise 1: everything frozen except the groups in open_groups and the head."""
    wanted = {*open_groups, freezing.head_name(model)}
    states = freezing.trainable_groups(model)
    should_train = [name for name in wanted if states[name] is not True]
    should_freeze = [
        name for name, state in states.items() if name not in wanted and state is not False
    ]
    problems = []
    if should_train:
        problems.append(f"{', '.join(should_train)} should be trainable (requires_grad=True)")
    if should_freeze:
        problems.append(
            f"{', '.join(should_freeze)} should be frozen (requires_grad=False for every "
            "parameter of the group, biases and BatchNorm included)"
        )
    trainable, total = freezing.count_parameters(model)
    if all(state is True for state in states.values()):  # not tried yet: no method given away
        return feedback(
            False, "", f"every layer group still trains; only {', '.join(sorted(wanted))} should."
        )
    return feedback(
        not problems,
        f"only {' and '.join(sorted(wanted))} train: {trainable:,} of {total:,} values.",
        "; ".join(problems) + ". Freeze the whole model first, then unfreeze the groups you "
        "want (freezing.layer_groups(model)[name]).",
    )


def _groups_of(optimizer: torch.optim.Optimizer) -> dict[int, float]:
    """{id(parameter): the learning rate of the param group that holds it}."""
    return {id(p): group["lr"] for group in optimizer.param_groups for p in group["params"]}


def check_optimizer(
    optimizer: torch.optim.Optimizer | None,
    model: nn.Module,
    added_group: str = "conv_head",
    added_lr: float = 1e-4,
    head_lr: float = 1e-3,
    started_as: torch.optim.Optimizer | None = None,
) -> bool:
    """Exercise 2: added_group unfrozen as well as the head, and the optimizer, which held the
    head at head_lr, now holds exactly the trainable parameters: added_group's at added_lr.
    started_as: the optimizer the exercise built, if it must be that one (add_param_group),
    not a new one."""
    if not isinstance(optimizer, torch.optim.Optimizer):
        return feedback(False, "", "keep head_optimizer: the torch.optim optimizer built above.")
    if started_as is not None and optimizer is not started_as:
        return feedback(
            False,
            "",
            "head_optimizer is a new optimizer now. Keep the one the cell built and call its "
            "add_param_group: a new optimizer starts the head's optimizer state (Adam's running "
            "averages) again from zero.",
        )
    states = freezing.trainable_groups(model)
    head = freezing.head_name(model)
    if states[added_group] is None:
        return feedback(
            False,
            "",
            f"only part of the layer group {added_group} trains: the group also holds its "
            f"BatchNorm layer. Unfreeze the whole group, freezing.layer_groups(model)"
            f"[{added_group!r}].",
        )
    if states[added_group] is not True:
        return feedback(
            False, "", f"{added_group} is still frozen (requires_grad=False): unfreeze it first."
        )
    opened = [
        name
        for name, state in states.items()
        if state is not False and name not in {added_group, head}
    ]
    if opened:
        return feedback(
            False, "", f"only {added_group} and the head should train, not {opened[0]}."
        )
    held = _groups_of(optimizer)
    parameters = {id(p): p for p in model.parameters()}
    if set(held) - set(parameters):
        return feedback(False, "", "the optimizer holds parameters of another model.")
    frozen = [p for i, p in parameters.items() if i in held and not p.requires_grad]
    if frozen:
        return feedback(
            False,
            "",
            f"the optimizer holds {len(frozen)} frozen tensors: it would keep state for any of "
            "them that gets a gradient and, with momentum or weight decay, could move them. Give "
            "it only trainable parameters.",
        )
    missing = [p for i, p in parameters.items() if p.requires_grad and i not in held]
    if missing:
        return feedback(
            False,
            "",
            f"{len(missing)} trainable tensors are not in the optimizer, so they would never "
            "change: an optimizer only updates the parameters it was given.",
        )
    groups = freezing.layer_groups(model)
    added_lrs = {held[id(p)] for p in groups[added_group].parameters()}
    head_lrs = {held[id(p)] for p in groups[head].parameters()}
    if added_lrs != {added_lr}:
        rates = ", ".join(f"{lr:g}" for lr in sorted(added_lrs))
        return feedback(
            False, "", f"{added_group} learns at {rates}; the exercise asks for {added_lr:g}."
        )
    if head_lrs != {head_lr}:
        return feedback(False, "", f"the head's learning rate should stay {head_lr:g}.")
    return feedback(
        True,
        f"the optimizer holds exactly the {len(held)} trainable tensors: the head at {head_lr:g}, "
        f"{added_group} at {added_lr:g}. add_param_group keeps the state the optimizer already "
        "has for the head; a new optimizer would start it again from zero.",
        "",
    )


def _batchnorm_layers(model: nn.Module) -> dict[str, nn.Module]:
    return {
        name: module
        for name, module in model.named_modules()
        if isinstance(module, nn.modules.batchnorm._BatchNorm)
    }


def check_batchnorm_modes(model: nn.Module) -> bool:
    """Exercise 3: notebook 04's "inference" BatchNorm mode: the model in train mode, every
    BatchNorm layer (trainable or frozen) in eval mode, every other layer in train mode."""
    batchnorms = _batchnorm_layers(model)
    inside = tuple(f"{name}." for name in batchnorms)  # an activation inside a BatchNorm layer
    others = [
        name
        for name, module in model.named_modules()
        if name and name not in batchnorms and not name.startswith(inside) and not module.training
    ]
    if not model.training:
        return feedback(
            False,
            "",
            "the model itself is in eval mode: its other layers (dropout, for one) must train. "
            "Put the whole model in train mode, then switch only the BatchNorm layers.",
        )
    still_training = [name for name, module in batchnorms.items() if module.training]
    if still_training:
        trainable = [
            name for name in still_training
            if any(p.requires_grad for p in batchnorms[name].parameters(recurse=False))
        ]  # fmt: skip
        which = "trainable BatchNorm" if len(trainable) == len(still_training) else "BatchNorm"
        return feedback(
            False,
            "",
            f"{len(still_training)} {which} layer(s) (e.g. {still_training[0]}) are still in train "
            "mode: this time every BatchNorm layer, trainable or frozen, goes to eval mode.",
        )
    if others:
        return feedback(
            False,
            "",
            f"{len(others)} layer(s) that are not BatchNorm (e.g. {others[0]}) are in eval mode: "
            "only the BatchNorm layers should be.",
        )
    return feedback(
        True,
        f"all {len(batchnorms)} BatchNorm layers normalise with ImageNet's statistics, and the "
        "trainable ones still learn their scale and shift: training.fit(..., "
        'batchnorm="inference"), notebook 04\'s recipe.',
        "",
    )


def check_discriminative(
    optimizer: torch.optim.Optimizer | None,
    model: nn.Module,
    head_lr: float = 1e-3,
    factor: float = 2.0,
) -> bool:
    """Exercise 4: exactly the trainable parameters, the head at head_lr and each trainable
    layer group below it at 1/factor of the rate of the trainable group above it."""
    if not isinstance(optimizer, torch.optim.Optimizer):
        return feedback(False, "", "build a torch.optim optimizer from a list of parameter groups.")
    held = _groups_of(optimizer)
    parameters = {id(p): p for p in model.parameters()}
    if set(held) - set(parameters):
        return feedback(False, "", "the optimizer holds parameters of another model.")
    if any(not parameters[i].requires_grad for i in held):
        return feedback(False, "", "the optimizer holds frozen parameters: give it trainable ones.")
    left_out = [
        name
        for name, group in freezing.layer_groups(model).items()
        if any(p.requires_grad and id(p) not in held for p in group.parameters())
    ]
    if left_out:
        return feedback(
            False,
            "",
            f"trainable parameters of {', '.join(left_out)} are not in the optimizer: give it "
            "whole layer groups (freezing.layer_groups(model)[name].parameters()), which also "
            "hold their BatchNorm layers.",
        )
    trainable = [
        (name, group) for name, group in freezing.layer_groups(model).items()
        if any(p.requires_grad for p in group.parameters())
    ]  # fmt: skip
    rates = {}
    for name, group in trainable:
        lrs = {held[id(p)] for p in group.parameters() if p.requires_grad}
        if len(lrs) > 1:
            return feedback(False, "", f"give each layer group one lr; {name} has several.")
        rates[name] = lrs.pop()
    ordered = list(rates.values())
    if len(ordered) < 2:
        return feedback(False, "", "train at least two layer groups, or there is nothing to vary.")
    if not all(a < b for a, b in zip(ordered, ordered[1:], strict=False)):
        shown = ", ".join(f"{name} {lr:g}" for name, lr in rates.items())
        return feedback(
            False,
            "",
            f"learning rates from input to head are {shown}: they should rise towards the "
            "head (earlier layers hold general features and should change less).",
        )
    for depth, name in enumerate(reversed(rates)):
        wanted = head_lr / factor**depth
        if not math.isclose(rates[name], wanted, rel_tol=1e-6):
            return feedback(
                False,
                "",
                f"{name} learns at {rates[name]:g}: the head should learn at {head_lr:g}, and each "
                f"group below at 1/{factor:g} of the rate of the group above it.",
            )
    shown = ", ".join(f"{name} {lr:g}" for name, lr in rates.items())
    return feedback(True, f"learning rates rise towards the head: {shown}.", "")


SEED_PAIR = ("7 frozen", "9 frozen")  # blocks.6 and up trained, against the head alone


def check_seed_verdict(answer: str | None, runs, val_images: int) -> bool:
    """Exercise 5: what the one comparison rule concludes about two freeze depths of the sweep,
    run over seeds. runs: {"7 frozen": [the History of each seed], "9 frozen": [...]}, in the
    same seed order (the check reads each run's final epoch itself); answer: the depth the rule
    puts ahead ("7 frozen" or "9 frozen"), or "tie"."""
    if not isinstance(runs, dict) or set(runs) != set(SEED_PAIR):
        return feedback(
            False, "", f"runs needs two lists, keyed {SEED_PAIR[0]!r} and {SEED_PAIR[1]!r}."
        )
    histories = {name: list(runs[name]) for name in SEED_PAIR}
    if not all(hasattr(h, "final") for hs in histories.values() for h in hs):
        return feedback(
            False,
            "",
            "give the histories sweep_run returns (its second value), not numbers: the check "
            "reads each run's final epoch, the number the rule compares.",
        )
    first, second = ([h.final.val_accuracy for h in histories[name]] for name in SEED_PAIR)
    if len(first) != len(second):
        return feedback(
            False,
            "",
            "give both depths the same seeds, in the same order: the rule pairs seed k of one "
            "with seed k of the other.",
        )
    if len(first) < results.MIN_SEEDS:
        return feedback(
            False,
            "",
            f"{len(first)} run(s) per depth: run seeds 0, 1 and 2 of both. With fewer than "
            f"{results.MIN_SEEDS} seeds the rule says 'cannot say', which answers nothing.",
        )
    same = [name for name, hs in histories.items() if len({_run_key(h) for h in hs}) < len(hs)]
    if same:
        return feedback(
            False,
            "",
            f"two runs of {same[0]} are identical: give each run its own seed "
            "(sweep_run(k, seed)).",
        )
    verdict = results.compare(SEED_PAIR[0], first, SEED_PAIR[1], second, val_images)
    wanted = verdict.winner if verdict.verdict == "ahead" else "tie"
    choices = (*SEED_PAIR, "tie")
    choice = " ".join(answer.split()).lower() if isinstance(answer, str) else ""
    if choice not in choices:
        return feedback(False, "", f"answer one of {', '.join(map(repr, choices))}.")
    gaps = ", ".join(f"{(a - b) * val_images:+.0f}" for a, b in zip(first, second, strict=True))
    return feedback(
        choice == wanted,
        f"{verdict}. The gaps seed by seed, in photos: {gaps}.",
        f"the gaps {SEED_PAIR[0]} - {SEED_PAIR[1]}, seed by seed, are {gaps} photos. A depth is "
        "ahead when the mean gap is more than one photo and its 95% interval stays on one side "
        "of zero; otherwise it is a tie. results.compare computes both.",
    )


def _run_key(history) -> tuple:
    """What tells two runs apart: their final epoch's accuracy and loss."""
    final = history.final
    return (
        final.val_accuracy,
        getattr(final, "val_loss", None),
        getattr(final, "train_loss", None),
    )
