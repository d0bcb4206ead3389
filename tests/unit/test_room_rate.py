"""A room's `fps` in the summary (`settings.rooms[].fps`, docs/watch.md: frames sampled per second over its last
5 s) was measured at its latest sample only: a room that ended 30 s before the watch did kept 1.1 fps, rooms
silent for 6 s kept 1.0, and two samples of one burst read 4.74 fps at a target of 4."""

from __future__ import annotations

import time

from impersonation_cli.io.live_reader import RATE_WINDOW_S, ReaderState


def test_the_rate_is_the_samples_of_the_last_five_seconds_as_of_now() -> None:
    state = ReaderState(room="douyin:1", url="rtmp://127.0.0.1/live/a")
    start = time.monotonic() - 60
    for n in range(10):  # 1 fps for 10 s, ending 50 s ago
        state.sampled(start + n)
    assert state.rate(start + 9) == 1.0
    assert state.rate(start + 30) == 0.0
    assert state.as_dict()["fps"] == 0.0  # the summary's, written now
    burst = ReaderState(room="douyin:2", url="rtmp://127.0.0.1/live/b")
    now = time.monotonic()
    burst.sampled(now - 0.21)
    burst.sampled(now)
    assert burst.rate(now) == round(2 / RATE_WINDOW_S, 2) == 0.4
