"""When an authorization covers an appearance: the one rule the verdicts judge by (pipeline/verdicts.py) and the
takedown drafts state (outputs/notice.py)."""

from __future__ import annotations

from datetime import date, datetime

from impersonation_cli.gallery.store import Authorization


def appearance_day(start_wallclock: str | None) -> date | None:
    """The date an appearance starts on, in the zone its wall-clock time is written in; None when the time is not
    known (no --started-at, no rooms file), or in a hand-edited result is not a time."""
    if not start_wallclock:
        return None
    try:
        return datetime.fromisoformat(start_wallclock).date()
    except ValueError:
        return None


def covers(grant: Authorization, day: date | None) -> bool:
    """Whether `grant` is valid on `day`, both its dates included; with the day not known, every grant counts."""
    if day is None:
        return True
    if grant.valid_from and day < date.fromisoformat(grant.valid_from[:10]):
        return False
    return not (grant.valid_to and day > date.fromisoformat(grant.valid_to[:10]))
