"""What keeping each appearance's whole frame as evidence costs a scan: how many frames are JPEG-encoded (once per
better view of a track, once per frame however many tracks ask), the time and bytes per encoding, against the scan's
wall time. Figures: docs/benchmark.md ("Whole-frame evidence").

    python scripts/measure_frame_evidence.py CLIP [CLIP ...]    # the gallery and models of the environment
"""

from __future__ import annotations

import sys
import tempfile
import time

import numpy as np

from impersonation_cli.api import Scanner
from impersonation_cli.pipeline import tracks

encodings: list[tuple[float, int]] = []  # seconds and bytes of each frame encoded
original_frame_jpeg = tracks.frame_jpeg


def timed_frame_jpeg(image: np.ndarray) -> bytes | None:
    start = time.perf_counter()
    data = original_frame_jpeg(image)
    encodings.append((time.perf_counter() - start, len(data or b"")))
    return data


def main() -> None:
    tracks.frame_jpeg = timed_frame_jpeg
    scanner = Scanner.open()
    for clip in sys.argv[1:]:
        encodings.clear()
        with tempfile.TemporaryDirectory() as evidence:
            start = time.perf_counter()
            source = scanner.scan([clip], evidence_dir=evidence).sources[0]
            wall = time.perf_counter() - start
        seconds = sum(s for s, _ in encodings)
        each_ms = 1000 * seconds / max(len(encodings), 1)
        each_kib = sum(b for _, b in encodings) / max(len(encodings), 1) / 1024
        print(
            f"{clip}: {source.frames_sampled} frames sampled, {len(encodings)} encoded, {each_ms:.1f} ms and "
            f"{each_kib:.0f} KiB each; {seconds:.2f} s of the scan's {wall:.1f} s"
        )


if __name__ == "__main__":
    main()
