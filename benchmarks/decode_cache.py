"""Decode once and keep in memory (helpers.data) vs decode every epoch (torchvision ImageFolder).

Run: COURSE_DATA_DIR=../shared/data python benchmarks/decode_cache.py [--epochs 3]
Both sides produce the same batches' shapes: (B, 3, 224, 224) train crops, with the tutorial's
transforms on full-size files for the baseline. No model runs: this times data only.
"""

from __future__ import annotations

import argparse
import time

from torch.utils.data import DataLoader
from torchvision import datasets, transforms

from helpers import data
from helpers.models import IMAGENET_MEAN, IMAGENET_STD


def one_pass(loader: DataLoader) -> int:
    return sum(images.shape[0] for images, _ in loader)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args()
    root = data.hymenoptera(download=False)
    tutorial = transforms.Compose(
        [
            transforms.RandomResizedCrop(224),
            transforms.RandomHorizontalFlip(),
            transforms.ToTensor(),
            transforms.Normalize(IMAGENET_MEAN, IMAGENET_STD),
        ]
    )
    rows = []
    for name, make in (
        (
            "ImageFolder, full-size decode every epoch",
            lambda: datasets.ImageFolder(root / "train", tutorial),
        ),
        ("helpers.data, decoded once (draft mode)", lambda: data.image_datasets(root)["train"]),
    ):
        data.clear_decode_cache()
        start = time.perf_counter()
        loader = DataLoader(make(), batch_size=32, shuffle=True, num_workers=0)
        setup = time.perf_counter() - start
        epoch_times = []
        for _ in range(args.epochs):
            start = time.perf_counter()
            count = one_pass(loader)
            epoch_times.append(time.perf_counter() - start)
        rows.append((name, setup, epoch_times, count))
    print(f"{'loader':45} {'setup s':>8} {'epoch 1 s':>10} {'later epoch s':>14} {'images':>7}")
    for name, setup, epoch_times, count in rows:
        later = sum(epoch_times[1:]) / max(len(epoch_times) - 1, 1)
        print(f"{name:45} {setup:8.2f} {epoch_times[0]:10.2f} {later:14.2f} {count:7d}")
    (_, base_setup, base, _), (_, ours_setup, ours, _) = rows
    total_base, total_ours = base_setup + sum(base), ours_setup + sum(ours)
    per_epoch_base, per_epoch_ours = sum(base) / len(base), sum(ours) / len(ours)
    print(
        f"per epoch: ImageFolder {per_epoch_base:.2f} s, decoded once {per_epoch_ours:.2f} s "
        f"({per_epoch_base / per_epoch_ours:.1f}x); {args.epochs} epochs including the one-off "
        f"decode: {total_base:.1f} s vs {total_ours:.1f} s ({total_base / total_ours:.1f}x)"
    )


if __name__ == "__main__":
    main()
