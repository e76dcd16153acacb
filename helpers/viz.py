"""Plots for the notebooks: images, predictions, training curves, confusion matrices.

Every function draws on a matplotlib Axes or Figure and returns it; none changes global
settings. Used from notebook 01 on.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from IPython.display import Code, display

from helpers.training import History


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
    """A grid of images titled 'predicted (confidence)', green when right and red when wrong.

    images: (N, 3, H, W) normalised; labels: (N,); logits: (N, C).
    """
    probabilities = torch.softmax(logits.float(), dim=1)
    confidence, predicted = probabilities.max(dim=1)
    rows = max(1, -(-len(images) // columns))
    fig, axes = plt.subplots(rows, columns, figsize=(2.2 * columns, 2.4 * rows), squeeze=False)
    for ax in axes.flat:
        ax.set_axis_off()
    shown = zip(axes.flat, images, labels, predicted, confidence, strict=False)
    for ax, image, label, pred, conf in shown:
        right = int(pred) == int(label)
        imshow(image, mean, std, ax=ax)
        ax.set_title(
            f"{class_names[pred]} ({conf:.0%})"
            + ("" if right else f"\ntrue: {class_names[label]}"),
            color="green" if right else "red",
            fontsize=9,
        )
    fig.tight_layout()
    return fig


def plot_history(history: History, axes=None):
    """Loss and accuracy per epoch, train and val, with the restored best epoch marked."""
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(10, 3.4))
    epochs = history.column("epoch")
    for ax, metric in zip(axes, ("loss", "accuracy"), strict=True):
        ax.clear()
        ax.plot(epochs, history.column(f"train_{metric}"), "o-", label="train")
        if any(v is not None for v in history.column(f"val_{metric}")):
            ax.plot(epochs, history.column(f"val_{metric}"), "o-", label="val")
        if history.best_epoch is not None:
            ax.axvline(history.best_epoch, color="grey", ls=":", label="best epoch")
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric)
        ax.grid(alpha=0.3)
        ax.legend()
    return axes


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
    """A fit() callback that redraws the loss and accuracy curves in place after every epoch."""

    def __init__(self):
        self.figure, self.axes = plt.subplots(1, 2, figsize=(10, 3.4))
        plt.close(self.figure)  # shown through the display handle, not again at cell end
        self.handle = None

    def __call__(self, history: History) -> None:
        plot_history(history, self.axes)
        self.figure.tight_layout()
        if self.handle is None:
            self.handle = display(self.figure, display_id=True)
        else:
            self.handle.update(self.figure)
