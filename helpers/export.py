"""Exporting a trained model to one file, and loading it back ready to predict.

An export holds the weights, the class names, the backbone's name and the preprocessing, as
tensors and plain data only, so torch.load(path, weights_only=True) reads it and an export
from a stranger cannot run code. Notebook 06; re-exported by helpers.training.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable, Sequence
from pathlib import Path

import torch
from PIL import Image
from torch import nn

from helpers import data, files, models

EXPORT_FORMAT = "transfer-course model export"
EXPORT_VERSION = 1


class ExportError(ValueError):
    """A file that is not a model export this course can load, or a model that cannot be one."""


def export_model(
    model: nn.Module,
    path: str | Path,
    *,
    classes: Sequence[str],
    backbone: str,
    input_size: int | None = None,
) -> Path:
    """Write model to one file that load_exported (or python -m helpers.predict) can use.

    backbone: the name the model was built from (models.BACKBONES); classes: one name per
    output, in output order; input_size: the size it was trained at, default the backbone's
    (the resize before the centre crop scales with it, as in data.image_datasets). The model is
    checked against a freshly built backbone with a len(classes) head before anything is
    written, and the file is written atomically. Returns path. Notebook 06.
    """
    spec = models.backbone_spec(backbone)
    classes = [str(name) for name in classes]
    state = {name: tensor.detach().cpu() for name, tensor in model.state_dict().items()}
    _check_matches(state, _skeleton(backbone, len(classes)).state_dict(), backbone, classes)
    input_size = input_size or spec.input_size
    payload = {
        "format": EXPORT_FORMAT,
        "format_version": EXPORT_VERSION,
        "backbone": backbone,
        "classes": classes,
        "preprocessing": {
            "input_size": int(input_size),
            "resize_size": data.resize_size_for(input_size, backbone),
            "mean": [float(value) for value in spec.mean],
            "std": [float(value) for value in spec.std],
        },
        "state_dict": state,
    }
    return files.save_atomically(payload, path)


def load_exported(
    path: str | Path,
) -> tuple[nn.Module, list[str], Callable[[Image.Image], torch.Tensor]]:
    """(model in eval mode on the CPU, class names, validation transform) from an export.

    The transform takes a PIL image to the normalised (3, H, W) tensor the model expects.
    Notebook 06.
    """
    path = Path(path).expanduser()
    payload = _read_export(path)
    classes = list(payload["classes"])
    try:
        model = _skeleton(payload["backbone"], len(classes))
    except ValueError as error:
        raise ExportError(f"{path} was exported from an unknown backbone: {error}") from None
    state = payload["state_dict"]
    _check_matches(state, model.state_dict(), payload["backbone"], classes, source=str(path))
    model.load_state_dict(state, strict=True)
    preprocessing = payload["preprocessing"]
    transform = data.val_transform(
        preprocessing["input_size"],
        preprocessing["resize_size"],
        preprocessing["mean"],
        preprocessing["std"],
    )
    return model.eval(), classes, transform


def _skeleton(backbone: str, num_classes: int) -> nn.Module:
    """The backbone's architecture without pretrained weights, with a num_classes head."""
    return models.replace_head(models.load_backbone(backbone, pretrained=False), num_classes)


def _read_export(path: Path) -> dict:
    """The export's contents, or an error that says what the file is instead."""
    if not path.is_file():
        raise FileNotFoundError(
            f"No model export at {path.resolve()}. Write one with "
            "export_model(model, path, classes=..., backbone=...)."
        )
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, OSError, ValueError) as error:
        raise ExportError(
            f"{path} is not a model export: torch.load cannot read it safely "
            f"({type(error).__name__}: {' '.join(str(error).split())[:200]})."
        ) from None
    if not isinstance(payload, dict):
        raise ExportError(
            f"{path} is not a model export: it holds a {type(payload).__name__}. "
            "Write one with export_model(model, path, classes=..., backbone=...)."
        )
    if payload.get("format") == EXPORT_FORMAT:
        version = payload.get("format_version")
        if version != EXPORT_VERSION:
            raise ExportError(
                f"{path} is a model export of format version {version}; this version of the "
                f"course reads version {EXPORT_VERSION}. Re-export the model with this version."
            )
        return payload
    if payload and all(isinstance(value, torch.Tensor) for value in payload.values()):
        raise ExportError(
            f"{path} is a plain state dict ({len(payload)} tensors, as training.save_weights "
            "writes): weights without class names, backbone or preprocessing. Load it into the "
            "model it came from with training.load_weights(model, path), then write an export "
            "with export_model(model, path, classes=..., backbone=...)."
        )
    raise ExportError(
        f"{path} is not a model export: it holds a dict with keys {sorted(map(str, payload))[:8]}."
        " Write one with export_model(model, path, classes=..., backbone=...)."
    )


def _check_matches(
    state: dict[str, torch.Tensor],
    expected: dict[str, torch.Tensor],
    backbone: str,
    classes: Sequence[str],
    source: str = "the model",
) -> None:
    """Raise ExportError unless state has exactly expected's keys and shapes."""
    missing = [key for key in expected if key not in state]
    unexpected = [key for key in state if key not in expected]
    if missing or unexpected:
        raise ExportError(
            f"{source} does not match backbone {backbone!r} with a {len(classes)}-class head: "
            f"missing {missing[:5]}, unexpected {unexpected[:5]}. Pass the backbone the model "
            f"was built from (known: {', '.join(models.BACKBONES)})."
        )
    for key, tensor in expected.items():
        if state[key].shape != tensor.shape:
            raise ExportError(
                f"{source} does not fit {len(classes)} class names {list(classes)[:5]} on "
                f"backbone {backbone!r}: {key} is {tuple(state[key].shape)}, where a "
                f"{len(classes)}-class model has {tuple(tensor.shape)}. Give one class name per "
                "model output."
            )
