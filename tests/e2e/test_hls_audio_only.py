"""An HLS room whose publisher sends audio only (found by an exploratory run on the nginx of tests/streaming.py):
nginx's playlist declares an empty H.264 track, its audio kept every read within the timeout, and the room was
'connecting' for the whole watch, never failed nor given up, with no reason said. Other streams going on without
video for the read timeout now end the connection, and the room ends by --give-up. No models."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from impersonation_cli.io.live_reader import ReaderSettings, ReaderState, RoomReader, RoomStatus

from ..streaming import Publisher, RtmpServer, require_streaming

pytestmark = pytest.mark.stream_server
KEY = "audio"


class AudioPublisher(Publisher):
    """ffmpeg publishing a tone, audio only, in real time."""

    @property
    def command(self) -> list[str]:
        tone = ["-re", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100"]
        return ["ffmpeg", "-hide_banner", "-loglevel", "error", *tone, "-c:a", "aac", "-f", "flv", self.url]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RtmpServer]:
    require_streaming()
    with RtmpServer(tmp_path / "nginx") as running, AudioPublisher(Path("tone"), running.rtmp_url(KEY)):
        running.wait_for_hls(KEY, 30)
        yield running


def test_an_audio_only_hls_room_fails_by_its_give_up_and_says_why(server: RtmpServer) -> None:
    state = ReaderState(room="douyin:audio", url=server.hls_url(KEY))
    settings = ReaderSettings(fps=1, open_timeout_s=5.0, read_timeout_s=2.0, backoff_initial_s=0.5, give_up_s=6.0)
    reader = RoomReader(state, settings, threading.Event())
    reader.start()
    reader.join(60)
    assert not reader.is_alive(), "the room was still connecting after 60 s"
    assert state.status == RoomStatus.FAILED and state.frames_received == 0, (state.status, state.last_error)
    assert state.last_error == "no video for 2 s while its other streams went on (audio only?)"
