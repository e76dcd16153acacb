"""Features from a frozen backbone, computed once, cached on disk, and a linear probe on them.

A frozen backbone gives the same features for the same image every time, so a fixed feature
extractor does not need to run the backbone every epoch: run it once, keep the features, and
train only the head on them (seconds instead of minutes). Taught in notebook 05.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset
from tqdm.auto import tqdm

from helpers.anatomy import layer_groups
from helpers.files import save_atomically
from helpers.models import load_backbone, remove_head
from helpers.training import pick_device

CACHE_FORMAT = 1  # bump when the stored layout changes, so old entries are never misread
# Transforms whose output changes from call to call: their features cannot be cached.
_RANDOM_TRANSFORM_MARKERS = ("Random", "ColorJitter", "AutoAugment", "RandAugment", "AugMix")


@torch.no_grad()
def extract_features(
    model: nn.Module,
    loader: DataLoader,
    device: str | torch.device | None = None,
    progress: bool = True,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Run model (eval mode, no gradients) over loader.

    Returns (features (N, D) float32 on the CPU, labels (N,) int64). Pass a backbone whose head
    was removed (models.remove_head) to get its pooled features. Images go through in
    channels-last memory layout, and the model's weights are moved to it (same values): on 2
    CPU cores EfficientNet-Lite0 then runs at 67 instead of 36 images/s (oneDNN's depthwise
    convolutions prefer it). Notebook 05.
    """
    device = pick_device(device)
    model.to(device, memory_format=torch.channels_last).eval()
    features, labels = [], []
    for images, batch_labels in tqdm(loader, desc="features", unit="batch", disable=not progress):
        images = images.to(device)
        if images.dim() == 4:  # (B, C, H, W) images; other inputs keep their layout
            images = images.contiguous(memory_format=torch.channels_last)
        features.append(model(images).flatten(1).float().cpu())
        labels.append(torch.as_tensor(batch_labels))
    return torch.cat(features), torch.cat(labels)


class _StopForward(Exception):
    """Raised by a forward hook once the wanted layer has run: the rest of the model is skipped."""


class LayerFeatures(nn.Module):
    """The globally average-pooled output of one layer group of model: (B, 3, H, W) -> (B, C).

    Runs model's own forward and stops right after the group, so it works for any model whose
    groups helpers.freezing.layer_groups knows (EfficientNet "blocks.3", ResNet "layer2", ...).
    Notebook 05.
    """

    def __init__(self, model: nn.Module, layer: str):
        super().__init__()
        groups = layer_groups(model)
        if layer not in groups:
            raise KeyError(f"Unknown layer group {layer!r}; this model has {list(groups)}")
        self.model, self.layer = model, layer
        # Some groups are wrappers the model's forward never calls (EfficientNet's "stem" is
        # nn.Sequential(conv_stem, bn1), a VGG slice "features[0:5]"): a Sequential's output is
        # its last module's, and the model does call that one.
        target = groups[layer]
        while isinstance(target, nn.Sequential) and len(target):
            target = target[-1]
        self._group = target
        self._output: torch.Tensor | None = None

    def _capture(self, module: nn.Module, inputs, output: torch.Tensor) -> None:
        self._output = output
        raise _StopForward

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        # The hook lives only during this call, so the wrapped model still works on its own.
        handle = self._group.register_forward_hook(self._capture)
        try:
            self.model(images)
        except _StopForward:
            pass
        finally:
            handle.remove()
        if self._output is None:
            raise RuntimeError(f"layer group {self.layer!r} did not run in the model's forward")
        output, self._output = self._output, None
        return output.mean(dim=(2, 3)) if output.dim() == 4 else output.flatten(1)


def feature_extractor(backbone: str, layer: str | None = None) -> nn.Module:
    """A pretrained backbone that outputs features, frozen and in eval mode.

    layer=None: the pooled features the ImageNet head sees (1280 for EfficientNet-Lite0).
    layer="blocks.3" (any layer group name): that group's output, average-pooled. Notebook 05.
    """
    model = load_backbone(backbone, pretrained=True)
    extractor = remove_head(model) if layer is None else LayerFeatures(model, layer)
    for parameter in extractor.parameters():
        parameter.requires_grad = False
    return extractor.eval()


def default_cache_dir() -> Path:
    """$XDG_CACHE_HOME/transfer-course/features (default ~/.cache/...).

    Not beside the data: $COURSE_DATA_DIR may point at a shared, read-only copy.
    """
    cache_home = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache_home) / "transfer-course" / "features"


def dataset_fingerprint(dataset: Dataset) -> str:
    """A short hash of what the dataset holds, without running its transform.

    Uses dataset.fingerprint if it has one (in-memory data sets hash their arrays), else the
    (path, label, size, modification time) of every entry of dataset.samples, so adding,
    removing, relabelling or editing a file changes the fingerprint.
    """
    own = getattr(dataset, "fingerprint", None)
    if own is not None:
        return str(own)
    samples = getattr(dataset, "samples", None)
    if samples is None:
        raise TypeError(
            f"Cannot fingerprint a {type(dataset).__name__}: give it a .samples list of "
            "(path, label) like ImageFolder, or a .fingerprint string that changes with its data."
        )
    digest = hashlib.sha256()
    for path, label in samples:
        stat = os.stat(path)
        digest.update(
            f"{Path(path).resolve()}|{label}|{stat.st_size}|{stat.st_mtime_ns}\n".encode()
        )
    return digest.hexdigest()


def cache_key(backbone: str, dataset: Dataset, layer: str | None = None) -> dict[str, str]:
    """What the cached features depend on: backbone, layer, data and transform (its repr)."""
    transform = repr(getattr(dataset, "transform", None))
    if any(marker in transform for marker in _RANDOM_TRANSFORM_MARKERS):
        raise ValueError(
            "This dataset's transform is random (data augmentation), so its features change "
            "every epoch and cannot be cached. Cache the evaluation transform instead, e.g. "
            "data.image_datasets(root, augment=False)."
        )
    return {
        "format": str(CACHE_FORMAT),
        "backbone": backbone,
        "layer": layer or "pooled",
        "data": dataset_fingerprint(dataset),
        "transform": transform,
    }


def cache_path(key: dict[str, str], cache_dir: str | Path | None = None) -> Path:
    """Where the features for key live: <cache_dir>/<backbone>-<layer>-<hash of key>.pt."""
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:20]
    folder = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    return folder / f"{key['backbone']}-{key['layer']}-{digest}.pt"


def cached_features(
    backbone: str,
    dataset: Dataset,
    *,
    layer: str | None = None,
    cache_dir: str | Path | None = None,
    batch_size: int = 64,
    device: str | torch.device | None = None,
    progress: bool = True,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The backbone's features of every item of dataset, computed once and kept on disk.

    Returns (features (N, D) float32, labels (N,) int64) in dataset order. The cache entry is
    keyed by backbone, layer, the data (file list with sizes and modification times, or the
    dataset's own fingerprint) and the transform's repr: change any of them and the features
    are computed afresh. Writes go to a temporary file renamed into place, so an interrupted
    run never leaves a half-written entry. Refuses random (augmenting) transforms. Notebook 05.
    """
    key = cache_key(backbone, dataset, layer)
    path = cache_path(key, cache_dir)
    if path.exists():
        stored = torch.load(path, weights_only=True)
        if stored.get("key") == key:
            return stored["features"], stored["labels"]
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=False)
    features, labels = extract_features(
        feature_extractor(backbone, layer), loader, device, progress
    )
    save_atomically({"key": key, "features": features, "labels": labels}, path)
    return features, labels


def train_linear_probe(
    features: torch.Tensor,
    labels: torch.Tensor,
    *,
    num_classes: int | None = None,
    weight_decay: float = 1e-3,
    steps: int = 300,
    lr: float = 0.01,
    seed: int = 0,
) -> nn.Linear:
    """An L2-regularised logistic regression (nn.Linear(D, C)) trained on fixed features.

    features: (N, D) float; labels: (N,) int64. Full-batch Adam on the cross-entropy, so it
    takes well under a second for a few thousand rows. The result is a head: put it on the
    backbone (in place of its classifier) and you have the fixed-extractor model. Notebook 05.
    """
    if len(features) != len(labels) or len(features) == 0:
        raise ValueError(f"need as many labels as feature rows, got {len(features)}/{len(labels)}")
    num_classes = num_classes or int(labels.max()) + 1
    generator = torch.Generator().manual_seed(seed)
    head = nn.Linear(features.shape[1], num_classes)
    with torch.no_grad():
        bound = 1 / features.shape[1] ** 0.5
        head.weight.uniform_(-bound, bound, generator=generator)
        head.bias.zero_()
    optimizer = torch.optim.Adam(head.parameters(), lr=lr)
    criterion = nn.CrossEntropyLoss()
    features, labels = features.float(), labels.long()
    with torch.enable_grad():
        for _ in range(steps):
            optimizer.zero_grad(set_to_none=True)
            loss = criterion(head(features), labels) + weight_decay * head.weight.pow(2).sum()
            loss.backward()
            optimizer.step()
    return head.eval()


@torch.no_grad()
def probe_accuracy(head: nn.Module, features: torch.Tensor, labels: torch.Tensor) -> float:
    """Fraction of rows of features (N, D) whose argmax of head(features) equals labels (N,)."""
    return (head(features.float()).argmax(dim=1) == labels).float().mean().item()
