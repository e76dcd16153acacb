"""Which files are photos, and decoding them: load_photo (upright 8-bit RGB, shrunk on decoding) and
the decode cache (keyed on a file's path, size and modification time). Notebooks 04 and 06."""

from __future__ import annotations

import errno
import os
from collections import OrderedDict
from pathlib import Path
from stat import S_ISREG
from typing import BinaryIO

import numpy as np
from PIL import ExifTags, Image, ImageOps
from torchvision import transforms

from helpers.data import preprocessing
from helpers.data.sources import SPLITS

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".gif", ".bmp", ".webp", ".tif", ".tiff")
# A learner's folder (survey_folder, folder_datasets). HEIC is listed so that it is skipped with
# advice rather than as "not a photo": PIL reads it only with the pillow-heif plug-in.
PHOTO_SUFFIXES = (*IMAGE_SUFFIXES, ".avif", ".heic", ".heif")
HEIC_SUFFIXES = (".heic", ".heif")
SYSTEM_FILES = {
    ".ds_store": "macOS folder settings",
    "thumbs.db": "a Windows thumbnail cache",
    "ehthumbs.db": "a Windows thumbnail cache",
    "desktop.ini": "Windows folder settings",
}
SYSTEM_FOLDERS = ("__MACOSX",)  # what macOS's "Compress" adds to a zip
DECODE_CACHE_BYTES = 2 * 1024**3  # the decode cache forgets the least recently used beyond this
# Decoding. Measured on 2 CPU cores (benchmarks/decode_cache.py, 2026-11-24): one pass over the
# 245 hymenoptera training photos takes 0.14 s from memory against 0.47 s when every file is
# decoded again each epoch, as torchvision's ImageFolder does (3.4x), after a one-off 0.84 s
# decode. Most photos here are small, so data loading is a few percent of a training epoch
# either way (the model's forward and backward take about 25 s); the gain matters most when the
# model is cheap: cached features, a GPU, or larger photos.
# The PIL filter of each torchvision interpolation: the shrink on decoding resizes as the
# transforms do (preprocessing.INTERPOLATION).
_PIL_RESAMPLING = {
    transforms.InterpolationMode.BILINEAR: Image.Resampling.BILINEAR,
    transforms.InterpolationMode.BICUBIC: Image.Resampling.BICUBIC,
}
_ORIENTATION = ExifTags.Base.Orientation
_SIXTEEN_BIT_MODES = ("I", "I;16", "I;16B", "I;16L", "I;16N")
_ALPHA_MODES = ("RGBA", "RGBa", "LA", "La", "PA")
# (path, short_side) -> (file size, modification time in ns, image); least recently used first.
_decoded: OrderedDict[tuple[str, int], tuple[int, int, Image.Image]] = OrderedDict()
# path -> (size, mtime_ns, what the survey saw: a survey._Probe), forgotten with the photos
_probed: dict[str, tuple[int, int, object]] = {}
_cache_counts = {"hits": 0, "misses": 0, "bytes": 0}


def load_photo(path: str | Path | BinaryIO, short_side: int | None = None) -> Image.Image:
    """A photo (a file, or an open binary file such as io.BytesIO(upload)) as upright 8-bit
    RGB, its short side shrunk to short_side (never enlarged).

    Turns phone photos upright (EXIF orientation), puts transparent pixels on white, scales
    16-bit images to 8 bits and reads the first frame of an animated GIF. JPEGs decode at 1/2,
    1/4 or 1/8 scale when that still leaves short_side pixels (PIL's draft mode). The one way
    the course opens a photo: for training, prediction and uploads. Notebook 06.
    """
    with Image.open(path) as image:
        return _decode(image, short_side)


def _decode(image: Image.Image, short_side: int | None) -> Image.Image:
    image = _upright_rgb(image, short_side)
    if short_side is None:
        return image
    size = _shrunk_size(image.width, image.height, short_side)
    if size != image.size:
        image = image.resize(size, _PIL_RESAMPLING[preprocessing.INTERPOLATION], reducing_gap=3.0)
    return image


def _upright_rgb(image: Image.Image, short_side: int | None) -> Image.Image:
    """image decoded upright in 8-bit RGB; a JPEG at the smallest scale that keeps short_side."""
    if short_side is not None:
        image.draft("RGB", (short_side, short_side))  # JPEG only: decode at 1/2, 1/4 or 1/8
    ImageOps.exif_transpose(image, in_place=True)  # no-op without an orientation tag
    return _to_rgb(image)


def _to_rgb(image: Image.Image) -> Image.Image:
    """8-bit RGB. Transparent pixels go on white (converting drops alpha, which shows black)."""
    if image.mode in _SIXTEEN_BIT_MODES:  # convert() would clip at 255: keep the top 8 bits
        pixels = np.clip(np.asarray(image, dtype=np.int64), 0, 65535) >> 8
        image = Image.fromarray(pixels.astype(np.uint8))
    if image.mode in _ALPHA_MODES or "transparency" in image.info:
        rgba = image.convert("RGBA")
        image = Image.alpha_composite(Image.new("RGBA", rgba.size, "white"), rgba)
    return image.convert("RGB")


def _shrunk_size(width: int, height: int, short_side: int) -> tuple[int, int]:
    """(width, height) scaled so the short side is short_side, if it is longer."""
    scale = short_side / min(width, height)
    if scale >= 1:
        return width, height
    return max(short_side, round(width * scale)), max(short_side, round(height * scale))


def _file_stamp(path: Path) -> tuple[int, int]:
    stat = os.stat(path)
    if not S_ISREG(stat.st_mode):  # reading a pipe or a device would hang or never end
        raise OSError(errno.EINVAL, "not a regular file", os.fspath(path))
    return stat.st_size, stat.st_mtime_ns


def _decode_cached(path: Path, short_side: int | None) -> Image.Image:
    """load_photo(path, short_side), from the cache while the file's size and mtime stay."""
    key = (os.fspath(path), short_side)
    stamp = _file_stamp(path)
    entry = _decoded.get(key)
    if entry is not None and entry[:2] == stamp:
        _decoded.move_to_end(key)
        _cache_counts["hits"] += 1
        return entry[2]
    image = load_photo(path, short_side)
    _cache_counts["misses"] += 1
    if entry is not None:  # the file changed: forget its old pixels
        _cache_counts["bytes"] -= _image_bytes(entry[2])
    _decoded[key] = (*stamp, image)
    _decoded.move_to_end(key)
    _cache_counts["bytes"] += _image_bytes(image)
    while _cache_counts["bytes"] > DECODE_CACHE_BYTES and len(_decoded) > 1:
        _, (_, _, oldest) = _decoded.popitem(last=False)
        _cache_counts["bytes"] -= _image_bytes(oldest)
    return image


def _image_bytes(image: Image.Image) -> int:
    return image.width * image.height * len(image.getbands())


def clear_decode_cache() -> None:
    """Forget every decoded photo and every surveyed file, e.g. to time a first decode."""
    _decoded.clear()
    _probed.clear()
    _cache_counts.update(hits=0, misses=0, bytes=0)


def decode_cache_info() -> dict[str, int]:
    """{"images", "bytes", "hits", "misses", "surveyed_files"}: what the decode cache holds."""
    return {
        "images": len(_decoded),
        "bytes": _cache_counts["bytes"],
        "hits": _cache_counts["hits"],
        "misses": _cache_counts["misses"],
        "surveyed_files": len(_probed),
    }


def _name_rule(parts: tuple[str, ...], split_layout: bool) -> str | None:
    """Why a file is skipped from its place and name alone (parts: relative to the folder)."""
    *folders, name = parts
    for part in folders:
        if part in SYSTEM_FOLDERS:
            return f"inside {part}/, the metadata macOS adds to a zip: not photos"
        if part.startswith("."):
            return f"inside the hidden folder {part}/ (e.g. Jupyter's checkpoints): not photos"
    if name.lower() in SYSTEM_FILES:
        return f"{SYSTEM_FILES[name.lower()]}, not a photo"
    if name.startswith("._"):
        return "macOS metadata left beside a copied file, not a photo"
    if name.startswith("."):
        return "hidden file, not a photo"
    if split_layout and folders and folders[0] not in SPLITS:
        return "outside train/ and val/: only those two folders are read"
    if len(folders) < (2 if split_layout else 1):
        where = "train/<class>/ or val/<class>/" if split_layout else "the folder of its class"
        return f"not in a class folder: move it into {where}"
    suffix = Path(name).suffix.lower()
    if not suffix:
        return "no file extension: if it is a photo, rename it to end in .jpg or .png"
    if suffix not in PHOTO_SUFFIXES:
        return f"not a photo file type ({suffix})"
    return None


def _is_class_folder(path: Path) -> bool:
    return path.is_dir() and not path.name.startswith(".") and path.name not in SYSTEM_FOLDERS


def _files_under(folder: Path) -> list[Path]:
    """Every file under folder, following linked folders (each real folder once), sorted."""
    files, seen = [], set()
    for directory, subfolders, names in os.walk(folder, followlinks=True):
        real = os.path.realpath(directory)
        if real in seen:
            subfolders.clear()
            continue
        seen.add(real)
        files.extend(Path(directory, name) for name in names)
    return sorted(files, key=lambda path: path.relative_to(folder).as_posix())
