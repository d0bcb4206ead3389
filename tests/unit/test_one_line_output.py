"""A name, file name, URL or room printed inside a line or a table cell stays on that line: a newline or carriage
return in it is shown escaped (`\\x0a`, `\\x0d`), never obeyed (a second, forged line, or a row split in two)
nor silently dropped (rich's Text drops a carriage return)."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from rich.console import Console, RenderableType
from rich.text import Text

from impersonation_cli.cli import common, watch_cmd
from impersonation_cli.gallery.enrol import people_to_import, references_from_images
from impersonation_cli.gallery.store import Authorization, FootageVideo, Person
from impersonation_cli.outputs.alerts import AlertEvent, AlertSink
from impersonation_cli.outputs.dashboard import (
    StatusLog,
    alert_line,
    final_lines,
    interrupted_line,
    room_table,
    unreadable_lines,
)
from impersonation_cli.outputs.gallery_tables import footage_table, people_table, person_tables
from impersonation_cli.outputs.table import print_summary
from impersonation_cli.results import ScanResult

from .builders import appearance, scan_result, source
from .cli_in_process import run_cli

NAME = "Eve\nMallory\r"
FILE = "/captures/first\nsecond\r.mp4"
ROOM = "douyin:a\nb"
URL = "http://127.0.0.1:1/live\n.flv"
UNREADABLE_LINE = "unreadable: http://127.0.0.1:1/live\\x0a.flv: not a video or image this tool can read"


def recording() -> Console:
    return Console(file=io.StringIO(), width=240, color_system=None)


def shown_on(console: Console) -> str:
    return console.file.getvalue()  # type: ignore[attr-defined]  # the StringIO of `recording`


def rendered(*renderables: RenderableType) -> str:
    console = recording()
    for renderable in renderables:
        console.print(renderable)
    return shown_on(console)


def assert_one_line(*lines: Text) -> None:
    for line in lines:
        assert "\n" not in line.plain and "\r" not in line.plain, line.plain


def test_scan_table_keeps_each_name_on_its_row() -> None:
    found = appearance(NAME, FILE, room=ROOM)
    result = scan_result([found], [source(FILE, room=ROOM), source("/captures/bad\ninput.mp4", "unreadable")])
    console = recording()
    print_summary(result, console)
    shown = shown_on(console)
    assert "first\\x0asecond\\x0d.mp4" in shown and "Eve\\x0aMallory\\x0d" in shown and "douyin:a\\x0ab" in shown
    # Each fragment after a newline appears only inside its escaped whole, never at the start of a row of its own.
    for fragment, whole in (("Mallory", "Eve\\x0aMallory"), ("second", "first\\x0asecond"), ("input.mp4", "bad\\x0a")):
        assert shown.count(fragment) == shown.count(whole), shown


def test_scan_table_keeps_an_appearance_with_several_verdicts_on_one_line() -> None:
    found = appearance("Eileen Collins", "/captures/room.mp4", verdicts=["unauthorized-likeness", "likely-replay"])
    console = recording()
    print_summary(scan_result([found], [source("/captures/room.mp4")]), console)
    (row,) = [line for line in shown_on(console).splitlines() if "Eileen Collins" in line]
    assert "unauthorized-likeness" in row and "likely-replay" in row, shown_on(console)


def test_a_truncated_input_is_said_to_be_truncated_not_unreadable() -> None:
    cut = source("/captures/cut.mp4", "truncated", error="/captures/cut.mp4: decoding stopped at 3.7 s of 8.0 s")
    lines = unreadable_lines(scan_result([], [cut, source("/captures/bad.mp4", "unreadable")]))
    assert [line.plain.split(":")[0] for line in lines] == ["truncated", "unreadable"]


def room_summary(status: str) -> dict[str, Any]:
    counts = dict.fromkeys(("frames_sampled", "frames_dropped", "reconnects", "alerts"), 0)
    return {"room": ROOM, "status": status, "last_error": f"{URL}: cannot open", **counts}


def watch_result() -> ScanResult:
    result = scan_result([], [source(URL, "unreadable")])
    share = {"fps": 2.0, "target_fps": 2.0, "lowest_fps": 2.0, "rooms_at_target": 1}
    result.settings.update(rooms=[room_summary("failed")], recognition=share)
    return result


def test_scan_and_watch_lines_are_one_line_each(tmp_path: Path) -> None:
    event = AlertEvent("likely-replay", NAME, ROOM, [ROOM], URL, None, 0.7, 0.8, 5, 1, 3.0, "now", "now")
    result = watch_result()
    sink = AlertSink(tmp_path / "a\nb.jsonl", None, 60.0)
    lines = [alert_line(event), *final_lines(result, sink), *unreadable_lines(result)]
    lines.append(interrupted_line(result, tmp_path / "out\n.json"))
    sink.close()
    assert_one_line(*lines)
    assert "ALERT likely-replay: Eve\\x0aMallory\\x0d in douyin:a\\x0ab" in lines[0].plain
    assert lines[-2].plain == UNREADABLE_LINE
    assert lines[-1].plain.endswith("out\\x0a.json with status interrupted")


def test_line_and_paragraph_separators_are_shown_escaped() -> None:
    """U+2028 and U+2029 were printed raw: a room whose file name held one split its status line in two for
    str.splitlines() or an editor reading the log."""
    room = live_room("/captures/a\u2028b\u2029c.mp4", "live", "")
    logged: list[Text] = []
    StatusLog([room], logged.append)()  # type: ignore[list-item]  # the fields StatusLog reads
    assert [line.plain.splitlines() for line in logged] == [["room /captures/a\\u2028b\\u2029c.mp4: live"]]


def live_room(name: str, status: str, error: str) -> SimpleNamespace:
    state = SimpleNamespace(status=status, last_error=error, fps=0.0, frames_sampled=0, frames_dropped=0, reconnects=0,
                            interruptions=[])  # fmt: skip
    return SimpleNamespace(number=1, name=name, room=SimpleNamespace(label=None), state=state, lag_s=0.0, alerts=0,
                           last_finding=None)  # fmt: skip


def test_watch_dashboard_and_status_log_keep_a_room_on_its_line(tmp_path: Path) -> None:
    room = live_room(ROOM, "connecting", f"{URL}: cannot open")
    logged: list[Text] = []
    StatusLog([room], logged.append)()  # type: ignore[list-item]  # the fields StatusLog reads
    assert_one_line(*logged)
    assert logged[0].plain == "room douyin:a\\x0ab: connecting (http://127.0.0.1:1/live\\x0a.flv: cannot open)"
    share = SimpleNamespace(as_dict=lambda: {"fps": 2.0, "target_fps": 2.0, "lowest_fps": 2.0, "rooms_at_target": 1})
    sink = AlertSink(tmp_path / "x\ny.jsonl", None, 60.0)
    watcher = SimpleNamespace(rooms=[room], elapsed_s=1.0, share=share, sink=sink)
    shown = rendered(room_table(watcher))  # type: ignore[arg-type]
    sink.close()
    assert "douyin:a\\x0ab" in shown and "live\\x0a.flv" in shown and "x\\x0ay.jsonl" in shown
    assert shown.count(".flv") == shown.count("\\x0a.flv")


def test_gallery_and_footage_tables_keep_a_file_name_on_its_row() -> None:
    video = FootageVideo("Eileen Collins", "first\nlater.mp4", "ab" * 32, "ordinal8-v1", 8.0, 1.9, 16)
    reference = SimpleNamespace(image_name="ref\r\nlater.jpg", image_sha256="cd" * 32, face_px=120.0,
                                det_score=0.9, blur=100.0, faces_in_image=1)  # fmt: skip
    store = SimpleNamespace(
        path=Path("/galleries/g\n.sqlite"),
        recognizer="w600k",
        persons=lambda: [Person(1, "Eileen Collins", ("EC",), 1)],
        references=lambda name: [reference],
        authorizations=lambda name: [Authorization(name, ROOM, None, None, False)],
        snapshot=contextlib.nullcontext,
    )
    shown = rendered(
        footage_table([video]),
        people_table(store),  # type: ignore[arg-type]  # the methods the tables read
        *person_tables(store, "Eileen Collins"),  # type: ignore[arg-type]
    )
    assert "first\\x0alater.mp4" in shown and "ref\\x0d\\x0alater.jpg" in shown and "g\\x0a.sqlite" in shown
    assert "authorized: douyin:a\\x0ab from - until -" in shown
    assert shown.count("later") == shown.count("\\x0alater")


def test_gallery_skipped_lines_name_files_on_one_line(tmp_path: Path) -> None:
    for folder in ("_extra\nphotos", "no\nphotos", "Eileen_Collins"):
        (tmp_path / folder).mkdir()
    (tmp_path / "Eileen_Collins" / "a.jpg").write_bytes(b"")
    (tmp_path / "loose\n.jpg").write_bytes(b"")
    said: list[str] = []
    assert people_to_import(tmp_path, said.append) == [("Eileen Collins", tmp_path / "Eileen_Collins")]
    references_from_images(None, [tmp_path / "missing\r\n.jpg"], said.append)  # type: ignore[arg-type]  # unread
    assert len(said) == 4 and all("\n" not in line and "\r" not in line for line in said), said
    assert any("_extra\\x0aphotos: its name starts with '_'" in line for line in said), said
    assert said[-1].startswith(f"skipped: {tmp_path}/missing\\x0d\\x0a.jpg"), said


def test_watch_quiet_still_says_which_room_could_not_be_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(common.stderr, "quiet", True)  # what --quiet does
    sink = AlertSink(None, None, 60.0)
    watch_cmd.print_summary_lines(watch_result(), sink)
    err = capsys.readouterr().err
    assert err.splitlines() == [UNREADABLE_LINE]


def test_an_error_quoting_a_huge_value_is_cut_to_a_readable_line(tmp_path: Path) -> None:
    """A config value 900,000 characters long was quoted whole: a 900 KB error line (60,000 unknown keys: 470 KB)."""
    config = tmp_path / "long.toml"
    config.write_text('[detector]\nprecision = "' + "a" * 900_000 + '"\n', encoding="utf-8")
    refused = run_cli("scan", "clip.mp4", "--config", str(config))
    assert refused.returncode == 2, refused
    (line,) = refused.stderr.splitlines()
    assert line.startswith("error: config section [detector]: precision must be one of int8, fp32, not 'aaa")
    assert "characters not shown" in line and len(line) < 2100, len(line)
