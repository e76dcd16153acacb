"""Bilinear or bicubic resizing: which one the course's backbone sees best, measured.

    COURSE_DATA_DIR=../shared/data python benchmarks/interpolation.py   # about 2 min

timm's config for tf_efficientnet_lite0 names bicubic; torchvision's Resize defaults to bilinear.
This measures both on ImageNet's own head (the pretrained classifier, no training: its ant and
bee outputs), on every hymenoptera photo (train and val, the placeholder GIF left out), and the
seconds each takes to resize. Each photo is decoded at full resolution, upright (data.load_photo),
its short side resized to the backbone's resize size with one interpolation, then centre-cropped.
The verdict: one interpolation is better when it gets more than one photo more right; otherwise
the two tie on this data and the faster one wins. Prints a markdown table for benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import platform
import time

import torch
from torchvision import transforms
from torchvision.transforms import InterpolationMode

from helpers import data, models

MODES = {"bilinear": InterpolationMode.BILINEAR, "bicubic": InterpolationMode.BICUBIC}


def measure(backbone: str = data.DEFAULT_BACKBONE) -> dict[str, dict]:
    spec = models.BACKBONES[backbone]
    root = data.hymenoptera(download=False)
    model = models.load_backbone(backbone, pretrained=True).eval()
    tail = transforms.Compose(
        [
            transforms.CenterCrop(spec.input_size),
            transforms.ToTensor(),
            transforms.Normalize(spec.mean, spec.std),
        ]
    )
    photos = []
    for split in data.SPLITS:
        classes, samples = data.datasets._class_folder_samples(
            root / split, data.HYMENOPTERA_EXCLUDE
        )
        photos += [(data.load_photo(path), label) for path, label in samples]
    indices = models.imagenet_indices(classes)
    results = {}
    for name, mode in MODES.items():
        resize = transforms.Resize(spec.resize_size, interpolation=mode, antialias=True)
        start = time.perf_counter()
        resized = [resize(photo) for photo, _ in photos]
        seconds = time.perf_counter() - start
        batch = torch.stack([tail(image) for image in resized])
        labels = torch.tensor([label for _, label in photos])
        with torch.no_grad():
            logits = torch.cat([model(part) for part in batch.split(32)])[:, indices]
        right = logits.argmax(1) == labels
        true_probability = logits.softmax(1)[torch.arange(len(labels)), labels]
        results[name] = {
            "right": right,
            "correct": int(right.sum()),
            "photos": len(labels),
            "true_probability": true_probability.mean().item(),
            "resize_ms": 1000 * seconds / len(photos),
        }
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backbone", default=data.DEFAULT_BACKBONE)
    args = parser.parse_args()
    results = measure(args.backbone)
    bilinear, bicubic = results["bilinear"], results["bicubic"]
    disagree = int((bilinear["right"] != bicubic["right"]).sum())
    print(f"{args.backbone}, ImageNet's own head on hymenoptera, {platform.machine()}, "
          f"torch {torch.__version__}")  # fmt: skip
    print("| interpolation | right | accuracy | mean probability of the truth | resize ms/photo |")
    print("|---|---:|---:|---:|---:|")
    for name, row in results.items():
        print(
            f"| {name} | {row['correct']}/{row['photos']} | {row['correct'] / row['photos']:.3f} "
            f"| {row['true_probability']:.3f} | {row['resize_ms']:.1f} |"
        )
    gap = bicubic["correct"] - bilinear["correct"]
    print(
        f"photos right under one and wrong under the other: {disagree}; bicubic - bilinear: {gap}"
    )
    if abs(gap) > 1:
        better = "bicubic" if gap > 0 else "bilinear"
        print(f"verdict: {better} is better by {abs(gap)} photos")
    else:
        faster = min(results, key=lambda name: results[name]["resize_ms"])
        print(f"verdict: tie (within one photo); {faster} is faster")


if __name__ == "__main__":
    main()
