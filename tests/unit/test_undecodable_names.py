"""A file whose name is not UTF-8 is opened through FFmpeg without leaving a file open: watch's reader (and scan's
streams' `open_video`) handed such a file to PyAV as a Python file object, which the container never closes, and
`why_unopened` opened it again for its reason, so each unreadable one left two files open."""

from __future__ import annotations

import gc
import os
import warnings
from pathlib import Path

import pytest

from impersonation_cli.errors import UnreadableInput
from impersonation_cli.io.sources import open_video, probe

from .small_clips import grey_ramp_clip


def unclosed_files(action: object) -> list[str]:
    """The files `action` (a callable) left open, as the ResourceWarnings of their collection say."""
    gc.collect()  # an earlier test's garbage in this process, collected here, is not blamed on `action`
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        action()  # type: ignore[operator]
        gc.collect()
    return [str(warning.message) for warning in caught if issubclass(warning.category, ResourceWarning)]


def test_a_video_named_in_other_bytes_is_read_and_closed(tmp_path: Path) -> None:
    clip = grey_ramp_clip(tmp_path / "clip.mp4", 1)
    name = os.fsdecode(os.fsencode(str(tmp_path)) + b"/caf\xe9.mp4")
    clip.rename(name)

    def read() -> None:
        with open_video(name) as container:
            assert container.streams.video[0].codec_context.width == 160
        assert probe(name).width == 160

    assert unclosed_files(read) == []


def test_an_unreadable_file_named_in_other_bytes_leaves_no_file_open(tmp_path: Path) -> None:
    name = os.fsdecode(os.fsencode(str(tmp_path)) + b"/caf\xe9.mp4")
    Path(name).write_bytes(b"not a video" * 100)

    def read() -> None:
        with pytest.raises(UnreadableInput, match="cannot open"):
            open_video(name)

    assert unclosed_files(read) == []
