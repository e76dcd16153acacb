"""DataLoaders: how many worker processes, and the train/val loaders. Notebook 04."""

from __future__ import annotations

import multiprocessing

import torch
from torch.utils.data import DataLoader, Dataset, Subset

from helpers.data.datasets import LazyImages
from helpers.machine import cpu_limit

MAX_LOADER_WORKERS = 4


def _cpu_count() -> int:
    return cpu_limit().cpus


def default_num_workers(dataset: Dataset | None = None) -> int:
    """DataLoader worker processes for dataset.

    0 for photos decoded in memory: workers would only add start-up cost, and they break in
    notebooks on macOS and Windows (spawn cannot pickle notebook objects). A LazyImages data set
    decodes each photo as it is used: then one worker per CPU core (at most MAX_LOADER_WORKERS)
    decodes beside training, where workers start by fork (Linux); elsewhere 0.
    """
    while isinstance(dataset, Subset):
        dataset = dataset.dataset
    method = multiprocessing.get_start_method(allow_none=True)
    method = method or multiprocessing.get_all_start_methods()[0]  # the first is the default
    if not isinstance(dataset, LazyImages) or method != "fork":
        return 0
    return min(MAX_LOADER_WORKERS, _cpu_count())


def dataloaders(
    datasets: dict[str, Dataset],
    batch_size: int = 32,
    num_workers: int | None = None,
    seed: int | None = 0,
) -> dict[str, DataLoader]:
    """{"train": shuffled loader, "val": ordered loader}. seed fixes the shuffling order.

    num_workers: default default_num_workers(dataset) for each data set.
    """
    generator = torch.Generator().manual_seed(seed) if seed is not None else None
    loaders = {}
    for split, dataset in datasets.items():
        workers = default_num_workers(dataset) if num_workers is None else num_workers
        loaders[split] = DataLoader(
            dataset,
            batch_size=batch_size,
            shuffle=(split == "train"),
            num_workers=workers,
            generator=generator if split == "train" else None,
            pin_memory=torch.cuda.is_available(),
            persistent_workers=workers > 0,
        )
    return loaders
