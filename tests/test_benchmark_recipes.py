"""Smoke test of benchmarks/recipes.py --quick: every recipe trains and the summary is parseable.

The numbers of a quick run mean nothing (12 images per split, one epoch); the full run's are
in benchmarks/README.md.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "recipes.py"
SUMMARY = re.compile(
    r"^(fine-tune|fixed-extractor): tutorial (\d\.\d{3}) in ([\d.]+) s; "
    r"course (\d\.\d{3}) in ([\d.]+) s; speedup ([\d.]+); "
    r"course epoch phase: (probe|fine-tune)$"
)


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
        _, tutorial_acc, tutorial_s, course_acc, course_s, speedup, _ = match.groups()
        assert 0 <= float(tutorial_acc) <= 1 and 0 <= float(course_acc) <= 1
        # seconds are printed to 0.1 s and the speedup to 0.1: allow exactly that rounding
        tutorial_s, course_s, speedup = float(tutorial_s), float(course_s), float(speedup)
        lowest = (tutorial_s - 0.05) / (course_s + 0.05) - 0.05
        highest = (tutorial_s + 0.05) / max(course_s - 0.05, 1e-9) + 0.05
        assert lowest <= speedup <= highest, (tutorial_s, course_s, speedup)
