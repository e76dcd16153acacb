"""The from-scratch landmark blocks, FLOP counting, the metadata landscape and the picker."""

from __future__ import annotations

import gc
import weakref

import numpy as np
import pytest
import torch
import torchvision
from torch import nn

from helpers import architectures as arch
from helpers.freezing import count_parameters


def _params(module: nn.Module) -> int:
    return count_parameters(module)[1]


def test_lenet5_shapes_and_parameter_count():
    model = arch.LeNet5()
    assert model(torch.zeros(2, 1, 32, 32)).shape == (2, 10)
    assert _params(model) == 61_706
    assert arch.LeNet5(num_classes=5, in_channels=3)(torch.zeros(1, 3, 32, 32)).shape == (1, 5)


def test_trace_shapes_follows_the_forward_pass():
    trace = dict(arch.trace_shapes(arch.LeNet5(), torch.zeros(1, 1, 32, 32), depth=2))
    assert trace["input"] == (1, 1, 32, 32)
    assert trace["features.2"] == (1, 6, 14, 14)
    assert trace["features.5"] == (1, 16, 5, 5)
    assert trace["classifier.0"] == (1, 400)
    assert trace["output"] == (1, 10)


def test_residual_block_keeps_shape_and_zero_init_is_identity():
    torch.manual_seed(0)
    x = torch.relu(torch.randn(2, 8, 6, 6))
    block = arch.ResidualBlock(8, zero_init=True).train()
    assert torch.equal(block(x), x)
    plain = arch.ResidualBlock(8, skip=False).eval()
    residual = arch.ResidualBlock(8).eval()
    residual.load_state_dict(plain.state_dict())
    assert residual(x).shape == x.shape
    # Same weights: the skip makes the output far closer to the input.
    assert (residual(x) - x).norm() < 0.5 * (plain(x) - x).norm()


def test_skips_carry_gradients_to_the_first_layer():
    torch.manual_seed(0)
    x = torch.randn(2, 4, 8, 8)
    torch.manual_seed(1)
    with_skips = arch.conv_gradient_norms(arch.DeepStack(10, channels=4, skip=True), x)
    torch.manual_seed(1)
    without = arch.conv_gradient_norms(arch.DeepStack(10, channels=4, skip=False), x)
    assert len(with_skips) == len(without) == 20
    assert with_skips[0] > 1e3 * without[0]


def test_inception_and_dense_blocks_concatenate_channels():
    x = torch.zeros(2, 16, 8, 8)
    inception = arch.InceptionBlock(16, c1=4, c3_reduce=3, c3=5, c5_reduce=2, c5=6, pool_proj=7)
    assert inception(x).shape == (2, 4 + 5 + 6 + 7, 8, 8)
    dense = arch.DenseBlock(16, growth_rate=4, num_layers=3)
    out = dense(torch.randn(2, 16, 8, 8))
    assert out.shape == (2, 16 + 3 * 4, 8, 8)


def test_dense_block_passes_its_input_through():
    x = torch.randn(1, 5, 4, 4)
    assert torch.equal(arch.DenseBlock(5, 2, 2)(x)[:, :5], x)


def test_depthwise_separable_counts_match_the_flop_counter():
    layer = arch.DepthwiseSeparableConv(8, 16)
    assert layer(torch.zeros(1, 8, 10, 10)).shape == (1, 16, 10, 10)
    by_hand = arch.conv_multiply_adds(8, 8, 3, 10, 10, groups=8) + arch.conv_multiply_adds(
        8, 16, 1, 10, 10
    )
    assert by_hand == 8 * 100 * 9 + 16 * 100 * 8
    assert arch.count_flops(layer, (1, 8, 10, 10)) == 2 * by_hand
    standard = nn.Conv2d(8, 16, 3, padding=1, bias=False)
    assert arch.count_flops(standard, (1, 8, 10, 10)) == 2 * arch.conv_multiply_adds(
        8, 16, 3, 10, 10
    )


def test_tiny_unet_returns_a_map_the_size_of_its_input():
    model = arch.TinyUNet(in_channels=3, num_classes=4, width=4)
    assert model(torch.zeros(2, 3, 16, 24)).shape == (2, 4, 16, 24)
    trace = dict(arch.trace_shapes(model, torch.zeros(1, 3, 16, 16)))
    assert trace["bottleneck"] == (1, 16, 4, 4)
    assert trace["up2"] == (1, 8, 8, 8)
    with pytest.raises(ValueError, match="divisible by 4"):
        model(torch.zeros(1, 3, 10, 12))


def test_landscape_equals_the_weights_metadata():
    cards = arch.landscape()
    names = torchvision.models.list_models(module=torchvision.models)
    assert sorted(c.name for c in cards) == sorted(names)
    assert [c.gflops for c in cards] == sorted(c.gflops for c in cards)
    by_name = {c.name: c for c in cards}
    meta = torchvision.models.ResNet18_Weights.IMAGENET1K_V1.meta
    r18 = by_name["resnet18"]
    assert (r18.params, r18.gflops, r18.acc1) == (
        meta["num_params"],
        meta["_ops"],
        meta["_metrics"]["ImageNet-1K"]["acc@1"],
    )
    assert r18.weights == "ResNet18_Weights.IMAGENET1K_V1"
    for card in cards:  # every row, against the metadata read afresh
        meta = torchvision.models.get_model_weights(card.name).DEFAULT.meta
        assert card.params == meta["num_params"]
        assert card.gflops == meta["_ops"]
        assert card.acc1 == meta["_metrics"]["ImageNet-1K"]["acc@1"]
    assert by_name["inception_v3"].crop_size == 299
    assert "resnet18" in arch.format_landscape(cards)


def test_pareto_front_keeps_only_undominated_models():
    card = arch.ModelCard
    cards = [
        card("a", "w", 1, 1.0, 70.0, 224),
        card("b", "w", 1, 2.0, 69.0, 224),  # dominated by a
        card("c", "w", 1, 3.0, 75.0, 224),
    ]
    assert [c.name for c in arch.pareto_front(cards)] == ["a", "c"]


def test_family_groups_model_names():
    assert arch.family("resnet18") == "resnet"
    assert arch.family("wide_resnet50_2") == "wide_resnet"
    assert arch.family("efficientnet_b0") == "efficientnet"
    assert arch.family("efficientnet_v2_s") == "efficientnet_v2"
    assert arch.family("vgg11_bn") == "vgg"
    assert arch.family("regnet_y_400mf") == "regnet"


def test_torchvision_gflops_count_multiply_adds():
    model = torchvision.models.resnet18(weights=None)
    measured = arch.count_flops(model) / 1e9
    assert measured / arch.model_card("resnet18").gflops == pytest.approx(2.0, rel=0.01)


def test_head_table_from_the_models():
    model = torchvision.models.alexnet(weights=None)
    info = arch.head_info("alexnet", model)
    assert (info.path, info.in_features, info.out_features) == ("classifier.6", 4096, 1000)
    assert "classifier.6" in arch.format_heads([info])


def test_picker_builds_lazily_and_summarises():
    built = []

    def builder(name):
        built.append(name)
        return torchvision.models.get_model(name, weights=None)

    picker = arch.ArchitecturePicker(["resnet18", "mobilenet_v3_small"], "resnet18", builder)
    assert built == ["resnet18"]
    assert "resnet18: 11,689,512 parameters" in picker.summary
    assert "head: fc = Linear(512 -> 1000)" in picker.summary
    picker.value = "mobilenet_v3_small"
    assert built == ["resnet18", "mobilenet_v3_small"]
    assert "head: classifier.3 = Linear(1024 -> 1000)" in picker.summary
    assert "(1, 1000)" in picker.summary
    picker.value = "resnet18"
    assert built == ["resnet18", "mobilenet_v3_small"]  # the summary was kept: not rebuilt
    assert "head: fc = Linear(512 -> 1000)" in picker.summary


def test_picker_keeps_one_model_in_memory_however_many_are_toured():
    made = []

    def builder(name):
        model = torchvision.models.get_model(name, weights=None)
        made.append(weakref.ref(model))
        return model

    names = ["resnet18", "mobilenet_v3_small", "squeezenet1_0", "shufflenet_v2_x0_5"]
    picker = arch.ArchitecturePicker(names, "resnet18", builder)
    for name in names[1:]:
        picker.value = name
    gc.collect()
    assert [ref() is not None for ref in made] == [False, False, False, True]
    assert picker.model("shufflenet_v2_x0_5") is made[-1]()


def test_build_course_backbone_without_weights():
    model = arch.build("efficientnet_lite0")
    assert arch.head_info("efficientnet_lite0", model).in_features == 1280


def test_plots_draw_and_reject_bad_filters():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = arch.plot_filters(torch.randn(8, 3, 3, 3), columns=4)
    assert len(fig.axes) == 8
    with pytest.raises(ValueError, match="RGB filters"):
        arch.plot_filters(torch.randn(8, 1, 3, 3))
    acts = arch.capture_activations(arch.LeNet5(), torch.zeros(1, 1, 32, 32), ["features.0"])
    assert acts["features.0"].shape == (1, 6, 28, 28)
    fig2 = arch.plot_feature_maps(acts, channels=3)
    assert len(fig2.axes) == 3
    plt.close("all")


# notebook 02's tour
NOTEBOOK_02_TOUR = (
    "alexnet",
    "vgg16",
    "googlenet",
    "resnet18",
    "resnet50",
    "densenet121",
    "mobilenet_v3_small",
    "efficientnet_b0",
    "convnext_tiny",
    "vit_b_16",
)


@pytest.fixture(scope="module")
def landscape_plot():
    """Notebook 02's landscape: every torchvision classifier, its tour's models labelled."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cards = arch.landscape()
    ax = arch.plot_landscape(cards, label=NOTEBOOK_02_TOUR)
    ax.figure.canvas.draw()
    yield cards, ax
    plt.close(ax.figure)


def _label_geometry(ax):
    """Each label's text box (without its leader), its point and its leader line, in pixels."""
    from matplotlib.text import Text

    renderer = ax.figure.canvas.get_renderer()
    labels = []
    for text in ax.texts:
        point = ax.transData.transform(text.xy)
        leader = None
        if text.arrow_patch is not None and text.arrow_patch.get_visible():
            arrow = text.arrow_patch
            leader = arrow.get_path().transformed(arrow.get_transform())
        labels.append((text.get_text(), Text.get_window_extent(text, renderer), point, leader))
    return labels


def _distance(point, box) -> float:
    """Pixels from a point to the nearest point of a box (0 inside it)."""
    dx = max(box.x0 - point[0], 0, point[0] - box.x1)
    dy = max(box.y0 - point[1], 0, point[1] - box.y1)
    return float(np.hypot(dx, dy))


def test_landscape_plot_labels_the_front_without_overlaps(landscape_plot):
    import itertools

    from matplotlib.colors import to_hex

    from helpers.viz import OKABE_ITO

    cards, ax = landscape_plot
    labels = {text.get_text() for text in ax.texts}
    assert labels == {c.name for c in arch.pareto_front(cards)} | set(NOTEBOOK_02_TOUR)
    boxes = [box for _, box, _, _ in _label_geometry(ax)]
    assert not any(a.overlaps(b) for a, b in itertools.combinations(boxes, 2))
    frame = ax.get_window_extent()
    assert all(frame.x0 <= b.x0 and b.x1 <= frame.x1 and frame.y0 <= b.y0 and b.y1 <= frame.y1
               for b in boxes)  # fmt: skip
    # a few groups in colour-blind-safe colours, each with its own marker, not 20 pastel pairs
    legend = ax.get_legend()
    assert len(legend.get_texts()) <= 7
    assert not any(b.overlaps(legend.get_window_extent()) for b in boxes)
    safe = {to_hex(colour) for colour in OKABE_ITO.values()}
    colours = {to_hex(c.get_facecolor()[0][:3]) for c in ax.collections if len(c.get_offsets())}
    assert colours <= safe, colours - safe
    markers = [
        tuple(c.get_paths()[0].vertices.round(3).flatten())
        for c in ax.collections
        if len(c.get_offsets())
    ]
    assert len(set(markers)) == len(markers)  # no two groups share a marker shape


def test_landscape_labels_sit_nearer_their_own_point_than_any_other(landscape_plot):
    # A label read as the neighbouring model's (regnet_y_1_6gf level with a regnet_x square)
    # names the wrong point: its own point must be the nearest of all the plotted models.
    cards, ax = landscape_plot
    points = {c.name: ax.transData.transform((c.gflops, c.acc1)) for c in cards}
    misread = []
    for name, box, _, _ in _label_geometry(ax):
        own = _distance(points[name], box)
        nearer = [o for o, p in points.items() if o != name and _distance(p, box) <= own]
        if nearer:
            misread.append(f"{name} ({own:.1f} px) is nearer {nearer}")
    assert not misread


def test_landscape_leader_lines_cross_no_label(landscape_plot):
    _, ax = landscape_plot
    labels = _label_geometry(ax)
    crossings = [
        (name, other)
        for name, _, _, leader in labels
        if leader is not None
        for other, box, _, _ in labels
        if other != name and leader.intersects_bbox(box, filled=True)
    ]
    assert not crossings


def test_landscape_labels_in_a_crowd_keep_to_their_points_by_nearness_or_a_leader():
    # Eight models packed into a few pixels: not every label can sit nearest its own point, so
    # those that cannot get a leader line, and no leader may cross another label.
    import itertools

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rng = np.random.default_rng(0)
    crowd = [
        arch.ModelCard(f"model_{i}", "w", 5_000_000, float(np.exp(g)), float(a), 224)
        for i, (g, a) in enumerate(zip(rng.uniform(0, 0.3, 8), rng.uniform(70, 71, 8), strict=True))
    ]
    ends = [arch.ModelCard("far_a", "w", 5_000_000, 0.01, 50.0, 224),
            arch.ModelCard("far_b", "w", 5_000_000, 1000.0, 90.0, 224)]  # fmt: skip
    ax = arch.plot_landscape(crowd + ends, label=[c.name for c in crowd])
    ax.figure.canvas.draw()
    points = {c.name: ax.transData.transform((c.gflops, c.acc1)) for c in crowd + ends}
    labels = _label_geometry(ax)
    assert {name for name, *_ in labels} == {c.name for c in crowd + ends}
    for name, box, _, leader in labels:
        own = _distance(points[name], box)
        nearest = all(_distance(p, box) > own for other, p in points.items() if other != name)
        assert nearest or leader is not None, name
    assert any(leader is not None for *_, leader in labels)
    boxes = [box for _, box, _, _ in labels]
    assert not any(a.overlaps(b) for a, b in itertools.combinations(boxes, 2))
    assert not [(name, other) for name, _, _, leader in labels if leader is not None
                for other, box, _, _ in labels
                if other != name and leader.intersects_bbox(box, filled=True)]  # fmt: skip
    plt.close(ax.figure)


def test_picker_writes_into_its_widget_not_the_cell(capsys):
    picker = arch.ArchitecturePicker(["resnet18"], "resnet18")
    assert capsys.readouterr().out == ""
    outputs = picker.output.outputs
    assert len(outputs) == 1 and outputs[0]["text"] == picker.summary + "\n"
