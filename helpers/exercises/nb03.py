"""Checks for notebook 03's exercises (freezing)."""

from __future__ import annotations

import torch
from torch import nn

from helpers import freezing
from helpers.exercises import feedback


def check_freeze_all_but(model: nn.Module, open_groups: tuple[str, ...] = ("blocks.5",)) -> bool:
    """Exercise 1: everything frozen except the groups in open_groups and the head."""
    wanted = {*open_groups, freezing.head_name(model)}
    states = freezing.trainable_groups(model)
    should_train = [name for name in wanted if states[name] is not True]
    should_freeze = [name for name, state in states.items() if name not in wanted and state]
    problems = []
    if should_train:
        problems.append(f"{', '.join(should_train)} should be trainable (requires_grad=True)")
    if should_freeze:
        problems.append(f"{', '.join(should_freeze)} should be frozen (requires_grad=False)")
    trainable, total = freezing.count_parameters(model)
    return feedback(
        not problems,
        f"only {' and '.join(sorted(wanted))} train: {trainable:,} of {total:,} values.",
        "; ".join(problems) + ". Freeze the whole model first, then unfreeze the groups you "
        "want (freezing.layer_groups(model)[name]).",
    )


def check_optimizer(optimizer: torch.optim.Optimizer | None, model: nn.Module) -> bool:
    """Exercise 2: the optimizer holds exactly the model's trainable parameters."""
    if not isinstance(optimizer, torch.optim.Optimizer):
        return feedback(False, "", "build a torch.optim optimizer, e.g. torch.optim.AdamW(...).")
    held = {id(p) for group in optimizer.param_groups for p in group["params"]}
    trainable = {id(p) for p in model.parameters() if p.requires_grad}
    frozen = [p for p in model.parameters() if id(p) in held and not p.requires_grad]
    missing = [p for p in model.parameters() if id(p) in trainable - held]
    foreign = held - {id(p) for p in model.parameters()}
    if foreign:
        return feedback(False, "", "the optimizer holds parameters of another model.")
    if frozen:
        return feedback(
            False,
            "",
            f"the optimizer holds {len(frozen)} frozen tensors "
            f"({sum(p.numel() for p in frozen):,} values): it keeps state for them and, with "
            "momentum or weight decay, could move them. Pass only "
            "[p for p in model.parameters() if p.requires_grad].",
        )
    if missing:
        return feedback(
            False,
            "",
            f"{len(missing)} trainable tensors are not in the optimizer, so they would never "
            "change. Did you build the optimizer before unfreezing them?",
        )
    return feedback(
        True,
        f"the optimizer holds exactly the {len(held)} trainable tensors.",
        "",
    )


def check_batchnorm_modes(model: nn.Module) -> bool:
    """Exercise 3: in train mode, but every BatchNorm with frozen parameters in eval mode."""
    if not model.training:
        return feedback(False, "", "call model.train() first: the trainable layers need it.")
    stuck, wrongly_eval = [], []
    for name, module in model.named_modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            parameters = list(module.parameters(recurse=False))
            frozen = bool(parameters) and not any(p.requires_grad for p in parameters)
            if frozen and module.training:
                stuck.append(name)
            elif not frozen and not module.training:
                wrongly_eval.append(name)
    if stuck:
        return feedback(
            False,
            "",
            f"{len(stuck)} frozen BatchNorm layers (e.g. {stuck[0]}) are in train mode: their "
            "running statistics will drift. Call .eval() on each of them.",
        )
    if wrongly_eval:
        return feedback(
            False,
            "",
            f"{len(wrongly_eval)} trainable BatchNorm layers (e.g. {wrongly_eval[0]}) are in "
            "eval mode; only the frozen ones should be.",
        )
    return feedback(True, "frozen BatchNorm layers keep their ImageNet statistics.", "")


def check_discriminative(optimizer: torch.optim.Optimizer | None, model: nn.Module) -> bool:
    """Exercise 4: one parameter group per trainable layer group, lr lower further down."""
    if not isinstance(optimizer, torch.optim.Optimizer):
        return feedback(False, "", "build a torch.optim optimizer from a list of param groups.")
    groups = list(freezing.layer_groups(model).items())
    position = {id(p): index for index, (_, g) in enumerate(groups) for p in g.parameters()}
    lr_by_layer_group: dict[int, set[float]] = {}
    for param_group in optimizer.param_groups:
        for p in param_group["params"]:
            lr_by_layer_group.setdefault(position.get(id(p), -1), set()).add(param_group["lr"])
    if -1 in lr_by_layer_group:
        return feedback(False, "", "the optimizer holds parameters of another model.")
    mixed = [groups[i][0] for i, lrs in lr_by_layer_group.items() if len(lrs) > 1]
    if mixed:
        return feedback(False, "", f"give each layer group one lr; {mixed[0]} has several.")
    ordered = [next(iter(lr_by_layer_group[i])) for i in sorted(lr_by_layer_group)]
    if len(ordered) < 2:
        return feedback(False, "", "train at least two layer groups, or there is nothing to vary.")
    rising = all(a <= b for a, b in zip(ordered, ordered[1:], strict=False))
    if not rising or len(set(ordered)) < 2:
        return feedback(
            False,
            "",
            f"learning rates from input to head are {ordered}: they should rise towards the "
            "head (earlier layers hold general features and should change less).",
        )
    return feedback(True, f"learning rates rise towards the head: {ordered}.", "")
