"""Each exercise check of notebook 02b accepts the right answer and explains a wrong one (the
notebook's solution boxes run through these checks in tests/test_solutions.py)."""

from __future__ import annotations

import timm
import torchvision
from torchvision import transforms as T

from helpers import models
from helpers.exercises import nb02b


def test_weights_facts(capsys):
    meta = torchvision.models.EfficientNet_B0_Weights.DEFAULT.meta
    top1, top5 = meta["_metrics"]["ImageNet-1K"]["acc@1"], meta["_metrics"]["ImageNet-1K"]["acc@5"]
    assert nb02b.check_weights_facts((top5, meta["_file_size"])) is True
    assert capsys.readouterr().out.startswith("Correct:")
    rounded = (round(top5, 1), round(meta["_file_size"], 1))  # as a reader copies them
    assert nb02b.check_weights_facts(rounded) is True
    assert nb02b.check_weights_facts((top5 + 0.1, meta["_file_size"])) is False
    capsys.readouterr()
    assert nb02b.check_weights_facts((top1, meta["_file_size"])) is False
    assert "top-1" in capsys.readouterr().out
    resnet18 = torchvision.models.ResNet18_Weights.DEFAULT.meta  # section 1's `weights`
    resnet18_top5 = resnet18["_metrics"]["ImageNet-1K"]["acc@5"]
    assert nb02b.check_weights_facts((resnet18_top5, resnet18["_file_size"])) is False
    assert "ResNet-18" in capsys.readouterr().out
    assert nb02b.check_weights_facts((top5 / 100, meta["_file_size"])) is False
    assert "in %" in capsys.readouterr().out
    assert nb02b.check_weights_facts((top5, meta["num_params"] / 1e6)) is False
    assert "num_params" in capsys.readouterr().out
    assert nb02b.check_weights_facts((None, meta["_file_size"])) is False  # half filled in
    assert "acc@5" in capsys.readouterr().out
    assert nb02b.check_weights_facts(top5) is False
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
