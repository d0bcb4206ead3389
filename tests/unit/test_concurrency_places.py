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
