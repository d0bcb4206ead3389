"""Untrusted text (names, rooms, file names, explanations) stays text in every document made from a result."""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET
from pathlib import Path

from markdown_it import MarkdownIt
from rich.console import Console

from impersonation_cli.outputs.findings import ReportInput
from impersonation_cli.outputs.html import render_html
from impersonation_cli.outputs.junit import build_junit
from impersonation_cli.outputs.notice import md_code, write_notices
from impersonation_cli.outputs.table import print_summary
from impersonation_cli.results import Evidence, ScanResult, SignalScore

from ..report_data import HOSTILE_LINK_NAME, HOSTILE_NAME, HOSTILE_ROOM, HOSTILE_SOURCE, Elements
from .builders import appearance, scan_result, source, with_signals_and_evidence

MARKUP_NAME = "[bold red]Eve[/] [link=https://evil.example]x[/link]"


def hostile_result() -> ScanResult:
    found = appearance(
        HOSTILE_NAME,
        HOSTILE_SOURCE,
        room=HOSTILE_ROOM,
        second_identity=HOSTILE_LINK_NAME,
        verdicts=["unauthorized-likeness", "likely-replay"],
        reasons=[f"likely-replay: replay 0.80: matches {HOSTILE_LINK_NAME}"],
        signals={"replay": SignalScore("replay", 0.8, f"matches <b>{HOSTILE_NAME}</b>", {"footage": HOSTILE_NAME})},
        start_wallclock="2026-11-20T20:00:02+08:00",
        end_wallclock="2026-11-20T20:00:06+08:00",
    )
    return scan_result([found], [source(HOSTILE_SOURCE, room=HOSTILE_ROOM), source(HOSTILE_LINK_NAME, "unreadable")])


def test_html_report_shows_hostile_text_escaped_and_obeys_none_of_it() -> None:
    page = render_html(ReportInput(hostile_result(), Path("result.json")))
    tags = Elements(page).tags
    assert not {tag for tag, _ in tags} & {"script", "iframe", "img"}
    assert all(not name.startswith("on") for _, attrs in tags for name in attrs)
    assert all(str(attrs.get("href", "#")).startswith("#") for tag, attrs in tags if tag == "a")
    shown = html.unescape(page)  # the text a reader sees: present there, never raw in the page
    for text in (HOSTILE_NAME, HOSTILE_ROOM, HOSTILE_LINK_NAME):
        assert text not in page and text in shown


def test_notice_shows_hostile_text_and_links_nothing(tmp_path: Path) -> None:
    (written,) = write_notices(ReportInput(hostile_result(), tmp_path / "result.json"), tmp_path / "notices")
    assert written.parent == tmp_path / "notices" and "/" not in written.name and "<" not in written.name
    text = written.read_text(encoding="utf-8")
    rendered = MarkdownIt("commonmark", {"html": True}).render(text)
    tags = {tag for tag, _ in Elements(rendered).tags}
    assert not tags & {"a", "img", "script", "iframe"}, tags
    assert "\x1b" not in text and "https://evil" not in text


def test_junit_keeps_hostile_text_as_text_and_stays_xml() -> None:
    document = ET.tostring(build_junit(hostile_result()).getroot(), encoding="unicode")
    suite = ET.fromstring(document).find("testsuite")
    assert suite is not None and (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("2", "1", "1")
    cases = {case.get("name"): case for case in suite.iter("testcase")}
    assert cases[HOSTILE_SOURCE.replace("\x1b", "\ufffd")].get("classname") == HOSTILE_ROOM
    assert "<script>" not in document


def test_terminal_table_prints_names_literally() -> None:
    console = Console(record=True, width=240, color_system=None)
    result = scan_result([appearance(MARKUP_NAME, "[x].mp4", room="douyin:1")])
    print_summary(result, console)
    shown = console.export_text()
    assert MARKUP_NAME in shown and "[x].mp4" in shown and "douyin:1" in shown
    assert "0:02.5-0:06.0 (8 fr)" in shown and "0.62 (best 0.71)" in shown
    assert "1 of 1 inputs scanned, 1 appearances of 1 registered people" in shown


def test_the_table_says_how_many_evidence_crops_were_not_saved() -> None:
    # A full disk left the crops out of the result (evidence.path null) and the summary said nothing of it.
    console = Console(record=True, width=240, color_system=None)
    saved, lost = with_signals_and_evidence(appearance()), appearance(number=2)
    lost.evidence = Evidence(path=None, sha256=None, time_s=3.0, box=[10.0, 20.0, 110.0, 140.0])
    print_summary(scan_result([saved, lost, appearance(number=3)]), console)
    assert "evidence pictures not saved: 1 (a full disk, or a folder that cannot be written)" in console.export_text()


def test_notice_drops_bidi_overrides_and_keeps_joiners(tmp_path: Path) -> None:
    """U+202E in a file name reversed the rest of the line ('x\\u202egpj.exe.mp4' read 'x4pm.exe.jpg') in the
    draft; a Persian name's zero-width non-joiner is part of the name and stays."""
    name = "Mohammad\u200cReza"
    spoofed = "/captures/x\u202egpj.exe.mp4"
    result = scan_result([appearance(name, spoofed, room="douyin:\u2067evil\u2069")])
    (written,) = write_notices(ReportInput(result, tmp_path / "result.json"), tmp_path / "notices")
    text = written.read_text(encoding="utf-8")
    assert not {"\u202e", "\u2067", "\u2069"} & set(text)
    assert "/captures/x\ufffdgpj.exe.mp4" in text and name in text


def test_html_report_drops_bidi_overrides() -> None:
    """U+202E in a file name reversed the rest of its line on the page, as in a draft; escaping keeps it."""
    spoofed = "/captures/x\u202egpj.exe.mp4"
    result = scan_result([appearance("Mohammad\u200cReza", spoofed, room="douyin:\u2067evil\u2069")])
    page = render_html(ReportInput(result, Path("result.json")))
    assert not {"\u202e", "\u2067", "\u2069"} & set(page)
    assert "x\ufffdgpj.exe.mp4" in page and "Mohammad\u200cReza" in page and "<span class='chip'" in page


def test_junit_drops_bidi_overrides() -> None:
    """U+202E in a file name, person or room reversed the rest of its line in a CI page showing the JUnit file
    ('x\\u202egpj.exe.mp4' read 'x4pm.exe.jpg'), as the HTML report and the drafts no longer let it."""
    spoofed = "/captures/x\u202egpj.exe.mp4"
    result = scan_result([appearance("Eve\u202egpj.exe", spoofed, room="douyin:\u2067evil\u2069")])
    document = ET.tostring(build_junit(result).getroot(), encoding="unicode")
    assert not {"\u202e", "\u2067", "\u2069"} & set(document)
    assert "x\ufffdgpj.exe.mp4" in document and "Eve\ufffdgpj.exe" in document


def test_a_file_name_keeps_its_spaces_and_shows_its_newline_in_the_draft_and_the_page(tmp_path: Path) -> None:
    """The draft named the recording `in/line\\nbreak  2.mp4` as `in/line break 2.mp4` (its lines joined, its
    spaces collapsed, as prose is): a file that is not there. A code span shows the path as it is, the newline
    as U+FFFD; the page keeps the spaces (`white-space: pre-wrap` in its code elements) and shows the newline as
    U+FFFD too: shown as a line break, 'in/line' and what followed read as two lines of the page."""
    name = "in/line\nbreak  2.mp4"
    result = scan_result([appearance(source=name, room="douyin:1")], [source(name, room="douyin:1")])
    (written,) = write_notices(ReportInput(result, tmp_path / "result.json"), tmp_path / "notices")
    text = written.read_text(encoding="utf-8")
    assert "- Recording examined: `in/line\ufffdbreak  2.mp4`" in text
    rendered = MarkdownIt("commonmark").render(text)
    assert "<code>in/line\ufffdbreak  2.mp4</code>" in rendered
    page = render_html(ReportInput(result, Path("result.json")))
    assert "<code>in/line\ufffdbreak  2.mp4</code>" in page and "line\nbreak" not in page
    assert re.search(r"(?m)^code \{[^}]*white-space: pre-wrap", page)


def test_a_code_span_keeps_the_spaces_at_its_ends() -> None:
    """CommonMark takes a space off each end of a code span that begins and ends with one: padded, it keeps them."""
    for path in (" a.mp4 ", "`a.mp4", "a b.mp4", " lead.mp4"):
        (code,) = re.findall(r"<code>(.*)</code>", MarkdownIt("commonmark").render(md_code(path)))
        assert html.unescape(code) == path


def test_html_report_writes_no_control_character() -> None:
    """A name's ESC sequence reached the page as it was: `cat report.html` or a pager obeyed it (here, clearing
    the screen and setting the terminal's title). Every control character but the tab is replaced."""
    sequences = "\x1b[2J\x1b]0;owned\x07\r\x00\x9b"
    hostile = f"Eve{sequences}"
    result = scan_result([appearance(hostile, f"/captures/a{sequences}.mp4", room=f"douyin:{sequences}")])
    page = render_html(ReportInput(result, Path("result.json")))
    assert not {"\x1b", "\x07", "\r", "\x00", "\x9b"} & set(page)
    assert "Eve\ufffd[2J\ufffd]0;owned\ufffd\ufffd\ufffd\ufffd" in page
