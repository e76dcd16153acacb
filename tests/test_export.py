"""helpers.export: one safe file rebuilds the same model; any other file gets clear words."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from PIL import Image

from helpers import data, export, models

CLASSES = ["ants", "bees"]
BACKBONE = "efficientnet_lite0"


def two_class_model(seed: int = 0) -> torch.nn.Module:
    """An untrained lite0 with a 2-class head and non-default BatchNorm statistics."""
    torch.manual_seed(seed)
    model = models.replace_head(models.load_backbone(BACKBONE, pretrained=False), 2)
    for name, buffer in model.named_buffers():
        if name.endswith("running_mean"):
            buffer.normal_(0, 0.1)  # so a round trip that drops buffers is caught
    return model.eval()


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> tuple[torch.nn.Module, Path]:
    model = two_class_model()
    path = tmp_path_factory.mktemp("export") / "ants_bees.pt"
    assert export.export_model(model, path, classes=CLASSES, backbone=BACKBONE) == path
    return model, path


def edited_copy(path: Path, destination: Path, **changes) -> Path:
    """A copy of an export with some top-level entries changed."""
    payload = torch.load(path, weights_only=True)
    payload.update(changes)
    torch.save(payload, destination)
    return destination


def test_round_trip_gives_identical_logits(exported):
    model, path = exported
    loaded, classes, transform = export.load_exported(path)
    assert classes == CLASSES
    assert not loaded.training
    batch = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected, actual = model(batch), loaded(batch)
    assert actual.shape == (2, 2)
    assert torch.equal(actual, expected)
    photo = Image.new("RGB", (300, 240), (200, 120, 40))
    spec = models.backbone_spec(BACKBONE)
    reference = data.val_transform(spec.input_size, spec.resize_size, spec.mean, spec.std)
    assert torch.equal(transform(photo), reference(photo))


def test_the_file_is_plain_data_that_weights_only_reads(exported):
    model, path = exported
    payload = torch.load(path, weights_only=True)
    assert payload["format_version"] == export.EXPORT_VERSION == 1
    assert payload["backbone"] == BACKBONE
    assert payload["classes"] == CLASSES
    assert payload["preprocessing"] == {
        "input_size": 224,
        "resize_size": 256,
        "mean": [0.5, 0.5, 0.5],
        "std": [0.5, 0.5, 0.5],
    }
    state = payload["state_dict"]
    assert list(state) == list(model.state_dict())
    assert all(tensor.device.type == "cpu" for tensor in state.values())
    assert torch.equal(state["classifier.weight"], model.classifier.weight)


def test_input_size_scales_the_preprocessing(tmp_path):
    path = export.export_model(
        two_class_model(), tmp_path / "small.pt", classes=CLASSES, backbone=BACKBONE, input_size=160
    )
    preprocessing = torch.load(path, weights_only=True)["preprocessing"]
    assert (preprocessing["input_size"], preprocessing["resize_size"]) == (160, 183)
    _, _, transform = export.load_exported(path)
    assert transform(Image.new("RGB", (300, 240))).shape == (3, 160, 160)


def test_a_failed_write_leaves_the_old_file_and_no_partial_one(tmp_path, monkeypatch):
    path = tmp_path / "model.pt"
    path.write_bytes(b"the previous export")

    def crash_midway(obj, destination):
        Path(destination).write_bytes(b"half a file")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", crash_midway)
    with pytest.raises(OSError, match="disk full"):
        export.export_model(two_class_model(), path, classes=CLASSES, backbone=BACKBONE)
    assert path.read_bytes() == b"the previous export"
    assert [p.name for p in tmp_path.iterdir()] == ["model.pt"]
    fresh = tmp_path / "new" / "model.pt"
    with pytest.raises(OSError, match="disk full"):
        export.export_model(two_class_model(), fresh, classes=CLASSES, backbone=BACKBONE)
    assert list(fresh.parent.iterdir()) == []


def test_class_names_must_match_the_outputs(tmp_path, exported):
    path = tmp_path / "three.pt"
    with pytest.raises(export.ExportError, match=r"3 class names .* classifier.weight is \(2, "):
        export.export_model(two_class_model(), path, classes=["a", "b", "c"], backbone=BACKBONE)
    assert not path.exists()
    edited = edited_copy(exported[1], tmp_path / "edited.pt", classes=["a", "b", "c"])
    with pytest.raises(export.ExportError, match="does not fit 3 class names"):
        export.load_exported(edited)


def test_backbone_must_match_the_model(tmp_path):
    resnet = models.replace_head(models.load_backbone("resnet18", pretrained=False), 2)
    with pytest.raises(
        export.ExportError, match="does not match backbone 'efficientnet_lite0' .* missing"
    ):
        export.export_model(resnet, tmp_path / "m.pt", classes=CLASSES, backbone=BACKBONE)
    with pytest.raises(ValueError, match="Unknown backbone 'vgg99'.*'efficientnet_lite0'"):
        export.export_model(resnet, tmp_path / "m.pt", classes=CLASSES, backbone="vgg99")
    assert list(tmp_path.iterdir()) == []


def test_unknown_backbone_in_the_file_is_named(tmp_path, exported):
    edited = edited_copy(exported[1], tmp_path / "edited.pt", backbone="vgg99")
    with pytest.raises(export.ExportError, match="unknown backbone: Unknown backbone 'vgg99'"):
        export.load_exported(edited)


def test_missing_file_says_where_it_looked(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"No model export at .*nowhere\.pt"):
        export.load_exported(tmp_path / "nowhere.pt")


def test_plain_state_dict_says_what_it_is_and_how_to_export(tmp_path):
    path = tmp_path / "weights.pt"
    torch.save(two_class_model().state_dict(), path)  # what training.save_weights writes
    with pytest.raises(export.ExportError, match="plain state dict .*export_model"):
        export.load_exported(path)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"not a torch file at all", "torch.load cannot read it safely"),
        ({"format": export.EXPORT_FORMAT, "note": Path("code")}, "cannot read it safely"),
        ({"epoch": 3, "accuracy": 0.9}, r"holds a dict with keys \['accuracy', 'epoch'\]"),
        ([1, 2, 3], "holds a list"),
    ],
)
def test_other_files_are_refused_clearly(tmp_path, content, message):
    path = tmp_path / "other.pt"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        torch.save(content, path)
    with pytest.raises(export.ExportError, match=f"is not a model export: .*{message}"):
        export.load_exported(path)


def test_a_newer_format_version_is_refused(tmp_path, exported):
    edited = edited_copy(exported[1], tmp_path / "future.pt", format_version=2)
    with pytest.raises(export.ExportError, match="format version 2; .* reads version 1"):
        export.load_exported(edited)
