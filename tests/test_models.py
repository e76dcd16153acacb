"""helpers.models: real pretrained weights, the ResNet-18 download path, heads, class names."""

from __future__ import annotations

import pytest
import timm
import torch
import torchvision
from torch import nn

from helpers import data, freezing, models, recipes, training


def test_unknown_backbone_lists_known_names():
    with pytest.raises(ValueError, match="efficientnet_lite0.*resnet18"):
        models.load_backbone("vgg99")


def test_imagenet_categories_include_ant_and_bee():
    names = models.imagenet_categories()
    assert len(names) == models.NUM_IMAGENET_CLASSES
    assert names[models.ANT_CLASS] == "ant"
    assert names[models.BEE_CLASS] == "bee"


def test_efficientnet_weights_are_loaded_by_name_every_tensor():
    pretrained = models.load_backbone("efficientnet_lite0")
    shipped = torch.load(models._efficientnet_lite0_weights_file(), weights_only=True)
    names = models.lite_to_timm_names(pretrained, shipped)
    assert len(names) == len(shipped) == len(pretrained.state_dict())
    loaded = pretrained.state_dict()
    for key, timm_name in names.items():  # every tensor, not the first and the last
        assert torch.equal(loaded[timm_name], shipped[key]), key
    assert names["_blocks.3._bn0.weight"] == "blocks.2.0.bn1.weight"  # block 3 opens stage 2
    assert names["_blocks.0._project_conv.weight"] == "blocks.0.0.conv_pw.weight"  # separable
    random_init = models.load_backbone("efficientnet_lite0", pretrained=False)
    assert not torch.equal(random_init.conv_stem.weight, shipped["_conv_stem.weight"])


def test_a_checkpoint_in_another_order_loads_the_same_and_a_misfit_is_named():
    shipped = torch.load(models._efficientnet_lite0_weights_file(), weights_only=True)
    reordered = dict(reversed(list(shipped.items())))  # by position this would not even load
    model = models.load_backbone("efficientnet_lite0", pretrained=False)
    models.load_by_name(model, reordered, models.lite_to_timm_names(model, reordered))
    reference = models.load_backbone("efficientnet_lite0")
    pairs = zip(model.state_dict().values(), reference.state_dict().values(), strict=True)
    assert all(torch.equal(a, b) for a, b in pairs)
    # two middle tensors of one shape swapped under their names: by position it loads silently
    swapped = dict(shipped)
    swapped["_blocks.6._bn1.weight"], swapped["_blocks.7._bn1.weight"] = (
        shipped["_blocks.7._bn1.weight"],
        shipped["_blocks.6._bn1.weight"],
    )
    models.load_by_name(model, swapped, models.lite_to_timm_names(model, swapped))
    assert torch.equal(model.blocks[3][1].bn2.weight, shipped["_blocks.7._bn1.weight"])
    renamed = {("_blocks.7._squeeze.weight" if k == "_blocks.7._bn0.weight" else k): v
               for k, v in shipped.items()}  # fmt: skip
    with pytest.raises(ValueError, match=r"no mapped name: _blocks\.7\._squeeze\.weight.*"
                       r"lacks: blocks\.3\.2\.bn1\.weight"):  # fmt: skip
        models.load_by_name(model, renamed, models.lite_to_timm_names(model, renamed))


def test_load_by_name_rejects_a_wrong_shape():
    model = nn.Sequential(nn.Linear(3, 2))
    with pytest.raises(ValueError, match=r"shapes that differ.*0\.weight \(2, 4\) vs \(2, 3\)"):
        models.load_by_name(
            model, {"w": torch.zeros(2, 4), "b": torch.zeros(2)}, {"w": "0.weight", "b": "0.bias"}
        )


def test_default_backbone_knows_ants_from_bees(real_data):
    """ImageNet's own head: the ImageNet logits for bee (309) vs ant (310) on the 153 val photos."""
    model = models.load_backbone()
    val = data.image_datasets(real_data)["val"]
    logits, labels = training.predict(model, data.dataloaders({"val": val}, batch_size=51)["val"])
    bee_over_ant = logits[:, models.BEE_CLASS] > logits[:, models.ANT_CLASS]
    accuracy = (bee_over_ant.long() == labels).float().mean().item()
    assert len(labels) == 153
    assert accuracy >= 0.90, accuracy


def test_resnet18_loads_a_cached_checkpoint(monkeypatch, tmp_path):
    """torchvision looks in $TORCH_HOME/hub/checkpoints before downloading: give it a file."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    url = torchvision.models.ResNet18_Weights.IMAGENET1K_V1.url
    checkpoint = tmp_path / "hub" / "checkpoints" / url.rsplit("/", 1)[1]
    checkpoint.parent.mkdir(parents=True)
    reference = torchvision.models.resnet18(weights=None)
    assert not models.resnet18_weights_file().is_file()
    torch.save(reference.state_dict(), checkpoint)
    assert models.resnet18_weights_file() == checkpoint
    loaded = models.load_backbone("resnet18")
    assert torch.equal(loaded.conv1.weight, reference.conv1.weight)
    assert not loaded.training


def test_resnet18_offline_error_says_what_to_do(monkeypatch, tmp_path):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    weights = torchvision.models.ResNet18_Weights.IMAGENET1K_V1
    monkeypatch.setattr(
        type(weights), "url", property(lambda self: (tmp_path / "none.pth").as_uri())
    )
    with pytest.raises(RuntimeError, match="efficientnet_lite0"):
        models.load_backbone("resnet18")


def test_a_backbone_reads_its_input_from_its_library():
    """Mean, std, sizes and interpolation come from timm's pretrained_cfg and torchvision's
    weights preset, not from numbers typed into the spec."""
    lite = models.BACKBONES["efficientnet_lite0"]
    config = timm.models.get_pretrained_cfg("tf_efficientnet_lite0")
    assert (lite.mean, lite.std, lite.interpolation) == (config.mean, config.std, "bicubic")
    assert (lite.input_size, lite.resize_size) == (224, 256)  # 224 / crop_pct 0.875
    resnet = models.BACKBONES["resnet18"]
    preset = torchvision.models.ResNet18_Weights.IMAGENET1K_V1.transforms()
    assert resnet.mean == tuple(preset.mean) == models.IMAGENET_MEAN
    assert (resnet.input_size, resnet.resize_size, resnet.interpolation) == (224, 256, "bilinear")
    with pytest.raises(ValueError, match="'keras'"):
        models.BackboneSpec("x", "x", "x", library="keras", architecture="x")


def _third_backbone(library: str, tmp_path, monkeypatch) -> tuple[models.BackboneSpec, dict]:
    """A backbone the course does not have, as one registry entry; its pretrained weights are a
    checkpoint this test writes where the backbone's source says they are."""
    if library == "timm":
        reference = timm.create_model("mobilenetv3_small_050").state_dict()
        checkpoint = tmp_path / "mobilenetv3_small_050.pth"
        torch.save(reference, checkpoint)
        spec = models.BackboneSpec(
            name="mobilenetv3_small", description="MobileNetV3-Small 0.5 (timm)",
            weights=f"a checkpoint file, {checkpoint}", library="timm",
            architecture="mobilenetv3_small_050", early_groups=("conv_stem", "bn1", "blocks.0"),
            load_weights=lambda model: model.load_state_dict(
                torch.load(checkpoint, weights_only=True)),
        )  # fmt: skip
        return spec, reference
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))  # torchvision's own cache, pre-filled
    weights = torchvision.models.MobileNet_V3_Small_Weights.IMAGENET1K_V1
    reference = torchvision.models.mobilenet_v3_small(weights=None).state_dict()
    checkpoint = tmp_path / "hub" / "checkpoints" / weights.url.rsplit("/", 1)[1]
    checkpoint.parent.mkdir(parents=True)
    torch.save(reference, checkpoint)
    spec = models.BackboneSpec(
        name="mobilenet_v3_small", description="MobileNetV3-Small (torchvision)",
        weights="torchvision MobileNet_V3_Small_Weights.IMAGENET1K_V1", library="torchvision",
        architecture="mobilenet_v3_small", torchvision_weights=str(weights),
        early_groups=("features.0", "features.1"),
    )  # fmt: skip
    return spec, reference


@pytest.mark.parametrize("library", ["timm", "torchvision"])
def test_a_third_backbone_is_one_registry_entry(library, tmp_path, monkeypatch, tiny_dataset):
    """Adding a backbone touches no file but the registry: the data's transforms, the head,
    the early groups and the course recipe's first epoch all follow from the one entry."""
    spec, reference = _third_backbone(library, tmp_path, monkeypatch)
    monkeypatch.setitem(models.BACKBONES, spec.name, spec)
    if library == "timm":
        preset = timm.models.get_pretrained_cfg(spec.architecture).mean
    else:
        preset = torchvision.models.get_weight(spec.torchvision_weights).transforms().mean
    assert spec.mean == tuple(preset) == models.IMAGENET_MEAN  # both use ImageNet's statistics
    datasets = data.image_datasets(tiny_dataset, size=64, backbone=spec.name)
    normalise = datasets["val"].transform.transforms[-1]
    assert tuple(normalise.mean) == spec.mean
    loaders = data.dataloaders(datasets, batch_size=4)
    model, history = recipes.course_finetune(
        loaders, backbone=spec.name, epochs=1, device="cpu", progress=False
    )
    head_path, head = models.find_head(model)
    assert head_path == ("classifier" if library == "timm" else "classifier.3")
    assert head.out_features == 2
    # the ImageNet rows of ant and bee warm-started the head: no probe epochs, one fine-tune
    assert [record.phase for record in history.records] == ["fine-tune"]
    weights = model.state_dict()
    first_layer = next(iter(reference))  # in an early group: frozen, still the checkpoint's
    assert torch.equal(weights[first_layer], reference[first_layer])
    groups = freezing.layer_groups(model)
    frozen = [name for name, group in groups.items()
              if not any(p.requires_grad for p in group.parameters())]  # fmt: skip
    assert frozen == list(spec.early_groups)


@pytest.mark.parametrize(
    ("builder", "head"),
    [
        (lambda: models.load_backbone("efficientnet_lite0", pretrained=False), "classifier"),
        (lambda: torchvision.models.resnet18(weights=None), "fc"),
        (lambda: torchvision.models.mobilenet_v3_small(weights=None), "classifier.3"),
        (lambda: torchvision.models.densenet121(weights=None), "classifier"),
        (lambda: torchvision.models.vit_b_16(weights=None), "heads.head"),
    ],
)
def test_replace_head_output_shape(builder, head):
    model = builder()
    assert models.find_head(model)[0] == head
    models.replace_head(model, 2)
    with torch.no_grad():
        out = model.eval()(torch.randn(2, 3, 224, 224))
    assert out.shape == (2, 2)


def test_remove_head_gives_pooled_features():
    model = models.remove_head(models.load_backbone("efficientnet_lite0", pretrained=False))
    with torch.no_grad():
        assert model(torch.randn(1, 3, 96, 96)).shape == (1, 1280)


def test_replace_head_can_copy_imagenet_rows():
    model = models.load_backbone("efficientnet_lite0", pretrained=False)
    old = model.classifier
    rows = models.imagenet_indices(["ants", "bees"])
    assert rows == [models.ANT_CLASS, models.BEE_CLASS]
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        expected = model(x)[:, rows]
        models.replace_head(model, 2, init_rows=rows)
        assert torch.allclose(model(x), expected, atol=1e-6)
    assert model.classifier is not old
    with pytest.raises(ValueError, match="2 indices"):
        models.replace_head(models.load_backbone(pretrained=False), 2, init_rows=[1])


def test_imagenet_indices_need_every_class():
    assert models.imagenet_indices(["Ant", "goldfish"]) == [310, 1]
    assert models.imagenet_indices(["ants", "widgets"]) is None
    assert models.imagenet_indices([str(d) for d in range(10)]) is None
