"""An input that is not there, or a folder with nothing to scan, keeps the room it was scanned under, as an
unreadable file does: formats.md's `sources[].room` is "the room from --room or a rooms file". It was null, and
the JUnit report filed such a source under "recordings" instead of its room."""

from __future__ import annotations

from pathlib import Path

from impersonation_cli.io.rooms import Room
from impersonation_cli.pipeline.scan import scan_inputs

from .builders import model_free_context


def test_missing_inputs_and_empty_folders_keep_their_rooms(tmp_path: Path) -> None:
    missing, empty, text = str(tmp_path / "missing.mp4"), tmp_path / "empty", tmp_path / "notes.txt"
    empty.mkdir()
    text.write_text("not a video")
    inputs = [missing, str(empty), str(text)]
    rooms = {item: Room(item, "douyin:123456") for item in inputs}
    result = scan_inputs(inputs, model_free_context(), rooms)
    assert sorted((s.source, s.status, s.room) for s in result.sources) == sorted(
        (item, "unreadable", "douyin:123456") for item in inputs
    )
