"""What an input path is, said as it is: /dev/zero or a FIFO given to `scan` was reported as "no such file or
folder", and a folder given to `gallery add` as "no such file"."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from impersonation_cli.errors import UnreadableInput
from impersonation_cli.io.sources import check_file, expand_inputs, not_a_file


def test_each_kind_of_path_is_named(tmp_path: Path) -> None:
    video = tmp_path / "clip.mp4"
    video.write_bytes(b"x")
    pipe = tmp_path / "pipe.mp4"
    os.mkfifo(pipe)
    assert not_a_file(video) is None
    assert not_a_file(tmp_path) == "a folder, not a file"
    assert not_a_file(pipe) == "not a regular file (a device, pipe or socket)"
    assert not_a_file(tmp_path / "gone.mp4") == "no such file"


def test_a_pipe_is_refused_before_anything_opens_it(tmp_path: Path) -> None:
    pipe = tmp_path / "live.mp4"
    os.mkfifo(pipe)
    with pytest.raises(UnreadableInput, match=r"live\.mp4: not a regular file"):
        check_file(str(pipe))  # opening a FIFO with no writer would block forever
    sources, problems = expand_inputs([str(pipe), str(tmp_path / "gone.mp4")])
    assert sources == []
    assert [p.message for p in problems] == ["not a regular file (a device, pipe or socket)", "no such file or folder"]
