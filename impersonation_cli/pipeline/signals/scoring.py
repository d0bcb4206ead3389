"""Per-appearance scoring: turn the per-face measurements of a track's frames into signal scores.

Each signal reduces its measurements to one raw statistic (shown in its details and explanation) and maps
it onto 0..1 with a linear ramp between two configured points (`[signals]` in the config): at or below
`low` it scores 0, at or above `high` it scores 1. The ramps are starting points set by eye on the shared
labelled clips, not fitted values; `eval` measures how well each one separates. These hand-made cues explain
a verdict but never raise one: only the trained detector's signals do (detector.py, verdicts.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from impersonation_cli.errors import UserError
from impersonation_cli.pipeline.tracks import Observation
from impersonation_cli.results import NOT_JUDGED, SignalScore

Ramp = tuple[float, float]


@dataclass(frozen=True)
class SignalSettings:
    """The `[signals]` section: each ramp is [low, high] of its signal's raw statistic."""

    # 1 - median similarity of consecutive frames of one face.
    identity_jitter: Ramp = (0.2, 0.6)
    # log ratio of the surroundings' sharpness (mean |Laplacian|) to the face's.
    sharpness_mismatch: Ramp = (0.3, 1.0)
    # log ratio of the surroundings' fine-texture noise to the face's (wide: hair and fabric are noisy).
    noise_mismatch: Ramp = (1.0, 2.0)
    # |log ratio| of edge energy on the face boundary to just inside and outside it.
    blend_seam: Ramp = (0.3, 0.7)
    # Eye openness variation (coefficient of variation over the frames): below `low`, eyes never move.
    eye_stillness: Ramp = (0.015, 0.04)
    # Share of head movements (between consecutive frames) with a mouth that does not change.
    frozen_mouth: Ramp = (0.5, 0.9)
    # log ratio of the surroundings' fine texture to the cheeks'.
    skin_flatness: Ramp = (0.6, 1.4)
    # Median frame-to-frame change of the normalised expression landmarks: below `low`, a still picture.
    expression_stillness: Ramp = (0.01, 0.02)
    # Movements smaller than these do not count as head motion / mouth motion.
    head_motion_min: float = 0.08
    mouth_motion_min: float = 0.03
    # Temporal signals need this many frames of the face.
    min_frames: int = 4
    # Faces smaller than this (shorter box side, pixels) are not measured: their texture is the encoder's.
    min_face_px: int = 40
    # The trained detector judges a track's first faces big enough for it, then every n-th, up to a cap...
    forgery_first_frames: int = 3
    forgery_every: int = 8
    forgery_max_frames: int = 10
    # ...and a track's probability is the mean of its k highest frame probabilities, judged only with at least
    # forgery_min_frames of them (a photo: 1): the thresholds were chosen on tracks of up to 12 frames.
    forgery_top_k: int = 3
    forgery_min_frames: int = 3

    def __post_init__(self) -> None:
        counts = (
            self.forgery_first_frames,
            self.forgery_every,
            self.forgery_max_frames,
            self.forgery_top_k,
            self.forgery_min_frames,
        )
        if min(counts) < 1:
            raise UserError(
                "config [signals] forgery_first_frames, _every, _max_frames, _top_k, _min_frames must be >= 1"
            )


def ramp(value: float, bounds: Ramp) -> float:
    low, high = bounds
    return round(float(np.clip((value - low) / (high - low), 0.0, 1.0)), 4)


def falling(value: float, bounds: Ramp) -> float:
    """1 at or below `low`, 0 at or above `high`: for signs of stillness."""
    return round(1.0 - ramp(value, bounds), 4)


def _series(observations: list[Observation], name: str) -> np.ndarray:
    values = np.array([o.features.get(name, np.nan) for o in observations], dtype=np.float64)
    return values[np.isfinite(values)]


def _difference(observations: list[Observation], minuend: str, subtrahend: str) -> np.ndarray:
    """Per frame `minuend - subtrahend`, over the frames where both were measured."""
    values = np.array(
        [o.features.get(minuend, np.nan) - o.features.get(subtrahend, np.nan) for o in observations], dtype=np.float64
    )
    return values[np.isfinite(values)]


def _median_signal(
    name: str, values: np.ndarray, score: Callable[[float], float], explain: Callable[[float], str], key: str
) -> SignalScore:
    """A signal judged on the median of a per-frame measurement."""
    if not len(values):
        return _too_few(name, 0, 1)
    level = float(np.median(values))
    return SignalScore(name, score(level), explain(level), {key: round(level, 4)})


def not_judged(name: str, why: str, details: dict[str, float | str] | None = None) -> SignalScore:
    """A signal that could not be measured: score 0, and the explanation says why."""
    return SignalScore(name, 0.0, f"{NOT_JUDGED}: {why}", details or {})


def _too_few(name: str, have: int, need: int) -> SignalScore:
    return not_judged(name, f"{have} usable frame(s) of the face, {need} needed", {"frames": have})


def identity_jitter(observations: list[Observation], settings: SignalSettings) -> SignalScore:
    """How much the face's identity wobbles between consecutive frames, and drifts from start to end.

    A real face keeps a steady embedding (consecutive-frame cosine ~0.85-0.95 with the default recognizer);
    per-frame synthesis re-invents identity details each frame.
    """
    name = "identity_jitter"
    # Only freshly computed embeddings: a carried-over one would count as a perfectly steady identity.
    embedded = [o for o in observations if not o.embedding_reused]
    if len(embedded) < 3:
        return _too_few(name, len(embedded), 3)
    embeddings = np.stack([o.embedding for o in embedded])
    consecutive = np.sum(embeddings[1:] * embeddings[:-1], axis=1)
    third = max(1, len(embeddings) // 3)
    first, last = embeddings[:third].mean(axis=0), embeddings[-third:].mean(axis=0)
    drift = 1.0 - float(first @ last / max(np.linalg.norm(first) * np.linalg.norm(last), 1e-12))
    jitter = 1.0 - float(np.median(consecutive))
    return SignalScore(
        name,
        ramp(jitter, settings.identity_jitter),
        f"median frame-to-frame identity similarity {1 - jitter:.2f}; first-to-last third drift {drift:.2f}",
        {"jitter": round(jitter, 4), "drift": round(drift, 4)},
    )


def texture_mismatch(observations: list[Observation], settings: SignalSettings) -> SignalScore:
    """A face blurrier or cleaner than its own surroundings: generated faces are rendered at low resolution
    and warped in, so they lack the camera's sharpness and sensor noise that the rest of the frame has."""
    name = "texture_mismatch"
    sharp = _difference(observations, "sharp_out", "sharp_in")
    noise = _difference(observations, "noise_out", "noise_in")
    if not len(sharp) or not len(noise):
        return _too_few(name, 0, 1)
    sharp_gap, noise_gap = float(np.median(sharp)), float(np.median(noise))
    return SignalScore(
        name,
        max(ramp(sharp_gap, settings.sharpness_mismatch), ramp(noise_gap, settings.noise_mismatch)),
        f"surroundings {np.exp(sharp_gap):.2f}x as sharp and {np.exp(noise_gap):.2f}x as noisy as the face",
        {"sharpness_log_ratio": round(sharp_gap, 4), "noise_log_ratio": round(noise_gap, 4)},
    )


def blend_seam(observations: list[Observation], settings: SignalSettings) -> SignalScore:
    """Edge energy on the face boundary against just inside and outside it: a hard paste leaves a ridge,
    feathered blending a trough."""
    return _median_signal(
        "blend_seam",
        _series(observations, "seam"),
        lambda level: ramp(abs(level), settings.blend_seam),
        lambda level: (
            f"boundary edge energy {np.exp(level):.2f}x its sides: a "
            + ("ridge (hard edge)" if level > 0 else "trough (blurred edge)")
        ),
        "seam_log_ratio",
    )


def _motions(observations: list[Observation], keys: tuple[str, ...]) -> np.ndarray:
    rows = np.array([[o.features.get(k, np.nan) for k in keys] for o in observations], dtype=np.float64)
    return np.abs(np.diff(rows, axis=0)).sum(axis=1)


def landmark_dynamics(observations: list[Observation], settings: SignalSettings) -> SignalScore:
    """Eyes that never change openness, and a mouth frozen while the head moves.

    At 1-2 sampled frames a second most blinks (150 ms) fall between samples, so the eyes are judged by
    how much their openness varies over the track, not by counting blinks.
    """
    name = "landmark_dynamics"
    with_landmarks = [o for o in observations if "eye_open" in o.features]
    if len(with_landmarks) < settings.min_frames:
        return _too_few(name, len(with_landmarks), settings.min_frames)
    eyes = _series(with_landmarks, "eye_open")
    eye_variation = float(np.std(eyes) / max(np.mean(eyes), 1e-6))
    head = _motions(with_landmarks, ("yaw", "pitch", "roll", "x", "y"))
    mouth = _motions(with_landmarks, ("mouth_open",))
    moving = head >= settings.head_motion_min
    frozen_share = float(np.mean(mouth[moving] < settings.mouth_motion_min)) if moving.any() else 0.0
    eye_score = falling(eye_variation, settings.eye_stillness)
    mouth_score = ramp(frozen_share, settings.frozen_mouth) if moving.sum() >= 2 else 0.0
    return SignalScore(
        name,
        max(eye_score, mouth_score),
        f"eye openness varies {eye_variation:.0%} over {len(eyes)} frames; mouth still in "
        f"{frozen_share:.0%} of {int(moving.sum())} head movements",
        {
            "eye_variation": round(eye_variation, 4),
            "frozen_mouth_share": round(frozen_share, 4),
            "head_movements": float(moving.sum()),
        },
    )


def skin_flatness(observations: list[Observation], settings: SignalSettings) -> SignalScore:
    """Cheeks with less fine texture than the surroundings: beauty filters and pasted photos smooth skin."""
    return _median_signal(
        "skin_flatness",
        _difference(observations, "noise_out", "skin"),
        lambda level: ramp(level, settings.skin_flatness),
        lambda level: f"surroundings have {np.exp(level):.2f}x the fine texture of the cheeks",
        "skin_log_ratio",
    )


def expression_stillness(observations: list[Observation], settings: SignalSettings) -> SignalScore:
    """An expression that never changes (a sticker or a photo moved around): frame-to-frame landmark change."""
    change = _series(observations, "shape_change")
    if len(change) < settings.min_frames - 1:
        return _too_few("expression_stillness", len(change) + 1, settings.min_frames)
    return _median_signal(
        "expression_stillness",
        change,
        lambda level: falling(level, settings.expression_stillness),
        lambda level: f"expression landmarks move {level:.3f} face-widths between frames (median)",
        "shape_change",
    )


CUES: tuple[Callable[[list[Observation], SignalSettings], SignalScore], ...] = (
    identity_jitter,
    texture_mismatch,
    blend_seam,
    landmark_dynamics,
    skin_flatness,
    expression_stillness,
)
# Which cues a likely-synthetic or likely-effects reason quotes as explanation.
SYNTHETIC_CUES = ("identity_jitter", "texture_mismatch", "blend_seam", "landmark_dynamics")
EFFECTS_CUES = ("skin_flatness", "expression_stillness", "blend_seam")
