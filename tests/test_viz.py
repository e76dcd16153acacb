"""helpers.viz: the data-quality survey finds the odd file out; the plots draw what they say."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.collections import PathCollection  # noqa: E402
from matplotlib.colors import to_hex  # noqa: E402
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
    assert titles == ["\u2717 bees (95%)\ntrue: ants", "\u2717 ants (73%)\ntrue: bees"]
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
    ax = viz.plot_seed_spread([0.94, 0.96, 0.95], reference={"ImageNet's own head": 0.97})
    labels = [text.get_text() for text in ax.get_legend().get_texts()]
    assert "median 0.950" in labels and "ImageNet's own head 0.970" in labels


def test_prediction_titles_mark_right_and_wrong_without_relying_on_colour():
    images = torch.zeros(2, 3, 8, 8)
    labels = torch.tensor([0, 1])
    logits = torch.tensor([[2.0, 0.0], [3.0, 0.0]])  # the first right, the second wrong
    fig = viz.show_predictions(images, labels, logits, ["ants", "bees"], (0.5,) * 3, (0.5,) * 3)
    right, wrong = (ax.title for ax in fig.axes[:2])
    assert right.get_text().startswith(viz.RIGHT_MARK) and "true:" not in right.get_text()
    assert wrong.get_text().startswith(viz.WRONG_MARK) and "true: bees" in wrong.get_text()
    colours = {to_hex(right.get_color()), to_hex(wrong.get_color())}
    assert colours == {viz.RIGHT_COLOUR.lower(), viz.WRONG_COLOUR.lower()}
    assert not colours & {to_hex("green"), to_hex("red"), to_hex("tab:green"), to_hex("tab:red")}


def test_verdict_title_without_a_label_has_no_mark():
    title, colour = viz.verdict_title("bees", 0.5)
    assert title == "bees (50%)" and colour == "black"


def test_every_seed_dot_is_visible_even_when_values_are_equal():
    fig, ax = plt.subplots(figsize=(8, 3.2))  # notebook 04's size: six rows in 3.2 inches
    runs = {f"recipe {i}": [0.9, 0.9, 0.9, 0.95, 0.91] for i in range(6)}
    viz.plot_seed_study(runs, ax=ax)
    fig.canvas.draw()
    centres = np.array(
        [
            collection.get_offset_transform().transform(collection.get_offsets())[0]
            for collection in ax.collections
            if isinstance(collection, PathCollection) and len(collection.get_offsets())
        ]
    )
    assert len(centres) == 6 * 5
    diameter = np.sqrt(viz.SEED_MARKER_SIZE) * fig.dpi / 72  # pixels
    gaps = np.linalg.norm(centres[:, None] - centres[None], axis=-1)
    np.fill_diagonal(gaps, np.inf)
    assert gaps.min() >= diameter


def test_seed_spread_stacks_equal_values():
    ax = viz.plot_seed_spread([0.95, 0.95])
    ax.figure.canvas.draw()
    centres = [c.get_offset_transform().transform(c.get_offsets())[0] for c in ax.collections[:2]]
    assert centres[0][0] == centres[1][0] and centres[0][1] != centres[1][1]


def savings(head_activations: float):
    megabyte = 10**6  # the course's MB: 10**6 bytes (MiB is 2**20)
    return {
        "nothing frozen": {"step": 0.3, "activations": 400 * megabyte, "gradients": 13 * megabyte,
                           "adam_state": 26 * megabyte},
        "all but the head": {"step": 0.06, "activations": head_activations, "gradients": 0.0,
                             "adam_state": 0.0},
    }  # fmt: skip


def test_freezing_savings_label_every_bar_even_a_tiny_one():
    fig = viz.plot_freezing_savings(savings(0.1 * 10**6), inference_seconds=0.05)
    ax_time, ax_memory = fig.axes
    assert [t.get_text() for t in ax_time.texts] == ["0.30 s", "0.06 s"]
    assert [t.get_text() for t in ax_memory.texts] == ["439.0 MB", "0.1 MB"]
    assert "inference only (0.05 s)" in [t.get_text() for t in ax_time.get_legend().get_texts()]
    tiny = viz.plot_freezing_savings(savings(3000.0), inference_seconds=0.05)
    assert tiny.axes[1].texts[1].get_text() == "0.003 MB"  # small, but not written as 0
    nothing = viz.plot_freezing_savings(savings(0.0), inference_seconds=0.05)
    assert nothing.axes[1].texts[1].get_text() == "0 MB"


def test_run_comparison_and_sweep_plots_draw_their_data():
    from helpers.training import EpochRecord, History

    histories = {}
    for label, accuracies in (("all at once", [0.8, 0.85]), ("gradual", [0.82, 0.9])):
        records = [
            EpochRecord(epoch, 1.0, 0.5, 1.0, accuracy, seconds=2.0 * epoch, lr=1e-3)
            for epoch, accuracy in enumerate(accuracies, start=1)
        ]
        histories[label] = History(records=records)
    fig = viz.plot_val_accuracy_runs(histories)
    ax_epoch, ax_time = fig.axes
    assert [line.get_label() for line in ax_epoch.get_lines()] == ["all at once", "gradual"]
    assert list(ax_time.get_lines()[1].get_xdata()) == [2.0, 6.0]  # cumulative seconds
    sweep = {0: {"accuracy": 0.85, "seconds": 10.0}, 9: {"accuracy": 0.92, "seconds": 0.0}}
    ax = viz.plot_freeze_sweep(sweep)
    assert list(ax.get_lines()[0].get_ydata()) == [0.85, 0.92]
    assert list(ax.get_xticks()) == [0, 9]


def test_every_seed_dot_lies_inside_the_axes():
    """The issue's case: the best seed far right, and equal top-row seeds stacked upwards."""
    fig, ax = plt.subplots(figsize=(8, 3.2))
    runs = {"course": [0.95, 0.95, 0.95, 0.95, 0.987], "trap": [0.90, 0.91, 0.92, 0.90, 0.93]}
    viz.plot_seed_study(runs, reference={"ImageNet's own head": 0.974}, ax=ax)
    fig.canvas.draw()
    box = ax.get_window_extent()
    radius = np.sqrt(viz.SEED_MARKER_SIZE) * fig.dpi / 72 / 2  # pixels
    dots = [
        collection.get_offset_transform().transform(collection.get_offsets())[0]
        for collection in ax.collections
        if isinstance(collection, PathCollection) and len(collection.get_offsets())
    ]
    assert len(dots) == 10
    for x, y in dots:
        assert box.x0 + radius <= x <= box.x1 - radius, (x, box)
        assert box.y0 + radius <= y <= box.y1 - radius, (y, box)
