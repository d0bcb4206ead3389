"""A video that grows past the pixel limit mid-way: the size in its header was checked, the frames were not. A
320x240 MPEG-TS followed by 10240x10240 frames was scanned `ok` at 2.2 GB. (The limit is lowered here to 0.05
megapixels so that 160x120 then 320x240 stands for it.)"""

from __future__ import annotations

import threading
from pathlib import Path

import av
import numpy as np
import pytest

from impersonation_cli.errors import UnreadableInput
from impersonation_cli.io import sources
from impersonation_cli.io.live_reader import ReaderSettings, ReaderState, RoomReader, RoomStatus
from impersonation_cli.io.sources import DecodeStats, sample_frames

from .small_clips import FAST_ENCODING

LIMIT = 50_000
OVER_THE_LIMIT = r"320x240 pixels is over the limit of 0\.05 megapixels; not decoded"


def growing_clip(path: Path) -> Path:
    """0.4 s of 160x120 then 0.4 s of 320x240 (10 frames each), as two MPEG-TS parts one after the other (as `cat`
    joins them): a watch plays a file at its pace, so each second here is one of the test's."""
    with path.open("wb") as joined:
        for part, (width, height) in enumerate([(160, 120), (320, 240)]):
            piece = path.with_suffix(f".{part}.ts")
            with av.open(str(piece), "w", format="mpegts") as out:
                stream = out.add_stream("libx264", rate=25)
                stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
                stream.options = {"g": "25", "bf": "0"} | FAST_ENCODING["libx264"]
                for n in range(10):
                    frame = av.VideoFrame.from_ndarray(np.full((height, width, 3), 99, np.uint8), format="rgb24")
                    frame.pts = 10 * part + n
                    out.mux(stream.encode(frame))
                out.mux(stream.encode())
            joined.write(piece.read_bytes())
    return path


def test_a_scan_stops_at_the_first_frame_over_the_limit(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(sources, "MAX_PIXELS", LIMIT)
    clip = growing_clip(tmp_path / "growing.ts")
    stats = DecodeStats()
    taken = []
    with pytest.raises(UnreadableInput, match=OVER_THE_LIMIT):
        for frame in sample_frames(str(clip), 10.0, stats):
            taken.append(frame.image.shape[:2])
    assert taken == [(120, 160)] * 4 and stats.frames_decoded == 10


def test_a_watch_ends_the_rooms_reading_there_and_says_why(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(sources, "MAX_PIXELS", LIMIT)
    clip = growing_clip(tmp_path / "growing.ts")
    state = ReaderState(room="douyin:1", url=str(clip))
    reader = RoomReader(state, ReaderSettings(fps=10.0, queue_size=64), threading.Event())
    reader.start()
    reader.join(20.0)
    assert not reader.is_alive()
    assert state.status == RoomStatus.ENDED and state.frames_decoded == 10
    assert state.last_error is not None and state.last_error.endswith(OVER_THE_LIMIT.replace("\\", ""))
    assert {frame.image.shape[:2] for frame in reader.slot.drain()} == {(120, 160)}
