"""helpers.features: the cache hits, misses when data or transform change; the probe learns."""

from __future__ import annotations

import os

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from helpers import data, features, models


class CountingExtractor:
    """Stands in for feature_extractor: a tiny deterministic net, counting how often it is built."""

    def __init__(self):
        self.calls = 0

    def __call__(self, backbone: str, layer: str | None = None) -> nn.Module:
        self.calls += 1
        torch.manual_seed(0)
        return nn.Sequential(nn.Conv2d(3, 4, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten())


@pytest.fixture
def counting(monkeypatch) -> CountingExtractor:
    counter = CountingExtractor()
    monkeypatch.setattr(features, "feature_extractor", counter)
    return counter


def tiny_split(root, size: int = 32, split: str = "train"):
    return data.image_datasets(root, size=size, augment=False)[split]


def test_extract_features_shapes_and_order():
    images = torch.randn(10, 3, 8, 8)
    labels = torch.arange(10) % 2
    loader = DataLoader(TensorDataset(images, labels), batch_size=4)
    model = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())
    feats, got_labels = features.extract_features(model, loader, device="cpu", progress=False)
    assert feats.shape == (10, 3)
    assert torch.allclose(feats, images.mean(dim=(2, 3)))
    assert torch.equal(got_labels, labels)


def test_cache_hit_does_not_run_the_backbone(tiny_dataset, tmp_path, counting):
    dataset = tiny_split(tiny_dataset)
    tmp_path = tmp_path / "cache"
    first = features.cached_features(
        "efficientnet_lite0", dataset, cache_dir=tmp_path, progress=False
    )
    second = features.cached_features(
        "efficientnet_lite0", dataset, cache_dir=tmp_path, progress=False
    )
    assert counting.calls == 1
    assert first[0].shape == (12, 4)
    assert torch.equal(first[0], second[0]) and torch.equal(first[1], second[1])
    assert first[1].tolist() == dataset.targets
    assert [p.suffix for p in tmp_path.iterdir()] == [".pt"]  # no temporary file left behind


def test_cache_misses_when_the_transform_changes(tiny_dataset, tmp_path, counting):
    small = tiny_split(tiny_dataset, size=32)
    larger = tiny_split(tiny_dataset, size=48)
    features.cached_features("efficientnet_lite0", small, cache_dir=tmp_path, progress=False)
    features.cached_features("efficientnet_lite0", larger, cache_dir=tmp_path, progress=False)
    assert counting.calls == 2
    assert len(list(tmp_path.glob("*.pt"))) == 2


def test_cache_misses_when_backbone_layer_or_a_file_changes(tiny_dataset, tmp_path, counting):
    dataset = tiny_split(tiny_dataset)
    features.cached_features("efficientnet_lite0", dataset, cache_dir=tmp_path, progress=False)
    features.cached_features("resnet18", dataset, cache_dir=tmp_path, progress=False)
    features.cached_features(
        "efficientnet_lite0", dataset, layer="blocks.3", cache_dir=tmp_path, progress=False
    )
    assert counting.calls == 3
    photo = dataset.samples[0][0]
    stat = os.stat(photo)
    os.utime(photo, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))  # the file was edited
    features.cached_features("efficientnet_lite0", dataset, cache_dir=tmp_path, progress=False)
    assert counting.calls == 4


def test_cache_refuses_augmented_data(tiny_dataset, tmp_path, counting):
    augmented = data.image_datasets(tiny_dataset, size=32, augment=True)["train"]
    with pytest.raises(ValueError, match="random"):
        features.cached_features("efficientnet_lite0", augmented, cache_dir=tmp_path)
    assert counting.calls == 0


def test_failed_write_leaves_nothing(tiny_dataset, tmp_path, counting, monkeypatch):
    def broken_save(obj, path):
        with open(path, "wb") as file:
            file.write(b"half")
        raise OSError("disk full")

    monkeypatch.setattr(features.torch, "save", broken_save)
    tmp_path = tmp_path / "cache"
    with pytest.raises(OSError, match="disk full"):
        features.cached_features(
            "efficientnet_lite0", tiny_split(tiny_dataset), cache_dir=tmp_path, progress=False
        )
    assert list(tmp_path.iterdir()) == []


def test_fingerprint_needs_samples_or_a_fingerprint():
    with pytest.raises(TypeError, match="fingerprint"):
        features.dataset_fingerprint(TensorDataset(torch.zeros(2, 3)))


def test_layer_features_stop_at_the_group():
    model = nn.Sequential(nn.Conv2d(3, 5, 3), nn.Conv2d(5, 7, 3), nn.Conv2d(7, 9, 3))
    images = torch.randn(2, 3, 12, 12)
    early = features.LayerFeatures(model, "1")
    with torch.no_grad():
        expected = model[1](model[0](images)).mean(dim=(2, 3))
        assert torch.allclose(early(images), expected)
        assert model(images).shape == (2, 9, 6, 6)  # the wrapped model still runs to the end
    with pytest.raises(KeyError, match="this model has"):
        features.LayerFeatures(model, "blocks.9")


def test_efficientnet_earlier_layer_is_narrower(monkeypatch):
    monkeypatch.setattr(
        features, "load_backbone", lambda name, pretrained: models.load_backbone(name, False)
    )
    images = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        assert features.feature_extractor("efficientnet_lite0")(images).shape == (1, 1280)
        assert features.feature_extractor("efficientnet_lite0", "blocks.3")(images).shape == (1, 80)


def test_linear_probe_learns_and_is_reproducible():
    generator = torch.Generator().manual_seed(0)
    labels = torch.arange(60) % 3
    centres = torch.randn(3, 16, generator=generator) * 3
    feats = centres[labels] + torch.randn(60, 16, generator=generator)
    head = features.train_linear_probe(feats, labels, steps=100, seed=0)
    again = features.train_linear_probe(feats, labels, steps=100, seed=0)
    assert isinstance(head, nn.Linear) and head.out_features == 3
    assert features.probe_accuracy(head, feats, labels) == 1.0
    assert torch.equal(head.weight, again.weight)
    shuffled = labels[torch.randperm(60, generator=generator)]
    assert (
        features.probe_accuracy(
            features.train_linear_probe(feats, shuffled, steps=5), feats, labels
        )
        < 1.0
    )


def test_linear_probe_rejects_mismatched_inputs():
    with pytest.raises(ValueError, match="labels"):
        features.train_linear_probe(torch.zeros(4, 2), torch.zeros(3, dtype=torch.long))


def test_extract_features_is_unchanged_by_the_channels_last_layout():
    """The faster memory layout changes how the convolutions run, not what they compute."""
    torch.manual_seed(0)
    model = models.remove_head(models.load_backbone("efficientnet_lite0", pretrained=False))
    images = torch.randn(6, 3, 64, 64)
    with torch.no_grad():
        expected = model.eval()(images)
    loader = DataLoader(TensorDataset(images, torch.arange(6)), batch_size=4)
    extracted, labels = features.extract_features(model, loader, device="cpu", progress=False)
    assert extracted.shape == (6, 1280)
    assert torch.allclose(extracted, expected, atol=1e-4)
    assert labels.tolist() == list(range(6))


@pytest.mark.parametrize("build", ["efficientnet_lite0", "resnet18"])
def test_every_layer_group_a_learner_can_name_gives_features(build):
    # "stem" and "conv_head" are wrapper Sequentials the model's forward never calls: before,
    # they raised "did not run in the model's forward".
    import torchvision

    from helpers.freezing import layer_groups

    torch.manual_seed(0)
    if build == "resnet18":
        model = torchvision.models.resnet18(weights=None).eval()
    else:
        model = models.load_backbone(build, pretrained=False).eval()
    images = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        for name in layer_groups(model):
            output = features.LayerFeatures(model, name)(images)
            assert output.dim() == 2 and output.shape[0] == 2, name
        stem = features.LayerFeatures(model, "stem")(images)
        bn = model.bn1
        direct = bn(model.conv_stem(images) if build != "resnet18" else model.conv1(images))
        assert torch.allclose(stem, direct.mean(dim=(2, 3)), atol=1e-6)
