"""When an authorization covers an appearance: the one rule the verdicts judge by (pipeline/verdicts.py) and the
takedown drafts state (outputs/notice.py).

A bound given as a date-time (`--until 2026-12-31T20:00:00+08:00`) is that instant. A bound given as a date is
that day in the zone the appearance's time is written in: a recording's start time (`--started-at`, a rooms
file) keeps the offset it was given, so its appearances fall on the room's own date. A time written in UTC (a
live frame's arrival: a stream says nothing of its zone; or a start time given in UTC) is compared with that
date in every zone on Earth (from its midnight at UTC+14 to the next at UTC-12): a grant starting 2026-11-20
covers a Beijing stream from 00:00 that day, which is 16:00 UTC the day before. A time zone alone must never
make a legitimate room's grant "not yet valid" or "expired", which would accuse it.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

from impersonation_cli.gallery.store import Authorization
from impersonation_cli.io.rooms import has_time

EARLIEST_ZONE = timezone(timedelta(hours=14))  # where a day begins first
LATEST_ZONE = timezone(timedelta(hours=-12))  # where it ends last


def appearance_time(start_wallclock: str | None) -> datetime | None:
    """When an appearance starts, as written (a time with its offset); None when the time is not known (no
    --started-at, no rooms file) or, in a hand-edited result, not a time with an offset."""
    if not start_wallclock:
        return None
    try:
        moment = datetime.fromisoformat(start_wallclock)
    except ValueError:
        return None
    return moment if moment.utcoffset() is not None else None


def covers(grant: Authorization, moment: datetime | None) -> bool:
    """Whether `grant` is valid at `moment`, both its bounds included; with the time not known, every grant counts."""
    if moment is None:
        return True
    if grant.valid_from and moment < _bound(grant.valid_from, moment, end=False):
        return False
    return not (grant.valid_to and moment >= _bound(grant.valid_to, moment, end=True))


def _bound(text: str, moment: datetime, end: bool) -> datetime:
    """A grant's bound as the instant it begins (`end`: the first instant after it, for a bound included)."""
    if has_time(text):
        return datetime.fromisoformat(text) + timedelta(microseconds=end)
    day = date.fromisoformat(text) + timedelta(days=end)
    zone = moment.tzinfo if moment.utcoffset() else (LATEST_ZONE if end else EARLIEST_ZONE)
    return datetime.combine(day, time(), zone)
