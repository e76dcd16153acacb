"""helpers.comparison: balanced nested subsets, the digits images, and the figures."""

from __future__ import annotations

from collections import Counter

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from helpers import comparison, data, features

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


def _study(finals_by_cell):
    """A saved strategy study with the given final accuracies, {cell: {strategy: [per seed]}}."""
    cells = {}
    for cell, runs in finals_by_cell.items():
        cells[cell] = {
            "train_images": 12 if cell.startswith("small") else 244,
            "val_images": 153,
            "size_px": 224,
            "runs": {
                name: [
                    {"final": f, "best": f, "best_epoch": 3, "epochs": 4, "seconds": 10.0}
                    for f in finals
                ]
                for name, finals in runs.items()
            },
        }
    return {"seeds": [0, 1, 2], "cells": cells}


def _photos(*right):
    return [r / 153 for r in right]


SIMILAR = {
    comparison.IMAGENET_HEAD: _photos(149, 149, 149),
    comparison.LINEAR_PROBE: _photos(140, 141, 139),
    comparison.FINETUNE_RANDOM: _photos(141, 143, 139),
    comparison.FINETUNE_WARM: _photos(148, 150, 149),
    comparison.FROM_SCRATCH: _photos(80, 85, 90),
}


def test_matrix_cells_take_leaders_and_verdicts_from_the_rule():
    cells = comparison.matrix_cells(_study({"large similar": SIMILAR}))
    cell = cells["large", "similar"]
    # ImageNet's own head is a reference: compared with the best, never a leader.
    assert cell.leaders() == [comparison.FINETUNE_WARM]
    assert cell.verdict(comparison.ADVISED["large", "similar"]) == (
        "best: fine-tune, ImageNet's head -> agrees with the advice\n"
        "reference ImageNet's own head (no training; exists only when your classes are "
        "ImageNet's): ties with the best (+0.0 photos, 95% interval -2.5 to +2.5)"
    )
    assert "244 training images" in cell.title and "3 seeds" in cell.title
    probe_only = comparison.MatrixCell("x", {"linear probe": _photos(150, 150, 151),
                                             "fine-tune": _photos(140, 141, 139)}, 153)  # fmt: skip
    assert (
        probe_only.verdict(("fine-tune",)) == "best: linear probe -> the advice does not hold here"
    )


def test_a_strategy_the_rule_cannot_tell_from_the_best_is_named_as_such_not_as_a_leader():
    # Wide seeds tie with the best even when their mean is below a strategy that trails it
    # clearly: the caption must say "cannot tell", and the figure must not fill it as the best.
    cell = comparison.MatrixCell(
        "x",
        {"fine-tune": _photos(150, 150, 151), "probe": _photos(145, 145, 146),
         "from scratch": _photos(150, 120, 151), "raw-pixel probe": _photos(152, 151, 153)},
        153,
    )  # fmt: skip
    assert cell.leaders() == ["fine-tune", "from scratch"]
    lines = cell.verdict(("fine-tune",)).split("\n")
    assert (
        lines[0]
        == "best: fine-tune; the rule cannot tell from it: from scratch -> agrees with the advice"
    )
    assert lines[1].startswith(
        "reference raw-pixel probe (no pretrained network at all): ahead of the best (+1.7 photos"
    )
    fig = comparison.plot_decision_matrix({("large", "different"): cell})
    ax = fig.axes[1]
    weights = {t.get_text(): t.get_fontweight() for t in ax.get_yticklabels()}
    assert weights == {"fine-tune": "bold", "probe": "normal", "from scratch": "normal",
                       "raw-pixel probe": "normal"}  # fmt: skip
    plt.close(fig)


def test_the_tutorial_fixed_extractor_joins_the_matrix_where_it_was_measured():
    tutorial = {**SIMILAR, comparison.TUTORIAL_FIXED: _photos(140, 140, 141)}
    cells = comparison.matrix_cells(_study({"large similar": tutorial, "small similar": SIMILAR}))
    assert comparison.TUTORIAL_FIXED in cells["large", "similar"].runs
    assert comparison.TUTORIAL_FIXED not in cells["small", "similar"].runs


def test_the_decision_matrix_draws_every_seed_and_marks_the_leaders():
    cells = comparison.matrix_cells(_study({"large similar": SIMILAR}))
    fig = comparison.plot_decision_matrix(cells)
    ax = fig.axes[0]  # more data, similar
    labels = {t.get_text(): t.get_fontweight() for t in ax.get_yticklabels()}
    assert (
        labels[comparison.FINETUNE_WARM] == "bold" and labels[comparison.LINEAR_PROBE] == "normal"
    )
    seed_marks = [line for line in ax.get_lines() if line.get_gid() == "seeds"]
    assert sum(len(line.get_xdata()) for line in seed_marks) == 3 * len(SIMILAR)
    low, high = ax.get_xlim()
    assert all(low <= x <= high for line in seed_marks for x in line.get_xdata())
    panel = ax.get_figure(root=False)  # the cell's framed panel: its advice and its verdict
    assert "agrees with the advice" in " ".join(text.get_text() for text in panel.texts)
    assert sum(a.get_visible() and a.axison for a in fig.axes) == 1  # the others: not measured
    plt.close(fig)


DIFFERENT = {
    comparison.RAW_PROBE: _photos(130, 131, 129),
    comparison.LINEAR_PROBE: _photos(110, 118, 112),
    comparison.EARLIER_PROBE: _photos(128, 131, 126),
    comparison.TUTORIAL_FIXED: _photos(50, 48, 55),
    comparison.FINETUNE_RANDOM: _photos(100, 106, 98),
    comparison.FROM_SCRATCH: _photos(55, 60, 52),
}
FOUR_CELLS = {"large similar": SIMILAR, "small similar": SIMILAR,
              "large different": DIFFERENT, "small different": DIFFERENT}  # fmt: skip


def _drawn_texts(fig):
    """Every text the figure draws: visible, not empty, and no tick label outside its axis."""
    from matplotlib.text import Text

    fig.canvas.draw()
    hidden = set()
    for ax in fig.axes + [child for parent in fig.axes for child in parent.child_axes]:
        for axis in (ax.xaxis, ax.yaxis):
            low, high = sorted(axis.get_view_interval())
            for tick in axis.get_major_ticks() + axis.get_minor_ticks():
                if not low - 1e-9 <= tick.get_loc() <= high + 1e-9:
                    hidden |= {id(tick.label1), id(tick.label2)}
    return [
        text
        for text in fig.findobj(Text)
        if text.get_visible() and text.get_text().strip() and id(text) not in hidden
    ]


def _inside(inner, outer, slack=0.5) -> bool:
    return (outer.x0 - slack <= inner.x0 and inner.x1 <= outer.x1 + slack
            and outer.y0 - slack <= inner.y0 and inner.y1 <= outer.y1 + slack)  # fmt: skip


def test_the_decision_matrix_keeps_every_text_inside_its_framed_panel():
    import itertools

    fig = comparison.plot_decision_matrix(
        comparison.matrix_cells(_study(FOUR_CELLS)), title="Which strategy? (3 seeds)"
    )
    texts = _drawn_texts(fig)
    renderer = fig.canvas.get_renderer()
    boxes = {text: text.get_window_extent(renderer) for text in texts}
    assert len(fig.subfigs) == 4  # one framed panel per cell of the matrix
    for panel in fig.subfigs:
        assert panel.get_edgecolor()[3] > 0
        mine = [text for text in texts if text.get_figure(root=False) is panel]
        assert len(mine) > 15  # names, numbers, ticks, advice, verdict
        outside = [t.get_text()[:40] for t in mine if not _inside(boxes[t], panel.bbox)]
        assert not outside
    assert all(_inside(box, fig.bbox) for box in boxes.values())
    pairs = itertools.combinations(texts, 2)
    overlapping = [(a.get_text(), b.get_text()) for a, b in pairs if boxes[a].overlaps(boxes[b])]
    assert not overlapping
    plt.close(fig)


def test_the_decision_matrix_draws_each_strategy_in_one_look():
    # One rule decides a strategy's look: its dot, its name and its numbers agree.
    fig = comparison.plot_decision_matrix(comparison.matrix_cells(_study(FOUR_CELLS)))
    for ax in fig.axes:
        numbers = ax.child_axes[0].get_yticklabels()  # mean +- std, right of the cell
        dots = [line for line in ax.get_lines() if line.get_gid() != "seeds" and line.get_marker()
                not in ("None", "", None, "|")]  # fmt: skip
        for name, number, dot in zip(ax.get_yticklabels(), numbers, dots, strict=True):
            assert "+-" in number.get_text()
            assert name.get_color() == number.get_color() == dot.get_color()
            assert name.get_fontweight() == number.get_fontweight()
    plt.close(fig)


def test_the_decision_matrix_seed_ticks_sit_clear_of_their_dots():
    fig = comparison.plot_decision_matrix(comparison.matrix_cells(_study(FOUR_CELLS)))
    fig.canvas.draw()
    pixels_per_point = fig.dpi / 72
    for ax in fig.axes:
        seeds = [line for line in ax.get_lines() if line.get_gid() == "seeds"]
        dots = [line for line in ax.get_lines() if line.get_gid() != "seeds" and line.get_marker()
                not in ("None", "", None, "|")]  # fmt: skip
        for tick, dot in zip(seeds, dots, strict=True):
            tick_y = tick.get_transform().transform(tick.get_xydata())[:, 1]
            dot_y = dot.get_transform().transform(dot.get_xydata())[0, 1]
            # a diamond reaches 0.71 of its size from its centre, a tick half its length
            clearance = (0.71 * dot.get_markersize() + tick.get_markersize() / 2) * pixels_per_point
            assert (abs(tick_y - dot_y) > clearance).all()
    plt.close(fig)


def test_study_markdown_shows_final_best_and_each_seeds_best_epoch():
    table = comparison.study_markdown(_study({"large similar": SIMILAR}), "large similar")
    row = [line for line in table.splitlines() if line.startswith("| from scratch")][0]
    assert "| 0.556 +- 0.033 (n=3) |" in row and "3/4, 3/4, 3/4" in row


def test_study_verdicts_pair_the_seeds_of_both_sizes():
    study = _study({"small similar": SIMILAR, "large similar": SIMILAR})
    pairs = (("similar", comparison.FINETUNE_WARM, comparison.IMAGENET_HEAD),)
    verdicts = comparison.study_verdicts(study, pairs)
    assert [cell for cell, _ in verdicts] == ["small similar", "large similar"]
    assert all(v.verdict == "tie" and v.seeds == 3 for _, v in verdicts)


def test_study_curves_put_each_seed_at_its_number_of_images():
    study = _study({"small similar": SIMILAR, "large similar": SIMILAR})
    curves = comparison.study_curves(study, "similar", [comparison.FROM_SCRATCH])
    assert curves == {comparison.FROM_SCRATCH: {12: _photos(80, 85, 90), 244: _photos(80, 85, 90)}}


def test_epochs_for_guarantees_a_minimum_of_steps():
    assert comparison.epochs_for(245, 16, epochs=2, min_steps=12) == 2  # 16 steps per epoch
    assert comparison.epochs_for(12, 16, epochs=2, min_steps=12) == 12  # 1 step per epoch
    assert comparison.epochs_for(61, 16, epochs=2, min_steps=12) == 3  # 4 steps per epoch
    assert comparison.epochs_for(0, 16, epochs=1) == 1


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


def test_learning_curve_legend_entries_are_unique_and_look_different():
    ax = comparison.plot_learning_curves(
        {"probe": {5: 0.8, 50: 0.9}, "fine-tune": {5: 0.6, 50: 0.95}},
        references={"probe, 224 px": {5: 0.85, 50: 0.92}},
        levels={"ImageNet's own head": 0.97},
        chance=0.5,
    )
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    drawn = dict(zip(*reversed(ax.get_legend_handles_labels()), strict=True))
    handles = [getattr(drawn[label], "lines", [drawn[label]])[0] for label in labels]
    assert labels == [
        "probe",
        "fine-tune",
        "probe, 224 px",
        "ImageNet's own head",
        "majority class (0.500)",
    ]
    looks = {(h.get_color(), str(h.get_linestyle()), h.get_marker()) for h in handles}
    assert len(looks) == len(handles)  # no two legend entries drawn alike


def test_learning_curves_draw_seeds_as_error_bars_and_two_sizes_as_points():
    from matplotlib.container import ErrorbarContainer

    ax = comparison.plot_learning_curves(
        {"probe": {4: [0.6, 0.7, 0.8], 12: [0.8, 0.8, 0.8], 244: [0.9, 0.91, 0.92]},
         "fine-tune": {12: [0.7, 0.8, 0.9], 244: [0.95, 0.96, 0.97]}}
    )  # fmt: skip
    bars = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
    assert len(bars) == 2
    probe, finetune = (c.lines[0] for c in bars)
    assert probe.get_linestyle() == "-" and finetune.get_linestyle() == "None"
    segments = bars[1].lines[2][0].get_segments()  # fine-tune's vertical error bars
    assert [round(s[1][1] - s[0][1], 3) for s in segments] == [0.2, 0.02]  # +-1 std each
    plt.close(ax.figure)


def test_learning_curves_say_what_a_point_is_and_what_one_val_image_is_worth():
    seeds = {"probe": {12: [0.8, 0.85, 0.9], 244: [0.9, 0.91, 0.92]}}
    ax = comparison.plot_learning_curves(seeds, total=244, val_images=153, title="ants vs bees")
    key = ax.get_legend().get_title().get_text().split("\n")
    assert key == ["each point: mean of 3 seeds, bar: +-1 std",
                   "one val image = 0.0065 of accuracy (1/153)"]  # fmt: skip
    one_run = comparison.plot_learning_curves({"probe": {12: 0.8, 244: 0.9}})
    assert one_run.get_legend().get_title().get_text() == "each point: one run (one seed)"
    plt.close("all")


def test_learning_curves_draw_every_text_inside_the_figure_and_the_legend_off_the_points():
    ax = comparison.plot_learning_curves(
        {"probe": {5: [0.7, 0.72, 0.71], 244: [0.93, 0.94, 0.95]},
         "from scratch": {12: [0.45, 0.5, 0.55], 244: [0.53, 0.55, 0.57]}},
        total=244, chance=0.54, levels={"ImageNet's own head": 0.97}, val_images=153,
        title="ants vs bees, 224 px, final epochs",
    )  # fmt: skip
    fig = ax.figure
    renderer = fig.canvas.get_renderer()
    outside = [t.get_text() for t in _drawn_texts(fig)
               if not _inside(t.get_window_extent(renderer), fig.bbox)]  # fmt: skip
    assert not outside
    assert not ax.get_legend().get_window_extent(renderer).overlaps(ax.get_window_extent(renderer))
    plt.close(fig)


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


def test_layer_probe_plot_says_how_many_seeds_a_point_is():
    from matplotlib.collections import LineCollection

    one = {"ants": {"blocks.3": 0.8, "final": 0.9}, "digits": {"blocks.3": 0.95, "final": 0.93}}
    ax = comparison.plot_layer_probes(one, baselines={"digits": 0.94})
    assert "one run (one seed)" in ax.get_title()
    assert "dotted: the same probe on the raw pixels" in ax.get_title()
    assert (
        "each point: one run (seed 0)" in comparison.plot_layer_probes(one, seeds=[0]).get_title()
    )
    three = {"ants": {"blocks.3": [0.8, 0.82, 0.84], "final": [0.9, 0.9, 0.93]}}
    ax = comparison.plot_layer_probes(three, seeds=(0, 1, 2))
    assert "each point: mean of 3 seeds (0, 1, 2), bar: +-1 std" in ax.get_title()
    bars = [c for c in ax.collections if isinstance(c, LineCollection)]
    assert [len(c.get_segments()) for c in bars] == [2]  # one error bar per layer
    assert list(ax.get_lines()[0].get_ydata()) == pytest.approx([0.82, 0.91])
    plt.close("all")


def test_digit_examples_show_one_image_per_class(digits):
    fig = comparison.show_digit_examples(digits["train"])
    assert [ax.get_title() for ax in fig.axes] == list(data.DIGITS_CLASSES)


def test_faces_ship_with_scikit_image_and_split_by_seed():
    first, again, other = (comparison.faces_datasets(seed=s) for s in (0, 0, 1))
    assert [len(first["train"]), len(first["val"])] == [100, 100]
    assert sorted(set(first["val"].targets)) == [0, 1] and sum(first["val"].targets) == 50
    assert first["val"].fingerprint == again["val"].fingerprint  # the same seed, the same split
    assert first["val"].fingerprint != other["val"].fingerprint
    image, label = first["train"][0]
    assert image.shape == (3, comparison.FACES_SIZE, comparison.FACES_SIZE) and label in (0, 1)
    assert first["train"].pixels.shape[1:] == (25, 25)


def test_faces_data_fills_only_a_small_cell():
    faces = comparison.FacesData(seed=2)
    assert faces.val_images == 100 and faces.num_classes == 2
    assert list(faces.subset("small", seed=5)) == list(range(100))  # every training crop
    with pytest.raises(ValueError, match="only a small cell"):
        faces.subset("large", seed=0)
    assert "FacesData(seed=2): 100 training and 100 val crops" in repr(faces)


def test_faces_raw_pixel_probe_runs_on_the_crops():
    faces = comparison.FacesData(seed=0)
    run = comparison.run_strategy(faces, "small", comparison.RAW_PROBE, seed=0)
    assert run["train_images"] == 100 and 0.5 < run["final"] <= 1.0
    assert faces.features("raw pixels")[0].shape == (100, 625)
