"""Takedown drafts go only to rooms the findings are grounds against: watching an authorized room beside two
rooms restreaming it flagged all three `concurrent`, and `report --notice` drafted a takedown of the rights
holder's own authorized broadcast, stating in good faith that its use was not authorized."""

from __future__ import annotations

from pathlib import Path

from impersonation_cli.gallery.store import Authorization
from impersonation_cli.outputs.findings import ReportInput
from impersonation_cli.outputs.notice import notice_documents
from impersonation_cli.results import Evidence, ScanResult, SignalScore, Verdict

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


def test_the_draft_to_an_authorized_room_does_not_say_its_use_is_unauthorized(tmp_path: Path) -> None:
    """douyin:official, authorized, looped its clip: its draft (a loop is grounds) asked the platform to stop the
    account 'using the likeness without authorization' and stated in good faith that 'this use is not
    authorized by the rights holder', above its own finding that the room is authorized. The fan room's
    draft keeps those words."""
    result = _rooms([Verdict.AUTHORIZED, Verdict.CONCURRENT])
    result.sources[0].verdicts = [Verdict.AUTHORIZED, Verdict.CONCURRENT, Verdict.REPLAY]
    documents = notice_documents(ReportInput(result, tmp_path / "result.json"), tmp_path / "notices")
    drafts = {path.name.split("-")[1]: text.split("## Request")[1] for path, text in documents.items()}
    assert "is not authorized by the rights holder" in drafts["douyin_fan"]
    assert "without authorization" in drafts["douyin_fan"]
    official = drafts["douyin_official"]
    assert "not authorized" not in official and "without authorization" not in official
    assert "authorized to use" in official


def test_the_draft_to_an_authorized_room_that_loops_puts_only_the_loop_to_the_platform(tmp_path: Path) -> None:
    """Its findings listed **authorized** and **concurrent** beside the loop, and its request asked that 'the
    findings above', not covered by the authorization, be dealt with: being authorized is no finding, and being
    live in other rooms too is grounds against those rooms (docs/reports.md)."""
    result = _rooms([Verdict.AUTHORIZED, Verdict.CONCURRENT])
    result.sources[0].verdicts = [Verdict.AUTHORIZED, Verdict.CONCURRENT, Verdict.REPLAY]
    documents = notice_documents(ReportInput(result, tmp_path / "result.json"), tmp_path / "notices")
    found = {
        path.name.split("-")[1]: text.split("## What we found")[1].split("\n## ")[0] for path, text in documents.items()
    }
    listed = {
        name: {line.split("**")[1] for line in text.splitlines() if line.startswith("- **")}
        for name, text in found.items()
    }
    assert listed["douyin_official"] == {Verdict.REPLAY}
    assert listed["douyin_fan"] == {Verdict.UNAUTHORIZED, Verdict.CONCURRENT}
    # Nor among the appearance's own lines: it is set out as what the loop showed, not as a finding.
    official = next(text for path, text in documents.items() if "douyin_official" in path.name)
    verdicts_line = next(line for line in official.splitlines() if line.startswith("- Verdicts:"))
    assert verdicts_line == (
        "- Verdicts: none against this room (authorized in this room; live in other rooms at once, grounds against "
        "those)"
    )


def test_a_detector_probability_is_worded_against_its_threshold_not_the_plain_scale(tmp_path: Path) -> None:
    """A real press photo of Barack Obama scored face_effects 0.68 (threshold 0.98, set above every real face
    measured) and its draft called that a "moderate sign" of effects."""
    found = appearance("Barack Obama", "photo.jpg", room="weibo:photo")
    found.signals = {
        "face_effects": SignalScore("face_effects", 0.68, "trained detector: probability 0.68", {"threshold": 0.98}),
        "blend_seam": SignalScore("blend_seam", 0.55, "boundary edge energy 1.4x its sides", {}),
    }
    (text,) = notice_documents(ReportInput(scan_result([found]), tmp_path / "r.json"), tmp_path).values()
    assert "face_effects: 0.68, below the detector's threshold 0.98, a range real faces score in too;" in text
    assert "moderate sign; trained" not in text
    assert "blend_seam: 0.55, moderate sign;" in text  # a cue without a threshold keeps the plain scale


def _status_lines(grants: list[Authorization], tmp_path: Path, **times: str) -> list[str]:
    found = appearance("Eileen Collins", "room.mp4", room="douyin:555", **times)
    report = ReportInput(scan_result([found]), tmp_path / "r.json", authorizations=grants)
    (text,) = notice_documents(report, tmp_path).values()
    return [line for line in text.splitlines() if line.startswith("- Authorization status:")]


def test_a_grant_that_does_not_cover_the_appearances_date_is_not_called_an_authorization_of_the_room(
    tmp_path: Path,
) -> None:
    """douyin:555 authorized from 2027-01-01, seen on 2026-11-20 (unauthorized-likeness: 'not yet valid'): the
    draft, which states in good faith that the use is not authorized, said 'this room is among the authorized
    ones on record: `douyin:555` until 2027-12-31', the start left out."""
    later = Authorization("Eileen Collins", "douyin:555", "2027-01-01", "2027-12-31", False)
    other = Authorization("Eileen Collins", "douyin:1", None, "2027-06-30", True)
    times = {"start_wallclock": "2026-11-20T12:00:02+00:00", "end_wallclock": "2026-11-20T12:00:06+00:00"}
    (line,) = _status_lines([other, later], tmp_path, **times)
    assert "is among the authorized ones" not in line
    assert (
        "this room's authorization on record does not cover 2026-11-20 12:00:02 +0000, when this appearance starts:"
        in line
    )
    assert "`douyin:555` from 2027-01-01 until 2027-12-31" in line
    assert "`douyin:1` until 2027-06-30 (AI digital human licensed)" in line
    expired = Authorization("Eileen Collins", "douyin:555", None, "2026-01-31", False)
    (line,) = _status_lines([expired], tmp_path, **times)
    assert "does not cover 2026-11-20 12:00:02 +0000" in line and "`douyin:555` until 2026-01-31" in line


def test_an_appearance_whose_grant_begins_while_it_lasts_is_not_said_to_be_outside_it_throughout(
    tmp_path: Path,
) -> None:
    """Seen from 23:59:50 on 2026-11-20 to 00:00:20 the next day (Beijing), the room authorized from
    2026-11-21: the draft said the grant did not cover '2026-11-20 23:59:50 +0800, the time of this appearance',
    of an appearance two thirds inside the grant. It says which part the grant covers and which it does not."""
    grant = Authorization("Eileen Collins", "douyin:555", "2026-11-21", None, False)
    times = {"start_wallclock": "2026-11-20T23:59:50+08:00", "end_wallclock": "2026-11-21T00:00:20+08:00"}
    (line,) = _status_lines([grant], tmp_path, **times)
    assert "the time of this appearance" not in line
    assert (
        "this room's authorization began at 2026-11-21 00:00:00 +0800, during the appearance: covered 2026-11-21 "
        "00:00:00 +0800 to 2026-11-21 00:00:20 +0800, not covered 2026-11-20 23:59:50 +0800 to 2026-11-21 00:00:00 "
        "+0800; on record: `douyin:555` from 2026-11-21." in line
    )
    (line,) = _status_lines([grant], tmp_path, start_wallclock=times["start_wallclock"])
    assert "does not cover 2026-11-20 23:59:50 +0800, when this appearance starts" in line


def test_a_grant_covering_the_date_or_a_time_not_known_is_the_rooms_authorization(tmp_path: Path) -> None:
    grant = Authorization("Eileen Collins", "douyin:555", "2026-01-01", "2026-12-31", False)
    on_the_day = {"start_wallclock": "2026-11-20T12:00:02+00:00"}
    for times in (on_the_day, {}, {"start_wallclock": "not a time"}):  # a hand-edited result's text: no crash
        (line,) = _status_lines([grant], tmp_path, **times)
        on_record = "`douyin:555` from 2026-01-01 until 2026-12-31."
        assert f"this room is among the authorized ones on record: {on_record}" in line


def test_a_draft_whose_room_the_gallery_authorizes_since_the_scan_does_not_swear_it_is_unauthorized(
    tmp_path: Path,
) -> None:
    """Scanned unauthorized-likeness, the room authorized afterwards, `report --gallery`: the draft said 'this
    room is among the authorized ones on record' and, below, stated in good faith that 'this use is not authorized
    by the rights holder'. It now names the disagreement for the sender to settle, and does not swear to either."""
    found = appearance("Eileen Collins", "room.mp4", room="douyin:555")
    grant = Authorization("eileen  COLLINS", "douyin:555", None, None, False)
    report = ReportInput(scan_result([found]), tmp_path / "r.json", authorizations=[grant])
    (text,) = notice_documents(report, tmp_path).values()
    (status,) = [line for line in text.splitlines() if line.startswith("- Authorization status:")]
    assert "among the authorized ones on record: `douyin:555`. The scan found no authorization" in status
    assert "{{CONFIRM WHICH HOLDS, OR DO NOT SEND}}" in status
    request = text.split("## Request")[1]
    assert "not authorized by the rights holder" not in request and "without authorization" not in request


def test_a_recording_read_only_in_part_is_not_said_to_have_been_examined_whole(tmp_path: Path) -> None:
    """A file whose decoding stopped at 18.8 s of its header's 40 s was 'Recording examined: `cut.mp4` (40 s of
    video)' in its draft, which said nothing of the 21 s nobody examined."""
    found = appearance("Rowan Atkinson", "cut.mp4", room="douyin:fan")
    cut = source(
        "cut.mp4", "truncated", room="douyin:fan", duration_s=40.0, scanned_s=18.8, error="cut.mp4: decoding stopped"
    )
    (text,) = notice_documents(ReportInput(scan_result([found], [cut]), tmp_path / "r.json"), tmp_path).values()
    (line,) = [line for line in text.splitlines() if line.startswith("- Recording examined:")]
    assert line == (
        "- Recording examined: `cut.mp4` (40 s long by its header, read only in part: cut.mp4: decoding stopped)"
    )
    whole = source("cut.mp4", room="douyin:fan", duration_s=40.0)
    (text,) = notice_documents(ReportInput(scan_result([found], [whole]), tmp_path / "r.json"), tmp_path).values()
    assert "- Recording examined: `cut.mp4` (40 s long)\n" in text


def test_a_whole_frame_saved_without_its_crop_is_still_listed_as_evidence(tmp_path: Path) -> None:
    """The draft listed an appearance's whole frame only beside its crop: a frame saved where the crop could not be
    was left out and the draft asked for a screenshot, which that frame is."""
    found = appearance("Rowan Atkinson", "fan.flv", room="douyin:fan", verdicts=[Verdict.UNAUTHORIZED])
    found.evidence_frame = Evidence("evidence/s1-a1_frame.jpg", "cd" * 32, 3.0, [10.0, 20.0, 110.0, 140.0])

    def evidence_lines() -> list[str]:
        result = scan_result([found], [source("fan.flv", room="douyin:fan")])
        (text,) = notice_documents(ReportInput(result, tmp_path / "r.json"), tmp_path / "notices").values()
        return [line for line in text.split("## Evidence files", 1)[1].splitlines() if line.startswith("- ")]

    no_crop, frame = evidence_lines()
    assert no_crop == "- Rowan Atkinson: no crop saved"
    assert frame.startswith("- `evidence/s1-a1_frame.jpg`: Rowan Atkinson at 0:03.0, whole frame, sha256 `cdcd")
    found.evidence_frame = None
    assert evidence_lines() == ["- Rowan Atkinson: no crop saved ({{ATTACH A SCREENSHOT}})"]


def test_a_result_from_before_the_forgery_model_drafts_no_takedown_on_its_retired_cues(tmp_path: Path) -> None:
    """A scan of format 1.0-1.2 raised likely-synthetic and likely-effects from hand-made cues, withdrawn for
    accusing real footage: `report` of such a file drafted a takedown of the authorized room for 'likely-synthetic
    ... landmark_dynamics', which a scan now does not raise. Those verdicts are left out, and the documents say so;
    a result of this format keeps them."""
    from impersonation_cli.outputs.findings import read_report_input
    from impersonation_cli.outputs.html import render_html

    result = _rooms([Verdict.AUTHORIZED, Verdict.CONCURRENT, Verdict.SYNTHETIC])
    result.appearances[0].reasons = ["authorized: douyin:official", "likely-synthetic: score 0.29 (landmark_dynamics)"]
    old = tmp_path / "old.json"
    old.write_text(
        result.to_json().replace(f'"schema_version": "{result.schema_version}"', '"schema_version": "1.1"'),
        encoding="utf-8",
    )
    report = read_report_input(old, None)
    assert report.result.appearances[0].verdicts == [Verdict.AUTHORIZED, Verdict.CONCURRENT]
    assert report.result.appearances[0].reasons == ["authorized: douyin:official"]
    assert report.caveat is not None and report.caveat.startswith(
        "old.json was written by scan format 1.1: the likely-synthetic and likely-effects verdicts of its 1 "
        "appearance(s) rested"
    )
    documents = notice_documents(report, tmp_path / "notices")
    assert sorted(path.name.split("-")[1] for path in documents) == ["douyin_fan"]
    assert all("withdrawn in format 1.3" in text for text in documents.values())
    assert "withdrawn in format 1.3" in render_html(report)
    current = tmp_path / "current.json"
    current.write_text(result.to_json(), encoding="utf-8")
    assert read_report_input(current, None).caveat is None
    assert _drafted_rooms(read_report_input(current, None).result, tmp_path) == ["douyin_fan", "douyin_official"]
