"""Files: writing them so that a crash never leaves a half-written one (the course's one way to
save), and showing their paths as a reader recognises them (`shown`).

Imports nothing else from helpers; every module that writes a file uses this one.
"""

from __future__ import annotations

import os
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import torch


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary path beside path; on success it is renamed to path, on failure deleted.

    with atomic_path("model.pt") as temporary: torch.save(obj, temporary). The rename is
    atomic on one file system, so readers see the old file or the complete new one, never a
    truncated one, and a failed write leaves nothing behind.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # A name no other writer uses; the writer creates the file, so it gets the usual permissions
    # (tempfile.mkstemp would make it readable by its owner only).
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.partial")
    try:
        yield temporary
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def save_atomically(obj: object, path: str | Path) -> Path:
    """torch.save(obj, path) through atomic_path. Returns path."""
    path = Path(path)
    with atomic_path(path) as temporary:
        torch.save(obj, temporary)
    return path


# -- paths as a reader recognises them ---------------------------------------------------------
DATA_VARIABLE = "COURSE_DATA_DIR"  # helpers.data reads the data folder from it


def _roots() -> list[tuple[Path, str]]:
    """(folder, how it is written), the most specific first."""
    roots = []
    if os.environ.get(DATA_VARIABLE):
        roots.append((Path(os.environ[DATA_VARIABLE]), f"${DATA_VARIABLE}"))
    roots += [(Path(tempfile.gettempdir()), "<temp>"), (Path.home(), "~")]
    return roots


def shown(path: str | Path) -> str:
    """path as a reader of a committed notebook recognises it, not the executing machine's
    absolute path: under $COURSE_DATA_DIR "$COURSE_DATA_DIR/hymenoptera_data", in the
    temporary folder "<temp>/my_model.pt", under the home folder "~/.cache/torch/...", under
    the working folder relative to it ("../data/..."), else as it is."""
    path = Path(path)
    absolute = Path(os.path.abspath(path))  # links not followed: the path as it was used
    roots = sorted(_roots(), key=lambda r: -len(Path(os.path.abspath(r[0])).parts))
    for candidate, resolve in ((absolute, os.path.abspath), (absolute.resolve(), os.path.realpath)):
        for root, name in roots:
            try:
                relative = candidate.relative_to(resolve(root))
            except ValueError:
                continue
            return name if relative == Path() else f"{name}/{relative.as_posix()}"
    return os.path.relpath(absolute) if absolute.is_relative_to(Path.cwd().parent) else str(path)


class PathsShown:
    """A stream that writes through to another with every absolute path of folders it was
    given written as shown() writes it: `with contextlib.redirect_stderr(PathsShown(
    sys.stderr, [folder]))` around a library that prints its own paths (torch.hub)."""

    def __init__(self, stream=None, folders: list[str | Path] = ()):
        self.stream = stream or sys.stderr
        self.folders = sorted({str(Path(f)) for f in folders}, key=len, reverse=True)

    def write(self, text: str) -> int:
        for folder in self.folders:
            text = text.replace(folder, shown(folder))
        return self.stream.write(text)

    def flush(self) -> None:
        self.stream.flush()

    def __getattr__(self, name: str):
        return getattr(self.stream, name)
