"""helpers.freezing: groups partition the model; freezing really stops learning."""

from __future__ import annotations

import pytest
import torch
import torchvision
from torch import nn

from helpers import freezing, models, training


@pytest.fixture(scope="module")
def lite0():
    return models.load_backbone("efficientnet_lite0", pretrained=False)


def test_efficientnet_groups_in_order(lite0):
    groups = freezing.layer_groups(lite0)
    assert list(groups) == ["stem", *(f"blocks.{i}" for i in range(7)), "conv_head", "classifier"]


def test_resnet_groups_in_order():
    groups = freezing.layer_groups(torchvision.models.resnet18(weights=None))
    assert list(groups) == ["stem", "layer1", "layer2", "layer3", "layer4", "fc"]


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


def test_head_only_and_describe_trainable(lite0):
    assert freezing.head_only(lite0) == "classifier"
    assert freezing.describe_trainable(lite0) == "classifier"
    freezing.set_trainable(lite0, {"blocks.5": True, "blocks.6": True, "stem": True})
    assert freezing.describe_trainable(lite0) == "stem, blocks.5–blocks.6, classifier"
    lite0.conv_head.weight.requires_grad = True
    assert freezing.trainable_groups(lite0)["conv_head"] is None
    assert (
        freezing.describe_trainable(lite0)
        == "stem, blocks.5–blocks.6, conv_head (part), classifier"
    )
    freezing.freeze(lite0)
    assert freezing.describe_trainable(lite0) == "none"
    freezing.unfreeze(lite0)
    assert freezing.describe_trainable(lite0) == "all"


def test_discriminative_param_groups_lower_lr_downwards_and_only_trainable():
    model = torchvision.models.resnet18(weights=None)
    freezing.freeze(model)
    freezing.set_trainable(model, {"layer3": True, "layer4": True, "fc": True})
    groups = freezing.discriminative_param_groups(model, lr=1e-3, lr_decay=2.0)
    assert [g["name"] for g in groups] == ["fc", "layer4", "layer3"]
    assert [g["lr"] for g in groups] == pytest.approx([1e-3, 5e-4, 2.5e-4])
    assert (
        sum(p.numel() for g in groups for p in g["params"]) == freezing.count_parameters(model)[0]
    )
    optimizer = torch.optim.AdamW(groups)
    assert [g["name"] for g in optimizer.param_groups] == ["fc", "layer4", "layer3"]
    everything = freezing.discriminative_param_groups(model, lr=1.0, trainable_only=False)
    assert len(everything) == 6 and everything[-1]["name"] == "stem"


def test_gradual_unfreezer_opens_one_group_per_epoch_with_lower_lr():
    from helpers.training import History

    torch.manual_seed(0)
    model = models.replace_head(torchvision.models.resnet18(weights=None), 2)
    freezing.head_only(model)
    optimizer = torch.optim.SGD(freezing.trainable_parameters(model), lr=0.1)
    unfreezer = training.GradualUnfreezer(model, optimizer, lr=0.1, lr_decay=2.0)
    history = History()
    for epoch in (1, 2):
        history.records.append(epoch)  # the callback only counts records
        unfreezer(history)
    assert unfreezer.unfrozen == [(1, ["layer4"]), (2, ["layer3"])]
    assert freezing.describe_trainable(model) == "layer3–fc"
    assert [g["lr"] for g in optimizer.param_groups] == pytest.approx([0.1, 0.05, 0.025])
    in_optimizer = {id(p) for g in optimizer.param_groups for p in g["params"]}
    assert in_optimizer == {id(p) for p in freezing.trainable_parameters(model)}
    wide = training.GradualUnfreezer(model, optimizer, lr=0.1, groups_per_epoch=5)
    wide(history)
    assert wide.unfrozen == [(2, ["layer2", "layer1", "stem"])]
    wide(history)  # nothing left to open
    assert len(wide.unfrozen) == 1 and freezing.describe_trainable(model) == "all"


@pytest.mark.parametrize("build", ["lite0", "resnet18"])
def test_sequential_stages_compute_the_model(build, lite0):
    torch.manual_seed(0)
    model = lite0 if build == "lite0" else torchvision.models.resnet18(weights=None)
    model.eval()
    stages = freezing.sequential_stages(model)
    assert [name for name, _ in stages] == list(freezing.layer_groups(model))
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        trunk, top = freezing.split_at(model, 3)
        assert torch.allclose(top(trunk(x)), model(x), atol=1e-5)
    with pytest.raises(ValueError, match="num_frozen"):
        freezing.split_at(model, len(stages))


def test_training_memory_shrinks_when_frozen():
    torch.manual_seed(0)
    model = torchvision.models.resnet18(weights=None).train()
    images, labels = torch.randn(2, 3, 64, 64), torch.tensor([0, 1])
    full = freezing.training_memory(model, images, labels)
    freezing.head_only(model)
    head = freezing.training_memory(model, images, labels)
    assert head["activations"] < full["activations"] / 10
    assert head["gradients"] == (512 * 1000 + 1000) * 4
    assert head["adam_state"] == 2 * head["gradients"]
    assert full["gradients"] == sum(p.numel() for p in model.parameters()) * 4
    assert all(p.grad is None for p in model.parameters())


def test_stage_outputs_feed_the_top_of_split_at(lite0):
    torch.manual_seed(0)
    lite0.eval()
    x = torch.randn(6, 3, 64, 64)
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(x, torch.arange(6)), batch_size=4
    )
    outputs, labels = freezing.stage_outputs(lite0, loader, [0, 4, 9])
    assert sorted(outputs) == [0, 4, 9] and torch.equal(labels, torch.arange(6))
    assert torch.equal(outputs[0], x)
    assert outputs[9].shape == (6, 1280, 2, 2)
    with torch.no_grad():
        expected = lite0(x)
        for k in (4, 9):
            _, top = freezing.split_at(lite0, k)
            assert torch.allclose(top(outputs[k]), expected, atol=1e-5)
    with pytest.raises(ValueError, match="boundaries"):
        freezing.stage_outputs(lite0, loader, [10])


@pytest.mark.parametrize(
    ("mode", "frozen_moves", "trainable_moves"),
    [("follow-freezing", False, True), ("inference", False, False), ("train", True, True)],
)
def test_batchnorm_modes(mode, frozen_moves, trainable_moves):
    model = nn.Sequential(
        nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.Conv2d(4, 4, 1), nn.BatchNorm2d(4)
    )
    freezing.freeze(model[1])
    before = [model[1].running_mean.clone(), model[3].running_mean.clone()]
    model.train()
    freezing.set_batchnorm_mode(model, mode)
    model(torch.randn(8, 3, 8, 8) + 5)
    assert (not torch.equal(model[1].running_mean, before[0])) == frozen_moves
    assert (not torch.equal(model[3].running_mean, before[1])) == trainable_moves
    assert model[3].weight.requires_grad  # inference mode freezes statistics, not parameters
    with pytest.raises(ValueError, match="follow-freezing"):
        freezing.set_batchnorm_mode(model, "frozen")


def test_gradual_unfreezer_refuses_an_optimizer_over_every_parameter():
    # The notes' (and most tutorials') optimizer: built over model.parameters(). Before, the
    # unfreezer found nothing missing from it and silently unfroze nothing.
    model = models.replace_head(torchvision.models.resnet18(weights=None), 2)
    freezing.head_only(model)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="trainable_parameters"):
        training.GradualUnfreezer(model, optimizer, lr=0.1)


def test_gradual_unfreezer_works_under_one_cycle():
    # OneCycleLR reads max_lr, min_lr and initial_lr from every group: before, a group the
    # unfreezer added had none (KeyError: 'max_lr').
    from helpers.training import History

    model = models.replace_head(torchvision.models.resnet18(weights=None), 2)
    freezing.head_only(model)
    optimizer = torch.optim.AdamW(freezing.trainable_parameters(model), lr=0.1)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=0.1, total_steps=10)
    unfreezer = training.GradualUnfreezer(model, optimizer, lr=0.1, lr_decay=2.0)
    history = History()
    for epoch in (1, 2):
        for _ in range(2):
            optimizer.step()
            scheduler.step()
        history.records.append(epoch)
        unfreezer(history)
    optimizer.step()
    scheduler.step()
    head, layer4, layer3 = optimizer.param_groups
    assert layer4["max_lr"] == pytest.approx(head["max_lr"] / 2)
    assert layer3["max_lr"] == pytest.approx(head["max_lr"] / 4)
    assert layer4["lr"] == pytest.approx(head["lr"] / 2) and layer3["lr"] == pytest.approx(
        head["lr"] / 4
    )
