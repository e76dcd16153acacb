"""The landmark CNN architectures in a few lines each, and the size/compute/accuracy landscape.

Building blocks written small and from scratch (LeNet-5, a residual block, an Inception block,
a dense block, a depthwise-separable convolution, a tiny U-Net), FLOP counting, the table of
every torchvision classifier built from its weights' metadata (offline, no model is built),
plots of filters and feature maps, and an architecture picker widget. Notebook 02.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
import torch
import torchvision
from matplotlib.transforms import Bbox
from torch import nn
from torch.nn import functional as F
from torch.utils.flop_counter import FlopCounterMode

from helpers import anatomy, freezing
from helpers import models as course_models

IMAGENET_METRICS = "ImageNet-1K"
# The models the picker and the head table build (with weights=None, so nothing is downloaded):
# one per landmark idea, plus the course's default backbone.
TOUR_MODELS = (
    "alexnet",
    "vgg11",
    "googlenet",
    "resnet18",
    "densenet121",
    "mobilenet_v3_small",
    "efficientnet_b0",
    "convnext_tiny",
    "vit_b_16",
    "efficientnet_lite0",
)


# --- The landmarks, small and from scratch -----------------------------------------------------


class LeNet5(nn.Module):
    """LeNet-5 (LeCun et al., 1998) with today's ReLU and max-pooling.

    conv 5x5 (6) -> pool -> conv 5x5 (16) -> pool -> fc 120 -> fc 84 -> fc num_classes.
    images: (B, in_channels, 32, 32) -> logits (B, num_classes). 61,706 parameters for
    1 channel and 10 classes. Notebook 02.
    """

    def __init__(self, num_classes: int = 10, in_channels: int = 1):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 6, kernel_size=5),  # 32 -> 28
            nn.ReLU(),
            nn.MaxPool2d(2),  # 28 -> 14
            nn.Conv2d(6, 16, kernel_size=5),  # 14 -> 10
            nn.ReLU(),
            nn.MaxPool2d(2),  # 10 -> 5
        )
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(16 * 5 * 5, 120),
            nn.ReLU(),
            nn.Linear(120, 84),
            nn.ReLU(),
            nn.Linear(84, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


class ResidualBlock(nn.Module):
    """ResNet's basic block: out = relu(F(x) + x), F = conv3x3-BN-ReLU-conv3x3-BN.

    x: (B, C, H, W) -> (B, C, H, W). skip=False drops the "+ x" (a plain block, for
    comparison). zero_init=True starts the last BatchNorm's scale at 0, so F(x) = 0 and the
    block begins as the identity on non-negative inputs (torchvision's zero_init_residual).
    Notebook 02.
    """

    def __init__(self, channels: int, skip: bool = True, zero_init: bool = False):
        super().__init__()
        self.skip = skip
        self.residual = nn.Sequential(
            nn.Conv2d(channels, channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(channels),
            nn.ReLU(),
            nn.Conv2d(channels, channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(channels),
        )
        if zero_init:
            nn.init.zeros_(self.residual[-1].weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.residual(x)
        return F.relu(out + x if self.skip else out)


class InceptionBlock(nn.Module):
    """GoogLeNet's Inception module: 1x1, 1x1->3x3, 1x1->5x5 and pool->1x1 branches, concatenated.

    x: (B, in_channels, H, W) -> (B, c1 + c3 + c5 + pool_proj, H, W). The 1x1 convolutions
    before the 3x3 and 5x5 ones shrink the channels first, which keeps the block cheap.
    Notebook 02.
    """

    def __init__(
        self,
        in_channels: int,
        c1: int,
        c3_reduce: int,
        c3: int,
        c5_reduce: int,
        c5: int,
        pool_proj: int,
    ):
        super().__init__()

        def conv(cin: int, cout: int, k: int) -> nn.Sequential:
            return nn.Sequential(nn.Conv2d(cin, cout, k, padding=k // 2), nn.ReLU())

        self.branches = nn.ModuleList(
            [
                conv(in_channels, c1, 1),
                nn.Sequential(conv(in_channels, c3_reduce, 1), conv(c3_reduce, c3, 3)),
                nn.Sequential(conv(in_channels, c5_reduce, 1), conv(c5_reduce, c5, 5)),
                nn.Sequential(
                    nn.MaxPool2d(3, stride=1, padding=1), conv(in_channels, pool_proj, 1)
                ),
            ]
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([branch(x) for branch in self.branches], dim=1)


class DenseBlock(nn.Module):
    """DenseNet's dense block: every layer sees the concatenation of all earlier feature maps.

    Each layer is BN-ReLU-conv3x3 adding growth_rate channels.
    x: (B, C, H, W) -> (B, C + num_layers * growth_rate, H, W). Notebook 02.
    """

    def __init__(self, in_channels: int, growth_rate: int, num_layers: int):
        super().__init__()
        self.layers = nn.ModuleList(
            nn.Sequential(
                nn.BatchNorm2d(in_channels + i * growth_rate),
                nn.ReLU(),
                nn.Conv2d(in_channels + i * growth_rate, growth_rate, 3, padding=1, bias=False),
            )
            for i in range(num_layers)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = [x]
        for layer in self.layers:
            features.append(layer(torch.cat(features, dim=1)))
        return torch.cat(features, dim=1)


class DepthwiseSeparableConv(nn.Module):
    """MobileNet's factorised convolution: a depthwise k x k conv, then a pointwise 1x1 conv.

    The depthwise conv (groups=in_channels) filters each channel on its own; the 1x1 conv mixes
    channels. x: (B, in_channels, H, W) -> (B, out_channels, H', W'). Notebook 02.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3, stride: int = 1):
        super().__init__()
        self.depthwise = nn.Conv2d(
            in_channels,
            in_channels,
            kernel_size,
            stride=stride,
            padding=kernel_size // 2,
            groups=in_channels,
            bias=False,
        )
        self.pointwise = nn.Conv2d(in_channels, out_channels, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pointwise(self.depthwise(x))


def conv_multiply_adds(
    in_channels: int, out_channels: int, kernel_size: int, height: int, width: int, groups: int = 1
) -> int:
    """Multiply-adds of a 'same'-padded stride-1 conv on an H x W map, counted by hand.

    Each of the out_channels * H * W outputs sums kernel_size^2 * in_channels / groups products.
    Notebook 02.
    """
    return out_channels * height * width * kernel_size**2 * in_channels // groups


def _double_conv(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(cout, cout, 3, padding=1),
        nn.ReLU(),
    )


class TinyUNet(nn.Module):
    """A two-level U-Net (Ronneberger et al., 2015): encoder, bottleneck, decoder with skips.

    images: (B, in_channels, H, W) with H and W divisible by 4 -> per-pixel logits
    (B, num_classes, H, W). Each decoder level upsamples, concatenates the encoder map of the
    same size (the skip connection), and convolves. Notebook 02.
    """

    def __init__(self, in_channels: int = 3, num_classes: int = 2, width: int = 16):
        super().__init__()
        self.enc1 = _double_conv(in_channels, width)
        self.enc2 = _double_conv(width, 2 * width)
        self.pool = nn.MaxPool2d(2)
        self.bottleneck = _double_conv(2 * width, 4 * width)
        self.up2 = nn.ConvTranspose2d(4 * width, 2 * width, 2, stride=2)
        self.dec2 = _double_conv(4 * width, 2 * width)
        self.up1 = nn.ConvTranspose2d(2 * width, width, 2, stride=2)
        self.dec1 = _double_conv(2 * width, width)
        self.head = nn.Conv2d(width, num_classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] % 4 or x.shape[-2] % 4:
            raise ValueError(f"TinyUNet needs H and W divisible by 4, got {tuple(x.shape[-2:])}")
        skip1 = self.enc1(x)
        skip2 = self.enc2(self.pool(skip1))
        bottom = self.bottleneck(self.pool(skip2))
        up2 = self.dec2(torch.cat([self.up2(bottom), skip2], dim=1))
        up1 = self.dec1(torch.cat([self.up1(up2), skip1], dim=1))
        return self.head(up1)


def trace_shapes(model: nn.Module, x: torch.Tensor, depth: int = 1) -> list[tuple[str, tuple]]:
    """(name, output shape) of each submodule `depth` levels down, in the order they ran.

    Uses forward hooks, so it shows what really happened to x. Notebook 02.
    """
    trace: list[tuple[str, tuple]] = []
    handles = []
    for name, module in model.named_modules():
        if name and name.count(".") == depth - 1:

            def hook(_module, _inputs, output, name=name):
                trace.append((name, tuple(output.shape)))

            handles.append(module.register_forward_hook(hook))
    try:
        with torch.no_grad():
            trace.append(("output", tuple(model(x).shape)))
    finally:
        for handle in handles:
            handle.remove()
    return [("input", tuple(x.shape))] + trace


# --- Skip connections and gradient flow --------------------------------------------------------


class DeepStack(nn.Module):
    """num_blocks blocks of conv3x3-ReLU-conv3x3, each with or without a skip, and no BatchNorm.

    x: (B, channels, H, W) -> (B, channels, H, W). Used to compare how far gradients reach
    back with and without skip connections. Notebook 02.
    """

    def __init__(self, num_blocks: int, channels: int = 8, skip: bool = True):
        super().__init__()
        self.skip = skip
        self.blocks = nn.ModuleList(
            nn.Sequential(
                nn.Conv2d(channels, channels, 3, padding=1),
                nn.ReLU(),
                nn.Conv2d(channels, channels, 3, padding=1),
            )
            for _ in range(num_blocks)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for block in self.blocks:
            x = F.relu(block(x) + x if self.skip else block(x))
        return x


def conv_gradient_norms(model: nn.Module, x: torch.Tensor) -> list[float]:
    """The gradient norm of every conv weight, input to output, for the loss mean(model(x)^2).

    x: (B, C, H, W). The loss is arbitrary; what matters is how much gradient each layer gets.
    Notebook 02.
    """
    model.zero_grad()
    model(x).pow(2).mean().backward()
    return [m.weight.grad.norm().item() for m in model.modules() if isinstance(m, nn.Conv2d)]


# --- FLOPs and the landscape from the weights' metadata -----------------------------------------


def count_flops(model: nn.Module, input_shape: Sequence[int] = (1, 3, 224, 224)) -> int:
    """FLOPs of one forward pass in eval mode, from PyTorch's FlopCounterMode.

    2 FLOPs per multiply-add. It counts the operators it has formulas for (convolutions, matrix
    products, ...); element-wise ops such as ReLU and BatchNorm are not counted, and neither are
    fused kernels it does not know, such as nn.MultiheadAttention's eval-mode fast path (so a
    ViT is under-counted). Puts model in eval mode. Notebook 02.
    """
    model.eval()
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(torch.zeros(*input_shape))
    return counter.get_total_flops()


@dataclass(frozen=True)
class ModelCard:
    """One torchvision classifier as its weights' metadata describes it. Notebook 02."""

    name: str
    weights: str
    params: int
    gflops: float
    acc1: float
    crop_size: int

    @property
    def params_m(self) -> float:
        return self.params / 1e6


def default_weights(name: str):
    """The DEFAULT weights entry of a torchvision classifier (metadata only). Notebook 02."""
    return torchvision.models.get_model_weights(name).DEFAULT


def model_card(name: str) -> ModelCard:
    """The metadata of a torchvision classifier's DEFAULT weights. Notebook 02."""
    weights = default_weights(name)
    meta = weights.meta
    crop = getattr(weights.transforms, "keywords", {}).get("crop_size", 224)
    return ModelCard(
        name=name,
        weights=f"{type(weights).__name__}.{weights.name}",
        params=meta["num_params"],
        gflops=meta["_ops"],
        acc1=meta["_metrics"][IMAGENET_METRICS]["acc@1"],
        crop_size=int(crop),
    )


def landscape() -> list[ModelCard]:
    """Every torchvision ImageNet classifier (DEFAULT weights), sorted by GFLOPS. Notebook 02.

    Built from metadata only: no model is instantiated, nothing is downloaded.
    """
    names = torchvision.models.list_models(module=torchvision.models)
    return sorted((model_card(n) for n in names), key=lambda card: card.gflops)


def format_landscape(cards: Iterable[ModelCard]) -> str:
    """A text table: model, params (M), GFLOPS, top-1 (%), crop size, weights. Notebook 02."""
    lines = [f"{'model':<20} {'params (M)':>10} {'GFLOPS':>8} {'top-1 %':>8} {'crop':>5}  weights"]
    for c in cards:
        lines.append(
            f"{c.name:<20} {c.params_m:>10.1f} {c.gflops:>8.3f} {c.acc1:>8.2f} "
            f"{c.crop_size:>5}  {c.weights}"
        )
    return "\n".join(lines)


def pareto_front(cards: Sequence[ModelCard]) -> list[ModelCard]:
    """The models that no other model beats on both GFLOPS (fewer) and top-1. Notebook 02."""
    front, best = [], -math.inf
    for card in sorted(cards, key=lambda c: (c.gflops, -c.acc1)):
        if card.acc1 > best:
            front.append(card)
            best = card.acc1
    return front


def family(name: str) -> str:
    """The family of a torchvision model name: 'resnet', 'vgg', 'efficientnet'... Notebook 02."""
    for prefix in ("wide_resnet", "resnext", "efficientnet_v2", "mobilenet", "shufflenet"):
        if name.startswith(prefix):
            return prefix
    return name.rstrip("0123456789_").split("_")[0].rstrip("0123456789")


# The landscape's groups: colour-blind-safe (Okabe & Ito) colours, each with its own marker too.
LANDSCAPE_KINDS = {
    "early CNNs (AlexNet, VGG, GoogLeNet, Inception, SqueezeNet)": (
        {"alexnet", "vgg", "googlenet", "inception", "squeezenet"}, "orange", "o"),
    "residual CNNs (ResNet, ResNeXt, Wide ResNet, RegNet)": (
        {"resnet", "resnext", "wide_resnet", "regnet"}, "blue", "s"),
    "DenseNet": ({"densenet"}, "bluish green", "D"),
    "mobile CNNs (MobileNet, MNASNet, ShuffleNet, EfficientNet)": (
        {"mobilenet", "mnasnet", "shufflenet", "efficientnet", "efficientnet_v2"}, "sky blue", "^"),
    "ConvNeXt": ({"convnext"}, "vermillion", "v"),
    "transformers (ViT, Swin, MaxViT)": ({"vit", "swin", "maxvit"}, "reddish purple", "P"),
}  # fmt: skip


def landscape_kind(name: str) -> str:
    """Which of LANDSCAPE_KINDS a torchvision model belongs to ("other" if none)."""
    return next((k for k, (fams, _, _) in LANDSCAPE_KINDS.items() if family(name) in fams), "other")


def plot_landscape(cards: Sequence[ModelCard], label: Iterable[str] = (), ax=None):
    """ImageNet top-1 against GFLOPS (log scale); bubble area ~ parameters; colour and marker =
    the kind of architecture (LANDSCAPE_KINDS: six groups, Okabe & Ito's colour-blind-safe
    colours, each with its own marker).

    Labels the Pareto front and the models named in label: no two labels overlap, each sits
    clearly nearer its own point than any other (_place_labels), and a leader line, where a
    label had to move away, crosses no label. Notebook 02.
    """
    from helpers.viz import OKABE_ITO

    if ax is None:
        _, ax = plt.subplots(figsize=(11, 8))  # tall enough to label the crowd
    for kind, (_, colour, marker) in LANDSCAPE_KINDS.items():
        members = [c for c in cards if landscape_kind(c.name) == kind]
        if not members:
            continue
        ax.scatter(
            [c.gflops for c in members],
            [c.acc1 for c in members],
            s=[8 + c.params_m * 2 for c in members],
            color=OKABE_ITO[colour],
            marker=marker,
            alpha=0.65,
            edgecolors="black",
            linewidths=0.4,
            label=kind,
        )
    others = [c for c in cards if landscape_kind(c.name) == "other"]
    if others:
        ax.scatter([c.gflops for c in others], [c.acc1 for c in others], color="grey",
                   label="other")  # fmt: skip
    front = pareto_front(cards)
    ax.plot([c.gflops for c in front], [c.acc1 for c in front], "k--", lw=0.8, alpha=0.6)
    ax.set_xscale("log")
    ax.margins(x=0.1, y=0.08)  # room for the labels of the right-most models, the top bubbles
    ax.set_xlim(ax.get_xlim())  # fixed now: labels are placed in the final screen positions
    ax.set_ylim(ax.get_ylim())
    ax.set_xlabel("GFLOPS per image (torchvision metadata, multiply-adds; log scale)")
    ax.set_ylabel("ImageNet-1k top-1 accuracy (%)")
    ax.set_title(
        "torchvision classifiers: accuracy vs compute (bubble area ~ parameters, "
        "dashed: Pareto front)"
    )
    ax.grid(alpha=0.3, which="both")
    legend = ax.legend(fontsize=7, loc="lower right", title="kind", title_fontsize=7)
    for handle in legend.legend_handles:  # one marker size in the legend, whatever the bubbles
        handle.set_sizes([25])
    to_label = {c.name for c in front} | set(label)
    on_screen = ax.transData.transform([(c.gflops, c.acc1) for c in front])
    _place_labels(
        ax,
        [c.name for c in cards],
        ax.transData.transform([(c.gflops, c.acc1) for c in cards]),
        [np.sqrt(8 + c.params_m * 2) / 2 * ax.figure.dpi / 72 for c in cards],  # s is points²
        [index for index, c in enumerate(cards) if c.name in to_label],
        keep_clear=legend.get_window_extent(ax.figure.canvas.get_renderer()),
        lines=np.hstack([on_screen[:-1], on_screen[1:]]),  # the front's dashed segments
    )
    return ax


LABEL_FONT_SIZE = 7
LABEL_GAPS = (1.5, 2.5, 4, 6, 9, 14, 20, 28, 38, 50, 64)  # points from a marker's edge to its label
# How much of a label beside (above, below) its point lies below (left of) the point: centred
# first, flush last.
LABEL_SLIDES = (0.5, 0.375, 0.625, 0.25, 0.75, 0.125, 0.875, 0.0, 1.0)
LEADER_GAP = 9  # points: a label this far from its marker or further gets a leader line
# A label reads as its own point's when every other point is this many times as far from it,
# and a point (1/72 inch) more, measured to the points' centres and to their markers' edges.
NEARER = 1.5


def _place_labels(ax, names, points, radii, labelled, keep_clear: Bbox, lines=None) -> None:
    """Label the points whose indices are in labelled, each at the cheapest place around its
    marker (_label_places) that keeps every rule: inside the axes and off keep_clear (the
    legend), overlapping no other label, clearly nearer its own point than any other (NEARER),
    its leader line (drawn from LEADER_GAP on) crossing no label, and no label crossed by a
    leader. The cost: the gap, plus a penalty for each marker the label covers and for each
    leader or line (lines: (K, 4) screen segments, such as the Pareto front) it crosses.

    The labels with the fewest places choose first; a label left with none is moved to the
    front and the placing starts again. A label stuck twice (points too crowded for its size)
    loosens its rule: first it need only be the nearest, then it may sit anywhere with a leader
    line to its point. points: (N, 2) screen pixels of every plotted point; radii (N,): their
    markers' radii in pixels.
    """
    renderer = ax.figure.canvas.get_renderer()
    frame = ax.get_window_extent(renderer)
    points, radii = np.asarray(points, dtype=float), np.asarray(radii, dtype=float)
    lines = np.empty((0, 4)) if lines is None else np.asarray(lines, dtype=float)
    pixels_per_point = ax.figure.dpi / 72
    places = {}
    for index in labelled:
        probe = ax.text(0, 0, names[index], fontsize=LABEL_FONT_SIZE)
        size = probe.get_window_extent(renderer).size
        probe.remove()
        gaps, boxes = _label_places(points[index], radii[index], size, pixels_per_point)
        fits = (
            (boxes[:, :2] >= frame.p0).all(axis=1)
            & (boxes[:, 2:] <= frame.p1).all(axis=1)
            & ~_boxes_overlap(boxes, keep_clear.extents[None, :]).any(axis=1)
        )
        gaps, boxes = gaps[fits], boxes[fits]
        centres = _box_distances(boxes, points)  # (places, points)
        edges = np.maximum(centres - radii, 0)

        def reads_as_own(factor, centres=centres, edges=edges, index=index):
            return np.all(
                [np.delete(d, index, axis=1).min(axis=1) > factor * d[:, index] + pixels_per_point
                 for d in (centres, edges)], axis=0,
            )  # fmt: skip

        middles = (boxes[:, :2] + boxes[:, 2:]) / 2
        places[index] = {
            "gaps": gaps,
            "boxes": boxes,
            "leaders": np.hstack([np.broadcast_to(points[index], middles.shape), middles]),
            "covered": (centres < radii).sum(axis=1),
            "on_lines": _segments_hit_boxes(lines, boxes).sum(axis=0),
            # strictest rule first; the last: anywhere, tied to its point by a leader line
            "rules": [reads_as_own(NEARER), reads_as_own(1.0), gaps >= LEADER_GAP],
        }
    level = {i: next((n for n, ok in enumerate(places[i]["rules"]) if ok.any()), 2) for i in places}
    order = sorted(labelled, key=lambda i: places[i]["rules"][level[i]].sum())
    times_stuck = dict.fromkeys(labelled, 0)
    for _ in range(6 * len(order)):
        chosen = _choose_places(order, places, level)
        stuck = next((index for index in order if chosen[index] is None), None)
        if stuck is None:
            break
        times_stuck[stuck] += 1
        if times_stuck[stuck] == 2 and level[stuck] < 2:  # stuck again: a looser rule
            times_stuck[stuck], level[stuck] = 0, level[stuck] + 1
        order = [stuck, *(index for index in order if index != stuck)]
    for index in labelled:
        choice, gaps = chosen[index], places[index]["gaps"]
        if choice is None and not len(gaps):  # no room in the axes at all: right of the point
            gap, offset = 0, np.array([5.0, -3.0])
        else:
            if choice is None:  # no free place even for a leader: its best place, overlapping
                choice = int(np.argmax(places[index]["rules"][level[index]]))
            gap, box = gaps[choice], places[index]["boxes"][choice]
            offset = (box[:2] - points[index]) / pixels_per_point
        ax.annotate(
            names[index], ax.transData.inverted().transform(points[index]),
            xytext=offset, textcoords="offset points",
            ha="left", va="bottom", fontsize=LABEL_FONT_SIZE,
            arrowprops={"arrowstyle": "-", "lw": 0.4, "color": "0.4", "shrinkB": 0}
            if gap >= LEADER_GAP else None,
        )  # fmt: skip


def _label_places(point, radius, size, pixels_per_point) -> tuple[np.ndarray, np.ndarray]:
    """Every place for a label of size (w, h) pixels around a marker of radius pixels at
    point, nearest first: (gaps (M,) in points from the marker's edge, boxes (M, 4) as x0, y0,
    x1, y1 pixels). At each gap: right, left, the corners, above and below, each side's places
    slid along it (LABEL_SLIDES). In a crowd the nearest places lie on the marker itself (a
    negative gap)."""
    width, height = size
    inner = [gap * pixels_per_point for gap in LABEL_GAPS if gap * pixels_per_point < radius]
    gaps, corners = [], []
    for step in [*inner, *(radius + gap * pixels_per_point for gap in LABEL_GAPS)]:
        diagonal = step / math.sqrt(2)
        offsets = [
            *((step, -height * f) for f in LABEL_SLIDES),
            *((-step - width, -height * f) for f in LABEL_SLIDES),
            (diagonal, diagonal), (diagonal, -diagonal - height),
            (-diagonal - width, diagonal), (-diagonal - width, -diagonal - height),
            *((-width * f, step) for f in LABEL_SLIDES),
            *((-width * f, -step - height) for f in LABEL_SLIDES),
        ]  # fmt: skip
        corners += offsets
        gaps += [(step - radius) / pixels_per_point] * len(offsets)
    lower_left = np.asarray(point) + np.asarray(corners)
    return np.asarray(gaps), np.hstack([lower_left, lower_left + (width, height)])


def _choose_places(order, places, level) -> dict:
    """{label's point index: index of its place, or None where no place keeps the rules},
    choosing label by label in order, each where it costs least given the labels and leaders
    placed before it; level: which of each label's rules applies."""
    boxes, leaders = np.empty((0, 4)), np.empty((0, 4))
    chosen = {}
    for index in order:
        candidate = places[index]
        with_leader = candidate["gaps"] >= LEADER_GAP
        allowed = (
            candidate["rules"][level[index]]
            & ~_boxes_overlap(candidate["boxes"], boxes).any(axis=1)
            & ~_segments_hit_boxes(leaders, candidate["boxes"]).any(axis=0)
            & ~(with_leader & _segments_hit_boxes(candidate["leaders"], boxes).any(axis=1))
        )
        if not allowed.any():
            chosen[index] = None
            continue
        crossed = with_leader * _segments_cross(candidate["leaders"], leaders).sum(axis=1)
        cost = (
            candidate["gaps"] + 30 * candidate["covered"] + 10 * (crossed + candidate["on_lines"])
        )
        cost += np.arange(len(cost)) * 1e-3  # a tie goes to the earlier place
        choice = int(np.argmin(np.where(allowed, cost, np.inf)))
        chosen[index] = choice
        boxes = np.vstack([boxes, candidate["boxes"][choice]])
        if with_leader[choice]:
            leaders = np.vstack([leaders, candidate["leaders"][choice]])
    return chosen


def _boxes_overlap(first: np.ndarray, second: np.ndarray, pad: float = 1.0) -> np.ndarray:
    """(M, K): whether box m of first (M, 4) and box k of second (K, 4) overlap, or come
    within pad pixels of each other."""
    a, b = first[:, None, :], second[None, :, :]
    return (
        (a[..., 0] < b[..., 2] + pad)
        & (b[..., 0] < a[..., 2] + pad)
        & (a[..., 1] < b[..., 3] + pad)
        & (b[..., 1] < a[..., 3] + pad)
    )


def _box_distances(boxes: np.ndarray, points: np.ndarray) -> np.ndarray:
    """(M, N) pixels from each box (M, 4) to each point (N, 2); 0 for a point inside."""
    x, y = points[None, :, 0], points[None, :, 1]
    dx = np.maximum(np.maximum(boxes[:, None, 0] - x, x - boxes[:, None, 2]), 0)
    dy = np.maximum(np.maximum(boxes[:, None, 1] - y, y - boxes[:, None, 3]), 0)
    return np.hypot(dx, dy)


def _segments_hit_boxes(segments: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """(S, B): whether segment s (x0, y0, x1, y1) touches box b (x0, y0, x1, y1), by clipping
    the segment to the box (Liang-Barsky)."""
    start, delta = segments[:, None, :2], segments[:, None, 2:] - segments[:, None, :2]
    low, high = boxes[None, :, :2], boxes[None, :, 2:]
    with np.errstate(divide="ignore", invalid="ignore"):
        t_low, t_high = (low - start) / delta, (high - start) / delta
    flat = delta == 0  # a vertical or horizontal segment: inside the slab or never
    inside = (low <= start) & (start <= high)
    t_in = np.where(flat, np.where(inside, -np.inf, np.inf), np.minimum(t_low, t_high))
    t_out = np.where(flat, np.where(inside, np.inf, -np.inf), np.maximum(t_low, t_high))
    enter = np.maximum(t_in.max(axis=-1), 0)
    leave = np.minimum(t_out.min(axis=-1), 1)
    return enter <= leave


def _segments_cross(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """(S, T): whether segment s of first (S, 4) properly crosses segment t of second (T, 4)."""

    def side(p, q, r):  # sign of the turn p -> q -> r
        return np.sign((q[..., 0] - p[..., 0]) * (r[..., 1] - p[..., 1])
                       - (q[..., 1] - p[..., 1]) * (r[..., 0] - p[..., 0]))  # fmt: skip

    a0, a1 = first[:, None, :2], first[:, None, 2:]
    b0, b1 = second[None, :, :2], second[None, :, 2:]
    return (side(a0, a1, b0) * side(a0, a1, b1) < 0) & (side(b0, b1, a0) * side(b0, b1, a1) < 0)


# --- Heads and summaries ----------------------------------------------------------------------


def build(name: str) -> nn.Module:
    """A tour model with random weights (nothing downloaded), in eval mode.

    torchvision names are built with weights=None; 'efficientnet_lite0' is the course's backbone
    built by helpers.models without its pretrained weights. Notebook 02.
    """
    if name in course_models.BACKBONES:
        return course_models.load_backbone(name, pretrained=False)
    if name == "googlenet":  # scipy-free init, and no auxiliary heads: silences a warning
        return torchvision.models.googlenet(weights=None, init_weights=True, aux_logits=False)
    return torchvision.models.get_model(name, weights=None).eval()


@dataclass(frozen=True)
class HeadInfo:
    """Where a classifier's head lives and its shape. Notebook 02."""

    model: str
    path: str
    in_features: int
    out_features: int


def head_info(name: str, model: nn.Module) -> HeadInfo:
    """The head of model (anatomy.find_head): path, input and output width. Notebook 02."""
    path, head = anatomy.find_head(model)
    if isinstance(head, nn.Conv2d):  # SqueezeNet: a 1x1 convolution scores the classes
        return HeadInfo(name, path, head.in_channels, head.out_channels)
    return HeadInfo(name, path, head.in_features, head.out_features)


def format_heads(infos: Iterable[HeadInfo]) -> str:
    """A text table of heads: model, path, in_features, out_features. Notebook 02."""
    lines = [f"{'model':<20} {'head':<14} {'in':>5} {'out':>5}"]
    lines += [f"{i.model:<20} {i.path:<14} {i.in_features:>5} {i.out_features:>5}" for i in infos]
    return "\n".join(lines)


def summarize(name: str, model: nn.Module, input_size: int = 224) -> str:
    """Layer groups with parameter counts, the head, and the output shape. Notebook 02."""
    groups = freezing.layer_groups(model)
    _, total = freezing.count_parameters(model)
    head = head_info(name, model)
    with torch.no_grad():
        output = model.eval()(torch.zeros(1, 3, input_size, input_size))
    lines = [f"{name}: {total:,} parameters", "layer groups (input to output):"]
    for group, module in groups.items():
        lines.append(f"  {group:<14} {freezing.count_parameters(module)[1]:>12,}")
    kind = type(anatomy.head(model)).__name__
    lines.append(f"head: {head.path} = {kind}({head.in_features} -> {head.out_features})")
    lines.append(f"output for a (1, 3, {input_size}, {input_size}) image: {tuple(output.shape)}")
    return "\n".join(lines)


# --- What the layers learn --------------------------------------------------------------------


def plot_filters(weight: torch.Tensor, title: str = "", columns: int = 8, axes=None):
    """Show first-layer filters (N, 3, k, k) as small RGB images, each scaled to [0, 1] alone.

    Notebook 02.
    """
    weight = weight.detach().cpu().float()
    if weight.ndim != 4 or weight.shape[1] != 3:
        raise ValueError(f"expected RGB filters (N, 3, k, k), got {tuple(weight.shape)}")
    rows = -(-len(weight) // columns)
    if axes is None:
        fig, axes = plt.subplots(rows, columns, figsize=(columns * 0.8, rows * 0.8))
    else:
        fig = np.ravel(axes)[0].figure
    for ax in np.ravel(axes):
        ax.set_axis_off()
    for ax, kernel in zip(np.ravel(axes), weight, strict=False):
        low, high = kernel.min(), kernel.max()
        image = (kernel - low) / (high - low + 1e-8)
        ax.imshow(image.permute(1, 2, 0).numpy(), interpolation="nearest")
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


def capture_activations(
    model: nn.Module, x: torch.Tensor, layers: Sequence[str]
) -> dict[str, torch.Tensor]:
    """{layer name: its output (B, C, H, W)} for one eval-mode forward pass of x. Notebook 02.

    layers are dotted submodule names, e.g. ["bn1", "blocks.1"].
    """
    captured: dict[str, torch.Tensor] = {}
    handles = [
        model.get_submodule(name).register_forward_hook(
            lambda _m, _i, out, name=name: captured.__setitem__(name, out.detach())
        )
        for name in layers
    ]
    try:
        with torch.no_grad():
            model.eval()(x)
    finally:
        for handle in handles:
            handle.remove()
    return {name: captured[name] for name in layers}


def plot_feature_maps(activations: dict[str, torch.Tensor], channels: int = 6):
    """One row per layer: the first `channels` feature maps of the first image, and their size.

    activations: {name: (B, C, H, W)}. Notebook 02.
    """
    fig, axes = plt.subplots(
        len(activations), channels, figsize=(channels * 1.4, len(activations) * 1.45), squeeze=False
    )
    for row, (name, maps) in zip(axes, activations.items(), strict=True):
        for index, ax in enumerate(row):
            ax.imshow(maps[0, index].cpu().numpy(), cmap="viridis", interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
        _, c, h, w = maps.shape
        row[0].set_ylabel(f"{name}\n{c} x {h} x {w}", fontsize=8)
    fig.tight_layout()
    return fig


# --- The picker widget ------------------------------------------------------------------------


class ArchitecturePicker:
    """A dropdown of architectures; choosing one builds it (random weights) and shows a summary.

    A model is built on its first choice and summarised; the summary is kept, the model is
    not (only the one last built stays, as `.model(name)` returns it), so a tour of every
    model holds one model in memory, not all of them. `.summary` holds the text shown;
    `.widget` is the ipywidgets VBox to display. When building or summarising a choice fails,
    `.message` (a Label with class "widget-message", between dropdown and summary) says
    "Could not update: ..." and the previous summary stays, marked not updated
    (widgets.errors_shown_in); nothing goes to JupyterLab's log. Notebook 02.
    """

    def __init__(
        self,
        names: Sequence[str] = TOUR_MODELS,
        value: str = "resnet18",
        builder: Callable[[str], nn.Module] = build,
    ):
        import ipywidgets as widgets

        from helpers.widgets import MESSAGE_CLASS

        self._builder = builder
        self._last: tuple[str, nn.Module] | None = None  # the one model kept
        self._summaries: dict[str, str] = {}
        self.summary = ""
        self.dropdown = widgets.Dropdown(options=list(names), value=value, description="model")
        self.message = widgets.Label()
        self.message.add_class(MESSAGE_CLASS)
        self.output = widgets.Output()
        self.widget = widgets.VBox([self.dropdown, self.message, self.output])
        self.dropdown.observe(self._on_change, names="value")
        self._show(value)

    @property
    def value(self) -> str:
        return self.dropdown.value

    @value.setter
    def value(self, name: str) -> None:
        self.dropdown.value = name

    def model(self, name: str) -> nn.Module:
        """The model for name: the one last built, or built now (which lets go of that one)."""
        if self._last is None or self._last[0] != name:
            self._last = None  # freed before the next one is built: one model at a time
            self._last = (name, self._builder(name))
        return self._last[1]

    def _summary(self, name: str) -> str:
        if name not in self._summaries:
            self._summaries[name] = summarize(name, self.model(name))
        return self._summaries[name]

    def _on_change(self, change) -> None:
        self._show(change["new"])

    def _show(self, name: str) -> None:
        from helpers.widgets import errors_shown_in

        with errors_shown_in(self.message, [self.output]):
            summary = self._summary(name)
            self.summary = summary
            # Set the widget's outputs directly rather than printing inside `with self.output`:
            # that capture relies on the front end and leaks into the cell's output elsewhere.
            self.output.outputs = ()
            self.output.append_stdout(summary + "\n")

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)
