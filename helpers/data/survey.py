"""A learner's folder of photos: the survey before training (what would be used or skipped,
and why), undecodable photos, the split into train and val, and pooling a split folder.
Notebook 06."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import os
import random
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from helpers.data.datasets import DecodedImages, LazyImages, PhotoDataset
from helpers.data.photos import (
    _ORIENTATION,
    HEIC_SUFFIXES,
    _file_stamp,
    _files_under,
    _is_class_folder,
    _name_rule,
    _probed,
    _shrunk_size,
    _upright_rgb,
)
from helpers.data.preprocessing import CROP_SCALE, _preprocessing
from helpers.data.sources import SPLITS, DatasetError, _repository
from helpers.files import shown
from helpers.models import DEFAULT_BACKBONE

FEW_IMAGES = 10  # survey_folder warns about a class with fewer photos than this
IMBALANCE_RATIO = 3.0  # ... about a largest/smallest class ratio above this
TINY_SIDE = 32  # ... and about photos whose short side is below this (pixels)
PROBE_SIDE = 32  # the survey decodes every photo this small, to prove that it decodes
# Decoding every photo once into memory suits hundreds or a few thousand photos. Above this
# estimated decoded size, folder_datasets decodes each photo when it is used instead.
MEMORY_BUDGET_BYTES = 2 * 1024**3


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
