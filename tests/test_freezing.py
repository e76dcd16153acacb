"""helpers.freezing: groups partition the model; freezing really stops learning."""

from __future__ import annotations

import pytest
import torch
import torchvision
from torch import nn

from helpers import freezing, models


@pytest.fixture(scope="module")
def lite0():
    return models.load_backbone("efficientnet_lite0", pretrained=False)


def test_efficientnet_groups_in_order(lite0):
    groups = freezing.layer_groups(lite0)
    assert list(groups) == ["stem", *(f"blocks.{i}" for i in range(7)), "conv_head", "classifier"]


def test_resnet_groups_in_order():
    groups = freezing.layer_groups(torchvision.models.resnet18(weights=None))
    assert list(groups) == ["stem", "layer1", "layer2", "layer3", "layer4", "fc"]


def test_generic_groups_partition_any_model():
    model = torchvision.models.vgg11(weights=None)
    groups = freezing.layer_groups(model)
    assert list(groups) == ["features", "classifier"]
    assert sum(p.numel() for g in groups.values() for p in g.parameters()) == sum(
        p.numel() for p in model.parameters()
    )


def test_set_trainable_and_count(lite0):
    freezing.freeze(lite0)
    assert freezing.count_parameters(lite0)[0] == 0
    freezing.set_trainable(lite0, {"classifier": True})
    trainable, total = freezing.count_parameters(lite0)
    assert trainable == 1280 * 1000 + 1000
    assert total == sum(p.numel() for p in lite0.parameters())
    with pytest.raises(KeyError, match="blocks.0"):
        freezing.set_trainable(lite0, {"block0": True})
    freezing.unfreeze(lite0)
    assert freezing.count_parameters(lite0)[0] == total


def test_frozen_weights_are_bit_identical_after_steps():
    torch.manual_seed(0)
    model = models.replace_head(torchvision.models.resnet18(weights=None), 2)
    freezing.freeze(model)
    freezing.unfreeze(model.fc)
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    optimizer = torch.optim.SGD(freezing.trainable_parameters(model), lr=0.1, momentum=0.9)
    model.train()
    for _ in range(3):
        loss = nn.functional.cross_entropy(
            model(torch.randn(4, 3, 64, 64)), torch.tensor([0, 1, 0, 1])
        )
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    for name, parameter in model.named_parameters():
        if name.startswith("fc."):
            assert not torch.equal(parameter, before[name]), name
        else:
            assert torch.equal(parameter, before[name]), name
            assert parameter.grad is None


def test_frozen_batchnorm_keeps_its_statistics():
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.Flatten(), nn.LazyLinear(2))
    model(torch.randn(2, 3, 8, 8))
    freezing.freeze(model[1])
    running_mean = model[1].running_mean.clone()
    model.train()
    assert freezing.frozen_batchnorm_to_eval(model) == 1
    model(torch.randn(8, 3, 8, 8) + 5)
    assert torch.equal(model[1].running_mean, running_mean)
    assert model[0].training  # only the frozen BatchNorm left train mode
