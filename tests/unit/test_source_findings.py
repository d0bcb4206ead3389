"""A source flagged on its own (a stream that loops itself: `likely-replay` from its `loop` signal, with no
appearance carrying it) counts wherever findings count. It was in the JSON only: `--fail-on replay` exited 0,
JUnit had no failure, and the table, the HTML and the notice never mentioned the loop."""

from __future__ import annotations

import io
from pathlib import Path
from xml.etree import ElementTree as ET

from rich.console import Console

from impersonation_cli.outputs.files import exit_code
from impersonation_cli.outputs.findings import ReportInput, parse_fail_on
from impersonation_cli.outputs.html import render_html
from impersonation_cli.outputs.junit import build_junit
from impersonation_cli.outputs.notice import write_notices
from impersonation_cli.outputs.table import print_summary
from impersonation_cli.results import ScanResult, SignalScore, Verdict

from .builders import appearance, scan_result, source

LOOP = "5.0-14.0 s repeat the stream 5.0 s earlier"


def _looping_stream() -> ScanResult:
    seen = appearance(room="kuaishou:222", verdicts=[Verdict.UNAUTHORIZED], risk=0.68)
    stream = source(
        room="kuaishou:222",
        verdicts=[Verdict.REPLAY, Verdict.UNAUTHORIZED],
        risk=0.9,
        signals={"loop": SignalScore("loop", 1.0, LOOP)},
    )
    return scan_result([seen], [stream])


def test_fail_on_replay_selects_a_looping_stream() -> None:
    result = _looping_stream()
    assert exit_code(result, parse_fail_on(["replay"])) == 1
    assert exit_code(result, parse_fail_on(["synthetic"])) == 0
    failure = build_junit(result, parse_fail_on(["replay"])).getroot().find(".//failure")
    assert failure is not None and failure.get("type") == Verdict.REPLAY
    assert LOOP in (failure.text or "")
    assert build_junit(result, parse_fail_on(["synthetic"])).getroot().find(".//failure") is None


def test_the_documents_say_the_stream_loops(tmp_path: Path) -> None:
    result = _looping_stream()
    out = io.StringIO()
    print_summary(result, Console(file=out, width=200))
    assert "Sources flagged on their own" in out.getvalue() and LOOP in out.getvalue()
    report = ReportInput(result, tmp_path / "result.json")
    assert "The stream itself: likely-replay" in render_html(report) and LOOP in render_html(report)
    (notice,) = write_notices(report, tmp_path / "notices")
    text = notice.read_text(encoding="utf-8")
    assert "## The stream itself" in text and LOOP in text and "**likely-replay**" in text
    ET.fromstring(ET.tostring(build_junit(result).getroot()))  # still well-formed


def test_only_the_signals_behind_its_own_verdict_say_why(tmp_path: Path) -> None:
    """A watched room's stream-level signals hold every cue of its strongest faces (face_forgery 0.29, far below
    its threshold; identity_jitter 0.38): listed under 'Flagged likely-replay on its own' they read as reasons
    for the flag, in the draft sent to the platform, the HTML, the table and JUnit. Only the loop is one."""
    cues = {
        "identity_jitter": SignalScore("identity_jitter", 0.38, "median frame-to-frame identity similarity 0.65"),
        "face_forgery": SignalScore("face_forgery", 0.29, "trained detector: probability 0.29"),
    }
    result = _looping_stream()
    result.sources[0].signals.update(cues)
    out = io.StringIO()
    print_summary(result, Console(file=out, width=300))
    (notice,) = write_notices(ReportInput(result, tmp_path / "result.json"), tmp_path / "notices")
    stream_part = notice.read_text(encoding="utf-8").split("## The stream itself")[1].split("## Evidence")[0]
    failure = build_junit(result).getroot().find(".//failure")
    for shown in (render_html(ReportInput(result, tmp_path / "result.json")), out.getvalue(), stream_part):
        assert LOOP in shown and "probability 0.29" not in shown and "identity similarity 0.65" not in shown
    assert failure is not None and "probability 0.29" not in (failure.text or "")


def test_a_loop_is_not_called_known_footage(tmp_path: Path) -> None:
    """`likely-replay` is raised by known footage of the person or by the stream repeating itself. The draft's
    'What we found' said of every one 'the video matches known past footage of this person being re-broadcast':
    for a room that loops its own stream (no footage registered at all) a platform is told a false ground."""
    (notice,) = write_notices(ReportInput(_looping_stream(), tmp_path / "result.json"), tmp_path / "notices")
    found = notice.read_text(encoding="utf-8").split("## What we found")[1].split("###")[0]
    (replay,) = [line for line in found.splitlines() if "**likely-replay**" in line]
    assert "a loop" in replay and not replay.endswith("known past footage of this person being re-broadcast")


def test_the_html_summary_counts_a_stream_flagged_on_its_own() -> None:
    """Three watched rooms looping their clip: each panel said 'The stream itself: likely-replay', but the report's
    summary counted appearances' verdicts only and gave the highest risk of an appearance, so it showed no
    likely-replay at all, and a looping stream where nobody registered appears had 'highest risk 0.00'."""
    result = _looping_stream()
    summary = render_html(ReportInput(result, Path("result.json"))).split("<h2>Timelines</h2>")[0]
    assert f"{Verdict.REPLAY} × 1" in summary and f"{Verdict.UNAUTHORIZED} × 1" in summary
    assert "0.90" in summary and "0.68" not in summary
