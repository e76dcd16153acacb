"""helpers.anatomy: layer groups partition every classifier, one head, splitting at a group."""

from __future__ import annotations

import ipywidgets
import pytest
import torch
import torchvision
from torch import nn
from torchvision.models import get_model_weights, list_models

from helpers import anatomy, freezing, models, recipes

# Models of more than this many parameters take too long to build on 2 CPU cores (or too much
# memory, with their gradients) for a unit test: regnet_y_128gf, vit_h_14, vit_l_16, vit_l_32
# and convnext_large. Their structure matches a smaller sibling that is tested.
MAX_PARAMETERS = 150_000_000
CLASSIFIERS = list_models(module=torchvision.models)
TESTED = [
    n for n in CLASSIFIERS if get_model_weights(n).DEFAULT.meta["num_params"] <= MAX_PARAMETERS
]
SKIPPED = sorted(set(CLASSIFIERS) - set(TESTED))


def test_the_size_rule_skips_only_the_giants():
    assert SKIPPED == ["convnext_large", "regnet_y_128gf", "vit_h_14", "vit_l_16", "vit_l_32"]
    assert len(TESTED) == len(CLASSIFIERS) - 5 >= 70


def _head_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in anatomy.head(model).parameters())


def test_vgg_groups_are_its_stages_and_the_head_is_the_last_layer():
    model = torchvision.models.vgg11(weights=None)
    groups = anatomy.layer_groups(model)
    assert list(groups) == [
        "features[0:3]", "features[3:6]", "features[6:11]", "features[11:16]",
        "features[16:21]", "classifier[0:6]", "classifier.6",
    ]  # fmt: skip
    assert isinstance(groups["features[0:3]"][-1], nn.MaxPool2d)  # a stage ends with its pool
    assert anatomy.find_head(model) == ("classifier.6", model.classifier[6])
    # "Head only" is the final Linear (4 M values), not the three-layer classifier (124 M).
    assert freezing.head_only(model) == "classifier.6"
    assert freezing.count_parameters(model)[0] == 4096 * 1000 + 1000
    assert sum(p.numel() for p in groups["classifier[0:6]"].parameters()) > 100_000_000


def test_probe_head_and_the_panel_train_the_same_head():
    model = torchvision.models.vgg11(weights=None)
    head_ids = {id(p) for p in recipes.head_and_backbone_parameters(model)[0]}
    freezing.head_only(model)
    assert head_ids == {id(p) for p in model.parameters() if p.requires_grad}


def test_vit_stray_parameters_are_groups_of_their_own():
    model = torchvision.models.vit_b_16(weights=None)
    groups = anatomy.layer_groups(model)
    names = list(groups)
    assert names[:3] == ["class_token", "conv_proj", "encoder.pos_embedding"]
    assert names[3:15] == [f"encoder.layers.encoder_layer_{i}" for i in range(12)]
    assert names[15:] == ["encoder.ln", "heads.head"]
    freezing.set_trainable(model, {"class_token": False, "encoder.pos_embedding": False})
    assert not model.class_token.requires_grad and not model.encoder.pos_embedding.requires_grad
    assert model.conv_proj.weight.requires_grad
    with pytest.raises(TypeError, match="only groups parameters"):
        groups["class_token"]()


def test_squeezenet_conv_head_is_replaced_and_warm_started():
    model = torchvision.models.squeezenet1_0(weights=None).eval()
    path, head = anatomy.find_head(model)
    assert path == "classifier.1" and isinstance(head, nn.Conv2d)
    x = torch.randn(2, 3, 96, 96)
    with torch.no_grad():
        expected = model(x)[:, [310, 309]]
        anatomy.replace_head(model, 2, init_rows=[310, 309])
        assert torch.allclose(model(x), expected, atol=1e-5)
    assert model.num_classes == 2
    assert list(anatomy.layer_groups(model))[-1] == "classifier.1"
    with pytest.raises(ValueError, match="not nn.Linear or a 1x1"):
        model.classifier[1] = nn.Conv2d(512, 2, kernel_size=3)
        anatomy.replace_head(model, 3)


def test_densenet_and_maxvit_names():
    densenet = list(anatomy.layer_groups(torchvision.models.densenet121(weights=None)))
    assert densenet[0] == "features.conv0+norm0" and densenet[-2:] == [
        "features.norm5",
        "classifier",
    ]
    maxvit = list(anatomy.layer_groups(torchvision.models.maxvit_t(weights=None)))
    assert maxvit == ["stem", *(f"blocks.{i}" for i in range(4)), "classifier[1:5]", "classifier.5"]


def test_family_rules_are_the_course_backbones():
    assert anatomy.family(models.load_backbone("efficientnet_lite0", pretrained=False)) == (
        "efficientnet"
    )
    assert anatomy.family(torchvision.models.resnet50(weights=None)) == "resnet"
    assert anatomy.family(torchvision.models.vgg11(weights=None)) == "other"


def test_check_partition_catches_a_missing_and_a_doubled_parameter():
    model = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 2))
    with pytest.raises(ValueError, match="exactly once"):
        anatomy.check_partition(model, {"first": model[0]})
    with pytest.raises(ValueError, match="exactly once"):
        anatomy.check_partition(model, {"a": model, "b": model[1]})
    anatomy.check_partition(model, {"a": model[0], "b": model[1]})


def test_a_model_without_a_known_head_says_so():
    with pytest.raises(ValueError, match="no classifier layer"):
        anatomy.find_head(nn.Sequential(nn.Conv2d(3, 4, 3)))
    own = nn.Sequential(nn.Linear(8, 4), nn.ReLU(), nn.Sequential(nn.Linear(4, 2), nn.Tanh()))
    assert anatomy.find_head(own) == ("2.0", own[2][0])  # your own model: its last nn.Linear
    assert list(anatomy.layer_groups(own)) == ["0", "2.0"]


@pytest.mark.slow
@pytest.mark.parametrize("name", TESTED)
def test_every_torchvision_classifier(name):
    """Groups partition the parameters, the head is the last group and is replaced, the panel
    builds: for every torchvision classification model up to MAX_PARAMETERS."""
    from helpers.widgets import FreezePanel

    torch.manual_seed(0)
    kwargs = {"aux_logits": False, "init_weights": True} if name == "googlenet" else {}
    model = torchvision.models.get_model(name, weights=None, **kwargs).eval()
    groups = anatomy.layer_groups(model)  # raises unless they partition the parameters
    assert len(groups) >= 4, list(groups)
    assert list(groups)[-1] == anatomy.head_name(model)
    before = _head_parameters(model)
    anatomy.replace_head(model, 3)
    assert _head_parameters(model) < before
    side = max(64, *get_model_weights(name).DEFAULT.meta["min_size"])
    side = 224 if name.startswith(("vit", "swin", "maxvit")) else side
    with torch.no_grad():
        assert model(torch.zeros(1, 3, side, side)).shape == (1, 3)
    panel = FreezePanel(model)
    assert list(panel.checkboxes) == list(anatomy.layer_groups(model))
    try:
        panel.buttons["Head only"].click()
        assert freezing.count_parameters(model)[0] == _head_parameters(model)
    finally:
        ipywidgets.Widget.close_all()  # the widget registry would keep every model alive
