"""When an authorization covers an appearance: the one rule the verdicts judge by (pipeline/verdicts.py) and the
takedown drafts state (outputs/notice.py). A grant authorizes an appearance only when it covers all of it, from
its start to its end: one that begins or ends while the person is on screen leaves part of it uncovered, which
`coverage` tells (the covered part and the parts before the grant begins and after it ends).

A bound given as a date-time (`--until 2026-12-31T20:00:00+08:00`) is that instant. A bound given as a date is
that day in the zone the appearance's time is written in: a recording's start time (`--started-at`, a rooms
file) keeps the offset it was given, so its appearances fall on the room's own date. A time written in UTC (a
live frame's arrival: a stream says nothing of its zone; or a start time given in UTC) is compared with that
date in every zone on Earth (from its midnight at UTC+14 to the next at UTC-12): a grant starting 2026-11-20
covers a Beijing stream from 00:00 that day, which is 16:00 UTC the day before. A time zone alone must never
make a legitimate room's grant "not yet valid" or "expired", which would accuse it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import MINYEAR, date, datetime, time, timedelta, timezone

from impersonation_cli.gallery.store import Authorization
from impersonation_cli.io.rooms import DATE_LENGTH, has_time

EARLIEST_ZONE = timezone(timedelta(hours=14))  # where a day begins first
LATEST_ZONE = timezone(timedelta(hours=-12))  # where it ends last


def appearance_time(wallclock: str | None) -> datetime | None:
    """An appearance's start or end time as written (a time with its offset); None when the time is not known (no
    --started-at, no rooms file) or, in a hand-edited result, not a time with an offset."""
    if not wallclock:
        return None
    try:
        moment = datetime.fromisoformat(wallclock)
    except ValueError:
        return None
    return moment if moment.utcoffset() is not None else None


# Two wall-clock times, the first not after the second.
Span = tuple[datetime, datetime]


def appearance_span(start_wallclock: str | None, end_wallclock: str | None) -> Span | None:
    """When an appearance starts and ends (`appearance_time`); None when its start is not known. An end not known
    (a hand-edited result) is its start."""
    start = appearance_time(start_wallclock)
    if start is None:
        return None
    end = appearance_time(end_wallclock)
    return (start, end) if end is not None and end >= start else (start, start)


def covers(grant: Authorization, moment: datetime | None) -> bool:
    """Whether `grant` is valid at `moment`, both its bounds included; with the time not known, every grant counts."""
    if moment is None:
        return True
    if grant.valid_from and moment < _bound(grant.valid_from, moment, end=False):
        return False
    if not grant.valid_to:
        return True
    ends = _bound(grant.valid_to, moment, end=True)
    return moment < ends or (has_time(grant.valid_to) and moment == ends)


@dataclass(frozen=True)
class Coverage:
    """How much of an appearance one grant covers: `covered`, the stretch it covers (None: none of it, or the time
    is not known), and the stretches it does not: `before` the grant begins, `after` it ends. A stretch ends where
    the next begins, at the grant's bound, in the zone of the appearance's start."""

    grant: Authorization
    covered: Span | None
    before: Span | None = None
    after: Span | None = None

    @property
    def whole(self) -> bool:
        """The grant authorizes the appearance: it covers all of it (or its time is not known)."""
        return self.before is None and self.after is None

    @property
    def uncovered(self) -> list[Span]:
        return [span for span in (self.before, self.after) if span is not None]

    @property
    def partial(self) -> bool:
        """The grant begins or ends while the appearance lasts."""
        return self.covered is not None and not self.whole

    def describe(self, shown: Callable[[datetime], str] = datetime.isoformat) -> str:
        """A partial coverage in words, each time as `shown` writes it: 'ended at X, during the appearance: covered
        A to X, not covered X to B' (or 'began at', or both)."""
        assert self.covered is not None
        first, last = self.covered
        changes = ([f"began at {shown(first)}"] if self.before else []) + (
            [f"ended at {shown(last)}"] if self.after else []
        )
        return (
            f"{' and '.join(changes)}, during the appearance: covered {shown(first)} to {shown(last)}, "
            f"not covered {', '.join(f'{shown(start)} to {shown(end)}' for start, end in self.uncovered)}"
        )


def coverage(grant: Authorization, span: Span | None) -> Coverage:
    """The part of the appearance from `span[0]` to `span[1]` that `grant` covers (`covers` at each instant);
    with the time not known, all of it. Touching the grant at one instant (ending as it begins) covers none."""
    if span is None:
        return Coverage(grant, None)
    start, end = span
    begins = _bound(grant.valid_from, start, end=False) if grant.valid_from else start
    ends = _bound(grant.valid_to, start, end=True) if grant.valid_to else end
    before = (start, min(begins, end)) if start < begins else None
    after = (max(ends, start), end) if end >= begins and not covers(grant, end) else None
    covered = None if span in (before, after) else (max(start, begins), min(end, ends))
    return Coverage(grant, covered, before, after)


@dataclass(frozen=True)
class Authorizing:
    """What a room's grants say of one appearance: `grant`, the one that authorizes it (covers all of it; None: not
    authorized), and with none, `partial`: a grant that covers only part of it. A gallery holds one grant per
    person and room; one written before rooms were spelt one way (io/rooms.canonical_room) may hold two."""

    grant: Authorization | None = None
    partial: Coverage | None = None

    @property
    def ai_allowed(self) -> bool:
        """An AI digital human is licensed for the appearance: by the grant that authorizes it."""
        return self.grant is not None and self.grant.ai_allowed


def authorizing(grants: list[Authorization], span: Span | None) -> Authorizing:
    """How the grants of an appearance's room cover it (`coverage`): the one that covers all of it (one licensing
    AI, where two do), else none and the first that covers part of it."""
    coverages = [coverage(grant, span) for grant in grants]
    whole = [c.grant for c in coverages if c.whole]
    if whole:
        return Authorizing(max(whole, key=lambda grant: grant.ai_allowed))
    return Authorizing(None, next((c for c in coverages if c.partial), None))


def _bound(text: str, moment: datetime, end: bool) -> datetime:
    """The instant a grant's bound marks, in `moment`'s zone: a date-time's own (included), or the midnight a date
    begins (`end`: the midnight after it, its first instant not included). A bound past the last instant that zone
    can write (the day after 9999-12-31; 9999-12-31T23:59:59-08:00 at UTC+08:00) is that last instant, no limit on
    that side; one before year 1 there (0001-01-01T08:00:00+08:00 at UTC-08:00) is its first, from the beginning.
    io/rooms.validate_date refuses such bounds, but galleries written before it may hold them ('for ever')."""
    try:
        if has_time(text):
            bound = datetime.fromisoformat(text)
        else:
            day = date.fromisoformat(text) + timedelta(days=end)
            zone = moment.tzinfo if moment.utcoffset() else (LATEST_ZONE if end else EARLIEST_ZONE)
            bound = datetime.combine(day, time(), zone)
        return bound.astimezone(moment.tzinfo)
    except OverflowError:
        calendar_end = datetime.min if date.fromisoformat(text[:DATE_LENGTH]).year == MINYEAR else datetime.max
        return calendar_end.replace(tzinfo=moment.tzinfo)
