"""helpers.viz: the data-quality survey finds the odd file out; the plots draw what they say."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.collections import LineCollection, PathCollection  # noqa: E402
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


def histories_of_notebook_03():
    """Val accuracy of notebook 03's two fine-tuning runs and their seconds per epoch."""
    from helpers.training import EpochRecord, History

    runs = {"all at once": ([0.797, 0.856, 0.850], [9.9, 10.0, 10.3]),
            "gradual": ([0.922, 0.928, 0.915], [3.4, 3.8, 7.5])}  # fmt: skip
    return {
        label: History(
            records=[
                EpochRecord(epoch, 0.5, 0.9, 0.4, accuracy, seconds=seconds, lr=1e-3)
                for epoch, (accuracy, seconds) in enumerate(zip(*run, strict=True), start=1)
            ]
        )
        for label, run in runs.items()
    }


SWEEP = {  # notebook 03's freeze sweep: unevenly spaced numbers of frozen groups
    0: {"accuracy": 0.850, "seconds": 20.1},
    5: {"accuracy": 0.889, "seconds": 9.1},
    7: {"accuracy": 0.928, "seconds": 1.1},
    8: {"accuracy": 0.935, "seconds": 0.4},
    9: {"accuracy": 0.902, "seconds": 0.08},
}
REFERENCES = {"ImageNet's own head": 0.974, "head only": 0.948}


def test_run_comparison_and_sweep_plots_draw_their_data():
    fig = viz.plot_val_accuracy_runs(histories_of_notebook_03())
    ax_epoch, ax_time = fig.axes
    gradual = {tuple(line.get_xdata()) for line in ax_time.get_lines() if len(line.get_xdata())}
    assert (3.4, 7.2, 14.7) in {tuple(np.round(x, 6)) for x in gradual}  # cumulative seconds
    ax = viz.plot_freeze_sweep(SWEEP)
    accuracies = [list(np.round(line.get_ydata(), 6)) for line in ax.get_lines()]
    assert [0.85, 0.889, 0.928, 0.935, 0.902] in accuracies
    assert list(ax.get_xticks()) == [0, 5, 7, 8, 9]


def drawn_points(ax):
    """(x, y) in data coordinates of every drawn line point, error bar end and reference line;
    None for a coordinate given in axes coordinates (axhline's x, axvline's y)."""
    points = []
    for line in ax.get_lines():
        transform = line.get_transform()
        in_data = (transform == ax.transData, transform == ax.get_yaxis_transform(which="grid"))
        for x, y in zip(line.get_xdata(), line.get_ydata(), strict=True):
            if transform == ax.get_xaxis_transform(which="grid"):
                points.append((x, None))
            elif any(in_data):
                points.append((x if in_data[0] else None, y))
    for collection in ax.collections:
        if isinstance(collection, LineCollection):
            points += [tuple(point) for segment in collection.get_segments() for point in segment]
    return points


def assert_inside(ax):
    (x0, x1), (y0, y1) = sorted(ax.get_xlim()), sorted(ax.get_ylim())
    points = drawn_points(ax)
    assert points
    for x, y in points:
        assert x is None or x0 < x < x1, (x, ax.get_xlim())
        assert y is None or y0 < y < y1, (y, ax.get_ylim())


def joined_lines(ax):
    """Lines that join points at different heights: a curve, not a marker or a reference."""
    return [
        line
        for line in ax.get_lines()
        if line.get_linestyle() not in ("None", "", " ") and len(set(line.get_ydata())) > 1
    ]


def one_photo_bars(ax):
    """Heights of the vertical error bars drawn on ax."""
    return [
        abs(segment[1][1] - segment[0][1])
        for collection in ax.collections
        if isinstance(collection, LineCollection)
        for segment in collection.get_segments()
    ]


def reference_lines(ax):
    return [line for line in ax.get_lines() if line.get_label().startswith(tuple(REFERENCES))]


def assert_references_drawn(ax):
    lines = reference_lines(ax)
    assert [line.get_label() for line in lines] == ["ImageNet's own head 0.974", "head only 0.948"]
    assert all(line.get_linestyle() == "--" for line in lines)
    assert [line.get_ydata()[0] for line in lines] == [0.974, 0.948]
    colours = [to_hex(line.get_color()) for line in lines]
    assert len(set(colours)) == 2 and set(colours) <= {c.lower() for c in viz.OKABE_ITO.values()}
    legend = [text.get_text() for text in ax.get_legend().get_texts()]
    assert "ImageNet's own head 0.974" in legend and "head only 0.948" in legend


def history_of(train, val, probe_epochs=0):
    from helpers.training import EpochRecord, History

    records = [
        EpochRecord(epoch, 0.1, t, 0.07, v, seconds=20.0, lr=1e-3,
                    phase="probe" if epoch <= probe_epochs else "fine-tune")
        for epoch, (t, v) in enumerate(zip(train, val, strict=True), start=1)
    ]  # fmt: skip
    return History(records=records, best_epoch=max(records, key=lambda r: r.val_accuracy).epoch)


NOTEBOOK_04 = ([0.980, 0.988, 0.996, 0.996], [0.974, 0.974, 0.987, 0.987], 153)
NOTEBOOK_06 = ([0.959, 0.972, 0.997, 1.0], [0.975, 0.975, 0.9625, 0.9625], 80)


@pytest.mark.parametrize("train, val, val_images", [NOTEBOOK_04, NOTEBOOK_06])
def test_history_accuracy_axis_spans_photos_and_holds_every_point(train, val, val_images):
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.4))
    viz.plot_history(history_of(train, val), axes, val_images=val_images, references=REFERENCES)
    ax_accuracy = axes[1]
    low, high = ax_accuracy.get_ylim()
    assert high - low >= viz.MIN_ACCURACY_SPAN_PHOTOS / val_images
    assert_inside(ax_accuracy)
    assert_references_drawn(ax_accuracy)
    bars = one_photo_bars(ax_accuracy)  # +-1 photo, cut at accuracy 1
    assert len(bars) == len(val) and min(bars) > 1.9 / val_images and max(bars) <= 2 / val_images
    legend = [text.get_text() for text in ax_accuracy.get_legend().get_texts()]
    assert f"+-1 val photo (1/{val_images})" in legend


def test_history_without_val_images_still_holds_its_references():
    axes = viz.plot_history(history_of(*NOTEBOOK_04[:2], probe_epochs=1), references=REFERENCES)
    assert_inside(axes[1])
    assert_references_drawn(axes[1])
    assert one_photo_bars(axes[1]) == []


def test_live_plot_passes_val_images_and_references():
    live = viz.LivePlot(val_images=153, references=REFERENCES)
    live.handle = type("Handle", (), {"update": lambda self, figure: None})()  # no display
    live(history_of(*NOTEBOOK_04[:2]))
    assert_references_drawn(live.axes[1])
    low, high = live.axes[1].get_ylim()
    assert high - low >= viz.MIN_ACCURACY_SPAN_PHOTOS / 153


def test_run_comparison_shows_one_photo_and_joins_no_seconds():
    fig = viz.plot_val_accuracy_runs(histories_of_notebook_03(), val_images=153,
                                     references=REFERENCES)  # fmt: skip
    ax_epoch, ax_time = fig.axes
    assert joined_lines(ax_time) == []  # uneven seconds: markers, not a curve
    assert len(joined_lines(ax_epoch)) == 2  # one curve per run over evenly spaced epochs
    for ax in (ax_epoch, ax_time):
        assert_inside(ax)
        assert len(one_photo_bars(ax)) == 6 and np.allclose(one_photo_bars(ax), 2 / 153)
        assert [line.get_label() for line in reference_lines(ax)] == [
            "ImageNet's own head 0.974", "head only 0.948"
        ]  # fmt: skip
    assert_references_drawn(ax_time)


def test_freeze_sweep_shows_one_photo_and_joins_no_points():
    fig, ax = plt.subplots(figsize=(7, 3.2))
    viz.plot_freeze_sweep(SWEEP, ax=ax, val_images=153, references=REFERENCES)
    ax_time = next(other for other in fig.axes if other is not ax)
    assert joined_lines(ax) == [] and joined_lines(ax_time) == []  # 0, 5, 7, 8, 9: no curve
    assert len(one_photo_bars(ax)) == 5 and np.allclose(one_photo_bars(ax), 2 / 153)
    assert_inside(ax)
    assert_inside(ax_time)
    assert_references_drawn(ax)
    fig.tight_layout()
    fig.canvas.draw()
    legend = ax.get_legend().get_window_extent()
    for text in (ax.xaxis.label, ax.yaxis.label, ax_time.yaxis.label, ax.title):
        assert not legend.overlaps(text.get_window_extent()), text.get_text()
    assert not legend.overlaps(ax.get_window_extent())


def test_freeze_sweep_by_default_puts_seconds_in_a_panel_of_their_own():
    """Two panels on one x axis: a seconds square can never sit on an accuracy circle."""
    ax = viz.plot_freeze_sweep(SWEEP, val_images=153, references=REFERENCES)
    fig = ax.figure
    assert len(fig.axes) == 2
    ax_seconds = next(other for other in fig.axes if other is not ax)
    fig.canvas.draw()
    assert ax.get_window_extent().y0 > ax_seconds.get_window_extent().y1 - 1  # above, apart
    assert joined_lines(ax) == [] and joined_lines(ax_seconds) == []
    assert_inside(ax)
    assert_inside(ax_seconds)
    assert list(ax_seconds.get_xticks()) == [0, 5, 7, 8, 9]
    assert ax_seconds.get_yscale() == "log"  # 0.06 s and 21 s both readable
    plt.close(fig)


def survey_like_notebook_04():
    """Sizes like the ant and bee photos: most 500 px wide, a few small, a few 2000 px."""
    rng = np.random.default_rng(0)
    infos = []
    for split, label, count in (("train", "ants", 124), ("train", "bees", 121),
                                ("val", "ants", 70), ("val", "bees", 83)):  # fmt: skip
        for i in range(count):
            width = int(rng.choice([500, 500, 500, 333, 375, rng.integers(193, 800), 2592]))
            height = int(rng.choice([375, 333, 500, rng.integers(130, 700), 1984]))
            infos.append(
                viz.ImageInfo(
                    Path(f"{split}/{label}/{i}.jpg"),
                    split,
                    label,
                    "JPEG",
                    "RGB",
                    width,
                    height,
                    5000,
                )  # fmt: skip
            )
    return infos


def test_size_scatter_colours_classes_from_the_palette():
    ax = viz.plot_image_sizes(survey_like_notebook_04())
    colours = {
        collection.get_label(): to_hex(collection.get_facecolor()[0], keep_alpha=False)
        for collection in ax.collections
    }
    assert set(colours.values()) <= {c.lower() for c in viz.OKABE_ITO.values()}
    assert colours["train/ants (124)"] == colours["val/ants (70)"]  # one colour per class
    assert colours["train/bees (121)"] == colours["val/bees (83)"]
    assert colours["train/ants (124)"] != colours["train/bees (121)"]


@pytest.mark.parametrize("figsize", [(6, 4), (4, 3)])
def test_size_scatter_tick_labels_do_not_collide(figsize):
    fig, ax = plt.subplots(figsize=figsize)  # notebook 04's size, and a smaller one
    viz.plot_image_sizes(survey_like_notebook_04(), ax=ax)
    fig.canvas.draw()
    box = ax.get_window_extent()
    for axis, (start, end) in ((ax.xaxis, ("x0", "x1")), (ax.yaxis, ("y0", "y1"))):
        shown = sorted(
            (label.get_window_extent() for label in axis.get_ticklabels(which="both")
             if label.get_text() and label.get_visible()
             and getattr(box, start) - 1 <= getattr(label.get_window_extent(), start)
             and getattr(label.get_window_extent(), end) <= getattr(box, end) + 1),
            key=lambda extent: getattr(extent, start),
        )  # fmt: skip
        assert len(shown) >= 2, axis
        for left, right in zip(shown, shown[1:], strict=False):
            assert getattr(left, end) < getattr(right, start), (axis, left, right)
    assert "pixels" in ax.get_xlabel()
    labels = [label.get_text() for label in ax.xaxis.get_ticklabels() if label.get_text()]
    assert "500" in labels and "1000" in labels  # plain numbers, not 10^3


BATCHNORM_DRIFT = [1.37, 0.02, 0.004, 0.003, 0.04, 0.02, 0.01, 0.03, 0.02, 0.002, 0.03, 0.008,
                   0.08, 0.04, 0.005, 0.03, 0.015, 0.01, 0.08, 0.07, 0.006, 0.075, 0.05, 0.009,
                   0.15, 0.035, 0.007, 0.12, 0.03, 0.005, 0.13, 0.02, 0.01, 0.14, 0.015, 0.006,
                   0.34, 0.1, 0.004, 0.37, 0.075, 0.003, 0.38, 0.05, 0.01, 0.18, 0.03, 0.002,
                   0.0015]  # fmt: skip


def test_batchnorm_drift_shows_every_bar():
    """Notebook 03's 49 layers: changes from 0.0015 to 1.37, every one drawn a few pixels tall."""
    fig, ax = plt.subplots(figsize=(8, 2.8))
    viz.plot_batchnorm_drift(BATCHNORM_DRIFT, ax=ax)
    assert ax.get_yscale() == "log" and "log scale" in ax.get_ylabel()
    fig.canvas.draw()
    heights = [patch.get_window_extent().height for patch in ax.patches]
    assert len(heights) == 49 and min(heights) >= 3
    low, high = ax.get_ylim()
    assert low < min(BATCHNORM_DRIFT) and max(BATCHNORM_DRIFT) < high


def test_batchnorm_drift_of_similar_sizes_stays_linear():
    ax = viz.plot_batchnorm_drift([0.2, 0.5, 0.3, 0.45])
    assert ax.get_yscale() == "linear" and "log" not in ax.get_ylabel()
    assert ax.get_ylim()[0] == 0


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


def test_prediction_titles_never_overlap_the_photo_above():
    images = torch.zeros(12, 3, 32, 32)
    labels = torch.tensor([0, 1] * 6)
    logits = torch.tensor([[2.0, 0.0]] * 12)  # every photo called class 0: half are mistakes
    fig = viz.show_predictions(images, labels, logits, ["ants", "bees"], (0.5,) * 3, (0.5,) * 3)
    fig.canvas.draw()
    axes = [ax for ax in fig.axes if ax.images]
    for upper, lower in zip(axes[:6], axes[6:], strict=True):
        title = lower.title.get_window_extent()
        assert title.y1 <= upper.get_window_extent().y0 + 0.5  # below the photo above it
    plt.close(fig)


@pytest.mark.parametrize("head_step", [0.13, 0.06, 0.16])  # below, far below, just above
def test_freezing_savings_labels_are_not_crossed_by_the_inference_line(head_step):
    savings = {
        name: {"step": step, "activations": 1e6, "gradients": 1e6, "adam_state": 1e6}
        for name, step in (("all trainable", 0.5), ("head only", head_step))
    }
    fig = viz.plot_freezing_savings(savings, inference_seconds=0.15)
    fig.canvas.draw()
    ax_time = fig.axes[0]
    line = next(line for line in ax_time.get_lines() if line.get_linestyle() == "--")
    line_y = ax_time.transData.transform((0, line.get_ydata()[0]))[1]
    labels = [text for text in ax_time.texts if text.get_text().endswith(" s")]
    assert [t.get_text() for t in labels] == ["0.50 s", f"{head_step:.2f} s"]
    for text in labels:
        box = text.get_bbox_patch().get_window_extent()
        assert not box.y0 < line_y < box.y1, f"the line crosses {text.get_text()!r}"
        assert box.y1 <= ax_time.get_window_extent().y1  # and it stays inside the axes
    plt.close(fig)
