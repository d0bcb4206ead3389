"""Signals stage: evidence of manipulation that does not come from identity.

A face swap driven by the celebrity's own embedding matches the gallery *better*, so nothing here
looks at who the face is; it looks at the face itself, how it behaves over time and how it sits in its frame.
Per-face measurements are made while the frame's pixels are at hand (`observe`, a few floats per face, kept
on the suite's own copies of each track's observations), and scored per appearance when the appearance is
complete (`score_appearance`).
Every face track is scored when it ends, matched or not: the strongest score of each signal over all of
a source's faces is a source signal (`source_signals`), so sources of unknown people are judged too.

Two kinds of signal: the trained detector's calibrated probabilities (`face_forgery`, `face_effects`,
detector.py), which alone make the class scores `synthetic` and `effects` that verdicts and risk read, and
the hand-made cues (scoring.py), which explain a finding but never raise one.
"""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np

from impersonation_cli.pipeline.faces import Faces, Frame
from impersonation_cli.pipeline.signals.detector import (
    FACE_EFFECTS,
    FACE_FORGERY,
    ForgeryModel,
    ForgerySampler,
    detector_signals,
    forgery_model,
)
from impersonation_cli.pipeline.signals.measure import (
    landmark_features,
    normalised_shape,
    pose_features,
    texture_features,
)
from impersonation_cli.pipeline.signals.replay import FootageIndex, ReplayDetector, ReplaySettings
from impersonation_cli.pipeline.signals.scoring import CUES, EFFECTS_CUES, SYNTHETIC_CUES, SignalSettings
from impersonation_cli.pipeline.tracks import Observation, Track, Tracker
from impersonation_cli.results import SignalScore
from impersonation_cli.runtime.engine import FaceEngine

SYNTHETIC = "synthetic"
EFFECTS = "effects"
# Each class score, the detector signal that gives it, and the cues that explain it.
CLASSES = {SYNTHETIC: (FACE_FORGERY, SYNTHETIC_CUES), EFFECTS: (FACE_EFFECTS, EFFECTS_CUES)}


def class_score(name: str, detector: SignalScore) -> SignalScore:
    """A class score is its detector signal's probability (or why it was not judged), under the class's name."""
    if not detector.judged:
        return SignalScore(name, 0.0, detector.explanation, {})
    details = {detector.name: detector.score, "threshold": detector.details["threshold"]}
    return SignalScore(name, detector.score, f"{detector.name}: {detector.explanation}", details)


class SignalSuite:
    """All manipulation signals for one source: the per-face ones and the replay detector's."""

    def __init__(
        self,
        engine: FaceEngine,
        settings: SignalSettings,
        replay: ReplaySettings,
        min_track_frames: int,
        footage: FootageIndex | None = None,
        forgery: ForgeryModel | None = None,
        sample_interval_s: float | None = None,
    ) -> None:
        """`min_track_frames`: a video's face tracks shorter than this are not scored (a passing false detection;
        the scan's `min_appearance_frames`); `sample_interval_s`: the source's sampling interval (the replay
        detector's runs allow for it)."""
        self.engine = engine
        self.settings = settings
        self.min_track_frames = min_track_frames
        self.replay = ReplayDetector(footage, replay, sample_interval_s)
        self.forgery = forgery or forgery_model(engine)
        self.sampler = ForgerySampler(self.forgery, self.settings)
        # A photo: its faces are one frame each, scored as such (set by the scan for an image).
        self.still_image = False
        # Per active track: the previous frame's normalised expression landmarks (one small array a track).
        self._last_shape: dict[int, np.ndarray] = {}
        # Per track: its faces with what was measured on them (copies of the tracker's observations, which
        # stay as they are), kept until the pipeline lets the track go (`release`).
        self._measured: dict[int, list[Observation]] = {}
        # Per signal: the strongest score over every face track of the source so far.
        self._strongest: dict[str, SignalScore] = {}

    def observe(self, frame: Frame, faces: Faces, tracker: Tracker) -> None:
        """Measure each tracked face of this frame (kept on this suite's copy of its newest observation).

        The hand-made cues skip faces under `min_face_px`: their texture and landmarks are the video encoder's;
        the detector has its own minimum.
        """
        self.replay.observe(frame)
        if not len(faces):
            return
        newest = [self._copy_newest(tracker.track(int(t))) for t in faces.track_ids]
        self.sampler.observe(frame, faces, newest)
        measured = np.flatnonzero(faces.sizes >= self.settings.min_face_px)
        if not len(measured):
            return
        gray = cv2.cvtColor(frame.image, cv2.COLOR_BGR2GRAY) if frame.image.ndim == 3 else frame.image
        landmarks = self.engine.landmarks106(frame.image, faces[measured])
        for n, row in enumerate(measured):
            features = newest[row].features
            features.update(texture_features(gray, faces.boxes[row], faces.keypoints[row]))
            features.update(pose_features(faces.boxes[row], faces.keypoints[row]))
            if landmarks is not None:
                features.update(landmark_features(landmarks[n]))
                self._expression_change(int(faces.track_ids[row]), landmarks[n], features)

    def _copy_newest(self, track: Track) -> Observation:
        copy = dataclasses.replace(track.observations[-1], features={})
        self._measured.setdefault(track.track_id, []).append(copy)
        return copy

    def measured(self, track: Track) -> list[Observation]:
        """The track's faces, frame by frame, with what this suite measured on each."""
        return self._measured[track.track_id]

    def adopt(self, track: Track, measured: list[Observation]) -> None:
        """Take a track's faces as another suite measured them (a long file's slices: pipeline/slices.py)."""
        self._measured[track.track_id] = measured

    def release(self, tracks: list[Track]) -> None:
        """Forget ended tracks that no appearance will be scored on (they matched nobody)."""
        for track in tracks:
            self._measured.pop(track.track_id, None)

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
            self.sampler.track_ended(track.track_id)
            if len(track.observations) < (1 if self.still_image else self.min_track_frames):
                continue
            for name, score in self.score_observations(self.measured(track)).items():
                kept = self._strongest.get(name)
                if kept is None or (score.score, score.judged) > (kept.score, kept.judged):
                    detail = {**score.details, "track_id": float(track.track_id), "start_s": round(track.start_s, 3)}
                    explanation = score.explanation
                    if score.judged:
                        explanation = f"strongest face (track {track.track_id}): {explanation}"
                    self._strongest[name] = SignalScore(name, score.score, explanation, detail)

    def score_observations(self, observations: list[Observation]) -> dict[str, SignalScore]:
        """Every signal for one face's frames: the cues, the detector's signals and the class scores."""
        scores = {s.name: s for s in (cue(observations, self.settings) for cue in CUES)}
        needed = 1 if self.still_image else self.settings.forgery_min_frames
        scores.update(detector_signals(observations, self.forgery, self.settings, needed))
        for name, (detector, _) in CLASSES.items():
            scores[name] = class_score(name, scores[detector])
        return scores

    def score_appearance(
        self, tracks: list[Track], identity: str, start_s: float, end_s: float
    ) -> dict[str, SignalScore]:
        """Score the appearance's tracks one by one (a signal compares frames of one face), keep the most
        suspicious track's scores (by its synthetic or effects score), and add whether the person's
        known footage is being replayed over the appearance's time."""
        per_track = [self.score_observations(self.measured(t)) for t in tracks]
        scores = dict(max(per_track, key=lambda s: max(s[SYNTHETIC].score, s[EFFECTS].score)))
        replay = self.replay.appearance_signal(identity, start_s, end_s)
        if replay is not None:
            scores[replay.name] = replay
        return scores

    def source_signals(self) -> dict[str, SignalScore]:
        return {**self._strongest, **self.replay.source_signals()}
