"""helpers.results and the saved study tables: fresh for today's recipe, summarised honestly."""

from __future__ import annotations

import json

import pytest

from helpers import recipes, results

STUDIES = ("hymenoptera", "digits")


@pytest.mark.parametrize("name", STUDIES)
def test_saved_study_describes_todays_recipe(name):
    """Fails when the recipe changed after the table was measured: rerun seed_study.py."""
    table = results.load_study(name)
    assert table["meta"]["recipe_fingerprint"] == recipes.recipe_fingerprint()
    for runs in table["runs"].values():
        assert len(runs) == len(table["seeds"]) >= 3
        for run in runs:
            assert run["final"] == run["val_accuracy"][-1]
            assert run["best"] == max(run["val_accuracy"])
            assert run["final_phase"] == run["phases"][-1]


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


def test_verdicts_call_small_differences_ties():
    one_photo = 1 / 153
    assert results.difference_verdict("a", 0.876, "b", 0.876, one_photo).startswith("tie")
    assert results.difference_verdict("a", 0.882, "b", 0.876, one_photo).startswith("tie")
    assert results.difference_verdict("a", 0.870, "b", 0.890, one_photo).startswith("b leads a")
    assert results.leader({"probe": 0.876, "fine-tune": 0.876}, one_photo) == (
        "tie: probe, fine-tune"
    )
    assert results.leader({"probe": 0.80, "fine-tune": 0.876}, one_photo) == "fine-tune"
    exactly_one_photo = {"7 frozen": 142 / 153, "9 frozen": 141 / 153}
    assert results.leader(exactly_one_photo, one_photo) == "tie: 7 frozen, 9 frozen"


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
