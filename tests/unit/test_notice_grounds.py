"""Takedown drafts go only to rooms the findings are grounds against: watching an authorized room beside two
rooms restreaming it flagged all three `concurrent`, and `report --notice` drafted a takedown of the rights
holder's own authorized broadcast, stating in good faith that its use was not authorized."""

from __future__ import annotations

from pathlib import Path

from impersonation_cli.outputs.findings import ReportInput
from impersonation_cli.outputs.notice import notice_documents
from impersonation_cli.results import ScanResult, Verdict

from .builders import appearance, scan_result, source


def _rooms(official_verdicts: list[str]) -> ScanResult:
    """An authorized room and an unauthorized one showing the same person at the same time."""
    official = appearance("Rowan Atkinson", "official.flv", 1, room="douyin:official", verdicts=official_verdicts)
    fan = appearance(
        "Rowan Atkinson", "fan.flv", 2, room="douyin:fan", verdicts=[Verdict.UNAUTHORIZED, Verdict.CONCURRENT]
    )
    sources = [source("official.flv", room="douyin:official"), source("fan.flv", room="douyin:fan")]
    return scan_result([official, fan], sources)


def _drafted_rooms(result: ScanResult, tmp_path: Path) -> list[str]:
    documents = notice_documents(ReportInput(result, tmp_path / "result.json"), tmp_path / "notices")
    return sorted(path.name.split("-")[1] for path in documents)


def test_no_takedown_of_the_authorized_room_that_is_only_live_elsewhere_too(tmp_path: Path) -> None:
    result = _rooms([Verdict.AUTHORIZED, Verdict.CONCURRENT])
    assert _drafted_rooms(result, tmp_path) == ["douyin_fan"]


def test_an_authorized_room_with_a_manipulated_face_still_gets_a_draft(tmp_path: Path) -> None:
    result = _rooms([Verdict.AUTHORIZED, Verdict.CONCURRENT, Verdict.SYNTHETIC])
    assert _drafted_rooms(result, tmp_path) == ["douyin_fan", "douyin_official"]


def test_an_authorized_room_that_loops_itself_still_gets_a_draft(tmp_path: Path) -> None:
    result = _rooms([Verdict.AUTHORIZED, Verdict.CONCURRENT])
    result.sources[0].verdicts = [Verdict.REPLAY]
    assert _drafted_rooms(result, tmp_path) == ["douyin_fan", "douyin_official"]
