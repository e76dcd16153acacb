"""helpers.files: a write either completes or leaves the old file and nothing else."""

from __future__ import annotations

import os
from pathlib import Path

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


def test_paths_are_shown_as_a_reader_recognises_them(monkeypatch, tmp_path):
    import tempfile

    from helpers.files import PathsShown, shown

    data_folder = tmp_path / "shared" / "data"
    monkeypatch.setenv("COURSE_DATA_DIR", str(data_folder))
    assert shown(data_folder / "hymenoptera_data") == "$COURSE_DATA_DIR/hymenoptera_data"
    assert shown(data_folder) == "$COURSE_DATA_DIR"
    data_folder.mkdir(parents=True)
    (tmp_path / "link").symlink_to(data_folder)  # a link is shown as used, not followed
    if not tmp_path.is_relative_to(Path.home()):
        assert not shown(tmp_path / "link" / "x.jpg").startswith("$COURSE_DATA_DIR")
    monkeypatch.delenv("COURSE_DATA_DIR")
    temporary = Path(tempfile.gettempdir())
    assert (
        shown(temporary / "course-export-x" / "my_model.pt") == "<temp>/course-export-x/my_model.pt"
    )
    assert shown(Path.home() / ".cache" / "torch") == "~/.cache/torch"
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notebooks").mkdir()
    monkeypatch.chdir(tmp_path / "notebooks")
    if not tmp_path.is_relative_to(temporary):  # else <temp> names it first
        assert shown(tmp_path / "data" / "x.jpg") == "../data/x.jpg"
    written = []

    class Stream:
        def write(self, text):
            written.append(text)
            return len(text)

    PathsShown(Stream(), [Path.home() / ".cache"]).write(
        f"Downloading to {Path.home()}/.cache/a.pth\n"
    )
    assert written == ["Downloading to ~/.cache/a.pth\n"]
