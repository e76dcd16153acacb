"""Image data: the hymenoptera (ants/bees) set and a learner's own folder of photos.

Find or download hymenoptera, survey a folder of photos before training, split it, decode each
photo once (an explicit cache keyed on the file's path, size and modification time) or, for big
folders, on the fly. Taught in notebooks 04 (hymenoptera) and 06 (your own photos); used by 01,
03 and 05.
"""

from __future__ import annotations

import dataclasses
import errno
import hashlib
import io
import multiprocessing
import os
import random
import shutil
import tempfile
import urllib.request
import zipfile
import zlib
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from stat import S_ISREG
from typing import BinaryIO

import numpy as np
import torch
from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError
from torch.utils.data import DataLoader, Dataset, Subset
from torchvision import transforms
from tqdm.auto import tqdm

from helpers.files import shown
from helpers.machine import cpu_limit
from helpers.models import DEFAULT_BACKBONE, backbone_spec

HYMENOPTERA_URL = "https://download.pytorch.org/tutorial/hymenoptera_data.zip"
DATASET_FOLDER = "hymenoptera_data"
SPLITS = ("train", "val")
CLASSES = ("ants", "bees")
EXPECTED_COUNTS = {
    ("train", "ants"): 124,
    ("train", "bees"): 121,
    ("val", "ants"): 70,
    ("val", "bees"): 83,
}
# RandomResizedCrop keeps 35-100% of a photo's area (torchvision's default is 8-100%): on
# 224 px photos of small insects an 8% crop often shows no insect at all. Notebook 04 measures it.
CROP_SCALE = (0.35, 1.0)
# The one exclusion list of the hymenoptera photos, used by every notebook and study: the
# placeholder "image not found" drawing among the ant photos (notebook 04 finds it).
HYMENOPTERA_EXCLUDE = ("ants/imageNotFound.gif",)
# The PyTorch tutorial's transforms: RandomResizedCrop(224) at torchvision's default scale,
# cropped from the full-resolution photo; Resize(256) and CenterCrop(224) for validation.
TUTORIAL_CROP_SCALE = (0.08, 1.0)
TUTORIAL_RESIZE_SIZE = 256
# How every photo is resized, for every backbone: bilinear. timm's config for
# tf_efficientnet_lite0 names bicubic; benchmarks/interpolation.py measured both on ImageNet's
# own head: 389 of 397 hymenoptera photos right either way (the very same photos), and bilinear
# resizes in about half the time. The course's other resize, the shrink on decoding, matches it.
INTERPOLATION = transforms.InterpolationMode.BILINEAR
_PIL_RESAMPLING = {
    transforms.InterpolationMode.BILINEAR: Image.Resampling.BILINEAR,
    transforms.InterpolationMode.BICUBIC: Image.Resampling.BICUBIC,
}
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".gif", ".bmp", ".webp", ".tif", ".tiff")
DATA_DIR_VARIABLE = "COURSE_DATA_DIR"

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
FEW_IMAGES = 10  # survey_folder warns about a class with fewer photos than this
IMBALANCE_RATIO = 3.0  # ... about a largest/smallest class ratio above this
TINY_SIDE = 32  # ... and about photos whose short side is below this (pixels)
PROBE_SIDE = 32  # the survey decodes every photo this small, to prove that it decodes
# Decoding every photo once into memory suits hundreds or a few thousand photos. Above this
# estimated decoded size, folder_datasets decodes each photo when it is used instead.
MEMORY_BUDGET_BYTES = 2 * 1024**3
DECODE_CACHE_BYTES = 2 * 1024**3  # the decode cache forgets the least recently used beyond this
MAX_LOADER_WORKERS = 4


class DatasetError(RuntimeError):
    """The data set is missing, incomplete or undownloadable; the message says what to do."""


def data_dir() -> Path:
    """Where the course keeps data: $COURSE_DATA_DIR if set, else `<repo>/data`."""
    configured = os.environ.get(DATA_DIR_VARIABLE)
    if configured:
        return Path(configured).expanduser().resolve()
    repo = _repository()
    return repo / "data" if repo is not None else Path.cwd() / "data"


def _repository() -> Path | None:
    """The course's repository when helpers is installed from it (editable), else None."""
    repo = Path(__file__).resolve().parent.parent
    return repo if (repo / "pyproject.toml").exists() else None


def hymenoptera(root: str | Path | None = None, download: bool = True) -> Path:
    """Path of `hymenoptera_data/` (train/val x ants/bees), downloading it once if needed.

    root: the folder that holds (or will hold) `hymenoptera_data/`; default `data_dir()`.
    The download goes to a temporary file, is extracted into a temporary folder (refusing
    any entry that would land outside it), checked, and only then renamed into place, so an
    interrupted or bad download never leaves a half-written `hymenoptera_data/`. Notebook 04.
    """
    root = Path(root) if root is not None else data_dir()
    target = root / DATASET_FOLDER
    if target.exists():
        check_structure(target)
        return target
    url = HYMENOPTERA_URL  # looked up now, so a mirror or a test can point it elsewhere
    if not download:
        raise DatasetError(
            f"The hymenoptera data set is not in {target}.\n"
            f"Set {DATA_DIR_VARIABLE} to a folder that contains {DATASET_FOLDER}/, or call "
            f"hymenoptera(download=True) to fetch it (45 MB) from {url}."
        )
    root.mkdir(parents=True, exist_ok=True)
    _download_and_extract(url, root, target)
    return target


def _download_and_extract(url: str, root: Path, target: Path) -> None:
    with tempfile.TemporaryDirectory(dir=root, prefix=".hymenoptera-download-") as scratch:
        archive = Path(scratch) / "hymenoptera_data.zip"
        _download(url, archive)
        extracted = Path(scratch) / "extracted"
        _safe_extract(archive, extracted)
        candidate = extracted / DATASET_FOLDER
        if not candidate.is_dir():
            raise DatasetError(f"{url} does not contain a top-level {DATASET_FOLDER}/ folder.")
        check_structure(candidate)
        os.replace(candidate, target)


def _download(url: str, destination: Path) -> None:
    """Stream url to destination with a progress bar."""
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            total = int(response.headers.get("Content-Length") or 0) or None
            with (
                open(destination, "wb") as file,
                tqdm(total=total, unit="B", unit_scale=True, desc="hymenoptera_data.zip") as bar,
            ):
                while chunk := response.read(1 << 20):
                    file.write(chunk)
                    bar.update(len(chunk))
    except OSError as error:  # URLError is an OSError
        raise DatasetError(
            f"Could not download {url}: {error}.\nIf this machine is offline, download the zip "
            f"elsewhere, unzip it into a folder, and set {DATA_DIR_VARIABLE} to that folder."
        ) from error


def _safe_extract(archive: Path, destination: Path) -> None:
    """Extract a zip, refusing entries that would land outside destination."""
    destination.mkdir()
    base = destination.resolve()
    try:
        with zipfile.ZipFile(archive) as zf:
            for member in zf.infolist():
                path = (base / member.filename).resolve()
                if not path.is_relative_to(base):
                    raise DatasetError(
                        f"Refusing to extract {archive.name}: entry {member.filename!r} would be "
                        "written outside the target folder."
                    )
            zf.extractall(base)
    except (zipfile.BadZipFile, EOFError, zlib.error) as error:
        raise DatasetError(
            f"The downloaded archive is damaged ({error}); nothing was kept. "
            "Run hymenoptera() again to download it afresh."
        ) from error


def check_structure(folder: Path) -> None:
    """Raise DatasetError unless folder has train/val x ants/bees with the expected file counts."""
    problems = []
    for (split, cls), expected in EXPECTED_COUNTS.items():
        class_dir = folder / split / cls
        found = sum(1 for p in class_dir.iterdir() if p.is_file()) if class_dir.is_dir() else 0
        if found != expected:
            problems.append(f"{split}/{cls}: {found} files, expected {expected}")
    if problems:
        raise DatasetError(
            f"{folder} is not a complete hymenoptera data set ({'; '.join(problems)}).\n"
            "Delete that folder and call hymenoptera() to download it again, or point "
            f"{DATA_DIR_VARIABLE} at a complete copy."
        )


def find_bad_images(root: str | Path) -> list[Path]:
    """Photos under root (by the survey's rules for names: _name_rule) that PIL cannot fully
    decode, sorted. Notebook 04."""
    root = Path(root)
    split_layout = all((root / split).is_dir() for split in SPLITS)
    bad = []
    for path in _files_under(root):
        if _name_rule(path.relative_to(root).parts, split_layout) is None:
            try:
                with Image.open(path) as image:
                    image.load()
            except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
                bad.append(path)
    return bad


# Decoding. Measured on 2 CPU cores (benchmarks/decode_cache.py, 2026-11-24): one pass over the
# 245 hymenoptera training photos takes 0.14 s from memory against 0.47 s when every file is
# decoded again each epoch, as torchvision's ImageFolder does (3.4x), after a one-off 0.84 s
# decode. Most photos here are small, so data loading is a few percent of a training epoch
# either way (the model's forward and backward take about 25 s); the gain matters most when the
# model is cheap: cached features, a GPU, or larger photos.

_ORIENTATION = ExifTags.Base.Orientation
_SIXTEEN_BIT_MODES = ("I", "I;16", "I;16B", "I;16L", "I;16N")
_ALPHA_MODES = ("RGBA", "RGBa", "LA", "La", "PA")
# (path, short_side) -> (file size, modification time in ns, image); least recently used first.
_decoded: OrderedDict[tuple[str, int], tuple[int, int, Image.Image]] = OrderedDict()
_probed: dict[str, tuple[int, int, _Probe]] = {}  # path -> (size, mtime_ns, what the survey saw)
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
        image = image.resize(size, _PIL_RESAMPLING[INTERPOLATION], reducing_gap=3.0)
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


@dataclasses.dataclass(frozen=True)
class _Probe:
    """What the survey learnt from a file: content hash, upright size, file format, colour mode
    and distinct colours (counted on the small decode), or why it is unusable."""

    digest: str | None
    size: tuple[int, int] | None
    problem: str | None
    format: str | None = None
    mode: str | None = None
    colours: int | None = None


def _probe(path: Path) -> _Probe:
    """Read a file once: hash its bytes, read its size from the header, and decode it small."""
    try:
        stamp = _file_stamp(path)
        cached = _probed.get(os.fspath(path))
        if cached is not None and cached[:2] == stamp:
            return cached[2]
        content = path.read_bytes()
    except OSError as error:
        return _Probe(None, None, f"cannot be read ({error.strerror or error})")
    probe = _inspect(path, content, hashlib.sha256(content).hexdigest())
    _probed[os.fspath(path)] = (*stamp, probe)
    return probe


def _inspect(path: Path, content: bytes, digest: str) -> _Probe:
    """What a photo that decodes is (upright size, format, mode, colours), else why not."""
    if not content:
        return _Probe(digest, None, "empty file (0 bytes): copy the photo again")
    try:
        with Image.open(io.BytesIO(content)) as image:
            width, height = image.size
            format_, mode = image.format, image.mode
            if image.getexif().get(_ORIENTATION) in (5, 6, 7, 8):  # turned by 90 degrees
                width, height = height, width
            small = _upright_rgb(image, PROBE_SIDE)
            colours = len(small.getcolors(small.width * small.height))
    except UnidentifiedImageError:
        if path.suffix.lower() in HEIC_SUFFIXES:
            return _Probe(digest, None, (
                "HEIC photo (an iPhone's format), which PIL cannot read here: convert it to "
                "JPEG (on the iPhone: Settings > Camera > Formats > Most Compatible; on a Mac: "
                "open it in Preview, File > Export, JPEG)"
            ))  # fmt: skip
        reason = f"not an image that PIL can read, despite its {path.suffix} name"
        return _Probe(digest, None, reason)
    except Image.DecompressionBombError:
        reason = "too large to decode safely (PIL's limit against decompression bombs)"
        return _Probe(digest, None, reason)
    except Exception as error:  # a damaged file can make a decoder raise almost anything
        return _Probe(digest, None, f"damaged: PIL cannot decode it ({error})")
    return _Probe(digest, (width, height), None, format_, mode, colours)


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


@dataclasses.dataclass(repr=False)
class FolderSurvey:
    """What survey_folder found; print it, or let a notebook show it as a table.

    classes: sorted class names. used: {class: photos that folder_datasets uses, sorted}.
    splits: {"train": {class: photos}, "val": {...}} when the folder has train/ and val/, else
    None (folder_datasets splits used). sizes: {photo: upright (width, height)}. skipped:
    [(file, why)] for every other file. warnings: what hurts results. errors: what stops
    folder_datasets. digests: {photo: SHA-256 of its bytes}. facts: {photo: (file format,
    colour mode, distinct colours in the small decode)}, for viz.survey_images.
    """

    folder: Path
    classes: list[str]
    used: dict[str, list[Path]]
    splits: dict[str, dict[str, list[Path]]] | None
    sizes: dict[Path, tuple[int, int]]
    skipped: list[tuple[Path, str]]
    warnings: list[str] = dataclasses.field(default_factory=list)
    errors: list[str] = dataclasses.field(default_factory=list)
    digests: dict[Path, str] = dataclasses.field(default_factory=dict)
    facts: dict[Path, tuple[str, str, int]] = dataclasses.field(default_factory=dict)

    @property
    def counts(self) -> dict[str, int]:
        """{class: number of usable photos}."""
        return {cls: len(self.used[cls]) for cls in self.classes}

    @property
    def size_summary(self) -> dict[str, tuple[int, int]]:
        """{"min", "median", "max"}: (width, height) of the photos with that pixel count."""
        if not self.sizes:
            return {}
        ordered = sorted(self.sizes.values(), key=lambda size: (size[0] * size[1], size))
        return {"min": ordered[0], "median": ordered[len(ordered) // 2], "max": ordered[-1]}

    def decoded_bytes(self, short_side: int) -> int:
        """Memory that the used photos take decoded, RGB, shrunk to short_side (load_photo)."""
        return sum(
            3 * w * h for w, h in (_shrunk_size(*s, short_side) for s in self.sizes.values())
        )

    def relative(self, path: Path) -> str:
        """path relative to the surveyed folder, with / separators."""
        return path.relative_to(self.folder).as_posix()

    def _table(self) -> list[list[str]]:
        if self.splits is None:
            rows = [["class", "photos"]]
            rows += [[cls, str(n)] for cls, n in self.counts.items()]
            return [*rows, ["total", str(sum(self.counts.values()))]]
        rows = [["class", *SPLITS, "total"]]
        for cls in self.classes:
            split_counts = [len(self.splits[split].get(cls, [])) for split in SPLITS]
            rows.append([cls, *map(str, split_counts), str(sum(split_counts))])
        totals = [sum(len(paths) for paths in self.splits[split].values()) for split in SPLITS]
        return [*rows, ["total", *map(str, totals), str(sum(totals))]]

    def _size_line(self) -> str:
        summary = self.size_summary
        if not summary:
            return "no usable photos"
        return "photo sizes (width x height): " + ", ".join(
            f"{name} {w}x{h}" for name, (w, h) in summary.items()
        )

    def _layout(self) -> str:
        return "train/ and val/ as given" if self.splits else "one folder per class, unsplit"

    def __str__(self, examples: int = 10) -> str:
        table = self._table()
        widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
        lines = [f"{shown(self.folder)} ({self._layout()})"]
        for name, *numbers in table:
            cells = [name.ljust(widths[0]), *map(str.rjust, numbers, widths[1:])]
            lines.append("  " + "  ".join(cells))
        lines.append(self._size_line())
        lines.append(f"{len(self.skipped)} file(s) skipped" + (":" if self.skipped else ""))
        lines += [f"  {self.relative(path)}: {why}" for path, why in self.skipped[:examples]]
        if len(self.skipped) > examples:
            lines.append(f"  ... and {len(self.skipped) - examples} more (see .skipped)")
        for title, items in (("Warnings", self.warnings), ("Errors", self.errors)):
            if items:
                lines.append(f"{title}:")
                lines += [f"  - {item}" for item in items]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (
            f"FolderSurvey({shown(self.folder)!r}: {len(self.classes)} classes, "
            f"{sum(self.counts.values())} photos used, {len(self.skipped)} skipped, "
            f"{len(self.warnings)} warnings, {len(self.errors)} errors)"
        )

    def _repr_markdown_(self, examples: int = 10) -> str:
        table = self._table()
        lines = [f"**Survey of `{shown(self.folder)}`** ({self._layout()})", ""]
        lines += ["| " + " | ".join(row) + " |" for row in table[:1]]
        lines.append("|" + "---|" + "---:|" * (len(table[0]) - 1))
        lines += ["| " + " | ".join(row) + " |" for row in table[1:]]
        lines += ["", self._size_line(), ""]
        sections = [
            ("Errors (folder_datasets refuses the folder until they are fixed)", self.errors),
            ("Warnings", self.warnings),
            (
                f"Skipped files ({len(self.skipped)})",
                [f"`{self.relative(p)}`: {why}" for p, why in self.skipped[:examples]]
                + (
                    [f"... and {len(self.skipped) - examples} more"]
                    * (len(self.skipped) > examples)
                ),
            ),
        ]
        for title, items in sections:
            if items:
                lines += [f"**{title}**", ""] + [f"- {item}" for item in items] + [""]
        return "\n".join(lines)


def survey_folder(folder: str | Path, exclude: Sequence[str] = ()) -> FolderSurvey:
    """Look at a folder of photos before training on it: counts, sizes, skipped files, warnings.

    folder holds one sub-folder per class (photos in deeper sub-folders count for their top
    class folder), or train/ and val/ that each hold the class folders. Every file is either
    used or listed in .skipped with the reason: hidden and system files, files outside a class
    folder, other file types, and files PIL cannot decode (each photo is decoded, small, to be
    sure). exclude: files to leave out, relative to folder ("ants/imageNotFound.gif"), listed
    as skipped. Warnings: few photos in a class, imbalanced classes, the same file in two
    classes or in both splits, tiny photos. folder_datasets uses exactly these rules. Notebook 06.
    """
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise DatasetError(
            f"{folder} is not a folder. Pass the folder that holds one sub-folder of photos "
            "per class, e.g. photos/ with photos/cats/ and photos/dogs/."
        )
    folder = folder.resolve()
    split_layout = all((folder / split).is_dir() for split in SPLITS)
    places = SPLITS if split_layout else ("",)
    found = {
        place: sorted(p.name for p in (folder / place).iterdir() if _is_class_folder(p))
        for place in places
    }
    classes = sorted({cls for names in found.values() for cls in names})
    by_place = {place: {cls: [] for cls in classes} for place in places}
    sizes, digests, facts, skipped = {}, {}, {}, []
    excluded = {Path(name).as_posix() for name in exclude}
    for path in _files_under(folder):
        parts = path.relative_to(folder).parts
        why = "excluded by you (exclude=)" if "/".join(parts) in excluded else None
        why = why or _name_rule(parts, split_layout)
        probe = None if why else _probe(path)
        why = why or probe.problem
        if why:
            skipped.append((path, why))
            continue
        place, cls = (parts[0], parts[1]) if split_layout else ("", parts[0])
        by_place[place][cls].append(path)
        sizes[path], digests[path] = probe.size, probe.digest
        facts[path] = (probe.format, probe.mode, probe.colours)
    # files came in sorted order, and train/ sorts before val/, so these lists are sorted too
    used = {cls: [p for place in places for p in by_place[place][cls]] for cls in classes}
    survey = FolderSurvey(
        folder, classes, used, by_place if split_layout else None, sizes, skipped,
        digests=digests, facts=facts,
    )  # fmt: skip
    survey.errors = _survey_errors(survey)
    survey.warnings = _survey_warnings(survey)
    return survey


def _survey_errors(survey: FolderSurvey) -> list[str]:
    """What stops training: fewer than 2 classes, a class without a usable photo."""
    where = "train/ and val/" if survey.splits else str(survey.folder)
    if not survey.classes:
        return [
            f"no class folders in {where}: put the photos in one sub-folder per class, "
            "e.g. cats/ and dogs/"
        ]
    errors = []
    if len(survey.classes) < 2:
        errors.append(
            f"only one class folder ({survey.classes[0]}/): a classifier needs at least two, "
            "e.g. cats/ and dogs/"
        )
    training_photos = survey.splits["train"] if survey.splits else survey.used
    for cls in survey.classes:
        if not training_photos[cls]:
            place = f"train/{cls}/" if survey.splits else f"{cls}/"
            errors.append(
                f"{place} has no usable photo (empty, or every file in it was skipped): add "
                "photos or delete the folder"
            )
    return errors


def _survey_warnings(survey: FolderSurvey) -> list[str]:
    """What hurts results: few or imbalanced photos, duplicates, tiny photos."""
    warnings = []
    counts = survey.counts
    for cls, n in counts.items():
        if 0 < n < FEW_IMAGES:
            warnings.append(
                f"'{cls}' has only {n} photo(s): aim for at least {FEW_IMAGES} per class "
                "(50 or more gives steadier results)"
            )
    nonempty = {cls: n for cls, n in counts.items() if n}
    if len(nonempty) >= 2:
        largest, smallest = max(nonempty, key=nonempty.get), min(nonempty, key=nonempty.get)
        ratio = nonempty[largest] / nonempty[smallest]
        if ratio > IMBALANCE_RATIO:
            warnings.append(
                f"imbalanced classes: '{largest}' has {nonempty[largest]} photos, '{smallest}' "
                f"{nonempty[smallest]} ({ratio:.1f}x): a model can score well by mostly "
                f"answering '{largest}'; add photos of the small classes, and read per-class "
                "accuracy, not only the overall one"
            )
    if survey.splits:
        for cls in survey.classes:
            if survey.used[cls] and not survey.splits["val"][cls]:
                warnings.append(f"val/{cls}/ has no photo: its accuracy cannot be measured")
    warnings += _duplicate_warnings(survey)
    tiny = [p for p, (w, h) in survey.sizes.items() if min(w, h) < TINY_SIDE]
    if tiny:
        warnings.append(
            f"{len(tiny)} photo(s) smaller than {TINY_SIDE} px on their short side, e.g. "
            f"{_examples(survey, tiny)}: they are enlarged to the model's input size and come "
            "out blurred; use larger photos if you have them"
        )
    return warnings


def _duplicate_warnings(survey: FolderSurvey) -> list[str]:
    groups: dict[str, list[Path]] = {}
    for path, digest in survey.digests.items():
        groups.setdefault(digest, []).append(path)
    split_of = {
        path: split
        for split, per_class in (survey.splits or {}).items()
        for paths in per_class.values()
        for path in paths
    }
    class_of = {path: cls for cls, paths in survey.used.items() for path in paths}
    across_classes, across_splits, within_class = [], [], []
    for paths in (g for g in groups.values() if len(g) > 1):
        shown = " = ".join(survey.relative(p) for p in sorted(paths))
        places = {(class_of[p], split_of.get(p)) for p in paths}
        if len({cls for cls, _ in places}) > 1:
            across_classes.append(shown)
        if len({split for _, split in places}) > 1:
            across_splits.append(shown)
        if len(places) < len(paths):
            within_class.append(shown)
    warnings = []
    if across_classes:
        warnings.append(
            f"{len(across_classes)} photo(s) are the same file in two classes, e.g. "
            f"{'; '.join(across_classes[:3])}: they teach contradictory labels; delete the "
            "copy in the wrong class"
        )
    if across_splits:
        warnings.append(
            f"{len(across_splits)} photo(s) are in both train/ and val/, e.g. "
            f"{'; '.join(across_splits[:3])}: val accuracy is then too optimistic; delete "
            "one copy"
        )
    if within_class:
        warnings.append(
            f"{len(within_class)} photo(s) have exact copies in the same class, e.g. "
            f"{'; '.join(within_class[:3])}: each counts twice in training (folder_datasets "
            "keeps copies on the same side of its split)"
        )
    return warnings


def _examples(survey: FolderSurvey, paths: list[Path], limit: int = 3) -> str:
    shown = ", ".join(survey.relative(p) for p in paths[:limit])
    return shown + (", ..." if len(paths) > limit else "")


def _split_used(
    survey: FolderSurvey, val_fraction: float, seed: int
) -> dict[str, dict[str, list[Path]]]:
    """Stratified split of survey.used: val_fraction of each class (at least one photo when
    the class has two), chosen by a generator seeded with (seed, class). Identical files go
    to the same side, so a copy cannot be in both train and val."""
    splits = {split: {} for split in SPLITS}
    for cls in survey.classes:
        groups: dict[str, list[Path]] = {}
        for path in survey.used[cls]:  # sorted, so the same folder splits the same everywhere
            groups.setdefault(survey.digests[path], []).append(path)
        ordered = list(groups.values())
        random.Random(f"{seed}/{cls}").shuffle(ordered)
        n_val = min(len(ordered) - 1, max(1, round(val_fraction * len(ordered))))
        for split, chosen in (("val", ordered[:n_val]), ("train", ordered[n_val:])):
            paths = [p for group in chosen for p in group]
            splits[split][cls] = sorted(paths, key=survey.relative)
    return splits


def folder_datasets(
    folder: str | Path,
    *,
    val_fraction: float = 0.2,
    seed: int = 0,
    size: int = 224,
    backbone: str = DEFAULT_BACKBONE,
    augment: bool = True,
    crop_scale: tuple[float, float] = CROP_SCALE,
    memory_budget: int | None = None,
    exclude: Sequence[str] = (),
) -> dict[str, PhotoDataset]:
    """{"train": ds, "val": ds} for a learner's folder of photos, one sub-folder per class.

    Args:
        folder: one sub-folder per class (any names, at least two), or train/ and val/ that
            hold the class folders (then used as they are, and val_fraction is ignored).
        val_fraction: share of each class held out for validation (at least one photo of a
            class that has two); the split depends only on seed and the file names.
        size, backbone, augment, crop_scale: preprocessing, as in image_datasets.
        exclude: files to leave out, relative to folder (survey_folder's exclude).
        memory_budget: bytes. Photos are decoded once and kept in memory (DecodedImages) when
            they fit, else decoded each time they are used (LazyImages, where dataloaders
            starts worker processes). Default MEMORY_BUDGET_BYTES.
    Returns:
        Data sets with classes, class_to_idx, samples, targets, transform, mean and std, built
        on survey_folder(folder): exactly the photos it lists as used. Raises DatasetError,
        saying what to fix, when the survey has errors. Notebook 06.
    """
    if not 0 < val_fraction < 1:
        raise ValueError(
            f"val_fraction={val_fraction} is the share of photos kept for validation: pass a "
            "number between 0 and 1, e.g. 0.2"
        )
    survey = survey_folder(folder, exclude)
    if survey.errors:
        raise DatasetError(
            f"{survey.folder} cannot be used for training yet:\n"
            + "".join(f"- {error}\n" for error in survey.errors)
            + "print(data.survey_folder(folder)) shows the whole report."
        )
    splits = survey.splits or _split_used(survey, val_fraction, seed)
    split_transforms, resize_size, mean, std = _preprocessing(size, backbone, augment, crop_scale)
    budget = MEMORY_BUDGET_BYTES if memory_budget is None else memory_budget
    kind = DecodedImages if survey.decoded_bytes(resize_size) <= budget else LazyImages
    index = {cls: i for i, cls in enumerate(survey.classes)}
    return {
        split: kind(
            survey.classes,
            [(path, index[cls]) for cls in survey.classes for path in splits[split][cls]],
            split_transforms[split],
            resize_size,
            mean,
            std,
        )
        for split in SPLITS
    }


def pooled_folder(root: str | Path, destination: str | Path | None = None) -> Path:
    """A folder of class sub-folders holding every file of root's train/ and val/, unsplit.

    Turns hymenoptera into the shape of a learner's own folder for notebook 06. The files are
    symbolic links to root's (copies where links cannot be made); a name in both splits gets
    " (val)" before its suffix. destination: default a folder in the system's temporary
    directory, named after root; never inside the course's repository or inside root. Calling
    it again returns the same folder untouched; a destination that holds anything else is
    refused. The folder is built beside destination and renamed into place when complete.
    """
    root = Path(root).expanduser().resolve()
    missing = [split for split in SPLITS if not (root / split).is_dir()]
    if missing:
        raise DatasetError(f"{root} has no {' or '.join(missing)} folder to pool.")
    if destination is None:
        tag = hashlib.sha256(os.fspath(root).encode()).hexdigest()[:8]
        destination = Path(tempfile.gettempdir()) / "transfer-course" / f"{root.name}-{tag}"
    destination = Path(destination).expanduser().resolve()
    for forbidden, what in ((_repository(), "the course's repository"), (root, str(root))):
        if forbidden is not None and destination.is_relative_to(forbidden):
            raise ValueError(
                f"{destination} is inside {what}: pass a destination outside it, or none for "
                "a temporary folder"
            )
    plan = _pool_plan(root)
    if destination.exists():
        if _holds(destination, plan):
            return destination
        if any(destination.iterdir()):
            raise DatasetError(
                f"{destination} already holds other files: pass an empty or new folder"
            )
        destination.rmdir()
    destination.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(dir=destination.parent, prefix=f".{destination.name}-"))
    try:
        _link_or_copy(plan, scratch)
        os.replace(scratch, destination)
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    return destination


def _pool_plan(root: Path) -> dict[str, Path]:
    """{"class/name": source file} for every file of root's train/ and val/ class folders."""
    plan = {}
    for split in SPLITS:
        for class_dir in sorted(p for p in (root / split).iterdir() if p.is_dir()):
            for source in sorted(p for p in class_dir.iterdir() if p.is_file()):
                name = f"{class_dir.name}/{source.name}"
                if name in plan:
                    name = f"{class_dir.name}/{source.stem} ({split}){source.suffix}"
                plan[name] = source
    return plan


def _holds(destination: Path, plan: dict[str, Path]) -> bool:
    """Whether destination holds exactly plan's files, as links to them or same-size copies."""
    found = {
        p.relative_to(destination).as_posix() for p in destination.rglob("*") if not p.is_dir()
    }
    if found != set(plan):
        return False
    for name, source in plan.items():
        target = destination / name
        if target.is_symlink():
            if target.resolve() != source.resolve():
                return False
        elif target.stat().st_size != source.stat().st_size:
            return False
    return True


def _link_or_copy(plan: dict[str, Path], folder: Path) -> None:
    link = True
    for name, source in plan.items():
        target = folder / name
        target.parent.mkdir(exist_ok=True)
        if link:
            try:
                os.symlink(source, target)
                continue
            except OSError:  # e.g. Windows without developer mode: copy instead
                link = False
        shutil.copy2(source, target)


def _cpu_count() -> int:
    return cpu_limit().cpus


def default_num_workers(dataset: Dataset | None = None) -> int:
    """DataLoader worker processes for dataset.

    0 for photos decoded in memory: workers would only add start-up cost, and they break in
    notebooks on macOS and Windows (spawn cannot pickle notebook objects). A LazyImages data set
    decodes each photo as it is used: then one worker per CPU core (at most MAX_LOADER_WORKERS)
    decodes beside training, where workers start by fork (Linux); elsewhere 0.
    """
    while isinstance(dataset, Subset):
        dataset = dataset.dataset
    method = multiprocessing.get_start_method(allow_none=True)
    method = method or multiprocessing.get_all_start_methods()[0]  # the first is the default
    if not isinstance(dataset, LazyImages) or method != "fork":
        return 0
    return min(MAX_LOADER_WORKERS, _cpu_count())


def dataloaders(
    datasets: dict[str, Dataset],
    batch_size: int = 32,
    num_workers: int | None = None,
    seed: int | None = 0,
) -> dict[str, DataLoader]:
    """{"train": shuffled loader, "val": ordered loader}. seed fixes the shuffling order.

    num_workers: default default_num_workers(dataset) for each data set.
    """
    generator = torch.Generator().manual_seed(seed) if seed is not None else None
    loaders = {}
    for split, dataset in datasets.items():
        workers = default_num_workers(dataset) if num_workers is None else num_workers
        loaders[split] = DataLoader(
            dataset,
            batch_size=batch_size,
            shuffle=(split == "train"),
            num_workers=workers,
            generator=generator if split == "train" else None,
            pin_memory=torch.cuda.is_available(),
            persistent_workers=workers > 0,
        )
    return loaders
