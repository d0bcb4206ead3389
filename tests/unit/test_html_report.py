"""The HTML report's structure over small results: what the template shows, without a scan (the real-scan
and browser checks are tests/e2e/test_reports.py and tests/e2e/test_report_browser.py)."""

from __future__ import annotations

import dataclasses
import hashlib
import re
from pathlib import Path

import pytest
from rich.console import Console

from impersonation_cli.outputs import html
from impersonation_cli.outputs.evidence_files import data_uri
from impersonation_cli.outputs.findings import ReportInput
from impersonation_cli.outputs.html import MAX_CARDS, MAX_PICTURE_BYTES, render_html
from impersonation_cli.outputs.table import print_summary
from impersonation_cli.results import Evidence

from ..report_data import Elements
from .builders import appearance, scan_result, source, with_signals_and_evidence

CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"


def test_flagged_past_the_card_cap_become_rows_with_a_note() -> None:
    found = [
        with_signals_and_evidence(appearance(f"Person {n}", number=n, start_s=n * 0.1, end_s=n * 0.1 + 1, risk=n / 300))
        for n in range(MAX_CARDS + 5)
    ]
    page = render_html(ReportInput(scan_result(found), Path("out/result.json")))
    elements = Elements(page)
    assert [m["content"] for m in elements.named("meta") if m.get("http-equiv") == "Content-Security-Policy"] == [CSP]
    assert len(elements.named("article")) == MAX_CARDS
    note = page.split("id='left-out'>", 1)[1].split("</p>", 1)[0]
    assert note.startswith("5 more flagged appearances are listed below without pictures")
    assert "<code>evidence</code>" in note and "result.json" in note
    # The five least risky (Person 0-4) are the rows; every appearance has a bar linking to its card or row.
    rows = re.findall(r"<tr id='appearance-(\d+)'><td>([^<]+)</td>", page)
    assert sorted(rows) == [(str(n), f"Person {n}") for n in range(5)]
    assert len(re.findall(r"<a href='#appearance-\d+'><rect", page)) == len(found)
    assert "replay" in page and "matches known footage at 12.0 s" in page and "offset_s 12" in page


def test_rooms_with_wall_clock_times_share_one_axis() -> None:
    times = {"start_wallclock": "2026-11-20T20:00:02+08:00", "end_wallclock": "2026-11-20T20:00:06+08:00"}
    first = appearance("Eileen Collins", "a.mp4", room="douyin:1", **times)
    second = appearance("Eileen Collins", "b.mp4", number=2, room="kuaishou:2", verdicts=["concurrent"], **times)
    sources = [source("a.mp4", room="douyin:1"), source("b.mp4", room="kuaishou:2"), source("c.mp4", "unreadable")]
    page = render_html(ReportInput(scan_result([first, second], sources), Path("result.json")))
    assert "All rooms by wall-clock time <span class='muted'>(UTC, from 2026-11-20 12:00:02 UTC)</span>" in page
    for room in ("douyin:1", "kuaishou:2"):
        assert f"<title>Eileen Collins · {room}</title>" in page
    assert "<td class='bad'>unreadable</td>" in page
    assert "2026-11-20 20:00:02 +0800 – 2026-11-20 20:00:06 +0800" in page
    alone = render_html(ReportInput(scan_result([first], sources[:1]), Path("result.json")))
    assert "All rooms by wall-clock time" not in alone and "Inputs with problems" not in alone


def test_rooms_days_apart_are_told_apart_on_the_wall_clock_axis() -> None:
    """The axis said '12:00:00 20:00:00 04:00:00 ...' with no day, the bars' tooltips gave stream times
    ('0:00.0 – 0:00.0'), and a 7-s bar at the axis's end was drawn past it."""
    first = appearance(
        "Ann", "a.mp4", room="douyin:1",
        start_wallclock="2026-01-01T12:00:00+00:00", end_wallclock="2026-01-01T12:00:07+00:00",
    )  # fmt: skip
    later = appearance(
        "Ann", "b.mp4", number=2, room="douyin:2",
        start_wallclock="2026-01-04T12:00:00+00:00", end_wallclock="2026-01-04T12:00:07+00:00",
    )  # fmt: skip
    page = render_html(ReportInput(scan_result([first, later], [source("a.mp4"), source("b.mp4")]), Path("r.json")))
    panel = page.split("All rooms by wall-clock time", 1)[1]
    assert "01-01 12:00" in panel and "01-04 12:00" in panel
    assert "Ann: 2026-01-04 12:00:00 UTC – 2026-01-04 12:00:07 UTC" in panel
    rects = re.findall(r"<rect x='([\d.]+)' y='[\d.]+' width='([\d.]+)'", panel)
    assert rects and all(float(x) + float(width) <= html.TIMELINE_WIDTH - 10 + 1e-6 for x, width in rects)


def test_a_long_name_on_the_wall_clock_axis_keeps_each_lane_s_room_in_sight() -> None:
    """A lane's label was 'person · room' cut at 36 characters: with a long name both lanes of the same person
    read 'Lin-Manuel Miranda (Hamilton, origina…', the rooms that tell them apart cut off (only the tooltip had
    them); the name is cut now, the room kept."""
    name = "Lin-Manuel Miranda (Hamilton, original Broadway cast)"
    times = {"start_wallclock": "2026-11-20T20:00:02+08:00", "end_wallclock": "2026-11-20T20:00:06+08:00"}
    first = appearance(name, "a.mp4", room="douyin:1", **times)
    second = appearance(name, "b.mp4", number=2, room="kuaishou:2", verdicts=["concurrent"], **times)
    page = render_html(ReportInput(scan_result([first, second]), Path("result.json")))
    labels = re.findall(r"<title>[^<]* · [^<]*</title>([^<]*)</text>", page)
    assert len(labels) == 2 and labels[0].endswith(" · douyin:1") and labels[1].endswith(" · kuaishou:2"), labels
    assert all(label.startswith("Lin-Manuel") and len(label) <= 36 for label in labels), labels


def test_a_hand_edited_huge_duration_keeps_about_ten_ticks() -> None:
    """A duration (or end time) of 1e300 s made the axis 1e296 ticks (the report never finished); the largest
    float overflowed placing them."""
    for seconds in (7.2e7, 1.7976931348623157e308):
        result = scan_result([appearance(end_s=seconds)], [source(duration_s=seconds, scanned_s=seconds)])
        page = render_html(ReportInput(result, Path("result.json")))
        assert 2 <= page.count("<text class='tick'") <= 11


def test_wall_clock_times_outside_years_1_to_9999_in_utc_are_left_off_the_axis() -> None:
    """'0001-01-01T00:00:00+14:00' is year 0 in UTC: making its axis label raised ValueError (exit 4)."""
    sources = [source("a.mp4", room="douyin:1"), source("b.mp4", room="kuaishou:2"), source("c.mp4", room="x:3")]
    early = {"start_wallclock": "0001-01-01T00:00:00+14:00", "end_wallclock": "0001-01-01T00:00:05+14:00"}
    times = {"start_wallclock": "2026-11-20T20:00:02+08:00", "end_wallclock": "2026-11-20T20:00:06+08:00"}
    found = [
        appearance("Eileen Collins", "a.mp4", room="douyin:1", **early),
        appearance("Eileen Collins", "b.mp4", number=2, room="kuaishou:2", **times),
        appearance("Eileen Collins", "c.mp4", number=3, room="x:3", **times),
    ]
    page = render_html(ReportInput(scan_result(found, sources), Path("result.json")))
    assert "(UTC, from 2026-11-20 12:00:02 UTC)" in page
    assert "<title>Eileen Collins · douyin:1</title>" not in page and "<title>Eileen Collins · x:3</title>" in page


def test_wall_clock_times_at_the_end_of_year_9999_are_left_off_the_axis() -> None:
    """Two rooms starting at '9999-12-31T23:59:59+00:00': the axis runs at least a second, and labelling its
    second tick raised 'year 10000 is out of range' (exit 4)."""
    late = {"start_wallclock": "9999-12-31T23:59:59+00:00", "end_wallclock": "9999-12-31T23:59:59+00:00"}
    found = [
        appearance("Eileen Collins", "a.mp4", room="douyin:1", **late),
        appearance("Eileen Collins", "b.mp4", number=2, room="kuaishou:2", **late),
    ]
    sources = [source("a.mp4", room="douyin:1"), source("b.mp4", room="kuaishou:2")]
    page = render_html(ReportInput(scan_result(found, sources), Path("result.json")))
    assert "All rooms by wall-clock time" not in page and "9999-12-31 23:59:59 +0000" in page


@pytest.fixture
def budget_of_5_mb(monkeypatch: pytest.MonkeyPatch) -> int:
    """The picture budget a tenth of the shipped 50 MB, and every picture below a tenth of what it stands for: the
    same sums, a tenth of the bytes to encode and search (the fast tier's slowest tests were these two)."""
    monkeypatch.setattr(html, "MAX_PICTURE_BYTES", MAX_PICTURE_BYTES // 10)
    return html.MAX_PICTURE_BYTES


def test_one_large_crop_named_by_every_card_is_embedded_only_up_to_the_picture_budget(
    tmp_path: Path, budget_of_5_mb: int
) -> None:
    # A crafted result may point every card at one large image whose sha256 it records: each card embedded it
    # again (60 cards of a 2 MB picture made a 160 MB report, held in memory while it was written).
    crop = b"\xff\xd8\xff" + bytes(200_000)
    (tmp_path / "big.jpg").write_bytes(crop)
    digest = hashlib.sha256(crop).hexdigest()
    found = []
    for n in range(60):
        card = with_signals_and_evidence(appearance(f"Person {n}", number=n, start_s=n, end_s=n + 1, risk=0.9))
        card.evidence = Evidence(path="big.jpg", sha256=digest, time_s=n, box=[0, 0, 9, 9])
        found.append(card)
    page = render_html(ReportInput(scan_result(found), tmp_path / "result.json"))
    embedded = budget_of_5_mb // len(crop)
    assert page.count("data:image/jpeg;base64,") == embedded == 24
    assert page.count("not embedded: the report already holds 5 MB of pictures") == 60 - embedded
    assert len(page) < 1.4 * budget_of_5_mb


def test_whole_frames_take_only_what_the_cards_crops_leave_of_the_picture_budget(
    tmp_path: Path, budget_of_5_mb: int
) -> None:
    """40 cards, each a 100 kB crop and a 1.4 MB frame. Card by card, the first 33 cards' pictures and 5 more crops
    used the 50 MB up and the last 2 cards lost their crops, the evidence itself; now every crop is embedded and
    the frames fill what is left. (At a tenth of each size, as `budget_of_5_mb` says.)"""
    crop, frame = b"\xff\xd8\xff" + bytes(10_000 - 3), b"\xff\xd8\xff" + bytes(140_000 - 3)
    (tmp_path / "crop.jpg").write_bytes(crop)
    (tmp_path / "frame.jpg").write_bytes(frame)
    found = []
    for n in range(40):
        card = with_signals_and_evidence(appearance(f"Person {n}", number=n, start_s=n, end_s=n + 1, risk=0.9))
        card.evidence = Evidence("crop.jpg", hashlib.sha256(crop).hexdigest(), float(n), [0, 0, 9, 9])
        card.evidence_frame = Evidence("frame.jpg", hashlib.sha256(frame).hexdigest(), float(n), [0, 0, 9, 9])
        found.append(card)
    page = render_html(ReportInput(scan_result(found), tmp_path / "result.json"))
    frames = (budget_of_5_mb - 40 * len(crop)) // len(frame)
    assert page.count(f"src='{data_uri(crop)}'") == 40
    assert page.count(f"src='{data_uri(frame)}'") == frames == 32
    assert page.count("not embedded: the report already holds 5 MB of pictures") == 40 - frames


def test_sources_an_interrupted_scan_never_finished_are_not_counted_as_scanned_nor_said_to_show_nobody() -> None:
    """A Ctrl-C after the first of three inputs: the report said '3 / 3 sources scanned' and, in the timelines,
    'No registered person seen.' of the two inputs the scan never looked at."""
    interrupted = {"scanned_s": 0.0, "frames_decoded": 0, "frames_sampled": 0, "faces_detected": 0, "tracks": 0}
    sources = [
        source("a.mp4"),
        source("b.mp4", "interrupted", error="b.mp4: not scanned (the scan was interrupted)", **interrupted),
        source("c.mp4", "interrupted", error="c.mp4: not scanned (the scan was interrupted)", **interrupted),
    ]
    result = scan_result([appearance(source="a.mp4")], sources)
    result.status = "interrupted"
    page = render_html(ReportInput(result, Path("result.json")))
    assert "<div class='card alert'><strong>1 / 3</strong><span>sources scanned</span></div>" in page
    timelines = page.split("<h2>Timelines</h2>", 1)[1].split("<h2>", 1)[0]
    assert "<code>a.mp4</code>" in timelines
    assert "b.mp4" not in timelines and "c.mp4" not in timelines and "No registered person seen." not in timelines
    assert page.count("<td class='bad'>interrupted</td>") == 2  # listed under "Inputs with problems" instead


def test_the_terminal_summary_does_not_count_interrupted_inputs_as_scanned() -> None:
    console = Console(record=True, width=240, color_system=None)
    sources = [
        source("a.mp4"),
        source("b.mp4", "interrupted", scanned_s=0.0, frames_sampled=0),
        source("c.mp4", "unreadable"),
    ]
    print_summary(scan_result([appearance(source="a.mp4")], sources), console)
    assert "1 of 3 inputs scanned" in console.export_text()


def test_a_source_the_scan_stopped_in_keeps_its_timeline_and_counts_as_read() -> None:
    """Ctrl-C 98 s into a 160-s recording: the result kept its appearance (schema 1.9), but the page counted it
    'not scanned' beside '101 s video scanned', and left out its panel, its bar and its finding's loop."""
    stopped = source("long.mp4", "interrupted", scanned_s=98.5, frames_sampled=197, error="long.mp4: interrupted")
    never = source("c.mp4", "interrupted", scanned_s=0.0, frames_sampled=0, frames_decoded=0, tracks=0)
    found = appearance("Eileen Collins", "long.mp4", start_s=2.5, end_s=98.5)
    result = scan_result([found], [source("a.mp4"), stopped, never])
    result.status = "interrupted"
    page = render_html(ReportInput(result, Path("result.json")))
    assert "<strong>2 / 3</strong><span>sources scanned</span>" in page
    timelines = page.split("<h2>Timelines</h2>", 1)[1].split("<h2>", 1)[0]
    assert "<code>long.mp4</code>" in timelines and "<a href='#appearance-0'><rect" in timelines
    assert "c.mp4" not in timelines
    console = Console(record=True, width=240, color_system=None)
    print_summary(result, console)
    assert "2 of 3 inputs scanned" in console.export_text()


def test_a_crop_the_scan_could_not_write_is_not_blamed_on_a_missing_evidence_folder() -> None:
    """A scan with --evidence-dir whose crop could not be written (a full disk, a file where its folder goes)
    records the evidence without a path; the card said 'not saved (scan without --evidence-dir)'."""
    unwritten = Evidence(path=None, sha256=None, time_s=5.52, box=[0.0, 0.0, 10.0, 10.0])
    taken = dataclasses.replace(appearance("Eileen Collins", "a.mp4"), evidence=unwritten, evidence_frame=unwritten)
    page = render_html(ReportInput(scan_result([taken, appearance("Eve", "b.mp4")]), Path("result.json")))
    assert page.count("not saved (the scan could not write it: a full disk, or a folder it could not write)") == 2
    assert "not saved (scan without --evidence-dir)" in page  # Eve's: no picture was taken


def test_a_right_to_left_room_and_the_file_name_beside_it_are_each_their_own_bidi_unit() -> None:
    """'douyin:حساب · <code>2026-11-20.mp4</code>' was drawn 'douyin:20-11-2026 · حساب.mp4': the room's Arabic
    run took in the file name's digits. Each untrusted value is isolated (<bdi>, and code elements by the CSS)."""
    found = appearance(source="2026-11-20.mp4", room="douyin:حساب", second_identity="إيلين")
    page = render_html(
        ReportInput(scan_result([found], [source("2026-11-20.mp4", room="douyin:حساب")]), Path("r.json"))
    )
    assert "<bdi>douyin:حساب</bdi> · <code>2026-11-20.mp4</code>" in page
    assert "runner-up <bdi>إيلين</bdi>" in page
    assert "code, bdi { unicode-bidi: isolate; }" in page
