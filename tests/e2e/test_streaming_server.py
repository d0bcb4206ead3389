"""The live-stream fixtures themselves: nginx-rtmp on loopback, fed by ffmpeg, read back by OpenCV.

The other live tests trust these fixtures to serve real streams over RTMP and HLS and to leave no process
behind; these tests check exactly that with the project's own sample clip.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from ..conftest import SAMPLES
from ..streaming import Publisher, RtmpServer, accepts_connections, require_streaming

CLIP = SAMPLES / "clips" / "astronaut_live.mp4"
FRAME_SHAPE = (720, 1280, 3)
KEY = "astronaut"
# OpenCV's open lasts ~5 s on RTMP: ffmpeg's RTMP client announces audio and video, so with a video-only
# stream the prober waits its full analyze time for audio. The budget leaves room for that.
OPEN_TIMEOUT_MS = 15_000

pytestmark = pytest.mark.stream_server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RtmpServer]:
    require_streaming()
    with RtmpServer(tmp_path_factory.mktemp("nginx")) as running:
        yield running


@pytest.fixture(scope="module")
def publisher(server: RtmpServer) -> Iterator[Publisher]:
    with Publisher(CLIP, server.rtmp_url(KEY)) as running:
        server.wait_until_live(KEY, 15)
        yield running


def read_frames(url: str, count: int) -> list[np.ndarray]:
    """The first `count` frames a player decodes from `url`, with bounded open and read waits."""
    timeouts = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, OPEN_TIMEOUT_MS, cv2.CAP_PROP_READ_TIMEOUT_MSEC, 5_000]
    capture = cv2.VideoCapture(url, cv2.CAP_FFMPEG, timeouts)
    try:
        assert capture.isOpened(), f"OpenCV cannot open {url}"
        frames = []
        for _ in range(count):
            ok, frame = capture.read()
            assert ok, f"{url} stopped after {len(frames)} frames"
            frames.append(frame)
        return frames
    finally:
        capture.release()


def assert_live_video(frames: list[np.ndarray]) -> None:
    assert all(frame.shape == FRAME_SHAPE for frame in frames)
    assert max(float(frame.std()) for frame in frames) > 10  # pictures, not a blank or grey decoder stub


def test_rtmp_playback_decodes_the_published_clip(server: RtmpServer, publisher: Publisher) -> None:
    assert_live_video(read_frames(server.rtmp_url(KEY), 25))


def test_hls_playback_decodes_the_published_clip(server: RtmpServer, publisher: Publisher) -> None:
    server.wait_for_hls(KEY, 20)
    assert_live_video(read_frames(server.hls_url(KEY), 25))


def test_restarted_publisher_is_live_again(server: RtmpServer, publisher: Publisher) -> None:
    first = publisher.process
    publisher.restart()
    server.wait_until_live(KEY, 15)
    assert first is not None and first.returncode is not None  # the first ffmpeg ended before the second began
    assert publisher.running


def test_stop_leaves_no_process_and_no_listener(tmp_path: Path) -> None:
    require_streaming()
    with RtmpServer(tmp_path / "nginx") as server, Publisher(CLIP, server.rtmp_url("short"), loop=False) as publisher:
        server.wait_until_live("short", 15)
        processes = [server.process, publisher.process]
    assert all(process is not None and process.returncode is not None for process in processes)
    assert not accepts_connections(server.rtmp_port) and not accepts_connections(server.http_port)
    assert (tmp_path / "nginx" / "hls").is_dir()  # HLS went to the server's own folder
