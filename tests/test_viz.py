"""helpers.viz: the data-quality survey finds the odd file out; the plots draw what they say."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from PIL import Image, ImageDraw  # noqa: E402

from helpers import viz  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def placeholder_gif(path):
    """A flat two-colour 'image not found' picture saved as a palette GIF."""
    image = Image.new("RGB", (60, 60), "white")
    ImageDraw.Draw(image).rectangle((10, 20, 50, 40), fill="grey")
    image.convert("P").save(path)
    return path


@pytest.fixture
def folder_with_placeholder(tiny_dataset):
    return tiny_dataset, placeholder_gif(tiny_dataset / "train" / "ants" / "placeholder.gif")


def test_survey_records_every_image(folder_with_placeholder):
    root, gif = folder_with_placeholder
    infos = viz.survey_images(root)
    assert len(infos) == 21  # 2 x (6 + 4) photos and the placeholder
    by_path = {info.path: info for info in infos}
    assert (by_path[gif].split, by_path[gif].label) == ("train", "ants")
    assert (by_path[gif].format, by_path[gif].mode) == ("GIF", "P")
    photo = by_path[root / "val" / "bees" / "0.jpg"]
    assert (photo.width, photo.height, photo.format) == (40, 30, "JPEG")
    assert photo.colours > viz.PHOTO_MIN_COLOURS


def test_survey_reads_an_unsplit_folder_too(folder_with_placeholder):
    root, gif = folder_with_placeholder
    infos = viz.survey_images(root / "train")  # ants/ and bees/ directly
    assert len(infos) == 13  # 2 x 6 photos and the placeholder
    by_path = {info.path: info for info in infos}
    assert (by_path[gif].split, by_path[gif].label) == ("", "ants")


def test_odd_images_are_found_by_their_properties_not_their_name(folder_with_placeholder):
    root, gif = folder_with_placeholder
    renamed = gif.rename(gif.with_name("0042.jpg"))  # same content, an innocent name
    infos = viz.survey_images(root)
    more_photos = [  # a data set of 70 files, so one GIF in it is rare (under 2%)
        viz.ImageInfo(root / f"p{i}.jpg", "train", "bees", "JPEG", "RGB", 50, 40, 900)
        for i in range(49)
    ]
    odd = viz.find_odd_images(infos + more_photos)
    assert list(odd) == [renamed]
    reasons = " ".join(odd[renamed])
    assert "GIF" in reasons and "colour mode P" in reasons and "distinct colours" in reasons


def test_an_all_photo_folder_has_no_odd_images(tiny_dataset):
    assert viz.find_odd_images(viz.survey_images(tiny_dataset)) == {}


def test_few_colours_alone_is_flagged(tiny_dataset):
    flat = tiny_dataset / "val" / "ants" / "flat.jpg"
    Image.new("RGB", (40, 30), (10, 200, 10)).save(flat)
    odd = viz.find_odd_images(viz.survey_images(tiny_dataset))
    assert list(odd) == [flat]


def test_size_scatter_has_one_series_per_split_and_class(tiny_dataset):
    ax = viz.plot_image_sizes(viz.survey_images(tiny_dataset))
    labels = [text.get_text() for text in ax.get_legend().get_texts()]
    assert labels == ["train/ants (6)", "train/bees (6)", "val/ants (4)", "val/bees (4)"]


def test_show_image_files_titles(tiny_dataset):
    paths = sorted((tiny_dataset / "train" / "ants").glob("*.jpg"))[:3]
    fig = viz.show_image_files(paths, columns=2)
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titles == ["ants/0.jpg", "ants/1.jpg", "ants/2.jpg"]


def test_augmentations_are_repeatable_and_leave_the_global_rng_alone(tiny_dataset):
    from helpers import data

    train = data.image_datasets(tiny_dataset, size=32)["train"]
    image = train.images[0]
    torch.manual_seed(123)
    expected_next = torch.rand(1)
    torch.manual_seed(123)
    fig = viz.show_augmentations(image, train.transform, train.mean, train.std, count=5, columns=3)
    assert torch.equal(torch.rand(1), expected_next)
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titles[0].startswith("original") and titles[1:] == [f"draw {i}" for i in range(1, 6)]
    first = [ax.images[0].get_array().copy() for ax in fig.axes[1:6]]
    again = viz.show_augmentations(image, train.transform, train.mean, train.std, count=5)
    assert all(
        np.array_equal(a, ax.images[0].get_array())
        for a, ax in zip(first, again.axes[1:6], strict=True)
    )


def test_misclassified_shows_only_mistakes_most_confident_first():
    images = torch.zeros(4, 3, 8, 8)
    labels = torch.tensor([0, 1, 0, 1])
    logits = torch.tensor([[2.0, 0.0], [1.0, 0.0], [0.0, 3.0], [0.0, 1.0]])  # 1 and 2 wrong
    fig = viz.show_misclassified(images, labels, logits, ["ants", "bees"], (0.5,) * 3, (0.5,) * 3)
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titles == ["bees (95%)\ntrue: ants", "ants (73%)\ntrue: bees"]
    right = viz.show_misclassified(
        images,
        labels,
        labels.float()[:, None] * torch.tensor([-1.0, 1.0]) + torch.tensor([0.5, 0.0]),
        ["ants", "bees"],
        (0.5,) * 3,
        (0.5,) * 3,
    )
    assert "no mistakes" in right.axes[0].texts[0].get_text()


def test_seed_spread_marks_median_and_range():
    ax = viz.plot_seed_spread([0.94, 0.96, 0.95], reference={"zero-shot": 0.97})
    labels = [text.get_text() for text in ax.get_legend().get_texts()]
    assert "median 0.950" in labels and "zero-shot 0.970" in labels
