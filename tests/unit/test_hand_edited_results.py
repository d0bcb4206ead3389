"""A result file is edited by hand or crafted: whatever JSON it holds that the reader lets through, the report's
documents are written (the reader's refusals are tests/unit/test_result_format.py)."""

from __future__ import annotations

import json
from pathlib import Path

from impersonation_cli.gallery.store import Gallery
from impersonation_cli.outputs.findings import ReportInput, read_report_input
from impersonation_cli.outputs.notice import write_notices

from .builders import appearance, scan_result


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
