"""An authorization's bound is refused where judging it would leave datetime's range. `gallery authorize --until
9999-12-31` (a grant 'for ever') and an export holding it were accepted, and then every scan, watch and report
judging that person in that room ended 'internal error: OverflowError: date value out of range' (the day after
9999-12-31, and a bound turned into the appearance's zone, are past year 9999). Galleries written before then may
still hold such grants: they are judged as no limit on that side (gallery/grants.py)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest

from impersonation_cli.errors import UserError
from impersonation_cli.gallery.grants import authorizing
from impersonation_cli.gallery.store import Authorization, Gallery, ReferenceFace, export_to_file, import_from_file
from impersonation_cli.io.rooms import validate_date
from impersonation_cli.outputs.findings import ReportInput
from impersonation_cli.outputs.notice import notice_documents
from impersonation_cli.pipeline.verdicts import VerdictSettings, judge_appearance
from impersonation_cli.results import Verdict

from .builders import appearance, scan_result

ZONES = [timezone(timedelta(hours=hours)) for hours in (-12, -8, 0, 8, 14)]
EVERY_ZONE = [timezone(timedelta(hours=hours)) for hours in range(-12, 15)] + [timezone(timedelta(hours=5.5))]
ROOM = "douyin:1"
# Bounds stored before they were refused: 'for ever' at either end of the calendar.
STORED_NO_LIMIT = [
    (None, "9999-12-31"),
    (None, "9999-12-31T23:59:59-08:00"),
    ("0001-01-01", None),
    ("0001-01-01T08:00:00+08:00", None),
    ("0001-01-01", "9999-12-31"),
    ("0001-01-01T08:00:00+08:00", "9999-12-31T23:59:59-08:00"),
]
# And the never-valid ones: a grant that ended before year 1, or begins at the calendar's end.
STORED_NEVER = [(None, "0001-01-01T08:00:00+08:00"), ("9999-12-31", None), ("9999-12-31T23:59:59-08:00", None)]


def judged_in(zone: timezone, grants: list[Authorization]) -> tuple[list[Verdict], list[str]]:
    """Eve on screen from 20:00 to 21:00 on 2026-11-20 in `zone`, in a room holding `grants`."""
    day = datetime(2026, 11, 20, 20, tzinfo=zone)
    found = appearance(
        "Eve",
        "room.mp4",
        room=ROOM,
        start_wallclock=day.isoformat(),
        end_wallclock=(day + timedelta(hours=1)).isoformat(),
    )
    judgement = judge_appearance(found, grants, VerdictSettings())
    return judgement.verdicts, judgement.reasons


@pytest.mark.parametrize(
    ("valid_from", "valid_to"),
    [
        (None, "9999-12-31"),
        (None, "9999-12-31T23:59:59-08:00"),
        ("0001-01-01", None),
        ("0001-01-01T08:00:00+08:00", None),
    ],
)
def test_a_bound_at_the_ends_of_the_calendar_is_refused(valid_from: str | None, valid_to: str | None) -> None:
    bound, what = (valid_to, "--until") if valid_to else (valid_from, "--from")
    assert bound is not None
    refusal = f"{what} '{bound}' is out of range: a date in the years 1900-9998 (leave it out for no limit)"
    with pytest.raises(UserError, match=f"^{re.escape(refusal)}$"):
        validate_date(bound, what)


@pytest.mark.parametrize("zone", ZONES)
def test_every_bound_accepted_can_be_judged_in_every_zone(zone: timezone) -> None:
    grants = [
        Authorization("Eve", "douyin:1", validate_date(since, "--from"), validate_date(until, "--until"), False)
        for since, until in (
            ("1900-01-01", "9998-12-31"),
            ("1900-01-01T00:00:00+23:59", "9998-12-31T23:59:59-23:59"),
        )
    ]
    appearance = (datetime(2026, 11, 20, 20, tzinfo=zone), datetime(2026, 11, 20, 21, tzinfo=zone))
    for grant in grants:
        assert authorizing([grant], appearance).grant == grant


@pytest.mark.parametrize(("valid_from", "valid_to"), STORED_NO_LIMIT)
def test_a_stored_bound_at_the_ends_of_the_calendar_is_no_limit_in_every_zone(
    valid_from: str | None, valid_to: str | None
) -> None:
    grant = Authorization("Eve", ROOM, valid_from, valid_to, False)
    for zone in EVERY_ZONE:
        assert judged_in(zone, [grant]) == ([Verdict.AUTHORIZED], [f"{ROOM} is authorized to use Eve's likeness"])


@pytest.mark.parametrize(("valid_from", "valid_to"), STORED_NEVER)
def test_a_stored_grant_wholly_beyond_the_calendar_authorizes_nothing(
    valid_from: str | None, valid_to: str | None
) -> None:
    grant = Authorization("Eve", ROOM, valid_from, valid_to, False)
    why = "expired" if valid_to else "not yet valid"
    for zone in EVERY_ZONE:
        verdicts, reasons = judged_in(zone, [grant])
        assert (verdicts, reasons[0]) == ([Verdict.UNAUTHORIZED], f"{ROOM}: authorization {why} for Eve")


def test_a_stored_bound_at_the_ends_of_the_calendar_ends_as_any_other() -> None:
    """A grant from the beginning to for ever covers a stream; one from the beginning that ends during the
    appearance leaves the rest of it unauthorized."""
    for zone in EVERY_ZONE:
        ever = [Authorization("Eve", ROOM, "0001-01-01", "9999-12-31", False)]
        assert judged_in(zone, ever)[0] == [Verdict.AUTHORIZED]
        ending = datetime(2026, 11, 20, 20, 30, tzinfo=zone).isoformat()
        verdicts, reasons = judged_in(zone, [Authorization("Eve", ROOM, "0001-01-01T08:00:00+08:00", ending, False)])
        assert verdicts == [Verdict.UNAUTHORIZED]
        assert reasons[0].startswith(f"{ROOM}: the authorization to use Eve's likeness ended at {ending}, during")


def test_the_takedown_draft_judges_a_stored_grant_for_ever(tmp_path: Path) -> None:
    found = appearance(
        "Eve",
        "room.mp4",
        room=ROOM,
        start_wallclock="2026-11-20T20:00:00-12:00",
        end_wallclock="2026-11-20T21:00:00-12:00",
    )
    for valid_from, valid_to in STORED_NO_LIMIT:
        grant = Authorization("Eve", ROOM, valid_from, valid_to, False)
        report = ReportInput(scan_result([found]), tmp_path / "r.json", authorizations=[grant])
        (text,) = notice_documents(report, tmp_path).values()
        (line,) = [line for line in text.splitlines() if line.startswith("- Authorization status:")]
        assert line.startswith(f"- Authorization status: this room is among the authorized ones on record: `{ROOM}`")
    never = Authorization("Eve", ROOM, None, "0001-01-01T08:00:00+08:00", False)
    report = ReportInput(scan_result([found]), tmp_path / "r.json", authorizations=[never])
    (text,) = notice_documents(report, tmp_path).values()
    assert "- Authorization status: this room's authorization on record does not cover 2026-11-20 20:00:00" in text


@pytest.mark.parametrize(("valid_from", "valid_to"), STORED_NO_LIMIT)
def test_an_older_gallerys_grant_for_ever_is_exported_as_one_an_import_reads(
    tmp_path: Path, valid_from: str | None, valid_to: str | None
) -> None:
    """`gallery export` of a gallery holding such a grant wrote its bound as stored, which `gallery import-file`
    refuses ('valid_to '9999-12-31' is out of range ...; nothing imported'): the round trip failed. A bound past the
    accepted years on its open side is written as none, as it is judged."""
    embedding = np.ones(512, dtype=np.float32) / np.sqrt(512)
    with Gallery(tmp_path / "old.sqlite") as store:
        store.add_person("Ann A", [ReferenceFace("a" * 64, "ref.jpg", "w600k_mbf.onnx:0", embedding, 120, 0.9, 80, 1)])
        store.authorize("Ann A", ROOM, "2026-01-01", "2026-12-31", ai_allowed=True)
        store.db.execute("UPDATE authorizations SET valid_from = ?, valid_to = ?", (valid_from, valid_to))
        store.db.commit()
    export_to_file(tmp_path / "old.sqlite", tmp_path / "export.json")
    # Into a new gallery, and back into the one exported: its grant is the file's, written as the file has it.
    for gallery in ("new.sqlite", "old.sqlite"):
        import_from_file(tmp_path / gallery, tmp_path / "export.json")
        with Gallery(tmp_path / gallery, create=False) as store:
            assert store.authorizations() == [Authorization("Ann A", ROOM, None, None, True)]


def test_an_older_versions_export_and_a_date_time_stored_with_a_space_are_read_and_exported(tmp_path: Path) -> None:
    """Versions up to 2026-12-05 exported `valid_to` '9999-12-31' as stored, and older ones took a date-time
    written with a space ('2026-11-20 20:00:00+08:00'), which scans honour: `gallery import-file` refused both
    files, and this version's export of such a gallery wrote the spaced bound it then refused."""
    import json

    embedding = np.ones(512, dtype=np.float32) / np.sqrt(512)
    with Gallery(tmp_path / "old.sqlite") as store:
        store.add_person("Ann A", [ReferenceFace("a" * 64, "ref.jpg", "w600k_mbf.onnx:0", embedding, 120, 0.9, 80, 1)])
        store.authorize("Ann A", ROOM, "2026-01-01")
        store.db.execute("UPDATE authorizations SET valid_from = '2026-11-20 20:00:00+08:00'")
        store.db.commit()
    export_to_file(tmp_path / "old.sqlite", tmp_path / "export.json")
    document = json.loads((tmp_path / "export.json").read_text(encoding="utf-8"))
    grant = document["persons"][0]["authorizations"][0]
    assert grant["valid_from"] == "2026-11-20T20:00:00+08:00"
    grant["valid_from"], grant["valid_to"] = "2026-11-20 20:00:00+08:00", "9999-12-31"  # as an older export wrote
    (tmp_path / "older.json").write_text(json.dumps(document), encoding="utf-8")
    import_from_file(tmp_path / "new.sqlite", tmp_path / "older.json")
    with Gallery(tmp_path / "new.sqlite", create=False) as store:
        assert store.authorizations() == [Authorization("Ann A", ROOM, "2026-11-20T20:00:00+08:00", None, False)]
