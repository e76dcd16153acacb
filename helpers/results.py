"""Results a reader can trust: saved multi-seed tables, mean +- std, verdicts that respect noise.

Multi-seed studies take longer than a notebook's time budget, so benchmarks/seed_study.py runs
them and saves a table (helpers/study_results/<study>.json) with the commit, date, machine, the
library versions and the fingerprint of what determines its numbers (study_fingerprint);
notebooks 04 and 05 load it here, next to their one live run.
Taught in notebook 04, used by 05.
"""

from __future__ import annotations

import json
import math
import statistics
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from helpers import fingerprint
from helpers.models import DEFAULT_BACKBONE

# Package data (pyproject.toml), so a plain `pip install .` has them too, not only a checkout.
RESULTS_DIR = Path(__file__).resolve().parent / "study_results"
# Accuracies are ratios of counts: 142/153 - 141/153 must count as exactly one photo.
ROUNDING = 1e-9


class StaleResultsError(RuntimeError):
    """A saved table describes a recipe that has changed since it was measured."""


# The script under benchmarks/ that measures each saved study.
STUDY_SCRIPTS = {"strategies": "strategy_study.py"}
# What each study's script calls: their code, and all the course code and settings it reaches,
# determine the numbers (helpers.fingerprint). A study not named here is one of the recipe's.
_RECIPE_ROOTS = (
    "helpers.recipes.course_finetune",
    "helpers.recipes.probe_head",
    "helpers.recipes.build_model",
    "helpers.recipes._reseed",
    "helpers.data.image_datasets",
    "helpers.data.dataloaders",
    "helpers.training.imagenet_head_accuracy",
    "helpers.models.load_backbone",
    "helpers.models.imagenet_indices",
    "helpers.recipes.COURSE_BATCH_SIZE",
    "helpers.data.sources.HYMENOPTERA_EXCLUDE",
)
STUDY_ROOTS = {
    "hymenoptera": _RECIPE_ROOTS,
    "strategies": (
        *_RECIPE_ROOTS,
        "helpers.comparison.StudyData",
        "helpers.comparison.run_strategy",
    ),
}


def study_fingerprint(name: str, backbone: str = DEFAULT_BACKBONE) -> str:
    """The fingerprint of the code and settings that determine a study's numbers, for its
    backbone (other backbones do not count: adding one leaves the study as it was)."""
    roots = STUDY_ROOTS.get(name, _RECIPE_ROOTS)
    return fingerprint.fingerprint(roots, only={"helpers.models.BACKBONES": [backbone]})


def study_meta(name: str, backbone: str = DEFAULT_BACKBONE) -> dict:
    """What a study's script saves about how it was measured, besides commit, date and machine."""
    return {
        "study": name,
        "recipe_fingerprint": study_fingerprint(name, backbone),
        "fingerprint_roots": list(STUDY_ROOTS.get(name, _RECIPE_ROOTS)),
        "backbone": backbone,
        "libraries": fingerprint.library_versions(),
    }


def load_study(name: str, results_dir: str | Path = RESULTS_DIR, *, check: bool = True) -> dict:
    """The saved table of a study: "hymenoptera" (benchmarks/seed_study.py, notebook 04) or
    "strategies" (benchmarks/strategy_study.py, notebook 05).

    With check, a table measured with other code or settings (study_fingerprint) raises
    StaleResultsError saying how to measure it again, and a table measured with other library
    versions than this machine's warns (the numbers may differ a little). Notebooks 04 and 05.
    """
    path = Path(results_dir) / f"{name}.json"
    command = f"python benchmarks/{STUDY_SCRIPTS.get(name, 'seed_study.py ' + name)}"
    if not path.is_file():
        raise FileNotFoundError(f"No saved results at {path}. Run: {command}")
    table = json.loads(path.read_text())
    if not check:
        return table
    meta = table["meta"]
    saved = meta["recipe_fingerprint"]
    current = study_fingerprint(name, meta.get("backbone", DEFAULT_BACKBONE))
    if saved != current:
        raise StaleResultsError(
            f"{path.name} was measured with code and settings {saved}, but the course's are now "
            f"{current}. Measure it again: {command}"
        )
    installed = fingerprint.library_versions()
    other = {lib: v for lib, v in meta.get("libraries", {}).items() if installed.get(lib) != v}
    if other:
        found = ", ".join(f"{lib} {v} (here {installed.get(lib)})" for lib, v in other.items())
        warnings.warn(
            f"{path.name} was measured with {found}: this machine may get slightly different "
            "numbers. pip install -r requirements.txt installs the versions it was measured with.",
            stacklevel=2,
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


# The comparison rule, in words (notebook 04 teaches it, every verdict in the course uses it):
# run both strategies with the same seeds (seed k of A against seed k of B: same subset, same
# split, same head initialisation). Count the gap of each pair in val photos. A is ahead of B
# when the mean gap is more than one photo AND the 95% confidence interval of the mean gap
# (Student's t over the paired gaps) lies above zero; otherwise it is a tie: this study cannot
# tell them apart. With fewer than MIN_SEEDS pairs, the rule says "cannot say".
MIN_SEEDS = 3
# Student's t, 97.5th percentile, by number of pairs (n - 1 degrees of freedom).
T_975 = {3: 4.303, 4: 3.182, 5: 2.776, 6: 2.571, 7: 2.447, 8: 2.365, 9: 2.306, 10: 2.262}
VERDICTS = ("ahead", "tie", "cannot say")


@dataclass(frozen=True)
class Comparison:
    """The verdict of the one comparison rule on two strategies measured over the same seeds.

    gap: mean of the paired gaps A - B, in val photos; low, high: its 95% interval (None
    without enough seeds). verdict: "ahead" (winner is ahead of the other), "tie" or
    "cannot say". str() is the one way the course prints a verdict.
    """

    a: str
    b: str
    gap: float
    low: float | None
    high: float | None
    seeds: int
    verdict: str
    winner: str | None = None
    unit: str = "photos"

    def __str__(self) -> str:
        if self.verdict == "cannot say":
            runs = "one run" if self.seeds == 1 else f"{self.seeds} seeds"
            return (
                f"verdict: cannot say ({runs}; the rule needs {MIN_SEEDS} seeds): "
                f"{self.a} - {self.b} = {self.gap:+.1f} {self.unit}"
            )
        span = (
            f"{self.gap:+.1f} {self.unit} (95% interval {self.low:+.1f} to {self.high:+.1f}, "
            f"{self.seeds} seeds)"
        )
        if self.verdict == "tie":
            return f"verdict: tie between {self.a} and {self.b}: {self.a} - {self.b} = {span}"
        loser = self.b if self.winner == self.a else self.a
        gap = self.gap if self.winner == self.a else -self.gap
        low, high = (self.low, self.high) if self.winner == self.a else (-self.high, -self.low)
        return (
            f"verdict: {self.winner} ahead of {loser} by {gap:.1f} {self.unit} "
            f"(95% interval {low:+.1f} to {high:+.1f}, {self.seeds} seeds)"
        )


def compare(
    a_name: str,
    a: Sequence[float] | float,
    b_name: str,
    b: Sequence[float] | float,
    val_images: int,
    unit: str = "photos",
) -> Comparison:
    """The one comparison rule: A against B over paired seeds, on a val set of val_images.

    a, b: val accuracies, one per seed in the same seed order (a single float, or a list of
    one, is one run). A deterministic strategy (ImageNet's own head: no seed changes it) may be
    given as one float; it is then paired with every seed of the other. unit: what one val
    image is called in the verdict ("photos", "digits"). Notebooks 03-06.
    """
    a_runs, b_runs = _runs(a), _runs(b)
    if len(a_runs) == 1 and isinstance(a, float) and len(b_runs) > 1:
        a_runs = a_runs * len(b_runs)
    if len(b_runs) == 1 and isinstance(b, float) and len(a_runs) > 1:
        b_runs = b_runs * len(a_runs)
    if len(a_runs) != len(b_runs):
        raise ValueError(
            f"{a_name} has {len(a_runs)} runs and {b_name} {len(b_runs)}: the rule pairs "
            "seed k of one with seed k of the other, so both need the same seeds."
        )
    gaps = [(x - y) * val_images for x, y in zip(a_runs, b_runs, strict=True)]
    gap = statistics.fmean(gaps)
    if len(gaps) < MIN_SEEDS or (len(a_runs) == 1):
        return Comparison(a_name, b_name, gap, None, None, len(gaps), "cannot say", unit=unit)
    t = T_975.get(len(gaps), 1.96 if len(gaps) > max(T_975) else T_975[MIN_SEEDS])
    half = t * statistics.stdev(gaps) / math.sqrt(len(gaps))
    low, high = gap - half, gap + half
    if abs(gap) > 1 + ROUNDING and (low > ROUNDING or high < -ROUNDING):
        winner = a_name if gap > 0 else b_name
        return Comparison(a_name, b_name, gap, low, high, len(gaps), "ahead", winner, unit)
    return Comparison(a_name, b_name, gap, low, high, len(gaps), "tie", unit=unit)


def _runs(values: Sequence[float] | float) -> list[float]:
    return [float(values)] if isinstance(values, (int, float)) else [float(v) for v in values]


def leaders(runs: Mapping[str, Sequence[float] | float], val_images: int) -> list[str]:
    """The strategy with the highest mean and every one the rule cannot tell from it, best
    first: the leaders of a cell of the decision matrix. Notebook 05."""
    means = {name: statistics.fmean(_runs(values)) for name, values in runs.items()}
    best = max(means, key=means.get)
    tied = [
        name
        for name in runs
        if name == best
        or compare(best, runs[best], name, runs[name], val_images).verdict != "ahead"
    ]
    return sorted(tied, key=lambda name: -means[name])


def show_markdown(text: str) -> None:
    """Display Markdown (a table, say) in the notebook."""
    from IPython.display import Markdown, display

    display(Markdown(text))


def epochs_markdown(histories: Mapping[str, object]) -> str:
    """A Markdown table of several runs side by side, one row per epoch: each run's val accuracy
    and seconds (blank after a shorter run ends). histories: {name: training.History}.
    Notebook 04."""
    header = " | ".join(f"{name}: val accuracy | s" for name in histories)
    rows = [f"| epoch | {header} |", "|---:" + "|---:|---:" * len(histories) + "|"]
    for epoch in range(1, max(len(run.records) for run in histories.values()) + 1):
        cells = []
        for run in histories.values():
            record = run.records[epoch - 1] if epoch <= len(run.records) else None
            cells += [f"{record.val_accuracy:.3f}", f"{record.seconds:.1f}"] if record else ["", ""]
        rows.append(f"| {epoch} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


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
