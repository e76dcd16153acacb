"""Features from a frozen backbone, computed once. Taught in notebook 05."""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from helpers.training import pick_device


@torch.no_grad()
def extract_features(
    model: nn.Module,
    loader: DataLoader,
    device: str | torch.device | None = None,
    progress: bool = True,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Run model (eval mode, no gradients) over loader.

    Returns (features (N, D) float32 on the CPU, labels (N,) int64). Pass a backbone whose head
    was removed (models.remove_head) to get its pooled features.
    """
    device = pick_device(device) if not isinstance(device, torch.device) else device
    model.to(device).eval()
    features, labels = [], []
    for images, batch_labels in tqdm(loader, desc="features", unit="batch", disable=not progress):
        features.append(model(images.to(device)).flatten(1).float().cpu())
        labels.append(batch_labels)
    return torch.cat(features), torch.cat(labels)
