"""The public API's surface and its argument checks, without models."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import impersonation_cli
from impersonation_cli.api import Scanner, _rooms_by_item, room_assignments
from impersonation_cli.errors import ModelPackError, UserError
from impersonation_cli.io.rooms import Room

from ..conftest import REPO, script_module


def test_the_api_reference_is_written_from_the_current_docstrings() -> None:
    make_api_docs = script_module("make_api_docs")
    current = (REPO / "docs" / "api.md").read_text(encoding="utf-8")
    assert make_api_docs.with_reference(current) == current, "docs/api.md is out of date: run scripts/make_api_docs.py"
    # Each public method of Scanner has its own entry with its signature.
    for method in ("open", "scan", "scan_sources", "watch", "watcher", "close"):
        assert f"`Scanner.{method}`" in current or f"`scanner.{method}`" in current, method


def test_every_public_name_resolves_and_is_documented() -> None:
    guide = (REPO / "docs" / "api.md").read_text(encoding="utf-8")
    for name in impersonation_cli.__all__:
        assert getattr(impersonation_cli, name) is not None
        assert f"`{name}" in guide or name == "__version__", f"{name} is public but docs/api.md does not name it"
    with pytest.raises(AttributeError, match="no attribute 'scan_paths'"):
        _ = impersonation_cli.scan_paths
    # What ScanResult.load raises, as docs/api.md names it: not importable from the package before.
    from impersonation_cli import ResultFormatError
    from impersonation_cli.results import ScanResult

    with pytest.raises(ResultFormatError):
        ScanResult.from_dict({"schema": "something else"})


@pytest.mark.parametrize(
    ("module", "heavy"),
    [
        # Any `import impersonation_cli` stays fast: the public names load on first use.
        ("impersonation_cli", {"onnxruntime", "cv2", "av", "onnx"}),
        # onnx (seconds to import) is loaded only with a model: reading settings or a result needs none of it.
        ("impersonation_cli.config", {"onnx"}),
    ],
)
def test_importing_loads_no_library_it_does_not_need(module: str, heavy: set[str]) -> None:
    code = f"import sys, {module}; print(sorted(set({sorted(heavy)!r}) & set(sys.modules)))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "[]"


def test_the_library_leaves_the_callers_environment_as_it_was() -> None:
    """`import impersonation_cli` set OPENCV_LOG_LEVEL=OFF and OPENCV_FFMPEG_LOGLEVEL=-8 in os.environ: the caller's
    own OpenCV warnings went silent, and so did those of every process it started. The CLI sets them (launcher)."""
    code = "import os, impersonation_cli; print([k for k in os.environ if 'OPENCV' in k])"
    environment = {k: v for k, v in os.environ.items() if not k.startswith("OPENCV_")}
    changed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=environment)
    assert changed.stdout.strip() == "[]"


def test_room_and_start_time_apply_to_every_input() -> None:
    items, assignments = room_assignments(["a.mp4", "folder"], "douyin:123", "2026-11-20T20:00:00+08:00")
    start = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    assert items == ["a.mp4", "folder"]
    assert assignments == {item: Room(item, "douyin:123", started_at=start) for item in ("a.mp4", "folder")}
    assert assignments["a.mp4"].started_at.utcoffset() == timedelta(hours=8)


def test_a_rooms_file_adds_its_sources_with_their_own_rooms(tmp_path: Path) -> None:
    rooms = tmp_path / "rooms.yaml"
    rooms.write_text(
        "rooms:\n  - url: capture.mp4\n    room: kuaishou:9\n    started_at: 2026-11-20T20:00:00Z\n"
        "  - url: rtmp://example/live/key\n    room: douyin:7\n",
        encoding="utf-8",
    )
    items, assignments = room_assignments(["a.mp4"], rooms_file=rooms)
    capture = str(tmp_path / "capture.mp4")
    assert items == ["a.mp4", capture, "rtmp://example/live/key"]
    assert assignments["a.mp4"] == Room("a.mp4")
    assert assignments[capture] == Room(capture, "kuaishou:9", started_at=datetime(2026, 11, 20, 20, tzinfo=UTC))
    assert assignments["rtmp://example/live/key"].account == "douyin:7"


def test_a_room_beside_only_a_rooms_file_is_refused(tmp_path: Path) -> None:
    # `scan --rooms F --room R` gave R to nothing, silently.
    rooms = tmp_path / "rooms.yaml"
    rooms.write_text("rooms:\n  - url: capture.mp4\n    room: kuaishou:9\n", encoding="utf-8")
    for room, started_at in (("douyin:1", None), (None, "2026-11-20T20:00:00Z")):
        with pytest.raises(UserError, match="applies to the inputs named with it"):
            room_assignments([], room, started_at, rooms_file=rooms)


@pytest.mark.parametrize(
    ("room", "started_at", "message"),
    [
        ("douyin 123", None, "platform:account"),
        (None, "2026-11-20T20:00:00", "time zone"),
        (None, "yesterday", "not an ISO 8601 date-time"),
    ],
)
def test_bad_rooms_and_times_are_one_line_errors(room: str | None, started_at: str | None, message: str) -> None:
    with pytest.raises(UserError, match=message) as caught:
        room_assignments(["a.mp4"], room, started_at)
    assert "\n" not in str(caught.value)


def test_opening_without_an_installed_pack_says_how_to_install(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("IMPERSONATION_PACK", raising=False)
    monkeypatch.delenv("IMPERSONATION_CONFIG", raising=False)
    with pytest.raises(ModelPackError, match="impersonation-cli models install"):
        Scanner.open(models=tmp_path / "no-models", pack="sc-2.5g", gallery=tmp_path / "g.sqlite")


def test_a_bad_config_is_refused_before_any_model_loads(tmp_path: Path, monkeypatch) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("[match]\nthreshhold = 0.5\n", encoding="utf-8")
    with pytest.raises(UserError, match=r"\[match\] has unknown keys: threshhold"):
        Scanner.open(models=tmp_path / "no-models", config=config, gallery=tmp_path / "g.sqlite")


def test_a_rooms_file_entry_inside_a_folder_given_with_a_room_is_refused(tmp_path: Path) -> None:
    """`scan d --room douyin:7 --rooms r.yaml`, r.yaml giving d/x.mp4 the room bilibili:9: x.mp4 took bilibili:9
    without a word (and the two were flagged concurrent); named directly, the same file was refused. The reverse
    (a folder in the rooms file, a file in it given with --room) dropped the folder's start time."""
    (tmp_path / "d").mkdir()
    rooms = tmp_path / "r.yaml"
    rooms.write_text("rooms:\n  - url: d/x.mp4\n    room: bilibili:9\n", encoding="utf-8")
    with pytest.raises(UserError, match=r"d/x\.mp4 has a room in the rooms file and lies in \(or holds\) .*/d, with"):
        room_assignments([str(tmp_path / "d")], "douyin:7", None, rooms_file=rooms)
    folder = tmp_path / "folder.yaml"
    folder.write_text(
        "rooms:\n  - url: d\n    room: douyin:5\n    started_at: 2026-11-20T20:00:00Z\n", encoding="utf-8"
    )
    with pytest.raises(UserError, match="lies in \\(or holds\\)"):
        room_assignments([str(tmp_path / "d" / "x.mp4")], "douyin:7", None, rooms_file=folder)
    # Without a room or start time given with the inputs, nothing is dropped: the entry keeps its own room.
    items, assignments = room_assignments([str(tmp_path / "d")], rooms_file=rooms)
    assert assignments[str(tmp_path / "d" / "x.mp4")].account == "bilibili:9" and assignments[items[0]].account is None


def test_one_input_named_two_ways_without_a_room_is_one_source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`scan a.jpg ./a.jpg` and `scan dir dir/` were refused: 'rooms names a.jpg twice, by two spellings: give it
    one room', with no room given; docs/reports.md has them scanned once. Two rooms for one input still are."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "dir").mkdir()
    items, assignments = room_assignments(["a.jpg", "./a.jpg", "dir", "dir/"])
    by_item = _rooms_by_item(items, assignments)  # no room for either: not two rooms for one
    assert {item: room.account for item, room in by_item.items()} == {"a.jpg": None, "dir": None}
    items, assignments = room_assignments(["a.jpg", "./a.jpg"], room="douyin:1")
    assert list(_rooms_by_item(items, assignments)) == ["a.jpg"]
    with pytest.raises(UserError, match=r"rooms names a\.jpg twice, by two spellings: give it one room"):
        _rooms_by_item(
            ["a.jpg", "./a.jpg"], {"a.jpg": Room("a.jpg", "douyin:1"), "./a.jpg": Room("./a.jpg", "douyin:2")}
        )
    rooms = tmp_path / "rooms.yaml"
    rooms.write_text(
        "rooms:\n  - url: a.jpg\n    room: douyin:1\n  - url: ./a.jpg\n    room: douyin:2\n", encoding="utf-8"
    )
    with pytest.raises(UserError, match=r"a\.jpg more than once: give each source one room"):
        room_assignments([], rooms_file=rooms)
