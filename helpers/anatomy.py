"""What a model is made of: its layer groups, its head, and splitting it at a group.

One home for the structure of a classifier, so that every other module means the same thing:

- **layer groups**: the model's parts, input to output, that freezing works on. They partition
  the parameters: every parameter is in exactly one group, stray ones included (ViT's class
  token and position embedding).
- **the head**: the final classifier layer (nn.Linear, or SqueezeNet's 1x1 nn.Conv2d), which
  is always a layer group of its own, named by its path: "classifier", "fc", "classifier.6",
  "heads.head". "Head only" means this layer, everywhere in the course.
- **stages**: the model as a sequence of modules that, applied in order, compute model(x)
  (the two course backbones), so it can be split into a frozen trunk and a trainable top.

Only torch here: helpers.models (which backbones exist, their weights and their facts),
helpers.freezing and everything above import this module. Notebooks 02 and 03.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import torch
from torch import nn

# Where torchvision keeps a classifier's body: a container whose children are its stages.
TRUNKS = ("features", "layers", "blocks", "trunk_output", "encoder.layers")
# Where a classifier keeps its final layer, or the container that ends with it.
HEAD_PATHS = ("fc", "classifier", "heads.head", "head.fc", "head")
_POOLING = (nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)


class StrayParameters(nn.Module):
    """A layer group for parameters that sit on a module itself, not in one of its layers.

    Holds the very same nn.Parameter objects (ViT's class_token, say), so freezing the group
    freezes them in the model. Not meant to be called.
    """

    def __init__(self, parameters: dict[str, nn.Parameter]):
        super().__init__()
        for name, parameter in parameters.items():
            self.register_parameter(name, parameter)

    def forward(self, *args):  # pragma: no cover - a holder, never part of a forward pass
        raise TypeError("StrayParameters only groups parameters; it computes nothing")


def family(model: nn.Module) -> str:
    """Which structural rule applies: "efficientnet" (timm), "resnet" (torchvision) or "other".

    The two families of the course backbones get hand-written groups and stages; every other
    model gets the general rule of layer_groups. Written once, used everywhere.
    """
    if _has(model, "conv_stem", "bn1", "blocks", "conv_head", "bn2", "classifier"):
        return "efficientnet"
    if _has(model, "conv1", "bn1", "layer1", "layer2", "layer3", "layer4", "fc"):
        return "resnet"
    return "other"


def _has(model: nn.Module, *names: str) -> bool:
    return all(hasattr(model, name) for name in names)


# -- the head ---------------------------------------------------------------------------------


def find_head(model: nn.Module) -> tuple[str, nn.Module]:
    """(dotted path, module) of the final classifier layer: fc, classifier, classifier.6, ...

    A timm model names its own (get_classifier()), and is asked first. Otherwise looks at fc,
    classifier, heads.head, head.fc and head. In a container it takes the last nn.Linear or
    nn.Conv2d (SqueezeNet's head is a 1x1 convolution). After remove_head the head is an
    nn.Identity. A model with none of these (your own nn.Sequential, say): its last nn.Linear.
    Notebook 02.
    """
    for path in (*_own_head_path(model), *HEAD_PATHS):
        try:
            module = model.get_submodule(path)
        except AttributeError:
            continue
        if isinstance(module, (nn.Linear, nn.Conv2d, nn.Identity)):
            return path, module
        layers = [
            (name, layer)
            for name, layer in module.named_modules()
            if name and isinstance(layer, (nn.Linear, nn.Conv2d))
        ]
        if layers:
            name, layer = layers[-1]
            return f"{path}.{name}", layer
    linears = [(name, m) for name, m in model.named_modules() if isinstance(m, nn.Linear)]
    if linears:
        return linears[-1]
    raise ValueError(
        f"{type(model).__name__} has no classifier layer at {', '.join(HEAD_PATHS)} and no "
        "nn.Linear; replace its last layer by hand."
    )


def _own_head_path(model: nn.Module) -> tuple[str, ...]:
    """The path of the module a model's get_classifier() returns (timm's models have it)."""
    answer = getattr(model, "get_classifier", None)
    answer = answer() if callable(answer) else None
    if isinstance(answer, nn.Module):
        for path, module in model.named_modules():
            if module is answer and path:
                return (path,)
    return ()


def head_name(model: nn.Module) -> str:
    """The name of the head's layer group: the path of the final classifier layer."""
    return find_head(model)[0]


def head(model: nn.Module) -> nn.Module:
    """The head: the final classifier layer, a layer group of its own. Notebook 03."""
    return find_head(model)[1]


def _set_submodule(model: nn.Module, path: str, module: nn.Module) -> None:
    parent_path, _, child = path.rpartition(".")
    parent = model.get_submodule(parent_path) if parent_path else model
    setattr(parent, child, module)


def replace_head(
    model: nn.Module, num_classes: int, init_rows: Sequence[int] | None = None
) -> nn.Module:
    """Swap the final layer for a new one with num_classes outputs (same kind, same input).

    nn.Linear(in, num_classes), or for a 1x1 nn.Conv2d head (SqueezeNet) a new 1x1 conv. The
    new layer is randomly initialised, or, with init_rows (one index of the old head's outputs
    per new class, e.g. ImageNet's [310, 309] for ants and bees), a copy of those rows of the
    old layer: a warm start that predicts like the old head from the first step. Returns the
    same model, changed in place. Notebooks 03 and 04.
    """
    path, old = find_head(model)
    parameter = next(model.parameters())
    if isinstance(old, nn.Linear):
        new = nn.Linear(old.in_features, num_classes)
        old_outputs = old.out_features
    elif isinstance(old, nn.Conv2d) and old.kernel_size == (1, 1) and old.groups == 1:
        new = nn.Conv2d(old.in_channels, num_classes, kernel_size=1, bias=old.bias is not None)
        old_outputs = old.out_channels
    else:
        raise ValueError(f"the head at {path} is {old}, not nn.Linear or a 1x1 nn.Conv2d")
    new = new.to(parameter.device, parameter.dtype)
    if init_rows is not None:
        rows = list(init_rows)
        if len(rows) != num_classes or not all(0 <= r < old_outputs for r in rows):
            raise ValueError(
                f"init_rows needs {num_classes} indices in 0..{old_outputs - 1}, got {rows}"
            )
        with torch.no_grad():
            new.weight.copy_(old.weight[rows])
            if new.bias is not None:
                new.bias.copy_(old.bias[rows])
    _set_submodule(model, path, new)
    if hasattr(model, "num_classes"):  # timm and SqueezeNet keep this in sync with their head
        model.num_classes = num_classes
    return model


def remove_head(model: nn.Module) -> nn.Module:
    """Replace the final layer with nn.Identity, so the model outputs pooled features (B, D)."""
    path, _ = find_head(model)
    _set_submodule(model, path, nn.Identity())
    return model


# -- layer groups -----------------------------------------------------------------------------


def layer_groups(model: nn.Module) -> dict[str, nn.Module]:
    """The model's parts, input to output, keyed by the names they have in the model.

    EfficientNet (timm): stem, blocks.0 ... blocks.6, conv_head, classifier.
    ResNet (torchvision): stem, layer1 ... layer4, fc.
    Every other model: the stages of its body (the children of features, layers, blocks,
    trunk_output or encoder.layers; runs of single layers such as VGG's convolutions are cut
    after each pooling layer and named by slice, e.g. "features[0:5]"), its other top-level
    parts, parameters that sit on a module itself (ViT's "class_token"), and the head on its
    own ("classifier.6" for VGG: the layers before it form "classifier[0:6]").
    The groups partition the model: every parameter is in exactly one group. Notebook 03.
    """
    kind = family(model)
    if kind == "efficientnet":
        groups = {"stem": nn.Sequential(model.conv_stem, model.bn1)}
        groups.update({f"blocks.{i}": block for i, block in enumerate(model.blocks)})
        groups["conv_head"] = nn.Sequential(model.conv_head, model.bn2)
        groups["classifier"] = model.classifier
    elif kind == "resnet":
        groups = {"stem": nn.Sequential(model.conv1, model.bn1)}
        groups.update(
            {name: getattr(model, name) for name in ("layer1", "layer2", "layer3", "layer4")}
        )
        groups["fc"] = model.fc
    else:
        head_path = _head_path_or_none(model)
        groups = dict(_general_groups(model, "", head_path))
    check_partition(model, groups)
    return groups


def _head_path_or_none(model: nn.Module) -> str | None:
    try:
        return find_head(model)[0]
    except ValueError:
        return None


def _holds_parameters(module: nn.Module) -> bool:
    return any(True for _ in module.parameters())


def _general_groups(
    module: nn.Module, prefix: str, head_path: str | None
) -> Iterator[tuple[str, nn.Module]]:
    """Groups of module (at path prefix): open it where the body or the head lies inside."""
    own = dict(module.named_parameters(recurse=False))
    if own:
        if len(own) == 1:
            yield _join(prefix, next(iter(own))), StrayParameters(own)
        else:
            yield _join(prefix, "parameters"), StrayParameters(own)
    children = list(module.named_children())
    if prefix in TRUNKS or _is_head_container(prefix, head_path):
        yield from _sequence_groups(children, prefix, head_path)
        return
    for name, child in children:
        path = _join(prefix, name)
        if not _holds_parameters(child):
            continue
        if _must_open(child, path, head_path):
            yield from _general_groups(child, path, head_path)
        else:
            yield path, child


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _is_head_container(path: str, head_path: str | None) -> bool:
    return head_path is not None and head_path.startswith(path + ".") if path else False


def _must_open(child: nn.Module, path: str, head_path: str | None) -> bool:
    """Open a child that holds the body, the head (inside a container) or stray parameters."""
    if path in TRUNKS or _is_head_container(path, head_path):
        return True
    if any(trunk.startswith(path + ".") for trunk in TRUNKS):
        return any(True for _ in child.parameters(recurse=False)) or _has_trunk(child, path)
    return False


def _has_trunk(child: nn.Module, path: str) -> bool:
    names = {name for name, _ in child.named_modules()}
    return any(trunk.startswith(path + ".") and trunk[len(path) + 1 :] in names for trunk in TRUNKS)


def _sequence_groups(
    children: list[tuple[str, nn.Module]], prefix: str, head_path: str | None
) -> Iterator[tuple[str, nn.Module]]:
    """Groups of a container's children in order: each block its own group, runs of single
    layers cut after each pooling layer, the head alone."""
    run: list[tuple[str, nn.Module]] = []

    def close_run() -> Iterator[tuple[str, nn.Module]]:
        if any(_holds_parameters(m) for _, m in run):
            yield _run_name(prefix, run), nn.Sequential(*(m for _, m in run))
        run.clear()

    for name, child in children:
        path = _join(prefix, name)
        if path == head_path:
            yield from close_run()
            yield path, child
        elif head_path is not None and head_path.startswith(path + "."):
            yield from close_run()
            yield from _general_groups(child, path, head_path)
        elif _is_single_layer(child):
            run.append((name, child))
            if isinstance(child, _POOLING):
                yield from close_run()
        else:
            yield from close_run()
            if _holds_parameters(child):
                yield path, child
    yield from close_run()


def _is_single_layer(module: nn.Module) -> bool:
    """A layer with no sub-layers (Conv2d, ReLU, BatchNorm2d, ...), not a block."""
    return next(module.children(), None) is None


def _run_name(prefix: str, run: list[tuple[str, nn.Module]]) -> str:
    """A run's name: the slice that gives numbered layers ("features[0:5]"), else the names
    of its layers with parameters joined by "+" ("features.conv0+norm0")."""
    names = [name for name, _ in run]
    if all(name.isdigit() for name in names):
        if len(names) == 1:
            return _join(prefix, names[0])
        return f"{prefix}[{names[0]}:{int(names[-1]) + 1}]"
    named = [name for name, module in run if _holds_parameters(module)]
    return _join(prefix, "+".join(named))


def check_partition(model: nn.Module, groups: dict[str, nn.Module]) -> None:
    """Raise ValueError unless the groups hold every parameter of model exactly once."""
    in_groups = [id(p) for group in groups.values() for p in group.parameters()]
    in_model = {id(p) for p in model.parameters()}
    if len(in_groups) != len(set(in_groups)) or set(in_groups) != in_model:
        raise ValueError(
            f"layer groups of {type(model).__name__} do not cover every parameter exactly once"
        )


# -- stages: splitting a model at a group -----------------------------------------------------


def sequential_stages(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """The model as (group name, module) stages that, applied in order, compute model(x).

    Supports timm EfficientNets without dropout before the classifier (as loaded here) and
    torchvision ResNets; the stages share the model's parameters and are named like their
    layer groups. Used to cache what a frozen trunk outputs and train only the stages above
    it. Notebook 03.
    """
    kind = family(model)
    if kind == "efficientnet" and hasattr(model, "global_pool"):
        if getattr(model, "drop_rate", 0.0):
            raise ValueError("model has dropout before its classifier; set model.drop_rate = 0")
        return [
            ("stem", nn.Sequential(model.conv_stem, model.bn1)),
            *((f"blocks.{i}", block) for i, block in enumerate(model.blocks)),
            ("conv_head", nn.Sequential(model.conv_head, model.bn2)),
            ("classifier", nn.Sequential(model.global_pool, model.classifier)),
        ]
    if kind == "resnet" and _has(model, "relu", "maxpool", "avgpool"):
        return [
            ("stem", nn.Sequential(model.conv1, model.bn1, model.relu, model.maxpool)),
            *((name, getattr(model, name)) for name in ("layer1", "layer2", "layer3", "layer4")),
            ("fc", nn.Sequential(model.avgpool, nn.Flatten(1), model.fc)),
        ]
    raise ValueError(f"sequential_stages knows EfficientNet and ResNet, not {type(model).__name__}")


def split_at(model: nn.Module, num_frozen: int) -> tuple[nn.Sequential, nn.Sequential]:
    """(trunk, top): the first num_frozen stages and the rest, so top(trunk(x)) == model(x).

    Notebook 03.
    """
    stages = [module for _, module in sequential_stages(model)]
    if not 0 <= num_frozen < len(stages):
        raise ValueError(f"num_frozen must be in 0..{len(stages) - 1}, got {num_frozen}")
    return nn.Sequential(*stages[:num_frozen]), nn.Sequential(*stages[num_frozen:])
