"""Installing the helpers package on its own, as Colab's set-up cell does.

pyproject.toml declares helpers' runtime dependencies with lower bounds only; requirements.txt
pins the tested versions. The fast tests check that the two agree with what helpers imports.
The slow test builds a wheel, installs it into a fresh venv whose only other packages are
this environment's (no index: pip must find every declared dependency already installed,
so it cannot replace a torch that works), and runs notebook 01's first cells there.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
from importlib import metadata
from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib", reason="needs Python 3.11+")
REPO = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
DISTRIBUTION = PROJECT["name"]
NOTEBOOK_01 = REPO / "notebooks" / "01_imagenet_background.ipynb"


def normalised(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def declared() -> dict[str, str]:
    """{distribution: lower bound} from pyproject.toml's dependencies."""
    bounds = {}
    for requirement in PROJECT["dependencies"]:
        name, bound = re.fullmatch(r"([A-Za-z0-9_.-]+)>=([0-9.]+)", requirement).groups()
        bounds[normalised(name)] = bound
    return bounds


def pinned() -> dict[str, str]:
    """{distribution: version} from requirements.txt."""
    pins = {}
    for line in (REPO / "requirements.txt").read_text(encoding="utf-8").splitlines():
        match = re.fullmatch(r"([A-Za-z0-9_.-]+)==([0-9][^\s#]*)", line.strip())
        if match:
            pins[normalised(match[1])] = match[2]
    return pins


def imported_modules() -> set[str]:
    """Top-level modules that helpers/ imports, other than the standard library and itself."""
    modules = set()
    for path in (REPO / "helpers").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                modules |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                modules.add(node.module.split(".")[0])
    return modules - set(sys.stdlib_module_names) - {"helpers", "__future__"}


def version_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", version.split("+")[0])[:3])


def test_every_import_of_helpers_is_a_declared_dependency():
    providers = metadata.packages_distributions()
    needed = {
        module: {normalised(d) for d in providers.get(module, [])} for module in imported_modules()
    }
    missing = {module: dists for module, dists in needed.items() if not dists & set(declared())}
    assert not missing, f"imported by helpers/ but not in pyproject's dependencies: {missing}"
    unused = set(declared()) - set().union(*needed.values())
    assert not unused, f"declared but never imported by helpers/: {unused}"


def test_declared_bounds_admit_the_pinned_versions():
    pins = pinned()
    for name, bound in declared().items():
        if name in pins:  # the rest (ipython, huggingface-hub) come with jupyterlab and timm
            assert version_tuple(pins[name]) >= version_tuple(bound), (name, pins[name], bound)
        assert version_tuple(metadata.version(name)) >= version_tuple(bound), name


def first_cells_script() -> str:
    """Notebook 01's first code cell (its imports), then its backbone on a photo, as a script."""
    cells = json.loads(NOTEBOOK_01.read_text(encoding="utf-8"))["cells"]
    code = ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]
    first = next(c for c in code if "from helpers import" in c)
    first = "\n".join(line for line in first.splitlines() if not line.startswith("%"))
    return (
        first
        + """
import helpers
model = models.load_backbone(models.DEFAULT_BACKBONE).eval()
x = imagenet.preprocess(imagenet.load_photo(imagenet.sample_photo_path()), models.DEFAULT_BACKBONE)
with torch.no_grad():
    probabilities = model(x.unsqueeze(0)).softmax(1)[0]
print("HELPERS", helpers.__file__)
print("TORCH", torch.__version__, torch.__file__)
print("TOP5", [names[i] for i in probabilities.topk(5).indices.tolist()])
from helpers import results  # what notebooks 04 and 05 load: package data, not the checkout
for study in ("hymenoptera", "strategies"):
    print("STUDY_" + study, results.load_study(study)["meta"]["commit"])
"""
    )


@pytest.mark.slow
def test_wheel_installs_without_replacing_torch_and_runs_notebook_01(tmp_path):
    pytest.importorskip("setuptools", reason="the wheel is built without build isolation")
    # build from a copy, so nothing is written into the working tree
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, source / name)
    shutil.copytree(
        REPO / "helpers", source / "helpers", ignore=shutil.ignore_patterns("__pycache__")
    )
    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
         "-q", "-w", str(wheels), str(source)],
        check=True,
    )  # fmt: skip
    (wheel,) = wheels.glob("*.whl")

    # The environment's packages, less this project, play the part of Colab's preinstalled ones.
    here = Path(sysconfig.get_paths()["purelib"])
    hosted = tmp_path / "hosted"
    hosted.mkdir()
    for entry in here.iterdir():
        if not re.match(r"(__editable__|transfer_course_helpers)", entry.name):
            (hosted / entry.name).symlink_to(entry)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    venv_site = Path(
        subprocess.run(
            [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True, capture_output=True, text=True,
        ).stdout.strip()
    )  # fmt: skip
    (venv_site / "hosted.pth").write_text(f"{hosted}\n")

    install = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-index", str(wheel)],
        capture_output=True, text=True,
    )  # fmt: skip
    assert install.returncode == 0, install.stdout + install.stderr
    installed = sorted(p.name for p in venv_site.glob("*.dist-info"))
    assert installed == [f"{DISTRIBUTION.replace('-', '_')}-{PROJECT['version']}.dist-info"], (
        installed
    )

    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(MPLBACKEND="Agg", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    script = tmp_path / "first_cells.py"
    script.write_text(first_cells_script())
    run = subprocess.run(
        [python, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600
    )
    assert run.returncode == 0, run.stdout + run.stderr
    lines = dict(line.split(" ", 1) for line in run.stdout.splitlines() if " " in line)
    assert lines["HELPERS"].startswith(str(venv_site)), "helpers came from the working tree"
    torch_version, torch_file = lines["TORCH"].split(" ", 1)
    import torch

    assert torch_version == torch.__version__ and torch_file.startswith(str(hosted))
    assert "military uniform" in lines["TOP5"], lines["TOP5"]  # the pretrained weights loaded
    assert lines["STUDY_hymenoptera"] and lines["STUDY_strategies"]  # notebooks 04/05 can load
