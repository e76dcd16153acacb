"""Shared fixtures: tiny synthetic image folders, and the real data set where the claim needs it."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from helpers.data import CLASSES, DATASET_FOLDER, EXPECTED_COUNTS, SPLITS


def write_image(path: Path, colour: tuple[int, int, int], size=(40, 30), seed: int = 0) -> Path:
    """A small JPEG: a solid colour plus a little noise, so each class is easy to tell apart."""
    rng = np.random.default_rng(seed)
    pixels = np.clip(np.array(colour) + rng.normal(0, 12, (size[1], size[0], 3)), 0, 255)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels.astype(np.uint8)).save(path)
    return path


@pytest.fixture
def tiny_dataset(tmp_path) -> Path:
    """train/val x ants/bees with 6/4 images per class: ants reddish, bees bluish."""
    root = tmp_path / "tiny"
    colours = {"ants": (200, 60, 40), "bees": (40, 80, 200)}
    for split, per_class in (("train", 6), ("val", 4)):
        for cls in CLASSES:
            for i in range(per_class):
                write_image(root / split / cls / f"{i}.jpg", colours[cls], seed=i)
    return root


def build_full_layout(root: Path) -> Path:
    """hymenoptera_data/ with the real per-class file counts, as tiny images."""
    folder = root / DATASET_FOLDER
    for (split, cls), count in EXPECTED_COUNTS.items():
        for i in range(count):
            write_image(folder / split / cls / f"{i}.jpg", (120, 120, 120), size=(8, 8), seed=i)
    assert {p.name for p in folder.iterdir()} == set(SPLITS)
    return folder


@pytest.fixture(scope="session")
def real_data() -> Path:
    """The real hymenoptera data set where the course looks for it: $COURSE_DATA_DIR, else
    <repo>/data (helpers.data.data_dir). Nothing is downloaded; without it the test skips."""
    from helpers.data import DatasetError, data_dir, hymenoptera

    try:
        return hymenoptera(data_dir(), download=False)
    except DatasetError as error:
        missing(
            "needs the real hymenoptera data set: set COURSE_DATA_DIR to the folder that holds "
            f"hymenoptera_data/ (CI does). {error}".splitlines()[0]
        )


def missing(message: str) -> None:
    """Skip a test whose data or tool is missing, except in CI (CI set), where it must be
    there: a silent skip would pass a run that tested nothing. Fails there instead."""
    if os.environ.get("CI"):
        pytest.fail(f"{message} (CI is set: what CI needs must be there)")
    pytest.skip(message)


def pytest_collection_modifyitems(items):
    """Notebooks, tests on the real photos and the browser test are slow, like those marked by
    hand: pytest -m "not slow" is the quick unit run."""
    for item in items:
        if (
            str(item.path).endswith(".ipynb")
            or "real_data" in getattr(item, "fixturenames", ())
            or item.get_closest_marker("browser")
        ):
            item.add_marker(pytest.mark.slow)
