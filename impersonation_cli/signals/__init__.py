"""Signals stage: evidence of manipulation that does not come from identity.

A face swap driven by the celebrity's own embedding matches the gallery *better*, so nothing here
looks at who the face is; it looks at how the face behaves over time and how it sits in its frame.
Per-face measurements are made while the frame's pixels are at hand (`observe`), and scored per
appearance when the appearance is complete (`score_appearance`).
"""

from __future__ import annotations

import numpy as np

from ..config import Config
from ..faces import FaceEngine
from ..results import SignalScore
from ..tracks import Observation, Track, Tracker
from ..types import Faces, Frame


def identity_jitter(observations: list[Observation]) -> SignalScore:
    """How much the face's identity wobbles between consecutive frames of a track.

    A real face keeps a steady embedding (consecutive-frame cosine ~0.85-0.95 with the default
    recognizer); per-frame synthesis re-invents identity details each frame.
    """
    if len(observations) < 3:
        return SignalScore("identity_jitter", 0.0, "too few frames to judge identity stability")
    embeddings = np.stack([o.embedding for o in observations])
    consecutive = np.sum(embeddings[1:] * embeddings[:-1], axis=1)
    instability = float(np.clip(1.0 - np.median(consecutive), 0.0, 1.0))
    return SignalScore(
        "identity_jitter",
        round(instability, 4),
        f"median frame-to-frame identity similarity {np.median(consecutive):.2f}",
        {"median_consecutive_similarity": round(float(np.median(consecutive)), 4)},
    )


class SignalSuite:
    """All manipulation signals for one source."""

    def __init__(self, engine: FaceEngine, config: Config) -> None:
        self.engine = engine
        self.config = config

    def observe(self, frame: Frame, faces: Faces, tracker: Tracker) -> None:
        """Measure each tracked face of this frame (stored on its newest observation)."""

    def score_appearance(self, tracks: list[Track], observations: list[Observation]) -> dict[str, SignalScore]:
        scores = [identity_jitter(t.observations) for t in tracks]
        worst = max(scores, key=lambda s: s.score)
        return {worst.name: worst}

    def source_signals(self) -> dict[str, SignalScore]:
        return {}
