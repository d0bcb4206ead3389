"""`concurrent` needs two places: rooms, or a watch's streams. A recording of no known room is in none."""

from __future__ import annotations

from impersonation_cli.config import load_config
from impersonation_cli.pipeline.scan import add_concurrency
from impersonation_cli.results import Appearance, Verdict
from tests.unit.builders import appearance, source

START, END = "2026-11-20T20:00:00+08:00", "2026-11-20T20:00:10+08:00"


def seen(where: str, room: str | None, number: int) -> Appearance:
    return appearance("Barack Obama", where, number, room=room, start_wallclock=START, end_wallclock=END)


def concurrent(found: list[Appearance], live: bool = False) -> list[bool]:
    sources = [source(a.source, room=a.room) for a in found]
    add_concurrency(sources, found, load_config(None), live=live)
    return [Verdict.CONCURRENT in a.verdicts for a in found]


def test_recordings_of_no_known_room_are_not_concurrent() -> None:
    # `scan a.mp4 b.mp4 --started-at T` (no --room): both files got T and were flagged `concurrent`, "at most one
    # can be real", though they may be two captures of one room.
    assert concurrent([seen("a.mp4", None, 1), seen("b.mp4", None, 2)]) == [False, False]
    # Nor against a known room: the roomless file may be a capture of that very room.
    assert concurrent([seen("a.mp4", None, 1), seen("b.mp4", "douyin:1", 2)]) == [False, False]


def test_known_rooms_and_live_streams_are_places() -> None:
    assert concurrent([seen("a.mp4", "douyin:1", 1), seen("b.mp4", "kuaishou:2", 2)]) == [True, True]
    # A watch's URL is one broadcast: two streams live at once are two places.
    urls = [seen("rtmp://127.0.0.1/live/a", None, 1), seen("rtmp://127.0.0.1/live/b", None, 2)]
    assert concurrent(urls, live=True) == [True, True]
    # One room seen in two recordings is one place.
    assert concurrent([seen("a.mp4", "douyin:1", 1), seen("b.mp4", "douyin:1", 2)]) == [False, False]


def test_rooms_are_compared_on_when_the_person_was_on_screen_not_on_the_appearances_span() -> None:
    """An appearance joins tracks up to 4 s apart ([scan] merge_gap_s): a room showing the person at 20:00:07.75
    to 08.27, while they were off screen in douyin:1 from 06.5 to 10.0, was flagged `concurrent` with it, and
    both drafts said they were 'on screen ... at the same time'."""
    from impersonation_cli.results import WallclockSpan

    def at(seconds: float) -> str:
        return f"2026-11-20T20:00:{seconds:05.2f}+08:00"

    stretches = [WallclockSpan(at(2.0), at(6.5)), WallclockSpan(at(10.0), at(14.5)), WallclockSpan(at(18.0), at(22.5))]
    room_a = appearance("Barack Obama", "a.mp4", 1, room="douyin:1", start_wallclock=at(2.0), end_wallclock=at(22.5))
    room_b = appearance("Barack Obama", "b.mp4", 2, room="douyin:2", start_wallclock=at(7.75), end_wallclock=at(8.27))
    room_a.on_screen, room_b.on_screen = stretches, [WallclockSpan(at(7.75), at(8.27))]
    assert concurrent([room_a, room_b]) == [False, False]
    room_b.on_screen = [WallclockSpan(at(7.0), at(8.27))]  # within the 1-s slack of 6.5
    assert concurrent([room_a, room_b]) == [True, True]
    # A result written before the stretches were (format 1.12 and earlier) is compared on the whole span.
    old_a, old_b = seen("a.mp4", "douyin:1", 1), seen("b.mp4", "douyin:2", 2)
    assert concurrent([old_a, old_b]) == [True, True]
