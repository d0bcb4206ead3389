"""An HLS room of 6-s segments (Apple's recommended length; the nginx of tests/streaming.py cuts 1-2 s ones),
read by a room's live reader as watch reads it: ffmpeg publishing the project's sample clip as HLS into a folder,
served over HTTP on loopback. Before, its first segments arrived at once and said nothing of how late its frames
come, so the wait for the next segment was told 'interrupted' 3 s into the room, then 'resumed' (none missing).
No models: the reader and the watcher's room events only (tests/unit/test_room_events.py drives the same on a
fake clock)."""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from impersonation_cli.io.live_reader import ReaderSettings, ReaderState, RoomReader, RoomStatus
from impersonation_cli.pipeline.watch import InterruptionsTold

from ..conftest import SAMPLES, unavailable
from ..served import serving
from ..streaming import end_process

SEGMENT_S = 6
GAP_S = 3.0

pytestmark = pytest.mark.stream_server


@pytest.fixture
def hls_room(tmp_path: Path) -> Iterator[str]:
    """The playlist URL of a live HLS room of 6-s segments, once its first segment is listed."""
    if shutil.which("ffmpeg") is None:
        unavailable("the HLS room test needs ffmpeg")
    clip = SAMPLES / "clips" / "astronaut_live.mp4"
    encode = ["-c:v", "libx264", "-preset", "ultrafast", "-vf", "scale=320:-2", "-an"]
    segments = ["-force_key_frames", f"expr:gte(t,n_forced*{SEGMENT_S})", "-hls_time", str(SEGMENT_S)]
    hls = ["-f", "hls", *segments, "-hls_list_size", "5", "-hls_flags", "delete_segments+temp_file"]
    command = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-re", "-stream_loop", "-1", "-i", str(clip)]
    publisher = subprocess.Popen([*command, *encode, *hls, str(tmp_path / "room.m3u8")], stdin=subprocess.DEVNULL)
    with serving(tmp_path) as base:
        url = base + "room.m3u8"
        try:
            deadline = time.monotonic() + 3 * SEGMENT_S
            while not (tmp_path / "room.m3u8").is_file() or b".ts" not in urllib.request.urlopen(url, timeout=2).read():
                assert time.monotonic() < deadline and publisher.poll() is None, "ffmpeg cut no HLS segment"
                time.sleep(0.2)
            yield url
        finally:
            end_process(publisher, 5)


def test_an_hls_room_of_6_s_segments_is_not_interrupted_at_its_start(hls_room: str) -> None:
    state = ReaderState(room="douyin:1", url=hls_room)
    reader = RoomReader(state, ReaderSettings(fps=2, gap_s=GAP_S), threading.Event())
    told, events = InterruptionsTold(), []
    reader.start()
    try:
        end = time.monotonic() + 2.5 * SEGMENT_S  # the first segment, and the waits for the next two
        while time.monotonic() < end:
            time.sleep(0.25)  # the watcher looks at its rooms every round
            reader.slot.drain()
            events += told.look(list(state.interruptions), state.silence(GAP_S), state.status == RoomStatus.ENDED)
    finally:
        reader.stop()
        reader.join(SEGMENT_S + 5)
    assert state.frames_received >= 2 * SEGMENT_S * 25, state  # two segments or more came
    assert state.allowed_late_s >= SEGMENT_S
    assert events == [] and state.interruptions == []
