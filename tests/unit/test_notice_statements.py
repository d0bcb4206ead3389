"""What a takedown draft states of authorization, checked against the gallery the report reads (found by an
exploratory run of real scans, reports and gallery commands)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from impersonation_cli.gallery.store import Gallery, ReferenceFace
from impersonation_cli.outputs.findings import ReportInput, read_report_input, wallclock_text
from impersonation_cli.outputs.notice import notice_documents
from impersonation_cli.results import SignalScore, Verdict

from .builders import appearance, scan_result, source

START, END = "2026-11-20T20:00:02.507000+08:00", "2026-11-20T20:00:04.009000+08:00"


def _gallery(path: Path, people: dict[str, list[str]]) -> Path:
    with Gallery(path) as store:
        for n, (name, aliases) in enumerate(people.items(), start=1):
            vector = np.random.default_rng(n).normal(size=512)
            embedding = (vector / np.linalg.norm(vector)).astype(np.float32)
            store.add_person(
                name, [ReferenceFace(f"{n:064x}", f"{n}.jpg", "r.onnx:0", embedding, 120, 0.9, 80, 1)], aliases
            )
    return path


def _draft(tmp_path: Path, found: list, gallery: Path) -> str:
    result = scan_result(found, [source("fan.flv", room="kuaishou:fan")])
    (tmp_path / "result.json").write_text(result.to_json(), encoding="utf-8")
    report = read_report_input(tmp_path / "result.json", gallery)
    (text,) = notice_documents(report, tmp_path / "notices").values()
    return text


def test_a_grant_of_a_person_the_result_names_by_an_alias_is_found(tmp_path: Path) -> None:
    """The result named 'Barack Obama', an alias of 'Barack H. Obama', whose grant of this very room the draft
    missed: 'no room is authorized to use Barack Obama's likeness', then 'this use is not authorized'."""
    gallery = _gallery(tmp_path / "g.sqlite", {"Barack H. Obama": ["Barack Obama"]})
    with Gallery(gallery) as store:
        store.authorize("Barack Obama", "kuaishou:fan", None, None, False)
    found = appearance("Barack Obama", "fan.flv", room="kuaishou:fan", start_wallclock=START, end_wallclock=END)
    text = _draft(tmp_path, [found], gallery)
    assert "no room is authorized" not in text
    assert "this room is among the authorized ones on record: `kuaishou:fan`" in text
    assert "{{CONFIRM WHICH HOLDS, OR DO NOT SEND}}" in text  # the scan found none: which holds is asked


def test_an_ai_licence_recorded_since_the_scan_is_asked_about(tmp_path: Path) -> None:
    """The gallery now licenses an AI digital human in the room; the scan, with none on record, flagged the
    synthetic face: the draft said the finding was 'not covered by that authorization' with no question."""
    gallery = _gallery(tmp_path / "g.sqlite", {"Sun Li": []})
    with Gallery(gallery) as store:
        store.authorize("Sun Li", "kuaishou:fan", None, None, True)
    verdicts = [Verdict.AUTHORIZED, Verdict.SYNTHETIC]
    found = appearance(
        "Sun Li", "fan.flv", room="kuaishou:fan", verdicts=verdicts, start_wallclock=START, end_wallclock=END
    )
    text = _draft(tmp_path, [found], gallery)
    status = next(line for line in text.splitlines() if line.startswith("- Authorization status:"))
    assert "its grant covering an AI digital human" in status and "The scan found no AI licence" in status
    assert status.endswith("{{CONFIRM WHICH HOLDS, OR DO NOT SEND}}")


def test_a_draft_of_an_authorized_person_and_an_unauthorized_one_says_which_is_which(tmp_path: Path) -> None:
    """One good-faith statement for the whole draft ('this use is not authorized') was false of the person the
    room is authorized for."""
    gallery = _gallery(tmp_path / "g.sqlite", {"Barack Obama": [], "Lin-Manuel Miranda": []})
    with Gallery(gallery) as store:
        store.authorize("Barack Obama", "kuaishou:fan", None, None, False)
    found = [
        appearance(
            "Barack Obama",
            "fan.flv",
            1,
            room="kuaishou:fan",
            verdicts=[Verdict.AUTHORIZED, Verdict.REPLAY],
            start_wallclock=START,
            end_wallclock=END,
        ),
        appearance("Lin-Manuel Miranda", "fan.flv", 2, room="kuaishou:fan", start_wallclock=START, end_wallclock=END),
    ]
    request = _draft(tmp_path, found, gallery).split("## Request", 1)[1]
    assert "the use of the likeness of Lin-Manuel Miranda is not authorized by the rights holder" in request
    assert "the use of the likeness of Barack Obama described above is not within the authorization given" in request
    assert "this use is not authorized" not in request


def test_wall_clock_times_keep_their_hundredths() -> None:
    """Cut to whole seconds, an appearance of 02.51-04.01 read as '20:00:02 to 20:00:04' beside its stream times'
    1.5 s, and a grant's covered stretch read '20:00:03 to 20:00:03'."""
    assert wallclock_text(START) == "2026-11-20 20:00:02.50 +0800"
    assert wallclock_text("2026-11-20T20:00:03+08:00") == "2026-11-20 20:00:03 +0800"
    assert wallclock_text("2026-11-20T20:00:03.004+08:00") == "2026-11-20 20:00:03 +0800"
    assert wallclock_text("not a time") == "not a time"


@pytest.mark.parametrize("written", [0.1, "0.1"], ids=["number", "quoted"])
def test_a_signal_is_worded_against_the_threshold_the_scan_judged_by(tmp_path: Path, written: float | str) -> None:
    """With `[verdicts] synthetic_probability = 0.1`, a face flagged at 0.11 was worded 'below the detector's
    threshold 0.96, a range real faces score in too' in the very draft that accused it; and so it still was with
    the probability quoted ("0.1"), which the verdicts read as a number and the settings record as written."""
    forgery = SignalScore("synthetic", 0.11, "face_forgery: trained detector: probability 0.11", {"threshold": 0.96})
    verdicts = [Verdict.UNAUTHORIZED, Verdict.SYNTHETIC]
    found = appearance("Sun Li", "fan.flv", room="kuaishou:fan", verdicts=verdicts, signals={"synthetic": forgery})
    result = scan_result([found], [source("fan.flv", room="kuaishou:fan")])
    result.settings["config"] = {**result.settings["config"], "verdicts": {"synthetic_probability": written}}
    (text,) = notice_documents(ReportInput(result, tmp_path / "r.json"), tmp_path / "notices").values()
    line = next(line for line in text.splitlines() if line.startswith("  - synthetic:"))
    assert "at or above the threshold set in force, 0.10 (the detector's own: 0.96)" in line
    assert "a range real faces score in too" not in line
    result.settings["config"]["verdicts"] = {"synthetic_probability": "model"}
    (text,) = notice_documents(ReportInput(result, tmp_path / "r.json"), tmp_path / "again").values()
    assert "below the detector's threshold 0.96, a range real faces score in too" in text


def test_a_signal_not_judged_is_said_to_be_not_judged_and_given_no_score(tmp_path: Path) -> None:
    """'face_forgery: 0.00, no clear sign; not judged: 2 frame(s) of the face judged, 3 needed' told the platform
    of a finding never made: the 0 only stands for no measurement."""
    unjudged = SignalScore("face_forgery", 0.0, "not judged: 2 frame(s) of the face judged, 3 needed")
    judged = SignalScore("blend_seam", 0.0, "edge ratio 0.01")
    found = appearance("Sun Li", "fan.flv", room="kuaishou:fan", signals={"face_forgery": unjudged, "seam": judged})
    (text,) = notice_documents(ReportInput(scan_result([found]), tmp_path / "r.json"), tmp_path / "notices").values()
    assert "  - face_forgery: not judged: 2 frame(s) of the face judged, 3 needed" in text, text
    assert "  - seam: 0.00, no clear sign; edge ratio 0.01" in text, text


def test_a_draft_sets_out_the_highest_risk_appearances_and_lists_the_others_in_brief(tmp_path: Path) -> None:
    """1,500 flagged appearances of one person in one source made a 3.26 MB draft of 1,500 sections and 3,000
    evidence lines: nobody can paste that into a platform's form."""
    from impersonation_cli.outputs.notice import MAX_DETAILED

    found = [
        appearance("Sun Li", "fan.flv", n, room="kuaishou:fan", start_s=10.0 * n, end_s=10.0 * n + 5, risk=n / 1000)
        for n in range(1, 121)
    ]
    text = _draft(tmp_path, found, _gallery(tmp_path / "g.sqlite", {"Sun Li": []}))
    sections = [line for line in text.splitlines() if line.startswith("### ") and "stream time" in line]
    assert len(sections) == MAX_DETAILED
    assert sections[0].startswith("### 71. Sun Li, 11:50.0 to 11:55.0")  # the riskiest, in the source's order
    assert sections[-1].startswith("### 120. Sun Li")
    assert "### The other 70 appearances, in brief" in text
    assert "- 1. Sun Li, 0:10.0 to 0:15.0: unauthorized-likeness, risk 0.00" in text
    assert "- 70. Sun Li, 11:40.0 to 11:45.0: unauthorized-likeness, risk 0.07" in text
    assert "Those of the other 70 appearances are listed in the scan result." in text
    assert len(text) < 100_000
    few = _draft(tmp_path, found[:3], _gallery(tmp_path / "g2.sqlite", {"Sun Li": []}))
    assert "in brief" not in few and "Those of the other" not in few
