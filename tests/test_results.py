"""helpers.results and the saved study tables: fresh for today's recipe, summarised honestly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from helpers import fingerprint, results

STUDIES = ("hymenoptera",)


@pytest.mark.parametrize("name", STUDIES)
def test_saved_study_describes_todays_recipe(name):
    """Fails when the recipe changed after the table was measured: rerun seed_study.py."""
    table = results.load_study(name)
    assert table["meta"]["recipe_fingerprint"] == results.study_fingerprint(name)
    for runs in table["runs"].values():
        assert len(runs) == len(table["seeds"]) >= 3
        for run in runs:
            assert run["final"] == run["val_accuracy"][-1]
            assert run["best"] == max(run["val_accuracy"])
            assert run["final_phase"] == run["phases"][-1]


def test_the_strategy_study_has_every_strategy_of_every_cell_over_its_seeds():
    """Fails when the saved study lacks a cell or a strategy, or a run was misrecorded."""
    from helpers import comparison

    study = results.load_study("strategies")
    assert study["meta"]["complete"] and len(study["seeds"]) >= results.MIN_SEEDS
    for size, similarity in comparison.STUDY_CELLS:
        cell = study["cells"][f"{size} {similarity}"]
        assert set(comparison.STUDY_STRATEGIES[similarity]) <= set(cell["runs"])
        for strategy, runs in cell["runs"].items():
            assert len(runs) == len(study["seeds"]), strategy
            for run in runs:
                trains = strategy != comparison.IMAGENET_HEAD  # it uses no training image
                assert run["train_images"] == (cell["train_images"] if trains else 0)
                if run["epochs"]:
                    assert run["final"] == run["val_accuracy"][-1]
                    assert run["best"] == max(run["val_accuracy"])
                else:
                    assert run["final"] == run["best"]


def test_saved_studies_record_the_pinned_library_versions():
    """A study measured with other versions than requirements.txt pins is out of date too."""
    pins = dict(
        line.split("==")
        for line in (Path(__file__).resolve().parents[1] / "requirements.txt")
        .read_text()
        .splitlines()
        if "==" in line and not line.startswith("#")
    )
    for name in ("hymenoptera", "strategies"):
        libraries = results.load_study(name)["meta"]["libraries"]
        assert set(libraries) == set(fingerprint.LIBRARIES)
        for library, version in libraries.items():
            assert pins[library] == version, (name, library)


def test_a_stale_table_is_refused(tmp_path):
    table = {"meta": {"recipe_fingerprint": "0" * 16}, "runs": {}}
    (tmp_path / "old.json").write_text(json.dumps(table))
    with pytest.raises(results.StaleResultsError, match="seed_study.py old"):
        results.load_study("old", tmp_path)
    assert results.load_study("old", tmp_path, check=False) == table
    with pytest.raises(FileNotFoundError, match="seed_study.py missing"):
        results.load_study("missing", tmp_path)


def test_mean_std_and_its_format():
    assert results.mean_std([0.9, 1.0]) == pytest.approx((0.95, 0.0707107))
    assert results.mean_std([0.5]) == (0.5, 0.0)
    assert results.format_mean_std([0.9, 1.0]) == "0.950 +- 0.071 (n=2)"


def _accuracies(photos_right, val_images=153):
    return [right / val_images for right in photos_right]


def test_the_rule_calls_a_consistent_gap_of_several_photos_ahead():
    a, b = _accuracies([150, 149, 151]), _accuracies([145, 145, 146])  # gaps 5, 4, 5 photos
    verdict = results.compare("fine-tune", a, "probe", b, 153)
    assert verdict.verdict == "ahead" and verdict.winner == "fine-tune"
    assert verdict.gap == pytest.approx(14 / 3)
    assert str(verdict).startswith("verdict: fine-tune ahead of probe by 4.7 photos")
    flipped = results.compare("probe", b, "fine-tune", a, 153)  # the same verdict either way
    assert flipped.winner == "fine-tune" and str(flipped) == str(verdict)


def test_the_rule_calls_one_photo_or_a_gap_that_changes_sign_a_tie():
    one_photo = results.compare("a", _accuracies([142] * 3), "b", _accuracies([141] * 3), 153)
    assert one_photo.verdict == "tie"  # exactly one photo in every seed: not more than one
    noisy = results.compare("a", _accuracies([150, 140, 152]), "b", _accuracies([145] * 3), 153)
    assert noisy.verdict == "tie" and noisy.low < 0 < noisy.high
    assert str(noisy).startswith("verdict: tie between a and b: a - b = +2.3 photos")


def test_the_rule_cannot_say_from_one_run_or_two_seeds():
    single = results.compare("gradual", 0.95, "all at once", 0.90, 153)
    assert single.verdict == "cannot say" and "one run" in str(single)
    two = results.compare("a", [0.99, 0.99], "b", [0.5, 0.5], 153)
    assert two.verdict == "cannot say" and "2 seeds" in str(two)


def test_a_deterministic_baseline_is_paired_with_every_seed():
    verdict = results.compare("head", 0.974, "fine-tune", _accuracies([148, 147, 149]), 153)
    assert verdict.seeds == 3 and verdict.verdict in results.VERDICTS
    with pytest.raises(ValueError, match="same seeds"):
        results.compare("a", [0.9, 0.9, 0.9], "b", [0.9, 0.9], 153)


def test_leaders_are_the_best_and_those_the_rule_cannot_tell_from_it():
    runs = {
        "probe": _accuracies([140, 141, 139]),
        "fine-tune": _accuracies([148, 150, 149]),
        "head": 149 / 153,
        "scratch": _accuracies([80, 85, 90]),
    }
    assert results.leaders(runs, 153) == ["fine-tune", "head"]


def test_runs_markdown_reports_final_best_phase_and_photos():
    runs = {
        "course": [
            {"final": 0.96, "best": 0.97, "best_phase": "fine-tune", "seconds": 40},
            {"final": 0.98, "best": 0.98, "best_phase": "fine-tune", "seconds": 42},
        ]
    }
    table = results.runs_markdown(runs, val_images=100)
    row = table.splitlines()[-1]
    assert row.startswith("| course | 0.970 +- 0.014 (n=2) | 0.975 +- 0.007 (n=2) | fine-tune")
    assert row.endswith("| 2 |")  # 0.02 of 100 images = 2 photos


def test_epochs_markdown_sets_runs_side_by_side_and_leaves_a_shorter_run_blank():
    from helpers.training import EpochRecord, History

    def run(accuracies):
        return History([EpochRecord(e, 0.1, 0.9, 0.2, a, 2.0 * e, 1e-3)
                        for e, a in enumerate(accuracies, 1)])  # fmt: skip

    table = results.epochs_markdown({"long": run([0.9, 0.95, 0.97]), "short": run([0.8])})
    lines = table.splitlines()
    assert lines[0] == "| epoch | long: val accuracy | s | short: val accuracy | s |"
    assert lines[2] == "| 1 | 0.900 | 2.0 | 0.800 | 2.0 |"
    assert lines[4] == "| 3 | 0.970 | 6.0 |  |  |"
    assert len(lines) == 5
