"""Every "Notebook NN" that the library, the README, the glossary or a notebook names exists."""

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
NUMBERS = {path.name.split("_", 1)[0] for path in NOTEBOOKS}
REFERENCE = re.compile(r"\b[Nn]otebooks? (\d\d[a-z]?)\b")
LINKED_FILE = re.compile(r"\b(\d\d[a-z]?_[a-z0-9_]+\.ipynb)\b")


def _texts():
    for path in sorted((ROOT / "helpers").rglob("*.py")):
        yield path.relative_to(ROOT).as_posix(), path.read_text(encoding="utf-8")
    for name in ("README.md", "GLOSSARY.md", "TEACHING.md", "helpers/README.md"):
        path = ROOT / name
        if path.exists():
            yield name, path.read_text(encoding="utf-8")
    for path in NOTEBOOKS:
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        yield path.name, "\n".join("".join(cell["source"]) for cell in cells)


def test_the_notebooks_are_numbered_in_teaching_order():
    assert NOTEBOOKS, "no notebooks found"
    assert len(NUMBERS) == len(NOTEBOOKS), "two notebooks share a number"


@pytest.mark.parametrize(("name", "text"), list(_texts()), ids=lambda v: v if "\n" not in v else "")
def test_named_notebooks_exist(name, text):
    missing = sorted(set(REFERENCE.findall(text)) - NUMBERS)
    assert not missing, f"{name} names notebook(s) {missing}, which do not exist"
    files = {path.name for path in NOTEBOOKS}
    missing_files = sorted(set(LINKED_FILE.findall(text)) - files)
    assert not missing_files, f"{name} names {missing_files}, which do not exist"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_cell_ids_are_unique(notebook):
    ids = [cell.get("id") for cell in json.loads(notebook.read_text(encoding="utf-8"))["cells"]]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    assert not duplicates, f"{notebook.name}: duplicate cell ids {duplicates}"
