"""A big folder of photos: decoded once into memory vs decoded on the fly (helpers.data).

    python benchmarks/big_folder.py                      # 10,000 photos, several minutes
    python benchmarks/big_folder.py --images 500 --no-save   # a quick smoke run

Writes --images photo-like 500x375 JPEGs (smooth gradients, blobs and sensor noise) in two
class folders under a temporary folder, never inside the repository, then for each mode, in a
fresh process: data.folder_datasets (the survey, the split and, in memory, the one-off decode)
and one epoch of the train loader at 224 px, batch 32, with data.dataloaders' default workers.
No model runs: this times data only. Peak RSS is the child process's ru_maxrss; lazy loading
adds worker processes, whose largest peak is reported apart (forked workers share most pages
with the parent, so the two do not add up). Saves helpers/study_results/big_folder.json.
"""

from __future__ import annotations

import argparse
import datetime
import gc
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import PIL
import torch
from PIL import Image

from helpers import data
from helpers.files import atomic_path

RESULTS = Path(__file__).resolve().parents[1] / "helpers" / "study_results"  # package data
SIZE = 224
BATCH_SIZE = 32
PHOTO_SIZE = (500, 375)
CLASSES = ("class_a", "class_b")
# mode -> (memory_budget: everything fits in memory, or nothing does; torch threads or None for
# torch's default). On a loaded 2-core machine the transforms' small tensor operations run 15x
# slower on 2 threads than on 1 (thread synchronisation); DataLoader workers use 1 thread each.
MODES = {"in memory": (2**62, None), "in memory, 1 thread": (2**62, 1), "lazy": (0, None)}


def photo(rng: np.random.Generator) -> Image.Image:
    """A photo-like 500x375 image: a colour gradient, soft blobs and a little sensor noise."""
    width, height = PHOTO_SIZE
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    start, end = rng.uniform(0, 255, (2, 3)).astype(np.float32)
    angle = rng.uniform(0, np.pi)
    t = (x * np.cos(angle) + y * np.sin(angle)) / (width + height)
    pixels = start + (end - start) * t[..., None]
    for _ in range(3):
        cx, cy, radius = rng.uniform(0, width), rng.uniform(0, height), rng.uniform(30, 120)
        blob = np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * radius**2))
        pixels += blob[..., None] * rng.uniform(-120, 120, 3).astype(np.float32)
    pixels += rng.normal(0, 6, pixels.shape).astype(np.float32)
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def make_folder(folder: Path, count: int) -> None:
    rng = np.random.default_rng(0)
    for i in range(count):
        path = folder / CLASSES[i % len(CLASSES)] / f"{i:05d}.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        photo(rng).save(path, quality=85)


def peak_mb(who: int) -> float:
    """ru_maxrss in MB: kilobytes on Linux, bytes on macOS."""
    peak = resource.getrusage(who).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10


def child(folder: Path, mode: str) -> dict:
    """Survey, build the data sets and run one train epoch; runs in its own process."""
    memory_budget, threads = MODES[mode]
    if threads is not None:
        torch.set_num_threads(threads)
    start = time.perf_counter()
    survey = data.survey_folder(folder)
    survey_s = time.perf_counter() - start
    start = time.perf_counter()  # folder_datasets surveys again, from the survey's cache
    datasets = data.folder_datasets(folder, size=SIZE, memory_budget=memory_budget)
    build_s = time.perf_counter() - start
    kind = type(datasets["train"]).__name__
    loaders = data.dataloaders(datasets, batch_size=BATCH_SIZE)
    start = time.perf_counter()
    images = sum(batch.shape[0] for batch, _ in loaders["train"])
    epoch_s = time.perf_counter() - start
    workers = loaders["train"].num_workers
    del loaders, datasets
    gc.collect()  # shuts the persistent workers down, so their peak is counted below
    return {
        "mode": mode,
        "torch_threads": torch.get_num_threads(),
        "dataset": kind,
        "photos": sum(survey.counts.values()),
        "decoded_estimate_bytes": survey.decoded_bytes(round(SIZE * 256 / 224)),
        "survey_s": round(survey_s, 2),
        "build_s": round(build_s, 2),
        "epoch_s": round(epoch_s, 2),
        "train_images": images,
        "images_per_s": round(images / epoch_s, 1),
        "workers": workers,
        "peak_rss_mb": round(peak_mb(resource.RUSAGE_SELF)),
        "peak_worker_rss_mb": round(peak_mb(resource.RUSAGE_CHILDREN)) if workers else None,
    }


def run_child(folder: Path, mode: str) -> dict:
    command = [sys.executable, __file__, "--child", mode, "--folder", str(folder)]
    result = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=10_000)
    parser.add_argument("--folder", type=Path, help="reuse (or keep) the photos in this folder")
    parser.add_argument("--no-save", action="store_true", help="print only")
    parser.add_argument("--child", choices=list(MODES), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.folder, args.child)))
        return
    folder = args.folder or Path(tempfile.mkdtemp(prefix="big-folder-"))
    try:
        if not any(folder.glob("*/*.jpg")):
            start = time.perf_counter()
            make_folder(folder, args.images)
            print(f"wrote {args.images} photos in {folder} in {time.perf_counter() - start:.0f} s")
        rows = [run_child(folder, mode) for mode in MODES]
    finally:
        if args.folder is None:
            shutil.rmtree(folder, ignore_errors=True)
    estimate = rows[0]["decoded_estimate_bytes"]
    print(f"{rows[0]['photos']} photos, {rows[0]['train_images']} in the train split")
    default = "in memory" if estimate <= data.MEMORY_BUDGET_BYTES else "lazy"
    print(
        f"decoded at {round(SIZE * 256 / 224)} px the photos take {estimate / 2**30:.2f} GiB: "
        f"folder_datasets' default (budget {data.MEMORY_BUDGET_BYTES / 2**30:.0f} GiB) is {default}"
    )
    print(
        f"{'mode':20} {'survey s':>8} {'decode s':>8} {'epoch s':>8} {'img/s':>7} {'workers':>7} "
        f"{'peak MB':>8} {'worker peak MB':>15}"
    )
    for row in rows:
        print(
            f"{row['mode']:20} {row['survey_s']:8.1f} {row['build_s']:8.1f} {row['epoch_s']:8.1f} "
            f"{row['images_per_s']:7.1f} {row['workers']:7d} {row['peak_rss_mb']:8d} "
            f"{row['peak_worker_rss_mb'] or '-':>15}"
        )
    if args.no_save:
        return
    table = {
        "date": datetime.date.today().isoformat(),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores, torch "
        f"{torch.__version__}, Pillow {PIL.__version__}",
        "command": "python " + " ".join(sys.argv),
        "photos": rows[0]["photos"],
        "photo_size": PHOTO_SIZE,
        "decoded_estimate_bytes": estimate,
        "default_mode": default,
        "memory_budget_bytes": data.MEMORY_BUDGET_BYTES,
        "size": SIZE,
        "batch_size": BATCH_SIZE,
        "rows": rows,
    }
    out = RESULTS / "big_folder.json"
    with atomic_path(out) as temporary:
        temporary.write_text(json.dumps(table, indent=1) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
