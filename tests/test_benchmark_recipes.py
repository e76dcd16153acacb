"""Smoke test of benchmarks/recipes.py --quick: every recipe trains and the summary is parseable.

The numbers of a quick run mean nothing (12 images per split, one epoch); the full run's are
in benchmarks/README.md.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "recipes.py"
SUMMARY = re.compile(
    r"^(fine-tune|fixed-extractor): tutorial (\d\.\d{3}) in ([\d.]+) s; "
    r"course (\d\.\d{3}) in ([\d.]+) s; speedup ([\d.]+); "
    r"course epoch phase: (probe|fine-tune)$"
)


@pytest.mark.slow
def test_quick_benchmark_runs_every_recipe(real_data):
    env = dict(os.environ, COURSE_DATA_DIR=str(real_data.parent))
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick"], capture_output=True, text=True, env=env,
        timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.strip().splitlines()
    for recipe in ("tutorial-finetune", "tutorial-fixed", "course-finetune", "course-fixed"):
        assert any(line.startswith(recipe) for line in lines), recipe
    summaries = [SUMMARY.match(line) for line in lines[-2:]]
    assert all(summaries), lines[-2:]
    phases = {match.group(1): match.group(7) for match in summaries}
    assert phases == {"fine-tune": "fine-tune", "fixed-extractor": "probe"}, phases
    for match in summaries:
        assert 0 <= float(match.group(2)) <= 1 and 0 <= float(match.group(4)) <= 1


def _benchmark_module():
    spec = importlib.util.spec_from_file_location("benchmark_recipes", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_report_states_the_speedup_of_each_pair():
    def row(recipe, seconds, accuracy, phase):
        return {
            "recipe": recipe, "epochs": 2, "seconds": seconds, "seconds_per_epoch": seconds / 2,
            "val_accuracy": accuracy, "phase": phase, "final_accuracy": accuracy - 0.01,
            "peak_mb": 900.0,
        }  # fmt: skip

    rows = [
        row("tutorial-finetune", 100.0, 0.935, "fine-tune"),
        row("tutorial-fixed", 60.0, 0.948, "probe"),
        row("course-finetune", 8.0, 0.967, "fine-tune"),
        row("course-fixed", 2.4, 0.941, "probe"),
    ]
    lines = _benchmark_module().report(rows).splitlines()
    assert lines[-2] == (
        "fine-tune: tutorial 0.935 in 100.0 s; course 0.967 in 8.0 s; speedup 12.5; "
        "course epoch phase: fine-tune"
    )
    assert lines[-1] == (
        "fixed-extractor: tutorial 0.948 in 60.0 s; course 0.941 in 2.4 s; speedup 25.0; "
        "course epoch phase: probe"
    )
    assert all(SUMMARY.match(line) for line in lines[-2:])
