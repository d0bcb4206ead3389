"""impersonation-cli: find registered celebrities in recordings and live rooms, flag likely impersonation.

The pipeline reads top to bottom, one module per stage:
source (sources) -> frames -> faces (faces) -> tracks (tracks) -> matches (matches)
-> signals (signals) -> verdicts (verdicts) -> reports (reports).
`scan.scan_paths` runs it for files; the CLI in `impersonation_cli.cli` is a thin layer over it.
"""

import os

__version__ = "0.1.0"

# OpenCV's FFmpeg backend writes decoder complaints straight to stderr; the tool reports damaged inputs
# itself in one line. This must run before any module imports cv2.
os.environ.setdefault("OPENCV_LOG_LEVEL", "OFF")
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
