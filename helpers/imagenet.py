"""ImageNet and ILSVRC: the challenge's history, the 1000 classes, and a pretrained model at work.

Taught in notebook 01: the error-rate history as data with sources, the classes grouped and
searchable, top-5 predictions beside each photo, what preprocessing does, and ant/bee
classification with ImageNet's own head (its ant and bee logits alone, no training).
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib import cbook
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from PIL import Image
from torch import nn
from torchvision import transforms
from tqdm.auto import tqdm

# load_photo: the one way the course opens a photo (upright by EXIF, alpha on white)
from helpers.data import INTERPOLATION, backbone_val_transform
from helpers.data import load_photo as load_photo
from helpers.models import ANT_CLASS, BEE_CLASS, backbone_spec, imagenet_categories
from helpers.viz import OKABE_ITO, imshow
from helpers.widgets import MESSAGE_CLASS, errors_shown_in

RUSSAKOVSKY_2015 = (
    "Russakovsky et al., ImageNet Large Scale Visual Recognition Challenge, IJCV 115 (2015)"
)
# Human top-5 error: one trained annotator (A. Karpathy) on 1,500 test images, Section 6.4 of
# Russakovsky et al. 2015; a second, less trained annotator reached 12.0% on 258 images.
HUMAN_TOP5_ERROR = 5.1
HUMAN_TOP5_ERROR_SOURCE = RUSSAKOVSKY_2015 + ", Sec. 6.4"
DEEP_CNN_YEAR = 2012  # AlexNet ("SuperVision") wins ILSVRC 2012: deep CNNs arrive


@dataclass(frozen=True)
class ChallengeResult:
    """One ILSVRC classification entry: top-5 error (%) on the test set, and where it is from."""

    year: int
    team: str
    model: str
    top5_error: float
    source: str
    note: str = ""


def _results_page(year: int) -> str:
    return f"ILSVRC{year} results, https://image-net.org/challenges/LSVRC/{year}/results"


# Winners of the classification task (no outside training data unless noted), by year.
ILSVRC_WINNERS: tuple[ChallengeResult, ...] = (
    ChallengeResult(2010, "NEC-UIUC", "SIFT/LBP + sparse coding + SVM", 28.2, RUSSAKOVSKY_2015),
    ChallengeResult(2011, "XRCE", "Fisher vectors + linear SVM", 25.8, RUSSAKOVSKY_2015),
    ChallengeResult(
        2012,
        "SuperVision",
        "AlexNet",
        16.4,
        "Krizhevsky, Sutskever & Hinton, NeurIPS 2012; " + _results_page(2012),
        note="15.3% with extra training data (ImageNet Fall 2011)",
    ),
    ChallengeResult(
        2013,
        "Clarifai",
        "ZFNet-style CNN ensemble",
        11.7,
        "Zeiler & Fergus, ECCV 2014; " + _results_page(2013),
        note="11.2% with extra training data",
    ),
    ChallengeResult(
        2014,
        "GoogLeNet",
        "Inception v1",
        6.67,
        "Szegedy et al., CVPR 2015; " + RUSSAKOVSKY_2015,
    ),
    ChallengeResult(2015, "MSRA", "ResNet", 3.57, "He et al., CVPR 2016; " + _results_page(2015)),
    ChallengeResult(
        2016, "Trimps-Soushen", "ensemble of Inception/ResNet models", 2.99, _results_page(2016)
    ),
    ChallengeResult(
        2017, "WMW", "SENet", 2.25, "Hu, Shen & Sun, CVPR 2018; " + _results_page(2017)
    ),
)
# Other notable entries, drawn as extra points on the chart.
ILSVRC_OTHER_ENTRIES: tuple[ChallengeResult, ...] = (
    ChallengeResult(
        2012,
        "SuperVision",
        "AlexNet, extra data",
        15.3,
        "Krizhevsky, Sutskever & Hinton, NeurIPS 2012; " + _results_page(2012),
        note="same team's best entry: also trained on ImageNet Fall 2011 (extra data)",
    ),
    ChallengeResult(
        2014,
        "VGG",
        "VGG ensemble (7 nets)",
        7.3,
        "Simonyan & Zisserman, ICLR 2015; " + RUSSAKOVSKY_2015,
        note="second place",
    ),
)

# ImageNet-1k orders its classes by WordNet ID, so related classes sit together. These index
# ranges (start, stop) are a well-known approximate grouping, not an official taxonomy.
CLASS_GROUPS: dict[str, tuple[tuple[int, int], ...]] = {
    "dogs": ((151, 269),),
    "birds": ((7, 25), (80, 101), (127, 147)),
    "insects": ((300, 327),),
    "other invertebrates": ((69, 80), (107, 127), (327, 330)),
    "reptiles & amphibians": ((25, 69),),
    "fish": ((0, 7), (389, 398)),
    "other mammals": ((101, 107), (147, 151), (269, 300), (330, 389)),
    "artefacts (man-made objects)": ((398, 924),),
    "food": ((924, 970),),
    "landscapes": ((970, 981),),
    "people, plants, fungi & other": ((981, 1000),),
}


def error_history_table() -> str:
    """The ILSVRC winners and other notable entries as a text table, oldest first. Notebook 01."""
    rows = sorted(ILSVRC_WINNERS + ILSVRC_OTHER_ENTRIES, key=lambda r: (r.year, r.top5_error))
    lines = [f"{'year':<6}{'team':<16}{'model':<37}{'top-5 error':>11}   note"]
    for r in rows:
        note = "winner" if r in ILSVRC_WINNERS else r.note
        lines.append(f"{r.year:<6}{r.team:<16}{r.model:<37}{r.top5_error:>10.2f}%   {note}")
    lines.append(f"{'':<6}{'human':<16}{'one trained annotator':<37}{HUMAN_TOP5_ERROR:>10.2f}%")
    return "\n".join(lines)


def _short_name(result: ChallengeResult) -> str:
    """The name the chart prints: the famous model where there is one, else the team."""
    return result.model if result.model in ("AlexNet", "ResNet", "SENet") else result.team


def plot_error_history(ax=None):
    """ILSVRC winners' top-5 error by year, human error as a line, the deep-CNN year marked.

    Hand-crafted features in grey, deep CNNs in blue, other notable entries as orange dots.
    Notebook 01.
    """
    ax = ax or plt.subplots(figsize=(9, 4.5))[1]
    years = [r.year for r in ILSVRC_WINNERS]
    errors = [r.top5_error for r in ILSVRC_WINNERS]
    blue, orange, purple = (OKABE_ITO[c] for c in ("blue", "orange", "reddish purple"))
    grey = "#999999"  # hand-crafted features: a neutral beside the palette's colours
    colours = [grey if y < DEEP_CNN_YEAR else blue for y in years]
    ax.bar(years, errors, color=colours, width=0.6)
    for r in ILSVRC_WINNERS:
        ax.annotate(
            f"{r.top5_error:g}%\n{_short_name(r)}",
            (r.year, r.top5_error),
            xytext=(0, 3),
            textcoords="offset points",
            ha="center",
            va="bottom",
            fontsize=8,
            zorder=3,  # above the human line, which passes behind the white box
            bbox={"facecolor": "white", "edgecolor": "none", "pad": 0.5},
        )
    for r in ILSVRC_OTHER_ENTRIES:
        ax.plot(r.year + 0.45, r.top5_error, "o", color=orange, markersize=5)
    ax.axhline(HUMAN_TOP5_ERROR, color=purple, linestyle="--", linewidth=1, zorder=2)
    ax.axvline(DEEP_CNN_YEAR - 0.5, color="black", linestyle=":", linewidth=1)
    ax.text(DEEP_CNN_YEAR - 0.45, max(errors) * 0.8, "deep CNNs arrive →", fontsize=8)
    others = "other entries:\n" + "\n".join(
        f"{r.model} {r.top5_error:g}% ({r.year})" for r in ILSVRC_OTHER_ENTRIES
    )
    handles = [
        Patch(color=grey, label="winner: hand-crafted features"),
        Patch(color=blue, label="winner: deep CNN"),
        Line2D([], [], marker="o", color=orange, linestyle="", label=others),
        Line2D(
            [],
            [],
            color=purple,
            linestyle="--",
            label=f"human (one annotator) {HUMAN_TOP5_ERROR}%",
        ),
    ]
    ax.legend(handles=handles, loc="upper right", fontsize=8)
    ax.set_xticks(years)
    ax.set_ylim(0, max(errors) * 1.25)
    ax.set_xlabel("ILSVRC year")
    ax.set_ylabel("top-5 error on the test set (%)")
    ax.set_title("ImageNet classification: the winners' top-5 error")
    return ax


def class_groups(num_classes: int = 1000) -> dict[str, list[int]]:
    """{group name: sorted class indices} from CLASS_GROUPS; the groups partition all classes.

    Approximate: index ranges of the WordNet-ordered ImageNet-1k classes. Notebook 01.
    """
    groups = {
        name: sorted(i for start, stop in ranges for i in range(start, stop))
        for name, ranges in CLASS_GROUPS.items()
    }
    covered = sorted(i for indices in groups.values() for i in indices)
    if covered != list(range(num_classes)):
        raise ValueError("CLASS_GROUPS must cover every class index exactly once")
    return groups


def group_of(index: int) -> str:
    """The CLASS_GROUPS name that holds a class index."""
    for name, ranges in CLASS_GROUPS.items():
        if any(start <= index < stop for start, stop in ranges):
            return name
    raise ValueError(f"class index {index} is outside 0..999")


def plot_class_groups(ax=None):
    """Horizontal bars: how many of the 1000 classes fall in each group. Notebook 01."""
    ax = ax or plt.subplots(figsize=(7, 3.8))[1]
    counts = {name: len(indices) for name, indices in class_groups().items()}
    names = sorted(counts, key=counts.get)
    bars = ax.barh(names, [counts[n] for n in names], color="tab:blue")
    ax.bar_label(bars, padding=2, fontsize=8)
    ax.set_xlabel("number of ImageNet-1k classes")
    ax.set_title("The 1000 classes, grouped by index range (approximate)")
    ax.set_xlim(0, max(counts.values()) * 1.12)
    return ax


def search_classes(query: str | int, names: Sequence[str] | None = None) -> list[tuple[int, str]]:
    """[(index, name)] of classes whose name contains query (case-insensitive), or the class
    with that index when query is a number. Notebook 01."""
    names = list(names) if names is not None else imagenet_categories()
    text = str(query).strip()
    if not text:
        return []
    if text.isdecimal() and text.isascii():  # "²" is a digit to isdigit(), not to int()
        index = int(text)
        return [(index, names[index])] if index < len(names) else []
    needle = text.lower()
    return [(i, name) for i, name in enumerate(names) if needle in name.lower()]


class ClassSearch(widgets.VBox):
    """A search box over the ImageNet class names: type part of a name, or an index.

    .query is the Text box, .results the HTML list, .matches the current [(index, name)].
    When a search fails, .message (a Label with class "widget-message") says "Could not
    update: ..." and the previous list stays, marked not updated (widgets.errors_shown_in).
    Notebook 01.
    """

    def __init__(self, names: Sequence[str] | None = None, max_shown: int = 25, value: str = ""):
        self.names = list(names) if names is not None else imagenet_categories()
        self.max_shown = max_shown
        self.matches: list[tuple[int, str]] = []
        self.query = widgets.Text(
            value="",
            placeholder="e.g. retriever, ant, 309",
            description="Search:",
            continuous_update=True,
        )
        self.message = widgets.Label()
        self.message.add_class(MESSAGE_CLASS)
        self.results = widgets.HTML()
        super().__init__([self.query, self.message, self.results])
        self.query.observe(self._update, names="value")
        self.query.value = value
        self._update()

    def _update(self, change=None) -> None:
        with errors_shown_in(self.message, [self.results]):
            matches = search_classes(self.query.value, self.names)
            self.matches = matches
            self.results.value = self._render()

    def _render(self) -> str:
        if not self.query.value.strip():
            return "<i>Type part of a class name, or a class index (0-999).</i>"
        if not self.matches:
            return f"<i>No class matches {html.escape(self.query.value)!r}.</i>"
        shown = self.matches[: self.max_shown]
        lines = [f"{i:>3}  {html.escape(name)}" for i, name in shown]
        if len(self.matches) > len(shown):
            lines.append(f"... and {len(self.matches) - len(shown)} more")
        header = f"{len(self.matches)} match{'es' if len(self.matches) != 1 else ''}:"
        return f"<b>{header}</b><pre>{chr(10).join(lines)}</pre>"


def sample_photo_path() -> Path:
    """matplotlib's bundled photo of Grace Hopper (mpl-data/sample_data), found offline."""
    return Path(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))


def preprocess(image: Image.Image, backbone: str) -> torch.Tensor:
    """What the backbone expects: resize, centre crop, [0, 1], then its own mean/std.

    Returns (3, input_size, input_size). Notebook 01.
    """
    return backbone_val_transform(backbone)(image)


def normalise(images: torch.Tensor, mean: Sequence[float], std: Sequence[float]) -> torch.Tensor:
    """(B, 3, H, W) or (3, H, W) in [0, 1] -> (x - mean) / std per channel."""
    shape = (3, 1, 1)
    return (images - torch.tensor(mean).view(shape)) / torch.tensor(std).view(shape)


def unnormalised_images(dataset) -> torch.Tensor:
    """Every image of a normalised dataset (with .mean, .std), back in [0, 1]: (N, 3, H, W)."""
    images = torch.stack([dataset[i][0] for i in range(len(dataset))])
    shape = (3, 1, 1)
    return images * torch.tensor(dataset.std).view(shape) + torch.tensor(dataset.mean).view(shape)


def plot_preprocessing(image: Image.Image, backbone: str, axes=None):
    """The steps of preprocessing for one photo, and the pixel values before and after
    normalisation. Notebook 01."""
    spec = backbone_spec(backbone)
    if axes is None:
        axes = plt.subplots(1, 4, figsize=(14, 3.4), width_ratios=[1.3, 1, 1, 1.6])[1]
    resize = transforms.Resize(spec.resize_size, interpolation=INTERPOLATION, antialias=True)
    resized = resize(image)
    cropped = transforms.CenterCrop(spec.input_size)(resized)
    pixels = transforms.ToTensor()(cropped)
    normalised = normalise(pixels, spec.mean, spec.std)
    axes[0].imshow(image)
    axes[0].set_title(f"original {image.width}x{image.height}", fontsize=9)
    axes[1].imshow(resized)
    axes[1].set_title(
        f"short side -> {spec.resize_size}: {resized.width}x{resized.height}", fontsize=9
    )
    axes[2].imshow(cropped)
    axes[2].set_title(f"centre crop {spec.input_size}x{spec.input_size}", fontsize=9)
    for ax in axes[:3]:
        ax.set_axis_off()
    bins = np.linspace(-2.2, 2.7, 60)
    axes[3].hist(pixels.flatten().numpy(), bins=bins, alpha=0.6, label="[0, 1] pixels")
    axes[3].hist(normalised.flatten().numpy(), bins=bins, alpha=0.6, label="normalised")
    mean, std = ("/".join(f"{v:.3g}" for v in values) for values in (spec.mean, spec.std))
    axes[3].set_title(f"(x - mean) / std with mean {mean}, std {std}", fontsize=9)
    axes[3].set_xlabel("input value")
    axes[3].set_yticks([])
    axes[3].legend(fontsize=8)
    return axes


@torch.no_grad()
def top_k(model: nn.Module, images: torch.Tensor, k: int = 5) -> tuple[torch.Tensor, torch.Tensor]:
    """(probabilities (B, k), class indices (B, k)) of the k most likely ImageNet classes.

    images: (B, 3, H, W), preprocessed for the model. Notebook 01.
    """
    model.eval()
    probabilities = torch.softmax(model(images).float(), dim=1)
    return probabilities.topk(k, dim=1)


def plot_top_k(
    images: torch.Tensor,
    probabilities: torch.Tensor,
    indices: torch.Tensor,
    mean: Sequence[float],
    std: Sequence[float],
    titles: Sequence[str] | None = None,
    names: Sequence[str] | None = None,
    columns: int = 2,
):
    """Each picture with its top-k probability bars beside it, each bar labelled with its
    percentage, the axis with what it measures. Notebook 01.

    images: (B, 3, H, W) normalised with mean/std; probabilities, indices: (B, k).
    """
    names = list(names) if names is not None else imagenet_categories()
    rows = -(-len(images) // columns)
    fig, axes = plt.subplots(
        rows,
        2 * columns,
        figsize=(6.6 * columns, 2.3 * rows),
        width_ratios=[1, 1.6] * columns,
        squeeze=False,
    )
    for ax in axes.flat:
        ax.set_axis_off()
    for n, (image, probs, classes) in enumerate(zip(images, probabilities, indices, strict=True)):
        picture_ax, bars_ax = (
            axes[n // columns, 2 * (n % columns)],
            axes[n // columns, 2 * (n % columns) + 1],
        )
        imshow(image, mean, std, title=titles[n] if titles else None, ax=picture_ax)
        bars_ax.set_axis_on()
        labels = [f"{names[c]} ({int(c)})" for c in classes]
        bars = bars_ax.barh(range(len(labels)), probs.numpy(), color=OKABE_ITO["blue"])
        bars_ax.bar_label(bars, [f"{p:.0%}" for p in probs.tolist()], padding=2, fontsize=7)
        bars_ax.set_yticks(range(len(labels)), labels, fontsize=8)
        bars_ax.invert_yaxis()
        bars_ax.set_xlim(0, 1.15)  # room for the value labels
        bars_ax.set_xticks([0, 0.5, 1], ["0", "0.5", "1"])
        bars_ax.set_xlabel(f"probability (top {len(labels)} of {len(names)} classes)", fontsize=8)
        bars_ax.tick_params(axis="x", labelsize=7)
        for spine in ("top", "right"):
            bars_ax.spines[spine].set_visible(False)
    fig.tight_layout()
    return fig


def ant_bee_from_logits(logits: torch.Tensor) -> torch.Tensor:
    """Predict ants (0) or bees (1) from ImageNet logits (N, 1000) by comparing only the
    'ant' (310) and 'bee' (309) logits of ImageNet's own head; returns (N,). Notebook 01."""
    return (logits[:, BEE_CLASS] > logits[:, ANT_CLASS]).long()


def ant_bee_confidence(logits: torch.Tensor) -> torch.Tensor:
    """Softmax over ImageNet's ant and bee logits alone: (N, 2), columns (ants, bees)."""
    return torch.softmax(logits[:, [ANT_CLASS, BEE_CLASS]].float(), dim=1)


def confidently_wrong(logits: torch.Tensor, labels: torch.Tensor) -> tuple[int, float] | None:
    """(index, confidence) of the mistake of ImageNet's own head (ant_bee_from_logits) with the
    highest ant-vs-bee confidence, or None when there is no mistake. logits (N, 1000), labels
    (N,). Notebook 01."""
    predictions = ant_bee_from_logits(logits)
    wrong = (predictions != labels).nonzero().flatten()
    if len(wrong) == 0:
        return None
    confidence = ant_bee_confidence(logits).max(dim=1).values
    worst = wrong[confidence[wrong].argmax()]
    return int(worst), float(confidence[worst])


@torch.no_grad()
def logits_of(model: nn.Module, images: torch.Tensor, batch_size: int = 32) -> torch.Tensor:
    """ImageNet logits (N, 1000) of preprocessed images (N, 3, H, W), batch by batch."""
    model.eval()
    return torch.cat([model(batch).float() for batch in images.split(batch_size)])


def compare_normalisations(
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    normalisations: dict[str, tuple[Sequence[float], Sequence[float]]],
) -> tuple[dict[str, dict[str, float]], dict[str, torch.Tensor]]:
    """Feed the same images through the model under each normalisation. Notebook 01.

    images: (N, 3, H, W) in [0, 1]; labels: (N,) with 0 = ants, 1 = bees; normalisations:
    {name: (mean, std)}, the first being the right one. Returns ({name: {"ant/bee accuracy",
    "same top-1 class"}}, {name: logits (N, 1000)}); "same top-1 class" is the fraction of
    images whose most likely of the 1000 classes matches the one under the first normalisation.
    """
    logits = {
        name: logits_of(model, normalise(images, mean, std))
        for name, (mean, std) in tqdm(normalisations.items(), desc="normalisations")
    }
    reference = next(iter(logits.values())).argmax(dim=1)
    report = {
        name: {
            "ant/bee accuracy": (ant_bee_from_logits(values) == labels).float().mean().item(),
            "same top-1 class": (values.argmax(dim=1) == reference).float().mean().item(),
        }
        for name, values in logits.items()
    }
    return report, logits


def format_report(report: dict[str, dict[str, float]]) -> str:
    """compare_normalisations' report as a text table of percentages."""
    columns = list(next(iter(report.values())))
    width = max(len(name) for name in report) + 2
    lines = [" " * width + "".join(f"{c:>18}" for c in columns)]
    for name, row in report.items():
        lines.append(f"{name:<{width}}" + "".join(f"{row[c]:>18.1%}" for c in columns))
    return "\n".join(lines)
