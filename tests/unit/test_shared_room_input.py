"""Rooms of a watch may share a URL, each with its own room (docs/watch.md): the summary then lists two sources of
one input. Matched to their sources by the input alone, each room's takedown draft, JUnit test case and HTML
timeline held the other room's appearances too (checked by hand: a watch of short_hamilton_clip.mp4 as douyin:5
and kuaishou:6, whose douyin:5 draft listed "Scan's reason: kuaishou:6: no authorization ...")."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from impersonation_cli.config import load_config
from impersonation_cli.outputs.findings import ReportInput, flagged_by_source
from impersonation_cli.outputs.html import _source_panel
from impersonation_cli.outputs.junit import build_junit
from impersonation_cli.outputs.notice import notice_documents
from impersonation_cli.pipeline.scan import add_concurrency
from impersonation_cli.results import ResultFormatError, ScanResult

from .builders import appearance, scan_result, source

URL = "rtmp://host/live/a"


def _two_rooms_of_one_url() -> ScanResult:
    found = [
        appearance("Eileen Collins", URL, number=1, room="douyin:5"),
        appearance("Barack Obama", URL, number=2, room="kuaishou:6", start_s=20.0, end_s=30.0),
    ]
    return scan_result(found, [source(URL, room="douyin:5"), source(URL, room="kuaishou:6")])


def test_each_room_of_a_shared_url_has_its_own_appearances() -> None:
    result = _two_rooms_of_one_url()
    first, second = result.sources
    assert [a.identity for a in result.appearances_of(first)] == ["Eileen Collins"]
    assert [a.identity for a in result.appearances_of(second)] == ["Barack Obama"]
    # By the input's path (a natural guess: it raised AttributeError): every room it was scanned for.
    assert [a.identity for a in result.appearances_of(URL)] == ["Eileen Collins", "Barack Obama"]
    with pytest.raises(TypeError, match="source must be one of the result's sources or a path"):
        result.appearances_of(Path(URL))  # type: ignore[arg-type]
    assert [[a.identity for a in found] for _, found in flagged_by_source(result)] == [
        ["Eileen Collins"],
        ["Barack Obama"],
    ]


def test_each_rooms_draft_junit_case_and_timeline_shows_only_its_own(tmp_path: Path) -> None:
    result = _two_rooms_of_one_url()
    drafts = notice_documents(ReportInput(result, tmp_path / "result.json"), tmp_path / "notices")
    by_room = {("douyin" if "douyin" in path.name else "kuaishou"): text for path, text in drafts.items()}
    assert (
        "Eileen Collins" in by_room["douyin"] and "Barack Obama" not in by_room["douyin"].split("## What we found")[1]
    )
    assert (
        "Barack Obama" in by_room["kuaishou"]
        and "Eileen Collins" not in by_room["kuaishou"].split("## What we found")[1]
    )
    cases = {case.get("classname"): case for case in build_junit(result).getroot().iter("testcase")}
    assert "Eileen Collins" in ET.tostring(cases["douyin:5"], encoding="unicode")
    assert "Barack Obama" not in ET.tostring(cases["douyin:5"], encoding="unicode")
    assert "Eileen Collins" not in ET.tostring(cases["kuaishou:6"], encoding="unicode")
    timeline = _source_panel(result, result.sources[0]).timeline
    assert timeline is not None and [lane.name for lane in timeline.lanes] == ["Eileen Collins"]


def test_concurrency_marks_only_the_room_it_was_found_in() -> None:
    # kuaishou:6 and douyin:9 show the person at once; douyin:5, sharing kuaishou:6's URL, shows nobody then.
    at = {"start_wallclock": "2026-12-05T12:00:00+00:00", "end_wallclock": "2026-12-05T12:00:10+00:00"}
    found = [
        appearance("Barack Obama", URL, number=1, room="kuaishou:6", **at),
        appearance("Barack Obama", "rtmp://host/live/b", number=2, room="douyin:9", **at),
    ]
    sources = [
        source(URL, room="douyin:5"),
        source(URL, room="kuaishou:6"),
        source("rtmp://host/live/b", room="douyin:9"),
    ]
    add_concurrency(sources, found, load_config(None))
    assert [s.verdicts for s in sources] == [[], ["concurrent"], ["concurrent"]]


def test_an_appearance_of_a_shared_url_in_none_of_its_rooms_is_refused() -> None:
    document = _two_rooms_of_one_url().to_dict()
    document["appearances"][0]["room"] = "douyin:7"
    with pytest.raises(ResultFormatError, match=r"appearances\.0\.room 'douyin:7' is not the room of its source"):
        ScanResult.from_dict(json.loads(json.dumps(document)))
    document["appearances"][0]["room"] = "douyin:5"
    assert ScanResult.from_dict(document).appearances_of(ScanResult.from_dict(document).sources[0])
