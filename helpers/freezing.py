"""Freezing and unfreezing parts of a model by layer group.

Taught in notebook 03 (freezing), used by 04 and 05.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import torch
from torch import nn
from torch.utils.data import DataLoader

# What a model is made of lives in helpers.anatomy; notebook 03 meets these names here.
from helpers.anatomy import head, head_name, layer_groups, sequential_stages, split_at

__all__ = [
    "BATCHNORM_MODES",
    "count_parameters",
    "describe_trainable",
    "discriminative_param_groups",
    "freeze",
    "frozen_batchnorm_to_eval",
    "head_name",
    "head_only",
    "layer_groups",
    "sequential_stages",
    "set_batchnorm_mode",
    "set_trainable",
    "split_at",
    "stage_outputs",
    "trainable_groups",
    "trainable_parameters",
    "training_memory",
    "unfreeze",
]

_BATCHNORM_TYPES = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.SyncBatchNorm)


def freeze(module: nn.Module) -> nn.Module:
    """Stop gradients for every parameter of module (requires_grad = False). Returns module."""
    for parameter in module.parameters():
        parameter.requires_grad = False
    return module


def unfreeze(module: nn.Module) -> nn.Module:
    """Let every parameter of module learn again (requires_grad = True). Returns module."""
    for parameter in module.parameters():
        parameter.requires_grad = True
    return module


def set_trainable(model: nn.Module, trainable: Mapping[str, bool]) -> dict[str, nn.Module]:
    """Freeze or unfreeze groups by name, e.g. {"classifier": True, "stem": False}.

    Groups not named are left as they are. An unknown name lists the known ones.
    Returns the model's layer groups. Notebook 03.
    """
    groups = layer_groups(model)
    unknown = [name for name in trainable if name not in groups]
    if unknown:
        raise KeyError(f"Unknown layer group(s) {unknown}; this model has {list(groups)}")
    for name, learn in trainable.items():
        (unfreeze if learn else freeze)(groups[name])
    return groups


def count_parameters(model: nn.Module) -> tuple[int, int]:
    """(trainable, total) number of parameter values."""
    total = trainable = 0
    for parameter in model.parameters():
        total += parameter.numel()
        if parameter.requires_grad:
            trainable += parameter.numel()
    return trainable, total


def trainable_parameters(model: nn.Module) -> list[nn.Parameter]:
    """The parameters that require gradients: what an optimizer should be given."""
    return [p for p in model.parameters() if p.requires_grad]


def frozen_batchnorm_to_eval(model: nn.Module) -> int:
    """Put every BatchNorm layer whose parameters are all frozen into eval mode.

    In train mode a BatchNorm layer updates its running mean and variance on every batch
    even when requires_grad is False ("the BatchNorm trap"); eval mode keeps the pretrained
    statistics. Call after model.train(). Returns how many layers were switched. Notebook 03.
    """
    switched = 0
    for module in model.modules():
        if isinstance(module, _BATCHNORM_TYPES):
            parameters = list(module.parameters(recurse=False))
            if parameters and not any(p.requires_grad for p in parameters):
                module.eval()
                switched += 1
    return switched


BATCHNORM_MODES = ("follow-freezing", "inference", "train")


def set_batchnorm_mode(model: nn.Module, mode: str = "follow-freezing") -> int:
    """Put the model's BatchNorm layers in the mode a training epoch wants; call after .train().

    "follow-freezing": layers whose parameters are all frozen use their pretrained statistics
    (frozen_batchnorm_to_eval), the others keep learning them. "inference": every BatchNorm
    layer uses its pretrained statistics (its scale and shift still train when unfrozen): the
    Keras guide's advice for fine-tuning on small batches of data close to the pretraining
    data. "train": every layer updates its statistics on each batch, frozen or not (the trap).
    Returns how many layers were put in eval mode. Notebooks 03 and 04.
    """
    if mode not in BATCHNORM_MODES:
        raise ValueError(f"Unknown BatchNorm mode {mode!r}; choose one of {BATCHNORM_MODES}.")
    if mode == "follow-freezing":
        return frozen_batchnorm_to_eval(model)
    if mode == "train":
        return 0
    layers = [m for m in model.modules() if isinstance(m, _BATCHNORM_TYPES)]
    for layer in layers:
        layer.eval()
    return len(layers)


def head_only(model: nn.Module) -> str:
    """Freeze everything but the head (the final classifier layer, anatomy.head), which is
    made trainable. Returns the head's name. The course's one way to train "only the head":
    notebook 03, the panel's "Head only", the probe of notebook 04. Notebook 03.
    """
    freeze(model)
    unfreeze(head(model))
    return head_name(model)


def trainable_groups(model: nn.Module) -> dict[str, bool | None]:
    """{group: True (all trainable), False (all frozen) or None (mixed)}, input to output."""
    states = {}
    for name, group in layer_groups(model).items():
        flags = {p.requires_grad for p in group.parameters()}
        states[name] = flags.pop() if len(flags) == 1 else None
    return states


def describe_trainable(model: nn.Module) -> str:
    """A short label of what trains, e.g. "blocks.5–classifier" or "none" or "all".

    Runs of consecutive trainable groups are written first–last; groups only partly trainable
    are marked with "(part)". Notebook 03.
    """
    states = list(trainable_groups(model).items())
    if all(state is True for _, state in states):
        return "all"
    if all(state is False for _, state in states):
        return "none"
    parts, run = [], []
    for name, state in [*states, ("", False)]:
        if state is True:
            run.append(name)
            continue
        if run:
            parts.append(run[0] if len(run) == 1 else f"{run[0]}–{run[-1]}")
            run = []
        if state is None:
            parts.append(f"{name} (part)")
    return ", ".join(parts)


def discriminative_param_groups(
    model: nn.Module, lr: float, lr_decay: float = 2.6, trainable_only: bool = True
) -> list[dict]:
    """Optimizer parameter groups, one per layer group, with lower learning rates further down.

    The head gets lr, the group below it lr / lr_decay, the next lr / lr_decay**2, and so on
    (ULMFiT's discriminative fine-tuning; 2.6 is the factor Howard and Ruder used). Each dict
    has "params", "lr" and "name"; layer groups with nothing to train are left out, so the
    optimizer receives only trainable parameters. Pass the list to any torch optimizer.
    Notebook 03.
    """
    param_groups = []
    for depth, (name, group) in enumerate(reversed(layer_groups(model).items())):
        params = [p for p in group.parameters() if p.requires_grad or not trainable_only]
        if params:
            param_groups.append({"params": params, "lr": lr / lr_decay**depth, "name": name})
    return param_groups


def training_memory(model: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> dict:
    """Bytes that one training step holds beyond inference, for the model's current freezing.

    images: (B, 3, H, W); labels: (B,). Runs one forward and backward pass (gradients are
    cleared afterwards) and returns {"activations": bytes of tensors autograd saved for the
    backward pass, not counting the parameters themselves; "gradients": bytes of .grad;
    "adam_state": bytes Adam would keep (two buffers per trainable parameter)}. This is what
    freezing can save; it is not the process's peak memory. Notebook 03.
    """
    parameter_storages = {p.untyped_storage().data_ptr() for p in model.parameters()}
    saved: dict[int, int] = {}

    def pack(tensor: torch.Tensor) -> torch.Tensor:
        storage = tensor.untyped_storage()
        if storage.data_ptr() not in parameter_storages:
            saved[storage.data_ptr()] = storage.nbytes()
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        loss = nn.functional.cross_entropy(model(images), labels)
    if loss.requires_grad:
        loss.backward()
    trainable = trainable_parameters(model)
    result = {
        "activations": sum(saved.values()),
        "gradients": sum(
            p.grad.numel() * p.grad.element_size() for p in trainable if p.grad is not None
        ),
        "adam_state": 2 * sum(p.numel() * p.element_size() for p in trainable),
    }
    model.zero_grad(set_to_none=True)
    return result


@torch.no_grad()
def stage_outputs(
    model: nn.Module,
    loader: DataLoader,
    boundaries: Iterable[int],
    device: str | torch.device | None = None,
) -> tuple[dict[int, torch.Tensor], torch.Tensor]:
    """One pass of loader through the model's stages (eval mode), keeping what stage k receives.

    Returns ({k: (N, ...) float32 on the CPU for each k in boundaries}, labels (N,)):
    outputs[k] is what a frozen trunk of the first k stages (split_at(model, k)) hands to the
    rest, so the stages above it can be trained on the cache without running the trunk again.
    Valid only without data augmentation (each image is seen once, as it is). Notebook 03.
    """
    stages = [module for _, module in sequential_stages(model)]
    wanted = sorted(set(boundaries))
    if not wanted or not 0 <= wanted[0] <= wanted[-1] < len(stages):
        raise ValueError(f"boundaries must lie in 0..{len(stages) - 1}, got {wanted}")
    device = torch.device(device) if device is not None else next(model.parameters()).device
    model.to(device).eval()
    kept: dict[int, list[torch.Tensor]] = {k: [] for k in wanted}
    labels = []
    for images, batch_labels in loader:
        x = images.to(device)
        for index in range(wanted[-1] + 1):
            if index in kept:
                kept[index].append(x.float().cpu())
            if index < wanted[-1]:
                x = stages[index](x)
        labels.append(batch_labels)
    return {k: torch.cat(v) for k, v in kept.items()}, torch.cat(labels)
