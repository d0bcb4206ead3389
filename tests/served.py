"""A folder served over HTTP on loopback, for tests of streams and playlists read from a server, and what an HLS
room's folder holds."""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from fractions import Fraction
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import av
import numpy as np


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def serving(folder: Path) -> Iterator[str]:
    """The base URL ('http://127.0.0.1:PORT/') of `folder`, served until the block ends."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(folder)))
    threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True).start()  # shut down at once
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


# A live media playlist (no #EXT-X-ENDLIST) of one 1-s segment, seg0.ts.
MEDIA = "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:{target}\n#EXT-X-MEDIA-SEQUENCE:0\n#EXTINF:1.0,\nseg0.ts\n"


def hls_segment(path: Path, frames: int = 25, first: int = 0) -> None:
    """A second (or `frames` 25ths of one) of 64x64 H.264 in MPEG-TS: an HLS segment, its frames numbered from
    `first` (a recording's segments go on from the one before)."""
    with av.open(str(path), "w", format="mpegts") as out:
        stream = out.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p"
        for n in range(frames):
            frame = av.VideoFrame.from_ndarray(np.full((64, 64, 3), 128, np.uint8), format="rgb24")
            frame.pts, frame.time_base = first + n, Fraction(1, 25)
            out.mux(stream.encode(frame))
        out.mux(stream.encode())
