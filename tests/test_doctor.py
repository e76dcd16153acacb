"""python -m helpers.doctor: one line per check, non-zero exit when the course cannot run."""

from __future__ import annotations

import subprocess
import sys

from helpers import doctor


def test_doctor_passes_here(real_data, monkeypatch):
    monkeypatch.setenv("COURSE_DATA_DIR", str(real_data.parent))
    result = subprocess.run(
        [sys.executable, "-m", "helpers.doctor"], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "[OK  ] hymenoptera data" in result.stdout
    assert "efficientnet_lite0 ImageNet weights load" in result.stdout


def test_doctor_fails_and_says_why(monkeypatch, capsys):
    monkeypatch.setattr(doctor, "CHECKS", [doctor._python, lambda: (doctor.FAIL, "broken thing")])
    assert doctor.main() == 1
    assert "broken thing" in capsys.readouterr().out


def test_a_crashing_check_is_reported_not_raised(monkeypatch):
    def explode():
        raise RuntimeError("boom")

    monkeypatch.setattr(doctor, "CHECKS", [explode])
    assert doctor.run_checks() == [(doctor.FAIL, "explode: RuntimeError: boom")]


def test_the_cpu_line_names_the_threads_and_the_limit(monkeypatch):
    import torch

    from helpers import training

    monkeypatch.setattr(training, "pick_device", lambda preferred=None: torch.device("cpu"))
    monkeypatch.setenv("CPU_LIMIT", "1")  # JupyterHub's limit: 1 CPU, whatever else applies
    status, line = doctor._device()
    assert status == doctor.OK
    assert line.startswith(f"device: cpu, {torch.get_num_threads()} threads (limit 1 CPU from ")
