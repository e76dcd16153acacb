"""How a photo becomes a backbone's input: the transforms (training crop and flip, validation
resize and centre crop), the resize ratio and the one interpolation. Notebooks 02, 04, 06."""

from __future__ import annotations

from torchvision import transforms

from helpers.models import backbone_spec

# RandomResizedCrop keeps 35-100% of a photo's area (torchvision's default is 8-100%): on
# 224 px photos of small insects an 8% crop often shows no insect at all. Notebook 04 measures it.
CROP_SCALE = (0.35, 1.0)
# The PyTorch tutorial's transforms: RandomResizedCrop(224) at torchvision's default scale,
# cropped from the full-resolution photo; Resize(256) and CenterCrop(224) for validation.
TUTORIAL_CROP_SCALE = (0.08, 1.0)
TUTORIAL_RESIZE_SIZE = 256
# How every photo is resized, for every backbone: bilinear. timm's config for
# tf_efficientnet_lite0 names bicubic; benchmarks/interpolation.py measured both on ImageNet's
# own head: 389 of 397 hymenoptera photos right either way (the very same photos), and bilinear
# resizes in about half the time. The course's other resize, the shrink on decoding, matches it.
INTERPOLATION = transforms.InterpolationMode.BILINEAR


def train_transform(
    size: int, mean, std, crop_scale: tuple[float, float] = CROP_SCALE
) -> transforms.Compose:
    """Random resized crop (crop_scale of the area) and flip."""
    return transforms.Compose(
        [
            transforms.RandomResizedCrop(
                size, scale=crop_scale, interpolation=INTERPOLATION, antialias=True
            ),
            transforms.RandomHorizontalFlip(),
            transforms.ToTensor(),
            transforms.Normalize(mean, std),
        ]
    )


def val_transform(size: int, resize_size: int, mean, std) -> transforms.Compose:
    """Resize the short side to resize_size, then centre-crop size x size."""
    return transforms.Compose(
        [
            transforms.Resize(resize_size, interpolation=INTERPOLATION, antialias=True),
            transforms.CenterCrop(size),
            transforms.ToTensor(),
            transforms.Normalize(mean, std),
        ]
    )


def resize_size_for(size: int, backbone: str) -> int:
    """The short side to resize to before a size x size centre crop: the backbone's ratio
    (256 for 224), scaled with size."""
    spec = backbone_spec(backbone)
    return round(size * spec.resize_size / spec.input_size)


def backbone_val_transform(backbone: str, size: int | None = None) -> transforms.Compose:
    """The validation transform a backbone expects: resize, centre crop size x size (default
    its input size), its own mean and std. Notebooks 01 and 06."""
    spec = backbone_spec(backbone)
    size = size or spec.input_size
    return val_transform(size, resize_size_for(size, backbone), spec.mean, spec.std)


def _preprocessing(
    size: int, backbone: str, augment: bool, crop_scale: tuple[float, float]
) -> tuple[dict[str, transforms.Compose], int, tuple, tuple]:
    """({"train": transform, "val": transform}, resize size, mean, std) for a backbone."""
    spec = backbone_spec(backbone)
    resize_size = resize_size_for(size, backbone)
    val = val_transform(size, resize_size, spec.mean, spec.std)
    train = train_transform(size, spec.mean, spec.std, crop_scale) if augment else val
    return {"train": train, "val": val}, resize_size, spec.mean, spec.std
