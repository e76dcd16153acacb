"""Comparing transfer strategies: balanced subsets, a dissimilar data set, tables and figures.

Everything notebook 05 needs to put ImageNet's own head, linear probes, the tutorial's fixed
extractor, fine-tuning and training from scratch side by side: class-balanced subsets,
scikit-learn's bundled 8x8 digits as an image data set unlike ImageNet photos (the source
lives in helpers.data, re-exported here), scikit-image's bundled faces as a new one for an
exercise, the strategy
study (every strategy in every cell of the data-size x similarity matrix over the same seeds,
run by benchmarks/strategy_study.py), its tables, learning curves and the decision matrix,
every verdict from the one rule (results.compare). Notebook 05.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.ticker import FuncFormatter, NullFormatter
from torch.utils.data import DataLoader, Dataset, Subset

from helpers import recipes, training
from helpers.data import FACES_CLASSES, DigitsImages, digits_datasets, faces_datasets
from helpers.models import DEFAULT_BACKBONE
from helpers.results import compare, leaders
from helpers.viz import OKABE_ITO, imshow

LEARNING_CURVE_FRACTIONS = (0.02, 0.05, 0.10, 0.25, 0.50, 1.00)
# The digits experiments of notebook 05 and benchmarks/seed_study.py: 8x8 digits upscaled to
# DIGITS_SIZE px, batch DIGITS_BATCH_SIZE; the small set keeps DIGITS_SMALL of the training
# digits (about 5 per class) and gets at least DIGITS_SMALL_MIN_STEPS optimizer steps.
DIGITS_SIZE = 48
DIGITS_BATCH_SIZE = 32
DIGITS_SMALL = 0.04
DIGITS_SMALL_MIN_STEPS = 80  # the 50-digit runs level off before the end of 80 steps
# One colour per strategy in the bar charts and learning curves (Okabe-Ito, colour-blind safe).
STRATEGY_COLOURS = tuple(
    OKABE_ITO[name]
    for name in ("blue", "orange", "bluish green", "vermillion", "reddish purple", "sky blue")
)


def balanced_subset(
    targets: Sequence[int], fraction: float, seed: int = 0, min_per_class: int = 1
) -> np.ndarray:
    """Sorted indices of a class-balanced random subset: round(fraction * n_c) items per class.

    Each class keeps the same fraction of its items (at least min_per_class), drawn with a
    fixed seed. For one seed the subsets are nested: the 10% subset is part of the 25% one, so
    a learning curve adds data rather than swapping it. Notebook 05.
    """
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}")
    targets = np.asarray(targets)
    rng = np.random.default_rng(seed)
    chosen = []
    for cls in np.unique(targets):
        members = np.flatnonzero(targets == cls)
        take = min(len(members), max(min_per_class, round(fraction * len(members))))
        chosen.append(rng.permutation(members)[:take])
    return np.sort(np.concatenate(chosen))


def epochs_for(num_images: int, batch_size: int, epochs: int, min_steps: int = 0) -> int:
    """epochs, or more so that training takes at least min_steps optimizer steps.

    A tiny subset has one batch per epoch: a fixed epoch budget would give it almost no
    updates, and a learning curve would then measure too few steps rather than too few images.
    """
    steps_per_epoch = max(1, -(-num_images // batch_size))
    return max(epochs, -(-min_steps // steps_per_epoch))


def subset_loaders(
    train_dataset: Dataset,
    val_dataset: Dataset,
    indices: Sequence[int],
    batch_size: int = recipes.COURSE_BATCH_SIZE,
    seed: int = 0,
) -> dict[str, DataLoader]:
    """{"train": shuffled loader over train_dataset[indices], "val": loader over val_dataset}.

    The shuffling order is fixed by seed. Notebook 05 and benchmarks/seed_study.py.
    """
    subset = Subset(train_dataset, list(indices))
    subset.classes = getattr(train_dataset, "classes", None)  # the warm start reads the names
    generator = torch.Generator().manual_seed(seed)
    return {
        "train": DataLoader(subset, batch_size=batch_size, shuffle=True, generator=generator),
        "val": DataLoader(val_dataset, batch_size=128),
    }


DODGE = 1.06  # the factor between neighbouring series' x positions on a learning curve's log axis


def plot_learning_curves(
    curves: Mapping[str, Mapping[int, float | Sequence[float]]],
    *,
    total: int | None = None,
    chance: float | None = None,
    references: Mapping[str, Mapping[int, float]] | None = None,
    levels: Mapping[str, float] | None = None,
    val_images: int | None = None,
    title: str = "",
    ax=None,
):
    """Val accuracy against the number of training images, one series per strategy.

    curves: {strategy: {number of training images: val accuracy, or one per seed}}; several
    seeds draw their mean with a +-1 std error bar, and the legend's title says so (and how
    many seeds). A series of three or more sizes is joined by a line; two sizes far apart are
    drawn as points only, since a line would invent the values between them. references:
    further curves drawn thin and dashed; levels: horizontal lines such as ImageNet's own head.
    total adds a top axis in percent of the training set; val_images says in the legend's
    title what one val image is worth in accuracy. Series are dodged sideways by a few percent
    (DODGE) so that points at one size stay apart. Notebook 05.
    """
    ax = ax or plt.subplots(figsize=(10, 4.4), layout="constrained")[1]
    markers = ("o", "s", "^", "D", "v", "P")
    handles = []
    seeds = set()
    for index, (name, points) in enumerate(curves.items()):
        sizes = sorted(points)
        values = [np.atleast_1d(np.asarray(points[n], dtype=float)) for n in sizes]
        seeds |= {len(v) for v in values}
        means = [v.mean() for v in values]
        spreads = [v.std(ddof=1) if len(v) > 1 else 0.0 for v in values]
        # Series that share a size are dodged sideways (a few percent on the log axis), so
        # that no marker or error bar hides another.
        dodge = DODGE ** (index - (len(curves) - 1) / 2)
        handles.append(ax.errorbar([n * dodge for n in sizes], means, yerr=spreads,
                    marker=markers[index % len(markers)],
                    linestyle="-" if len(sizes) >= 3 else "none", capsize=4,
                    color=STRATEGY_COLOURS[index % len(STRATEGY_COLOURS)], label=name))  # fmt: skip
    for name, points in (references or {}).items():
        sizes = sorted(points)
        handles += ax.plot(sizes, [points[n] for n in sizes], "--", color=OKABE_ITO["black"],
                           alpha=0.55, label=name)  # fmt: skip
    level_styles = (
        (OKABE_ITO["reddish purple"], "-."),
        (OKABE_ITO["sky blue"], (0, (5, 1, 1, 1, 1, 1))),  # dash-dot-dot
    )
    for (name, value), (colour, style) in zip((levels or {}).items(), level_styles, strict=False):
        handles.append(ax.axhline(value, color=colour, linestyle=style, label=name))
    if chance is not None:
        handles.append(ax.axhline(chance, color="grey", linestyle=":",
                                  label=f"majority class ({chance:.3f})"))  # fmt: skip
    ax.set_xscale("log")
    ax.set_xlabel("training images (log scale)")
    ax.set_ylabel("val accuracy (final epoch)")
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    key = [_seeds_in_a_point(seeds)]
    if val_images:
        key.append(f"one val image = {1 / val_images:.4f} of accuracy (1/{val_images})")
    # beside the axes, where it hides no point whatever the data
    legend = ax.legend(handles=handles, fontsize=8, title="\n".join(key), title_fontsize=8,
                       loc="center left", bbox_to_anchor=(1.02, 0.5))  # fmt: skip
    legend.get_title().set_multialignment("left")
    if title:
        ax.set_title(title)
    if total:
        top = ax.secondary_xaxis(
            "top", functions=(lambda n: 100 * n / total, lambda p: p * total / 100)
        )
        top.set_xlabel("% of the training set")
        used = sorted({n for points in curves.values() for n in points})
        top.set_xticks([100 * n / total for n in used])  # the shares measured, as plain numbers
        top.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:.3g}"))
        top.xaxis.set_minor_formatter(NullFormatter())
    return ax


def _seeds_in_a_point(counts: set[int], seeds: Sequence[int] | None = None) -> str:
    """What one point of a figure is, given how many seeds its points have (counts) and, if
    known, which seeds."""
    named = f" ({', '.join(map(str, seeds))})" if seeds else ""
    if counts <= {1}:
        return (
            f"each point: one run (seed {seeds[0]})" if seeds else "each point: one run (one seed)"
        )
    if len(counts) == 1:
        return f"each point: mean of {min(counts)} seeds{named}, bar: +-1 std"
    return f"each point: mean of its {min(counts)} to {max(counts)} seeds{named}, bar: +-1 std"


def show_digit_examples(dataset: DigitsImages):
    """The first training image of every digit class, as the backbone sees it. Notebook 05."""
    fig, axes = plt.subplots(1, len(dataset.classes), figsize=(12, 1.6))
    for digit, ax in enumerate(axes):
        index = dataset.targets.index(digit)
        imshow(dataset[index][0], dataset.mean, dataset.std, title=dataset.classes[digit], ax=ax)
    return fig


def plot_layer_probes(
    probes: Mapping[str, Mapping[str, float | Sequence[float]]],
    baselines: Mapping[str, float | Sequence[float]] | None = None,
    seeds: Sequence[int] | None = None,
    ax=None,
):
    """Linear-probe val accuracy against the layer the features come from, one line per data
    set; baselines: {data set: accuracy of the same probe on raw pixels}, drawn dotted in that
    data set's colour. probes: {data set: {layer name: accuracy, or one per seed}}, layers
    input to output; several seeds draw their mean with a +-1 std error bar. The title says
    what a point is: one run, or the mean of how many seeds (named, given seeds). Notebook 05.
    """
    ax = ax or plt.subplots(figsize=(8, 4.2), layout="constrained")[1]
    markers = ("o", "s", "^", "D")
    counts = set()
    for index, (name, by_layer) in enumerate(probes.items()):
        colour = STRATEGY_COLOURS[index % len(STRATEGY_COLOURS)]
        values = [np.atleast_1d(np.asarray(v, dtype=float)) for v in by_layer.values()]
        counts |= {len(v) for v in values}
        means = [v.mean() for v in values]
        ax.plot(list(by_layer), means, marker=markers[index % len(markers)], color=colour,
                label=name)  # fmt: skip
        if any(len(v) > 1 for v in values):
            spreads = [v.std(ddof=1) if len(v) > 1 else 0.0 for v in values]
            ax.errorbar(list(by_layer), means, yerr=spreads, fmt="none", color=colour, capsize=4)
        if baselines and name in baselines:
            ax.axhline(np.mean(baselines[name]), linestyle=":", color=colour,
                       label=f"{name}: raw-pixel probe")  # fmt: skip
    ax.set_xlabel("features taken after layer group (input -> output)")
    ax.set_ylabel("linear probe val accuracy")
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower left")
    what = _seeds_in_a_point(counts, seeds)
    if baselines:
        what += "; dotted: the same probe on the raw pixels"
    ax.set_title(
        f"A linear probe on each layer's features, scored on each data set's val set;\n{what}",
        fontsize=10,
    )
    return ax


# The classic advice (CS231n's transfer-learning notes), and the strategies that follow it.
DECISION_ADVICE = {
    ("small", "similar"): "train a classifier on the features (linear probe / fixed extractor)",
    ("large", "similar"): "fine-tune (upper layers, or all of them)",
    ("small", "different"): "a classifier on earlier-layer features (hard case)",
    ("large", "different"): "fine-tune everything (or consider training from scratch)",
}
ADVISED = {
    ("small", "similar"): ("linear probe", "fixed extractor"),
    ("large", "similar"): ("fine-tune",),
    ("small", "different"): ("earlier-layer probe",),
    ("large", "different"): ("fine-tune", "from scratch"),
}
# References outside the race: strategies the advice does not consider. The matrix draws them
# (grey) and compares them with the best strategy, but picks its leaders among the others.
NOT_IN_ADVICE = {
    "ImageNet's own head": "no training; exists only when your classes are ImageNet's",
    "raw-pixel probe": "no pretrained network at all",
}


@dataclass
class MatrixCell:
    """One measured cell of the decision matrix: {strategy: val accuracy per seed} (a float
    for a strategy no seed changes), the val set's size, and a heading. The best strategy, the
    ones the rule cannot tell from it, and every verdict come from the one comparison rule
    (results.leaders, results.compare). References (NOT_IN_ADVICE) are compared with the best
    but never lead. Strategy names are matched to the advice by their start ("fine-tune,
    random head" counts as "fine-tune"). Notebook 05.
    """

    title: str
    runs: dict[str, list[float] | float]
    val_images: int
    unit: str = "photos"

    def references(self) -> list[str]:
        """The strategies of this cell that the advice does not consider."""
        return [name for name in self.runs if name in NOT_IN_ADVICE]

    def leaders(self) -> list[str]:
        """Among the strategies the advice considers: the best (highest mean) first, then
        every one the rule cannot tell from it."""
        race = {name: runs for name, runs in self.runs.items() if name not in NOT_IN_ADVICE}
        return leaders(race, self.val_images)

    def follows(self, advised: Sequence[str]) -> bool:
        """Whether the advice names the best strategy or one the rule cannot tell from it."""
        return any(name.startswith(tuple(advised)) for name in self.leaders())

    def verdict(self, advised: Sequence[str]) -> str:
        """The best strategy and its ties, whether the advice names one of them, and each
        reference against the best, by the rule: one line each."""
        best, *tied = self.leaders()
        advice = (
            "agrees with the advice" if self.follows(advised) else "the advice does not hold here"
        )
        cannot_tell = f"; the rule cannot tell from it: {', '.join(tied)}" if tied else ""
        lines = [f"best: {best}{cannot_tell} -> {advice}"]
        for name in self.references():
            rule = compare(name, self.runs[name], best, self.runs[best], self.val_images,
                           self.unit)  # fmt: skip
            where = {"tie": "ties with the best", "cannot say": "cannot say against the best"}
            position = where.get(rule.verdict) or (
                "ahead of the best" if rule.winner == name else "behind the best"
            )
            interval = (
                f", 95% interval {rule.low:+.1f} to {rule.high:+.1f}"
                if rule.low is not None
                else ""
            )
            lines.append(
                f"reference {name} ({NOT_IN_ADVICE[name]}): {position} "
                f"({rule.gap:+.1f} {self.unit}{interval})"
            )
        return "\n".join(lines)


def matrix_cells(study: Mapping) -> dict[tuple[str, str], MatrixCell]:
    """The decision matrix's cells from a saved strategy study (results.load_study(
    "strategies")): final-epoch val accuracy of every seed, of every strategy the cell has
    (the tutorial's fixed extractor too, where measured). Notebook 05."""
    cells = {}
    for name, cell in study["cells"].items():
        size, similarity = name.split()
        known = (*STUDY_STRATEGIES[similarity], *EXTRA_STRATEGIES)
        runs = {  # in the study's order
            strategy: [run["final"] for run in seeds]
            for strategy, seeds in cell["runs"].items()
            if strategy in known
        }
        what = "ants/bees" if similarity == "similar" else "digits"
        title = (f"{what}, {cell['train_images']} training images, {cell['size_px']} px, "
                 f"{len(study['seeds'])} seeds")  # fmt: skip
        unit = "photos" if similarity == "similar" else "digits"
        cells[size, similarity] = MatrixCell(title, runs, cell["val_images"], unit)
    return cells


def study_markdown(study: Mapping, cell: str) -> str:
    """A Markdown table of one cell of the strategy study: final and best epoch (mean +- std
    over the seeds) and the best epoch of each seed out of how many. A best epoch that is the
    last one in every seed means the run may still have been improving when it stopped. No
    times: the study's runs shared the machine, so its seconds are no benchmark. Notebook 05."""
    from helpers.results import format_mean_std

    lines = [
        "| strategy | final epoch | best epoch (chosen on val) | best epoch of each seed |",
        "|---|---:|---:|---|",
    ]
    for strategy, seeds in study["cells"][cell]["runs"].items():
        if seeds[0]["epochs"]:
            epochs = ", ".join(f"{run['best_epoch']}/{run['epochs']}" for run in seeds)
        else:
            epochs = "no epochs"
        lines.append(
            f"| {strategy} | {format_mean_std([run['final'] for run in seeds])} "
            f"| {format_mean_std([run['best'] for run in seeds])} | {epochs} |"
        )
    return "\n".join(lines)


MATRIX_PANEL_WIDTH = 7.0  # inches: one cell of the decision matrix, two side by side
MATRIX_ROW_PITCH = 0.36  # inches between two strategies' rows in a cell
MATRIX_FONT_SIZE = 9


def plot_decision_matrix(cells: Mapping[tuple[str, str], MatrixCell], title: str = ""):
    """The 2x2 data size x similarity matrix, one framed panel per cell: the advice above; every
    strategy's val accuracy (mean +- std over seeds, a tick per seed, the numbers on the right),
    the best by the rule filled and in bold, the ones the rule cannot tell from it open and
    blue, references grey (_strategy_look); the cell's data and its verdict below. Every text
    is wrapped to its panel's width and the figure is as tall as its panels' contents.
    Returns the figure. Notebook 05.
    """
    from matplotlib.lines import Line2D

    row_labels = {"large": "more data", "small": "less data"}
    fig = plt.figure(layout="constrained")
    fig.get_layout_engine().set(w_pad=6 / 72, h_pad=6 / 72)  # text clear of the panels' frames
    texts, heights = {}, {}
    for size in ("large", "small"):
        for similarity in ("similar", "different"):
            key = (size, similarity)
            side = f"{similarity} {'to' if similarity == 'similar' else 'from'} ImageNet"
            advice = f"{row_labels[size]}, {side}\nadvice: {DECISION_ADVICE[key]}"
            heading = _fit(advice, fig, MATRIX_PANEL_WIDTH, MATRIX_FONT_SIZE + 1)
            cell = cells.get(key)
            footer = ""
            if cell is not None:
                verdict = f"{cell.title}\n{cell.verdict(ADVISED[key])}"
                footer = _fit(verdict, fig, MATRIX_PANEL_WIDTH, MATRIX_FONT_SIZE)
            texts[key] = (heading, footer, cell)
            rows = len(cell.runs) if cell else 2
            lines = heading.count("\n") + 1 + (footer.count("\n") + 1 if footer else 0)
            # rows of strategies, lines of text (about 1.4 x the font size each), x axis, margins
            heights[key] = rows * MATRIX_ROW_PITCH + lines * 1.4 * MATRIX_FONT_SIZE / 72 + 0.9
    row_heights = [
        max(heights[size, s] for s in ("similar", "different")) for size in ("large", "small")
    ]
    fig.set_size_inches(2 * MATRIX_PANEL_WIDTH, sum(row_heights) + 0.9)
    panels = fig.subfigures(2, 2, height_ratios=row_heights, wspace=0.02, hspace=0.02)
    for row, size in enumerate(("large", "small")):
        for col, similarity in enumerate(("similar", "different")):
            panel = panels[row, col]
            panel.set_edgecolor("0.8")
            panel.set_linewidth(1)
            heading, footer, cell = texts[size, similarity]
            panel.suptitle(heading, fontsize=MATRIX_FONT_SIZE + 1)
            ax = panel.subplots()
            if cell is None:
                ax.text(0.5, 0.5, "(not measured)", ha="center", transform=ax.transAxes)
                ax.set_axis_off()
                continue
            _draw_cell(ax, cell)
            panel.supxlabel(footer, fontsize=MATRIX_FONT_SIZE, x=0.02, ha="left")

    def mark(label, colour, face=None, marker="o"):
        return Line2D([], [], marker=marker, ls="", color=colour, mfc=face or colour, label=label)

    key = [
        mark("best (highest mean, references left out)", OKABE_ITO["blue"]),
        mark("the rule cannot tell it from the best", OKABE_ITO["blue"], "white"),
        mark("behind the best (rule)", OKABE_ITO["black"], "white"),
        mark("reference, outside the advice", "grey", marker="D"),
        mark("one seed", "black", marker="|"),
    ]
    fig.legend(handles=key, loc="outside lower center", ncol=5, fontsize=MATRIX_FONT_SIZE,
               frameon=False)  # fmt: skip
    if title:
        fig.suptitle(title, fontsize=13)
    return fig


def _fit(text: str, fig, width: float, fontsize: float) -> str:
    """text with each of its lines wrapped to fit width inches at fontsize points, as fig
    draws it, less a margin for a panel's frame and padding."""
    import textwrap

    renderer = fig.canvas.get_renderer()
    probe = fig.text(0, 0, "", fontsize=fontsize)
    room = (width - 0.5) * fig.dpi  # pixels
    for chars in range(120, 19, -2):
        wrapped = "\n".join(
            "\n".join(textwrap.wrap(line, chars)) or line for line in text.split("\n")
        )
        probe.set_text(wrapped)
        if probe.get_window_extent(renderer).width <= room:
            break
    probe.remove()
    return wrapped


@dataclass(frozen=True)
class _Look:
    """How one strategy is drawn in a decision matrix cell."""

    colour: str
    face: str
    marker: str
    weight: str


def _strategy_look(name: str, best: str, tied: Sequence[str], references) -> _Look:
    """The one rule for a strategy's marks and labels: references grey diamonds; the best blue,
    filled and bold; the ones the rule cannot tell from it blue and open; the rest black, open."""
    if name in references:
        return _Look("grey", "grey", "D", "normal")
    if name == best:
        return _Look(OKABE_ITO["blue"], OKABE_ITO["blue"], "o", "bold")
    if name in tied:
        return _Look(OKABE_ITO["blue"], "white", "o", "normal")
    return _Look(OKABE_ITO["black"], "white", "o", "normal")


def _draw_cell(ax, cell: MatrixCell) -> None:
    """One cell's strategies, a row each: mean +- std as a dot and a bar, each seed as a tick
    just below it, the name on the left and mean +- std on the right, all in _strategy_look."""
    from matplotlib.transforms import offset_copy

    best, *tied = cell.leaders()
    references = set(cell.references())
    names = list(cell.runs)
    looks = [_strategy_look(name, best, tied, references) for name in names]
    below = offset_copy(ax.transData, fig=ax.figure, y=-11, units="points")  # clear of the dot
    numbers = []
    for y, (name, look) in enumerate(zip(names, looks, strict=True)):
        values = [cell.runs[name]] if isinstance(cell.runs[name], float) else cell.runs[name]
        mean = statistics.fmean(values)
        spread = statistics.stdev(values) if len(values) > 1 else 0
        ax.errorbar(mean, y, xerr=spread, fmt=look.marker, ms=8, color=look.colour,
                    mfc=look.face, capsize=4)  # fmt: skip
        ax.plot(values, [y] * len(values), "|", color=look.colour, ms=6, alpha=0.7, gid="seeds",
                transform=below)  # fmt: skip
        numbers.append(f"{mean:.3f} +- {spread:.3f}")
    right = ax.secondary_yaxis("right")
    for axis, labels in ((ax, names), (right, numbers)):
        axis.set_yticks(range(len(names)), labels, fontsize=MATRIX_FONT_SIZE)
        axis.tick_params(axis="y", length=0)
        for look, label in zip(looks, axis.get_yticklabels(), strict=True):
            label.set_color(look.colour)
            label.set_fontweight(look.weight)
    ax.set_ylim(len(names) - 0.25, -0.6)  # room for the last row's seed ticks
    ax.set_xlim(0, 1.02)
    ax.set_xticks([0, 0.2, 0.4, 0.6, 0.8, 1.0])
    ax.set_xlabel("val accuracy, final epoch", fontsize=MATRIX_FONT_SIZE)
    ax.grid(axis="x", alpha=0.3)


# The strategy study (benchmarks/strategy_study.py saves it, notebook 05 runs seed 0 live with
# the same code): every strategy the course compares, in every cell of the decision matrix,
# with the same STUDY_SEEDS everywhere, so that the comparison rule (results.compare) can pair
# seed k of one strategy with seed k of another. A seed fixes the subset drawn for a small
# cell, the new head's initialisation, the augmentation and the shuffling.
STUDY_SEEDS = (0, 1, 2)
SIMILAR_SIZE = 224  # one resolution per column: ants/bees at the backbone's own
SIMILAR_SMALL = 0.05  # 12 of the 244 ants/bees photos, 6 per class
SIMILAR_SMALL_MIN_STEPS = 12
EARLIER_LAYER = "blocks.4"  # one layer for every seed and cell: the fifth of seven block groups
STUDY_CELLS = (("small", "similar"), ("large", "similar"), ("small", "different"),
               ("large", "different"))  # fmt: skip
IMAGENET_HEAD = "ImageNet's own head"
LINEAR_PROBE = "linear probe"
EARLIER_PROBE = f"earlier-layer probe ({EARLIER_LAYER})"
RAW_PROBE = "raw-pixel probe"
TUTORIAL_FIXED = "fixed extractor (tutorial)"
FINETUNE_RANDOM = "fine-tune, random head"
FINETUNE_WARM = "fine-tune, ImageNet's head"
FROM_SCRATCH = "from scratch"
STUDY_STRATEGIES = {
    "similar": (IMAGENET_HEAD, LINEAR_PROBE, FINETUNE_RANDOM, FINETUNE_WARM, FROM_SCRATCH),
    "different": (RAW_PROBE, LINEAR_PROBE, EARLIER_PROBE, FINETUNE_RANDOM, FROM_SCRATCH),
}
# The tutorial's fixed extractor (25 epochs at batch 4, a validation pass after each) is the
# slowest strategy: strategy_study.py runs it only when asked (--strategies), so that a cell can
# be re-measured without it. The saved study has it in every cell.
EXTRA_STRATEGIES = (TUTORIAL_FIXED,)
# Training from scratch gets the far-domain settings (every layer, BatchNorm learning, 1e-3)
# in both columns: the course's small near-domain rates would handicap it further.
SCRATCH_SETTINGS = {**recipes.FAR_DOMAIN, "pretrained": False}


class StudyData:
    """The data of one column of the matrix ("similar": ants/bees at 224 px without the
    placeholder GIF; "different": the digits at DIGITS_SIZE px), built once, with its cached
    features. Notebook 05 and benchmarks/strategy_study.py."""

    def __init__(self, similarity: str, backbone: str = DEFAULT_BACKBONE, cache_dir=None):
        from helpers import data

        if similarity not in STUDY_STRATEGIES:
            raise ValueError(f"similarity must be one of {list(STUDY_STRATEGIES)}")
        self.similarity, self.backbone, self.cache_dir = similarity, backbone, cache_dir
        if similarity == "similar":
            root = data.hymenoptera()
            exclude = data.HYMENOPTERA_EXCLUDE
            self.augmented = data.image_datasets(root, SIMILAR_SIZE, backbone=backbone,
                                                 exclude=exclude)  # fmt: skip
            self.plain = data.image_datasets(root, SIMILAR_SIZE, augment=False,
                                             backbone=backbone, exclude=exclude)  # fmt: skip
            self.tutorial = data.tutorial_datasets(root, backbone=backbone, exclude=exclude)
            self.size_px, self.batch_size = SIMILAR_SIZE, recipes.COURSE_BATCH_SIZE
        else:
            digits = digits_datasets(DIGITS_SIZE, backbone=backbone)
            self.augmented = self.plain = self.tutorial = digits  # digits are not augmented
            self.size_px, self.batch_size = DIGITS_SIZE, DIGITS_BATCH_SIZE
        self.targets = list(self.plain["train"].targets)
        self.num_classes = len(self.plain["train"].classes)
        self.val_images = len(self.plain["val"])
        self._features: dict = {}

    def subset(self, size: str, seed: int) -> np.ndarray:
        """The training images of a small cell (redrawn for every seed) or all of them."""
        if size == "large":
            return np.arange(len(self.targets))
        fraction = SIMILAR_SMALL if self.similarity == "similar" else DIGITS_SMALL
        return balanced_subset(self.targets, fraction, seed=seed)

    def features(self, layer: str | None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(train features, val features, train labels) of a layer (None: the final pooled
        features; "raw pixels": the digits' 64 pixels), computed once."""
        from helpers import features

        if layer not in self._features:
            if layer == "raw pixels":
                train_x, val_x = (
                    torch.tensor(ds.pixels.reshape(len(ds), -1) / 255.0, dtype=torch.float32)
                    for ds in (self.plain["train"], self.plain["val"])
                )
            else:
                train_x, val_x = (
                    features.cached_features(self.backbone, ds, layer=layer,
                                             cache_dir=self.cache_dir, progress=False)[0]
                    for ds in (self.plain["train"], self.plain["val"])
                )  # fmt: skip
            self._features[layer] = (train_x, val_x, torch.tensor(self.targets))
        return self._features[layer]

    def training_plan(self, size: str, seed: int) -> tuple[np.ndarray, int]:
        """(training indices, epochs) of a fine-tune in a cell: the recipe's epochs over the
        cell's images. A small subset is repeated within each epoch (every copy gets its own
        random crop) until the run has at least the minimum number of optimizer steps: more
        updates without a validation pass after every one of them."""
        chosen = self.subset(size, seed)
        if self.similarity == "similar":
            epochs, min_steps = recipes.COURSE_EPOCHS, SIMILAR_SMALL_MIN_STEPS
        else:
            epochs, min_steps = recipes.FAR_DOMAIN["epochs"], DIGITS_SMALL_MIN_STEPS
        repeats = 1
        while size == "small" and epochs * -(-len(chosen) * repeats // self.batch_size) < min_steps:
            repeats += 1
        return np.tile(chosen, repeats), epochs


def _summary(history: training.History, seconds: float, images: int) -> dict:
    return {
        "final": history.final.val_accuracy,
        "best": history.best.val_accuracy,
        "best_epoch": history.best_epoch,
        "epochs": len(history.records),
        "final_phase": history.final.phase,
        "val_accuracy": history.column("val_accuracy"),
        "phases": history.column("phase"),
        "seconds": seconds,
        "train_images": images,
    }


def _untrained(accuracy: float, seconds: float, images: int) -> dict:
    return {"final": accuracy, "best": accuracy, "best_epoch": None, "epochs": 0,
            "final_phase": None, "val_accuracy": [], "phases": [], "seconds": seconds,
            "train_images": images}  # fmt: skip


def run_strategy(
    study: StudyData, size: str, strategy: str, seed: int, *, progress: bool = False
) -> dict:
    """One run of one strategy in one cell of the matrix; returns its summary: "final" and
    "best" val accuracy (best: the epoch chosen on val, which flatters), "best_epoch",
    "epochs", the per-epoch "val_accuracy", "seconds" and "train_images". Probes and
    ImageNet's own head train no epochs (final = best). Notebook 05."""
    from helpers import features, models

    if strategy not in (*STUDY_STRATEGIES[study.similarity], *EXTRA_STRATEGIES):
        raise ValueError(f"{strategy!r} is not a strategy of the {study.similarity} column: "
                         f"{STUDY_STRATEGIES[study.similarity]}")  # fmt: skip
    chosen = study.subset(size, seed)
    start = time.perf_counter()
    if strategy == IMAGENET_HEAD:
        _, val_x, _ = study.features(None)
        head = models.find_head(models.load_backbone(study.backbone))[1]
        indices = models.imagenet_indices(study.plain["val"].classes)
        with torch.no_grad():
            accuracy = training.logits_accuracy(
                head(val_x), torch.tensor(study.plain["val"].targets), indices
            )
        return _untrained(accuracy, time.perf_counter() - start, 0)
    if strategy in (LINEAR_PROBE, EARLIER_PROBE, RAW_PROBE):
        layer = {LINEAR_PROBE: None, EARLIER_PROBE: EARLIER_LAYER, RAW_PROBE: "raw pixels"}[
            strategy
        ]
        train_x, val_x, labels = study.features(layer)
        rows = torch.as_tensor(chosen)
        head = features.train_linear_probe(train_x[rows], labels[rows],
                                           num_classes=study.num_classes, seed=seed)  # fmt: skip
        accuracy = features.probe_accuracy(head, val_x, torch.tensor(study.plain["val"].targets))
        return _untrained(accuracy, time.perf_counter() - start, len(chosen))
    if strategy == TUTORIAL_FIXED:
        loaders = subset_loaders(study.tutorial["train"], study.tutorial["val"], chosen,
                                 recipes.TUTORIAL_BATCH_SIZE, seed)  # fmt: skip
        _, history = recipes.tutorial_finetune(
            loaders, num_classes=study.num_classes, backbone=study.backbone, seed=seed,
            progress=progress, fixed_feature_extractor=True,
        )  # fmt: skip
        return _summary(history, time.perf_counter() - start, len(chosen))
    indices, epochs = study.training_plan(size, seed)
    loaders = subset_loaders(study.augmented["train"], study.plain["val"], indices,
                             study.batch_size, seed)  # fmt: skip
    settings: dict = {"epochs": epochs}
    if strategy == FROM_SCRATCH:
        settings = {**SCRATCH_SETTINGS, **settings}
    elif study.similarity == "different":
        settings = {**recipes.FAR_DOMAIN, **settings}
    elif strategy == FINETUNE_RANDOM:
        settings["warm_start"] = False
    _, history = recipes.course_finetune(
        loaders, num_classes=study.num_classes, backbone=study.backbone, seed=seed,
        progress=progress, **settings,
    )  # fmt: skip
    return _summary(history, time.perf_counter() - start, len(chosen))


# The faces (data.faces_datasets), notebook 05's exercise 6: upscaled as the digits are.
FACES_SIZE = DIGITS_SIZE


class FacesData(StudyData):
    """The faces (faces_datasets) as a small cell of the matrix's "different" column, for
    run_strategy: every training crop trains, and each seed draws its own split, because with
    200 images which ones validate moves the result as much as the seed of training does. Run
    strategy s with seed k on FacesData(k). Notebook 05."""

    def __init__(self, seed: int = 0, backbone: str = DEFAULT_BACKBONE, cache_dir=None):
        self.similarity, self.backbone, self.cache_dir, self.seed = (
            "different", backbone, cache_dir, seed,
        )  # fmt: skip
        self.augmented = self.plain = self.tutorial = faces_datasets(
            FACES_SIZE, backbone=backbone, seed=seed
        )
        self.size_px, self.batch_size = FACES_SIZE, DIGITS_BATCH_SIZE
        self.targets = list(self.plain["train"].targets)
        self.num_classes = len(FACES_CLASSES)
        self.val_images = len(self.plain["val"])
        self._features: dict = {}

    def __repr__(self) -> str:
        crop = self.plain["train"].pixels.shape[1:]
        return (f"FacesData(seed={self.seed}): {len(self.targets)} training and "
                f"{self.val_images} val crops ({' / '.join(FACES_CLASSES)}), grey "
                f"{crop[0]}x{crop[1]} px upscaled to {self.size_px}")  # fmt: skip

    def subset(self, size: str, seed: int) -> np.ndarray:
        """Every training crop: 200 images in all make only a small cell."""
        if size != "small":
            raise ValueError("the faces are 200 images in all: they fill only a small cell")
        return np.arange(len(self.targets))


# What fine-tuning itself adds, pair by pair: (column, first strategy, second strategy).
WHAT_FINETUNING_ADDS = (
    ("similar", FINETUNE_WARM, IMAGENET_HEAD),  # ImageNet's head, fine-tuned vs untouched
    ("similar", FINETUNE_RANDOM, LINEAR_PROBE),  # a new head: fine-tuned vs frozen features
    ("similar", FINETUNE_WARM, FINETUNE_RANDOM),  # what the warm start adds to fine-tuning
    ("different", FINETUNE_RANDOM, LINEAR_PROBE),
    ("different", FINETUNE_RANDOM, EARLIER_PROBE),
    ("different", FINETUNE_RANDOM, RAW_PROBE),
    ("different", FINETUNE_RANDOM, FROM_SCRATCH),
)


def study_finals(study: Mapping, cell: str) -> dict[str, list[float]]:
    """{strategy: final-epoch val accuracy of each seed} of one cell ("small similar", ...)."""
    return {
        name: [run["final"] for run in runs] for name, runs in study["cells"][cell]["runs"].items()
    }


def study_verdicts(study: Mapping, pairs=WHAT_FINETUNING_ADDS) -> list[tuple[str, object]]:
    """[(cell, results.Comparison)] for each pair in both sizes of its column, by the rule."""
    from helpers.results import compare

    verdicts = []
    for similarity, first, second in pairs:
        for size in ("small", "large"):
            cell = f"{size} {similarity}"
            finals = study_finals(study, cell)
            val_images = study["cells"][cell]["val_images"]
            unit = "photos" if similarity == "similar" else "digits"
            verdicts.append(
                (cell, compare(first, finals[first], second, finals[second], val_images, unit))
            )
    return verdicts


def study_curves(
    study: Mapping, similarity: str, strategies: Sequence[str]
) -> dict[str, dict[int, list[float]]]:
    """{strategy: {training images: final accuracy of each seed}} from the small and the large
    cell of a column, for plot_learning_curves. Notebook 05."""
    curves: dict[str, dict[int, list[float]]] = {name: {} for name in strategies}
    for size in ("small", "large"):
        cell = study["cells"][f"{size} {similarity}"]
        for name in strategies:
            curves[name][cell["train_images"]] = [run["final"] for run in cell["runs"][name]]
    return curves
