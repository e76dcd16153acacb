"""Data sets of photos on disk: ImageFolder-like classes that decode each photo once, and the
hymenoptera train/val sets for the course's and the tutorial's recipes. Notebook 04."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
from PIL import Image, UnidentifiedImageError
from torch.utils.data import Dataset
from torchvision import transforms

from helpers.data.photos import _decode_cached, _is_class_folder, _name_rule, load_photo
from helpers.data.preprocessing import (
    CROP_SCALE,
    TUTORIAL_CROP_SCALE,
    TUTORIAL_RESIZE_SIZE,
    _preprocessing,
    train_transform,
    val_transform,
)
from helpers.data.sources import HYMENOPTERA_EXCLUDE, SPLITS, DatasetError
from helpers.models import DEFAULT_BACKBONE, backbone_spec


class PhotoDataset(Dataset):
    """Photos and labels with ImageFolder's attributes; a subclass says where pixels come from.

    Yields (image, label): image (3, size, size) float, normalised for the backbone.
    Has classes, class_to_idx, samples [(path, label)], targets, transform, mean and std.
    """

    def __init__(
        self,
        classes: Sequence[str],
        samples: Sequence[tuple[Path, int]],
        transform: transforms.Compose,
        short_side: int | None,
        mean: tuple[float, ...],
        std: tuple[float, ...],
    ):
        self.classes = list(classes)
        self.class_to_idx = {c: i for i, c in enumerate(self.classes)}
        self.samples = list(samples)
        self.targets = [label for _, label in self.samples]
        self.transform = transform
        self.short_side = short_side
        self.mean, self.std = mean, std

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        return self.transform(self.image(index)), self.targets[index]

    def image(self, index: int) -> Image.Image:
        """The decoded photo (RGB, short side shrunk to short_side), before the transform."""
        raise NotImplementedError


class DecodedImages(PhotoDataset):
    """Every photo decoded once (through the decode cache) and kept in memory as PIL images."""

    advice = "Remove them, or check them with find_bad_images."

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.images, unreadable = [], []
        for path, _ in self.samples:
            try:
                self.images.append(_decode_cached(path, self.short_side))
            except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
                unreadable.append(path)
        if unreadable:
            names = ", ".join(str(p) for p in unreadable)
            raise DatasetError(
                f"PIL cannot decode {len(unreadable)} file(s): {names}. {self.advice}"
            )

    def image(self, index: int) -> Image.Image:
        return self.images[index]


class LazyImages(PhotoDataset):
    """Each photo decoded when it is used: for folders too big to keep decoded in memory."""

    def image(self, index: int) -> Image.Image:
        return load_photo(self.samples[index][0], self.short_side)


class DecodedImageFolder(DecodedImages):
    """Like torchvision's ImageFolder, but every image is decoded once and kept in memory.

    folder holds one sub-folder per class; the photos directly in them (by survey_folder's
    rules for file names) are used, in sorted order, except those named in exclude
    ("ants/x.jpg"). Notebook 04.
    """

    advice = "Remove them, or pass them in exclude= (see find_bad_images)."

    def __init__(
        self,
        folder: Path,
        transform: transforms.Compose,
        short_side: int | None,
        mean: tuple[float, ...],
        std: tuple[float, ...],
        exclude: frozenset[str] = frozenset(),
    ):
        self.root = Path(folder)
        classes, samples = _class_folder_samples(self.root.resolve(), exclude)
        super().__init__(classes, samples, transform, short_side, mean, std)


def _class_folder_samples(
    folder: Path, exclude: frozenset[str]
) -> tuple[list[str], list[tuple[Path, int]]]:
    """(classes, [(photo, class index)]) of the photos directly in folder's class folders, by
    the survey's rules for folders and file names (_is_class_folder, _name_rule)."""
    classes = sorted(p.name for p in folder.iterdir() if _is_class_folder(p))
    if not classes:
        raise DatasetError(f"{folder} has no class folders (expected e.g. ants/ and bees/).")
    samples = []
    for index, cls in enumerate(classes):
        for path in sorted((folder / cls).iterdir()):
            name = f"{cls}/{path.name}"
            if (
                path.is_file()
                and _name_rule((cls, path.name), False) is None
                and name not in exclude
            ):
                samples.append((path, index))
    return classes, samples


def image_datasets(
    root: str | Path,
    size: int = 224,
    augment: bool = True,
    *,
    backbone: str = DEFAULT_BACKBONE,
    exclude: tuple[str, ...] = (),
    crop_scale: tuple[float, float] = CROP_SCALE,
) -> dict[str, DecodedImageFolder]:
    """{"train": ds, "val": ds} for a folder with train/ and val/ class folders. Notebook 04.

    Preprocessing follows the backbone (its mean/std): train gets a random resized crop and a
    flip (unless augment=False; crop_scale: the share of the area a crop keeps), val a resize
    to the backbone's resize size (resize_size_for) and a centre crop. exclude
    names files to leave out, relative to a split, e.g. "ants/imageNotFound.gif".
    """
    root = Path(root)
    split_transforms, resize_size, mean, std = _preprocessing(size, backbone, augment, crop_scale)
    missing = [split for split in SPLITS if not (root / split).is_dir()]
    if missing:
        raise DatasetError(
            f"{root} has no {' or '.join(missing)} folder; pass hymenoptera()'s path."
        )
    excluded = frozenset(exclude)
    return {
        split: DecodedImageFolder(
            root / split, split_transforms[split], resize_size, mean, std, excluded
        )
        for split in SPLITS
    }


def tutorial_datasets(
    root: str | Path,
    *,
    backbone: str = DEFAULT_BACKBONE,
    exclude: tuple[str, ...] = HYMENOPTERA_EXCLUDE,
) -> dict[str, DecodedImageFolder]:
    """{"train": ds, "val": ds} preprocessed as the PyTorch tutorial does it.

    Unlike image_datasets, photos are kept at full resolution (no shrinking before the crop),
    train crops TUTORIAL_CROP_SCALE of the area (8% to 100%) then resizes to 224, val resizes
    the short side to 256 and centre-crops 224; mean and std are the backbone's. Notebook 05
    and benchmarks/strategy_study.py, for the tutorial's fixed feature extractor.
    """
    root = Path(root)
    spec = backbone_spec(backbone)
    split_transforms = {
        "train": train_transform(224, spec.mean, spec.std, crop_scale=TUTORIAL_CROP_SCALE),
        "val": val_transform(224, TUTORIAL_RESIZE_SIZE, spec.mean, spec.std),
    }
    return {
        split: DecodedImageFolder(
            root / split, split_transforms[split], None, spec.mean, spec.std, frozenset(exclude)
        )
        for split in SPLITS
    }
