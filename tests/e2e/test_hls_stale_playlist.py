"""An HLS room whose stream ended while its server keeps serving its last playlist, as nginx-rtmp does after its
publisher left (found by an exploratory run on the nginx of tests/streaming.py). Each reconnect read the last
segments again as live: 'interrupted' and 'resumed' every 7 s for ever (85 reconnects in 10 minutes), --give-up
never came, and the stale frames could raise alerts. A static live playlist (no #EXT-X-ENDLIST) served on loopback
stands for it here. No models; in this tier because FFmpeg's HLS reader takes seconds to give up on a playlist
that does not grow."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from impersonation_cli.io.live_reader import ReaderSettings, ReaderState, RoomReader, RoomStatus

from ..served import MEDIA, hls_segment, serving

STALE = "its HLS playlist lists only segments already read (the stream ended?)"


@pytest.fixture
def room(tmp_path: Path) -> Iterator[tuple[ReaderState, RoomReader, Path]]:
    """A live room of one fifth-of-a-second segment (the reader plays segments at their pace), being read; and
    its playlist file."""
    hls_segment(tmp_path / "short0.ts", frames=5)
    playlist = tmp_path / "room.m3u8"
    playlist.write_text(MEDIA.format(target=1).replace("seg0", "short0"), encoding="utf-8")
    with serving(tmp_path) as url:
        state = ReaderState(room="douyin:1", url=url + "room.m3u8")
        settings = ReaderSettings(fps=5, open_timeout_s=5.0, read_timeout_s=0.2, backoff_initial_s=0.1, give_up_s=1.0)
        reader = RoomReader(state, settings, threading.Event())
        reader.start()
        try:
            yield state, reader, playlist
        finally:
            reader.stop()
            reader.join(5)


def test_a_playlist_that_does_not_grow_is_not_read_again_and_the_room_ends(
    room: tuple[ReaderState, RoomReader, Path],
) -> None:
    state, reader, _ = room
    reader.join(30)
    assert not reader.is_alive()
    assert state.status == RoomStatus.ENDED and state.connections == 1, (state.connections, state.last_error)
    assert state.last_error == STALE


def test_a_playlist_that_grows_again_is_read_again(room: tuple[ReaderState, RoomReader, Path], tmp_path: Path) -> None:
    state, reader, playlist = room
    deadline = time.monotonic() + 30
    while state.status != RoomStatus.RECONNECTING and time.monotonic() < deadline:  # its one segment read
        time.sleep(0.02)
    hls_segment(tmp_path / "short1.ts", frames=5)
    playlist.write_text(playlist.read_text(encoding="utf-8") + "#EXTINF:0.2,\nshort1.ts\n", encoding="utf-8")
    while state.connections < 2 and reader.is_alive() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert state.connections == 2, state.last_error
