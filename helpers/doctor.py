"""Check that this machine can run the course: `python -m helpers.doctor`.

Prints one line per check, OK or what to do, and exits non-zero when the course cannot run.
"""

from __future__ import annotations

import importlib.metadata
import sys
from collections.abc import Callable
from pathlib import Path

MIN_PYTHON = (3, 10)
PINNED = {"torch": "2.14.1", "torchvision": "0.29.1"}

OK, WARN, FAIL = "OK", "WARN", "FAIL"


def _python() -> tuple[str, str]:
    version = ".".join(map(str, sys.version_info[:3]))
    if sys.version_info < MIN_PYTHON:
        return FAIL, f"Python {version}: the course needs 3.10 or newer"
    return OK, f"Python {version}"


def _versions() -> tuple[str, str]:
    found = {}
    for package in ("torch", "torchvision", "timm", "ipywidgets", "jupyterlab"):
        try:
            found[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            return FAIL, f"{package} is not installed: run pip install -r requirements.txt"
    text = ", ".join(f"{k} {v}" for k, v in found.items())
    off = [p for p, v in PINNED.items() if found[p].split("+")[0] != v]
    if off:
        return WARN, f"{text} (tested with {', '.join(f'{p}=={PINNED[p]}' for p in off)})"
    return OK, text


def _torchvision_ops() -> tuple[str, str]:
    import torch
    import torchvision

    try:
        torchvision.ops.nms(torch.zeros(1, 4), torch.zeros(1), 0.5)
    except RuntimeError as error:
        return FAIL, (
            f"torchvision's compiled ops do not load ({error}); torch and torchvision do not "
            "match: pip install -r requirements.txt"
        )
    return OK, "torchvision compiled ops load"


def _device() -> tuple[str, str]:
    import torch

    from helpers.machine import cpu_limit
    from helpers.training import pick_device

    device = pick_device()
    if device.type == "cuda":
        return OK, f"device: cuda ({torch.cuda.get_device_name(0)})"
    if device.type == "mps":
        return OK, "device: mps (Apple GPU)"
    count = torch.get_num_threads()
    threads = f"{count} thread{'s' * (count != 1)} (limit {cpu_limit()})"
    return OK, f"device: cpu, {threads}; every notebook is sized for this"


def _data() -> tuple[str, str]:
    from helpers import data

    try:
        path = data.hymenoptera(download=False)
    except data.DatasetError as error:
        return WARN, str(error).replace("\n", " ")
    return OK, f"hymenoptera data: {path}"


def _weights() -> tuple[str, str]:
    import torch

    from helpers.models import load_backbone

    model = load_backbone("efficientnet_lite0")
    with torch.no_grad():
        logits = model(torch.zeros(1, 3, 224, 224))
    if logits.shape != (1, 1000):
        return FAIL, f"efficientnet_lite0 gives {tuple(logits.shape)} logits, expected (1, 1000)"
    return OK, "efficientnet_lite0 ImageNet weights load (no download needed)"


def _resnet18_cache() -> tuple[str, str]:
    from helpers.models import resnet18_weights_file

    cached = resnet18_weights_file()
    if cached.exists():
        return OK, f"resnet18 weights cached: {cached}"
    return WARN, f"resnet18 weights not cached; downloaded (47 MB) on first use into {cached}"


def _widgets() -> tuple[str, str]:
    try:
        import ipywidgets
    except ImportError:
        return FAIL, "ipywidgets is missing: pip install -r requirements.txt"
    extension = Path(sys.prefix, "share/jupyter/labextensions/@jupyter-widgets/jupyterlab-manager")
    if not extension.is_dir():
        return FAIL, (
            f"ipywidgets {ipywidgets.__version__} found, but not the JupyterLab widget extension "
            f"({extension}): pip install -r requirements.txt in this environment"
        )
    return OK, f"ipywidgets {ipywidgets.__version__} and the JupyterLab widget extension"


CHECKS: list[Callable[[], tuple[str, str]]] = [
    _python,
    _versions,
    _torchvision_ops,
    _device,
    _data,
    _weights,
    _resnet18_cache,
    _widgets,
]


def run_checks() -> list[tuple[str, str]]:
    """(status, message) for every check; a check that crashes is a FAIL with its error."""
    results = []
    for check in CHECKS:
        try:
            results.append(check())
        except Exception as error:  # a doctor reports, it does not crash
            results.append((FAIL, f"{check.__name__.strip('_')}: {type(error).__name__}: {error}"))
    return results


def main() -> int:
    results = run_checks()
    for status, message in results:
        print(f"[{status:4}] {message}")
    failed = sum(status == FAIL for status, _ in results)
    print(
        "The course can run."
        if not failed
        else f"{failed} problem(s) to fix before the course can run."
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
