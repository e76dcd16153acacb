"""Comparing transfer strategies: balanced subsets, a dissimilar data set, tables and figures.

Everything notebook 05 needs to put a linear probe, a fixed extractor, fine-tuning and training
from scratch side by side: class-balanced training subsets for learning curves, scikit-learn's
bundled 8x8 digits as an image data set unlike ImageNet photos, the comparison table and bar
charts, learning curves, and the 2x2 data-size x similarity decision matrix. Notebook 05.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter
from PIL import Image
from torch.utils.data import DataLoader, Dataset, Subset
from torchvision import transforms

from helpers import recipes, training
from helpers.models import DEFAULT_BACKBONE, backbone_spec
from helpers.results import leaders, show_markdown
from helpers.viz import OKABE_ITO, imshow

DIGITS_CLASSES = tuple(str(d) for d in range(10))
DIGITS_MAX_VALUE = 16  # load_digits() pixels are counts 0..16 of ink in 4x4 blocks
LEARNING_CURVE_FRACTIONS = (0.02, 0.05, 0.10, 0.25, 0.50, 1.00)
# The digits experiments of notebook 05 and benchmarks/seed_study.py: 8x8 digits upscaled to
# DIGITS_SIZE px, batch DIGITS_BATCH_SIZE; the small set keeps DIGITS_SMALL of the training
# digits (about 5 per class) and gets at least DIGITS_SMALL_MIN_STEPS optimizer steps.
DIGITS_SIZE = 48
DIGITS_BATCH_SIZE = 32
DIGITS_SMALL = 0.04
DIGITS_SMALL_MIN_STEPS = 80  # 40 epochs of 2 batches: the runs level off before the end
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


class DigitsImages(Dataset):
    """scikit-learn's 8x8 handwritten digits as (3, size, size) images for an ImageNet backbone.

    Yields (image, label): the grey 8x8 digit upscaled (bilinear) to size x size, copied to
    three channels and normalised with the backbone's mean and std. Has classes, targets,
    transform, mean, std, and a fingerprint of the pixels for the feature cache. Notebook 05.
    """

    def __init__(self, pixels: np.ndarray, targets: Sequence[int], size: int, mean, std) -> None:
        if pixels.ndim != 3 or pixels.shape[1:] != (8, 8) or len(pixels) != len(targets):
            raise ValueError(f"pixels must be (N, 8, 8) with N labels, got {pixels.shape}")
        grey = np.clip(pixels * (255 / DIGITS_MAX_VALUE), 0, 255).astype(np.uint8)
        self.pixels = grey  # (N, 8, 8) uint8, for a baseline on raw pixels
        self.images = [Image.fromarray(digit, mode="L") for digit in grey]
        self.targets = [int(t) for t in targets]
        self.classes = list(DIGITS_CLASSES)
        self.mean, self.std = mean, std
        self.transform = transforms.Compose(
            [
                transforms.Resize(size, interpolation=transforms.InterpolationMode.BILINEAR),
                transforms.Grayscale(num_output_channels=3),
                transforms.ToTensor(),
                transforms.Normalize(mean, std),
            ]
        )
        digest = hashlib.sha256(grey.tobytes())
        digest.update(np.asarray(self.targets, dtype=np.int64).tobytes())
        self.fingerprint = f"digits-{digest.hexdigest()}"

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        return self.transform(self.images[index]), self.targets[index]


def digits_datasets(
    size: int = 64, val_per_class: int = 50, *, backbone: str = DEFAULT_BACKBONE, seed: int = 0
) -> dict[str, DigitsImages]:
    """{"train": ds, "val": ds} from sklearn's load_digits() (1,797 digits, no download).

    val holds val_per_class digits of each class (a fixed, seeded draw), train the rest.
    Images are upscaled to size x size: a modest size keeps the backbone cheap. Notebook 05.
    """
    from sklearn.datasets import load_digits

    digits = load_digits()
    spec = backbone_spec(backbone)
    targets = digits.target
    rng = np.random.default_rng(seed)
    val = np.sort(
        np.concatenate(
            [rng.permutation(np.flatnonzero(targets == c))[:val_per_class] for c in range(10)]
        )
    )
    train = np.setdiff1d(np.arange(len(targets)), val)
    return {
        split: DigitsImages(digits.images[idx], targets[idx], size, spec.mean, spec.std)
        for split, idx in (("train", train), ("val", val))
    }


@dataclass
class StrategyResult:
    """One row of the comparison: a strategy's val accuracy and what it cost.

    seconds_per_epoch defaults to wall_seconds / epochs (None when nothing was trained).
    """

    strategy: str
    val_accuracy: float
    wall_seconds: float
    epochs: int
    trainable_parameters: int
    note: str = ""
    seconds_per_epoch: float | None = None

    def __post_init__(self) -> None:
        if self.seconds_per_epoch is None and self.epochs:
            self.seconds_per_epoch = self.wall_seconds / self.epochs


def history_result(
    strategy: str, history: training.History, trainable_parameters: int, note: str = ""
) -> StrategyResult:
    """A comparison row from a training run: its final epoch's val accuracy (not the best
    epoch, which was picked on the same val set), total seconds and epochs. Notebook 05."""
    return StrategyResult(
        strategy,
        history.final.val_accuracy,
        history.total_seconds,
        len(history.records),
        trainable_parameters,
        note,
    )


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


def train_on_subset(
    train_dataset: Dataset,
    val_dataset: Dataset,
    indices: Sequence[int],
    *,
    num_classes: int,
    pretrained: bool = True,
    epochs: int = 2,
    min_steps: int = 0,
    backbone: str = DEFAULT_BACKBONE,
    seed: int = 0,
    progress: bool = False,
    **recipe,
) -> dict[str, float]:
    """Train the course recipe on train_dataset[indices]; validate once, after the last epoch.

    Skipping the per-epoch validation keeps small-subset points cheap. recipe: further
    arguments of recipes.course_finetune (default frozen_groups=(): every layer trains).
    Returns {"accuracy", "seconds" (training + validation), "epochs", "images"}. Notebook 05.
    """
    loaders = subset_loaders(train_dataset, val_dataset, indices, seed=seed)
    num_epochs = epochs_for(len(indices), recipes.COURSE_BATCH_SIZE, epochs, min_steps)
    recipe.setdefault("frozen_groups", ())
    start = time.perf_counter()
    model, _ = recipes.course_finetune(
        {"train": loaders["train"]},
        num_classes=num_classes,
        backbone=backbone,
        pretrained=pretrained,
        epochs=num_epochs,
        seed=seed,
        progress=progress,
        **recipe,
    )
    accuracy = training.evaluate(model, loaders["val"])["accuracy"]
    return {
        "accuracy": accuracy,
        "seconds": time.perf_counter() - start,
        "epochs": num_epochs,
        "images": len(indices),
    }


def comparison_markdown(results: Sequence[StrategyResult]) -> str:
    """The comparison as a Markdown table (one row per strategy)."""
    lines = [
        "| strategy | val accuracy | wall time (s) | epochs | s / epoch | trainable params "
        "| note |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for r in results:
        per_epoch = f"{r.seconds_per_epoch:.3g}" if r.seconds_per_epoch is not None else "-"
        lines.append(
            f"| {r.strategy} | {r.val_accuracy:.3f} | {r.wall_seconds:.1f} | {r.epochs} | "
            f"{per_epoch} | {r.trainable_parameters:,} | {r.note} |"
        )
    return "\n".join(lines)


def show_comparison(results: Sequence[StrategyResult]) -> None:
    """Display the comparison table in the notebook. Notebook 05."""
    show_markdown(comparison_markdown(results))


def plot_comparison(results: Sequence[StrategyResult], chance: float | None = None):
    """Bar charts of val accuracy, wall time and trainable parameters (log scales), each bar
    labelled with its value; a zero (zero-shot trains nothing) is written "0", not drawn as a
    bar, since a log axis has no zero. Notebook 05.
    """
    names = [r.strategy for r in results]
    colours = [STRATEGY_COLOURS[i % len(STRATEGY_COLOURS)] for i in range(len(results))]
    fig, axes = plt.subplots(1, 3, figsize=(15, 3.8))
    panels = (
        ("val accuracy", [r.val_accuracy for r in results], None),
        ("wall time (s, log scale)", [r.wall_seconds for r in results], _seconds_label),
        (
            "trainable parameters (log scale)",
            [r.trainable_parameters for r in results],
            _count_label,
        ),
    )
    for ax, (title, values, label_of) in zip(axes, panels, strict=True):
        ax.set_title(title)
        if label_of is None:
            bars = ax.barh(names, values, color=colours)
            ax.set_xlim(0, 1.12)
            labels = [f"{value:.3f}" for value in values]
            if chance is not None:
                ax.axvline(chance, color="grey", linestyle="--",
                           label=f"majority class ({chance:.3f})")  # fmt: skip
                ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.13), fontsize=8,
                          frameon=False)  # fmt: skip
        else:
            low, high = _log_limits(values)
            # A zero has no place on a log axis: its bar ends where the axis starts (no bar)
            # and its label says 0.
            bars = ax.barh(names, [max(value, low) for value in values], color=colours)
            ax.set_xscale("log")
            ax.set_xlim(low, high)
            ax.xaxis.set_major_locator(LogLocator(base=10, numticks=8))
            ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: _count_label(x)))
            ax.xaxis.set_minor_formatter(NullFormatter())
            labels = [label_of(value) if value > 0 else "0" for value in values]
        ax.invert_yaxis()
        for bar, label in zip(bars, labels, strict=True):
            ax.text(bar.get_x() + bar.get_width(), bar.get_y() + bar.get_height() / 2, " " + label,
                    va="center", fontsize=8)  # fmt: skip
    for ax in axes[1:]:
        ax.set_yticklabels([])
    fig.tight_layout()
    return fig


def _log_limits(values: Sequence[float]) -> tuple[float, float]:
    """x limits of a log axis: from the decade below the smallest positive value to well past
    the largest (room for the value labels)."""
    positive = [value for value in values if value > 0] or [1.0]
    low = 10 ** np.floor(np.log10(min(positive)))
    return low, max(positive) * 12


def _seconds_label(seconds: float) -> str:
    return f"{seconds:.3g} s"


def _count_label(count: float) -> str:
    """2562 -> '2,562', 3357778 -> '3.36M', 1e4 -> '10k': short enough not to collide."""
    for threshold, unit, suffix in ((1e9, 1e9, "G"), (1e6, 1e6, "M"), (1e4, 1e3, "k")):
        if count >= threshold:
            return f"{count / unit:.3g}{suffix}"
    return f"{count:,.0f}" if count >= 1 else f"{count:g}"


def plot_learning_curves(
    curves: Mapping[str, Mapping[int, float]],
    *,
    total: int | None = None,
    chance: float | None = None,
    references: Mapping[str, Mapping[int, float]] | None = None,
    levels: Mapping[str, float] | None = None,
    title: str = "",
    ax=None,
):
    """Val accuracy against the number of training images, one line per strategy.

    curves: {strategy: {number of training images: val accuracy}}; references: further curves
    drawn thin and dashed (e.g. the probe at another resolution); levels: horizontal lines such
    as zero-shot accuracy. Every line has its own colour and style, so the legend tells them
    apart. total adds a top axis in percent of the full training set. Notebook 05.
    """
    ax = ax or plt.subplots(figsize=(7, 4))[1]
    markers = ("o", "s", "^", "D", "v")
    for index, (name, points) in enumerate(curves.items()):
        sizes = sorted(points)
        ax.plot(sizes, [points[n] for n in sizes], marker=markers[index % len(markers)],
                color=STRATEGY_COLOURS[index % len(STRATEGY_COLOURS)], label=name)  # fmt: skip
    for name, points in (references or {}).items():
        sizes = sorted(points)
        ax.plot(sizes, [points[n] for n in sizes], "--", color=OKABE_ITO["black"], alpha=0.55,
                label=name)  # fmt: skip
    level_styles = (
        (OKABE_ITO["reddish purple"], "-."),
        (OKABE_ITO["sky blue"], (0, (5, 1, 1, 1, 1, 1))),  # dash-dot-dot
    )
    for (name, value), (colour, style) in zip((levels or {}).items(), level_styles, strict=False):
        ax.axhline(value, color=colour, linestyle=style, label=name)
    if chance is not None:
        ax.axhline(chance, color="grey", linestyle=":", label=f"majority class ({chance:.3f})")
    ax.set_xscale("log")
    ax.set_xlabel("training images (log scale)")
    ax.set_ylabel("val accuracy")
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title)
    if total:
        top = ax.secondary_xaxis(
            "top", functions=(lambda n: 100 * n / total, lambda p: p * total / 100)
        )
        top.set_xlabel("% of the training set")
    return ax


def show_digit_examples(dataset: DigitsImages):
    """The first training image of every digit class, as the backbone sees it. Notebook 05."""
    fig, axes = plt.subplots(1, len(dataset.classes), figsize=(12, 1.6))
    for digit, ax in enumerate(axes):
        index = dataset.targets.index(digit)
        imshow(dataset[index][0], dataset.mean, dataset.std, title=dataset.classes[digit], ax=ax)
    return fig


def plot_layer_probes(
    probes: Mapping[str, Mapping[str, float]],
    baselines: Mapping[str, float] | None = None,
    ax=None,
):
    """Linear-probe val accuracy against the layer the features come from, one line per data
    set; baselines: {data set: accuracy of the same probe on raw pixels}, drawn dotted in that
    data set's colour. probes: {data set: {layer name: accuracy}}, layers input to output.
    Notebook 05.
    """
    ax = ax or plt.subplots(figsize=(8, 3.8))[1]
    markers = ("o", "s", "^", "D")
    for index, (name, by_layer) in enumerate(probes.items()):
        colour = STRATEGY_COLOURS[index % len(STRATEGY_COLOURS)]
        ax.plot(list(by_layer), list(by_layer.values()), marker=markers[index % len(markers)],
                color=colour, label=name)  # fmt: skip
        if baselines and name in baselines:
            ax.axhline(baselines[name], linestyle=":", color=colour,
                       label=f"{name}: raw-pixel probe")  # fmt: skip
    ax.set_xlabel("features taken after layer group (input -> output)")
    ax.set_ylabel("linear probe val accuracy")
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower left")
    return ax


# The classic advice (CS231n's transfer-learning notes), and the strategies that follow it.
DECISION_ADVICE = {
    ("small", "similar"): "train a classifier on the features\n(linear probe / fixed extractor)",
    ("large", "similar"): "fine-tune\n(upper layers, or all of them)",
    ("small", "different"): "classifier on earlier-layer features\n(hard case)",
    ("large", "different"): "fine-tune everything\n(or consider training from scratch)",
}
ADVISED = {
    ("small", "similar"): ("linear probe",),
    ("large", "similar"): ("fine-tune",),
    ("small", "different"): ("earlier-layer probe",),
    ("large", "different"): ("fine-tune", "from scratch"),
}


@dataclass
class MatrixCell:
    """One measured cell: {strategy: val accuracy}, what counts as noise, and a heading.

    Strategy names are matched to the advice by their start ("fine-tune", "linear probe",
    "earlier-layer probe", "from scratch", "zero-shot"...), so "fine-tune (3 seeds)" counts.
    """

    title: str
    scores: dict[str, float]
    noise: float

    def leaders(self) -> list[str]:
        """Every strategy within noise of the best one, best first."""
        return leaders(self.scores, self.noise)

    def verdict(self, advised: Sequence[str]) -> str:
        """Whether the measured leader is what the advice says, in a few words.

        Zero-shot needs no training and exists only when the classes are ImageNet's, so the
        advice does not consider it: when it leads, the verdict also names the leader among
        the trained strategies.
        """
        lines = []
        cell = self
        if all(name.startswith("zero-shot") for name in self.leaders()):
            lines.append(f"measured best: {self._winner()} (no training)")
            trained = {n: s for n, s in self.scores.items() if not n.startswith("zero-shot")}
            cell = MatrixCell(self.title, trained, self.noise)
        follows = any(name.startswith(tuple(advised)) for name in cell.leaders())
        label = "among trained strategies" if lines else "measured best"
        advice = "agrees with the advice" if follows else "the advice does not hold here"
        lines.append(f"{label}: {cell._winner()} -> {advice}")
        return "\n".join(lines)

    def _winner(self) -> str:
        leaders = self.leaders()
        return leaders[0] if len(leaders) == 1 else "tie: " + " / ".join(leaders)


def plot_decision_matrix(cells: Mapping[tuple[str, str], MatrixCell], title: str = ""):
    """The 2x2 data size x similarity matrix: the advice, the measured numbers, the verdict.

    cells: {(size, similarity): MatrixCell}, size in {"small", "large"}, similarity in
    {"similar", "different"}. In each cell the best strategy (and any within noise of it) is
    bold and marked with an arrow; the last line says whether that agrees with the advice in
    DECISION_ADVICE. Returns the figure. Notebook 05.
    """
    fig, axes = plt.subplots(2, 2, figsize=(13, 8))
    shades = {"similar": "#e8f1fb", "different": "#fdf0e6"}
    row_labels = {"large": "more data", "small": "less data"}
    for row, size in enumerate(("large", "small")):
        for col, similarity in enumerate(("similar", "different")):
            ax = axes[row, col]
            ax.set_facecolor(shades[similarity])
            ax.set_xticks([])
            ax.set_yticks([])
            key = (size, similarity)
            ax.text(0.5, 0.95, "advice: " + DECISION_ADVICE[key], ha="center", va="top",
                    fontsize=10, style="italic", transform=ax.transAxes)  # fmt: skip
            cell = cells.get(key)
            if cell is None:
                ax.text(0.5, 0.5, "(not measured)", ha="center", transform=ax.transAxes)
                continue
            leaders = cell.leaders()
            ax.text(0.04, 0.75, cell.title, fontsize=10, fontweight="bold",
                    transform=ax.transAxes)  # fmt: skip
            width = max(len(name) for name in cell.scores)
            for line, (name, score) in enumerate(cell.scores.items()):
                lead = name in leaders
                ax.text(
                    0.04, 0.66 - 0.075 * line,
                    f"{'->' if lead else '  '} {name:<{width}}  {score:.3f}",
                    fontsize=9, family="monospace", fontweight="bold" if lead else "normal",
                    transform=ax.transAxes,
                )  # fmt: skip
            ax.text(0.04, 0.04, cell.verdict(ADVISED[key]), fontsize=9, transform=ax.transAxes)
            if row == 0:
                ax.set_title(
                    f"{similarity} {'to' if similarity == 'similar' else 'from'} ImageNet",
                    fontsize=12,
                )
            if col == 0:
                ax.set_ylabel(row_labels[size], fontsize=12)
    if title:
        fig.suptitle(title, fontsize=13)
    fig.tight_layout()
    return fig


# The strategy study (benchmarks/strategy_study.py saves it, notebook 05 runs seed 0 live with
# the same code): every strategy the course compares, in every cell of the decision matrix,
# with the same STUDY_SEEDS everywhere, so that the comparison rule (results.compare) can pair
# seed k of one strategy with seed k of another. A seed fixes the subset drawn for a small
# cell, the new head's initialisation, the augmentation and the shuffling.
STUDY_SEEDS = (0, 1, 2)
SIMILAR_SIZE = 224  # one resolution per column: ants/bees at the backbone's own
SIMILAR_SMALL = 0.05  # 12 of the 244 ants/bees photos, 6 per class
SIMILAR_SMALL_MIN_STEPS = 12
EARLIER_LAYER = "blocks.4"  # fixed before measuring (the middle of the network), not picked on val
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
    "similar": (IMAGENET_HEAD, LINEAR_PROBE, TUTORIAL_FIXED, FINETUNE_RANDOM, FINETUNE_WARM,
                FROM_SCRATCH),
    "different": (RAW_PROBE, LINEAR_PROBE, EARLIER_PROBE, TUTORIAL_FIXED, FINETUNE_RANDOM,
                  FROM_SCRATCH),
}  # fmt: skip
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

    def epochs(self, size: str, seed: int) -> int:
        """The fine-tune's epoch budget in a cell: the recipe's, or more for a small subset so
        that it gets a minimum number of optimizer steps."""
        if self.similarity == "similar":
            base, min_steps = recipes.COURSE_EPOCHS, SIMILAR_SMALL_MIN_STEPS
        else:
            base, min_steps = recipes.FAR_DOMAIN["epochs"], DIGITS_SMALL_MIN_STEPS
        return epochs_for(len(self.subset(size, seed)), self.batch_size, base,
                          min_steps if size == "small" else 0)  # fmt: skip


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

    if strategy not in STUDY_STRATEGIES[study.similarity]:
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
    loaders = subset_loaders(study.augmented["train"], study.plain["val"], chosen,
                             study.batch_size, seed)  # fmt: skip
    settings: dict = {"epochs": study.epochs(size, seed)}
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
