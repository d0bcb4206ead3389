"""An HLS room's frames come a segment at a time, each segment up to its playlist's target duration long: the
reader reads that (`#EXT-X-TARGETDURATION`) as it connects, so that from its first frame the room may wait that
long for its next segment without being taken for silent. Before, the room knew only what its frames had shown,
and its first segments, arriving at once, showed nothing: 6-s segments were told 'interrupted' 3 s into the room
(tests/unit/test_room_events.py drives that on a fake clock; here a real HLS playlist is read over HTTP)."""

from __future__ import annotations

import dataclasses
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from impersonation_cli.io.hls import first_variant, playlist_segments, playlist_target, read_playlist
from impersonation_cli.io.live_reader import MAX_CLOCK_LAG_S, ReaderSettings, ReaderState, RoomReader

from ..served import MEDIA, hls_segment, serving

MASTER = "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=200000,RESOLUTION=64x64\nmedia/room.m3u8\n"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    """An HTTP server's base URL over a live HLS room of 6-s target duration (no #EXT-X-ENDLIST): its master
    playlist master.m3u8, its media playlist media/room.m3u8 with one segment, and plain.m3u8, which names
    no target duration."""
    media = tmp_path / "media"
    media.mkdir()
    hls_segment(media / "seg0.ts")
    (media / "room.m3u8").write_text(MEDIA.format(target=6), encoding="utf-8")
    (tmp_path / "master.m3u8").write_text(MASTER, encoding="utf-8")
    (tmp_path / "plain.m3u8").write_text("#EXTM3U\n#EXTINF:1.0,\nmedia/seg0.ts\n", encoding="utf-8")
    with serving(tmp_path) as url:
        yield url


def target_duration(url: str) -> float | None:
    playlist = read_playlist(url, 5.0)
    return playlist.target_s if playlist is not None else None


def test_a_playlists_target_duration_is_read_from_it_or_from_a_master_playlists_first_variant(served: str) -> None:
    assert target_duration(served + "media/room.m3u8") == 6.0
    assert target_duration(served + "master.m3u8") == 6.0  # the variant's URI is relative to the master
    assert target_duration(served + "plain.m3u8") is None
    assert target_duration(served + "missing.m3u8") is None  # 404
    assert target_duration("rtmp://127.0.0.1/live/room") is None
    assert playlist_target("#EXTM3U\r\n#EXT-X-TARGETDURATION:4.5\r\n") == 4.5
    assert playlist_target("#EXT-X-TARGETDURATION:0\n") is None
    assert first_variant(MEDIA) is None


def test_an_hls_room_may_wait_its_target_duration_for_a_segment_from_its_first_frame(served: str) -> None:
    state = ReaderState(room="douyin:1", url=served + "master.m3u8")
    # A short read timeout: past its one segment the room is silent, and the reader stops only once its read ends.
    reader = RoomReader(state, ReaderSettings(fps=2, open_timeout_s=5.0, read_timeout_s=0.3), threading.Event())
    reader.start()
    try:
        deadline = time.monotonic() + 10
        while state.frames_received == 0 and reader.is_alive() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert state.frames_received > 0, state.last_error
        assert state.allowed_late_s == 6.0  # the first segment alone says nothing yet of how late they come
    finally:
        reader.stop()
        reader.join(5)


def test_a_room_is_never_allowed_to_be_later_than_a_frame_is_ever_taken() -> None:
    state = ReaderState(room="douyin:1", url="http://127.0.0.1/room.m3u8")
    state.segmented(None)
    assert state.allowed_late_s == 0.0
    state.segmented(60.0)
    assert state.allowed_late_s == MAX_CLOCK_LAG_S


def test_a_playlists_segments_are_its_media_sequence_and_their_uris(served: str) -> None:
    listed = "#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:41\n#EXTINF:1.0,\na.ts\n#EXTINF:1.0,\nb.ts\n"
    assert playlist_segments(listed) == ("41", "a.ts", "b.ts")
    assert playlist_segments("#EXTM3U\n#EXTINF:1.0,\na.ts\n") == ("0", "a.ts")  # no sequence: from 0
    assert playlist_segments("#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:7\n") == ()
    through_master, direct = read_playlist(served + "master.m3u8", 5.0), read_playlist(served + "media/room.m3u8", 5.0)
    assert through_master is not None and direct is not None
    # Read a moment apart, the two may straddle a second of the playlist's age (whole seconds): 0.0 against 1.0.
    assert dataclasses.replace(through_master, age_s=direct.age_s) == direct


def test_a_playlist_that_has_not_changed_for_long_is_stale_unless_it_is_a_recording(
    served: str, tmp_path: Path
) -> None:
    """nginx-rtmp serves an ended stream's last playlist for ever: on a watch's first connection it was read as
    live, and its last segments raised 'live now' alerts of a stream that ended 11 minutes before. Its age is the
    server's Date less its Last-Modified."""
    fresh = read_playlist(served + "media/room.m3u8", 5.0)
    assert fresh is not None and fresh.age_s is not None and fresh.age_s < 5 and not fresh.stale()
    hour_ago = time.time() - 3600
    os.utime(tmp_path / "media" / "room.m3u8", (hour_ago, hour_ago))
    old = read_playlist(served + "master.m3u8", 5.0)  # through the master: the variant's age
    assert old is not None and old.age_s is not None and 3590 < old.age_s < 3700 and old.stale()
    recording = tmp_path / "media" / "vod.m3u8"
    recording.write_text(MEDIA.format(target=6) + "#EXT-X-ENDLIST\n", encoding="utf-8")
    os.utime(recording, (hour_ago, hour_ago))
    vod = read_playlist(served + "media/vod.m3u8", 5.0)
    assert vod is not None and vod.complete and not vod.stale()


def test_a_room_whose_playlist_is_stale_when_first_read_is_not_read_as_live(served: str, tmp_path: Path) -> None:
    hour_ago = time.time() - 3600
    os.utime(tmp_path / "media" / "room.m3u8", (hour_ago, hour_ago))
    state = ReaderState(room="douyin:1", url=served + "media/room.m3u8")
    settings = ReaderSettings(fps=5, open_timeout_s=5.0, read_timeout_s=1.0, backoff_initial_s=0.1, give_up_s=0.5)
    reader = RoomReader(state, settings, threading.Event())
    reader.start()
    reader.join(30)
    assert not reader.is_alive() and state.frames_received == 0
    assert state.last_error is not None and state.last_error.startswith("its HLS playlist has not changed for 3")


def test_a_master_playlists_variant_that_is_no_web_url_is_not_opened(served: str, tmp_path: Path) -> None:
    """Its first variant at file:///a-fifo blocked the room's reader for ever (0 frames, no error, no give-up)."""
    local = tmp_path / "local.m3u8"
    local.write_text(MEDIA.format(target=9), encoding="utf-8")
    (tmp_path / "file-master.m3u8").write_text(MASTER.replace("media/room.m3u8", local.as_uri()), encoding="utf-8")
    assert read_playlist(served + "file-master.m3u8", 5.0) is None  # the local file was read: target 9


def test_a_playlist_sent_a_byte_at_a_time_is_given_up_within_the_timeout() -> None:
    """A server sending a byte every 0.1 s (each read within the socket's timeout) held the room's reader past
    --timeout and --give-up: it stayed 'connecting', with no error."""
    import socket

    listener = socket.create_server(("127.0.0.1", 0))
    body = MEDIA.format(target=6).encode()

    def trickle() -> None:
        connection, _ = listener.accept()
        with connection:
            connection.recv(4096)
            connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body))
            for byte in body[:30]:
                try:
                    connection.sendall(bytes([byte]))
                except OSError:
                    return  # the reader gave up
                time.sleep(0.1)

    threading.Thread(target=trickle, daemon=True).start()
    started = time.monotonic()
    assert read_playlist(f"http://127.0.0.1:{listener.getsockname()[1]}/room.m3u8", 0.5) is None
    assert time.monotonic() - started < 1.5  # 30 bytes at 0.1 s each took 3 s
    listener.close()


def test_a_recording_served_as_a_complete_playlist_is_read_whole_at_its_own_pace_then_ends(tmp_path: Path) -> None:
    """A playlist ending in #EXT-X-ENDLIST came as fast as the network gave it: its 33 s were sampled 4 times, as
    they came, and the room said 'interrupted', then 'given up', and 'nobody registered seen' (exit 0) where a
    scan of the same URL found four people. It is played like a video file now: at its own pace, then ended."""
    segments, frames = 2, 12  # two segments of 0.48 s
    for n in range(segments):
        hls_segment(tmp_path / f"seg{n}.ts", frames, first=frames * n)
    lines = [f"#EXTINF:0.48,\nseg{n}.ts" for n in range(segments)]
    header = "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:1\n#EXT-X-MEDIA-SEQUENCE:0\n"
    (tmp_path / "vod.m3u8").write_text(header + "\n".join(lines) + "\n#EXT-X-ENDLIST\n", encoding="utf-8")
    with serving(tmp_path) as url:
        state = ReaderState(room="douyin:1", url=url + "vod.m3u8")
        reader = RoomReader(state, ReaderSettings(fps=4, open_timeout_s=5.0, read_timeout_s=2.0), threading.Event())
        began = time.monotonic()
        reader.start()
        reader.join(30)
    assert not reader.is_alive() and time.monotonic() - began >= 0.8  # paced over its 0.96 s, not read at once
    assert state.frames_sampled >= 3, state.frames_sampled  # 4 due at 4 fps over 0.96 s
    assert state.status == "ended" and state.connections == 1, (state.status, state.connections, state.last_error)
