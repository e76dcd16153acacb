"""Plots for the notebooks: images, predictions, training curves, confusion matrices, Grad-CAM.

Every function draws on a matplotlib Axes or Figure and returns it; none changes global
settings. Used from notebook 01 on.
"""

from __future__ import annotations

import inspect
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from IPython.display import Code, display
from matplotlib.ticker import FixedLocator, NullFormatter, StrMethodFormatter
from matplotlib.transforms import offset_copy
from PIL import Image
from torch import nn

from helpers import data
from helpers.training import History

# Okabe & Ito's colour-blind-safe palette (https://jfly.uni-koeln.de/color/): every plot that
# must tell two things apart by colour picks from it, and right/wrong also differ by a mark.
OKABE_ITO = {
    "orange": "#E69F00",
    "sky blue": "#56B4E9",
    "bluish green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish purple": "#CC79A7",
    "black": "#000000",
}
RIGHT_COLOUR = OKABE_ITO["blue"]
WRONG_COLOUR = OKABE_ITO["vermillion"]
RIGHT_MARK = "\u2713"  # ✓: the mark, not the colour alone, says right or wrong
WRONG_MARK = "\u2717"  # ✗
SEED_MARKER_SIZE = 28  # points squared, as scatter's s; one seed's dot in plot_seed_study
PHOTO_KEY = "+-1 val photo"  # the legend entry saying what an accuracy's error bar is
# Accuracy plots given val_images: one val photo moves accuracy by 1/val_images (0.65 points of
# 153), so their axis spans at least this many photos and a change of one or two never fills it.
MIN_ACCURACY_SPAN_PHOTOS = 10
# Horizontal reference lines (ImageNet's own head, ...): palette colours no data series here uses.
REFERENCE_COLOURS = (OKABE_ITO["reddish purple"], OKABE_ITO["vermillion"], OKABE_ITO["sky blue"])


def verdict_title(predicted: str, confidence: float, true: str | None = None) -> tuple[str, str]:
    """(title, colour) for a prediction: '✓ predicted (conf)' in blue when right, or
    '✗ predicted (conf)' and 'true: ...' in vermillion when wrong; no mark when true is None.

    Readable without colour vision: the mark and the 'true:' line carry the verdict. Used by
    show_predictions and show_grad_cam (notebooks 01, 04 and 06).
    """
    title = f"{predicted} ({confidence:.0%})"
    if true is None:
        return title, "black"
    if true == predicted:
        return f"{RIGHT_MARK} {title}", RIGHT_COLOUR
    return f"{WRONG_MARK} {title}\ntrue: {true}", WRONG_COLOUR


def to_image(tensor: torch.Tensor, mean: Sequence[float], std: Sequence[float]) -> np.ndarray:
    """Undo normalisation: (3, H, W) normalised tensor -> (H, W, 3) array in [0, 1]."""
    image = tensor.detach().cpu().float() * torch.tensor(std)[:, None, None]
    image = image + torch.tensor(mean)[:, None, None]
    return image.clamp(0, 1).permute(1, 2, 0).numpy()


def imshow(image, mean=None, std=None, title: str | None = None, ax=None):
    """Show a PIL image, an (H, W, 3) array, or a normalised (3, H, W) tensor (give mean/std)."""
    ax = ax or plt.gca()
    if isinstance(image, torch.Tensor):
        if mean is None or std is None:
            raise ValueError("a normalised tensor needs the mean and std it was normalised with")
        image = to_image(image, mean, std)
    ax.imshow(image)
    ax.set_axis_off()
    if title:
        ax.set_title(title, fontsize=9)
    return ax


def show_predictions(images, labels, logits, class_names: Sequence[str], mean, std, columns=6):
    """A grid of images titled '✓ predicted (confidence)' when right, '✗ predicted (confidence)'
    and the true class when wrong, in blue and vermillion (verdict_title). Notebooks 01 and 04.

    images: (N, 3, H, W) normalised; labels: (N,); logits: (N, C).
    """
    probabilities = torch.softmax(logits.float(), dim=1)
    confidence, predicted = probabilities.max(dim=1)
    rows = max(1, -(-len(images) // columns))
    # constrained layout makes room for every title, a two-line one ("true: ...") included
    fig, axes = plt.subplots(rows, columns, figsize=(2.2 * columns, 2.6 * rows), squeeze=False,
                             layout="constrained")  # fmt: skip
    for ax in axes.flat:
        ax.set_axis_off()
    shown = zip(axes.flat, images, labels, predicted, confidence, strict=False)
    for ax, image, label, pred, conf in shown:
        imshow(image, mean, std, ax=ax)
        title, colour = verdict_title(class_names[pred], float(conf), class_names[label])
        ax.set_title(title, color=colour, fontsize=9)
    return fig


def plot_history(
    history: History,
    axes=None,
    *,
    val_images: int | None = None,
    references: Mapping[str, float] | None = None,
):
    """Loss and accuracy per epoch, train and val; the probe phase shaded, the best epoch marked.

    The final epoch is what training ended with; the best epoch (chosen on the val set) is the
    one fit restored. val_images: the val set's size; when given, each val accuracy carries a
    +-1 photo bar and the accuracy axis spans at least MIN_ACCURACY_SPAN_PHOTOS photos.
    references: {name: accuracy} drawn as dashed lines, e.g. {"ImageNet's own head": 0.974}.
    Notebooks 04 and 06.
    """
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(10, 3.4))
    references = references or {}
    epochs = history.column("epoch")
    probe_end = history.probe_end or 0
    for ax, metric in zip(axes, ("loss", "accuracy"), strict=True):
        ax.clear()
        if probe_end:
            ax.axvspan(0.5, probe_end + 0.5, color="tab:olive", alpha=0.15, label="probe phase")
        train = history.column(f"train_{metric}")
        ax.plot(epochs, train, "o-", color=OKABE_ITO["blue"], label="train")
        val = np.array(history.column(f"val_{metric}"), dtype=float)  # None (no val set): nan
        has_val = not np.isnan(val).all()
        if has_val and metric == "accuracy":
            _plot_accuracies(ax, epochs, val, val_images, "s-", color=OKABE_ITO["orange"],
                             label="val")  # fmt: skip
        elif has_val:
            ax.plot(epochs, val, "s-", color=OKABE_ITO["orange"], label="val")
        if history.best_epoch is not None:
            ax.axvline(
                history.best_epoch, color="black", ls=":",
                label=f"best epoch ({history.best.phase})",
            )  # fmt: skip
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric)
        ax.set_xticks(epochs)
        ax.grid(alpha=0.3)
    accuracies = [*history.column("train_accuracy"), *history.column("val_accuracy")]
    _draw_references(axes[1], references)
    _fit_accuracy_axis(axes[1], accuracies, val_images, references)
    axes[0].legend(fontsize=8)
    outside = {"loc": "upper left", "bbox_to_anchor": (1.01, 1)}  # covers no point, any data
    _accuracy_legend(axes[1], references, **outside)
    return axes


def _plot_accuracies(ax, x, accuracies, val_images: int | None, fmt: str, **style):
    """Accuracies drawn with fmt, each with a +-1 photo bar when val_images is given (the bars
    stop at 0 and 1, where accuracy does). The bar's meaning goes into the legend once."""
    drawn = ax.plot(x, accuracies, fmt, **style)
    if not val_images:
        return drawn
    values = np.asarray(accuracies, dtype=float)
    photo = 1 / val_images
    bars = np.vstack([np.minimum(photo, values), np.minimum(photo, 1 - values)])
    ax.errorbar(x, values, yerr=bars, fmt="none", ecolor=style["color"], capsize=3)
    key = f"{PHOTO_KEY} (1/{val_images})"
    if key not in ax.get_legend_handles_labels()[1]:
        ax.errorbar([], [], yerr=[], fmt="none", ecolor="grey", capsize=3, label=key)
    return drawn


def _accuracy_legend(ax, references: Mapping[str, float], handles=None, **placement):
    """A legend listing the data first, then what a bar means, then the reference lines."""
    handles = handles or ax.get_legend_handles_labels()[0]
    lines = {_reference_label(name, value) for name, value in references.items()}
    order = [h for h in handles if h.get_label() not in lines and PHOTO_KEY not in h.get_label()]
    order += [h for h in handles if PHOTO_KEY in h.get_label()]
    order += [h for h in handles if h.get_label() in lines]
    return ax.legend(handles=order, fontsize=8, **placement)


def _draw_references(ax, references: Mapping[str, float]) -> None:
    """One horizontal dashed line per reference accuracy, labelled with its value."""
    if len(references) > len(REFERENCE_COLOURS):
        raise ValueError(
            f"{len(references)} references: at most {len(REFERENCE_COLOURS)} can have colours "
            "of their own; pass fewer"
        )
    for (name, value), colour in zip(references.items(), REFERENCE_COLOURS, strict=False):
        ax.axhline(value, color=colour, ls="--", lw=1.3, label=_reference_label(name, value))


def _reference_label(name: str, value: float) -> str:
    return f"{name} {value:.3f}"


def _fit_accuracy_axis(
    ax, accuracies, val_images: int | None, references: Mapping[str, float]
) -> None:
    """y limits holding every accuracy, its +-1 photo bar and every reference, at least
    MIN_ACCURACY_SPAN_PHOTOS photos tall when val_images is given, never past 0 or 1 (+ air)."""
    values = np.array([*accuracies, *references.values()], dtype=float)
    values = values[~np.isnan(values)]
    if not len(values):
        return
    photo = 1 / val_images if val_images else 0.0
    low, high = max(values.min() - photo, 0.0), min(values.max() + photo, 1.0)
    span = min(max(high - low, MIN_ACCURACY_SPAN_PHOTOS * photo), 1.0)
    centre = np.clip((low + high) / 2, span / 2, 1 - span / 2)  # widened inside [0, 1]
    air = 0.05 * span or 0.01  # matplotlib's own margin; 0.01 around a single value
    ax.set_ylim(centre - span / 2 - air, centre + span / 2 + air)


def plot_confusion_matrix(labels, predictions, class_names: Sequence[str], ax=None):
    """Counts of true (rows) against predicted (columns) classes, annotated."""
    ax = ax or plt.gca()
    n = len(class_names)
    matrix = np.zeros((n, n), dtype=int)
    for true, pred in zip(np.asarray(labels), np.asarray(predictions), strict=True):
        matrix[true, pred] += 1
    ax.imshow(matrix, cmap="Blues")
    for (i, j), count in np.ndenumerate(matrix):
        color = "white" if count > matrix.max() / 2 else "black"
        ax.text(j, i, str(count), ha="center", va="center", color=color, fontsize=12)
    ax.set_xticks(range(n), class_names)
    ax.set_yticks(range(n), class_names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    accuracy = np.trace(matrix) / max(matrix.sum(), 1)
    ax.set_title(f"accuracy {accuracy:.1%} ({np.trace(matrix)}/{matrix.sum()})")
    return ax


def show_source(function) -> None:
    """Display a helper's source code, highlighted: for when the code itself is the lesson."""
    display(Code(inspect.getsource(function), language="python"))


class LivePlot:
    """A fit() callback that redraws the loss and accuracy curves in place after every epoch;
    val_images and references as in plot_history."""

    def __init__(
        self, *, val_images: int | None = None, references: Mapping[str, float] | None = None
    ):
        self.figure, self.axes = plt.subplots(1, 2, figsize=(10, 3.4))
        plt.close(self.figure)  # shown through the display handle, not again at cell end
        self.handle = None
        self.val_images = val_images
        self.references = references

    def __call__(self, history: History) -> None:
        plot_history(history, self.axes, val_images=self.val_images, references=self.references)
        self.figure.tight_layout()
        if self.handle is None:
            self.handle = display(self.figure, display_id=True)
        else:
            self.handle.update(self.figure)


# --- What freezing saves and breaks (notebook 03) ---

MEMORY_PARTS = {  # what freezing.training_memory returns, as the plots name and colour it
    "activations": ("saved activations", OKABE_ITO["orange"]),
    "gradients": ("gradients", OKABE_ITO["sky blue"]),
    "adam_state": ("Adam state", OKABE_ITO["reddish purple"]),
}


def plot_freezing_savings(savings: Mapping[str, Mapping[str, float]], inference_seconds: float):
    """Seconds per training step and the memory held for training (stacked by part), one bar
    per setting, each labelled with its value so that a near-zero bar is still read.

    savings: {setting: {"step": seconds, "activations"/"gradients"/"adam_state": bytes}}, as
    measured with training.time_training_step and freezing.training_memory. Notebook 03.
    """
    fig, (ax_time, ax_memory) = plt.subplots(1, 2, figsize=(11, 3.4))
    settings = list(savings)
    steps = [savings[name]["step"] for name in settings]
    bars = ax_time.bar(settings, steps, color=OKABE_ITO["blue"])
    # each value sits above its bar, or above the inference line where the bar ends near or
    # below it, so no label is crossed by the line
    box = {"facecolor": "white", "edgecolor": "none", "pad": 0.5}
    near = 0.08 * max(max(steps), inference_seconds)
    for bar, step in zip(bars, steps, strict=True):
        y = max(step, inference_seconds) if step < inference_seconds + near else step
        ax_time.annotate(f"{step:.2f} s", (bar.get_x() + bar.get_width() / 2, y),
                         xytext=(0, 3), textcoords="offset points", ha="center", va="bottom",
                         fontsize=8, bbox=box, zorder=3)  # fmt: skip
    ax_time.axhline(inference_seconds, color="grey", ls="--", zorder=2,
                    label=f"inference only ({inference_seconds:.2f} s)")  # fmt: skip
    ax_time.set_ylabel("seconds per training step")
    ax_time.set_ylim(0, max(steps) * 1.2)
    ax_time.legend(fontsize=8)
    bottom = np.zeros(len(settings))
    for part, (label, colour) in MEMORY_PARTS.items():
        values = np.array([savings[name][part] / 1e6 for name in settings])
        bars = ax_memory.bar(settings, values, bottom=bottom, label=label, color=colour)
        bottom += values
    ax_memory.bar_label(bars, [_megabytes(total) for total in bottom], padding=2, fontsize=8)
    ax_memory.set_ylabel("MB held for training")
    ax_memory.set_ylim(0, bottom.max() * 1.2)
    ax_memory.legend(fontsize=8)
    fig.tight_layout()
    return fig


def _megabytes(value: float) -> str:
    """'437.4 MB', '0.1 MB', and '0 MB' only for a true zero (a tiny bar is not nothing)."""
    if value == 0:
        return "0 MB"
    return f"{value:.1f} MB" if value >= 0.05 else f"{value:.2g} MB"


# Drift bars spanning more than this factor get a log axis: on a linear one the small ones are
# a pixel or less tall (notebook 03's run from 0.002 to 1.4)
DRIFT_LOG_RATIO = 10


def plot_batchnorm_drift(drift: Sequence[float], ax=None):
    """Relative change of each BatchNorm layer's running mean, input to output, on a log axis
    when the changes span more than DRIFT_LOG_RATIO (a zero change draws no bar). Notebook 03."""
    ax = ax or plt.subplots(figsize=(8, 2.8))[1]
    values = np.asarray(drift, dtype=float)
    ax.bar(range(len(values)), values, color=OKABE_ITO["vermillion"])
    changed = values[values > 0]
    log = len(changed) > 0 and changed.max() > DRIFT_LOG_RATIO * changed.min()
    if log:
        ax.set_yscale("log")
        ax.set_ylim(changed.min() / 2, changed.max() * 2)  # the smallest bar stays a bar
    ax.set_xlabel("BatchNorm layer (input → output)")
    ax.set_ylabel("relative change of\nrunning mean" + (" (log scale)" if log else ""))
    ax.set_title("Frozen weights, drifting statistics")
    return ax


def plot_val_accuracy_runs(
    histories: Mapping[str, History],
    *,
    val_images: int | None = None,
    references: Mapping[str, float] | None = None,
):
    """Val accuracy of several runs against the epoch and against seconds of training, one
    colour and marker per run. histories: {label: History}; val_images and references as in
    plot_history. Epochs are evenly spaced and joined as a curve; the seconds at which epochs
    end are not (a run's epochs take unequal times), so that panel shows markers only.
    Notebook 03."""
    fig, (ax_epoch, ax_time) = plt.subplots(1, 2, figsize=(10, 3.2))
    references = references or {}
    colours = (OKABE_ITO["blue"], OKABE_ITO["orange"], OKABE_ITO["bluish green"])
    styles = zip(colours, "os^", strict=True)
    accuracies = []
    for (label, history), (colour, marker) in zip(histories.items(), styles, strict=False):
        accuracy = history.column("val_accuracy")
        elapsed = np.cumsum(history.column("seconds"))
        accuracies += accuracy
        _plot_accuracies(ax_epoch, history.column("epoch"), accuracy, val_images, f"{marker}-",
                         color=colour, label=label)  # fmt: skip
        _plot_accuracies(ax_time, elapsed, accuracy, val_images, marker, color=colour, label=label)
    epochs = sorted({e for history in histories.values() for e in history.column("epoch")})
    ax_epoch.set_xticks(epochs)
    ax_epoch.set_xlabel("epoch")
    ax_time.set_xlabel("seconds of training (when each epoch ended)")
    for ax in (ax_epoch, ax_time):
        _draw_references(ax, references)
        _fit_accuracy_axis(ax, accuracies, val_images, references)
        ax.set_ylabel("val accuracy")
        ax.grid(alpha=0.3)
    _accuracy_legend(ax_time, references, loc="upper left", bbox_to_anchor=(1.01, 1))  # both
    fig.tight_layout()
    return fig


SWEEP_LEGEND_DROP = 38  # points from the axes' bottom edge to the legend: below the x label


def plot_freeze_sweep(
    sweep: Mapping[int, Mapping[str, float]],
    ax=None,
    *,
    val_images: int | None = None,
    references: Mapping[str, float] | None = None,
):
    """Best val accuracy and seconds to train against the number of frozen layer groups, as
    markers: the numbers swept may be unevenly spaced (0, 5, 7, 8, 9) and nothing lies between
    them, so no line joins them. By default two panels, accuracy above and seconds below on the
    same x axis (the seconds on a log axis), so no square can hide a circle; given ax, the
    seconds go on a right-hand axis of it. sweep: {frozen groups: {"accuracy", "seconds"}};
    val_images and references as in plot_history. Returns the accuracy axes. Notebook 03."""
    panels = ax is None
    if panels:
        _, (ax, ax_seconds) = plt.subplots(
            2, 1, figsize=(7, 5.2), sharex=True, height_ratios=[2, 1]
        )
    else:
        ax_seconds = ax.twinx()
    references = references or {}
    shape = ("", "") if panels else (" (circles)", " (squares)")  # one shared plot: say which
    frozen = sorted(sweep)
    accuracy = [sweep[k]["accuracy"] for k in frozen]
    seconds = [sweep[k]["seconds"] for k in frozen]
    _plot_accuracies(ax, frozen, accuracy, val_images, "o", color=OKABE_ITO["blue"],
                     label="best val accuracy" + shape[0])  # fmt: skip
    _draw_references(ax, references)
    _fit_accuracy_axis(ax, accuracy, val_images, references)
    ax_seconds.plot(frozen, seconds, "s", color=OKABE_ITO["orange"],
                    label="seconds to train" + shape[1])  # fmt: skip
    if panels and min(seconds) > 0:  # a log axis: 0.9, 0.4 and 0.1 s stay apart from 20 s
        ax_seconds.set_yscale("log")
        ax_seconds.set_ylim(min(seconds) / 2, max(seconds) * 2)
        ax_seconds.set_ylabel("seconds to train\n(log scale)")
    else:
        top = max(seconds) * 1.1 or 1.0
        ax_seconds.set_ylim(-0.08 * top, top)  # from 0, with room for a square drawn at 0 s
        ax_seconds.set_ylabel("seconds to train" + shape[1])
    ax.set_ylabel("best val accuracy" + shape[0])
    (ax_seconds if panels else ax).set_xlabel("number of frozen layer groups (from the input)")
    ax.set_xticks(frozen)
    ax.set_title("Freeze depth: accuracy and cost")
    if panels:
        _accuracy_legend(ax, references, loc="lower right")
        for axis in (ax, ax_seconds):
            axis.grid(alpha=0.3)
        ax.figure.tight_layout()
    else:  # one legend for both axes, under the x label
        handles = [h for a in (ax, ax_seconds) for h in a.get_legend_handles_labels()[0]]
        below = offset_copy(ax.transAxes, fig=ax.figure, y=-SWEEP_LEGEND_DROP, units="points")
        _accuracy_legend(ax, references, handles, ncol=2, loc="upper center",
                         bbox_to_anchor=(0.5, 0), bbox_transform=below)  # fmt: skip
    return ax


# --- Looking at a data set before training, and at a model's mistakes (notebook 04) ---

PHOTO_MIN_COLOURS = 100  # a decoded photo has thousands of distinct colours; a drawing, a few
RARE_SHARE = 0.02  # a file format or colour mode that fewer than 2% of the files share is odd


@dataclass(frozen=True)
class ImageInfo:
    """What the data-quality pass records about one image file."""

    path: Path
    split: str
    label: str
    format: str
    mode: str
    width: int
    height: int
    colours: int  # distinct RGB colours, counted on a reduced decode (JPEG draft mode)


def survey_images(folder: str | Path | data.FolderSurvey) -> list[ImageInfo]:
    """Every photo data.survey_folder uses under folder (root/<split>/<class>/ or root/<class>/),
    or of a survey already made: format, colour mode, size, colour count (split "" when
    unsplit). The survey's skipped files (PIL cannot open them, or not photos) are left out.
    Notebooks 04 and 06.
    """
    survey = folder if isinstance(folder, data.FolderSurvey) else data.survey_folder(folder)
    places = survey.splits or {"": survey.used}
    infos = []
    for split, classes in places.items():
        for label, paths in classes.items():
            for path in paths:
                (width, height), (format_, mode, colours) = survey.sizes[path], survey.facts[path]
                infos.append(ImageInfo(path, split, label, format_, mode, width, height, colours))
    return sorted(infos, key=lambda info: info.path)


def find_odd_images(infos: Sequence[ImageInfo]) -> dict[Path, list[str]]:
    """{path: reasons} for files that do not look like the rest: a rare file format or colour
    mode (shared by fewer than RARE_SHARE of the files), or too few colours to be a photo.

    Flags what deserves a look, not what is wrong: look at each before removing it. Notebook 04.
    """
    formats = Counter(info.format for info in infos)
    modes = Counter(info.mode for info in infos)
    odd: dict[Path, list[str]] = {}
    for info in infos:
        reasons = []
        if formats[info.format] < RARE_SHARE * len(infos):
            reasons.append(f"{info.format} file, unlike {formats.most_common(1)[0][0]}")
        if modes[info.mode] < RARE_SHARE * len(infos):
            reasons.append(f"colour mode {info.mode}, unlike {modes.most_common(1)[0][0]}")
        if info.colours < PHOTO_MIN_COLOURS:
            reasons.append(f"only {info.colours} distinct colours: a drawing, not a photo?")
        if reasons:
            odd[info.path] = reasons
    return odd


# One colour per class in plot_image_sizes, the palette's strongest first (yellow is faint on
# white); a ninth class reuses the first colour, its legend entry still tells it apart.
CLASS_COLOURS = tuple(
    OKABE_ITO[name]
    for name in (
        "blue",
        "orange",
        "bluish green",
        "vermillion",
        "reddish purple",
        "sky blue",
        "black",
        "yellow",
    )
)
# Labelled sizes per decade on a log axis: 1-2-5 (100, 200, 500, 1000), or finer when the sizes
# span too little for two of those
SIZE_TICK_STEPS = ((1, 2, 5), (1, 1.5, 2, 3, 4, 5, 6, 7, 8))


def plot_image_sizes(infos: Sequence[ImageInfo], ax=None):
    """Width against height of every image, one colour per class and one marker per split (log
    axes, labelled with plain sizes such as 200, 500, 1000). Notebook 04."""
    ax = ax or plt.gca()
    groups = sorted({(info.split, info.label) for info in infos})
    classes = sorted({label for _, label in groups})
    for split, label in groups:
        chosen = [i for i in infos if (i.split, i.label) == (split, label)]
        ax.scatter(
            [i.width for i in chosen],
            [i.height for i in chosen],
            s=14,
            alpha=0.6,
            color=CLASS_COLOURS[classes.index(label) % len(CLASS_COLOURS)],
            marker="o" if split == "train" else "^",
            label=f"{split}/{label} ({len(chosen)})",
        )
    ax.set_xscale("log")
    ax.set_yscale("log")
    for axis, sizes in (
        (ax.xaxis, [i.width for i in infos]),
        (ax.yaxis, [i.height for i in infos]),
    ):
        axis.set_major_locator(FixedLocator(_size_ticks(min(sizes), max(sizes))))
        axis.set_major_formatter(StrMethodFormatter("{x:g}"))
        axis.set_minor_formatter(NullFormatter())  # matplotlib's 2x10^2, 3x10^2 labels collide
    ax.set_xlabel("width (pixels)")
    ax.set_ylabel("height (pixels)")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    return ax


def _size_ticks(low: float, high: float) -> list[float]:
    """Round sizes from low to high to label a log axis: 1-2-5 per decade, finer if needed."""
    decades = range(int(np.floor(np.log10(low))), int(np.ceil(np.log10(high))) + 1)
    for steps in SIZE_TICK_STEPS:
        ticks = [step * 10**decade for decade in decades for step in steps]
        ticks = [tick for tick in ticks if low <= tick <= high]
        if len(ticks) >= 2:
            return ticks
    return ticks or sorted({low, high})  # one size, or a narrow range between round numbers


def show_image_files(paths: Sequence[str | Path], titles=None, columns: int = 6, size=2.2):
    """A grid of image files as they are on disk (titles default to 'class/file name')."""
    rows = max(1, -(-len(paths) // columns))
    fig, axes = plt.subplots(rows, columns, figsize=(size * columns, size * rows), squeeze=False)
    for ax in axes.flat:
        ax.set_axis_off()
    for index, (ax, path) in enumerate(zip(axes.flat, paths, strict=False)):
        path = Path(path)
        with Image.open(path) as image:
            image.draft("RGB", (256, 256))
            shown = image.convert("RGB")
        title = titles[index] if titles is not None else f"{path.parent.name}/{path.name}"
        imshow(shown, title=_shorten(title, 26), ax=ax)
    fig.tight_layout()
    return fig


def _shorten(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def show_augmentations(image, transform, mean, std, count: int = 8, columns: int = 8, seed=0):
    """The same PIL image through a random training transform count times, plus the original.

    transform: PIL image -> normalised (3, H, W) tensor. seed makes the draws repeatable.
    Notebook 04.
    """
    generator_state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        views = [transform(image) for _ in range(count)]
    finally:
        torch.random.set_rng_state(generator_state)
    rows = -(-(count + 1) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(1.9 * columns, 2.1 * rows), squeeze=False)
    for ax in axes.flat:
        ax.set_axis_off()
    imshow(image, title=f"original {image.width}x{image.height}", ax=axes.flat[0])
    for index, (ax, view) in enumerate(zip(list(axes.flat)[1:], views, strict=False), start=1):
        imshow(view, mean, std, title=f"draw {index}", ax=ax)
    fig.tight_layout()
    return fig


def show_misclassified(images, labels, logits, class_names: Sequence[str], mean, std, columns=6):
    """Only the wrongly predicted images of a set, most confident mistakes first.

    images: (N, 3, H, W) normalised; labels: (N,); logits: (N, C). Notebook 04.
    """
    probabilities = torch.softmax(logits.float(), dim=1)
    confidence, predicted = probabilities.max(dim=1)
    wrong = torch.nonzero(predicted != labels).flatten()
    if len(wrong) == 0:
        fig, ax = plt.subplots(figsize=(4, 1))
        ax.set_axis_off()
        ax.text(0.5, 0.5, "no mistakes", ha="center", va="center")
        return fig
    wrong = wrong[confidence[wrong].argsort(descending=True)]
    return show_predictions(
        images[wrong], labels[wrong], logits[wrong], class_names, mean, std, columns
    )


def plot_seed_spread(
    values: Sequence[float], label: str = "best val accuracy", ax=None, reference=None
):
    """One dot per run (equal ones stacked), with the median and the min-max range: how far one
    number can move, for one recipe (plot_seed_study draws several)."""
    ax = ax or plt.gca()
    values = np.asarray(values, dtype=float)
    _stacked_dots(ax, values, 0.0)
    ax.scatter([], [], s=SEED_MARKER_SIZE, color=RIGHT_COLOUR, label="one seed each")
    median = np.median(values)
    ax.axvline(median, color=OKABE_ITO["orange"], label=f"median {median:.3f}")
    ax.axvspan(values.min(), values.max(), color=OKABE_ITO["orange"], alpha=0.15,
               label="min to max")  # fmt: skip
    if reference is not None:
        for (name, value), style in zip(reference.items(), (":", "--", "-."), strict=False):
            ax.axvline(value, color="grey", ls=style, label=f"{name} {value:.3f}")
    ax.set_yticks([])
    ax.set_xlabel(label)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
    return ax


STACK_STEP_POINTS = np.sqrt(SEED_MARKER_SIZE) + 1  # a dot's diameter and a gap


def _stacked_dots(ax, values: np.ndarray, y: float) -> int:
    """One dot per value at height y; equal values are stacked upwards, a dot-width apart in
    points (offset_copy), so that none hides another at any figure size. The values join the
    axes' data limits (an offset dot would not), so autoscaling keeps every one inside.
    Returns the highest stack level (0: no two values equal)."""
    seen: Counter[float] = Counter()
    for value in values:
        level = seen[round(float(value), 6)]
        seen[round(float(value), 6)] += 1
        lifted = offset_copy(
            ax.transData, fig=ax.figure, y=STACK_STEP_POINTS * level, units="points"
        )
        ax.scatter(value, y, s=SEED_MARKER_SIZE, color=RIGHT_COLOUR, zorder=3, transform=lifted)
    ax.update_datalim(np.column_stack([values, np.full(len(values), y)]))
    ax.autoscale_view(scaley=False)
    return max(seen.values(), default=1) - 1


def _room_above(ax, y: float, levels: int, bottom: float) -> None:
    """Raise the top of an inverted y axis until levels stacked dots above y fit inside."""
    radius = np.sqrt(SEED_MARKER_SIZE) / 2 + 2  # points, and a little air
    top = ax.get_ylim()[1]
    for _ in range(3):  # the points-to-data scale moves with the limits: settle it
        height = ax.get_window_extent().height * 72 / ax.figure.dpi  # points
        per_point = (bottom - top) / height
        top = min(top, y - (levels * STACK_STEP_POINTS + radius) * per_point)
        ax.set_ylim(bottom, top)


def plot_seed_study(
    runs: Mapping[str, Sequence[float]],
    reference: Mapping[str, float] | None = None,
    label: str = "final-epoch val accuracy",
    ax=None,
):
    """One row per recipe: a dot per seed, the mean and +- one std.

    runs: {recipe name: one value per seed}; reference: vertical lines such as the accuracy of
    ImageNet's own head. Equal values (common on a small val set) are stacked one dot-width
    apart in points, so every seed stays visible whatever the figure size. Notebooks 04 and 05.
    """
    names = list(runs)
    ax = ax or plt.subplots(figsize=(8, 0.55 * len(names) + 1.2))[1]
    first_levels = 0
    for row, name in enumerate(names):
        values = np.asarray(runs[name], dtype=float)
        levels = _stacked_dots(ax, values, row - 0.1)
        first_levels = levels if row == 0 else first_levels
        mean, std = values.mean(), values.std(ddof=1) if len(values) > 1 else 0.0
        ax.errorbar(mean, row + 0.25, xerr=std, fmt="D", color=OKABE_ITO["orange"], capsize=4,
                    zorder=4)  # fmt: skip
    for (name, value), style in zip((reference or {}).items(), (":", "--", "-."), strict=False):
        ax.axvline(value, color="grey", ls=style, label=f"{name} {value:.3f}")
    ax.scatter(
        [], [], s=SEED_MARKER_SIZE, color=RIGHT_COLOUR, label="one seed (equal ones stacked)"
    )
    ax.errorbar([], [], xerr=[], fmt="D", color=OKABE_ITO["orange"], capsize=4, label="mean +- std")
    ax.set_yticks(range(len(names)), names)
    ax.set_ylim(len(names) - 0.4, -0.6)
    _room_above(ax, -0.1, first_levels, len(names) - 0.4)  # the top row's stack stays inside
    ax.set_xlabel(label)
    ax.grid(axis="x", alpha=0.3)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
    return ax


# --- Where a model looks: Grad-CAM (notebook 06) ---


def find_feature_layer(model: nn.Module, image: torch.Tensor) -> tuple[str, nn.Module]:
    """(dotted name, module) of the last layer that outputs a spatial (1, C, h, w) map with h*w > 1:
    the feature map that global pooling averages away. Found with forward hooks on one forward
    pass, so it works for any CNN (timm's bn2, torchvision ResNet's layer4). Notebook 06.

    image: (3, H, W) or (1, 3, H, W), normalised for the model.
    """
    batch = _as_batch(model, image)
    names = {module: name for name, module in model.named_modules()}
    spatial: list[nn.Module] = []

    def record(module, inputs, output):
        if isinstance(output, torch.Tensor) and output.dim() == 4 and output[0, 0].numel() > 1:
            spatial.append(module)

    handles = [module.register_forward_hook(record) for module in model.modules()]
    try:
        with _eval_mode(model), torch.no_grad():
            model(batch)
    finally:
        for handle in handles:
            handle.remove()
    layers = [module for module in spatial if module is not model]
    if not layers:
        raise ValueError(
            f"no layer of {type(model).__name__} outputs a (1, C, h, w) feature map larger than "
            f"1x1 for a {tuple(batch.shape[-2:])} image: use a larger image or pass layer="
        )
    return names[layers[-1]], layers[-1]


def grad_cam(
    model: nn.Module,
    image: torch.Tensor,
    target: int | None = None,
    layer: nn.Module | None = None,
) -> torch.Tensor:
    """Grad-CAM (Selvaraju et al. 2017): where in the image the evidence for a class lies.

    image: (3, H, W) or (1, 3, H, W), normalised for the model; target: a class index, default
    the predicted class; layer: whose activations to weigh, default find_feature_layer's.
    Returns an (H, W) map in [0, 1] on the CPU. Runs in eval mode and gives the gradient to the
    activation, not the weights, so frozen models and torch.no_grad() callers work; the model's
    modes, requires_grad flags and hooks are left as they were. Notebook 06.
    """
    cam, _ = _grad_cam(model, _as_batch(model, image), target, layer)
    return cam


def _as_batch(model: nn.Module, image: torch.Tensor) -> torch.Tensor:
    """A (1, 3, H, W) copy of image on the model's device, detached from any graph."""
    batch = image.detach().unsqueeze(0) if image.dim() == 3 else image.detach()
    if batch.dim() != 4 or batch.shape[0] != 1:
        raise ValueError(f"image must be (3, H, W) or (1, 3, H, W), got {tuple(image.shape)}")
    parameter = next(model.parameters(), None)
    return batch if parameter is None else batch.to(parameter.device, parameter.dtype)


@contextmanager
def _eval_mode(model: nn.Module) -> Iterator[None]:
    """Eval mode inside (no BatchNorm statistics updated, no dropout), each module's mode after."""
    modes = [(module, module.training) for module in model.modules()]
    model.eval()
    try:
        yield
    finally:
        for module, training in modes:
            module.training = training


def _grad_cam(
    model: nn.Module, batch: torch.Tensor, target: int | None, layer: nn.Module | None
) -> tuple[torch.Tensor, torch.Tensor]:
    """(the (H, W) Grad-CAM map, the (C,) class probabilities) for a (1, 3, H, W) batch."""
    if layer is None:
        layer = find_feature_layer(model, batch)[1]
    captured: dict[str, torch.Tensor] = {}

    def capture(module, inputs, output):
        # A fresh leaf that requires grad: the gradient reaches it even when every weight is
        # frozen, and the clone lets later in-place layers (ReLU(inplace=True)) run unharmed.
        captured["activation"] = output.detach().requires_grad_(True)
        return captured["activation"].clone()

    handle = layer.register_forward_hook(capture)
    try:
        with _eval_mode(model), torch.enable_grad():
            logits = model(batch)[0]
            if "activation" not in captured:
                raise ValueError(f"layer {type(layer).__name__} is not used by the model")
            target = int(logits.argmax()) if target is None else int(target)
            if not 0 <= target < len(logits):
                raise ValueError(f"target {target} is not a class index: 0..{len(logits) - 1}")
            (gradient,) = torch.autograd.grad(logits[target], captured["activation"])
    finally:
        handle.remove()
    activation = captured["activation"].detach()[0]  # (C, h, w)
    if activation.dim() != 3:
        raise ValueError(f"layer output is {tuple(activation.shape)}, not a (C, h, w) map")
    weights = gradient[0].mean(dim=(1, 2))  # (C,): how much each channel raises the score
    cam = torch.relu(torch.einsum("c,chw->hw", weights, activation)).float()
    cam = F.interpolate(cam[None, None], size=batch.shape[-2:], mode="bilinear")[0, 0]
    cam = cam - cam.min()
    peak = cam.max()
    cam = cam / peak if peak > 0 else cam
    return cam.cpu(), torch.softmax(logits.detach().float(), dim=0).cpu()


GRAD_CAM_CMAP = "inferno"  # perceptually uniform, dark to bright: no rainbow (jet)


def show_grad_cam(
    model: nn.Module,
    images,
    labels=None,
    *,
    class_names: Sequence[str],
    mean: Sequence[float],
    std: Sequence[float],
    layer: nn.Module | None = None,
    columns: int = 4,
    alpha: float = 0.5,
    cmap: str = GRAD_CAM_CMAP,
):
    """A grid of photos with the Grad-CAM map of the predicted class laid over each.

    images: (N, 3, H, W) normalised (or a list of (3, H, W)); labels: (N,) or None. Titles say
    'predicted (confidence)', marked as in show_predictions when labels are given. The map is
    drawn in a perceptually uniform colour map (inferno: dark is none, bright yellow the most
    evidence; readable without colour vision, unlike jet) with a colour bar saying so.
    Notebook 06.
    """
    images = list(images)
    if not images:
        raise ValueError("no images to show")
    if layer is None:
        layer = find_feature_layer(model, images[0])[1]
    rows = -(-len(images) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(2.6 * columns, 2.8 * rows), squeeze=False)
    for ax in axes.flat:
        ax.set_axis_off()
    for index, (ax, image) in enumerate(zip(axes.flat, images, strict=False)):
        cam, probabilities = _grad_cam(model, _as_batch(model, image), None, layer)
        predicted = int(probabilities.argmax())
        true = None if labels is None else class_names[int(labels[index])]
        title, colour = verdict_title(class_names[predicted], float(probabilities[predicted]), true)
        imshow(image, mean, std, ax=ax)
        overlay = ax.imshow(cam.numpy(), cmap=cmap, alpha=alpha, vmin=0, vmax=1)
        ax.set_title(title, color=colour, fontsize=9)
    fig.tight_layout(rect=(0, 0, 0.9, 1))
    bar = fig.colorbar(overlay, cax=fig.add_axes((0.92, 0.15, 0.015, 0.7)))
    bar.solids.set_alpha(1)
    bar.set_ticks([0, 0.5, 1])
    bar.set_label(
        "Grad-CAM evidence for the predicted class\n(1 = the most in that photo)", fontsize=8
    )
    bar.ax.tick_params(labelsize=8)
    return fig
