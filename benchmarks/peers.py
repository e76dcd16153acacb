"""The course's fine-tune against the peers a learner would pick, a fast path, and the floor.

    COURSE_DATA_DIR=../shared/data python benchmarks/peers.py            # full run
    COURSE_DATA_DIR=../shared/data python benchmarks/peers.py --quick    # smoke test, not numbers
    COURSE_DATA_DIR=../shared/data python benchmarks/peers.py --peers fastai course  # no tutorial

fastai is one of the peers: `pip install -r benchmarks/requirements.txt` (for this benchmark
only, never for learners). Without it the fastai rows say "not installed" and have no verdict.

Same photos (hymenoptera, the placeholder GIF left out), same backbone (efficientnet_lite0 with
the course's ImageNet weights), same seeds (3 by default), each run in a fresh process so that
its wall time counts everything from raw files to a trained model (imports left out):

  tutorial  the PyTorch tutorial's recipe as it writes it: ImageFolder decoding every epoch,
            RandomResizedCrop + flip, batch 4, SGD lr 0.001 momentum 0.9, StepLR(7, 0.1), 25
            epochs, every layer trained (benchmarks/recipes.py's "tutorial-finetune")
  fastai    fastai's fine_tune with the defaults fastbook teaches for a small data set:
            presizing (Resize(460), then aug_transforms(size=224, min_scale=0.75)), batch 64,
            vision_learner's head, Adam, fine_tune(4): 1 epoch with the body frozen, then 4
            with everything trained at base_lr 2e-3 (lr_mult 100), each on one cycle
  course    notebook 04's recipe, helpers.recipes.course_finetune (warm-started head, 4 epochs)

Each reports final-epoch accuracy (mean +- std), best epoch (the mean of each run's best val
accuracy, chosen on the val set, so optimistic) and wall time; the verdicts are the course's
one comparison rule (helpers.results.compare) on final epochs, paired by seed.

The fast path, A/B in the same run: the course fine-tune and the feature caching of notebook 05
again, with the model in channels_last memory format and, where this CPU computes bf16
natively (AVX512-BF16 or AMX; `native_bf16`), under bf16 autocast. The floor, in this process:
the best throughput of the course's own training step (its frozen groups, BatchNorm in inference
mode, AdamW) and of a forward pass alone, on synthetic batches with no data loading; each run's
fraction is the time the floor would take for the same images divided by the time it took.
Growth: the course fine-tune on 4 class-balanced training sizes, one seed, to see that its time
grows linearly. The run ends with the result lines of issue #26, for a script to read.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SEEDS = (0, 1, 2)
PEERS = ("tutorial", "fastai", "course")
BACKBONE = "efficientnet_lite0"
FASTAI_EPOCHS = 4
FASTAI_PRESIZE = 460
FASTAI_MIN_SCALE = 0.75
GROWTH_FRACTIONS = (0.25, 0.5, 0.75, 1.0)
FLOOR_BATCH = 16  # the course's batch size (recipes.COURSE_BATCH_SIZE)
FLOOR_REPEATS = 5


def native_bf16() -> bool:
    """Whether this CPU computes bf16 in hardware (AVX512-BF16 or AMX-BF16), read from its
    flags, not assumed: elsewhere torch emulates bf16 and it is slower than fp32."""
    try:
        flags = Path("/proc/cpuinfo").read_text().split()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


@contextlib.contextmanager
def fast_path(enabled: bool):
    """channels_last models (helpers.models.load_backbone patched for this process) and, on a
    CPU with native bf16, bf16 autocast; nothing when not enabled."""
    if not enabled:
        yield "fp32"
        return
    import torch

    from helpers import models

    original = models.load_backbone

    def channels_last(*args, **kwargs):
        return original(*args, **kwargs).to(memory_format=torch.channels_last)

    models.load_backbone = channels_last
    try:
        if native_bf16():
            with torch.autocast("cpu", dtype=torch.bfloat16):
                yield "channels_last + bf16 autocast"
        else:
            yield "channels_last"
    finally:
        models.load_backbone = original


def hymenoptera_files(root: Path) -> list[Path]:
    from helpers import data

    return [
        path
        for path in sorted(root.rglob("*"))
        if path.is_file() and path.name not in data.HYMENOPTERA_EXCLUDE
    ]


def run_fastai(root: Path, seed: int, epochs: int) -> dict:
    """fastai's fine_tune on the same photos and backbone (see the module docstring)."""
    from fastai.vision.all import (  # noqa: I001 - one line per group reads better here
        CategoryBlock, DataBlock, GrandparentSplitter, ImageBlock, Normalize, Resize, accuracy,
        aug_transforms, parent_label, set_seed, vision_learner,
    )  # fmt: skip

    from helpers import models

    spec = models.backbone_spec(BACKBONE)
    set_seed(seed, reproducible=True)
    start = time.perf_counter()
    files = hymenoptera_files(root)
    block = DataBlock(
        blocks=(ImageBlock, CategoryBlock),
        get_items=lambda _: files,
        splitter=GrandparentSplitter(train_name="train", valid_name="val"),
        get_y=parent_label,
        item_tfms=Resize(FASTAI_PRESIZE),
        batch_tfms=[
            *aug_transforms(size=224, min_scale=FASTAI_MIN_SCALE),
            Normalize.from_stats(spec.mean, spec.std),
        ],
    )
    loaders = block.dataloaders(root)

    def arch(pretrained: bool = True):
        return models.load_backbone(BACKBONE, pretrained)

    learner = vision_learner(loaders, arch, metrics=accuracy, normalize=False)
    with learner.no_bar(), learner.no_logging():
        learner.fine_tune(epochs)
    accuracies = [float(values[2]) for values in learner.recorder.values]  # (train, val, acc)
    return {
        "seconds": time.perf_counter() - start,
        "final_accuracy": accuracies[-1],
        "best_accuracy": max(accuracies),
        "epochs": len(accuracies),
        "val_images": len(loaders.valid_ds),
    }


def run_course(root: Path, seed: int, epochs: int | None, fast: bool, fraction: float) -> dict:
    """The course fine-tune from raw files; its fit time apart, for the floor."""
    import numpy as np
    import torch

    from helpers import comparison, data, recipes

    with fast_path(fast) as path:
        start = time.perf_counter()
        datasets = data.image_datasets(root, backbone=BACKBONE, exclude=data.HYMENOPTERA_EXCLUDE)
        if fraction < 1:
            train = datasets["train"]
            chosen = comparison.balanced_subset(train.targets, fraction, seed=seed)
            subset = torch.utils.data.Subset(train, [int(i) for i in np.asarray(chosen)])
            subset.classes = train.classes  # the warm start reads the class names
            datasets = {"train": subset, "val": datasets["val"]}
        loaders = data.dataloaders(datasets, batch_size=recipes.COURSE_BATCH_SIZE, seed=seed)
        _, history = recipes.course_finetune(
            loaders, backbone=BACKBONE, epochs=epochs or recipes.COURSE_EPOCHS, seed=seed,
            progress=False,
        )  # fmt: skip
        seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "fit_seconds": sum(record.seconds for record in history.records),
        "final_accuracy": history.final.val_accuracy,
        "best_accuracy": history.best.val_accuracy,
        "epochs": len(history.records),
        "train_images": len(datasets["train"]),
        "val_images": len(datasets["val"]),
        "path": path,
    }


def run_features(root: Path, seed: int, fast: bool) -> dict:
    """Notebook 05's fixed extractor: features of every photo once, then a linear probe."""
    from helpers import data, features

    with fast_path(fast) as path:
        start = time.perf_counter()
        datasets = data.image_datasets(root, augment=False, backbone=BACKBONE)
        with tempfile.TemporaryDirectory() as empty_cache:
            extracted = {
                split: features.cached_features(
                    BACKBONE, datasets[split], cache_dir=empty_cache, progress=False
                )
                for split in ("train", "val")
            }
        feature_seconds = time.perf_counter() - start
    (train_x, train_y), (val_x, val_y) = extracted["train"], extracted["val"]
    head = features.train_linear_probe(train_x.float(), train_y, seed=seed)
    accuracy = features.probe_accuracy(head, val_x.float(), val_y)
    return {
        "seconds": time.perf_counter() - start,
        "feature_seconds": feature_seconds,
        "final_accuracy": accuracy,
        "best_accuracy": accuracy,
        "images": len(train_y) + len(val_y),
        "val_images": len(val_y),
        "path": path,
    }


def worker(args: argparse.Namespace) -> dict:
    root = Path(args.root)
    kind, seed = args.worker, args.seed
    if kind == "tutorial":
        sys.path.insert(0, str(HERE))
        import recipes as recipe_benchmark  # benchmarks/recipes.py

        row = recipe_benchmark.run_recipe("tutorial-finetune", root, BACKBONE, args.epochs, seed)
        return {
            "seconds": row["seconds"],
            "final_accuracy": row["final_accuracy"],
            "best_accuracy": row["val_accuracy"],
            "epochs": row["epochs"],
        }
    if kind == "fastai":
        return run_fastai(root, seed, args.epochs or FASTAI_EPOCHS)
    if kind in ("course", "course-fast"):
        return run_course(root, seed, args.epochs, kind == "course-fast", args.fraction)
    if kind in ("features", "features-fast"):
        return run_features(root, seed, kind == "features-fast")
    raise ValueError(f"unknown worker {kind!r}")


def in_subprocess(kind: str, root: Path, seed: int, args, fraction: float = 1.0) -> dict | None:
    command = [sys.executable, __file__, "--worker", kind, "--root", str(root)]
    command += ["--seed", str(seed), "--fraction", str(fraction)]
    if args.epochs:
        command += ["--epochs", str(args.epochs)]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        if kind == "fastai" and "No module named 'fastai'" in result.stderr:
            return None
        raise RuntimeError(f"{kind} seed {seed} failed:\n{result.stderr[-3000:]}")
    row = json.loads(result.stdout.strip().splitlines()[-1])
    print(f"  {kind:14} seed {seed} fraction {fraction}: {row}", flush=True)
    return row


def floor(batches: int) -> dict:
    """Images/s of the course's training step and of a forward pass alone, best of
    FLOOR_REPEATS timings of `batches` synthetic batches each, in fp32 and on the fast path:
    {(path, "train" or "forward"): images/s}."""
    found = {}
    for fast in (False, True):
        with fast_path(fast) as path:
            for name, rate in _rates(fast, batches).items():
                found[(path, name)] = rate
    return found


def _rates(channels_last: bool, batches: int) -> dict[str, float]:
    import torch

    from helpers import freezing, models, recipes

    spec = models.backbone_spec(BACKBONE)
    model = recipes.build_model(2, BACKBONE, True, spec.early_groups, None)
    optimizer, _ = recipes.course_optimizer(model, 1000)
    images = torch.randn(FLOOR_BATCH, 3, 224, 224)
    if channels_last:
        images = images.to(memory_format=torch.channels_last)
    labels = torch.randint(0, 2, (FLOOR_BATCH,))
    loss_fn = torch.nn.CrossEntropyLoss()

    def train_step():
        model.train()
        freezing.set_batchnorm_mode(model, recipes.COURSE_BATCHNORM)
        optimizer.zero_grad()
        loss_fn(model(images), labels).backward()
        optimizer.step()

    def forward():
        model.eval()
        with torch.no_grad():
            model(images)

    rates = {}
    for name, step in (("train", train_step), ("forward", forward)):
        step()  # warm-up
        best = float("inf")
        for _ in range(FLOOR_REPEATS):
            start = time.perf_counter()
            for _ in range(batches):
                step()
            best = min(best, time.perf_counter() - start)
        rates[name] = batches * FLOOR_BATCH / best
    return rates


def summary(rows: list[dict]) -> tuple[float, float, float, float]:
    finals = [row["final_accuracy"] for row in rows]
    mean, std = statistics.fmean(finals), statistics.stdev(finals) if len(finals) > 1 else 0.0
    best = statistics.fmean(row["best_accuracy"] for row in rows)
    return mean, std, best, statistics.fmean(row["seconds"] for row in rows)


def machine() -> str:
    import torch

    flags = ""
    with contextlib.suppress(OSError):
        cpu_flags = set(Path("/proc/cpuinfo").read_text().split())
        flags = " ".join(
            f for f in ("avx2", "avx512f", "avx512_bf16", "amx_bf16") if f in cpu_flags
        )
    return (
        f"{platform.machine()}, {os.cpu_count()} CPUs ({torch.get_num_threads()} torch threads), "
        f"flags: {flags or 'none of avx2/avx512f/avx512_bf16/amx_bf16'}; torch {torch.__version__}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=list(SEEDS))
    parser.add_argument("--epochs", type=int, default=None, help="override every recipe's epochs")
    parser.add_argument(
        "--peers", nargs="+", choices=PEERS, default=list(PEERS),
        help="run only these peers (the others' lines say 'not run')",
    )  # fmt: skip
    parser.add_argument("--quick", action="store_true", help="a smoke test on 6 photos a class")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--root", help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--fraction", type=float, default=1.0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if "course" not in args.peers:
        parser.error("--peers must include course: every other peer is compared with it")
    if args.worker:
        print(json.dumps(worker(args)))
        return 0

    from helpers import data, results

    root = data.hymenoptera()
    scratch = tempfile.TemporaryDirectory()
    if args.quick:
        sys.path.insert(0, str(HERE))
        import recipes as recipe_benchmark

        root = recipe_benchmark.quick_copy(root, Path(scratch.name) / "quick")
        args.epochs = 1
        args.seeds = args.seeds[:2]
    print(f"machine: {machine()}; native bf16: {native_bf16()}", flush=True)
    peers = {name: [] for name in PEERS}
    for seed in args.seeds:
        for name in args.peers:
            row = in_subprocess(name, root, seed, args)
            if row is not None:
                peers[name].append(row)
    fast = {"course-fast": [], "features": [], "features-fast": []}
    for seed in args.seeds:
        for name in fast:
            fast[name].append(in_subprocess(name, root, seed, args))
    growth = [
        in_subprocess("course", root, args.seeds[0], args, fraction)
        for fraction in GROWTH_FRACTIONS
    ]
    throughput = floor(batches=1 if args.quick else 8)

    val_images = peers["course"][0]["val_images"]
    absent = {name: "not installed" if name in args.peers else "not run" for name in PEERS}
    lines = ["", "| recipe | seeds | final (mean +- std) | best epoch (mean) | wall s (mean) |"]
    lines.append("|---|---:|---:|---:|---:|")
    for name in PEERS:
        if not peers[name]:
            lines.append(f"| {name} | 0 | {absent[name]} | | |")
            continue
        mean, std, best, seconds = summary(peers[name])
        runs = len(peers[name])
        lines.append(f"| {name} | {runs} | {mean:.3f} +- {std:.3f} | {best:.3f} | {seconds:.1f} |")
    print("\n".join(lines))
    course_finals = [row["final_accuracy"] for row in peers["course"]]
    for name in ("tutorial", "fastai"):
        if peers[name]:
            finals = [row["final_accuracy"] for row in peers[name]]
            print(results.compare("course", course_finals, name, finals, val_images))
    fast_finals = [row["final_accuracy"] for row in fast["course-fast"]]
    print(
        results.compare("course, fast path", fast_finals, "course, fp32", course_finals, val_images)
    )
    probe = [row["final_accuracy"] for row in fast["features"]]
    probe_fast = [row["final_accuracy"] for row in fast["features-fast"]]
    print(results.compare("probe, fast path", probe_fast, "probe, fp32", probe, val_images))

    path = fast["course-fast"][0]["path"]
    fp32_train, fp32_forward = throughput[("fp32", "train")], throughput[("fp32", "forward")]
    fast_train, fast_forward = throughput[(path, "train")], throughput[(path, "forward")]
    print(f"\nfloor, images/s (batch {FLOOR_BATCH}, synthetic): training step fp32 "
          f"{fp32_train:.1f}, {path} {fast_train:.1f}; forward fp32 {fp32_forward:.1f}, "
          f"{path} {fast_forward:.1f}")  # fmt: skip

    def finetune_fraction(row: dict, train_rate: float, forward_rate: float) -> float:
        epochs = row["epochs"]
        bound = epochs * (row["train_images"] / train_rate + row["val_images"] / forward_rate)
        return bound / row["fit_seconds"]

    def features_fraction(row: dict, forward_rate: float) -> float:
        return row["images"] / forward_rate / row["feature_seconds"]

    course_fraction = statistics.fmean(
        finetune_fraction(row, fp32_train, fp32_forward) for row in peers["course"]
    )
    fast_fraction = statistics.fmean(
        finetune_fraction(row, fast_train, fast_forward) for row in fast["course-fast"]
    )
    features_fp32 = statistics.fmean(features_fraction(r, fp32_forward) for r in fast["features"])
    features_fast = statistics.fmean(
        features_fraction(r, fast_forward) for r in fast["features-fast"]
    )
    print(f"floor fractions: fine-tune fp32 {course_fraction:.2f}, fast {fast_fraction:.2f}; "
          f"features fp32 {features_fp32:.2f}, fast {features_fast:.2f}")  # fmt: skip

    print("\ngrowth: training photos, seconds (from raw files), fit seconds")
    for row in growth:
        print(f"  {row['train_images']:4d}  {row['seconds']:7.1f}  {row['fit_seconds']:7.1f}")
    sizes = [row["train_images"] for row in growth]
    fits = [row["fit_seconds"] for row in growth]
    slope, intercept = statistics.linear_regression(sizes, fits)
    r = statistics.correlation(sizes, fits)
    print(f"  fit seconds = {intercept:.1f} + {slope:.3f} x photos (r = {r:.3f})")

    print()
    for name in PEERS:
        if peers[name]:
            mean, std, best, seconds = summary(peers[name])
            print(f"peer: {name} final {mean:.3f} +- {std:.3f} best {best:.3f} in {seconds:.0f} s")
        else:
            print(f"peer: {name} {absent[name]}")
    course_s = statistics.fmean(row["seconds"] for row in peers["course"])
    fast_s = statistics.fmean(row["seconds"] for row in fast["course-fast"])
    feat_s = statistics.fmean(row["feature_seconds"] for row in fast["features"])
    feat_fast_s = statistics.fmean(row["feature_seconds"] for row in fast["features-fast"])
    print(f"fast path: fine-tune {course_s:.0f} s -> {fast_s:.0f} s; features {feat_s:.1f} s -> "
          f"{feat_fast_s:.1f} s; path {path}")  # fmt: skip
    print(f"floor: fine-tune {course_fraction:.2f}; fixed-extractor {features_fp32:.2f}")
    scratch.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
