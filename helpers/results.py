"""Results a reader can trust: saved multi-seed tables, mean +- std, verdicts that respect noise.

Multi-seed studies take longer than a notebook's time budget, so benchmarks/seed_study.py runs
them and saves a table (benchmarks/results/<study>.json) with the commit, date, machine and
recipes.recipe_fingerprint(); notebooks 04 and 05 load it here, next to their one live run.
Taught in notebook 04, used by 05.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Mapping, Sequence
from pathlib import Path

from helpers import recipes

RESULTS_DIR = Path(__file__).resolve().parent.parent / "benchmarks" / "results"
# Accuracies are ratios of counts: 142/153 - 141/153 must count as exactly one photo.
ROUNDING = 1e-9


class StaleResultsError(RuntimeError):
    """A saved table describes a recipe that has changed since it was measured."""


def load_study(name: str, results_dir: str | Path = RESULTS_DIR, *, check: bool = True) -> dict:
    """The saved table of benchmarks/seed_study.py's study `name` ("hymenoptera", "digits").

    With check, a table measured with a different recipe (recipes.recipe_fingerprint()) raises
    StaleResultsError saying how to measure it again. Notebooks 04 and 05.
    """
    path = Path(results_dir) / f"{name}.json"
    if not path.is_file():
        raise FileNotFoundError(
            f"No saved results at {path}. Run: python benchmarks/seed_study.py {name}"
        )
    table = json.loads(path.read_text())
    saved, current = table["meta"]["recipe_fingerprint"], recipes.recipe_fingerprint()
    if check and saved != current:
        raise StaleResultsError(
            f"{path.name} was measured with recipe {saved}, but the course recipe is now "
            f"{current}. Measure it again: python benchmarks/seed_study.py {name}"
        )
    return table


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """(mean, sample standard deviation; 0 for a single value)."""
    values = list(values)
    spread = statistics.stdev(values) if len(values) > 1 else 0.0
    return statistics.fmean(values), spread


def format_mean_std(values: Sequence[float]) -> str:
    """'0.967 +- 0.012 (n=5)'."""
    mean, spread = mean_std(values)
    return f"{mean:.3f} +- {spread:.3f} (n={len(values)})"


def difference_verdict(
    a_name: str, a: float, b_name: str, b: float, noise: float, unit: str = ""
) -> str:
    """Which of two results is higher, or a tie when they differ by no more than noise.

    noise: what the difference must exceed to count, e.g. one val photo (1 / 153) or the
    measured seed-to-seed spread, whichever is larger. Notebooks 04 and 05.
    """
    gap = abs(a - b)
    if gap <= noise + ROUNDING:
        return (
            f"tie: {a_name} and {b_name} differ by {gap:.3f}{unit}, "
            f"within noise ({noise:.3f}{unit})"
        )
    leader, other = (a_name, b_name) if a > b else (b_name, a_name)
    return f"{leader} leads {other} by {gap:.3f}{unit} (noise {noise:.3f}{unit})"


def leaders(scores: Mapping[str, float], noise: float) -> list[str]:
    """Every name whose score is within noise of the highest, best first (the one tie rule)."""
    best = max(scores.values())
    tied = [name for name, score in scores.items() if best - score <= noise + ROUNDING]
    return sorted(tied, key=lambda name: -scores[name])


def leader(scores: Mapping[str, float], noise: float) -> str:
    """The name of the highest score, or 'tie: a, b' when others are within noise of it."""
    tied = leaders(scores, noise)
    return tied[0] if len(tied) == 1 else "tie: " + ", ".join(tied)


def show_markdown(text: str) -> None:
    """Display Markdown (a table, say) in the notebook."""
    from IPython.display import Markdown, display

    display(Markdown(text))


def runs_markdown(runs: dict[str, list[dict]], val_images: int) -> str:
    """A Markdown table of a study's runs: final and best epoch, mean +- std over seeds.

    runs: {name: [one dict per seed with "final", "best", "best_phase"]}, as saved by
    benchmarks/seed_study.py. The spread column counts photos (max - min, in val images).
    No times: a study's runs share the machine with whatever else runs, so its seconds are
    not a benchmark (benchmarks/recipes.py is). Notebooks 04 and 05.
    """
    lines = [
        "| run | final epoch | best epoch (chosen on val) | best epoch's phase "
        "| final: spread in photos |",
        "|---|---:|---:|---|---:|",
    ]
    for name, seeds in runs.items():
        finals = [run["final"] for run in seeds]
        phases = sorted({run["best_phase"] for run in seeds})
        photos = round((max(finals) - min(finals)) * val_images)
        lines.append(
            f"| {name} | {format_mean_std(finals)} "
            f"| {format_mean_std([run['best'] for run in seeds])} | {', '.join(phases)} "
            f"| {photos} |"
        )
    return "\n".join(lines)
