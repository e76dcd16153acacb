"""helpers.data on a learner's own folder: survey_folder, folder_datasets, pooled_folder.

Every messy case is a file the test writes: system files, damaged and disguised files, unusual
image modes, phone photos, odd names and layouts.
"""

from __future__ import annotations

import io
import os
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from helpers import data, features
from tests.conftest import write_image

RED, BLUE = (220, 30, 30), (30, 30, 220)


def make_folder(
    root: Path, per_class: int = 3, classes=("cats", "dogs"), seed: int = 0, size=(40, 30)
) -> Path:
    """root/<class>/<i>.jpg: reddish cats, bluish dogs; every file different."""
    root.mkdir(parents=True, exist_ok=True)
    for c, cls in enumerate(classes):
        for i in range(per_class):
            colour = RED if c == 0 else BLUE
            write_image(root / cls / f"{i}.jpg", colour, size=size, seed=seed + 100 * c + i)
    return root


def jpeg_bytes(colour=RED, size=(40, 30), seed=0) -> bytes:
    rng = np.random.default_rng(seed)
    pixels = np.clip(np.array(colour) + rng.normal(0, 8, (size[1], size[0], 3)), 0, 255)
    buffer = io.BytesIO()
    Image.fromarray(pixels.astype(np.uint8)).save(buffer, "JPEG")
    return buffer.getvalue()


def png16_rgb(pixels: np.ndarray) -> bytes:
    """A 16-bit-per-channel RGB PNG (PIL cannot write one)."""
    height, width, _ = pixels.shape
    rows = b"".join(b"\x00" + pixels[y].astype(">u2").tobytes() for y in range(height))

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    header = struct.pack(">IIBBBBB", width, height, 16, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def skipped_reasons(survey: data.FolderSurvey) -> dict[str, str]:
    return {survey.relative(path): why for path, why in survey.skipped}


def used_names(survey: data.FolderSurvey) -> dict[str, list[str]]:
    return {cls: [survey.relative(p) for p in paths] for cls, paths in survey.used.items()}


# (file to add, its bytes or a writer, the reason it is skipped: a part of the message)
SKIPPED_CASES = {
    "ds_store": ("cats/.DS_Store", b"\x00\x00\x00\x01Bud1", "macOS folder settings"),
    "thumbs_db": ("cats/Thumbs.db", b"\xd0\xcf\x11\xe0", "Windows thumbnail cache"),
    "desktop_ini": ("dogs/desktop.ini", b"[.ShellClassInfo]\n", "Windows folder settings"),
    "hidden_file": ("cats/.secret.jpg", jpeg_bytes(), "hidden file"),
    "apple_double": ("cats/._0.jpg", b"\x00\x05\x16\x07", "macOS metadata"),
    "hidden_folder": ("cats/.ipynb_checkpoints/0.jpg", jpeg_bytes(), "hidden folder"),
    "macosx_folder": ("__MACOSX/cats/._0.jpg", b"\x00\x05\x16\x07", "__MACOSX"),
    "text_note": ("cats/notes.txt", b"taken in the garden", "not a photo file type (.txt)"),
    "csv_note": ("labels.csv", b"file,label\n", "not in a class folder"),
    "csv_in_class": ("dogs/labels.csv", b"file,label\n", "not a photo file type (.csv)"),
    "no_extension": ("dogs/IMG_0001", jpeg_bytes(), "no file extension"),
    "zero_bytes": ("cats/empty.jpg", b"", "empty file (0 bytes)"),
    "truncated": ("cats/cut.jpg", jpeg_bytes(size=(400, 300))[:3000], "damaged"),
    "text_as_jpg": ("dogs/fake.jpg", b"this is not a photo", "not an image that PIL can read"),
    "heic": ("cats/IMG_1234.HEIC", b"\x00\x00\x00\x18ftypheic" + bytes(64), "convert it to JPEG"),
    "top_level_photo": ("stray.jpg", jpeg_bytes(), "not in a class folder"),
}


@pytest.mark.parametrize("case", list(SKIPPED_CASES))
def test_survey_skips_with_reason(tmp_path, case):
    name, content, reason = SKIPPED_CASES[case]
    folder = make_folder(tmp_path / "photos")
    (folder / name).parent.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(content)
    survey = data.survey_folder(folder)
    assert reason in skipped_reasons(survey)[name]
    assert survey.counts == {"cats": 3, "dogs": 3}  # the good photos are all used
    assert not survey.errors
    # folder_datasets uses exactly the survey's photos, and decodes every one of them
    datasets = data.folder_datasets(folder, val_fraction=0.34)
    loaded = {path for ds in datasets.values() for path, _ in ds.samples}
    assert loaded == {path for paths in survey.used.values() for path in paths}


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_survey_skips_links_to_nowhere_and_pipes(tmp_path):
    folder = make_folder(tmp_path / "photos")
    (folder / "cats" / "moved.jpg").symlink_to(tmp_path / "nowhere.jpg")
    os.mkfifo(folder / "dogs" / "pipe.jpg")
    reasons = skipped_reasons(data.survey_folder(folder))
    assert reasons == {
        "cats/moved.jpg": "cannot be read (No such file or directory)",
        "dogs/pipe.jpg": "cannot be read (not a regular file)",
    }


def write_rgba_png(path: Path) -> Path:
    """Left half opaque red, right half fully transparent black."""
    pixels = np.zeros((30, 40, 4), np.uint8)
    pixels[:, :20] = (*RED, 255)
    Image.fromarray(pixels).save(path)
    return path


def write_palette_gif(path: Path) -> Path:
    """Palette index 0 (transparent) on the right half, index 1 (blue) on the left."""
    image = Image.new("P", (40, 30), 0)
    image.putpalette([0, 0, 0, *BLUE] + [0] * 762)
    image.paste(1, (0, 0, 20, 30))
    image.save(path, transparency=0)
    return path


def write_animated_gif(path: Path) -> Path:
    frames = [Image.new("RGB", (40, 30), colour) for colour in (RED, BLUE, BLUE)]
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100)
    return path


def write_exif_rotated(path: Path) -> Path:
    """Stored 40x20 (left red, right blue) with EXIF orientation 6: upright it is 20x40,
    red on top, as a phone held upright takes it."""
    image = Image.new("RGB", (40, 20), BLUE)
    image.paste(RED, (0, 0, 20, 20))
    exif = Image.Exif()
    exif[0x0112] = 6
    image.save(path, exif=exif)
    return path


def write_mode(mode: str, colour, suffix: str = ".jpg"):
    def write(path: Path) -> Path:
        Image.new(mode, (40, 30), colour).save(path.with_suffix(suffix))
        return path.with_suffix(suffix)

    return write


def write_png16_grey(path: Path) -> Path:
    Image.fromarray(np.full((30, 40), 40000, np.uint16)).save(path)  # I;16, 61% grey
    return path


def write_png16_rgb(path: Path) -> Path:
    pixels = np.zeros((30, 40, 3), np.uint16)
    pixels[..., 0] = 60000
    path.write_bytes(png16_rgb(pixels))
    return path


def rgb_at(image: Image.Image, xy) -> tuple[int, int, int]:
    return tuple(int(v) for v in image.getpixel(xy))


def close(actual, expected, tolerance=12) -> bool:
    return all(abs(a - e) <= tolerance for a, e in zip(actual, expected, strict=True))


# (file name, writer, check of the decoded image): each of these photos is used
USED_CASES = {
    "rgba_on_white": (
        "logo.png",
        write_rgba_png,
        lambda im: close(rgb_at(im, (5, 5)), RED) and rgb_at(im, (35, 5)) == (255, 255, 255),
    ),
    "palette_gif_transparency": (
        "icon.gif",
        write_palette_gif,
        lambda im: rgb_at(im, (5, 5)) == BLUE and rgb_at(im, (35, 5)) == (255, 255, 255),
    ),
    "animated_gif_first_frame": (
        "anim.gif",
        write_animated_gif,
        lambda im: close(rgb_at(im, (5, 5)), RED),
    ),
    "greyscale_jpeg": (
        "grey.jpg",
        write_mode("L", 90),
        lambda im: im.mode == "RGB" and close(rgb_at(im, (5, 5)), (90, 90, 90), 3),
    ),
    "cmyk_jpeg": (
        "print.jpg",
        write_mode("CMYK", (0, 255, 255, 0)),
        lambda im: close(rgb_at(im, (5, 5)), (255, 0, 0)),
    ),
    "png_16_bit_grey": (
        "scan.png",
        write_png16_grey,
        lambda im: close(rgb_at(im, (5, 5)), (156, 156, 156), 1),  # 40000 >> 8, not clipped
    ),
    "png_16_bit_rgb": (
        "scan_rgb.png",
        write_png16_rgb,
        lambda im: close(rgb_at(im, (5, 5)), (234, 0, 0), 1),
    ),
    "exif_orientation_6": (
        "IMG_0042.jpg",
        write_exif_rotated,
        lambda im: (
            im.size == (20, 40)
            and close(rgb_at(im, (10, 5)), RED, 30)
            and close(rgb_at(im, (10, 35)), BLUE, 30)
        ),
    ),
    "upper_case_jpg": ("HOLIDAY.JPG", write_mode("RGB", RED, ".JPG"), lambda im: True),
    "upper_case_png": ("SCREEN.PNG", write_mode("RGB", RED, ".PNG"), lambda im: True),
    "spaces_and_non_ascii": ("mon chat é 猫.jpg", write_mode("RGB", RED), lambda im: True),
    "nested_folder": ("2023/summer/beach.jpg", write_mode("RGB", RED), lambda im: True),
}


@pytest.mark.parametrize("case", list(USED_CASES))
def test_survey_uses_and_loads_upright_rgb(tmp_path, case):
    name, write, looks_right = USED_CASES[case]
    folder = make_folder(tmp_path / "photos")
    target = folder / "cats" / name
    target.parent.mkdir(parents=True, exist_ok=True)
    path = write(target)
    survey = data.survey_folder(folder)
    assert path in survey.used["cats"]  # a nested photo counts for its top class folder
    assert survey.skipped == []
    photo = data.load_photo(path)
    assert photo.mode == "RGB"
    assert looks_right(photo)
    assert survey.sizes[path] == photo.size  # upright size, read from the header
    # the data set holds the same pixels (shrunk to short_side when larger)
    dataset = data.folder_datasets(folder, val_fraction=0.25, size=16)
    ds = next(d for d in dataset.values() if any(p == path for p, _ in d.samples))
    index = next(i for i, (p, _) in enumerate(ds.samples) if p == path)
    assert ds.images[index].tobytes() == data.load_photo(path, ds.short_side).tobytes()


def test_every_file_is_used_or_skipped_and_loads(tmp_path):
    folder = make_folder(tmp_path / "photos", per_class=4)
    for name, content, _ in SKIPPED_CASES.values():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(content)
    for name, write, _ in USED_CASES.values():
        (folder / "dogs" / name).parent.mkdir(parents=True, exist_ok=True)
        write(folder / "dogs" / name)
    survey = data.survey_folder(folder)
    every_file = {p for p in folder.rglob("*") if p.is_file()}
    used = {p for paths in survey.used.values() for p in paths}
    skipped = {p for p, _ in survey.skipped}
    assert used | skipped == every_file and not used & skipped
    assert len(skipped) == len(SKIPPED_CASES)
    for budget in (None, 0):  # in memory, then decoded on the fly: no photo makes it crash
        datasets = data.folder_datasets(folder, size=16, memory_budget=budget)
        assert {p for ds in datasets.values() for p, _ in ds.samples} == used
        for ds in datasets.values():
            assert all(ds[i][0].shape == (3, 16, 16) for i in range(len(ds)))


def test_report_reads_well(tmp_path):
    folder = make_folder(tmp_path / "photos")
    (folder / "cats" / "notes.txt").write_text("x")
    survey = data.survey_folder(folder)
    text = str(survey)
    assert "cats" in text and "notes.txt: not a photo file type (.txt)" in text
    assert "1 file(s) skipped" in text
    assert "only 3 photo(s)" in text  # the warning about small classes
    markdown = survey._repr_markdown_()
    assert "| cats | 3 |" in markdown and "| total | 6 |" in markdown
    assert "**Warnings**" in markdown
    assert repr(survey).startswith("FolderSurvey(") and "6 photos used" in repr(survey)
    assert survey.size_summary == {"min": (40, 30), "median": (40, 30), "max": (40, 30)}


def test_warnings_small_imbalanced_tiny(tmp_path):
    folder = make_folder(tmp_path / "photos", per_class=12, size=(64, 48))
    for i in range(12, 40):
        write_image(folder / "cats" / f"{i}.jpg", RED, size=(64, 48), seed=i)
    write_image(folder / "cats" / "thumb.jpg", RED, size=(24, 20), seed=99)
    survey = data.survey_folder(folder)
    assert survey.counts == {"cats": 41, "dogs": 12}
    text = "\n".join(survey.warnings)
    assert "imbalanced classes: 'cats' has 41 photos, 'dogs' 12 (3.4x)" in text
    assert "1 photo(s) smaller than 32 px" in text and "cats/thumb.jpg" in text
    assert "aim for at least" not in text  # both classes have 10 or more
    balanced = data.survey_folder(make_folder(tmp_path / "balanced", 12, size=(64, 48)))
    assert balanced.warnings == []


def test_duplicates_across_classes_and_within_a_class(tmp_path):
    folder = make_folder(tmp_path / "photos", per_class=12)
    (folder / "dogs" / "copy.jpg").write_bytes((folder / "cats" / "0.jpg").read_bytes())
    (folder / "cats" / "again.jpg").write_bytes((folder / "cats" / "1.jpg").read_bytes())
    survey = data.survey_folder(folder)
    text = "\n".join(survey.warnings)
    assert "1 photo(s) are the same file in two classes, e.g. cats/0.jpg = dogs/copy.jpg" in text
    assert "1 photo(s) have exact copies in the same class, e.g. cats/1.jpg = cats/again.jpg" in (
        text
    )
    # copies in one class are kept together, on whichever side of the split, for any seed
    for seed in range(8):
        datasets = data.folder_datasets(folder, seed=seed, val_fraction=0.5, size=16)
        sides = {p.name: split for split, ds in datasets.items() for p, _ in ds.samples}
        assert sides["1.jpg"] == sides["again.jpg"]


def test_duplicates_across_splits(tmp_path):
    root = tmp_path / "photos"
    for offset, split in enumerate(data.SPLITS):
        make_folder(root / split, per_class=12, seed=1000 * offset)
    (root / "val" / "cats" / "leak.jpg").write_bytes(
        (root / "train" / "cats" / "3.jpg").read_bytes()
    )
    survey = data.survey_folder(root)
    assert any(
        "in both train/ and val/, e.g. train/cats/3.jpg = val/cats/leak.jpg" in w
        for w in survey.warnings
    )


def test_errors_single_class_and_empty_class(tmp_path):
    single = make_folder(tmp_path / "single", classes=("cats",))
    survey = data.survey_folder(single)
    assert survey.errors and "only one class folder (cats/)" in survey.errors[0]
    with pytest.raises(data.DatasetError, match="at least two"):
        data.folder_datasets(single)
    empty = make_folder(tmp_path / "empty")
    (empty / "birds").mkdir()
    (empty / "birds" / "Thumbs.db").write_bytes(b"x")  # skipped, so birds/ has no photo
    with pytest.raises(data.DatasetError, match=r"birds/ has no usable photo .* delete the folder"):
        data.folder_datasets(empty)
    flat = make_folder(tmp_path / "flat", classes=())
    (flat / "cat.jpg").write_bytes(jpeg_bytes())
    with pytest.raises(data.DatasetError, match="no class folders.*one sub-folder per class"):
        data.folder_datasets(flat)


def test_errors_missing_folder_and_val_fraction(tmp_path):
    with pytest.raises(data.DatasetError, match="is not a folder.*one sub-folder of photos"):
        data.survey_folder(tmp_path / "nowhere")
    with pytest.raises(data.DatasetError, match="is not a folder"):
        data.folder_datasets(tmp_path / "nowhere")
    folder = make_folder(tmp_path / "photos")
    for bad in (0, 1, -0.1, 1.5):
        with pytest.raises(ValueError, match="between 0 and 1"):
            data.folder_datasets(folder, val_fraction=bad)


def test_split_is_stratified_and_deterministic(tmp_path):
    folder = make_folder(tmp_path / "photos", per_class=20, classes=("a", "b", "c"))
    for i in range(20, 30):
        write_image(folder / "b" / f"{i}.jpg", BLUE, seed=300 + i)
    write_image(folder / "d" / "0.jpg", RED, seed=400)
    write_image(folder / "d" / "1.jpg", RED, seed=401)

    def split(seed):
        datasets = data.folder_datasets(folder, seed=seed, val_fraction=0.2, size=16)
        return {name: [(p.name, label) for p, label in ds.samples] for name, ds in datasets.items()}

    first = split(0)
    assert first == split(0)
    assert first != split(1)
    val_counts = {
        cls: sum(1 for _, label in first["val"] if label == i) for i, cls in enumerate("abcd")
    }
    assert val_counts == {"a": 4, "b": 6, "c": 4, "d": 1}  # 20%, and at least one of two
    train_names = {(name, label) for name, label in first["train"]}
    assert not train_names & set(first["val"])
    assert len(train_names) + len(first["val"]) == 20 + 30 + 20 + 2


def test_exclude_leaves_a_file_out_and_says_so(tmp_path):
    folder = make_folder(tmp_path / "photos", per_class=4)
    survey = data.survey_folder(folder, exclude=["cats/1.jpg"])
    assert skipped_reasons(survey) == {"cats/1.jpg": "excluded by you (exclude=)"}
    assert used_names(survey)["cats"] == ["cats/0.jpg", "cats/2.jpg", "cats/3.jpg"]
    datasets = data.folder_datasets(folder, exclude=["cats/1.jpg"], size=16)
    names = {p.name for ds in datasets.values() for p, label in ds.samples if label == 0}
    assert names == {"0.jpg", "2.jpg", "3.jpg"}


def test_train_val_folder_is_used_as_given(tmp_path):
    root = tmp_path / "photos"
    make_folder(root / "train", per_class=4)
    make_folder(root / "val", per_class=2, seed=1000)
    (root / "test").mkdir()
    (root / "test" / "x.jpg").write_bytes(jpeg_bytes())
    (root / "train" / "note.txt").write_text("x")
    survey = data.survey_folder(root)
    assert survey.splits is not None
    assert skipped_reasons(survey) == {
        "test/x.jpg": "outside train/ and val/: only those two folders are read",
        "train/note.txt": "not in a class folder: move it into train/<class>/ or val/<class>/",
    }
    assert ["cats", "4", "2", "6"] in [line.split() for line in str(survey).splitlines()]
    datasets = data.folder_datasets(root, val_fraction=0.9, size=16)
    assert [p.relative_to(root).as_posix() for p, _ in datasets["val"].samples] == [
        "val/cats/0.jpg", "val/cats/1.jpg", "val/dogs/0.jpg", "val/dogs/1.jpg",
    ]  # fmt: skip
    assert len(datasets["train"]) == 8
    assert "RandomResizedCrop" in repr(datasets["train"].transform)
    assert "RandomResizedCrop" not in repr(datasets["val"].transform)


def test_datasets_work_with_loaders_recipes_and_features(tmp_path):
    folder = make_folder(tmp_path / "photos", per_class=5)
    datasets = data.folder_datasets(folder, size=24)
    train = datasets["train"]
    assert train.classes == ["cats", "dogs"] and train.class_to_idx == {"cats": 0, "dogs": 1}
    assert train.targets == [label for _, label in train.samples]
    assert (train.mean, train.std) == ((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))
    loaders = data.dataloaders(datasets, batch_size=4)
    images, labels = next(iter(loaders["train"]))
    assert images.shape == (4, 3, 24, 24) and labels.dtype == torch.int64
    assert loaders["train"].dataset.classes == ["cats", "dogs"]  # what course_finetune reads
    key = features.cache_key("efficientnet_lite0", datasets["val"])  # a fixed transform
    assert key["data"] == features.dataset_fingerprint(datasets["val"])

    def fingerprints():
        return [features.dataset_fingerprint(ds) for ds in datasets.values()]

    before = fingerprints()
    os.utime(folder / "cats" / "0.jpg", ns=(1, 1))  # an edited photo changes the cache key
    assert fingerprints() != before


def test_memory_budget_switches_to_lazy_with_the_same_samples(tmp_path, monkeypatch):
    folder = make_folder(tmp_path / "photos", per_class=6)
    survey = data.survey_folder(folder)
    assert survey.decoded_bytes(27) == 12 * 36 * 27 * 3  # 40x30 shrunk to a short side of 27
    needed = survey.decoded_bytes(round(48 * 256 / 224))
    assert needed == 12 * 40 * 30 * 3  # photos smaller than the short side are not enlarged
    in_memory = data.folder_datasets(folder, size=48, memory_budget=needed)
    lazy = data.folder_datasets(folder, size=48, memory_budget=needed - 1)
    monkeypatch.setattr(data.survey, "MEMORY_BUDGET_BYTES", needed - 1)
    assert isinstance(data.folder_datasets(folder, size=48)["val"], data.LazyImages)
    for split in data.SPLITS:
        assert isinstance(in_memory[split], data.DecodedImages)
        assert isinstance(lazy[split], data.LazyImages)
        assert lazy[split].samples == in_memory[split].samples
        assert lazy[split].targets == in_memory[split].targets
    for i in range(len(lazy["val"])):
        assert torch.equal(lazy["val"][i][0], in_memory["val"][i][0])
    assert data.default_num_workers(in_memory["train"]) == 0


@pytest.mark.skipif(
    "fork" not in __import__("multiprocessing").get_all_start_methods(), reason="needs fork"
)
def test_lazy_loader_workers_give_the_same_batches(tmp_path, monkeypatch):
    folder = make_folder(tmp_path / "photos", per_class=6)
    monkeypatch.setattr(
        data.loaders.multiprocessing, "get_start_method", lambda allow_none=False: "fork"
    )
    lazy = data.dataloaders(data.folder_datasets(folder, size=24, memory_budget=0), batch_size=5)
    in_memory = data.dataloaders(data.folder_datasets(folder, size=24), batch_size=5)
    assert lazy["val"].num_workers >= 1 and in_memory["val"].num_workers == 0
    lazy_val = torch.cat([images for images, _ in lazy["val"]])
    assert torch.equal(lazy_val, torch.cat([images for images, _ in in_memory["val"]]))
    monkeypatch.setattr(
        data.loaders.multiprocessing, "get_start_method", lambda allow_none=False: "spawn"
    )
    assert data.default_num_workers(lazy["val"].dataset) == 0


def test_lazy_loader_workers_stay_within_the_cpu_limit(tmp_path, monkeypatch):
    lazy = data.folder_datasets(make_folder(tmp_path / "photos"), size=24, memory_budget=0)
    monkeypatch.setattr(
        data.loaders.multiprocessing, "get_start_method", lambda allow_none=False: "fork"
    )
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(64)), raising=False)
    monkeypatch.setenv("CPU_LIMIT", "1")  # a JupyterHub server of 1 CPU on a 64-core machine
    assert data.default_num_workers(lazy["val"]) == 1


def test_pooled_folder_links_once_and_stays(tmp_path, tiny_dataset):
    destination = tmp_path / "pooled"
    pooled = data.pooled_folder(tiny_dataset, destination)
    assert pooled == destination.resolve()
    names = sorted(p.relative_to(pooled).as_posix() for p in pooled.rglob("*") if p.is_file())
    assert len(names) == 20 and "ants/0 (val).jpg" in names and "ants/0.jpg" in names
    link = pooled / "ants" / "0 (val).jpg"
    assert link.is_symlink() and link.resolve() == (tiny_dataset / "val/ants/0.jpg").resolve()
    before = {p: p.lstat().st_mtime_ns for p in pooled.rglob("*")}
    assert data.pooled_folder(tiny_dataset, destination) == pooled  # again: untouched
    assert {p: p.lstat().st_mtime_ns for p in pooled.rglob("*")} == before
    assert data.survey_folder(pooled).counts == {"ants": 10, "bees": 10}
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no scratch
    (pooled / "bees" / "extra.jpg").write_bytes(b"x")
    with pytest.raises(data.DatasetError, match="already holds other files"):
        data.pooled_folder(tiny_dataset, destination)


def test_pooled_folder_copies_without_links_and_stays_out_of_the_repo(
    tmp_path, tiny_dataset, monkeypatch
):
    def no_links(*args):
        raise OSError("symbolic links are not allowed here")

    monkeypatch.setattr(data.survey.os, "symlink", no_links)
    monkeypatch.setattr(data.survey.tempfile, "tempdir", str(tmp_path / "system-temp"))
    pooled = data.pooled_folder(tiny_dataset)
    assert pooled.is_relative_to(tmp_path / "system-temp")
    copy = pooled / "bees" / "3.jpg"
    assert not copy.is_symlink()
    assert copy.read_bytes() == (tiny_dataset / "train" / "bees" / "3.jpg").read_bytes()
    assert data.pooled_folder(tiny_dataset) == pooled
    repo = Path(data.__file__).resolve().parents[2]
    with pytest.raises(ValueError, match="inside the course's repository"):
        data.pooled_folder(tiny_dataset, repo / "data" / "pooled")
    with pytest.raises(ValueError, match="inside"):
        data.pooled_folder(tiny_dataset, tiny_dataset / "pooled")
    assert not (repo / "data" / "pooled").exists()
