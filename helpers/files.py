"""Writing files so that a crash never leaves a half-written one: the course's one way to save.

Imports nothing else from helpers; every module that writes a file uses this one.
"""

from __future__ import annotations

import os
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
