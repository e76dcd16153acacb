"""helpers.imagenet: the ILSVRC history data, class groups and search, top-k, and ants vs bees
read from ImageNet's own head."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pytest
import torch
from PIL import Image
from torch import nn

from helpers import data, imagenet, models

NAMES = models.imagenet_categories()


def test_history_is_sorted_data_with_sources():
    years = [r.year for r in imagenet.ILSVRC_WINNERS]
    assert years == list(range(2010, 2018))
    errors = [r.top5_error for r in imagenet.ILSVRC_WINNERS]
    assert errors == sorted(errors, reverse=True)  # every winner beat the year before
    by_year = {r.year: r for r in imagenet.ILSVRC_WINNERS}
    assert by_year[2012].model == "AlexNet" and by_year[2012].top5_error == 16.4
    assert by_year[2015].top5_error == 3.57
    assert all(r.source for r in imagenet.ILSVRC_WINNERS + imagenet.ILSVRC_OTHER_ENTRIES)
    # The first winner below the estimated human error is ResNet (2015).
    below_human = [
        r.year for r in imagenet.ILSVRC_WINNERS if r.top5_error < imagenet.HUMAN_TOP5_ERROR
    ]
    assert below_human[0] == 2015


def test_history_table_lists_every_entry():
    table = imagenet.error_history_table()
    assert (
        table.count("\n") == len(imagenet.ILSVRC_WINNERS) + len(imagenet.ILSVRC_OTHER_ENTRIES) + 1
    )
    assert "VGG" in table and "5.10%" in table


def test_history_plot_marks_human_error_and_cnn_year():
    ax = imagenet.plot_error_history()
    assert len(ax.patches) == len(imagenet.ILSVRC_WINNERS)
    horizontal = [line for line in ax.lines if line.get_ydata()[0] == imagenet.HUMAN_TOP5_ERROR]
    assert horizontal, "the human error line is missing"
    vertical = [line for line in ax.lines if line.get_xdata()[0] == imagenet.DEEP_CNN_YEAR - 0.5]
    assert vertical, "the deep-CNN marker is missing"
    plt.close("all")


def test_class_groups_partition_the_classes():
    groups = imagenet.class_groups()
    assert sum(len(v) for v in groups.values()) == 1000
    assert len(groups["dogs"]) == 118
    assert NAMES[151] == "Chihuahua" and NAMES[268] == "Mexican hairless"
    assert imagenet.group_of(models.ANT_CLASS) == "insects"
    assert imagenet.group_of(models.BEE_CLASS) == "insects"
    assert imagenet.group_of(NAMES.index("golden retriever")) == "dogs"
    assert imagenet.group_of(NAMES.index("pizza")) == "food"
    assert imagenet.group_of(NAMES.index("goldfinch")) == "birds"
    with pytest.raises(ValueError, match="outside"):
        imagenet.group_of(1000)


def test_class_groups_reject_a_gap(monkeypatch):
    monkeypatch.setitem(imagenet.CLASS_GROUPS, "dogs", ((151, 268),))  # drops 268
    with pytest.raises(ValueError, match="exactly once"):
        imagenet.class_groups()


def test_search_by_name_and_by_index():
    assert imagenet.search_classes("Golden Retriever") == [(207, "golden retriever")]
    retrievers = imagenet.search_classes("retriever")
    assert [i for i, _ in retrievers] == [205, 206, 207, 208, 209]
    assert imagenet.search_classes("310") == [(310, "ant")]
    assert imagenet.search_classes(309) == [(309, "bee")]
    assert imagenet.search_classes("  ") == []
    assert imagenet.search_classes("5000") == []
    assert imagenet.search_classes("zzz-no-such-class") == []


def test_search_widget_updates_on_typing():
    box = imagenet.ClassSearch(max_shown=3)
    assert box.matches == [] and "Type part" in box.results.value
    box.query.value = "retriever"
    assert len(box.matches) == 5
    assert "5 matches" in box.results.value
    assert "golden retriever" in box.results.value
    assert "... and 2 more" in box.results.value
    box.query.value = "nothing like this"
    assert box.matches == [] and "No class matches" in box.results.value
    box.query.value = "ant"
    assert (310, "ant") in box.matches


def test_search_widget_escapes_html():
    box = imagenet.ClassSearch(names=["<b>x</b>", "y"], value="<b>")
    assert box.matches == [(0, "<b>x</b>")]
    assert "&lt;b&gt;x&lt;/b&gt;" in box.results.value


def test_sample_photo_is_found_offline():
    path = imagenet.sample_photo_path()
    assert path.name == "grace_hopper.jpg" and path.is_file()
    assert imagenet.load_photo(path).mode == "RGB"


def test_preprocess_and_normalise_follow_the_backbone():
    image = Image.new("RGB", (300, 200), (255, 0, 128))
    tensor = imagenet.preprocess(image, "efficientnet_lite0")
    assert tensor.shape == (3, 224, 224)
    # mean = std = 0.5 maps [0, 1] to [-1, 1]
    assert torch.allclose(tensor[:, 0, 0], torch.tensor([1.0, -1.0, 128 / 255 * 2 - 1]), atol=1e-3)
    pixels = torch.rand(2, 3, 4, 4)
    spec = models.backbone_spec("resnet18")
    normalised = imagenet.normalise(pixels, spec.mean, spec.std)
    assert torch.allclose(normalised[:, 1] * spec.std[1] + spec.mean[1], pixels[:, 1])


def test_unnormalised_images_undo_the_dataset_normalisation(tiny_dataset):
    val = data.image_datasets(tiny_dataset, size=32, augment=False)["val"]
    images = imagenet.unnormalised_images(val)
    assert images.shape == (len(val), 3, 32, 32)
    assert images.min() >= -1e-5 and images.max() <= 1 + 1e-5
    assert torch.allclose(imagenet.normalise(images[0], val.mean, val.std), val[0][0], atol=1e-5)


def test_plots_draw_what_they_say():
    ax = imagenet.plot_class_groups()
    assert len(ax.patches) == len(imagenet.CLASS_GROUPS)
    image = Image.new("RGB", (320, 240), (10, 200, 30))
    axes = imagenet.plot_preprocessing(image, "efficientnet_lite0")
    assert axes[2].get_title() == "centre crop 224x224"
    images = torch.zeros(3, 3, 8, 8)
    probabilities = torch.tensor([[0.5, 0.2, 0.1]] * 3)
    indices = torch.tensor([[309, 310, 0]] * 3)
    fig = imagenet.plot_top_k(images, probabilities, indices, (0.5,) * 3, (0.5,) * 3, columns=2)
    bar_axes = [ax for ax in fig.axes if ax.patches]
    assert len(bar_axes) == 3
    assert [t.get_text() for t in bar_axes[0].get_yticklabels()] == [
        "bee (309)",
        "ant (310)",
        "tench (0)",
    ]
    plt.close("all")


class FixedLogits(nn.Module):
    """A stand-in classifier: the logits depend only on the mean input value."""

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        logits = torch.zeros(len(images), 1000)
        brightness = images.mean(dim=(1, 2, 3))
        logits[:, models.BEE_CLASS] = brightness
        logits[:, models.ANT_CLASS] = -brightness
        return logits


def test_top_k_returns_sorted_probabilities():
    model = FixedLogits()
    probabilities, indices = imagenet.top_k(model, torch.ones(2, 3, 4, 4), k=3)
    assert indices[:, 0].tolist() == [models.BEE_CLASS] * 2
    assert torch.all(probabilities[:, :-1] >= probabilities[:, 1:])


def test_ant_bee_from_logits_compares_only_ant_and_bee():
    logits = torch.zeros(3, 1000)
    logits[:, 0] = 100  # a distractor class: must be ignored
    logits[0, models.ANT_CLASS] = 2
    logits[1, models.BEE_CLASS] = 2
    logits[2, models.ANT_CLASS], logits[2, models.BEE_CLASS] = 1, 5
    assert imagenet.ant_bee_from_logits(logits).tolist() == [0, 1, 1]
    confidence = imagenet.ant_bee_confidence(logits)
    assert torch.allclose(confidence.sum(dim=1), torch.ones(3))
    labels = torch.tensor([0, 0, 0])  # images 1 and 2 are mistakes; image 2 the surer one
    index, sure = imagenet.confidently_wrong(logits, labels)
    assert index == 2 and sure == pytest.approx(torch.sigmoid(torch.tensor(4.0)).item())
    assert imagenet.confidently_wrong(logits, torch.tensor([0, 1, 1])) is None


def test_compare_normalisations_measures_each_setting():
    model = FixedLogits()
    images = torch.cat([torch.full((2, 3, 4, 4), 0.9), torch.full((2, 3, 4, 4), 0.1)])
    labels = torch.tensor([1, 1, 0, 0])  # bright = bees
    settings = {"centred": ((0.5,) * 3, (0.5,) * 3), "raw": ((0.0,) * 3, (1.0,) * 3)}
    report, logits = imagenet.compare_normalisations(model, images, labels, settings)
    assert report["centred"] == {"ant/bee accuracy": 1.0, "same top-1 class": 1.0}
    assert report["raw"]["ant/bee accuracy"] == 0.5  # all inputs positive: all called bees
    assert logits["raw"].shape == (4, 1000)
    table = imagenet.format_report(report)
    assert "centred" in table and "100.0%" in table and "50.0%" in table


def test_default_backbone_sees_insects_in_the_val_photos(real_data):
    """The notebook's claim: ImageNet's own head tells ants from bees well, out of the box."""
    val = data.image_datasets(real_data, augment=False)["val"]
    subset = list(range(0, len(val), 10))
    images = torch.stack([val[i][0] for i in subset])
    labels = torch.tensor([val.targets[i] for i in subset])
    logits = imagenet.logits_of(models.load_backbone(), images)
    accuracy = (imagenet.ant_bee_from_logits(logits) == labels).float().mean().item()
    assert accuracy >= 0.85


def test_top_k_bars_say_what_they_measure():
    images = torch.zeros(1, 3, 8, 8)
    probabilities = torch.tensor([[0.7, 0.2, 0.1]])
    indices = torch.tensor([[309, 310, 0]])
    fig = imagenet.plot_top_k(images, probabilities, indices, (0.5,) * 3, (0.5,) * 3, columns=1)
    (bars_ax,) = [ax for ax in fig.axes if ax.patches]
    assert bars_ax.get_xlabel().startswith("probability")
    assert [t.get_text() for t in bars_ax.texts] == ["70%", "20%", "10%"]
    plt.close(fig)


def test_notebook_01_opens_photos_the_one_way_the_course_does(tmp_path):
    """imagenet.load_photo is data.load_photo: a phone photo with an EXIF rotation comes
    upright (a bare convert("RGB") would leave it on its side)."""
    from PIL import Image

    from helpers import data

    assert imagenet.load_photo is data.load_photo
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90 degrees to show upright
    Image.new("RGB", (40, 20), (200, 50, 50)).save(tmp_path / "phone.jpg", exif=exif)
    assert imagenet.load_photo(tmp_path / "phone.jpg").size == (20, 40)


def test_error_history_labels_sit_above_the_human_line_in_safe_colours():
    import matplotlib.pyplot as plt

    from helpers.viz import OKABE_ITO

    ax = imagenet.plot_error_history()
    human = next(line for line in ax.get_lines() if line.get_linestyle() == "--")
    assert human.get_color() == OKABE_ITO["reddish purple"]  # not red beside orange dots
    labels = [text for text in ax.texts if "%" in text.get_text()]
    assert labels and all(t.get_zorder() > human.get_zorder() for t in labels)
    assert all(t.get_bbox_patch().get_facecolor()[:3] == (1.0, 1.0, 1.0) for t in labels)
    plt.close(ax.figure)
