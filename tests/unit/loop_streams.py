"""The loop search fed block-brightness signatures directly, without frames or models."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pytest

from impersonation_cli.config import load_config
from impersonation_cli.pipeline.faces import Frame
from impersonation_cli.pipeline.signals import replay
from impersonation_cli.pipeline.signals.replay import ReplayDetector, ReplaySettings

FPS = 2.0


def signature_detector(
    monkeypatch: pytest.MonkeyPatch, settings: ReplaySettings | None = None, sample_interval_s: float | None = None
) -> ReplayDetector:
    """A loop search whose frames' images are their signatures (64 values, as `loop_fingerprint` makes)."""
    monkeypatch.setattr(replay, "_small_gray", lambda image: image)
    monkeypatch.setattr(replay, "loop_fingerprint", lambda small: small)
    return ReplayDetector(None, settings or load_config().replay, sample_interval_s)


def feed(detector: ReplayDetector, signatures: Iterable[np.ndarray], first: int = 0, fps: float = FPS) -> int:
    """Observe `signatures` as frames `first`, `first` + 1, ... of a stream at `fps`; returns the next number."""
    n = first - 1
    for n, signature in enumerate(signatures, start=first):
        detector.observe(Frame("stream", n, n / fps, signature))
    return n + 1
