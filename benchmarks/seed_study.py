"""Multi-seed study of the course recipe and its variants: the numbers notebook 04 loads.

    COURSE_DATA_DIR=../shared/data python benchmarks/seed_study.py hymenoptera   # 20-40 min

hymenoptera (efficientnet_lite0, 224 px, batch COURSE_BATCH_SIZE, the placeholder GIF left out
as in every notebook), for each seed: ImageNet's own ant/bee outputs; a head-only probe
(recipes.probe_head, random head, COURSE_PROBE_EPOCHS epochs); and each recipe variant below,
with its final-epoch and best-epoch val accuracy and the phase of both.

The digits, and every strategy of notebook 05's decision matrix, are in
benchmarks/strategy_study.py.

Each study writes helpers/study_results/<study>.json with the commit, date, machine, library
versions and results.study_fingerprint(): tests/test_results.py fails when a saved table
describes code or settings that have changed since. After a change that should move no number
(a refactor), --verify SEED reruns one seed in minutes and restamps the table if every epoch
matches. Notebook 04 loads it with helpers.results.load_study.
"""

from __future__ import annotations

import argparse
import copy
import datetime
import json
import platform
import subprocess
import time
from pathlib import Path

import torch

from helpers import data, models, recipes, results, training

RESULTS = Path(__file__).resolve().parents[1] / "helpers" / "study_results"  # package data
SEEDS = (0, 1, 2, 3, 4)

# What each change of the recipe buys: the course recipe, then one ingredient taken away at a time.
HYMENOPTERA_VARIANTS = {
    "course": {},
    "random head + probe": {"warm_start": False},
    "BatchNorm follows the freezing": {"batchnorm": "follow-freezing"},
    "BatchNorm in train mode": {"batchnorm": "train"},
    "previous recipe": {
        "warm_start": False,
        "head_lr": 1e-3,
        "backbone_lr": 1e-4,
        "batchnorm": "follow-freezing",
        "crop_scale": (0.08, 1.0),
    },
}


def _run_summary(history: training.History) -> dict:
    return {
        "val_accuracy": history.column("val_accuracy"),
        "phases": history.column("phase"),
        "final": history.final.val_accuracy,
        "final_phase": history.final.phase,
        "best": history.best.val_accuracy,
        "best_epoch": history.best_epoch,
        "best_phase": history.best.phase,
        "seconds": history.total_seconds,
    }


def hymenoptera_study(seeds: tuple[int, ...], variants: list[str], baselines: bool = True) -> dict:
    """ImageNet's own head and the probe baselines (unless baselines is False) and each
    variant's runs."""
    root = data.hymenoptera()
    datasets = data.image_datasets(root, exclude=data.HYMENOPTERA_EXCLUDE)
    loaders = data.dataloaders(datasets, batch_size=recipes.COURSE_BATCH_SIZE)
    imagenet_head = None  # a baseline: measured once, with the probes
    if baselines:
        imagenet_head = training.imagenet_head_accuracy(
            models.load_backbone(),
            loaders["val"],
            models.imagenet_indices(datasets["val"].classes),
        )
    runs: dict[str, list[dict]] = {"probe": []} if baselines else {}
    for seed in seeds if baselines else ():
        recipes._reseed(loaders, seed)
        model = recipes.build_model()
        runs["probe"].append(_run_summary(recipes.probe_head(model, loaders, progress=False)))
        print(f"seed {seed} probe: {runs['probe'][-1]['final']:.3f}", flush=True)
    for name in variants:
        settings = dict(HYMENOPTERA_VARIANTS[name])
        crop_scale = settings.pop("crop_scale", data.CROP_SCALE)
        variant_loaders = loaders
        if crop_scale != data.CROP_SCALE:
            variant_sets = data.image_datasets(
                root, exclude=data.HYMENOPTERA_EXCLUDE, crop_scale=crop_scale
            )
            variant_loaders = data.dataloaders(variant_sets, batch_size=recipes.COURSE_BATCH_SIZE)
        runs[name] = []
        for seed in seeds:
            _, history = recipes.course_finetune(
                variant_loaders, seed=seed, progress=False, **settings
            )
            runs[name].append(_run_summary(history))
            print(f"seed {seed} {name}: {runs[name][-1]['val_accuracy']}", flush=True)
    return {
        "imagenet_head": imagenet_head,
        "seeds": list(seeds),
        "val_images": len(datasets["val"]),
        "variants": {name: HYMENOPTERA_VARIANTS[name] for name in variants},
        "runs": runs,
    }


def verify(study: str, seed: int, path: Path) -> None:
    """Run seed of ImageNet's own head, the probe and the course recipe again; if each matches
    the saved table exactly, restamp it with today's fingerprint and say so in its meta."""
    saved = json.loads(path.read_text())
    index = saved["seeds"].index(seed)
    again = hymenoptera_study((seed,), ["course"])
    differs = []
    if again["imagenet_head"] != saved["imagenet_head"]:
        differs.append(f"ImageNet's own head {again['imagenet_head']} != {saved['imagenet_head']}")
    for name in ("probe", "course"):
        now, then = (
            again["runs"][name][0]["val_accuracy"],
            saved["runs"][name][index]["val_accuracy"],
        )
        if now != then:
            differs.append(f"{name}, seed {seed}: {now} != {then}")
    if differs:
        raise SystemExit("not restamped; the numbers moved:\n" + "\n".join(differs))
    old = saved["meta"]["recipe_fingerprint"]
    saved["meta"].update(results.study_meta(study, saved["meta"]["backbone"]))
    saved["meta"].setdefault("verified", []).append(
        {
            "commit": _commit(),
            "date": datetime.date.today().isoformat(),
            "previous_fingerprint": old,
            "checked": f"seed {seed}: ImageNet's own head, the probe and the course recipe, "
            "every epoch's val accuracy identical to the table",
        }
    )
    path.write_text(json.dumps(saved, indent=1) + "\n")
    print(f"verified seed {seed}: every epoch identical; {path} restamped {old} -> "
          f"{saved['meta']['recipe_fingerprint']}")  # fmt: skip


def _commit() -> str:
    result = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=RESULTS.parent
    )
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--", "helpers"],
        capture_output=True,
        text=True,
        cwd=RESULTS.parent,
    )
    return result.stdout.strip() + (" (helpers/ modified)" if dirty.stdout.strip() else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("study", choices=("hymenoptera",))
    parser.add_argument("--seeds", type=int, nargs="+")
    parser.add_argument("--variants", nargs="+", choices=list(HYMENOPTERA_VARIANTS))
    parser.add_argument("--out", type=Path, help="default: helpers/study_results/<study>.json")
    parser.add_argument(
        "--add", action="store_true", help="run only --variants and add them to the saved table"
    )
    parser.add_argument(
        "--verify",
        type=int,
        metavar="SEED",
        help="after a change that should not move any number: run one seed of the baselines and "
        "the course recipe again and, if every epoch matches the saved table, record the new "
        "fingerprint (minutes instead of the whole study); otherwise say what differs",
    )
    args = parser.parse_args()
    if args.verify is not None:
        verify(args.study, args.verify, args.out or RESULTS / f"{args.study}.json")
        return
    start = time.perf_counter()
    out = args.out or RESULTS / f"{args.study}.json"
    seeds = tuple(args.seeds or SEEDS)
    variants = args.variants or list(HYMENOPTERA_VARIANTS)
    table = hymenoptera_study(seeds, variants, baselines=not args.add)
    if args.add:
        saved = json.loads(out.read_text())
        if saved["seeds"] != list(seeds) or saved["meta"]["recipe_fingerprint"] != (
            results.study_fingerprint(args.study)
        ):
            raise SystemExit(f"{out} has other seeds or another recipe: run the whole study")
        saved["runs"].update(table["runs"])
        saved["variants"].update(table["variants"])
        table = saved
    minutes = round((time.perf_counter() - start) / 60, 1)
    if args.add:
        minutes += table["meta"]["minutes"]
    table["meta"] = {
        # every run of the study uses the default backbone
        **results.study_meta(args.study, models.DEFAULT_BACKBONE),
        "commit": _commit(),
        "date": datetime.date.today().isoformat(),
        "machine": f"{platform.machine()}, {torch.get_num_threads()} threads, torch "
        f"{torch.__version__}",
        "minutes": minutes,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(copy.deepcopy(table), indent=1) + "\n")
    print(f"wrote {out} in {table['meta']['minutes']} min")


if __name__ == "__main__":
    main()
