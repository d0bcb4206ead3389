"""A recording whose timestamps start far from 0: a cut from hours into a broadcast or a live room's TS capture.
Its frames' times count from its first frame, in scan and in watch, which plays a file from its first frame."""

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
