"""helpers.files: a write either completes or leaves the old file and nothing else."""

from __future__ import annotations

import os

import pytest
import torch

from helpers import files


def test_save_atomically_replaces_the_file_with_usual_permissions(tmp_path):
    path = tmp_path / "sub" / "state.pt"
    files.save_atomically({"w": torch.ones(2)}, path)
    files.save_atomically({"w": torch.zeros(3)}, path)
    assert torch.equal(torch.load(path, weights_only=True)["w"], torch.zeros(3))
    assert [p.name for p in path.parent.iterdir()] == ["state.pt"]
    umask = os.umask(0)
    os.umask(umask)
    assert os.stat(path).st_mode & 0o777 == 0o666 & ~umask


def test_a_failed_write_keeps_the_old_file_and_leaves_no_partial_one(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("old")
    with pytest.raises(RuntimeError, match="disk full"), files.atomic_path(path) as temporary:
        temporary.write_text("half of the new")
        raise RuntimeError("disk full")
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]
