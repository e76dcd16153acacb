"""Each exercise check of notebook 02b accepts the right answer and explains a wrong one; the
notebook's solution boxes pass their checks (tests/test_solutions.py reads nb0X modules only)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import timm
import torchvision
from torchvision import transforms as T

from helpers import models
from helpers.exercises import nb02b

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "02b_model_hubs.ipynb"


def test_weights_facts(capsys):
    meta = torchvision.models.EfficientNet_B0_Weights.DEFAULT.meta
    top1, top5 = meta["_metrics"]["ImageNet-1K"]["acc@1"], meta["_metrics"]["ImageNet-1K"]["acc@5"]
    assert nb02b.check_weights_facts((top1, meta["_file_size"])) is True
    assert capsys.readouterr().out.startswith("Correct:")
    assert nb02b.check_weights_facts((top5, meta["_file_size"])) is False
    assert "top-5" in capsys.readouterr().out
    assert nb02b.check_weights_facts((top1, meta["num_params"] / 1e6)) is False
    assert "num_params" in capsys.readouterr().out
    assert nb02b.check_weights_facts(top1) is False
    assert "two numbers" in capsys.readouterr().out
    assert nb02b.check_weights_facts(None) is False
    assert "replace None" in capsys.readouterr().out


def _timm_transform(**overrides):
    model = timm.create_model("tf_efficientnet_lite0", pretrained=False)
    config = timm.data.resolve_model_data_config(model) | overrides
    return timm.data.create_transform(**config)


def test_timm_transform(capsys):
    assert nb02b.check_timm_transform(_timm_transform()) is True
    assert "0.5" in capsys.readouterr().out
    imagenet = _timm_transform(mean=models.IMAGENET_MEAN, std=models.IMAGENET_STD)
    assert nb02b.check_timm_transform(imagenet) is False
    assert "ImageNet mean/std" in capsys.readouterr().out
    assert nb02b.check_timm_transform(_timm_transform(is_training=True)) is False
    assert "training transform" in capsys.readouterr().out
    assert nb02b.check_timm_transform(T.Compose([T.ToTensor()])) is False
    assert "Normalize" in capsys.readouterr().out
    assert nb02b.check_timm_transform(None) is False


def _solutions() -> dict[str, tuple[str, str]]:
    """check name -> (its exercise cell, the python block of the Solution box after it)."""
    cells = json.loads(NOTEBOOK.read_text())["cells"]
    found = {}
    for cell, after in zip(cells, cells[1:], strict=False):
        match = re.search(r"nb02b\.(check_\w+)\(", "".join(cell["source"]))
        text = "".join(after["source"])
        if cell["cell_type"] == "code" and match and "Solution</summary>" in text:
            found[match.group(1)] = (
                "".join(cell["source"]),
                "\n".join(re.findall(r"```python\n(.*?)```", text, re.DOTALL)),
            )
    return found


SOLUTIONS = _solutions()


def test_every_check_has_a_solution_box():
    checks = {name for name in dir(nb02b) if name.startswith("check_")}
    assert set(SOLUTIONS) == checks


@pytest.mark.parametrize("check", sorted(SOLUTIONS))
def test_the_solution_box_passes_its_check(check, capsys):
    exercise, solution = SOLUTIONS[check]
    lines = exercise.splitlines()
    setup = [line for line in lines if "nb02b." not in line]
    checks = [line for line in lines if "nb02b." in line]
    namespace = {"torchvision": torchvision, "timm": timm, "models": models, "nb02b": nb02b}
    exec("\n".join([*setup, solution]), namespace)
    results = [eval(line.strip().rstrip(";"), namespace) for line in checks]
    assert results and all(result is True for result in results), capsys.readouterr().out
