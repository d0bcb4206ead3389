"""A recording whose timestamps start far from 0: a cut from hours into a broadcast or a live room's TS capture.
Its frames' times count from the file's start, where a player's clock counts from (its first frame, where every
track starts with the picture), in scan and in watch, which plays a file from there. A file whose sound starts
before its picture counts from the sound's start: counted from the picture, every time was that much early."""

from __future__ import annotations

import threading
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from impersonation_cli.io.live_reader import ReaderSettings, ReaderState, RoomReader
from impersonation_cli.io.sources import sample_frames

HOUR = 3600


def late_clip(path: Path, start_s: int, seconds: float = 1) -> Path:
    """An MPEG-TS H.264 clip of 160x120 at 25 fps whose first frame is `start_s` seconds in."""
    with av.open(str(path), "w", format="mpegts") as out:
        stream = out.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 160, 120, "yuv420p"
        stream.codec_context.time_base = Fraction(1, 25)
        for n in range(round(25 * seconds)):
            frame = av.VideoFrame.from_ndarray(np.full((120, 160, 3), 8 * n % 256, np.uint8), format="rgb24")
            frame.pts, frame.time_base = 25 * start_s + n, Fraction(1, 25)
            out.mux(stream.encode(frame))
        out.mux(stream.encode())
    return path


def test_scan_counts_times_from_the_first_frame(tmp_path: Path) -> None:
    clip = late_clip(tmp_path / "cut.ts", HOUR)
    times = [frame.time_s for frame in sample_frames(str(clip), 4.0)]
    assert times == pytest.approx([0.0, 0.28, 0.52, 0.76])


def test_watch_plays_a_late_starting_file_from_its_first_frame(tmp_path: Path) -> None:
    """The reader paced a file by its timestamps from 0: the first frame of a cut an hour in came an hour late.
    Half a second at 4 fps: a file is played in real time."""
    clip = late_clip(tmp_path / "cut.ts", HOUR, seconds=0.5)
    wake = threading.Event()
    reader = RoomReader(ReaderState(room="douyin:1", url=str(clip)), ReaderSettings(fps=4.0, queue_size=8), wake)
    began = time.monotonic()
    reader.start()
    try:
        assert wake.wait(5.0)
        reader.join(5.0)
    finally:
        reader.stop()
        reader.join(5.0)
    assert time.monotonic() - began < 5.0
    times = [frame.time_s for frame in reader.slot.drain()]
    assert len(times) == 2 and times[0] < 0.5 and times[-1] < 1.5, times


def test_a_file_whose_picture_starts_after_its_sound_is_timed_as_a_player_times_it(tmp_path: Path) -> None:
    """A takedown draft named 0:07.5 where a player showed another person: the file's video began 3 s after its
    sound, and the times counted from the first frame. Scan, its length and watch agree with the player now."""
    from impersonation_cli.io.sources import file_span

    from .small_clips import late_video_ts

    clip = late_video_ts(tmp_path / "late.ts", late_s=0.4, video_s=0.6)
    times = [frame.time_s for frame in sample_frames(str(clip), 4.0)]
    assert len(times) == 3 and times[0] == pytest.approx(0.4, abs=0.02), times  # the sound's encoder delay aside
    assert file_span(str(clip)) == pytest.approx(1.0, abs=0.05)
    wake = threading.Event()
    reader = RoomReader(ReaderState(room="douyin:1", url=str(clip)), ReaderSettings(fps=4.0, queue_size=8), wake)
    reader.start()
    reader.join(10.0)
    reader.stop()
    watched = [frame.time_s for frame in reader.slot.drain()]
    # Watch samples on its own clock's phase: its first frame is scan's, and every one lies where the picture is.
    assert len(watched) >= 3 and watched[0] == pytest.approx(times[0], abs=0.05), watched
    assert all(times[0] - 0.05 <= t <= 1.05 for t in watched), watched


def test_a_stream_url_counts_from_its_first_frame_as_watch_counts_it(tmp_path: Path) -> None:
    """A stream says nothing of where its recording began: `scan URL` counted from its sound's first packet since
    the file rule came in, while `watch URL` counted from the first frame, so the two disagreed on one stream."""
    from ..served import serving
    from .small_clips import late_video_ts

    late_video_ts(tmp_path / "late.ts", late_s=0.4, video_s=0.6)
    with serving(tmp_path) as url:
        times = [frame.time_s for frame in sample_frames(url + "late.ts", 4.0)]
    assert times and times[0] == pytest.approx(0.0, abs=0.001), times


def test_a_watched_recordings_frames_keep_their_own_times(tmp_path: Path) -> None:
    """On the live clock, anchored at the first frame's arrival, a recording's samples came 5-50 ms late (the
    file's opening, the first decode): the evidence's time_s was a frame past its picture, and `ffmpeg -ss time_s`
    fetched another frame. Each frame of this clip is one grey level brighter: its time says which it is."""
    from .small_clips import grey_ramp_clip

    clip = grey_ramp_clip(tmp_path / "ramp.mp4", seconds=1)  # played at its own pace: a second
    reader = RoomReader(
        ReaderState(room="douyin:1", url=str(clip)), ReaderSettings(fps=8.0, queue_size=16), threading.Event()
    )
    reader.start()
    reader.join(10.0)
    reader.stop()
    watched = reader.slot.drain()
    assert len(watched) >= 6
    for frame in watched:
        number = frame.time_s * 25
        assert number == pytest.approx(round(number), abs=1e-6), frame.time_s
        assert abs(float(frame.image.mean()) - round(number)) <= 2, (frame.time_s, frame.image.mean())
