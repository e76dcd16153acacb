"""Every strategy in every cell of the decision matrix, over the same seeds: notebook 05's evidence.

    COURSE_DATA_DIR=../shared/data python benchmarks/strategy_study.py            # about 80 min
    COURSE_DATA_DIR=../shared/data python benchmarks/strategy_study.py \\
        --strategies "fixed extractor (tutorial)"     # the slowest strategy, only when named
    COURSE_DATA_DIR=../shared/data python benchmarks/strategy_study.py --cells "small different"

The cells cross data size (a small subset, redrawn for every seed, or the whole training set)
with similarity to ImageNet (ants/bees at 224 px, the placeholder GIF left out; sklearn's digits
at comparison.DIGITS_SIZE px). Each cell runs each of its strategies
(comparison.STUDY_STRATEGIES) with every seed of comparison.STUDY_SEEDS through
comparison.run_strategy, the function notebook 05 calls for its live seed, and records the
final and the best epoch. The table is rewritten after every cell, so an interrupted study
keeps what it finished; it goes to helpers/study_results/strategies.json with the commit, date,
machine and results.study_fingerprint("strategies"). Notebook 05 loads it with
results.load_study("strategies").
"""

from __future__ import annotations

import argparse
import datetime
import json
import platform
import subprocess
import time
from pathlib import Path

import torch

from helpers import comparison, results

RESULTS = Path(__file__).resolve().parents[1] / "helpers" / "study_results"  # package data


def _commit() -> str:
    head = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=RESULTS.parent
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--", "helpers"],
        capture_output=True,
        text=True,
        cwd=RESULTS.parent,
    ).stdout.strip()
    return head + (" (helpers/ modified)" if dirty else "")


def _meta(started: float, complete: bool) -> dict:
    return {
        **results.study_meta("strategies"),
        "commit": _commit(),
        "date": datetime.date.today().isoformat(),
        "machine": f"{platform.machine()}, {torch.get_num_threads()} threads, torch "
        f"{torch.__version__}",
        "minutes": round((time.perf_counter() - started) / 60, 1),
        "complete": complete,
    }


def run_cell(
    study: comparison.StudyData, size: str, seeds: tuple[int, ...], only: list[str] | None = None
) -> dict:
    """{strategy: [one summary per seed]} of one cell (its strategies, or those in only), with
    what the cell is."""
    runs: dict[str, list[dict]] = {}
    for strategy in (*comparison.STUDY_STRATEGIES[study.similarity], *comparison.EXTRA_STRATEGIES):
        if strategy not in (only or comparison.STUDY_STRATEGIES[study.similarity]):
            continue
        runs[strategy] = []
        for seed in seeds:
            summary = comparison.run_strategy(study, size, strategy, seed)
            runs[strategy].append(summary)
            print(
                f"{size} {study.similarity}, {strategy}, seed {seed}: final {summary['final']:.3f}"
                f" best {summary['best']:.3f} (epoch {summary['best_epoch']} of "
                f"{summary['epochs']}), {summary['seconds']:.0f} s",
                flush=True,
            )
    return {
        "train_images": len(study.subset(size, seeds[0])),
        "val_images": study.val_images,
        "size_px": study.size_px,
        "runs": runs,
    }


def verify(
    path: Path,
    seed: int,
    cells: list[str],
    strategies: list[str] | None,
    record: Path | None = None,
    against: Path | None = None,
) -> None:
    """Run seed of each strategy in cells again; restamp the table if every epoch matches.

    record: also write the runs to this file. against: compare with a file record wrote (the
    same seed run by earlier code on this machine) instead of the table: for runs that another
    CPU computes in another floating-point order, where only the code, not the machine, is on
    trial. The restamp then says so.
    """
    saved = json.loads(path.read_text())
    index = saved["seeds"].index(seed)
    reference = json.loads(against.read_text()) if against else None
    differs, checked, recorded = [], [], {}
    for cell in cells:
        size, similarity = cell.split()
        study = comparison.StudyData(similarity)
        for strategy in strategies or comparison.STUDY_STRATEGIES[similarity]:
            now = comparison.run_strategy(study, size, strategy, seed)
            recorded.setdefault(cell, {})[strategy] = now
            if record:
                record.write_text(
                    json.dumps({"commit": _commit(), "seed": seed, "runs": recorded}, indent=1)
                )
            if reference:
                then = reference["runs"][cell][strategy]
            else:
                then = saved["cells"][cell]["runs"][strategy][index]
            keys = ("val_accuracy", "final", "best") if now["epochs"] else ("final",)
            same = all(now[key] == then[key] for key in keys)
            if not same:
                differs.append(f"{cell}, {strategy}: {now['final']} != {then['final']}")
            checked.append(f"{cell}: {strategy}")
            print(f"{cell}, {strategy}, seed {seed}: {'same' if same else 'DIFFERS'}", flush=True)
    if differs:
        raise SystemExit("not restamped; the numbers moved:\n" + "\n".join(differs))
    old = saved["meta"]["recipe_fingerprint"]
    saved["meta"].update({key: value for key, value in results.study_meta("strategies").items()})
    if reference:
        against_table = [
            f"{cell}, {strategy}: {reference['runs'][cell][strategy]['final']} (table "
            f"{saved['cells'][cell]['runs'][strategy][index]['final']})"
            for cell in reference["runs"]
            for strategy in reference["runs"][cell]
        ]
        what = (
            f"every epoch's val accuracy identical to seed {seed} run on this machine by the code"
            f" of commit {reference['commit']} (which this machine computes in another "
            f"floating-point order than the table's: final {'; '.join(against_table)})"
        )
    else:
        what = "every epoch's val accuracy identical to the table"
    saved["meta"].setdefault("verified", []).append(
        {
            "commit": _commit(),
            "date": datetime.date.today().isoformat(),
            "previous_fingerprint": old,
            "checked": f"seed {seed}, {what}: " + "; ".join(checked),
        }
    )
    path.write_text(json.dumps(saved, indent=1) + "\n")
    print(f"verified: {path} restamped {old} -> {saved['meta']['recipe_fingerprint']}")


def _complete(table: dict) -> bool:
    """Whether every cell has every one of its strategies."""
    return all(
        set(table["cells"].get(f"{size} {similarity}", {}).get("runs", {}))
        >= set(comparison.STUDY_STRATEGIES[similarity])
        for size, similarity in comparison.STUDY_CELLS
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=list(comparison.STUDY_SEEDS))
    parser.add_argument(
        "--cells",
        nargs="+",
        default=[f"{size} {similarity}" for size, similarity in comparison.STUDY_CELLS],
        help='cells to (re)measure, e.g. "small different"; the others are kept from --out',
    )
    parser.add_argument("--strategies", nargs="+", help="only these strategies of each cell")
    parser.add_argument(
        "--merge",
        type=Path,
        nargs="+",
        help="tables of the same seeds and recipe (from runs side by side) to merge into --out",
    )
    parser.add_argument("--out", type=Path, default=RESULTS / "strategies.json")
    parser.add_argument(
        "--threads",
        type=int,
        help="torch threads (default torch's own); 1 for several studies side by side: torch's "
        "threads slow down many times over when other processes share the cores",
    )
    parser.add_argument(
        "--verify",
        type=int,
        metavar="SEED",
        help="run this seed of --cells (and --strategies) again and restamp the table with "
        "today's fingerprint if every epoch matches it; otherwise say what differs",
    )
    parser.add_argument("--record", type=Path, help="with --verify: also write the runs here")
    parser.add_argument(
        "--against",
        type=Path,
        help="with --verify: compare with runs --record wrote (earlier code, this machine) "
        "instead of the table, for runs this CPU computes in another floating-point order",
    )
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.verify is not None:
        verify(args.out, args.verify, args.cells, args.strategies, args.record, args.against)
        return
    started = time.perf_counter()
    table = {"seeds": args.seeds, "cells": {}}
    previous_minutes = 0.0
    if args.out.is_file():
        saved = json.loads(args.out.read_text())
        if saved["seeds"] == args.seeds and saved["meta"]["recipe_fingerprint"] == (
            results.study_fingerprint("strategies")
        ):
            table["cells"] = saved["cells"]
            previous_minutes = saved["meta"]["minutes"]
    studies: dict[str, comparison.StudyData] = {}
    minutes = previous_minutes  # minutes of computing, added up over the merged runs
    for path in args.merge or ():
        part = json.loads(path.read_text())
        if part["seeds"] != args.seeds or part["meta"]["recipe_fingerprint"] != (
            results.study_fingerprint("strategies")
        ):
            raise SystemExit(f"{path} has other seeds or another recipe: it cannot be merged")
        minutes += part["meta"]["minutes"]
        for name, cell in part["cells"].items():
            table["cells"].setdefault(name, cell)["runs"].update(cell["runs"])
    if args.merge:
        args.cells = []
        table["meta"] = _meta(started, complete=_complete(table))
        table["meta"]["minutes"] = round(minutes, 1)
        args.out.write_text(json.dumps(table, indent=1) + "\n")
        print(f"merged {len(args.merge)} tables into {args.out}")
    for cell in args.cells:
        size, similarity = cell.split()
        if similarity not in studies:
            studies[similarity] = comparison.StudyData(similarity)
        measured = run_cell(studies[similarity], size, tuple(args.seeds), args.strategies)
        table["cells"].setdefault(cell, measured)["runs"].update(measured["runs"])
        table["meta"] = _meta(started, complete=_complete(table))
        table["meta"]["minutes"] = round(previous_minutes + table["meta"]["minutes"], 1)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(table, indent=1) + "\n")
        print(f"wrote {args.out} ({cell}) after {table['meta']['minutes']} min", flush=True)


if __name__ == "__main__":
    main()
