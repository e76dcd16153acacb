"""How long a notebook takes a learner, estimated from the notebook itself.

The estimate adds five parts, each read out of the executed ``.ipynb``:

- reading: the words of the markdown cells at ``READING_WPM``; hidden solution boxes are left
  out, the exercises cover them, and so is the time statement itself;
- code: ``SECONDS_PER_CODE_CELL`` to read and run each code cell, plus ``SECONDS_PER_CODE_LINE``
  for each non-blank line;
- computing: the time the cells took in the saved run (the ``execution`` timestamps that
  Jupyter records in each cell's metadata), on the machine that executed it;
- exercises: ``MINUTES_PER_EXERCISE`` each, unless the exercise states its own time right after
  its label ("**Exercise 6.** (about 25 minutes)"), as a long one that runs experiments does;
- activities: ``WIDGET_MINUTES`` for each widget a learner is meant to play with (a training
  panel trains an epoch per click; the saved run does not include those clicks).

Printed outputs are not counted in the total: a learner reads the numbers the prose points to,
not every word of a table. The Time line says how long reading every printed output word by word
would add (``Pace.output_minutes``, the same rate: 14 to 19 minutes in notebooks 02, 04 and 05).

Sections whose heading says "Optional" (their exercises included) are counted apart, so a
learner in a hurry sees what they may skip. Every notebook's ``**Time:**`` line is written from
this estimate, and so are the README's notebook map (one row per entry of ``helpers.course``,
with its time), the course's total there and TEACHING.md's timings table: ``python -m
helpers.pacing --write`` writes them all after a notebook is re-executed, and a test checks that
they still agree with the estimate, so the stated times cannot drift from the notebooks.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from helpers import course

# The course's learners read technical English as a second language (bootcamp learners; the notes
# it was built from are Korean). Brysbaert (2019, "How many words do we read per minute?",
# Journal of Memory and Language 109, 104047; 190 studies) puts adult native readers of English
# non-fiction at 238 words a minute on average (most between 175 and 300) and finds rates lower
# for second-language readers. For careful reading of technical text in a second language the
# course takes 95, 40% of that native average: the 90-100 range a careful reader of this course
# estimated for its learners, and below the slowest native readers.
READING_WPM = 95
SECONDS_PER_CODE_CELL = 15
SECONDS_PER_CODE_LINE = 3
MINUTES_PER_EXERCISE = 8  # read, predict, write a few lines, run, read the check's answer
# Minutes with each widget a notebook asks the learner to use, found by its constructor's call.
WIDGET_MINUTES = {
    "FreezePanel(": 10,  # choose groups, train an epoch (about 20 s a click), compare, repeat
    "ArchitecturePicker(": 5,  # pick a few architectures and read their cards
    "UploadPredictor(": 5,  # find a photo, upload it, read the prediction
}
ROUND_TO_MINUTES = 5

TIME_LINE_PREFIX = "**Time:**"
_EXERCISE = re.compile(
    r"^(?:#+\s*|\*\*)Exercise\s+\d+\.?\**\s*(?:\(about (\d+) minutes\))?", re.MULTILINE
)
_HEADING = re.compile(r"^(#{1,6})\s+(.*)$", re.MULTILINE)
_DETAILS = re.compile(r"<details>.*?</details>", re.DOTALL)
_TAG = re.compile(r"<[^>]+>")


@dataclass
class Pace:
    """One notebook's estimate, in minutes (``compute_seconds`` in seconds)."""

    reading: float
    code: float
    compute_seconds: float
    exercises: int
    optional: float  # minutes of the total that sit in optional sections
    activities: float = 0.0  # minutes with the notebook's widgets (WIDGET_MINUTES)
    exercise_minutes: float | None = None  # None: MINUTES_PER_EXERCISE each
    output_words: int = 0  # words the cells print (not in the total: see the module docstring)

    @property
    def output_minutes(self) -> float:
        """Minutes to read every printed output word by word at READING_WPM."""
        return self.output_words / READING_WPM

    @property
    def total(self) -> float:
        return (
            self.reading
            + self.code
            + self.compute_seconds / 60
            + self.on_exercises
            + self.activities
        )

    @property
    def on_exercises(self) -> float:
        """Minutes on the exercises: each one's stated time, else MINUTES_PER_EXERCISE."""
        if self.exercise_minutes is None:
            return self.exercises * MINUTES_PER_EXERCISE
        return self.exercise_minutes

    @property
    def rounded(self) -> int:
        """The total rounded to the nearest ``ROUND_TO_MINUTES``, never below that."""
        return max(ROUND_TO_MINUTES, ROUND_TO_MINUTES * round(self.total / ROUND_TO_MINUTES))

    @property
    def rounded_optional(self) -> int:
        return ROUND_TO_MINUTES * round(self.optional / ROUND_TO_MINUTES)


def _cell_seconds(cell: dict) -> float:
    stamps = cell.get("metadata", {}).get("execution", {})
    start, end = stamps.get("iopub.execute_input"), stamps.get("shell.execute_reply")
    if not (start and end):
        return 0.0
    parse = lambda s: datetime.fromisoformat(s.replace("Z", "+00:00"))  # noqa: E731
    return max(0.0, (parse(end) - parse(start)).total_seconds())


def estimate(path: str | Path) -> Pace:
    """Estimate the learner's time for one executed notebook (see the module docstring)."""
    cells = json.loads(Path(path).read_text(encoding="utf-8"))["cells"]
    reading = code = compute = optional = activities = 0.0
    exercises = output_words = 0
    exercise_minutes = 0.0
    optional_level = None  # heading level of the optional section we are in, if any
    for cell in cells:
        source = "".join(cell["source"])
        if cell["cell_type"] == "markdown":
            for hashes, title in _HEADING.findall(source):
                level = len(hashes)
                if "optional" in title.lower():
                    optional_level = level
                elif optional_level is not None and level <= optional_level:
                    optional_level = None
            text = _TAG.sub(" ", _DETAILS.sub(" ", _without_time_line(source)))
            stated = [int(m) if m else MINUTES_PER_EXERCISE for m in _EXERCISE.findall(source)]
            exercises += len(stated)
            exercise_minutes += sum(stated)
            reading += len(text.split()) / READING_WPM
            minutes = len(text.split()) / READING_WPM + sum(stated)
        elif cell["cell_type"] == "code":
            lines = sum(1 for line in source.splitlines() if line.strip())
            cell_minutes = (SECONDS_PER_CODE_CELL + SECONDS_PER_CODE_LINE * lines) / 60
            seconds = _cell_seconds(cell)
            widgets = sum(m for call, m in WIDGET_MINUTES.items() if call in _code_only(source))
            code += cell_minutes
            output_words += sum(len(_printed(output).split()) for output in cell.get("outputs", []))
            compute += seconds
            activities += widgets
            minutes = cell_minutes + seconds / 60 + widgets
        else:
            continue
        if optional_level is not None:
            optional += minutes
    return Pace(
        reading, code, compute, exercises, optional, activities, exercise_minutes, output_words
    )


def _without_time_line(source: str) -> str:
    """source without its **Time:** statement: the estimate must not count its own words (it
    would change with every rewrite of the line)."""
    lines = source.split("\n")
    block = _time_block(lines)
    return "\n".join(lines[: block[0]] + lines[block[1] :]) if block else source


def _printed(output: dict) -> str:
    """The text a code cell printed (stdout, a plain-text result, a table displayed as
    markdown); progress bars, widgets and figures are not read word by word."""
    if output.get("output_type") == "stream":
        return "".join(output.get("text", "")) if output.get("name") == "stdout" else ""
    data = output.get("data", {})
    if "text/markdown" in data:  # a table the notebook displays as markdown
        return "".join(data["text/markdown"])
    if output.get("output_type") == "execute_result" and set(data) == {"text/plain"}:
        return "".join(data["text/plain"])
    return ""


def _code_only(source: str) -> str:
    """source without its comments (a widget named in a comment is not used)."""
    return "\n".join(line.split("#", 1)[0] for line in source.splitlines())


def _run_time(seconds: float) -> str:
    if seconds < 60:
        return "under a minute"
    minutes = math.ceil(seconds / 60)
    return f"about {minutes} minute{'s' if minutes > 1 else ''}"


def time_line(pace: Pace) -> str:
    """The notebook's ``**Time:**`` line, written from its estimate."""
    optional = (
        f" ({pace.rounded_optional} of them in sections marked optional)"
        if pace.rounded_optional
        else ""
    )
    exercises = f"{pace.exercises} exercise{'s' if pace.exercises != 1 else ''}"
    computing = _run_time(pace.compute_seconds)
    widgets = f" {round(pace.activities)} with the widgets," if pace.activities else ""
    minutes = round(pace.output_minutes)
    printed = f"about {minutes} minute{'s' if minutes != 1 else ''}" if minutes else "little"
    return (
        f"{TIME_LINE_PREFIX} about {pace.rounded} minutes (to the nearest {ROUND_TO_MINUTES})"
        f" to work through{optional}:"
        f" about {round(pace.reading)} reading, {round(pace.code)} reading and running the code,"
        f" {round(pace.on_exercises)} on the {exercises},{widgets} and {computing} of"
        " computing on the 2-core CPU that executed this copy (estimated from the notebook by"
        f" `helpers.pacing`; reading every printed output word by word would add {printed})."
    )


def _time_block(lines: list[str]) -> tuple[int, int] | None:
    """Where the time statement sits: from its ``**Time:**`` line up to the next bold label
    (``**Prerequisites:**``, ...) or the end of its paragraph. None if there is none."""
    for start, line in enumerate(lines):
        if line.startswith(TIME_LINE_PREFIX):
            end = start + 1
            while end < len(lines) and lines[end].strip() and not lines[end].startswith("**"):
                end += 1
            return start, end
    return None


def _first_cell(path: Path) -> tuple[dict, list[str]]:
    notebook = json.loads(path.read_text(encoding="utf-8"))
    return notebook, "".join(notebook["cells"][0]["source"]).split("\n")


def stated_time_line(path: str | Path) -> str | None:
    """The time statement in the notebook's first cell, joined onto one line, or None."""
    _, lines = _first_cell(Path(path))
    block = _time_block(lines)
    return " ".join(" ".join(lines[block[0] : block[1]]).split()) if block else None


def write_time_line(path: str | Path) -> bool:
    """Put the estimate's time line into the notebook's first cell; True if it changed."""
    path = Path(path)
    notebook, lines = _first_cell(path)
    block = _time_block(lines)
    if block is None:
        raise ValueError(f"{path.name}: its first cell has no line starting {TIME_LINE_PREFIX}")
    new_line = time_line(estimate(path))
    if stated_time_line(path) == new_line:
        return False
    lines[block[0] : block[1]] = [new_line]
    notebook["cells"][0]["source"] = "\n".join(lines).splitlines(keepends=True)
    path.write_text(json.dumps(notebook, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return True


def course_hours(paths: list[Path]) -> str:
    """The whole course's learner time, the notebooks' rounded times added, to the half hour:
    "10.5". The README states it."""
    minutes = sum(estimate(path).rounded for path in paths)
    return f"{round(minutes / 30) / 2:g}"


def timings_table(paths: list[Path]) -> str:
    """A markdown table of each notebook's learner time and computing time (TEACHING.md)."""
    rows = [
        "| notebook | learner time | of which optional | computing (Run All, 2 CPU cores) |",
        "|---|---:|---:|---|",
    ]
    for path in paths:
        pace = estimate(path)
        optional = f"{pace.rounded_optional} min" if pace.rounded_optional else "-"
        rows.append(
            f"| `{Path(path).name}` | ~{pace.rounded} min | {optional} |"
            f" {_run_time(pace.compute_seconds)} |"
        )
    return "\n".join(rows)


MAP_HEADER = "| # | notebook | what you learn | open | time to work through |"
_TOTAL = re.compile(r"^(\w+) notebooks, about [\d.]+ hours in all", re.MULTILINE)
_LAUNCH = re.compile(r"^\| [^|]+ \| `(?P<file>[^`]+)` \| .* \| (?P<launch>[^|]*) \| [^|]* \|$")


def _table_at(lines: list[str], header: str) -> tuple[int, int]:
    """Where the markdown table starting with the line header sits: (first, past last line)."""
    starts = [i for i, line in enumerate(lines) if line.startswith(header)]
    if not starts:
        raise ValueError(f"no table starting {header[:40]!r}")
    end = starts[0]
    while end < len(lines) and lines[end].startswith("|"):
        end += 1
    return starts[0], end


def readme_map(readme: str, folder: Path | None = None) -> str:
    """readme with its notebook map written from the course's table of contents: a row per
    notebook (its number, file, what it teaches, its launch links as they were, its estimated
    time) and the sentence above it stating how many notebooks and hours."""
    lines = readme.split("\n")
    start, end = _table_at(lines, MAP_HEADER)
    launch = {}
    for line in lines[start + 2 : end]:
        match = _LAUNCH.match(line)
        if match:
            launch[match["file"]] = match["launch"]
    rows = [MAP_HEADER, "|---|---|---|---|---|"]
    for notebook in course.NOTEBOOKS:
        minutes = estimate(notebook.path(folder)).rounded
        rows.append(
            f"| {notebook.label} | `{notebook.file}` | {notebook.learn} |"
            f" {launch.get(notebook.file, course.NOT_PUBLISHED)} | ~{minutes} min |"
        )
    lines[start:end] = rows
    text = "\n".join(lines)
    hours = course_hours(course.paths(folder))
    count = course.count_in_words().capitalize()
    text, found = _TOTAL.subn(f"{count} notebooks, about {hours} hours in all", text)
    if not found:
        raise ValueError("the README no longer says '<N> notebooks, about <H> hours in all'")
    return text


def teaching_timings(teaching: str, folder: Path | None = None) -> str:
    """teaching (TEACHING.md) with its timings table written from the estimates."""
    lines = teaching.split("\n")
    start, end = _table_at(lines, "| notebook | learner time |")
    lines[start:end] = timings_table(course.paths(folder)).split("\n")
    return "\n".join(lines)


def write_pages(root: Path = course.ROOT) -> list[str]:
    """Rewrite the README's map and TEACHING.md's timings; the names of the pages that changed."""
    changed = []
    for name, write in (("README.md", readme_map), ("TEACHING.md", teaching_timings)):
        path = root / name
        old = path.read_text(encoding="utf-8")
        new = write(old, root / "notebooks")
        if new != old:
            path.write_text(new, encoding="utf-8")
            changed.append(name)
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m helpers.pacing", description="Estimate each notebook's learner time."
    )
    parser.add_argument(
        "notebooks", nargs="*", type=Path, help="default: the course's (helpers.course)"
    )
    parser.add_argument(
        "--write",
        action="store_true",
        help="rewrite each **Time:** line, the README's notebook map and TEACHING.md's timings",
    )
    parser.add_argument("--table", action="store_true", help="print TEACHING.md's timings table")
    args = parser.parse_args(argv)
    paths = args.notebooks or course.paths()
    if args.table:
        print(timings_table(paths))
        return 0
    total = 0
    for path in paths:
        pace = estimate(path)
        total += pace.rounded
        changed = write_time_line(path) if args.write else False
        print(f"{path.name}: ~{pace.rounded} min{' (updated)' if changed else ''}")
        print(f"  {time_line(pace)}")
    print(f"all: ~{total} min ({total / 60:.1f} h)")
    if args.write and not args.notebooks:
        for name in write_pages():
            print(f"{name}: updated")
    return 0


if __name__ == "__main__":
    sys.exit(main())
