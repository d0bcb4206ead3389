"""impersonation-cli: find registered celebrities in recordings and live rooms, flag likely impersonation.

The Python API (docs/api.md):

    from impersonation_cli import Scanner

    with Scanner.open(gallery="gallery.sqlite") as scanner:
        result = scanner.scan(["clip.mp4"], room="douyin:123456")
    print(result.to_json())

The pipeline reads top to bottom, one module per stage:
source (sources) -> frames -> faces (faces) -> tracks (tracks) -> matches (matches)
-> signals (signals) -> verdicts (verdicts) -> reports (reports).
`api.Scanner` assembles it; `scan.scan_inputs` runs it for files and `watch.Watcher` for live rooms; the CLI in
`impersonation_cli.cli` is a thin layer over `api`.
"""

from __future__ import annotations

import importlib
import os
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# OpenCV's FFmpeg backend writes decoder complaints straight to stderr; the tool reports damaged inputs
# itself in one line. This must run before any module imports cv2.
os.environ.setdefault("OPENCV_LOG_LEVEL", "OFF")
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")

# Public name -> the module defining it. Imported on first use: loading the models' libraries (ONNX Runtime,
# OpenCV) for every `import impersonation_cli` would make `impersonation-cli --help` slow.
_PUBLIC = {
    "Scanner": "api",
    "ScanProgress": "scan",
    "ScanResult": "results",
    "SourceResult": "results",
    "Appearance": "results",
    "SignalScore": "results",
    "Evidence": "results",
    "RoomSpec": "watch",
    "WatchSettings": "watch",
    "ReaderSettings": "live",
    "AlertEvent": "alerts",
    "UserError": "errors",
}

if TYPE_CHECKING:
    from .alerts import AlertEvent
    from .api import Scanner
    from .errors import UserError
    from .live import ReaderSettings
    from .results import Appearance, Evidence, ScanResult, SignalScore, SourceResult
    from .scan import ScanProgress
    from .watch import RoomSpec, WatchSettings


def __getattr__(name: str) -> Any:
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{module}", __name__), name)


def __dir__() -> list[str]:
    return sorted([*globals(), *_PUBLIC])


__all__ = [
    "AlertEvent",
    "Appearance",
    "Evidence",
    "ReaderSettings",
    "RoomSpec",
    "ScanProgress",
    "ScanResult",
    "Scanner",
    "SignalScore",
    "SourceResult",
    "UserError",
    "WatchSettings",
    "__version__",
]
