"""How much memory a notebook's kernel holds after Run All (and after a widget tour).

    python benchmarks/kernel_memory.py notebooks/02_architecture_tour.ipynb
    python benchmarks/kernel_memory.py NOTEBOOK --after "picker.value = 'vgg16'" ...

Executes a copy of the notebook in a fresh kernel (the committed one is not changed), runs
each --after snippet in that kernel as a cell of its own, and prints the kernel's resident
memory (VmRSS) after Run All and after each snippet, and its peak (VmHWM) at the end. Linux
only (/proc). For notebook 02 the default snippets tour the ArchitecturePicker through every
model of the tour. Binder gives a session about 2 GB.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

MEMORY = (
    "import re as _re\n"
    "from pathlib import Path as _Path\n"
    "_status = _Path('/proc/self/status').read_text()\n"
    "print('MEMORY', *(int(_re.search(key + r':\\s+(\\d+)', _status)[1]) // 1024"
    " for key in ('VmRSS', 'VmHWM')))"
)
PICKER_TOUR = [
    "import helpers.architectures as _arch\n"
    "for _name in _arch.TOUR_MODELS:\n"
    "    picker.value = _name\n"
    "print(len(_arch.TOUR_MODELS), 'models toured')"
]


def measure(
    path: Path, after: list[str], timeout: int = 1800, every_cell: bool = False
) -> list[tuple[str, int, int]]:
    """[(step, RSS MB, peak MB)] after Run All and after each snippet (and, with
    every_cell, after each of the notebook's code cells first)."""
    notebook = nbformat.read(path, as_version=4)
    steps = []
    if every_cell:
        cells = []
        for index, cell in enumerate(notebook.cells):
            cells.append(cell)
            if cell.cell_type == "code":
                cells.append(nbformat.v4.new_code_cell(MEMORY))
                first = next((line for line in cell.source.splitlines() if line.strip()), "")
                steps.append(f"cell {index}: {first[:50]}")
        notebook.cells = cells
    steps.append("Run All")
    notebook.cells.append(nbformat.v4.new_code_cell(MEMORY))
    for snippet in after:
        notebook.cells.append(nbformat.v4.new_code_cell(snippet))
        notebook.cells.append(nbformat.v4.new_code_cell(MEMORY))
        steps.append(snippet.splitlines()[-1][:60] if snippet.strip() else "(empty)")
    client = NotebookClient(
        notebook, timeout=timeout, resources={"metadata": {"path": str(path.parent)}}
    )
    client.execute()
    readings = []
    for cell in notebook.cells:
        if cell.cell_type == "code" and cell.source == MEMORY:
            text = "".join(o.get("text", "") for o in cell.outputs)
            rss, peak = map(int, re.search(r"MEMORY (\d+) (\d+)", text).groups())
            readings.append((rss, peak))
    return [(step, rss, peak) for step, (rss, peak) in zip(steps, readings, strict=True)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebook", type=Path)
    parser.add_argument("--after", action="append", help="code to run after Run All")
    parser.add_argument("--every-cell", action="store_true", help="a reading after each cell")
    args = parser.parse_args(argv)
    after = args.after
    if after is None and args.notebook.name.startswith("02_"):
        after = PICKER_TOUR
    start = time.perf_counter()
    rows = measure(args.notebook.resolve(), after or [], every_cell=args.every_cell)
    print(f"{args.notebook.name}, executed in {time.perf_counter() - start:.0f} s")
    print(f"{'after':<62} {'RSS MB':>7} {'peak MB':>8}")
    for step, rss, peak in rows:
        print(f"{step:<62} {rss:>7,} {peak:>8,}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
