"""helpers.hubs: hub loaders work from a cache offline, and say what to do when they cannot.

Nothing is downloaded: the tests write a Hugging Face Hub cache (the layout huggingface_hub
itself writes) and a torchvision checkpoint into tmp_path, and switch the network off.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest
import timm
import torch
import torchvision
from huggingface_hub import constants as hf_constants

from helpers import hubs, models
from helpers.files import shown

REPO = "timm/tf_efficientnet_lite0.in1k"
COMMIT = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture
def hf_cache(monkeypatch, tmp_path) -> Path:
    """An empty Hub cache in tmp_path. huggingface_hub reads HF_HUB_CACHE when it is imported,
    so the module's value is patched as well as the environment."""
    cache = tmp_path / "hf"
    cache.mkdir()
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(hf_constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(hubs, "reachable", lambda url, timeout=3.0: False)  # never the network
    return cache


def publish(model: torch.nn.Module, cache: Path, repo: str = REPO) -> Path:
    """Put `model` into the cache as if downloaded from `repo`: what timm's push_to_hf_hub
    uploads (config.json, model.safetensors), in huggingface_hub's cache layout."""
    folder = cache / f"models--{repo.replace('/', '--')}"
    snapshot = folder / "snapshots" / COMMIT
    timm.models.save_for_hf(model, snapshot, safe_serialization=True)
    (folder / "refs").mkdir()
    (folder / "refs" / "main").write_text(COMMIT)
    return snapshot


def logits(model: torch.nn.Module) -> torch.Tensor:
    torch.manual_seed(0)
    with torch.no_grad():
        return model.eval()(torch.randn(2, 3, 64, 64))


@pytest.fixture(scope="module")
def course_lite0() -> torch.nn.Module:
    return models.load_backbone("efficientnet_lite0")


def test_hf_hub_name_loads_the_cached_repository_offline(hf_cache, monkeypatch, course_lite0):
    snapshot = publish(course_lite0, hf_cache)
    config = json.loads((snapshot / "config.json").read_text())
    assert config["architecture"] == "tf_efficientnet_lite0"
    assert config["pretrained_cfg"]["mean"] == [0.5, 0.5, 0.5]
    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", True)
    loaded = hubs.load_timm(f"hf-hub:{REPO}")
    assert not loaded.training
    assert torch.equal(logits(loaded), logits(course_lite0))
    assert loaded.pretrained_cfg["hf_hub_id"] == REPO


def test_unreachable_hub_uses_the_cache_and_restores_offline_mode(
    hf_cache, course_lite0, monkeypatch
):
    """A timm name resolves to its Hub repository; with the Hub out of reach timm runs in offline
    mode (the cache only, no minute of retries), which is switched back afterwards."""
    publish(course_lite0, hf_cache)
    offline_during_calls = []
    create_model = timm.create_model

    def recording(*args, **kwargs):
        offline_during_calls.append(hf_constants.is_offline_mode())
        return create_model(*args, **kwargs)

    monkeypatch.setattr(timm, "create_model", recording)
    assert hf_constants.HF_HUB_OFFLINE is False
    loaded = hubs.load_timm("tf_efficientnet_lite0", num_classes=2)
    assert offline_during_calls == [True]
    assert hf_constants.HF_HUB_OFFLINE is False
    assert loaded.classifier.out_features == 2
    assert torch.equal(loaded.conv_stem.weight, course_lite0.conv_stem.weight)
    assert not torch.equal(loaded.classifier.weight[:2], course_lite0.classifier.weight[:2])


def test_missing_weights_say_what_was_tried_and_where_it_looked(hf_cache):
    with pytest.raises(hubs.PretrainedUnavailable) as raised:
        hubs.load_timm("tf_efficientnet_lite0")
    message = str(raised.value)
    assert REPO in message
    assert shown(hf_cache / "models--timm--tf_efficientnet_lite0.in1k") in message
    assert "cannot be reached" in message
    assert hubs.FALLBACK in message and "efficientnet_lite0" in hubs.FALLBACK
    assert "about 19 MB" in message  # 4.65 M float32 parameters
    assert hf_constants.HF_HUB_OFFLINE is False


def test_offline_mode_is_named_in_the_message(hf_cache, monkeypatch):
    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(hubs.PretrainedUnavailable, match="HF_HUB_OFFLINE=1") as raised:
        hubs.load_timm(f"hf-hub:{REPO}")
    assert shown(hubs.hf_repo_folder(REPO)) in str(raised.value)


def test_a_hub_failure_keeps_its_cause(hf_cache):
    with pytest.raises(hubs.PretrainedUnavailable) as raised:
        hubs.load_timm(f"hf-hub:{REPO}")
    assert isinstance(raised.value.__cause__, OSError)


def test_hf_repo_id():
    assert hubs.hf_repo_id(f"hf-hub:{REPO}@main") == REPO
    assert hubs.hf_repo_id("tf_efficientnet_lite0") == REPO
    assert hubs.hf_repo_id("resnet50.a1_in1k") == "timm/resnet50.a1_in1k"


def test_without_pretrained_nothing_is_fetched(hf_cache):
    model = hubs.load_timm("tf_efficientnet_lite0", num_classes=3, pretrained=False)
    assert model.classifier.out_features == 3 and not model.training
    assert not any(hf_cache.iterdir())


def test_hub_offline_switches_back_after_an_error(monkeypatch):
    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", False)
    with pytest.raises(ValueError), hubs.hub_offline():
        assert hf_constants.is_offline_mode()
        raise ValueError
    assert not hf_constants.is_offline_mode()


@pytest.fixture
def torch_home(monkeypatch, tmp_path) -> Path:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    return tmp_path / "torch" / "hub" / "checkpoints"


def test_torchvision_loads_a_cached_checkpoint_with_a_new_head(torch_home):
    weights = torchvision.models.ResNet18_Weights.IMAGENET1K_V1
    torch_home.mkdir(parents=True)
    reference = torchvision.models.resnet18(weights=None)
    torch.save(reference.state_dict(), torch_home / Path(weights.url).name)
    assert hubs.torch_checkpoint_dir() == torch_home
    loaded = hubs.load_torchvision("resnet18", "DEFAULT", num_classes=2)
    assert torch.equal(loaded.conv1.weight, reference.conv1.weight)
    assert loaded.fc.out_features == 2 and not loaded.training
    assert [path.name for path, _ in hubs.cached_files()] == [Path(weights.url).name]


def test_torchvision_offline_error_names_the_cache_and_size(
    torch_home, monkeypatch, tmp_path, capsys
):
    weights = torchvision.models.ResNet18_Weights.IMAGENET1K_V1
    monkeypatch.setattr(
        type(weights), "url", property(lambda self: (tmp_path / "resnet18-f37072fd.pth").as_uri())
    )
    with pytest.raises(hubs.PretrainedUnavailable) as raised:
        hubs.load_torchvision("resnet18", weights)
    printed = capsys.readouterr()
    assert "Downloading" in printed.out  # torch.hub's own line, with the path as shown()
    assert str(torch_home) not in printed.out + printed.err
    message = str(raised.value)
    assert shown(torch_home / "resnet18-f37072fd.pth") in message
    assert str(torch_home) not in message  # no absolute path of this machine
    # torchvision's _file_size is in MiB (44.661); the message speaks MB (10**6 bytes), like the
    # rest of the course: 44.661 * 2**20 bytes = 46.8 MB.
    assert f"about {weights.meta['_file_size'] * 2**20 / 1e6:.0f} MB" in message
    assert "47 MB" in message
    assert hubs.FALLBACK in message


def test_torchvision_weights_by_name():
    assert hubs.torchvision_weights("resnet50", "DEFAULT").name == "IMAGENET1K_V2"
    assert hubs.torchvision_weights("resnet50", "IMAGENET1K_V1").meta["_file_size"] < 100
    with pytest.raises(ValueError, match="IMAGENET1K_V1, IMAGENET1K_V2"):
        hubs.torchvision_weights("resnet50", "IMAGENET21K")


def test_the_pretrained_argument_is_deprecated_but_still_honoured():
    """What notebook 02b says of torchvision 0.29: pretrained= warns and is mapped to weights=."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = torchvision.models.resnet18(pretrained=False)
    texts = [str(w.message) for w in caught]
    assert any("'pretrained' is deprecated" in text for text in texts)
    assert any("equivalent to passing `weights=None`" in text for text in texts)
    assert isinstance(model, torchvision.models.ResNet)


def test_reachable_refuses_a_closed_port():
    assert hubs.reachable("http://127.0.0.1:9", timeout=0.5) is False
