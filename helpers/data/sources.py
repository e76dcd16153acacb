"""Where the course's data sets come from: the data folder; photos that download once as a zip
(FolderSource: hymenoptera), and small grey images bundled with scikit-learn and scikit-image
(the digits, the faces). Notebooks 04 and 05."""

from __future__ import annotations

import hashlib
import os
import tempfile
import urllib.request
import zipfile
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset
from torchvision import transforms
from tqdm.auto import tqdm

from helpers.models import DEFAULT_BACKBONE, backbone_spec

DATA_DIR_VARIABLE = "COURSE_DATA_DIR"


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
    repo = Path(__file__).resolve().parents[2]  # helpers/data/sources.py -> the repository
    return repo if (repo / "pyproject.toml").exists() else None


@dataclass(frozen=True)
class FolderSource:
    """A data set of photos in class folders that downloads once, as a zip: where it comes
    from, what a complete copy holds, and which files the course leaves out.

    name: how messages call it, and the function that finds it (hymenoptera()); url: the zip;
    folder: the folder the zip holds, and its name under the data folder; counts: {(split,
    class): number of files} of a complete copy; megabytes: the download's size, for messages;
    exclude: files every notebook and study leaves out, relative to a split
    ("ants/imageNotFound.gif"). Adding a data set of photos is one FolderSource; find()
    downloads and checks it, data.image_datasets() reads it.
    """

    name: str
    url: str
    folder: str
    counts: Mapping[tuple[str, str], int]
    megabytes: float
    exclude: tuple[str, ...] = ()

    @property
    def splits(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(split for split, _ in self.counts))

    @property
    def classes(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(cls for _, cls in self.counts))

    def find(self, root: str | Path | None = None, download: bool = True) -> Path:
        """Path of the data set's folder under root (default data_dir()), downloading it once.

        The download goes to a temporary file, is extracted into a temporary folder (refusing
        any entry that would land outside it), checked, and only then renamed into place, so
        an interrupted or bad download never leaves a half-written folder.
        """
        root = Path(root) if root is not None else data_dir()
        target = root / self.folder
        if target.exists():
            self.check(target)
            return target
        if not download:
            raise DatasetError(
                f"The {self.name} data set is not in {target}.\n"
                f"Set {DATA_DIR_VARIABLE} to a folder that contains {self.folder}/, or call "
                f"{self.name}(download=True) to fetch it ({self.megabytes:.0f} MB) from {self.url}."
            )
        root.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=root, prefix=f".{self.name}-download-") as scratch:
            archive = Path(scratch) / Path(self.url).name
            _download(self.url, archive)
            extracted = Path(scratch) / "extracted"
            _safe_extract(archive, extracted, again=f"{self.name}()")
            candidate = extracted / self.folder
            if not candidate.is_dir():
                raise DatasetError(f"{self.url} holds no top-level {self.folder}/ folder.")
            self.check(candidate)
            os.replace(candidate, target)
        return target

    def check(self, folder: Path) -> None:
        """Raise DatasetError unless folder holds every split and class with its file count."""
        problems = []
        for (split, cls), expected in self.counts.items():
            class_dir = folder / split / cls
            found = sum(1 for p in class_dir.iterdir() if p.is_file()) if class_dir.is_dir() else 0
            if found != expected:
                problems.append(f"{split}/{cls}: {found} files, expected {expected}")
        if problems:
            raise DatasetError(
                f"{folder} is not a complete {self.name} data set ({'; '.join(problems)}).\n"
                f"Delete that folder and call {self.name}() to download it again, or point "
                f"{DATA_DIR_VARIABLE} at a complete copy."
            )


# The PyTorch tutorial's ants and bees (notebook 04 on): 397 photos in train/val x ants/bees.
HYMENOPTERA = FolderSource(
    name="hymenoptera",
    url="https://download.pytorch.org/tutorial/hymenoptera_data.zip",
    folder="hymenoptera_data",
    counts={
        ("train", "ants"): 124,
        ("train", "bees"): 121,
        ("val", "ants"): 70,
        ("val", "bees"): 83,
    },  # fmt: skip
    megabytes=45,
    # The one exclusion list of the hymenoptera photos, used by every notebook and study: the
    # placeholder "image not found" drawing among the ant photos (notebook 04 finds it).
    exclude=("ants/imageNotFound.gif",),
)
# Its facts under the names notebooks and tests use.
HYMENOPTERA_URL, DATASET_FOLDER = HYMENOPTERA.url, HYMENOPTERA.folder
SPLITS, CLASSES = HYMENOPTERA.splits, HYMENOPTERA.classes
EXPECTED_COUNTS, HYMENOPTERA_EXCLUDE = dict(HYMENOPTERA.counts), HYMENOPTERA.exclude


def hymenoptera(root: str | Path | None = None, download: bool = True) -> Path:
    """Path of `hymenoptera_data/` (train/val x ants/bees) under root (default data_dir()),
    downloading it once (45 MB) if needed: HYMENOPTERA.find. Notebook 04."""
    return HYMENOPTERA.find(root, download)


def check_structure(folder: Path) -> None:
    """Raise DatasetError unless folder is a complete hymenoptera data set (HYMENOPTERA.check)."""
    HYMENOPTERA.check(folder)


def _download(url: str, destination: Path) -> None:
    """Stream url to destination with a progress bar."""
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            total = int(response.headers.get("Content-Length") or 0) or None
            with (
                open(destination, "wb") as file,
                tqdm(total=total, unit="B", unit_scale=True, desc=destination.name) as bar,
            ):
                while chunk := response.read(1 << 20):
                    file.write(chunk)
                    bar.update(len(chunk))
    except OSError as error:  # URLError is an OSError
        raise DatasetError(
            f"Could not download {url}: {error}.\nIf this machine is offline, download the zip "
            f"elsewhere, unzip it into a folder, and set {DATA_DIR_VARIABLE} to that folder."
        ) from error


def _safe_extract(archive: Path, destination: Path, again: str) -> None:
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
            f"Run {again} again to download it afresh."
        ) from error


# Small grey images bundled with scikit-learn and scikit-image (no download), for data far from
# ImageNet's photos. Notebook 05.
DIGITS_CLASSES = tuple(str(d) for d in range(10))
DIGITS_MAX_VALUE = 16  # load_digits() pixels are counts 0..16 of ink in 4x4 blocks
# scikit-image's subset of Labeled Faces in the Wild: 100 grey 25x25 crops of faces and 100 of
# other parts of the same photos (notebook 05's exercise 6 adds it to the decision matrix).
FACES_CLASSES = ("face", "not a face")
FACES_VAL_PER_CLASS = 50  # half of the 200 crops validate: one crop = 1 point of accuracy


class GreyImages(Dataset):
    """Small grey images (N, h, w) uint8 as (3, size, size) inputs for an ImageNet backbone.

    Yields (image, label): each image upscaled (bilinear) to size x size, copied to three
    channels and normalised with the backbone's mean and std. Has pixels (for a baseline on raw
    pixels), classes, targets, transform, mean, std, and a fingerprint of the pixels for the
    feature cache, named after the data set. The digits and the faces are two of them.
    """

    def __init__(
        self, grey: np.ndarray, targets: Sequence[int], classes: Sequence[str], size: int,
        mean, std, name: str,
    ) -> None:  # fmt: skip
        if grey.ndim != 3 or grey.dtype != np.uint8 or len(grey) != len(targets):
            raise ValueError(f"grey must be (N, h, w) uint8 with N labels, got {grey.shape}")
        self.pixels = grey
        self.images = [Image.fromarray(image, mode="L") for image in grey]
        self.targets = [int(t) for t in targets]
        self.classes = list(classes)
        self.mean, self.std = mean, std
        self.transform = transforms.Compose(
            [
                transforms.Resize(size, interpolation=transforms.InterpolationMode.BILINEAR),
                transforms.Grayscale(num_output_channels=3),
                transforms.ToTensor(),
                transforms.Normalize(mean, std),
            ]
        )
        digest = hashlib.sha256(grey.tobytes())
        digest.update(np.asarray(self.targets, dtype=np.int64).tobytes())
        self.fingerprint = f"{name}-{digest.hexdigest()}"

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        return self.transform(self.images[index]), self.targets[index]


class DigitsImages(GreyImages):
    """scikit-learn's 8x8 handwritten digits (pixels: (N, 8, 8) ink counts 0..16) as
    GreyImages. Notebook 05."""

    def __init__(self, pixels: np.ndarray, targets: Sequence[int], size: int, mean, std) -> None:
        if pixels.ndim != 3 or pixels.shape[1:] != (8, 8) or len(pixels) != len(targets):
            raise ValueError(f"pixels must be (N, 8, 8) with N labels, got {pixels.shape}")
        grey = np.clip(pixels * (255 / DIGITS_MAX_VALUE), 0, 255).astype(np.uint8)
        super().__init__(grey, targets, DIGITS_CLASSES, size, mean, std, name="digits")


class FacesImages(GreyImages):
    """scikit-image's face and not-a-face crops (grey: (N, 25, 25) uint8) as GreyImages.
    Notebook 05."""

    def __init__(self, grey: np.ndarray, targets: Sequence[int], size: int, mean, std) -> None:
        super().__init__(grey, targets, FACES_CLASSES, size, mean, std, name="faces")


def _seeded_split(targets: np.ndarray, val_per_class: int, seed: int):
    """(train indices, val indices): val_per_class of each class drawn with seed, train the rest."""
    rng = np.random.default_rng(seed)
    val = np.sort(
        np.concatenate(
            [
                rng.permutation(np.flatnonzero(targets == c))[:val_per_class]
                for c in np.unique(targets)
            ]  # fmt: skip
        )
    )
    return np.setdiff1d(np.arange(len(targets)), val), val


def digits_datasets(
    size: int = 64, val_per_class: int = 50, *, backbone: str = DEFAULT_BACKBONE, seed: int = 0
) -> dict[str, DigitsImages]:
    """{"train": ds, "val": ds} from sklearn's load_digits() (1,797 digits, no download).

    val holds val_per_class digits of each class (a fixed, seeded draw), train the rest.
    Images are upscaled to size x size: a modest size keeps the backbone cheap. Notebook 05.
    """
    from sklearn.datasets import load_digits

    digits = load_digits()
    spec = backbone_spec(backbone)
    train, val = _seeded_split(digits.target, val_per_class, seed)
    return {
        split: DigitsImages(digits.images[idx], digits.target[idx], size, spec.mean, spec.std)
        for split, idx in (("train", train), ("val", val))
    }


def faces_datasets(
    size: int = 48, val_per_class: int = FACES_VAL_PER_CLASS, *,
    backbone: str = DEFAULT_BACKBONE, seed: int = 0,
) -> dict[str, FacesImages]:  # fmt: skip
    """{"train": ds, "val": ds} from scikit-image's lfw_subset() (200 crops, no download):
    val_per_class crops of each class drawn with seed, train the rest. Notebook 05."""
    try:
        from skimage.data import lfw_subset
    except ImportError as error:  # pragma: no cover - scikit-image is in requirements.txt
        raise ImportError(
            "The faces data set ships with scikit-image: pip install scikit-image "
            "(it is in the course's requirements.txt)."
        ) from error
    crops = lfw_subset()  # (200, 25, 25) floats in [0, 1]: the 100 faces first
    grey = np.round(crops * 255).astype(np.uint8)
    targets = np.repeat([0, 1], [100, len(crops) - 100])
    train, val = _seeded_split(targets, val_per_class, seed)
    spec = backbone_spec(backbone)
    return {
        split: FacesImages(grey[idx], targets[idx], size, spec.mean, spec.std)
        for split, idx in (("train", train), ("val", val))
    }
