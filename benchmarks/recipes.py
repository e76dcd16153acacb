"""The course's recipes against the PyTorch tutorial's, side by side, on this machine.

    COURSE_DATA_DIR=../shared/data python benchmarks/recipes.py            # the full run
    COURSE_DATA_DIR=../shared/data python benchmarks/recipes.py --quick    # a smoke test

Four recipes, same data (hymenoptera), same backbone (default efficientnet_lite0), fixed seeds:
  tutorial fine-tune        ImageFolder decoding every file every epoch with the tutorial's
                            transforms, batch 4, SGD lr 0.001 momentum 0.9, StepLR(7, 0.1),
                            25 epochs, every layer trained, best val epoch kept
  tutorial fixed-extractor  the same, but only the new head trained; the frozen backbone still
                            runs forward on every augmented batch, and BatchNorm stays in train
                            mode, as in the tutorial
  course fine-tune          notebook 04's recipe: helpers.recipes.course_finetune on
                            decoded-once data, batch COURSE_BATCH_SIZE, the placeholder GIF
                            left out as in notebook 04
"best val acc" is the epoch each recipe restores (chosen on the val set, so optimistic), with
its phase ("probe": only the head had trained; "fine-tune": the backbone too); "final val acc"
is the last epoch's. The summary lines quote the restored epoch and its phase.
  course fixed-extractor    notebook 05's: backbone features computed once
                            (helpers.features.cached_features, into an empty cache) and a linear
                            probe trained on them
Each recipe runs in a fresh Python process, so its wall time counts everything from raw files
to a trained model (decoding, model loading, feature extraction, training, evaluation) and its
peak memory is that process's own maximum resident set size. Only the imports are left out.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RECIPES = ("tutorial-finetune", "tutorial-fixed", "course-finetune", "course-fixed")
QUICK_IMAGES_PER_CLASS = 6
QUICK_EPOCHS = 1
# Notebook 04 finds this placeholder picture and leaves it out; ImageFolder skips GIFs anyway.


def tutorial_loaders(root: Path, backbone: str, seed: int) -> dict:
    """The tutorial's data pipeline: ImageFolder, full-size decoding per item, batch 4."""
    import torch
    from torchvision import datasets, transforms

    from helpers.models import backbone_spec
    from helpers.recipes import TUTORIAL_BATCH_SIZE

    spec = backbone_spec(backbone)
    normalize = transforms.Normalize(spec.mean, spec.std)
    split_transforms = {
        "train": transforms.Compose(
            [
                transforms.RandomResizedCrop(224),
                transforms.RandomHorizontalFlip(),
                transforms.ToTensor(),
                normalize,
            ]
        ),
        "val": transforms.Compose(
            [
                transforms.Resize(256),
                transforms.CenterCrop(224),
                transforms.ToTensor(),
                normalize,
            ]
        ),
    }
    generator = torch.Generator().manual_seed(seed)
    return {
        split: torch.utils.data.DataLoader(
            datasets.ImageFolder(root / split, split_transforms[split]),
            batch_size=TUTORIAL_BATCH_SIZE,
            shuffle=split == "train",
            num_workers=4,  # as in the tutorial
            generator=generator if split == "train" else None,
        )
        for split in ("train", "val")
    }


def run_recipe(name: str, root: Path, backbone: str, epochs: int | None, seed: int) -> dict:
    """Train one recipe from raw files; returns its measurements."""
    import torch

    from helpers import data, features, recipes

    torch.manual_seed(seed)
    start = time.perf_counter()
    if name.startswith("tutorial"):
        loaders = tutorial_loaders(root, backbone, seed)
        _, history = recipes.tutorial_finetune(
            loaders,
            backbone=backbone,
            epochs=epochs or recipes.TUTORIAL_EPOCHS,
            seed=seed,
            fixed_feature_extractor=name == "tutorial-fixed",
            progress=False,
        )
        summary = _history_summary(history)
    elif name == "course-finetune":
        datasets = data.image_datasets(root, backbone=backbone, exclude=data.HYMENOPTERA_EXCLUDE)
        loaders = data.dataloaders(datasets, batch_size=recipes.COURSE_BATCH_SIZE, seed=seed)
        _, history = recipes.course_finetune(
            loaders,
            backbone=backbone,
            epochs=epochs or recipes.COURSE_EPOCHS,
            seed=seed,
            progress=False,
        )
        summary = _history_summary(history)
    elif name == "course-fixed":
        datasets = data.image_datasets(root, augment=False, backbone=backbone)
        with tempfile.TemporaryDirectory() as empty_cache:
            train_x, train_y = features.cached_features(
                backbone, datasets["train"], cache_dir=empty_cache, progress=False
            )
            val_x, val_y = features.cached_features(
                backbone, datasets["val"], cache_dir=empty_cache, progress=False
            )
        head = features.train_linear_probe(train_x, train_y, seed=seed)
        accuracy = features.probe_accuracy(head, val_x, val_y)
        summary = {"epochs": 1, "val_accuracy": accuracy, "final_accuracy": accuracy}
        summary["phase"] = "probe"  # only a head is trained, on cached features
    else:
        raise ValueError(f"unknown recipe {name!r}; known: {', '.join(RECIPES)}")
    seconds = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kB
    return {
        "recipe": name,
        "seconds": seconds,
        "seconds_per_epoch": seconds / summary["epochs"],
        "peak_mb": peak_mb,
        **summary,
    }


def _history_summary(history) -> dict:
    """Epochs run, the restored (best) epoch's accuracy and phase, and the final epoch's."""
    return {
        "epochs": len(history.records),
        "val_accuracy": history.best.val_accuracy,
        "phase": history.best.phase,
        "final_accuracy": history.final.val_accuracy,
    }


def quick_copy(root: Path, folder: Path) -> Path:
    """A tiny data set of symbolic links to the first images of each class (nothing copied)."""
    for split in ("train", "val"):
        for class_dir in sorted((root / split).iterdir()):
            target = folder / split / class_dir.name
            target.mkdir(parents=True)
            for path in sorted(class_dir.iterdir())[:QUICK_IMAGES_PER_CLASS]:
                (target / path.name).symlink_to(path.resolve())
    return folder


def run_in_subprocess(name: str, root: Path, args: argparse.Namespace) -> dict:
    command = [sys.executable, __file__, "--worker", name, "--root", str(root)]
    command += ["--backbone", args.backbone, "--seed", str(args.seed)]
    if args.epochs:
        command += ["--epochs", str(args.epochs)]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"{name} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def report(rows: list[dict]) -> str:
    by_name = {row["recipe"]: row for row in rows}
    lines = [
        f"{'recipe':18} {'epochs':>6} {'wall s':>8} {'s/epoch':>8} {'best val acc':>12} "
        f"{'best phase':>10} {'final val acc':>13} {'peak MB':>8}"
    ]
    for row in rows:
        lines.append(
            f"{row['recipe']:18} {row['epochs']:6d} {row['seconds']:8.1f} "
            f"{row['seconds_per_epoch']:8.1f} {row['val_accuracy']:12.3f} {row['phase']:>10} "
            f"{row['final_accuracy']:13.3f} {row['peak_mb']:8.0f}"
        )
    for label, kind in (("fine-tune", "finetune"), ("fixed-extractor", "fixed")):
        tutorial, course = by_name[f"tutorial-{kind}"], by_name[f"course-{kind}"]
        lines.append(
            f"{label}: tutorial {tutorial['val_accuracy']:.3f} in {tutorial['seconds']:.1f} s; "
            f"course {course['val_accuracy']:.3f} in {course['seconds']:.1f} s; "
            f"speedup {tutorial['seconds'] / course['seconds']:.1f}; "
            f"course epoch phase: {course['phase']}"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backbone", default="efficientnet_lite0")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, help="override every recipe's epochs")
    parser.add_argument("--quick", action="store_true", help="tiny data, 1 epoch: a smoke test")
    parser.add_argument("--worker", choices=RECIPES, help=argparse.SUPPRESS)
    parser.add_argument("--root", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.worker:
        print(json.dumps(run_recipe(args.worker, args.root, args.backbone, args.epochs, args.seed)))
        return

    import torch

    from helpers import data

    root = data.hymenoptera()
    with tempfile.TemporaryDirectory() as scratch:
        if args.quick:
            root = quick_copy(root, Path(scratch) / "quick")
            args.epochs = QUICK_EPOCHS
        print(
            f"{'QUICK SMOKE TEST, not the numbers; ' if args.quick else ''}"
            f"backbone {args.backbone}, seed {args.seed}, torch {torch.__version__}, "
            f"{torch.get_num_threads()} threads, {platform.processor() or platform.machine()}",
            flush=True,
        )
        rows = []
        for name in RECIPES:
            rows.append(run_in_subprocess(name, root, args))
            print(f"  {name}: {rows[-1]['seconds']:.1f} s", flush=True)
    print(report(rows))


if __name__ == "__main__":
    main()
