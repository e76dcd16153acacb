"""The hymenoptera (ants/bees) data set: find or download it, decode it once, load it.

Taught in notebook 04 (looking at the data before training) and used by 01, 03 and 05.
"""

from __future__ import annotations

import functools
import os
import tempfile
import urllib.request
import zipfile
import zlib
from pathlib import Path

import torch
from PIL import Image, UnidentifiedImageError
from torch.utils.data import DataLoader, Dataset
from torchvision import transforms
from tqdm.auto import tqdm

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
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".gif", ".bmp", ".webp", ".tif", ".tiff")
DATA_DIR_VARIABLE = "COURSE_DATA_DIR"


class DatasetError(RuntimeError):
    """The data set is missing, incomplete or undownloadable; the message says what to do."""


def data_dir() -> Path:
    """Where the course keeps data: $COURSE_DATA_DIR if set, else `<repo>/data`."""
    configured = os.environ.get(DATA_DIR_VARIABLE)
    if configured:
        return Path(configured).expanduser().resolve()
    repo = Path(__file__).resolve().parent.parent
    return repo / "data" if (repo / "pyproject.toml").exists() else Path.cwd() / "data"


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
    """Image files under root (by suffix) that PIL cannot fully decode, sorted. Notebook 04."""
    bad = []
    for path in sorted(Path(root).rglob("*")):
        if path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES:
            try:
                with Image.open(path) as image:
                    image.load()
            except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
                bad.append(path)
    return bad


@functools.lru_cache(maxsize=8)
def _decode_folder(folder: Path, short_side: int, exclude: frozenset[str]) -> tuple:
    """Decode every image once, shrunk so its short side is short_side pixels.

    PIL's draft() lets the JPEG decoder skip most of the work for a downscaled result.
    Measured on 2 CPU cores (benchmarks/decode_cache.py, 2026-11-24): one pass over the 245
    training photos takes 0.14 s from memory against 0.47 s when every file is decoded again
    each epoch, as torchvision's ImageFolder does (3.4x), after a one-off 0.84 s decode. Most
    photos here are small, so data loading is a few percent of a training epoch either way
    (the model's forward and backward take about 25 s); the gain matters most when the model
    is cheap: cached features, a GPU, or larger photos.
    """
    classes = sorted(p.name for p in folder.iterdir() if p.is_dir())
    if not classes:
        raise DatasetError(f"{folder} has no class folders (expected e.g. ants/ and bees/).")
    images, targets, paths, unreadable = [], [], [], []
    for index, cls in enumerate(classes):
        for path in sorted((folder / cls).iterdir()):
            relative = f"{cls}/{path.name}"
            if path.suffix.lower() not in IMAGE_SUFFIXES or relative in exclude:
                continue
            try:
                images.append(_load_shrunk(path, short_side))
            except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
                unreadable.append(path)
                continue
            targets.append(index)
            paths.append(path)
    if unreadable:
        names = ", ".join(str(p) for p in unreadable)
        raise DatasetError(
            f"PIL cannot decode {len(unreadable)} file(s): {names}. Remove them, or pass them "
            "in exclude= (see find_bad_images)."
        )
    return classes, images, targets, paths


def _load_shrunk(path: Path, short_side: int) -> Image.Image:
    with Image.open(path) as image:
        image.draft("RGB", (short_side, short_side))  # JPEG only: decode at 1/2, 1/4 or 1/8
        image = image.convert("RGB")
    scale = short_side / min(image.size)
    if scale < 1:
        size = (
            max(short_side, round(image.width * scale)),
            max(short_side, round(image.height * scale)),
        )
        image = image.resize(size, Image.Resampling.BILINEAR, reducing_gap=3.0)
    return image


class DecodedImageFolder(Dataset):
    """Like torchvision's ImageFolder, but every image is decoded once and kept in memory.

    Yields (image, label): image (3, size, size) float, normalised for the backbone.
    Has classes, class_to_idx, samples [(path, label)], targets, mean and std.
    """

    def __init__(
        self,
        folder: Path,
        transform: transforms.Compose,
        short_side: int,
        mean: tuple[float, ...],
        std: tuple[float, ...],
        exclude: frozenset[str] = frozenset(),
    ):
        self.root = Path(folder)
        self.classes, self.images, self.targets, paths = _decode_folder(
            self.root.resolve(), short_side, exclude
        )
        self.class_to_idx = {c: i for i, c in enumerate(self.classes)}
        self.samples = list(zip(paths, self.targets, strict=True))
        self.transform = transform
        self.mean, self.std = mean, std

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        return self.transform(self.images[index]), self.targets[index]


def train_transform(
    size: int, mean, std, augment: bool = True, crop_scale: tuple[float, float] = CROP_SCALE
) -> transforms.Compose:
    """Random resized crop (crop_scale of the area) and flip; the val transform if not augment."""
    if not augment:
        return val_transform(size, round(size * 256 / 224), mean, std)
    return transforms.Compose(
        [
            transforms.RandomResizedCrop(size, scale=crop_scale, antialias=True),
            transforms.RandomHorizontalFlip(),
            transforms.ToTensor(),
            transforms.Normalize(mean, std),
        ]
    )


def val_transform(size: int, resize_size: int, mean, std) -> transforms.Compose:
    """Resize the short side to resize_size, then centre-crop size x size."""
    return transforms.Compose(
        [
            transforms.Resize(resize_size, antialias=True),
            transforms.CenterCrop(size),
            transforms.ToTensor(),
            transforms.Normalize(mean, std),
        ]
    )


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
    to 256/224 * size and a centre crop. exclude
    names files to leave out, relative to a split, e.g. "ants/imageNotFound.gif".
    """
    root = Path(root)
    spec = backbone_spec(backbone)
    resize_size = round(size * spec.resize_size / spec.input_size)
    excluded = frozenset(exclude)
    split_transforms = {
        "train": train_transform(size, spec.mean, spec.std, augment, crop_scale),
        "val": val_transform(size, resize_size, spec.mean, spec.std),
    }
    missing = [split for split in SPLITS if not (root / split).is_dir()]
    if missing:
        raise DatasetError(
            f"{root} has no {' or '.join(missing)} folder; pass hymenoptera()'s path."
        )
    return {
        split: DecodedImageFolder(
            root / split, split_transforms[split], resize_size, spec.mean, spec.std, excluded
        )
        for split in SPLITS
    }


def default_num_workers() -> int:
    """0: images are already decoded in memory, so worker processes add start-up cost and
    break in notebooks on macOS and Windows (spawn cannot pickle notebook objects)."""
    return 0


def dataloaders(
    datasets: dict[str, Dataset],
    batch_size: int = 32,
    num_workers: int | None = None,
    seed: int | None = 0,
) -> dict[str, DataLoader]:
    """{"train": shuffled loader, "val": ordered loader}. seed fixes the shuffling order."""
    workers = default_num_workers() if num_workers is None else num_workers
    generator = torch.Generator().manual_seed(seed) if seed is not None else None
    return {
        split: DataLoader(
            dataset,
            batch_size=batch_size,
            shuffle=(split == "train"),
            num_workers=workers,
            generator=generator if split == "train" else None,
            pin_memory=torch.cuda.is_available(),
            persistent_workers=workers > 0,
        )
        for split, dataset in datasets.items()
    }
