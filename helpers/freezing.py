"""Freezing and unfreezing parts of a model by layer group.

Taught in notebook 03 (freezing), used by 04 and 05.
"""

from __future__ import annotations

from collections.abc import Mapping

from torch import nn

_BATCHNORM_TYPES = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.SyncBatchNorm)


def layer_groups(model: nn.Module) -> dict[str, nn.Module]:
    """The model's parts, input to output, keyed by the attribute names they have in the model.

    EfficientNet (timm): stem, blocks.0 ... blocks.6, conv_head, classifier.
    ResNet (torchvision): stem, layer1 ... layer4, fc.
    Anything else: its top-level children that hold parameters.
    The groups partition the model: every parameter is in exactly one group. Notebook 03.
    """
    if _has(model, "conv_stem", "bn1", "blocks", "conv_head", "bn2", "classifier"):
        groups = {"stem": nn.Sequential(model.conv_stem, model.bn1)}
        groups.update({f"blocks.{i}": block for i, block in enumerate(model.blocks)})
        groups["conv_head"] = nn.Sequential(model.conv_head, model.bn2)
        groups["classifier"] = model.classifier
    elif _has(model, "conv1", "bn1", "layer1", "layer2", "layer3", "layer4", "fc"):
        groups = {"stem": nn.Sequential(model.conv1, model.bn1)}
        groups.update(
            {name: getattr(model, name) for name in ("layer1", "layer2", "layer3", "layer4")}
        )
        groups["fc"] = model.fc
    else:
        groups = {
            name: child
            for name, child in model.named_children()
            if any(True for _ in child.parameters())
        }
    _check_partition(model, groups)
    return groups


def _has(model: nn.Module, *names: str) -> bool:
    return all(hasattr(model, name) for name in names)


def _check_partition(model: nn.Module, groups: Mapping[str, nn.Module]) -> None:
    in_groups = [id(p) for group in groups.values() for p in group.parameters()]
    in_model = {id(p) for p in model.parameters()}
    if len(in_groups) != len(set(in_groups)) or set(in_groups) != in_model:
        raise ValueError(
            f"layer groups of {type(model).__name__} do not cover every parameter exactly once"
        )


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
