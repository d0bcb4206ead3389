"""A result file is edited by hand or crafted: whatever JSON it holds that the reader lets through, the report's
documents are written (the reader's refusals are tests/unit/test_result_format.py)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from impersonation_cli.gallery.store import Gallery
from impersonation_cli.outputs.evidence import save_evidence, source_slug
from impersonation_cli.outputs.evidence_files import (
    CHANGED,
    MISSING,
    NOT_SAVED,
    UNREADABLE,
    VERIFIED,
    check_evidence,
    found_elsewhere,
)
from impersonation_cli.outputs.findings import ReportInput, read_report_input
from impersonation_cli.outputs.html import render_html
from impersonation_cli.outputs.notice import notice_file_name, write_notices
from impersonation_cli.results import Evidence, ScanResult

from .builders import appearance, scan_result, source, with_signals_and_evidence


def test_a_notice_shows_a_threshold_no_float_holds(tmp_path: Path) -> None:
    """settings are free-form JSON: a 400-digit threshold raised OverflowError formatting it (exit 4)."""
    result = scan_result([appearance()])
    result.settings["config"] = {"match": {"threshold": 10**400}}
    (written,) = write_notices(ReportInput(result, tmp_path / "result.json"), tmp_path / "notices")
    assert "from `1000" in written.read_text(encoding="utf-8")


def test_a_name_with_a_lone_surrogate_has_no_reference_photo(tmp_path: Path) -> None:
    """JSON's '\\ud800' is a lone surrogate; looking it up in the gallery raised UnicodeEncodeError (exit 4)."""
    gallery = tmp_path / "gallery.sqlite"
    Gallery(gallery).close()
    result_path = tmp_path / "result.json"
    result_path.write_text(json.dumps(scan_result([appearance("\ud800Eve")]).to_dict()), encoding="utf-8")
    report = read_report_input(result_path, gallery)
    assert report.references == {} and report.result.appearances[0].identity == "\ud800Eve"


def test_an_evidence_path_too_long_to_look_up_or_unreadable_does_not_stop_the_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An evidence path of 5000 characters raised ENAMETOOLONG from is_file: `report` printed the path as its
    error and wrote nothing. A crop it may not read is shown as such, the report written."""
    long_one = with_signals_and_evidence(appearance())
    assert long_one.evidence is not None
    long_one.evidence.path = "a" * 5000
    assert check_evidence(long_one.evidence, tmp_path).status == MISSING
    crop = tmp_path / "crop.jpg"
    crop.write_bytes(b"\xff\xd8\xff crop")
    kept = Evidence(str(crop), hashlib.sha256(crop.read_bytes()).hexdigest(), 3.0, [0.0, 0.0, 1.0, 1.0])
    assert check_evidence(kept, tmp_path).status == VERIFIED

    def refused(self: Path) -> bytes:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "read_bytes", refused)
    assert check_evidence(kept, tmp_path).status == UNREADABLE
    page = render_html(ReportInput(scan_result([long_one]), tmp_path / "result.json"))
    assert "evidence missing" in page


def test_a_crop_that_cannot_be_written_is_not_saved_and_the_scan_goes_on(tmp_path: Path) -> None:
    """A file where the source's evidence folder should be (or a full disk) raised from save_evidence: the scan
    lost the whole source as 'unreadable ... (an internal error: please report it)', its appearances with it."""
    (tmp_path / source_slug("clip.mp4")).write_text("in the way", encoding="utf-8")
    crop, box = np.zeros((8, 8, 3), np.uint8), np.array([1.04, 2.0, 9.0, 10.0])
    evidence = save_evidence(tmp_path, "clip.mp4", "s1-a1", "Eileen Collins", crop, 3.00004, box)
    assert evidence == Evidence(path=None, sha256=None, time_s=3.0, box=[1.0, 2.0, 9.0, 10.0])
    assert check_evidence(evidence, tmp_path).status == NOT_SAVED


def test_evidence_beside_the_result_is_found_past_another_file_of_its_name_here(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """From case1/, `report ../case2/result.json` found case1's crop at the same relative path first and called
    case2's intact evidence changed."""
    here, there = tmp_path / "case1", tmp_path / "case2"
    for folder, content in ((here, b"\xff\xd8\xff case 1"), (there, b"\xff\xd8\xff case 2")):
        (folder / "ev").mkdir(parents=True)
        (folder / "ev" / "crop.jpg").write_bytes(content)
    monkeypatch.chdir(here)
    evidence = Evidence("ev/crop.jpg", hashlib.sha256(b"\xff\xd8\xff case 2").hexdigest(), 3.0, [0.0, 0.0, 1.0, 1.0])
    found = check_evidence(evidence, there)
    assert (found.status, found.path) == (VERIFIED, there / "ev" / "crop.jpg")
    (there / "ev" / "crop.jpg").write_bytes(b"\xff\xd8\xff tampered")
    assert check_evidence(evidence, there).status == CHANGED


def test_evidence_moved_with_a_result_written_below_the_scan_s_folder_is_found(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`scan --json out/r.json --evidence-dir out/ev` records 'out/ev/...'; `report r.json` from out/ (or the
    out/ folder moved) found no crop: every card said 'evidence missing', and every takedown draft 'file missing
    when this draft was made', of files that were there beside the result. A path's last parts under the result's
    folder are tried too, and taken only when the file is the one recorded."""
    crop = b"\xff\xd8\xff crop"
    out = tmp_path / "moved" / "out"
    (out / "ev" / "a-1234").mkdir(parents=True)
    (out / "ev" / "a-1234" / "s1-a1.jpg").write_bytes(crop)
    monkeypatch.chdir(tmp_path)
    for recorded in ("out/ev/a-1234/s1-a1.jpg", "/old/place/out/ev/a-1234/s1-a1.jpg"):
        evidence = Evidence(recorded, hashlib.sha256(crop).hexdigest(), 3.0, [0.0, 0.0, 1.0, 1.0])
        found = check_evidence(evidence, out)
        assert (found.status, found.path) == (VERIFIED, out / "ev" / "a-1234" / "s1-a1.jpg"), recorded
    # The crop altered there is changed, where it is, not missing: the report run from out/ (as docs/reports.md
    # shows) told the analyst the evidence was gone when it had been tampered with.
    altered = Evidence("out/ev/a-1234/s1-a1.jpg", "ab" * 32, 3.0, [0.0, 0.0, 1.0, 1.0])
    checked = check_evidence(altered, out)
    assert (checked.status, found_elsewhere(altered, checked)) == (CHANGED, out / "ev" / "a-1234" / "s1-a1.jpg")
    assert check_evidence(Evidence("out/ev/a-1234/s9-a9.jpg", "ab" * 32, 3.0, [0.0] * 4), out).status == MISSING


def test_evidence_beside_the_results_folder_in_a_moved_case_folder_is_found(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In case/, `scan --json out/r.json --evidence-dir ev` records 'ev/...' (or /abs/case/ev/... with absolute
    paths); case/ moved whole to case2/, `report case2/out/r.json` called every crop missing: only the result's
    own folder was looked under, where ev/ is beside it."""
    crop = b"\xff\xd8\xff crop"
    out = tmp_path / "case2" / "out"
    out.mkdir(parents=True)
    (tmp_path / "case2" / "ev" / "a-1234").mkdir(parents=True)
    (tmp_path / "case2" / "ev" / "a-1234" / "s1-a1.jpg").write_bytes(crop)
    monkeypatch.chdir(tmp_path)
    for recorded in ("ev/a-1234/s1-a1.jpg", "/old/case/ev/a-1234/s1-a1.jpg"):
        evidence = Evidence(recorded, hashlib.sha256(crop).hexdigest(), 3.0, [0.0, 0.0, 1.0, 1.0])
        found = check_evidence(evidence, out)
        assert (found.status, found.path) == (VERIFIED, tmp_path / "case2" / "ev" / "a-1234" / "s1-a1.jpg"), recorded
    other = Evidence("ev/a-1234/s1-a1.jpg", "ab" * 32, 3.0, [0.0, 0.0, 1.0, 1.0])  # a file there, not the crop
    assert check_evidence(other, out).status != VERIFIED


def test_the_documents_name_where_moved_evidence_was_checked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Found beside the moved result, the crop was called "verified" under its recorded path 'out/ev/...', which
    names no file from where the report ran: the draft and the page now also say where the file checked is, so
    that is the file attached to the takedown. Found as recorded, nothing more is said."""
    crop = b"\xff\xd8\xff crop"
    out = tmp_path / "moved" / "out"
    (out / "ev" / "a-1234").mkdir(parents=True)
    checked = out / "ev" / "a-1234" / "s1-a1.jpg"
    checked.write_bytes(crop)
    found = with_signals_and_evidence(appearance(room="douyin:1"))
    found.evidence = Evidence("out/ev/a-1234/s1-a1.jpg", hashlib.sha256(crop).hexdigest(), 3.0, [0.0, 0.0, 1.0, 1.0])
    result = scan_result([found], [source(room="douyin:1")])
    monkeypatch.chdir(tmp_path)
    report = ReportInput(result, out / "r.json")
    (written,) = write_notices(report, tmp_path / "notices")
    assert f"(file verified at `{checked}` when this draft was made)" in written.read_text(encoding="utf-8")
    assert f"<span class='muted'>at</span> <code>{checked}</code>" in render_html(report)
    monkeypatch.chdir(tmp_path / "moved")  # where the scan ran: found as recorded
    (written,) = write_notices(report, tmp_path / "notices")
    assert "(file verified when this draft was made)" in written.read_text(encoding="utf-8")
    assert "<span class='muted'>at</span>" not in render_html(report)


def test_a_source_with_a_lone_high_surrogate_gets_a_notice(tmp_path: Path) -> None:
    """surrogateescape encodes only '\\udc80'-'\\udcff' (a file name's undecodable bytes); a source holding
    JSON's '\\ud800' raised UnicodeEncodeError naming its takedown draft (exit 4)."""
    result = scan_result([appearance(source="/x/\ud800.mp4")])
    (written,) = write_notices(ReportInput(result, tmp_path / "result.json"), tmp_path / "notices")
    # Shown (io/names.py) as the visible \ud800, which names the draft: no surrogate reaches it now.
    assert written.name.startswith("takedown-ud800-") and written.name != notice_file_name(source("/x/\udcff.mp4"))
    as_bytes = hashlib.sha256(b"/x/\xff.mp4").hexdigest()[:8]  # a non-UTF-8 file name's hash is unchanged
    assert source_slug("/x/\udcff.mp4") == f"x-{as_bytes}"


def test_a_gallery_that_is_a_folder_is_named_as_one(tmp_path: Path) -> None:
    from impersonation_cli.errors import UserError

    result = tmp_path / "result.json"
    result.write_text(scan_result([appearance()], [source()]).to_json(), encoding="utf-8")
    with pytest.raises(UserError, match="is a folder, not a gallery file"):  # was "no such gallery file"
        read_report_input(result, tmp_path)


def test_a_notice_of_a_file_name_that_is_not_utf8_is_named_as_its_evidence_folder(tmp_path: Path) -> None:
    """The scan names the evidence folder from the name it read ('bad-46823c3d'), the result shows it as `\\xff`,
    and the draft was named from that text: 'takedown-bad_xff-cdce7db8.md'."""
    name = "/rec/bad\udcff.mp4"  # os.fsdecode(b"/rec/bad\xff.mp4")
    crop = np.full((8, 8, 3), 128, dtype=np.uint8)
    saved = save_evidence(tmp_path / "ev", name, "s1-a1", "Ann", crop, 3.0, np.array([0.0, 0.0, 8.0, 8.0]))
    found = appearance(source=name)
    found.evidence = saved
    written = tmp_path / "result.json"
    written.write_text(scan_result([found], [source(name)]).to_json(), encoding="utf-8")
    assert "bad\\\\xff.mp4" in written.read_text(encoding="utf-8")
    (notice,) = write_notices(ReportInput(ScanResult.load(written), written), tmp_path / "notices")
    assert notice.name == f"takedown-{Path(saved.path or '').parent.name}.md"
