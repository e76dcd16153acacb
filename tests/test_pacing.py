"""Stated learner times: the estimate's arithmetic; every notebook and the README agree with it."""

import json
import re
from pathlib import Path

import pytest

from helpers import pacing

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def _markdown(text):
    return {"cell_type": "markdown", "metadata": {}, "source": text}


def _code(text, seconds=None):
    metadata = {}
    if seconds is not None:
        metadata["execution"] = {
            "iopub.execute_input": "2026-11-24T10:00:00.000000Z",
            "shell.execute_reply": f"2026-11-24T10:{seconds // 60:02d}:{seconds % 60:02d}.000000Z",
        }
    return {"cell_type": "code", "metadata": metadata, "source": text, "outputs": []}


def _write(tmp_path, cells, name="nb.ipynb"):
    path = tmp_path / name
    notebook = {"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    path.write_text(json.dumps(notebook, indent=1) + "\n", encoding="utf-8")
    return path


def test_estimate_adds_reading_code_compute_and_exercises(tmp_path):
    words = " ".join(["word"] * pacing.READING_WPM * 10)  # ten minutes of reading
    path = _write(
        tmp_path,
        [
            _markdown("# Title\n\n**Time:** x\n\n" + words),
            _code("a = 1\n\nb = 2\n", seconds=120),  # two non-blank lines, two minutes
            _markdown(
                "**Exercise 1.** Do it.\n\n<details><summary>Solution</summary>"
                + " hidden" * 500
                + "</details>"
            ),
        ],
    )
    pace = pacing.estimate(path)
    heading_words = 4 + 4  # "# Title **Time:** x" and "**Exercise 1.** Do it."
    assert pace.reading == pytest.approx(10 + heading_words / pacing.READING_WPM)
    assert pace.code == pytest.approx(
        (pacing.SECONDS_PER_CODE_CELL + 2 * pacing.SECONDS_PER_CODE_LINE) / 60
    )
    assert pace.compute_seconds == pytest.approx(120)
    assert pace.exercises == 1
    assert pace.total == pytest.approx(pace.reading + pace.code + 2 + pacing.MINUTES_PER_EXERCISE)
    assert pace.optional == 0


def test_optional_sections_are_counted_apart(tmp_path):
    words = " ".join(["word"] * pacing.READING_WPM * 20)
    path = _write(
        tmp_path,
        [
            _markdown("# Title\n\n**Time:** x"),
            _markdown("## 2. Optional deep dive: more\n\n" + words),
            _code("x = 1", seconds=60),
            _markdown("## 3. Back to the main road\n\n" + words),
        ],
    )
    pace = pacing.estimate(path)
    optional = 6 / pacing.READING_WPM + 20  # the six words of the heading, then the text
    optional += (pacing.SECONDS_PER_CODE_CELL + pacing.SECONDS_PER_CODE_LINE) / 60 + 1
    assert pace.optional == pytest.approx(optional, rel=0.01)
    assert pace.total > pace.optional + 19  # the section after it is not optional


def test_an_exercise_inside_an_optional_section_is_optional_too(tmp_path):
    cells = [
        _markdown("# Title\n\n**Exercise 1.** Core."),
        _markdown("## Optional: more\n\n**Exercise 2.** Do it."),
        _markdown("## Back\n\nText."),
    ]
    pace = pacing.estimate(_write(tmp_path, cells))
    assert pace.exercises == 2
    words = 7  # "## Optional: more **Exercise 2.** Do it."
    assert pace.optional == pytest.approx(words / pacing.READING_WPM + pacing.MINUTES_PER_EXERCISE)


def test_write_time_line_rewrites_only_the_time_statement_and_is_idempotent(tmp_path):
    first = "# Title\n\nIntro.\n**Time:** about\nforever.\n**Prerequisites:** none.\n\nNext."
    path = _write(tmp_path, [_markdown(first), _code("1")])
    assert pacing.write_time_line(path) is True
    written = "".join(json.loads(path.read_text())["cells"][0]["source"])
    line = pacing.time_line(pacing.estimate(path))
    assert line.startswith("**Time:** about 5 minutes")
    assert written == f"# Title\n\nIntro.\n{line}\n**Prerequisites:** none.\n\nNext."
    assert pacing.stated_time_line(path) == line
    assert pacing.write_time_line(path) is False


def test_write_time_line_refuses_a_notebook_without_one(tmp_path):
    path = _write(tmp_path, [_markdown("# Title only")])
    with pytest.raises(ValueError, match=r"\*\*Time:\*\*"):
        pacing.write_time_line(path)


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_each_notebook_states_its_estimated_time(notebook):
    stated = pacing.stated_time_line(notebook)
    expected = pacing.time_line(pacing.estimate(notebook))
    assert stated == expected, (
        f"{notebook.name}: its time line is out of date; run `python -m helpers.pacing --write`"
    )


def test_readme_map_shows_each_notebooks_estimated_time():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for notebook in NOTEBOOKS:
        row = next((line for line in readme.splitlines() if f"`{notebook.name}`" in line), None)
        assert row is not None, f"README's notebook map has no row for {notebook.name}"
        minutes = re.findall(r"~(\d+) min", row)
        assert minutes, f"README row for {notebook.name} states no time"
        assert int(minutes[-1]) == pacing.estimate(notebook).rounded, notebook.name


def test_readme_states_the_course_time_the_notebooks_add_up_to():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    stated = re.search(r"about ([\d.]+) hours in all", readme)
    assert stated, "the README no longer states the course's total time"
    assert stated.group(1) == pacing.course_hours(NOTEBOOKS)


def test_a_widget_a_learner_plays_with_counts_its_minutes(tmp_path):
    cells = [
        {"cell_type": "code", "source": ["panel = widgets.FreezePanel(model, loaders)\n"]},
        {"cell_type": "code", "source": ["# widgets.UploadPredictor(model) is not used here\n"]},
    ]
    path = tmp_path / "widgets.ipynb"
    path.write_text(json.dumps({"cells": cells}))
    pace = pacing.estimate(path)
    assert pace.activities == pacing.WIDGET_MINUTES["FreezePanel("]
    assert pace.total == pytest.approx(pace.code + pace.activities)
    assert f"{pace.activities:.0f} with the widgets" in pacing.time_line(pace)


def test_teaching_page_shows_the_timings_table():
    teaching = (ROOT / "TEACHING.md").read_text(encoding="utf-8")
    table = pacing.timings_table(NOTEBOOKS)
    assert table in teaching, (
        "TEACHING.md's timings are out of date: python -m helpers.pacing --table"
    )


def test_readme_map_rows_have_as_many_cells_as_its_header():
    """A row with extra cells renders shifted (or not at all): each row fits the header."""
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| # | notebook |"))
    table = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        table.append(line)
    width = len(table[0].strip("|").split(" | "))
    assert width == 5, table[0]
    rows = table[2:]
    assert len(rows) == len(NOTEBOOKS)
    for row in rows:
        cells = re.split(r"(?<!\\)\|", row.strip().strip("|"))
        assert len(cells) == width, row[:80]
