"""The trained face-forgery detector (impersonation_cli/forgery) inside the signals stage: which faces it
looks at, and each track's `face_forgery` and `face_effects` scores.

The detector costs some milliseconds a face, so it does not run on every sampled frame: it judges a track's
first `forgery_first_frames` faces big enough for it, then every `forgery_every`-th, at most
`forgery_max_frames` per track. A track's probability is the mean of its `forgery_top_k` highest frame
probabilities: a swap that shows on some frames is still caught, a single odd frame is not enough.

These two signals are the only ones that raise `likely-synthetic` and `likely-effects` (verdicts.py): the
detector's probabilities are calibrated and its thresholds were chosen on held-out real footage, which the
hand-made cues never were.
"""

from __future__ import annotations

import math
import os
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from impersonation_cli.errors import UserError
from impersonation_cli.pipeline.faces import Faces, Frame
from impersonation_cli.pipeline.signals.scoring import SignalSettings, not_judged
from impersonation_cli.pipeline.tracks import Observation
from impersonation_cli.results import SignalScore

if TYPE_CHECKING:
    from impersonation_cli.forgery import ForgeryDetector
    from impersonation_cli.runtime.engine import FaceEngine

FACE_FORGERY = "face_forgery"
FACE_EFFECTS = "face_effects"
# Observation.features keys: per judged frame the two probabilities; per frame looked at and refused, a flag.
SYNTHETIC_KEY = "forgery_synthetic"
EFFECTS_KEY = "forgery_effects"
REFUSED_KEY = "forgery_refused"
SMALL_KEY = "forgery_small"
FORGERY_MODEL_ENV = "IMPERSONATION_FORGERY_MODEL"


@dataclass(frozen=True)
class ForgeryModel:
    """The loaded detector, or why there is none: an install without the model file still scans."""

    detector: ForgeryDetector | None
    problem: str | None = None

    @property
    def model_id(self) -> str | None:
        return self.detector.model_id if self.detector is not None else None


# One detector per face engine (scan, watch and eval share an engine across sources and rooms).
_LOADED: weakref.WeakKeyDictionary[FaceEngine, ForgeryModel] = weakref.WeakKeyDictionary()


def forgery_model(engine: FaceEngine) -> ForgeryModel:
    """The forgery detector for this engine's ONNX providers, loaded once."""
    model = _LOADED.get(engine)
    if model is None:
        model = load_forgery_model(engine.providers)
        _LOADED[engine] = model
    return model


def load_forgery_model(providers: list[str]) -> ForgeryModel:
    """The shipped model (an install without it still scans, judging no manipulation), or the one
    `$IMPERSONATION_FORGERY_MODEL` names (to try another training run).

    Raises:
        UserError: the variable names a model that does not load: scans ran without one, raising no
            likely-synthetic or likely-effects, and said so only inside each appearance.
    """
    chosen = os.environ.get(FORGERY_MODEL_ENV)
    try:
        from impersonation_cli.forgery import ForgeryDetector

        return ForgeryModel(ForgeryDetector.load(Path(chosen) if chosen else None, providers=providers))
    # Exception: a damaged file raises protobuf's DecodeError or ONNX Runtime's own errors, which share no other
    # base with a missing file's OSError or a bad JSON's ValueError.
    except Exception as exc:
        why = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if chosen:
            raise UserError(f"${FORGERY_MODEL_ENV} names {chosen}, which does not load: {why}") from exc
        return ForgeryModel(None, f"no forgery model ({why})")


class ForgerySampler:
    """Runs the detector on a few frames of each track and stores the probabilities on the observations."""

    def __init__(self, model: ForgeryModel, settings: SignalSettings) -> None:
        self.model = model
        self.settings = settings
        # Per active track: how many of its faces were big enough for the detector so far, and when it began.
        self._eligible: dict[int, int] = {}
        self._started_s: dict[int, float] = {}
        # In a slice of a long file (pipeline/slices.py), tracks that begin by this time may continue a track of
        # the slice before, where their faces' places in the schedule are unknown: every face the schedule could
        # judge (`judged_span`) is judged, and the join keeps the judgements the whole-file schedule makes.
        self.judge_all_until_s = -math.inf

    def observe(self, frame: Frame, faces: Faces, observations: list[Observation]) -> None:
        """`observations[i]` is the newest observation of `faces[i]`'s track."""
        detector = self.model.detector
        if detector is None or not len(faces):
            return
        big = faces.sizes >= detector.min_face_px
        chosen = []
        for row in range(len(faces)):
            track_id = int(faces.track_ids[row])
            started_s = self._started_s.setdefault(track_id, frame.time_s)
            if not big[row]:
                observations[row].features[SMALL_KEY] = 1.0
                continue
            seen = self._eligible.get(track_id, 0)
            self._eligible[track_id] = seen + 1
            may_continue = started_s <= self.judge_all_until_s and seen < judged_span(self.settings)
            if judged_now(seen, self.settings) or may_continue:
                chosen.append(row)
        if not chosen:
            return
        rows = np.array(chosen)
        scores = detector.score(frame.image, faces.boxes[rows], faces.keypoints[rows])
        for n, row in enumerate(chosen):
            features = observations[row].features
            if scores.judged[n]:
                features[SYNTHETIC_KEY] = float(scores.synthetic[n])
                features[EFFECTS_KEY] = float(scores.effects[n])
            else:
                features[REFUSED_KEY] = 1.0

    def track_ended(self, track_id: int) -> None:
        self._eligible.pop(track_id, None)
        self._started_s.pop(track_id, None)


def judged_now(seen: int, settings: SignalSettings) -> bool:
    """Whether a track's face number `seen` (0-based, counting only faces big enough) goes to the detector."""
    first, every = settings.forgery_first_frames, settings.forgery_every
    if seen < first:
        return True
    later = seen - first
    return later % every == 0 and first + later // every < settings.forgery_max_frames


def judged_span(settings: SignalSettings) -> int:
    """How many of a track's first faces (counting only faces big enough) hold every face `judged_now` picks."""
    first, every, most = settings.forgery_first_frames, settings.forgery_every, settings.forgery_max_frames
    return first + (most - first - 1) * every + 1 if most > first else first


def keep_scheduled(observations: list[Observation], settings: SignalSettings) -> None:
    """Drop the detector's judgements on faces `judged_now` would not have picked (a long file's slices judge
    more faces of the tracks that may continue across a boundary: `ForgerySampler.judge_all_until_s`)."""
    seen = 0
    for observation in observations:
        if SMALL_KEY in observation.features:
            continue
        if not judged_now(seen, settings):
            for key in (SYNTHETIC_KEY, EFFECTS_KEY, REFUSED_KEY):
                observation.features.pop(key, None)
        seen += 1


def top_k_mean(probabilities: np.ndarray, k: int) -> tuple[float, int]:
    """A track's probability: the mean of its k highest frame probabilities (and how many that was)."""
    top = np.sort(probabilities)[::-1][:k]
    return float(top.mean()), len(top)


def detector_signals(
    observations: list[Observation], model: ForgeryModel, settings: SignalSettings, min_frames: int
) -> dict[str, SignalScore]:
    """`face_forgery` and `face_effects` for one face's frames, or why they were not judged (fewer than
    `min_frames` frames judged: a crowd's passing face scored on two frames accused a real clip)."""
    return {
        name: _track_score(name, key, f"{kind}_threshold", observations, model, settings, min_frames)
        for name, key, kind in ((FACE_FORGERY, SYNTHETIC_KEY, "synthetic"), (FACE_EFFECTS, EFFECTS_KEY, "effects"))
    }


def _track_score(
    name: str,
    key: str,
    threshold_attribute: str,
    observations: list[Observation],
    model: ForgeryModel,
    settings: SignalSettings,
    min_frames: int,
) -> SignalScore:
    if model.detector is None:
        return not_judged(name, model.problem or "no forgery model")
    probabilities = np.array([o.features[key] for o in observations if key in o.features], dtype=np.float64)
    if not len(probabilities):
        return not_judged(name, _why_unjudged(observations, model.detector.min_face_px))
    if len(probabilities) < min_frames:
        why = f"{len(probabilities)} frame(s) of the face judged, {min_frames} needed"
        return not_judged(name, why, {"probability": round(top_k_mean(probabilities, settings.forgery_top_k)[0], 4)})
    probability, top = top_k_mean(probabilities, settings.forgery_top_k)
    threshold = float(getattr(model.detector, threshold_attribute))
    return SignalScore(
        name,
        round(probability, 4),
        f"trained detector: probability {probability:.2f} (mean of the top {top} of {len(probabilities)} "
        f"frame(s) judged; its threshold {threshold:.2f})",
        {"probability": round(probability, 4), "threshold": threshold, "frames_judged": float(len(probabilities))},
    )


def _why_unjudged(observations: list[Observation], min_face_px: int) -> str:
    refused = sum(REFUSED_KEY in o.features for o in observations)
    if refused:
        return f"the face was too cut off by the frame's edge for the detector in the {refused} frame(s) it looked at"
    return f"the face is under the detector's {min_face_px} px in every frame"
