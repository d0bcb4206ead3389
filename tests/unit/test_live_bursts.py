"""A room whose frames arrive in bursts is still sampled at its rate. HLS delivers a whole segment at once: a
room watched at 2 fps over the loopback nginx's 1-s segments got 59 samples in 59 s (1.2 fps), every due time
in a burst but the first landing on frames that had all arrived together."""

from __future__ import annotations

import itertools
import math
import threading
from fractions import Fraction
from pathlib import Path
from types import SimpleNamespace

import pytest

from impersonation_cli.io import live_reader
from impersonation_cli.io.live_reader import ReaderSettings, ReaderState, RoomReader, StreamClock

from .small_clips import grey_ramp_clip

SEGMENT_S = 1.0


def _sampled_in_bursts(clip: Path, fps: float, monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Stream times of the samples of `clip` delivered as HLS does: every frame of a 1-s segment at once, when
    the segment is complete (on a fake clock, no waiting)."""
    clock = SimpleNamespace(now=1000.0)
    monkeypatch.setattr(live_reader, "time", SimpleNamespace(monotonic=lambda: clock.now, time=lambda: clock.now))
    taken: list[float] = []

    class Segmented(RoomReader):
        def _pace(self, connected: float, packet_s: float) -> float:
            clock.now = max(clock.now, connected + (math.floor(packet_s / SEGMENT_S) + 1) * SEGMENT_S)
            return clock.now

        def _sample(self, decoded, aspect: Fraction | None, now: float) -> None:  # type: ignore[no-untyped-def]
            taken.append(float(decoded.pts * decoded.time_base))
            super()._sample(decoded, aspect, now)

    reader = Segmented(ReaderState(room="r", url=str(clip)), ReaderSettings(fps=fps), threading.Event())
    assert reader._connect_and_read()
    return taken


def test_frames_arriving_a_segment_at_a_time_are_sampled_at_the_rate(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    taken = _sampled_in_bursts(grey_ramp_clip(tmp_path / "hls.mp4", 8), 2.0, monkeypatch)
    assert len(taken) >= 13, taken  # 8 s at 2 fps: 16, less the first burst's (it anchors the clock)
    gaps = [b - a for a, b in itertools.pairwise(taken[1:])]
    assert max(gaps) <= 0.6, taken


def test_the_clock_follows_presentation_times_within_a_burst_and_never_runs_ahead_of_arrival() -> None:
    clock = StreamClock()
    assert clock.at(10.0, 0.0) == 10.0
    assert clock.at(10.0, 1.0) == 10.0  # the first burst sets the anchor: never ahead of arrival
    assert [clock.at(12.0, pts) for pts in (2.0, 2.5)] == [11.0, 11.5]  # later bursts spread by their times


def test_the_clock_re_anchors_when_times_go_back_or_stand_still() -> None:
    clock = StreamClock()
    clock.at(10.0, 50.0)
    assert clock.at(11.0, 0.0) == 11.0  # a publisher restarted its timestamps on the same connection
    assert clock.at(11.0 + 100.0, 0.04) == 111.0 - live_reader.MAX_CLOCK_LAG_S  # stuck timestamps: bounded lag


def test_a_frame_of_a_burst_is_dated_when_it_was_live_as_its_stream_time_is(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A sampled frame's wall-clock time was its arrival: an HLS segment's frames, arriving together a segment late,
    were dated alike, 0.05 s apart where their stream times ran 2 s apart, and an appearance ended after the
    room's last frame (the room's times are when frames were live). Now both run alike; `arrived` keeps the
    arrival (the watch's recognition lag counts from it)."""
    clock = SimpleNamespace(now=1000.0)
    monkeypatch.setattr(live_reader, "time", SimpleNamespace(monotonic=lambda: clock.now, time=lambda: clock.now))
    frames: list = []

    class Segmented(RoomReader):
        def _pace(self, connected: float, packet_s: float) -> float:
            clock.now = max(clock.now, connected + (math.floor(packet_s / SEGMENT_S) + 1) * SEGMENT_S)
            return clock.now

    reader = Segmented(
        ReaderState(room="r", url=str(grey_ramp_clip(tmp_path / "hls.mp4", 6))),
        ReaderSettings(fps=2.0),
        threading.Event(),
    )
    reader.slot = SimpleNamespace(put=lambda frame: frames.append(frame) or False)  # type: ignore[assignment]
    assert reader._connect_and_read()
    later = frames[3:]  # after the first burst, which anchors the clock
    assert len(later) >= 6
    for first, second in itertools.pairwise(later):
        assert second.wallclock - first.wallclock == pytest.approx(second.time_s - first.time_s, abs=1e-6)
    assert all(frame.arrived >= frame.wallclock for frame in frames)
    assert any(frame.arrived - frame.wallclock > 0.4 for frame in later)  # a segment's first frames came late
