"""An HLS recording whose segments' timestamps restart at each #EXT-X-DISCONTINUITY (segments cut by separate
encoder runs, an advert spliced in): read by a room's live reader as watch reads it, served over HTTP on loopback.
Paced by timestamps that went back to the start, the reader took the later segments for frames already past:
24 s of such a room were sampled 17 times at 2 fps (48 due) and read as 8 s. No models: the reader only."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from impersonation_cli.io.live_reader import ReaderSettings, ReaderState, RoomReader

from ..served import hls_segment, serving

SEGMENTS, FRAMES, FPS = 3, 25, 4  # three 1-s segments, each from timestamp 0


def test_an_hls_recording_whose_timestamps_restart_is_played_through_at_its_own_pace(tmp_path: Path) -> None:
    for n in range(SEGMENTS):
        hls_segment(tmp_path / f"seg{n}.ts", FRAMES)  # each numbered from 0: its timestamps restart
    listed = "\n#EXT-X-DISCONTINUITY\n".join(f"#EXTINF:1.0,\nseg{n}.ts" for n in range(SEGMENTS))
    header = "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:1\n#EXT-X-MEDIA-SEQUENCE:0\n"
    (tmp_path / "vod.m3u8").write_text(header + listed + "\n#EXT-X-ENDLIST\n", encoding="utf-8")
    with serving(tmp_path) as url:
        state = ReaderState(room="douyin:1", url=url + "vod.m3u8")
        reader = RoomReader(state, ReaderSettings(fps=FPS, open_timeout_s=5.0, read_timeout_s=2.0), threading.Event())
        began = time.monotonic()
        reader.start()
        reader.join(30)
    assert not reader.is_alive() and time.monotonic() - began >= 2.5  # paced over its 3 s
    assert state.frames_sampled >= FPS * SEGMENTS - 1, state.frames_sampled  # 12 due
    assert state.live_seconds >= 2.5, state.live_seconds
    assert state.status == "ended" and not state.interruptions, (state.status, state.interruptions)
