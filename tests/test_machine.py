"""helpers.machine: the CPUs a process may really use, and torch's threads capped at them."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from helpers.machine import CpuLimit, cpu_limit

NO_ENVIRONMENT: dict[str, str] = {}


@pytest.fixture
def server_with_64_cores(monkeypatch):
    """The scheduler lets this process run on 64 cores, as on a shared class server."""
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(64)), raising=False)


def cgroup_v2(root, cpu_max: str):
    root.mkdir(exist_ok=True)
    (root / "cpu.max").write_text(cpu_max + "\n")
    return root


def cgroup_v1(root, quota: str, period: str = "100000"):
    (root / "cpu").mkdir(parents=True, exist_ok=True)
    (root / "cpu" / "cpu.cfs_quota_us").write_text(quota + "\n")
    (root / "cpu" / "cpu.cfs_period_us").write_text(period + "\n")
    return root


@pytest.mark.usefixtures("server_with_64_cores")
@pytest.mark.parametrize(
    ("cpu_max", "expected"),
    [
        ("200000 100000", CpuLimit(2, "cgroup cpu.max")),
        ("150000 100000", CpuLimit(2, "cgroup cpu.max")),  # 1.5 CPUs: rounded up
        ("50000 100000", CpuLimit(1, "cgroup cpu.max")),  # never below 1
        ("max 100000", CpuLimit(64, "affinity")),  # no limit
        ("garbage", CpuLimit(64, "affinity")),
    ],
)
def test_cgroup_v2_cpu_max(tmp_path, cpu_max, expected):
    assert cpu_limit(cgroup_v2(tmp_path / "cgroup", cpu_max), NO_ENVIRONMENT) == expected


@pytest.mark.usefixtures("server_with_64_cores")
@pytest.mark.parametrize(
    ("quota", "expected"),
    [
        ("300000", CpuLimit(3, "cgroup v1 cfs quota")),
        ("250000", CpuLimit(3, "cgroup v1 cfs quota")),
        ("-1", CpuLimit(64, "affinity")),  # no limit
    ],
)
def test_cgroup_v1_cfs_quota(tmp_path, quota, expected):
    assert cpu_limit(cgroup_v1(tmp_path, quota), NO_ENVIRONMENT) == expected


@pytest.mark.usefixtures("server_with_64_cores")
@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2.0", CpuLimit(2, "CPU_LIMIT")),
        ("0.5", CpuLimit(1, "CPU_LIMIT")),
        ("", CpuLimit(64, "affinity")),
        ("abc", CpuLimit(64, "affinity")),
        ("nan", CpuLimit(64, "affinity")),
    ],
)
def test_jupyterhub_cpu_limit_variable(tmp_path, value, expected):
    assert cpu_limit(tmp_path, {"CPU_LIMIT": value}) == expected


@pytest.mark.usefixtures("server_with_64_cores")
def test_the_smallest_limit_wins(tmp_path, monkeypatch):
    root = cgroup_v1(cgroup_v2(tmp_path / "cgroup", "400000 100000"), "300000")
    assert cpu_limit(root, {"CPU_LIMIT": "2.0"}) == CpuLimit(2, "CPU_LIMIT")
    assert cpu_limit(root, {"CPU_LIMIT": "8"}) == CpuLimit(3, "cgroup v1 cfs quota")
    assert cpu_limit(root, NO_ENVIRONMENT) == CpuLimit(3, "cgroup v1 cfs quota")
    cgroup_v2(root, "100000 100000")
    assert cpu_limit(root, {"CPU_LIMIT": "2.0"}) == CpuLimit(1, "cgroup cpu.max")
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0}, raising=False)
    assert cpu_limit(tmp_path / "nowhere", {"CPU_LIMIT": "2.0"}) == CpuLimit(1, "affinity")


def test_without_limits_it_is_the_scheduler_affinity(tmp_path):
    if hasattr(os, "sched_getaffinity"):
        expected = CpuLimit(len(os.sched_getaffinity(0)), "affinity")
    else:
        expected = CpuLimit(os.cpu_count() or 1, "cpu count")
    assert cpu_limit(tmp_path / "nowhere", NO_ENVIRONMENT) == expected


@pytest.mark.usefixtures("server_with_64_cores")
def test_an_unreadable_cgroup_file_sets_no_limit(tmp_path):
    (tmp_path / "cpu.max").mkdir()  # reading a folder raises IsADirectoryError
    (tmp_path / "cpu").mkdir()
    (tmp_path / "cpu" / "cpu.cfs_quota_us").write_bytes(b"\xff\xfe")  # not UTF-8
    (tmp_path / "cpu" / "cpu.cfs_period_us").write_text("100000")
    assert cpu_limit(tmp_path, NO_ENVIRONMENT) == CpuLimit(64, "affinity")


def test_the_limit_reads_as_cpus_and_source():
    assert str(CpuLimit(2, "cgroup cpu.max")) == "2 CPUs from cgroup cpu.max"
    assert str(CpuLimit(1, "CPU_LIMIT")) == "1 CPU from CPU_LIMIT"


def threads_in_a_fresh_python(code: str, **environment: str) -> dict:
    """Run code in a new Python with environment added; it prints a JSON answer."""
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, **environment},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


def test_importing_the_course_caps_torchs_threads():
    # 4 threads on any machine, as torch would start on a many-core server.
    code = (
        "import json, torch; torch.set_num_threads(4); import helpers.models; "
        "print(json.dumps(torch.get_num_threads()))"
    )
    assert threads_in_a_fresh_python(code, CPU_LIMIT="1") == 1


def test_limit_threads_never_raises_torchs_threads_and_says_what_it_did():
    code = (
        "import json, torch; from helpers.machine import CpuLimit, limit_threads; "
        "torch.set_num_threads(2); "
        "first = limit_threads(CpuLimit(3, 'test')); second = limit_threads(CpuLimit(3, 'test')); "
        "lowered = limit_threads(CpuLimit(1, 'test')); "
        "print(json.dumps([[r.before, r.threads, r.limit.cpus] for r in (first, second, lowered)]))"
    )
    first, second, lowered = threads_in_a_fresh_python(code)
    assert first == [2, 2, 3]  # a limit above torch's threads leaves them
    assert second == first  # again: nothing changes
    assert lowered == [2, 1, 1]
