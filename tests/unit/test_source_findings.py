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
