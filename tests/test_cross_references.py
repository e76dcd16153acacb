"""Every "Notebook NN" that the library, the README, the glossary or a notebook names exists, and
the table of contents (helpers.course) is the notebooks folder, in order, with their titles."""

import json
import re
from pathlib import Path

import pytest

from helpers import course

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = course.paths()
NUMBERS = set(course.numbers())
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
    assert course.numbers() == sorted(course.numbers()), "helpers.course lists them out of order"
    for notebook in course.NOTEBOOKS:
        assert notebook.stem.startswith(notebook.number + "_"), notebook.stem


def test_the_table_of_contents_is_the_notebooks_folder():
    unlisted, missing = course.strays()
    assert not unlisted, f"add {unlisted} to helpers/course.py's NOTEBOOKS (or remove the file)"
    assert not missing, f"helpers/course.py lists {missing}, which notebooks/ does not hold"


def test_a_notebook_the_table_lacks_is_found(tmp_path):
    for notebook in course.NOTEBOOKS[1:]:
        (tmp_path / notebook.file).write_text("{}")
    (tmp_path / "07_extra.ipynb").write_text("{}")
    assert course.strays(tmp_path) == (["07_extra.ipynb"], [course.NOTEBOOKS[0].file])


@pytest.mark.parametrize("notebook", course.NOTEBOOKS, ids=lambda n: n.stem)
def test_each_notebook_opens_with_its_title(notebook):
    first = json.loads(notebook.path().read_text(encoding="utf-8"))["cells"][0]["source"]
    assert "".join(first).split("\n", 1)[0] == notebook.heading, (
        f"{notebook.file}'s title and helpers/course.py's disagree"
    )


COUNT = re.compile(r"(?:\bof |^)(\w+) notebooks\b", re.IGNORECASE | re.MULTILINE)


def _miscounted(name: str, text: str) -> list[str]:
    """Counts ("the first of six notebooks", "Six notebooks, about") that are not the course's."""
    words = [w for w in COUNT.findall(text) if w.lower() in course.NUMBER_WORDS]
    return [f"{name}: {w} notebooks" for w in words if w.lower() != course.count_in_words()]


def test_the_prose_counts_the_notebooks_the_course_has():
    wrong = [finding for name, text in _texts() for finding in _miscounted(name, text)]
    assert not wrong, f"the course has {course.count_in_words()} notebooks: {wrong}"


def test_a_stale_count_is_found():
    text = "The first of six notebooks.\nSix notebooks, about 9 hours in all. The two notebooks"
    assert _miscounted("x", text) == ["x: six notebooks", "x: Six notebooks"]


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
