"""helpers.fingerprint: what sets a study's numbers changes its fingerprint; prose does not."""

from __future__ import annotations

import copy
import dataclasses
import importlib
import textwrap
import warnings

import pytest
from torchvision.transforms import InterpolationMode

from helpers import data, fingerprint, models, recipes, results

# One module in two versions: the same code, with other docstrings, comments, layout and error
# messages; then one literal changed in a function that the root only reaches through another.
VERSION = '''
"""A module docstring."""
RATE = 0.5


def inner(x):
    """Inner's docstring."""
    return x * 3  # a comment


def root(x):
    """Root's docstring."""
    if x < 0:
        raise ValueError("a message")
    return inner(x) + RATE
'''
PROSE_EDITED = '''
"""Another module docstring, with a typo fixed."""
RATE = 0.5


def inner(x):
    """Inner's docstring, reworded."""
    # a new comment
    return x*3


def root(x):
    """Root's docstring, reworded at length
    over two lines."""
    if x < 0:
        raise ValueError(f"a clearer message about {x}")
    return inner(x) + RATE
'''


def _package(tmp_path, monkeypatch, name, text):
    folder = tmp_path / name
    folder.mkdir()
    (folder / "__init__.py").write_text("")
    (folder / "study.py").write_text(textwrap.dedent(text))
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    monkeypatch.setattr(fingerprint, "PACKAGE", name)
    return fingerprint.fingerprint([f"{name}.study.root"])


def test_prose_keeps_the_fingerprint_and_code_reached_through_a_call_changes_it(
    tmp_path, monkeypatch
):
    first = _package(tmp_path, monkeypatch, "fp_one", VERSION)
    assert _package(tmp_path, monkeypatch, "fp_prose", PROSE_EDITED) == first
    changed_inner = VERSION.replace("x * 3", "x * 4")
    assert _package(tmp_path, monkeypatch, "fp_code", changed_inner) != first
    changed_setting = VERSION.replace("RATE = 0.5", "RATE = 0.25")
    assert _package(tmp_path, monkeypatch, "fp_rate", changed_setting) != first
    other_exception = VERSION.replace("ValueError", "TypeError")
    assert _package(tmp_path, monkeypatch, "fp_raise", other_exception) != first


@pytest.mark.parametrize(
    ("module", "name", "value"),
    [
        (recipes, "COURSE_HEAD_LR", recipes.COURSE_HEAD_LR * 2),  # a learning rate
        (recipes, "COURSE_BATCH_SIZE", recipes.COURSE_BATCH_SIZE * 2),  # the loaders
        (data.preprocessing, "CROP_SCALE", (0.08, 1.0)),  # the train transform
        (data.preprocessing, "INTERPOLATION", InterpolationMode.BICUBIC),  # every resize
        (data.sources, "HYMENOPTERA_EXCLUDE", ()),  # the photos
    ],
)
def test_each_setting_that_moves_the_numbers_changes_both_studies(monkeypatch, module, name, value):
    before = {study: results.study_fingerprint(study) for study in results.STUDY_ROOTS}
    monkeypatch.setattr(module, name, value)
    for study, saved in before.items():
        assert results.study_fingerprint(study) != saved, (study, name)


def test_code_that_trains_and_measures_is_covered():
    reached = fingerprint.reached(results.STUDY_ROOTS["hymenoptera"])
    for name in (
        "training.fit",  # the loop
        "freezing.set_batchnorm_mode",  # BatchNorm modes
        "data.preprocessing.train_transform",  # transforms
        "data.preprocessing.val_transform",
        "data.datasets.DecodedImageFolder",  # the data set
        "data.loaders.dataloaders",  # the loaders
        "models._load_efficientnet_lite0",  # the weights, through the backbone's spec
        "models.BackboneSpec",  # how a spec builds its model (a method, not a field)
        "models.library_config",  # where its input settings come from
    ):
        assert name in reached["code"], name
    strategies = fingerprint.reached(results.STUDY_ROOTS["strategies"])["code"]
    assert "comparison.run_strategy" in strategies
    assert "features.cached_features" in strategies  # the feature cache


def test_another_backbone_leaves_a_study_of_this_one_as_it_was(monkeypatch):
    before = results.study_fingerprint("hymenoptera")
    spec = dataclasses.replace(models.BACKBONES["resnet18"], name="resnet18_copy")
    monkeypatch.setitem(models.BACKBONES, "resnet18_copy", spec)
    assert results.study_fingerprint("hymenoptera") == before
    studied = models.BACKBONES[models.DEFAULT_BACKBONE]
    moved = copy.copy(studied)  # as if the library's metadata said another resize size
    object.__setattr__(moved, "resize_size", studied.resize_size + 32)
    monkeypatch.setitem(models.BACKBONES, models.DEFAULT_BACKBONE, moved)
    assert results.study_fingerprint("hymenoptera") != before
    wordier = dataclasses.replace(studied, description=studied.description + " Reworded.")
    monkeypatch.setitem(models.BACKBONES, models.DEFAULT_BACKBONE, wordier)
    assert results.study_fingerprint("hymenoptera") == before


def test_other_library_versions_warn_and_are_recorded(monkeypatch):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        results.load_study("hymenoptera")  # measured with the versions installed here
    installed = fingerprint.library_versions()
    monkeypatch.setattr(fingerprint, "library_versions", lambda: {**installed, "torch": "9.9.9"})
    with pytest.warns(UserWarning, match=r"torch 2\.14\.1 \(here 9\.9\.9\)"):
        results.load_study("hymenoptera")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        results.load_study("hymenoptera", check=False)
