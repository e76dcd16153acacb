"""Predicting on new photos: a model's top classes from Python, the command line or an upload.

    python -m helpers.predict MODEL_FILE IMAGE... [--top K]

prints the K most likely classes of each image for a model written by export_model. Exit
status: 0 when every image was classified, 1 when some could not be read (the others are still
classified), 2 when the model file is missing or not an export. Notebooks 01 and 06.
"""

from __future__ import annotations

import argparse
import html
import io
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import ipywidgets as widgets
import torch
from PIL import Image
from torch import nn

from helpers import export, training
from helpers.data import load_photo
from helpers.files import shown

THUMBNAIL_SIZE = 256  # the uploaded photo is shown at most this many pixels wide or high
BAR_WIDTH = 220  # pixels of a 100% probability bar
BAR_COLOUR = "#0072B2"  # Okabe-Ito blue, as helpers.viz.OKABE_ITO (viz is not imported here)
# What PIL raises for bytes that are not an image it can decode (UnidentifiedImageError is an
# OSError; truncated files raise OSError, some corrupt headers SyntaxError or ValueError).
UNREADABLE_IMAGE = (OSError, SyntaxError, ValueError, Image.DecompressionBombError)


def top_predictions(
    model: nn.Module,
    image: str | Path | Image.Image,
    classes: Sequence[str],
    transform: Callable[[Image.Image], torch.Tensor],
    k: int = 3,
) -> list[tuple[str, float]]:
    """The k most likely (class name, probability) pairs for an image file or PIL image.

    transform: the validation transform (load_exported returns it). Notebooks 01 and 06.
    """
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    probabilities = training.predict_image(model, image, transform, classes)
    return list(probabilities.items())[:k]


def main(argv: Sequence[str] | None = None) -> int:
    """The command line: python -m helpers.predict MODEL_FILE IMAGE... [--top K]."""
    parser = argparse.ArgumentParser(
        prog="python -m helpers.predict",
        description="Print the most likely classes of each image for a model saved with "
        "export_model (helpers.export).",
    )
    parser.add_argument("model_file", type=Path, help="a file written by export_model")
    parser.add_argument("images", type=Path, nargs="+", metavar="IMAGE", help="photos to classify")
    parser.add_argument("--top", type=_positive_int, default=3, metavar="K", help="default 3")
    arguments = parser.parse_args(argv)
    try:
        model, classes, transform = export.load_exported(arguments.model_file)
    except (FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    unreadable = 0
    for path in arguments.images:
        try:
            predictions = top_predictions(model, path, classes, transform, k=arguments.top)
        except FileNotFoundError as error:
            print(f"error: {error}", file=sys.stderr)
            unreadable += 1
            continue
        except UNREADABLE_IMAGE as error:
            print(f"error: {path} is not an image that PIL can read ({error}).", file=sys.stderr)
            unreadable += 1
            continue
        print(shown(path))
        for name, probability in predictions:
            print(f"  {probability:7.2%}  {name}")
        print()
    if unreadable:
        print(f"{unreadable} of {len(arguments.images)} images could not be read.", file=sys.stderr)
    return 1 if unreadable else 0


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def decode_image(data: bytes) -> Image.Image:
    """An upright RGB PIL image from a file's bytes, opened as for training (data.load_photo)."""
    return load_photo(io.BytesIO(data))


def probability_bars(predictions: Sequence[tuple[str, float]]) -> str:
    """HTML: a caption saying what the bars measure, then one horizontal bar per
    (class name, probability), in the order given, with its percentage. Notebooks 01 and 06.
    """
    rows = [
        '<p style="margin:0 0 4px 13em;padding-left:8px;font-family:sans-serif;font-size:90%">'
        "probability of each class (a full bar is 100%)</p>"
    ]
    for name, probability in predictions:
        label = html.escape(name)
        rows.append(
            '<div style="display:flex;align-items:center;margin:3px 0;font-family:sans-serif">'
            '<span style="width:13em;text-align:right;padding-right:8px;overflow:hidden;'
            f'white-space:nowrap;text-overflow:ellipsis" title="{label}">{label}</span>'
            f'<span style="display:inline-block;height:14px;width:{probability * BAR_WIDTH:.0f}px;'
            f'background:{BAR_COLOUR}"></span>'
            f'<span style="padding-left:6px">{probability:.1%}</span></div>'
        )
    return "".join(rows)


class UploadPredictor(widgets.VBox):
    """Upload a photo, see it beside the model's top-k classes as probability bars.

    model, classes, transform: as load_exported returns them, or the ImageNet model with
    models.imagenet_categories() and its validation transform. Notebooks 01 and 06.
    """

    def __init__(
        self,
        model: nn.Module,
        classes: Sequence[str],
        transform: Callable[[Image.Image], torch.Tensor],
        k: int = 5,
    ):
        self.model, self.classes, self.transform, self.k = model, list(classes), transform, k
        # The button reads "Upload (1)" once a photo is in: ipywidgets counts the files held.
        self.upload = widgets.FileUpload(accept="image/*", multiple=False, description="Upload")
        self.message = widgets.HTML("Upload a photo (JPEG or PNG) to see what the model says.")
        self.photo = widgets.Image(format="png", layout=widgets.Layout(display="none"))
        self.bars = widgets.HTML()
        self.upload.observe(self._on_upload, names="value")
        super().__init__([self.upload, self.message, widgets.HBox([self.photo, self.bars])])

    def predict_bytes(self, data: bytes, name: str = "the upload") -> list[tuple[str, float]]:
        """Show the photo in data and its top-k classes; [] and a message if it is no image."""
        try:
            image = decode_image(data)
        except UNREADABLE_IMAGE:  # PIL's words name Python objects, not the file: not shown
            self._clear(
                f"{name} is not a photo this can read: upload a JPEG or PNG file "
                "(the browser's file picker may offer other files too)."
            )
            return []
        predictions = top_predictions(self.model, image, self.classes, self.transform, self.k)
        thumbnail = image.copy()
        thumbnail.thumbnail((THUMBNAIL_SIZE, THUMBNAIL_SIZE))
        buffer = io.BytesIO()
        thumbnail.save(buffer, format="PNG")
        self.photo.value = buffer.getvalue()
        self.photo.layout.display = None
        self.bars.value = probability_bars(predictions)
        best, probability = predictions[0]
        self.message.value = html.escape(f"{name}: most likely {best} ({probability:.1%})")
        return predictions

    def _clear(self, message: str) -> None:
        self.photo.layout.display = "none"
        self.bars.value = ""
        self.message.value = html.escape(message)

    def _on_upload(self, change) -> None:
        if not change["new"]:
            return
        upload = change["new"][-1]
        try:
            self.predict_bytes(bytes(upload["content"]), upload["name"])
        except Exception as error:  # in a callback it would vanish unseen
            self._clear(f"Could not classify {upload['name']}: {error}")


if __name__ == "__main__":
    sys.exit(main())
