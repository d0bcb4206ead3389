"""Small scan results for the fast tier, built field by field: each test states the facts it depends on.

They stand for what a scan produces (the dataclasses of `results.py`, the format of docs/formats.md); the
slow tier checks that real scans produce such results.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from impersonation_cli.api import watch_settings
from impersonation_cli.config import load_config
from impersonation_cli.gallery.store import GalleryIndex
from impersonation_cli.io.rooms import Room
from impersonation_cli.outputs.alerts import AlertSink
from impersonation_cli.pipeline import watch
from impersonation_cli.pipeline.faces import EMBEDDING_DIM
from impersonation_cli.pipeline.scan import ScanContext
from impersonation_cli.pipeline.signals import detector
from impersonation_cli.pipeline.watch import Watcher
from impersonation_cli.results import Appearance, Evidence, RunInfo, ScanResult, SignalScore, SourceResult

SETTINGS: dict[str, Any] = {
    "fps": 2.0,
    "pack": "sc-2.5g",
    "detector": "det_2.5g.onnx:int8:0123456789abcdef",
    "recognizer": "w600k_mbf.onnx:0123456789abcdef",
    "provider": "CPUExecutionProvider",
    "config": {"match": {"threshold": 0.4, "margin": 0.08}},
    "config_path": None,
    "gallery_identities": 2,
}


def appearance(
    identity: str = "Eileen Collins", source: str = "clip.mp4", number: int = 1, **fields: Any
) -> Appearance:
    values: dict[str, Any] = {
        "appearance_id": f"s1-a{number}",
        "identity": identity,
        "source": source,
        "start_s": 2.5,
        "end_s": 6.0,
        "frames": 8,
        "best_similarity": 0.71,
        "median_similarity": 0.62,
        "second_identity": "Barack Obama",
        "second_similarity": 0.12,
        "verdicts": ["unauthorized-likeness"],
        "reasons": ["unauthorized-likeness: no authorization for this room"],
        "risk": 0.5,
        **fields,
    }
    return Appearance(**values)


def source(path: str = "clip.mp4", status: str = "ok", **fields: Any) -> SourceResult:
    values: dict[str, Any] = {
        "source": path,
        "kind": "video",
        "status": status,
        "width": 1280,
        "height": 720,
        "fps": 25.0,
        "duration_s": 10.0,
        "scanned_s": 10.0,
        "frames_decoded": 250,
        "frames_sampled": 20,
        "faces_detected": 18,
        "tracks": 1,
        **fields,
    }
    if status == "unreadable":
        values.update(kind="unknown", error=f"{path}: not a video or image this tool can read", scanned_s=0.0)
    return SourceResult(**values)


def scan_result(appearances: list[Appearance], sources: list[SourceResult] | None = None) -> ScanResult:
    sources = sources if sources is not None else [source(p) for p in dict.fromkeys(a.source for a in appearances)]
    run = RunInfo(started_at="2026-12-03T10:00:00+00:00", elapsed_s=1.5, video_seconds=10.0, realtime_factor=6.67)
    return ScanResult(settings=dict(SETTINGS), sources=sources or [source()], appearances=appearances, run=run)


def with_signals_and_evidence(found: Appearance) -> Appearance:
    """The nested parts of an appearance: a signal with details and an evidence crop record."""
    found.signals = {
        "replay": SignalScore("replay", 0.8, "matches known footage at 12.0 s", {"offset_s": 12.0, "footage": "a.mp4"})
    }
    found.evidence = Evidence(path="evidence/s1-a1.jpg", sha256="ab" * 32, time_s=3.0, box=[10.0, 20.0, 110.0, 140.0])
    return found


class _NoEngine:
    """What a result's settings name of its engine; no model is loaded (nor the forgery model: `_LOADED`)."""

    pack = type("Pack", (), {"name": "none"})()
    detector_id = recognizer_id = provider = "none"
    providers = ("CPUExecutionProvider",)


def model_free_context(evidence_dir: Path | None = None) -> ScanContext:
    """A scan context with an empty gallery and an engine that runs nothing: enough for settings and summaries."""
    nobody = GalleryIndex((), np.zeros(0, dtype=np.int64), np.zeros((0, EMBEDDING_DIM), np.float32), None)
    engine = _NoEngine()
    detector._LOADED[engine] = detector.ForgeryModel(None, "no forgery model")  # type: ignore[index]
    return ScanContext(engine, nobody, load_config(None), evidence_dir=evidence_dir)  # type: ignore[arg-type]


def model_free_watcher(
    rooms: list[Room], alerts: Path | None, evidence_dir: Path | None, monkeypatch: pytest.MonkeyPatch
) -> Watcher:
    """A watcher of `rooms` that is built, never run: its alerts and summary are written without a model."""
    for stage in ("AdaptiveDetector", "EmbeddingReuse"):  # built for each room, never run here
        monkeypatch.setattr(watch, stage, lambda *_: None)
    return Watcher(rooms, model_free_context(evidence_dir), watch_settings(), AlertSink(alerts, None, 600.0))
