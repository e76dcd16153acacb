"""Image data: where data sets come from, photos on disk, transforms, data sets and loaders.

One module per concern, each importing only the ones listed before it (MODULES, checked by
tests/test_layering.py):

- preprocessing: how a photo becomes a backbone's input (transforms, resize ratio, interpolation);
- sources: the data folder and the data sets the course ships or downloads (hymenoptera; the
  digits and faces bundled with scikit-learn and scikit-image);
- photos: which files are photos, decoding them (load_photo) and the decode cache;
- datasets: data sets of photos on disk (decoded once) and the hymenoptera train/val sets;
- survey: a learner's own folder: the survey before training, the split, bad photos;
- loaders: DataLoaders and their worker processes.

Every public name is importable from helpers.data itself (`from helpers import data;
data.image_datasets(...)`), as notebooks do. Taught in notebooks 04 (hymenoptera) and 06 (your
own photos); used by 01, 03 and 05.
"""

from __future__ import annotations

from helpers.data.datasets import (
    DecodedImageFolder,
    DecodedImages,
    LazyImages,
    PhotoDataset,
    image_datasets,
    tutorial_datasets,
)
from helpers.data.loaders import MAX_LOADER_WORKERS, dataloaders, default_num_workers
from helpers.data.photos import (
    DECODE_CACHE_BYTES,
    HEIC_SUFFIXES,
    IMAGE_SUFFIXES,
    PHOTO_SUFFIXES,
    SYSTEM_FILES,
    SYSTEM_FOLDERS,
    clear_decode_cache,
    decode_cache_info,
    load_photo,
)
from helpers.data.preprocessing import (
    CROP_SCALE,
    INTERPOLATION,
    TUTORIAL_CROP_SCALE,
    TUTORIAL_RESIZE_SIZE,
    backbone_val_transform,
    resize_size_for,
    train_transform,
    val_transform,
)
from helpers.data.sources import (
    CLASSES,
    DATA_DIR_VARIABLE,
    DATASET_FOLDER,
    DIGITS_CLASSES,
    DIGITS_MAX_VALUE,
    EXPECTED_COUNTS,
    FACES_CLASSES,
    FACES_VAL_PER_CLASS,
    HYMENOPTERA,
    HYMENOPTERA_EXCLUDE,
    HYMENOPTERA_URL,
    SPLITS,
    DatasetError,
    DigitsImages,
    FacesImages,
    FolderSource,
    GreyImages,
    check_structure,
    data_dir,
    digits_datasets,
    faces_datasets,
    hymenoptera,
)
from helpers.data.survey import (
    FEW_IMAGES,
    IMBALANCE_RATIO,
    MEMORY_BUDGET_BYTES,
    PROBE_SIDE,
    TINY_SIDE,
    FolderSurvey,
    find_bad_images,
    folder_datasets,
    pooled_folder,
    survey_folder,
)

__all__ = [
    "FACES_CLASSES",
    "FACES_VAL_PER_CLASS",
    "FacesImages",
    "FolderSource",
    "GreyImages",
    "HYMENOPTERA",
    "faces_datasets",
    "DIGITS_CLASSES",
    "DIGITS_MAX_VALUE",
    "DigitsImages",
    "digits_datasets",
    "CLASSES",
    "CROP_SCALE",
    "DATASET_FOLDER",
    "DATA_DIR_VARIABLE",
    "DECODE_CACHE_BYTES",
    "DatasetError",
    "DecodedImageFolder",
    "DecodedImages",
    "EXPECTED_COUNTS",
    "FEW_IMAGES",
    "FolderSurvey",
    "HEIC_SUFFIXES",
    "HYMENOPTERA_EXCLUDE",
    "HYMENOPTERA_URL",
    "IMAGE_SUFFIXES",
    "IMBALANCE_RATIO",
    "INTERPOLATION",
    "LazyImages",
    "MAX_LOADER_WORKERS",
    "MEMORY_BUDGET_BYTES",
    "PHOTO_SUFFIXES",
    "PROBE_SIDE",
    "PhotoDataset",
    "SPLITS",
    "SYSTEM_FILES",
    "SYSTEM_FOLDERS",
    "TINY_SIDE",
    "TUTORIAL_CROP_SCALE",
    "TUTORIAL_RESIZE_SIZE",
    "backbone_val_transform",
    "check_structure",
    "clear_decode_cache",
    "data_dir",
    "dataloaders",
    "decode_cache_info",
    "default_num_workers",
    "find_bad_images",
    "folder_datasets",
    "hymenoptera",
    "image_datasets",
    "load_photo",
    "pooled_folder",
    "resize_size_for",
    "survey_folder",
    "train_transform",
    "tutorial_datasets",
    "val_transform",
]
# The modules in order: each imports only those before it (tests/test_layering.py).
MODULES = ("preprocessing", "sources", "photos", "datasets", "survey", "loaders")
