"""A stream whose frames change size on the way: a streamer switching 720p to 1080p, or turning the phone from
landscape to portrait. scan reads streams as watch does (PyAV), each frame at its own size: OpenCV, which scan
used for streams, scaled every frame to the first one's, and a portrait picture came out squeezed sideways.
(watch's reader always read streams with PyAV, and keeps each frame's size: checked on TS and FLV files.)"""

from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from impersonation_cli.io.sources import sample_frames

from ..served import serving


def ts_part(path: Path, width: int, height: int, start_s: int) -> bytes:
    """One second of H.264 in MPEG-TS, `width` x `height` with its left half white, from `start_s` seconds."""
    with av.open(str(path), "w", format="mpegts") as out:
        stream = out.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.codec_context.time_base = Fraction(1, 25)
        picture = np.zeros((height, width, 3), np.uint8)
        picture[:, : width // 2] = 255
        for n in range(25):
            frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
            frame.pts, frame.time_base = 25 * start_s + n, Fraction(1, 25)
            out.mux(stream.encode(frame))
        out.mux(stream.encode())
    return path.read_bytes()


@pytest.fixture
def turned_stream(tmp_path: Path) -> Iterator[str]:
    """An HTTP stream URL: a second of landscape 160x120, then a second of portrait 120x160, as one TS."""
    served = tmp_path / "served"
    served.mkdir()
    landscape, portrait = ts_part(tmp_path / "a.ts", 160, 120, 0), ts_part(tmp_path / "b.ts", 120, 160, 1)
    (served / "room.ts").write_bytes(landscape + portrait)
    with serving(served) as url:
        yield url + "room.ts"


def test_scan_takes_each_frame_of_a_stream_at_its_own_size(turned_stream: str) -> None:
    frames = list(sample_frames(turned_stream, 4.0))
    assert [frame.image.shape[:2] for frame in frames] == [(120, 160)] * 4 + [(160, 120)] * 4
    for frame in frames:
        image = frame.image.mean(axis=2)
        width = image.shape[1]
        assert image[:, : width // 2].mean() > 200 and image[:, width // 2 :].mean() < 50
