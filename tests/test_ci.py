"""CI's robustness: a hung test fails in minutes, what CI needs is never silently skipped, and a
failed package install does not end the run before the tests can say what is missing."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import tomllib

from tests.conftest import missing

REPO = Path(__file__).resolve().parents[1]


def test_a_missing_need_skips_on_a_laptop_and_fails_in_ci(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="needs the data"):
        missing("needs the data")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="needs the data.*CI is set"):
        missing("needs the data")


def test_the_ci_script_sets_ci_so_that_needs_fail_there():
    assert 'export CI="${CI:-true}"' in (REPO / ".ci" / "run").read_text()


def test_every_test_and_notebook_cell_has_a_timeout_of_minutes():
    options = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    addopts = options["addopts"]
    cell = re.search(r"--nbval-cell-timeout=(\d+)", addopts)
    test = re.search(r"--timeout=(\d+)", addopts)
    assert cell and int(cell[1]) <= 300, addopts
    assert test and int(test[1]) <= 600, addopts
    requirements = (REPO / "requirements.txt").read_text()
    assert re.search(r"^pytest-timeout==", requirements, re.M)  # what --timeout needs


def test_a_failed_apt_install_does_not_end_the_ci_run(tmp_path):
    """Run .ci/run's install blocks under its own `set -euo pipefail` with an apt-get that
    always fails and neither chromium nor npm on PATH: the script must go on."""
    script = (REPO / ".ci" / "run").read_text()
    start = script.index("# The browser test drives")
    end = script.index("python -m helpers.doctor")
    # `apt-get update` works, the install fails (a package that cannot be had)
    (tmp_path / "apt-get").write_text(
        '#!/bin/sh\n[ "$1" = update ] && exit 0\necho "E: no such package" >&2\nexit 100\n'
    )
    (tmp_path / "apt-get").chmod(0o755)
    block = "set -euo pipefail\n" + script[start:end] + "echo still-running\n"
    bash = subprocess.run(["which", "bash"], capture_output=True, text=True).stdout.strip()
    result = subprocess.run(
        [bash, "-c", block], env={"PATH": str(tmp_path)}, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert "still-running" in result.stdout
    assert "could not install chromium" in result.stderr
    assert "could not install npm" in result.stderr
