"""An authorization's bound is refused where judging it would leave datetime's range. `gallery authorize --until
9999-12-31` (a grant 'for ever') and an export holding it were accepted, and then every scan, watch and report
judging that person in that room ended 'internal error: OverflowError: date value out of range' (the day after
9999-12-31, and a bound turned into the appearance's zone, are past year 9999)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest

from impersonation_cli.errors import UserError
from impersonation_cli.gallery.grants import authorizing
from impersonation_cli.gallery.store import Authorization
from impersonation_cli.io.rooms import validate_date

ZONES = [timezone(timedelta(hours=hours)) for hours in (-12, -8, 0, 8, 14)]


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
        assert authorizing([grant], appearance).grants == [grant]
