"""The `impersonation-cli` console script. The CLI is imported inside the handler: a Ctrl-C while Python loads
it (its libraries take a moment) is one line and exit 130, as it is once a command runs, not a traceback."""

from __future__ import annotations

import os
import sys

from impersonation_cli.errors import EXIT_INTERRUPTED, interrupted


def main() -> None:
    # InsightFace's face_align loads scikit-image and SciPy, whose OpenBLAS starts a thread pool with a 32-MB buffer
    # a core: under an address-space limit (ulimit -v 800 MB) that retried mmap for ever, and at 1.2 GB OpenBLAS
    # gave up and ended the process itself, exit 1 ('a registered person found') with no result. The tool does no
    # sizeable linear algebra: one thread. A user's own setting is kept.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    # OpenCV's FFmpeg backend writes decoder complaints straight to stderr; the tool reports damaged inputs itself
    # in one line. Set here, before cv2 loads, and not on `import impersonation_cli`: a library must not silence
    # its caller's own OpenCV warnings, nor those of every process the caller starts.
    os.environ.setdefault("OPENCV_LOG_LEVEL", "OFF")
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
    try:
        from impersonation_cli.cli import main as run
    except (KeyboardInterrupt, ImportError) as exc:
        if not interrupted(exc):
            raise
        sys.stderr.write("error: aborted\n")
        raise SystemExit(EXIT_INTERRUPTED) from None
    run()
