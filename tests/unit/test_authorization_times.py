"""An authorization's dates and an appearance's time zone: a date is the room's own day where the tool knows its
zone (a recording's start time keeps the offset it was given), and any zone's day where it does not (a live
frame's time, written in UTC); a date-time bound is that instant. A zone alone must never accuse a room."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from impersonation_cli.errors import UserError
from impersonation_cli.gallery.grants import appearance_time, covers
from impersonation_cli.gallery.store import Authorization
from impersonation_cli.io.rooms import Room, check_period
from impersonation_cli.pipeline.scan import _wallclock
from impersonation_cli.pipeline.tracks import Observation
from impersonation_cli.pipeline.verdicts import VerdictSettings, judge_appearance
from impersonation_cli.results import Verdict

from .builders import appearance

ROOM = "douyin:555"


def grant(valid_from: str | None = None, valid_to: str | None = None) -> Authorization:
    return Authorization("Eileen Collins", ROOM, valid_from, valid_to, False)


def seen(time_s: float, room: Room | None = None, arrived: float | None = None) -> datetime | None:
    """An appearance's start as a scan writes it and the verdicts read it back."""
    empty = np.zeros((0,), np.float32)
    observation = Observation(0, time_s, empty, 1.0, empty, empty, wallclock=arrived)
    return appearance_time(_wallclock(room, observation))


BEIJING_MORNING = Room("capture.mp4", ROOM, started_at=datetime.fromisoformat("2026-11-20T07:00:00+08:00"))


def test_a_recording_keeps_its_start_times_zone_and_is_judged_on_the_rooms_own_date() -> None:
    """07:00 in Beijing on 2026-11-20 was written as 2026-11-19T23:00 UTC and judged on the 19th: a grant from
    the 20th was 'not yet valid', an unauthorized-likeness verdict and a takedown draft against the room."""
    moment = seen(5.0, BEIJING_MORNING)
    assert moment is not None and moment.isoformat() == "2026-11-20T07:00:05+08:00"
    assert covers(grant(valid_from="2026-11-20"), moment)
    assert not covers(grant(valid_from="2026-11-21"), moment)
    assert not covers(grant(valid_to="2026-11-19"), moment)


@pytest.mark.parametrize("fold", [0, 1])
def test_a_start_in_a_zone_with_daylight_saving_counts_elapsed_time_across_the_change(fold: int) -> None:
    """A library caller's start time in a zoneinfo zone, 01:59:58 in New York on the night the clocks go back (the
    first or, fold 1, the second such moment): Python added the 7 s by the wall clock, 02:00:05 -05:00, an hour
    late (and the second moment's start came back an hour early), and compared times of one zone by the wall
    clock, so a grant ending at 02:30 -04:00 (06:30 UTC) was read as ending during the appearance:
    unauthorized-likeness for the same instant given as text."""
    start = datetime(2026, 11, 1, 1, 59, 58, fold=fold, tzinfo=ZoneInfo("America/New_York"))
    room = Room("capture.mp4", ROOM, started_at=start)
    first, moment = seen(0.0, room), seen(7.0, room)
    assert first is not None and first.timestamp() == start.timestamp()  # fold 1 was read back an hour early
    assert moment is not None and moment.timestamp() == start.timestamp() + 7
    assert moment.isoformat() == ("2026-11-01T02:00:05-04:00", "2026-11-01T02:00:05-05:00")[fold]
    until_half_past_six_utc = grant(valid_to="2026-11-01T02:30:00-04:00")
    assert covers(until_half_past_six_utc, moment) is (fold == 0)  # the second 01:59:58 is 06:59:58 UTC


def test_a_time_written_in_utc_is_given_the_dates_day_in_any_zone() -> None:
    """A live frame's time is its arrival in UTC: 23:00 UTC on the 19th is the 20th in Beijing."""
    live = seen(0.0, arrived=datetime.fromisoformat("2026-11-19T23:00:00+00:00").timestamp())
    assert live is not None and live.isoformat() == "2026-11-19T23:00:00+00:00"
    assert covers(grant(valid_from="2026-11-20"), live)  # from 10:00 UTC on the 19th (UTC+14's midnight)
    assert not covers(grant(valid_from="2026-11-21"), live)
    assert covers(grant(valid_to="2026-11-19"), live)  # to 12:00 UTC on the 20th (UTC-12's midnight)
    assert not covers(grant(valid_to="2026-11-18"), live)


def test_a_date_time_bound_is_that_instant_both_ends_included() -> None:
    last = grant(valid_to="2026-12-31T20:00:00+08:00")
    assert covers(last, datetime.fromisoformat("2026-12-31T20:00:00+08:00"))
    assert not covers(last, datetime.fromisoformat("2026-12-31T20:00:01+08:00"))
    first = grant(valid_from="2026-12-01T09:00:00+08:00")
    assert covers(first, datetime.fromisoformat("2026-12-01T01:00:00+00:00"))
    assert not covers(first, datetime.fromisoformat("2026-12-01T00:59:59+00:00"))


def test_a_time_not_known_counts_every_grant() -> None:
    assert seen(5.0) is None and covers(grant(valid_from="2099-01-01"), None)
    assert appearance_time("not a time") is None and appearance_time("2026-11-20T07:00:00") is None


def test_a_period_is_refused_only_when_its_start_follows_its_end() -> None:
    with pytest.raises(UserError, match="the start must not follow the end"):
        check_period("2026-12-31T21:00:00+08:00", "2026-12-31T20:00:00+08:00")
    with pytest.raises(UserError, match="the start must not follow the end"):
        check_period("2027-01-01", "2026-12-31T23:00:00+08:00")
    check_period("2026-12-31T09:00:00+08:00", "2026-12-31T20:00:00+08:00")
    check_period("2026-12-31", "2026-12-31T01:00:00+08:00")  # a date is the whole day


def test_a_beijing_morning_recording_in_a_room_authorized_from_that_day_is_authorized() -> None:
    """The verdict end to end, from the time the scan writes: was unauthorized-likeness ('not yet valid')."""
    empty = np.zeros((0,), np.float32)
    start = _wallclock(BEIJING_MORNING, Observation(0, 5.0, empty, 1.0, empty, empty))
    found = appearance("Eileen Collins", "capture.mp4", room=ROOM, start_wallclock=start, end_wallclock=start)
    judged = judge_appearance(found, [grant(valid_from="2026-11-20")], VerdictSettings())
    assert judged.verdicts[0] == Verdict.AUTHORIZED, judged.reasons
