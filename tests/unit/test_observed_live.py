"""When a watched room was live, in the documents a takedown is made from: `watch` records each room's first and
last frame and every stretch without frames (`settings.rooms[]`, schema 1.5, docs/watch.md "Interruptions"),
but the HTML report and the notice drafts showed none of it, so a notice could not say when the room was
observed live or that it dropped out. Results of files, and watch results of earlier versions, show nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from impersonation_cli.outputs.findings import ReportInput
from impersonation_cli.outputs.html import render_html
from impersonation_cli.outputs.notice import notice_documents
from impersonation_cli.results import ScanResult

from .builders import appearance, scan_result, source

URL = "rtmp://pub:s3cr3t@127.0.0.1/live/room1"  # as the watch opened it; the result shows it masked
HOSTILE = "<script>alert(1)</script> [x](javascript:alert(1)) \u202egpj.exe"
INTERRUPTIONS: list[dict[str, Any]] = [
    {
        "start": "2026-12-05T03:35:32.068178+00:00",
        "end": "2026-12-05T03:35:36.375890+00:00",
        "seconds": 4.31,
        "cause": "stalled",
        "error": None,
    },
    {
        "start": "2026-12-05T03:35:40.415890+00:00",
        "end": "2026-12-05T03:35:51.472269+00:00",
        "seconds": 11.06,
        "cause": "dropped",
        "error": f"{HOSTILE} reading {URL}",
    },
    {"start": "2026-12-05T03:35:57.623686+00:00", "end": None, "seconds": None, "cause": "stalled", "error": None},
]


def _record(**fields: Any) -> dict[str, Any]:
    """A room's record in a watch summary's settings.rooms, as pipeline.watch writes it (the fields shown here)."""
    return {
        "room": "douyin:1",
        "url": "rtmp://pub:***@127.0.0.1/live/room1",
        "status": "ended",
        "interruptions": INTERRUPTIONS,
        "first_frame_at": "2026-12-05T03:35:20.000001+00:00",
        "last_frame_at": "2026-12-05T03:35:57.623686+00:00",
        **fields,
    }


def _watch_result(record: dict[str, Any] | None) -> ScanResult:
    found = appearance("Eileen Collins", URL, room="douyin:1")
    result = scan_result([found], [source(URL, kind="stream", room="douyin:1", duration_s=None)])
    result.settings.update(mode="watch", rooms=[record] if record is not None else [])
    return ScanResult.from_dict(result.to_dict())  # as `report` reads it from the file


def _notice(result: ScanResult, tmp_path: Path) -> str:
    (text,) = notice_documents(ReportInput(result, tmp_path / "watch.json"), tmp_path).values()
    return text


def test_the_notice_says_when_the_room_was_live_and_each_interruption(tmp_path: Path) -> None:
    text = _notice(_watch_result(_record()), tmp_path)
    lines = text.split("## The account\n\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert lines[2:7] == [
        "- Observed live: from `2026-12-05 03:35:20 +0000` to `2026-12-05 03:35:57.62 +0000` (its first and last "
        "frame received), with 3 interruptions (no frames received):",
        "  - `2026-12-05 03:35:32.06 +0000` to `2026-12-05 03:35:36.37 +0000` (4.31 s): stalled (the connection stayed "
        "open but sent no frames)",
        "  - `2026-12-05 03:35:40.41 +0000` to `2026-12-05 03:35:51.47 +0000` (11.06 s): dropped (the connection "
        "ended: \\<script\\>alert(1)\\</script\\> \\[x\\](javascript:alert(1)) \ufffdgpj.exe reading "
        "rtmp\\://pub:\\*\\*\\*\\@127.0.0.1/live/room1)",
        "  - from `2026-12-05 03:35:57.62 +0000`, no frames until the watch stopped reading the room: stalled (the "
        "connection stayed open but sent no frames)",
        "- Link to the live room or video: {{URL}}",
    ]
    assert "s3cr3t" not in text


def test_the_html_report_shows_them_in_the_room_panel_escaped(tmp_path: Path) -> None:
    page = render_html(ReportInput(_watch_result(_record()), tmp_path / "watch.json"))
    assert (
        "Observed live from 2026-12-05 03:35:20 +0000 to 2026-12-05 03:35:57.62 +0000 <span class='muted'>(first and "
        "last frame received)</span>, with 3 interruptions (no frames received):" in page
    )
    assert (
        "<tr><td>2026-12-05 03:35:32.06 +0000</td><td>2026-12-05 03:35:36.37 +0000</td><td>4.31 s</td>"
        "<td>stalled (the connection stayed open but sent no frames)</td></tr>" in page
    )
    assert "<td>the end of the watch (still no frames)</td><td></td>" in page
    assert "dropped (the connection ended: &lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script>" not in page and "\u202e" not in page and "s3cr3t" not in page


def test_a_room_without_interruptions_says_so(tmp_path: Path) -> None:
    result = _watch_result(_record(interruptions=[]))
    assert "(its first and last frame received), with no interruptions\n" in _notice(result, tmp_path)
    assert "with no interruptions.</p>" in render_html(ReportInput(result, tmp_path / "watch.json"))


def test_results_without_the_record_render_without_it(tmp_path: Path) -> None:
    """A watch result of an earlier version (schema 1.4: no first_frame_at, no interruptions), a scan of files
    (no settings.rooms), a room not in the record, and hand-edited values of other types."""
    earlier = _record()
    for key in ("interruptions", "first_frame_at", "last_frame_at"):
        del earlier[key]
    files = scan_result([appearance("Eileen Collins", "clip.mp4", room="douyin:1")])
    results = [
        _watch_result(earlier),
        _watch_result(None),
        _watch_result(_record(room="douyin:2")),
        _watch_result(_record(first_frame_at=5)),
        _watch_result(_record(interruptions="none")),
        files,
    ]
    for result in results:
        assert "Observed live" not in _notice(result, tmp_path)
        assert "Observed live" not in render_html(ReportInput(result, tmp_path / "watch.json"))
    odd = _watch_result(_record(interruptions=[7, {"start": 1, "seconds": "4", "cause": None}]))
    text = _notice(odd, tmp_path)
    assert "with 2 interruptions" in text and "from `?`, no frames until the watch stopped" in text
    assert "with 2 interruptions" in render_html(ReportInput(odd, tmp_path / "watch.json"))
