"""A local file whose name begins like one of FFmpeg's protocols is read as the file, never opened as that
protocol: a recording named 'tcp:HOST:PORT.mp4' in the folder scanned made the scan connect to HOST."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from impersonation_cli.io.sources import open_capture, open_video, sample_frames

from .small_clips import grey_ramp_clip


@pytest.fixture
def listener() -> Iterator[tuple[int, list[str]]]:
    """A loopback port that counts every connection made to it and closes it at once (FFmpeg would otherwise
    wait on it for ever)."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.2)
    accepted: list[str] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                connection, address = server.accept()
                connection.close()
                accepted.append(str(address))
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1], accepted
    stop.set()
    thread.join()
    server.close()


def test_a_file_named_like_a_protocol_is_read_as_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, listener: tuple[int, list[str]]
) -> None:
    port, accepted = listener
    name = f"tcp:127.0.0.1:{port}.mp4"
    grey_ramp_clip(tmp_path / name, seconds=2)
    monkeypatch.chdir(tmp_path)  # named as `scan .` names what it finds: relative to where it runs
    assert len(list(sample_frames(name, 2.0))) == 4  # through PyAV
    with open_video(name, 2.0, 2.0) as container:  # watch's reader
        assert container.streams.video
    capture = open_capture(name, 2.0, 2.0)  # OpenCV, for files PyAV cannot open
    assert capture.isOpened() and capture.read()[0]
    capture.release()
    assert not accepted
