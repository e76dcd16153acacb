"""helpers.comparison: balanced nested subsets, the digits images, and the figures."""

from __future__ import annotations

from collections import Counter

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from helpers import comparison, features, recipes, training

TARGETS = [0] * 40 + [1] * 20 + [2] * 10


def test_balanced_subset_keeps_the_class_proportions():
    chosen = comparison.balanced_subset(TARGETS, 0.5, seed=0)
    counts = Counter(np.asarray(TARGETS)[chosen].tolist())
    assert counts == {0: 20, 1: 10, 2: 5}
    assert list(chosen) == sorted(set(chosen.tolist()))


def test_balanced_subset_keeps_every_class_at_tiny_fractions():
    counts = Counter(np.asarray(TARGETS)[comparison.balanced_subset(TARGETS, 0.01)].tolist())
    assert counts == {0: 1, 1: 1, 2: 1}
    counts = Counter(
        np.asarray(TARGETS)[comparison.balanced_subset(TARGETS, 0.01, min_per_class=3)].tolist()
    )
    assert counts == {0: 3, 1: 3, 2: 3}


def test_balanced_subsets_are_seeded_and_nested():
    small = set(comparison.balanced_subset(TARGETS, 0.1, seed=3).tolist())
    large = set(comparison.balanced_subset(TARGETS, 0.5, seed=3).tolist())
    assert small < large
    assert np.array_equal(
        comparison.balanced_subset(TARGETS, 0.5, seed=3),
        comparison.balanced_subset(TARGETS, 0.5, seed=3),
    )
    assert not np.array_equal(
        comparison.balanced_subset(TARGETS, 0.5, seed=3),
        comparison.balanced_subset(TARGETS, 0.5, seed=4),
    )
    assert len(comparison.balanced_subset(TARGETS, 1.0)) == len(TARGETS)


@pytest.mark.parametrize("fraction", [0, -0.1, 1.5])
def test_balanced_subset_rejects_bad_fractions(fraction):
    with pytest.raises(ValueError, match="fraction"):
        comparison.balanced_subset(TARGETS, fraction)


@pytest.fixture(scope="module")
def digits():
    return comparison.digits_datasets(size=32, val_per_class=20)


def test_digits_split_is_balanced_and_disjoint(digits):
    train, val = digits["train"], digits["val"]
    assert len(train) + len(val) == 1797
    assert Counter(val.targets) == dict.fromkeys(range(10), 20)
    assert train.classes == [str(d) for d in range(10)]
    assert train.fingerprint != val.fingerprint


def test_digits_are_backbone_ready_images(digits):
    image, label = digits["train"][0]
    assert image.shape == (3, 32, 32) and image.dtype == torch.float32
    assert torch.equal(image[0], image[1]) and torch.equal(image[1], image[2])  # grey
    assert image.min() >= -1.0 and image.max() <= 1.0  # mean = std = 0.5 for Lite0
    assert image.min() == -1.0  # the background is black
    assert isinstance(label, int)


def test_digits_can_be_cached_and_fingerprints_are_stable(digits):
    again = comparison.digits_datasets(size=32, val_per_class=20)
    assert again["train"].fingerprint == digits["train"].fingerprint
    key = features.cache_key("efficientnet_lite0", digits["train"])
    bigger = features.cache_key("efficientnet_lite0", comparison.digits_datasets(size=48)["train"])
    assert key["data"] == digits["train"].fingerprint
    assert key["transform"] != bigger["transform"]


def result(name, accuracy, seconds, epochs, params):
    return comparison.StrategyResult(name, accuracy, seconds, epochs, params)


RESULTS = [
    result("zero-shot", 0.97, 0.0, 0, 0),
    result("linear probe", 0.95, 1.5, 1, 2562),
    result("fine-tune", 0.93, 60.0, 2, 4_000_000),
]


def test_comparison_table_lists_every_strategy():
    table = comparison.comparison_markdown(RESULTS)
    lines = table.splitlines()
    assert len(lines) == 2 + len(RESULTS)
    assert "| fine-tune | 0.930 | 60.0 | 2 | 30 | 4,000,000 |" in lines[-1]
    assert "| zero-shot | 0.970 | 0.0 | 0 | - | 0 |" in lines[2]


def test_plots_draw_what_they_are_given():
    fig = comparison.plot_comparison(RESULTS, chance=0.5)
    assert len(fig.axes) == 3
    assert [round(b.get_width(), 2) for b in fig.axes[0].patches] == [0.97, 0.95, 0.93]
    plt.close(fig)
    ax = comparison.plot_learning_curves(
        {"probe": {5: 0.8, 50: 0.9}, "fine-tune": {5: 0.6, 50: 0.95}}, total=100, chance=0.5
    )
    assert [line.get_label() for line in ax.get_lines()] == [
        "probe",
        "fine-tune",
        "majority class (0.500)",
    ]
    plt.close(ax.figure)
    cell = comparison.MatrixCell("ants", {"linear probe": 0.93, "fine-tune": 0.925}, noise=0.01)
    fig = comparison.plot_decision_matrix({("small", "similar"): cell})
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert any("-> linear probe" in t for t in texts) and any("-> fine-tune" in t for t in texts)
    assert "measured best: tie: linear probe / fine-tune -> agrees with the advice" in texts
    assert texts.count("(not measured)") == 3
    plt.close(fig)


def test_matrix_cells_call_ties_and_check_the_advice():
    cell = comparison.MatrixCell(
        "digits", {"linear probe": 0.90, "fine-tune (3 seeds)": 0.95}, 0.01
    )
    assert cell.leaders() == ["fine-tune (3 seeds)"]
    assert cell.verdict(("fine-tune",)).endswith("agrees with the advice")
    assert cell.verdict(("linear probe",)).endswith("does not hold here")
    close = comparison.MatrixCell("x", {"a": 0.900, "b": 0.905, "c": 0.80}, noise=0.0065)
    assert close.leaders() == ["b", "a"]
    assert close.verdict(("c",)) == "measured best: tie: b / a -> the advice does not hold here"
    with_zero_shot = comparison.MatrixCell(
        "ants", {"zero-shot": 0.97, "linear probe": 0.90, "fine-tune": 0.95}, noise=0.01
    )
    assert with_zero_shot.verdict(("fine-tune",)) == (
        "measured best: zero-shot (no training)\n"
        "among trained strategies: fine-tune -> agrees with the advice"
    )


def test_epochs_for_guarantees_a_minimum_of_steps():
    assert comparison.epochs_for(245, 16, epochs=2, min_steps=12) == 2  # 16 steps per epoch
    assert comparison.epochs_for(12, 16, epochs=2, min_steps=12) == 12  # 1 step per epoch
    assert comparison.epochs_for(61, 16, epochs=2, min_steps=12) == 3  # 4 steps per epoch
    assert comparison.epochs_for(0, 16, epochs=1) == 1


def test_train_on_subset_trains_on_the_subset_only(monkeypatch):
    seen = {}

    def fake_finetune(loaders, **kwargs):
        seen.update(kwargs, labels=[y for _, ys in loaders["train"] for y in ys.tolist()])
        model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.LazyLinear(10))
        model(torch.zeros(1, 3, 32, 32))
        return model, training.History()

    monkeypatch.setattr(recipes, "course_finetune", fake_finetune)
    datasets = comparison.digits_datasets(size=32, val_per_class=2)
    indices = comparison.balanced_subset(datasets["train"].targets, 0.01)
    result = comparison.train_on_subset(
        datasets["train"], datasets["val"], indices, num_classes=10, epochs=1, min_steps=6
    )
    assert sorted(seen["labels"]) == sorted(2 * list(range(10)))  # 2 per digit, nothing else
    assert seen["frozen_groups"] == () and seen["num_classes"] == 10
    assert "val" not in seen  # validated once at the end, not every epoch
    assert seen["epochs"] == 3  # 20 images = 2 steps per epoch; 6 steps need 3 epochs
    assert result["images"] == 20 and result["epochs"] == 3
    assert 0.0 <= result["accuracy"] <= 1.0 and result["seconds"] >= 0


def visible_tick_labels(ax):
    """The x tick labels matplotlib actually draws: non-empty and inside the axis limits."""
    ax.figure.canvas.draw()
    low, high = sorted(ax.get_xlim())
    ticks = list(ax.xaxis.get_major_ticks()) + list(ax.xaxis.get_minor_ticks())
    return [
        tick.label1
        for tick in ticks
        if tick.label1.get_visible() and tick.label1.get_text() and low <= tick.get_loc() <= high
    ]


def test_comparison_bars_write_zero_as_zero_and_ticks_do_not_collide():
    fig = comparison.plot_comparison(RESULTS, chance=0.5)
    _, ax_time, ax_params = fig.axes
    for ax in (ax_time, ax_params):
        assert ax.get_xscale() == "log"
        labels = [t.get_text().strip() for t in ax.texts]
        assert labels[0] == "0"  # zero-shot: no time, no trainable parameter
        assert "1" not in labels  # the old max(value, 1) drew a zero as 1
        low = ax.get_xlim()[0]
        assert ax.patches[0].get_width() <= low  # no bar for a zero
        labels = visible_tick_labels(ax)
        assert len(labels) >= 2
        boxes = [label.get_window_extent() for label in labels]
        for i, first in enumerate(boxes):
            for second in boxes[i + 1 :]:
                assert not first.overlaps(second), [label.get_text() for label in labels]
    assert [t.get_text().strip() for t in ax_params.texts][1:] == ["2,562", "4M"]


def test_comparison_uses_colour_blind_safe_colours():
    from matplotlib.colors import to_hex

    fig = comparison.plot_comparison(RESULTS)
    used = {to_hex(bar.get_facecolor()) for bar in fig.axes[0].patches}
    assert used <= {c.lower() for c in comparison.STRATEGY_COLOURS}
    assert len(used) == len(RESULTS)


def test_learning_curve_legend_entries_are_unique_and_look_different():
    ax = comparison.plot_learning_curves(
        {"probe": {5: 0.8, 50: 0.9}, "fine-tune": {5: 0.6, 50: 0.95}},
        references={"probe, 224 px": {5: 0.85, 50: 0.92}},
        levels={"zero-shot, 224 px": 0.97},
        chance=0.5,
    )
    handles, labels = ax.get_legend_handles_labels()
    assert labels == [
        "probe",
        "fine-tune",
        "probe, 224 px",
        "zero-shot, 224 px",
        "majority class (0.500)",
    ]
    looks = {(h.get_color(), str(h.get_linestyle()), h.get_marker()) for h in handles}
    assert len(looks) == len(handles)  # no two legend entries drawn alike


def test_history_result_takes_the_final_epoch_not_the_best():
    records = [
        training.EpochRecord(1, 1.0, 0.5, 1.0, 0.9, seconds=2.0, lr=1e-3),
        training.EpochRecord(2, 0.8, 0.6, 1.0, 0.8, seconds=3.0, lr=1e-3),
    ]
    history = training.History(records=records, best_epoch=1)
    row = comparison.history_result("fine-tune", history, 1234, "note")
    assert (row.val_accuracy, row.wall_seconds, row.epochs) == (0.8, 5.0, 2)
    assert row.seconds_per_epoch == 2.5 and row.trainable_parameters == 1234


def test_layer_probe_plot_gives_each_baseline_its_data_sets_colour():
    probes = {
        "ants": {"blocks.3": 0.8, "final": 0.9},
        "digits": {"blocks.3": 0.95, "final": 0.93},
    }
    ax = comparison.plot_layer_probes(probes, baselines={"digits": 0.94})
    handles, labels = ax.get_legend_handles_labels()
    assert labels == ["ants", "digits", "digits: raw-pixel probe"]
    assert handles[1].get_color() == handles[2].get_color() != handles[0].get_color()
    assert list(handles[1].get_ydata()) == [0.95, 0.93]


def test_digit_examples_show_one_image_per_class(digits):
    fig = comparison.show_digit_examples(digits["train"])
    assert [ax.get_title() for ax in fig.axes] == list(comparison.DIGITS_CLASSES)
