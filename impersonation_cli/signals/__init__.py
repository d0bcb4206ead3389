"""Signals stage: evidence of manipulation that does not come from identity.

A face swap driven by the celebrity's own embedding matches the gallery *better*, so nothing here
looks at who the face is; it looks at how the face behaves over time and how it sits in its frame.
Per-face measurements are made while the frame's pixels are at hand (`observe`, a few floats per face
in `Observation.features`), and scored per appearance when the appearance is complete (`score_appearance`).
Every face track is scored when it ends, matched or not: the strongest score of each signal over all of
a source's faces is a source signal (`source_signals`), so sources of unknown people are judged too.
"""

from __future__ import annotations

import cv2
import numpy as np

from ..config import Config
from ..faces import FaceEngine
from ..results import SignalScore
from ..tracks import Observation, Track, Tracker
from ..types import Faces, Frame
from .measure import landmark_features, normalised_shape, pose_features, texture_features
from .replay import FootageIndex, ReplayDetector
from .scoring import EFFECTS_SIGNALS, SYNTHETIC_SIGNALS, SignalSettings, combine

SYNTHETIC = "synthetic"
EFFECTS = "effects"


class SignalSuite:
    """All manipulation signals for one source: the per-face ones and the replay detector's."""

    def __init__(self, engine: FaceEngine, config: Config, footage: FootageIndex | None = None) -> None:
        self.engine = engine
        self.config = config
        self.replay = ReplayDetector(footage, config)
        self.settings = SignalSettings.from_table(config.section("signals"))
        # Per active track: the previous frame's normalised expression landmarks (one small array a track).
        self._last_shape: dict[int, np.ndarray] = {}
        # Per signal: the strongest score over every face track of the source so far.
        self._strongest: dict[str, SignalScore] = {}

    def observe(self, frame: Frame, faces: Faces, tracker: Tracker) -> None:
        """Measure each tracked face of this frame (stored on its newest observation).

        Faces under `min_face_px` are skipped: their texture and landmarks are the video encoder's.
        """
        self.replay.observe(frame)
        faces = faces[np.flatnonzero(faces.sizes >= self.settings.min_face_px)]
        if not len(faces):
            return
        gray = cv2.cvtColor(frame.image, cv2.COLOR_BGR2GRAY) if frame.image.ndim == 3 else frame.image
        landmarks = self.engine.landmarks106(frame.image, faces)
        for row, track_id in enumerate(faces.track_ids):
            features = tracker.track(int(track_id)).observations[-1].features
            features.update(texture_features(gray, faces.boxes[row], faces.keypoints[row]))
            features.update(pose_features(faces.boxes[row], faces.keypoints[row]))
            if landmarks is not None:
                features.update(landmark_features(landmarks[row]))
                self._expression_change(int(track_id), landmarks[row], features)

    def _expression_change(self, track_id: int, points: np.ndarray, features: dict[str, float]) -> None:
        shape = normalised_shape(points)
        previous = self._last_shape.get(track_id)
        if previous is not None:
            features["shape_change"] = float(np.linalg.norm(shape - previous, axis=1).mean())
        self._last_shape[track_id] = shape

    def tracks_ended(self, tracks: list[Track]) -> None:
        """Score every finished face track, matched or not, and keep each signal's strongest score."""
        for track in tracks:
            self._last_shape.pop(track.track_id, None)
            if len(track.observations) < self.config.scan.min_appearance_frames:
                continue
            for name, score in self.score_observations(track.observations).items():
                kept = self._strongest.get(name)
                if kept is None or score.score > kept.score:
                    detail = {**score.details, "track_id": float(track.track_id), "start_s": round(track.start_s, 3)}
                    self._strongest[name] = SignalScore(
                        name, score.score, f"strongest face (track {track.track_id}): {score.explanation}", detail
                    )

    def score_observations(self, observations: list[Observation]) -> dict[str, SignalScore]:
        """Every signal for one face's frames, plus the combined synthetic and effects scores."""
        scores = {s.name: s for s in (signal(observations, self.settings) for signal in SYNTHETIC_SIGNALS)}
        scores.update({s.name: s for s in (signal(observations, self.settings) for signal in EFFECTS_SIGNALS)})
        scores[SYNTHETIC] = combine(SYNTHETIC, scores, self.settings.synthetic_weights)
        scores[EFFECTS] = combine(EFFECTS, scores, self.settings.effects_weights)
        return scores

    def score_appearance(
        self, tracks: list[Track], identity: str, start_s: float, end_s: float
    ) -> dict[str, SignalScore]:
        """Score the appearance's tracks one by one (a signal compares frames of one face), keep the most
        suspicious track's scores (by its combined synthetic or effects score), and add whether the person's
        known footage is being replayed over the appearance's time."""
        per_track = [self.score_observations(t.observations) for t in tracks]
        scores = dict(max(per_track, key=lambda s: max(s[SYNTHETIC].score, s[EFFECTS].score)))
        replay = self.replay.appearance_signal(identity, start_s, end_s)
        if replay is not None:
            scores[replay.name] = replay
        return scores

    def source_signals(self) -> dict[str, SignalScore]:
        return {**self._strongest, **self.replay.source_signals()}
