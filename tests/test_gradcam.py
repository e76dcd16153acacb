"""helpers.viz.grad_cam: the map points at the evidence and leaves the model as it found it."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib import cbook  # noqa: E402
from PIL import Image  # noqa: E402
from torch import nn  # noqa: E402

from helpers import data, models, viz  # noqa: E402

SIZE = 32  # the hand-built detector's images are SIZE x SIZE


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def square_detector() -> nn.Sequential:
    """A CNN whose evidence is known: class 1 = 'bright, not dark', class 0 = the opposite.

    Inputs are normalised to [-1, 1] with grey at 0. Conv channel 0 fires only where the 3x3
    neighbourhood is brighter than 0.5, channel 1 only where it is darker than -0.5; the max
    pool halves the map, so Grad-CAM must upsample it.
    """
    model = nn.Sequential(
        nn.Conv2d(3, 2, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(2, 2),
    )
    with torch.no_grad():
        conv, linear = model[0], model[5]
        conv.weight.copy_(
            torch.stack([torch.full((3, 3, 3), 1 / 27), torch.full((3, 3, 3), -1 / 27)])
        )
        conv.bias.fill_(-0.5)
        linear.weight.copy_(torch.tensor([[-10.0, 10.0], [10.0, -10.0]]))
        linear.bias.zero_()
    return model.eval()


def grey_with(*squares: tuple[int, float]) -> torch.Tensor:
    """A grey (3, SIZE, SIZE) image with 6x6 squares (left column, value) at mid height."""
    image = torch.zeros(3, SIZE, SIZE)
    for left, value in squares:
        image[:, 13:19, left : left + 6] = value
    return image


def centre_x(cam: torch.Tensor) -> float:
    """The map's centre of mass along the width, in pixels."""
    column_mass = cam.sum(dim=0)
    return float((column_mass * torch.arange(len(column_mass))).sum() / column_mass.sum())


def no_hooks(model: nn.Module) -> bool:
    return all(
        not (m._forward_hooks or m._forward_pre_hooks or m._backward_hooks) for m in model.modules()
    )


def test_map_has_the_image_size_and_spans_0_to_1():
    torch.manual_seed(0)
    model = models.load_backbone("resnet18", pretrained=False)
    cam = viz.grad_cam(model, torch.randn(1, 3, 96, 128))
    assert cam.shape == (96, 128)
    assert cam.min().item() == 0.0
    assert cam.max().item() == pytest.approx(1.0)
    assert cam.std() > 0.05  # a map, not a constant


def test_map_follows_the_bright_square():
    model = square_detector()
    left = viz.grad_cam(model, grey_with((2, 1.0)))
    right = viz.grad_cam(model, grey_with((24, 1.0)))
    assert left.shape == right.shape == (SIZE, SIZE)
    assert centre_x(left) == pytest.approx(4.5, abs=2.5)  # the square spans columns 2-7
    assert centre_x(right) == pytest.approx(26.5, abs=2.5)  # and here 24-29
    assert left[16, 4] > 0.9 and left[16, 26] < 0.05


def test_target_chooses_whose_evidence_is_shown():
    model = square_detector()
    image = grey_with((2, 1.0), (24, -1.0))  # bright on the left, dark on the right
    bright, dark = viz.grad_cam(model, image, target=1), viz.grad_cam(model, image, target=0)
    assert centre_x(bright) < SIZE / 3 and centre_x(dark) > 2 * SIZE / 3
    predicted = int(model(image[None]).argmax())
    assert torch.equal(viz.grad_cam(model, image), viz.grad_cam(model, image, target=predicted))


def test_default_layer_is_the_last_feature_map_before_pooling():
    image = torch.zeros(3, 64, 64)
    assert viz.find_feature_layer(square_detector(), grey_with())[0] == "2"  # the max pool
    resnet = models.load_backbone("resnet18", pretrained=False)
    assert viz.find_feature_layer(resnet, image)[0] == "layer4"
    lite0 = models.load_backbone("efficientnet_lite0", pretrained=False)
    name, layer = viz.find_feature_layer(lite0, image)
    assert name == "bn2" and layer is lite0.bn2
    assert no_hooks(resnet) and no_hooks(lite0)


def test_a_chosen_layer_is_used():
    model = square_detector()
    image = grey_with((24, 1.0))
    after_relu = viz.grad_cam(model, image, layer=model[1])  # full resolution, no pooling
    assert after_relu.shape == (SIZE, SIZE)
    assert centre_x(after_relu) == pytest.approx(26.5, abs=2.5)


def test_frozen_model_in_train_mode_is_left_as_it_was():
    torch.manual_seed(0)
    model = models.load_backbone("resnet18", pretrained=False)
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    model.layer4.requires_grad_(True)  # partly frozen: flags must come back exactly as set
    model.train()
    model.layer1.eval()
    flags = [p.requires_grad for p in model.parameters()]
    modes = [m.training for m in model.modules()]
    running_mean = model.bn1.running_mean.clone()
    with torch.no_grad():
        cam = viz.grad_cam(model, torch.randn(3, 64, 64))
    assert cam.max().item() == pytest.approx(1.0)  # the gradient got through the frozen layers
    assert [p.requires_grad for p in model.parameters()] == flags
    assert [m.training for m in model.modules()] == modes
    assert torch.equal(model.bn1.running_mean, running_mean)  # ran in eval mode
    assert all(p.grad is None for p in model.parameters())
    assert no_hooks(model)


def test_hooks_are_removed_when_it_fails():
    model = square_detector()
    with pytest.raises(ValueError, match="target 5 is not a class index: 0..1"):
        viz.grad_cam(model, grey_with((2, 1.0)), target=5)
    with pytest.raises(ValueError, match=r"\(3, H, W\) or \(1, 3, H, W\)"):
        viz.grad_cam(model, torch.zeros(2, 3, SIZE, SIZE))
    assert no_hooks(model)
    assert all(m.training is False for m in model.modules())


def test_pretrained_model_looks_at_the_photo_not_the_grey():
    spec = models.backbone_spec("efficientnet_lite0")
    model = models.load_backbone("efficientnet_lite0")
    transform = data.val_transform(160, 160, spec.mean, spec.std)
    with Image.open(cbook.get_sample_data("grace_hopper.jpg")) as photo:
        photo = photo.convert("RGB").resize((72, 72))
    centres = []
    for left in (4, 84):
        canvas = Image.new("RGB", (160, 160), (128, 128, 128))
        canvas.paste(photo, (left, 44))
        centres.append(centre_x(viz.grad_cam(model, transform(canvas))))
    assert centres[0] < 70 < 90 < centres[1]


def test_show_grad_cam_overlays_the_map_and_marks_mistakes():
    model = square_detector()
    images = torch.stack([grey_with((2, 1.0)), grey_with((24, -1.0))])  # bright, dark
    mean = std = (0.5, 0.5, 0.5)
    fig = viz.show_grad_cam(
        model, images, torch.tensor([1, 1]), class_names=["dark", "bright"], mean=mean, std=std
    )
    confidence = torch.softmax(model(images), dim=1).max(dim=1).values
    first, second = fig.axes[:2]
    assert first.get_title() == f"{viz.RIGHT_MARK} bright ({confidence[0]:.0%})"
    assert first.title.get_color() == viz.RIGHT_COLOUR
    assert second.get_title() == f"{viz.WRONG_MARK} dark ({confidence[1]:.0%})\ntrue: bright"
    assert second.title.get_color() == viz.WRONG_COLOUR
    photo, overlay = first.get_images()
    assert photo.get_array().shape == (SIZE, SIZE, 3)
    expected = viz.grad_cam(model, images[0]).numpy()
    np.testing.assert_allclose(np.asarray(overlay.get_array()), expected, atol=1e-6)
    assert overlay.get_alpha() == pytest.approx(0.5)
    assert overlay.get_cmap().name == "inferno"  # perceptually uniform, not jet
    bar = fig.axes[-1]  # the colour bar says what the colours mean
    assert "Grad-CAM evidence" in bar.get_ylabel()
    assert [t.get_text() for t in bar.get_yticklabels()] == ["0.0", "0.5", "1.0"]
    unlabelled = viz.show_grad_cam(
        model, images, class_names=["dark", "bright"], mean=mean, std=std, columns=2
    )
    assert unlabelled.axes[1].get_title() == f"dark ({confidence[1]:.0%})"
    assert unlabelled.axes[1].title.get_color() == "black"
    assert no_hooks(model)
