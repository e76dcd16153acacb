"""Smoke test of benchmarks/peers.py --quick: every part runs and the result lines parse, and
its bf16 detection reads the CPU's flags (mocked both ways).

A quick run's numbers mean nothing (6 photos a class, one epoch, one seed); the full run's are
in benchmarks/README.md. Where fastai is not installed (CI: it is a benchmark-only dependency)
its peer line says so.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "peers.py"
NUMBER = r"\d+(?:\.\d+)?"
RESULT_LINES = [
    rf"^peer: tutorial final (0\.\d{{3}}|1\.000) \+- {NUMBER} best {NUMBER} in {NUMBER} s$",
    rf"^peer: fastai (final .* in {NUMBER} s|not installed)$",
    rf"^peer: course final (0\.\d{{3}}|1\.000) \+- {NUMBER} best {NUMBER} in {NUMBER} s$",
    rf"^fast path: fine-tune {NUMBER} s -> {NUMBER} s; features {NUMBER} s -> {NUMBER} s; "
    r"path (fp32|channels_last|channels_last \+ bf16 autocast)$",
    rf"^floor: fine-tune {NUMBER}; fixed-extractor {NUMBER}$",
]


def _module():
    spec = importlib.util.spec_from_file_location("benchmark_peers", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_quick_run_ends_with_the_result_lines(real_data):
    env = dict(os.environ, COURSE_DATA_DIR=str(real_data.parent))
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--seeds", "0"],
        capture_output=True, text=True, env=env, timeout=900,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    last = result.stdout.strip().splitlines()[-len(RESULT_LINES) :]
    for pattern, line in zip(RESULT_LINES, last, strict=True):
        assert re.match(pattern, line), (pattern, line)
    assert "growth:" in result.stdout and "fit seconds = " in result.stdout


def test_peers_must_include_the_course(capsys):
    """Every verdict compares a peer with the course, so a run without it is refused."""
    with pytest.raises(SystemExit) as error:
        _module().main(["--peers", "tutorial", "fastai"])
    assert error.value.code == 2
    assert "must include course" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("flags", "native"),
    [("fpu avx2 avx512f avx512_bf16", True), ("fpu amx_bf16", True), ("fpu avx2 avx512f", False)],
)
def test_bf16_is_detected_from_the_cpu_flags(tmp_path, monkeypatch, flags, native):
    module = _module()
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(f"processor : 0\nflags : {flags}\n")
    real_path = module.Path
    monkeypatch.setattr(module, "Path", lambda p: cpuinfo if p == "/proc/cpuinfo" else real_path(p))
    assert module.native_bf16() is native


def test_the_fast_path_gives_fp32_predictions_within_tolerance():
    """On a fixed batch, the fast path (channels_last, and bf16 autocast where this CPU has it)
    predicts the same classes as fp32 and its logits differ by little."""
    import torch

    from helpers import models

    module = _module()
    torch.manual_seed(0)
    images = torch.rand(8, 3, 224, 224) * 2 - 1
    model = models.replace_head(models.load_backbone(module.BACKBONE), 2, [310, 309]).eval()
    with torch.no_grad():
        reference = model(images)
    with module.fast_path(True) as path, torch.no_grad():
        fast_model = models.replace_head(models.load_backbone(module.BACKBONE), 2, [310, 309])
        fast = fast_model.eval()(images.to(memory_format=torch.channels_last)).float()
    assert fast_model.conv_stem.weight.is_contiguous(memory_format=torch.channels_last)
    assert torch.equal(fast.argmax(1), reference.argmax(1)), path
    tolerance = 0.25 if "bf16" in path else 1e-3  # logits; bf16 keeps 8 bits of mantissa
    assert (fast - reference).abs().max().item() < tolerance, path
