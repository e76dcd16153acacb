"""What this machine can do for the course's CPU side: the CPUs this process may really use.

torch sizes its thread pool from the host's cores and ignores CPU quotas: in a JupyterHub
container limited to 2 CPUs on a 64-core server, every learner's kernel would start 64 threads
that take turns on 2 CPUs, many times slower than 2 threads. `cpu_limit` finds the real number
(scheduler affinity, the cgroup quota, JupyterHub's CPU_LIMIT) and `limit_threads` caps torch at
it; helpers.models calls it once at import, so every notebook runs with it. Read by
helpers.data (DataLoader workers) and helpers.doctor. Imports only the standard library and
torch.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import torch

# Where a container sees its own cgroup (Docker and Kubernetes mount it here).
CGROUP_ROOT = Path("/sys/fs/cgroup")
# The environment variable JupyterHub's spawners set to the CPUs a user's server may use.
CPU_LIMIT_VARIABLE = "CPU_LIMIT"


@dataclass(frozen=True)
class CpuLimit:
    """How many CPUs this process may use, and where that number came from."""

    cpus: int
    source: str  # "cgroup cpu.max", "cgroup v1 cfs quota", "CPU_LIMIT", "affinity", "cpu count"

    def __str__(self) -> str:
        return f"{self.cpus} CPU{'' if self.cpus == 1 else 's'} from {self.source}"


@dataclass(frozen=True)
class ThreadLimit:
    """What `limit_threads` did: torch's threads before and now, and the limit it applied."""

    threads: int
    before: int
    limit: CpuLimit


def cpu_limit(
    cgroup_root: str | Path = CGROUP_ROOT, environ: Mapping[str, str] | None = None
) -> CpuLimit:
    """The CPUs this process may really use: the smallest of every limit that applies.

    The limits: cgroup v2's cpu.max, cgroup v1's CFS quota (both under cgroup_root), the
    CPU_LIMIT variable of environ (default os.environ), and the scheduler affinity (else the
    CPU count). A fractional quota rounds up (1.5 CPUs: 2 threads). A missing or unreadable
    source sets no limit. Of equal limits, the first in that order names the source.
    """
    environ = os.environ if environ is None else environ
    root = Path(cgroup_root)
    v1 = root / "cpu"  # cgroup v1 keeps cpu.max's "quota period" pair in two files
    v1_pair = f"{_read(v1 / 'cpu.cfs_quota_us')} {_read(v1 / 'cpu.cfs_period_us')}"
    found = [
        _quota_limit(_read(root / "cpu.max"), "cgroup cpu.max"),
        _quota_limit(v1_pair, "cgroup v1 cfs quota"),
        _environment_limit(environ.get(CPU_LIMIT_VARIABLE, "")),
        _scheduler_limit(),
    ]
    return min((limit for limit in found if limit is not None), key=lambda limit: limit.cpus)


def limit_threads(limit: CpuLimit | None = None) -> ThreadLimit:
    """Lower torch's CPU threads to limit (default `cpu_limit()`) if torch uses more.

    Never raises them above what torch chose (a user's OMP_NUM_THREADS=1 stays), so calling it
    again changes nothing. Every notebook runs with it: helpers.models calls it at import.
    """
    limit = limit or cpu_limit()
    before = torch.get_num_threads()
    if before > limit.cpus:
        torch.set_num_threads(limit.cpus)
    return ThreadLimit(threads=torch.get_num_threads(), before=before, limit=limit)


def _read(path: Path) -> str:
    """The file's text, or "" when it is missing or unreadable (then it sets no limit)."""
    try:
        return path.read_text().strip()
    except (OSError, ValueError):
        return ""


def _quota_limit(text: str, source: str) -> CpuLimit | None:
    """A "quota period" pair in microseconds ("200000 100000": 2 CPUs) as whole CPUs, rounded up.

    "max" or a negative quota (cgroup v1's -1) means no limit.
    """
    try:
        quota, period = (int(field) for field in text.split())
    except ValueError:
        return None
    if quota <= 0 or period <= 0:
        return None
    return CpuLimit(max(1, -(-quota // period)), source)


def _environment_limit(text: str) -> CpuLimit | None:
    """JupyterHub's CPU_LIMIT, a float such as "2.0" or "0.5", as whole CPUs, rounded up."""
    try:
        cpus = float(text)
    except ValueError:
        return None
    if not math.isfinite(cpus) or cpus <= 0:
        return None
    return CpuLimit(max(1, math.ceil(cpus)), CPU_LIMIT_VARIABLE)


def _scheduler_limit() -> CpuLimit:
    """The CPUs the scheduler lets this process run on, else the machine's CPU count."""
    if hasattr(os, "sched_getaffinity"):
        return CpuLimit(max(1, len(os.sched_getaffinity(0))), "affinity")
    return CpuLimit(os.cpu_count() or 1, "cpu count")
