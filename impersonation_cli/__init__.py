"""impersonation-cli: find registered celebrities in recordings and live rooms, flag likely impersonation.

The Python API (docs/api.md):

    from impersonation_cli import Scanner

    with Scanner.open(gallery="gallery.sqlite") as scanner:
        result = scanner.scan(["clip.mp4"], room="douyin:123456")
    print(result.to_json())

The pipeline reads top to bottom, one module per stage:
source (io.sources) -> frames -> faces (runtime.engine, pipeline.faces) -> tracks (pipeline.tracks)
-> matches (pipeline.matches) -> signals (pipeline.signals) -> verdicts (pipeline.verdicts) -> reports (outputs).
`api.Scanner` assembles it; `pipeline.scan.scan_inputs` runs it for files and `pipeline.watch.Watcher` for live
rooms; the CLI in `impersonation_cli.cli` is a thin layer over `api`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# Public name -> the module defining it. Imported on first use: loading the models' libraries (ONNX Runtime,
# OpenCV) for every `import impersonation_cli` would make `impersonation-cli --help` slow.
_PUBLIC = {
    "Scanner": "api",
    "ScanProgress": "pipeline.scan",
    "ScanResult": "results",
    "SourceResult": "results",
    "Appearance": "results",
    "SignalScore": "results",
    "Evidence": "results",
    "WatchSettings": "pipeline.watch",
    "ReaderSettings": "io.live_reader",
    "Room": "io.rooms",
    "AlertEvent": "outputs.alerts",
    "RoomEvent": "outputs.alerts",
    "UserError": "errors",
    "ResultFormatError": "results",
    "Verdict": "results",
}

if TYPE_CHECKING:
    from impersonation_cli.api import Scanner
    from impersonation_cli.errors import UserError
    from impersonation_cli.io.live_reader import ReaderSettings
    from impersonation_cli.io.rooms import Room
    from impersonation_cli.outputs.alerts import AlertEvent, RoomEvent
    from impersonation_cli.pipeline.scan import ScanProgress
    from impersonation_cli.pipeline.watch import WatchSettings
    from impersonation_cli.results import (
        Appearance,
        Evidence,
        ResultFormatError,
        ScanResult,
        SignalScore,
        SourceResult,
        Verdict,
    )


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
    "ResultFormatError",
    "Room",
    "RoomEvent",
    "ScanProgress",
    "ScanResult",
    "Scanner",
    "SignalScore",
    "SourceResult",
    "UserError",
    "Verdict",
    "WatchSettings",
    "__version__",
]
