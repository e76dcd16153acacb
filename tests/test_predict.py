"""helpers.predict: top-k classes from Python, the command line and the upload widget."""

from __future__ import annotations

import io
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest
import torch
from matplotlib import cbook
from PIL import Image

from helpers import data, export, models, predict
from helpers.files import shown

CLASSES = ["ants", "bees"]
REPO = Path(__file__).resolve().parents[1]
# The tiny model's head ignores the image: logits (2, 0) -> softmax 88.08% ants, 11.92% bees.
EXPECTED = [("ants", 0.8808), ("bees", 0.1192)]
EXPECTED_LINES = ["   88.08%  ants", "   11.92%  bees"]


@pytest.fixture(scope="module")
def model_file(tmp_path_factory) -> Path:
    """An exported untrained lite0 whose 2-class head always says ants 88%, bees 12%."""
    model = models.replace_head(models.load_backbone("efficientnet_lite0", pretrained=False), 2)
    with torch.no_grad():
        model.classifier.weight.zero_()
        model.classifier.bias.copy_(torch.tensor([2.0, 0.0]))
    path = tmp_path_factory.mktemp("model") / "tiny.pt"
    return export.export_model(model, path, classes=CLASSES, backbone="efficientnet_lite0")


def jpeg_bytes(size=(120, 90), seed: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG")
    return buffer.getvalue()


def write(path: Path, content: bytes) -> Path:
    path.write_bytes(content)
    return path


def assert_predictions(actual, expected, abs_tolerance=1e-4):
    """Same class names in the same order, probabilities within abs_tolerance."""
    assert [name for name, _ in actual] == [name for name, _ in expected]
    assert [p for _, p in actual] == pytest.approx([p for _, p in expected], abs=abs_tolerance)


def run_cli(*arguments) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "helpers.predict", *map(str, arguments)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
    )


def test_top_predictions_are_the_k_most_likely(model_file):
    model, classes, transform = export.load_exported(model_file)
    photo = Image.open(io.BytesIO(jpeg_bytes()))
    top = predict.top_predictions(model, photo, classes, transform, k=1)
    assert [name for name, _ in top] == ["ants"]
    assert top[0][1] == pytest.approx(0.8808, abs=1e-4)
    both = predict.top_predictions(model, photo, classes, transform, k=5)
    assert_predictions(both, EXPECTED)
    with pytest.raises(ValueError, match="k must be at least 1"):
        predict.top_predictions(model, photo, classes, transform, k=0)


@pytest.mark.slow  # starts a Python process that imports torch
def test_cli_prints_one_block_per_image_and_goes_on_past_bad_ones(model_file, tmp_path):
    first = write(tmp_path / "first photo.jpg", jpeg_bytes(seed=1))
    garbage = write(tmp_path / "notes.jpg", b"this is text, not a JPEG")
    second = write(tmp_path / "second.jpg", jpeg_bytes(seed=2))
    missing = tmp_path / "missing.jpg"
    result = run_cli(model_file, first, garbage, missing, second, "--top", "2")
    assert result.returncode == 1
    expected_block = "\n".join(EXPECTED_LINES)
    first, second = shown(first), shown(second)  # as a reader recognises them: <temp>/...
    assert result.stdout == f"{first}\n{expected_block}\n\n{second}\n{expected_block}\n\n"
    assert f"error: {garbage} is not an image that PIL can read" in result.stderr
    assert f"error: No image file at {missing}" in result.stderr
    assert "2 of 4 images could not be read." in result.stderr


@pytest.mark.slow  # starts a Python process that imports torch
def test_cli_missing_or_wrong_model_file_exits_with_2(tmp_path):
    image = write(tmp_path / "photo.jpg", jpeg_bytes())
    result = run_cli(tmp_path / "no_model.pt", image)
    assert result.returncode == 2
    assert result.stdout == ""
    assert f"error: No model export at {tmp_path / 'no_model.pt'}" in result.stderr
    weights = tmp_path / "weights.pt"
    torch.save({"fc.weight": torch.zeros(2, 3)}, weights)  # what training.save_weights writes
    assert predict.main([str(weights), str(image)]) == 2


def test_cli_top_k_in_process(model_file, tmp_path, capsys):
    image = write(tmp_path / "photo.jpg", jpeg_bytes())
    assert predict.main([str(model_file), str(image), "--top", "1"]) == 0
    assert capsys.readouterr().out == f"{shown(image)}\n{EXPECTED_LINES[0]}\n\n"
    with pytest.raises(SystemExit) as stopped:
        predict.main([str(model_file), str(image), "--top", "0"])
    assert stopped.value.code == 2
    assert "must be at least 1" in capsys.readouterr().err


def test_widget_predicts_uploaded_jpeg_bytes(model_file):
    predictor = predict.UploadPredictor(*export.load_exported(model_file), k=5)
    predictions = predictor.predict_bytes(jpeg_bytes(size=(600, 400)), "bug.jpg")
    assert_predictions(predictions, EXPECTED)
    bars = predictor.bars.value
    assert bars.index(">ants<") < bars.index(">bees<")
    assert "88.1%" in bars and "11.9%" in bars
    assert "bug.jpg: most likely ants (88.1%)" in predictor.message.value
    with Image.open(io.BytesIO(predictor.photo.value)) as shown:
        assert (shown.format, shown.size) == ("PNG", (256, 171))  # a thumbnail, not 600 px
    assert predictor.photo.layout.display is None


def test_widget_answers_garbage_with_a_plain_message(model_file):
    predictor = predict.UploadPredictor(*export.load_exported(model_file))
    predictor.predict_bytes(jpeg_bytes())
    assert predictor.predict_bytes(b"%PDF-1.4 not a photo", "report.pdf") == []
    assert predictor.message.value.startswith("report.pdf is not a photo this can read: upload")
    assert "object at 0x" not in predictor.message.value and "BytesIO" not in (
        predictor.message.value
    )
    assert predictor.bars.value == ""
    assert predictor.photo.layout.display == "none"
    assert predictor.predict_bytes(b"") == []


def uploaded(name: str, content: bytes) -> dict:
    """One entry of FileUpload.value, as ipywidgets 8 makes it of a browser upload."""
    return {
        "name": name,
        "type": "image/jpeg",
        "size": len(content),
        "content": memoryview(content),
        "last_modified": datetime.now(timezone.utc),
    }


def test_upload_callback_classifies_and_the_button_counts_the_photo(model_file):
    model, classes, transform = export.load_exported(model_file)
    predictor = predict.UploadPredictor(model, classes, transform)
    assert predictor.upload.description == "Upload"  # what notebooks 01 and 06 say to click
    predictor.upload.value = (uploaded("ant.jpg", jpeg_bytes()),)
    assert "ant.jpg: most likely ants (88.1%)" in predictor.message.value
    assert len(predictor.upload.value) == 1  # the button reads "Upload (1)", not "(0)"
    predictor.upload.value = (uploaded("notes.txt", b"not a photo"),)
    assert predictor.message.value.startswith("notes.txt is not a photo this can read")
    mismatched = predict.UploadPredictor(model, ["ants"], transform)  # 2 outputs, 1 name
    mismatched.upload.value = (uploaded("ant.jpg", jpeg_bytes()),)
    assert "Could not classify ant.jpg: the model has 2 outputs but 1 class names" in (
        mismatched.message.value
    )


def test_decode_image_turns_the_photo_upright():
    buffer = io.BytesIO()
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: the camera was held on its side
    Image.new("RGB", (40, 30), "red").save(buffer, format="JPEG", exif=exif)
    assert predict.decode_image(buffer.getvalue()).size == (30, 40)


def test_widget_with_the_imagenet_model():
    spec = models.backbone_spec(models.DEFAULT_BACKBONE)
    transform = data.val_transform(spec.input_size, spec.resize_size, spec.mean, spec.std)
    model = models.load_backbone()
    categories = models.imagenet_categories()
    predictor = predict.UploadPredictor(model, categories, transform)
    photo_path = cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)
    predictions = predictor.predict_bytes(Path(photo_path).read_bytes(), "grace_hopper.jpg")
    with Image.open(photo_path) as photo, torch.no_grad():
        probabilities = torch.softmax(model(transform(photo.convert("RGB"))[None]), dim=1)[0]
    top = probabilities.topk(5)
    expected = [(categories[i], p) for i, p in zip(top.indices, top.values.tolist(), strict=True)]
    assert_predictions(predictions, expected, abs_tolerance=1e-5)
    assert "military uniform" in [name for name, _ in predictions]
    assert predictor.bars.value.count("<div") == 5
