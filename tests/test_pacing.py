"""Stated learner times: the estimate's arithmetic; every notebook and the README agree with it."""

import json
import re
from pathlib import Path

import pytest

from helpers import course, pacing

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = course.paths()


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
    heading_words = 2 + 4  # "# Title" and "**Exercise 1.** Do it." (the time line is not read)
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


def test_readme_map_is_written_from_the_table_of_contents_and_the_estimates():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert pacing.readme_map(readme) == readme, (
        "the README's notebook map is out of date: run `python -m helpers.pacing --write`"
    )


def test_the_map_gets_a_row_for_a_new_notebook_and_keeps_the_launch_links(tmp_path, monkeypatch):
    """Adding a notebook is an entry in helpers.course: --write gives it a row and a time."""
    cells = [_markdown("# 01 · One\n\n**Time:** x"), _code("x = 1", seconds=60)]
    entries = []
    for number in ("01", "02"):
        _write(tmp_path, cells, name=f"{number}_n.ipynb")
        entries.append(course.Notebook(number, f"{number}_n", "N", f"what {number} teaches"))
    monkeypatch.setattr(course, "NOTEBOOKS", tuple(entries))
    readme = "\n".join([
        "One notebooks, about 1 hours in all.", "", pacing.MAP_HEADER, "|---|---|---|---|---|",
        "| 1 | `01_n.ipynb` | old words | [Colab](c) · [Binder](b) | ~99 min |", "", "After.",
    ])  # fmt: skip
    minutes = pacing.estimate(tmp_path / "01_n.ipynb").rounded
    assert pacing.readme_map(readme, tmp_path).split("\n") == [
        f"Two notebooks, about {pacing.course_hours(course.paths(tmp_path))} hours in all.", "",
        pacing.MAP_HEADER, "|---|---|---|---|---|",
        f"| 1 | `01_n.ipynb` | what 01 teaches | [Colab](c) · [Binder](b) | ~{minutes} min |",
        f"| 2 | `02_n.ipynb` | what 02 teaches | after publishing | ~{minutes} min |", "", "After.",
    ]  # fmt: skip


def test_teaching_timings_replace_only_the_table():
    teaching = "# T\n\n| notebook | learner time | old |\n|---|\n| `x` | 1 |\n\nAfter."
    written = pacing.teaching_timings(teaching)
    assert written == f"# T\n\n{pacing.timings_table(NOTEBOOKS)}\n\nAfter."


def test_an_exercise_that_states_its_time_counts_that_time(tmp_path):
    cells = [
        _markdown("**Exercise 1.** Quick.\n\n**Exercise 2.** (about 25 minutes) Run a study."),
        _markdown("### Exercise 3\n\nLook it up."),
    ]
    pace = pacing.estimate(_write(tmp_path, cells))
    assert pace.exercises == 3
    assert pace.on_exercises == 25 + 2 * pacing.MINUTES_PER_EXERCISE
    assert f"{25 + 2 * pacing.MINUTES_PER_EXERCISE} on the 3 exercises" in pacing.time_line(pace)


def test_printed_outputs_are_counted_apart_and_named_in_the_time_line(tmp_path):
    cell = _code("print(table)")
    words = " ".join(["0.948"] * pacing.READING_WPM * 3)  # three minutes of printed numbers
    cell["outputs"] = [
        {"output_type": "stream", "name": "stdout", "text": [words]},
        {"output_type": "stream", "name": "stderr", "text": ["epochs: 100%|##| 4/4"]},
        {"output_type": "execute_result", "data": {"text/plain": ["<Figure>"], "image/png": ""}},
        {"output_type": "display_data", "data": {"text/markdown": ["| a | b |"]}},
    ]
    pace = pacing.estimate(_write(tmp_path, [cell]))
    assert pace.output_words == pacing.READING_WPM * 3 + 5  # the markdown table's 5 "words"
    assert pace.output_minutes == pytest.approx(3 + 5 / pacing.READING_WPM)
    assert pace.total == pytest.approx(pace.code)  # not in the total
    assert "word by word would add about 3 minutes" in pacing.time_line(pace)


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
    assert pacing.teaching_timings(teaching) == teaching, (
        "TEACHING.md's timings are out of date: python -m helpers.pacing --write"
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
