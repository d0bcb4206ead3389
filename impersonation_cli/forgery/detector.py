"""ForgeryDetector: the shipped face-forgery network on ONNX Runtime, with its calibration and thresholds.

The model file comes with a metadata JSON beside it (same stem, `.json`) that says how its input is made (crop
rule, size, mean/std), how its three logits (real / blended-or-swapped / effects) become calibrated
probabilities (a temperature fitted on held-out real people and their self-blends), and the thresholds chosen
for at most 2% false positives on held-out real footage, per track. See docs/verdicts.md.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort

from impersonation_cli.forgery.crops import MAX_OUTSIDE_SHARE, face_crop, judgeable

MODEL_FILE = Path(__file__).resolve().parent.parent / "data" / "forgery" / "face_forgery.onnx"
METADATA_FORMAT = 1
CLASSES = ("real", "synthetic", "effects")


@dataclass(frozen=True)
class ForgeryScores:
    synthetic: np.ndarray  # (N,) calibrated probability that the face is blended/swapped/generated
    effects: np.ndarray  # (N,) calibrated probability of a beauty filter / warp / sticker / pasted photo
    judged: np.ndarray  # (N,) bool; False where the face is too small or too poor to judge (scores NaN)


@dataclass(frozen=True)
class ModelInput:
    """How a face becomes the network's input, as the metadata states it."""

    size: int
    widen: float
    mean: np.ndarray  # (3,) per RGB channel
    std: np.ndarray
    # A face is judged while at most `max_outside` of its box widened `outside_widen` times lies outside the frame
    # (metadata `crop.outside`; without it, as before: a quarter of the crop, None standing for `widen`).
    outside_widen: float | None = None
    max_outside: float = MAX_OUTSIDE_SHARE

    def judgeable(self, boxes: np.ndarray, min_face_px: int, width: int, height: int) -> np.ndarray:
        """(N,) bool: the faces at `boxes` this input rule can judge in a `width` x `height` frame."""
        widen = self.widen if self.outside_widen is None else self.outside_widen
        return judgeable(boxes, widen, min_face_px, width, height, self.max_outside)

    @classmethod
    def from_metadata(cls, metadata: dict) -> ModelInput:
        spec, crop = metadata["input"], metadata["crop"]
        outside = crop.get("outside", {})
        return cls(
            size=int(spec["size"]),
            widen=float(crop["widen"]),
            mean=np.asarray(spec["mean"], dtype=np.float32),
            std=np.asarray(spec["std"], dtype=np.float32),
            outside_widen=float(outside.get("measured_at_widen", crop["widen"])),
            max_outside=float(outside.get("max_share", MAX_OUTSIDE_SHARE)),
        )

    def blob(self, crops_bgr: list[np.ndarray]) -> np.ndarray:
        """(N, 3, size, size) float32 RGB, normalised."""
        batch = np.stack(crops_bgr)[..., ::-1].astype(np.float32)
        return np.ascontiguousarray(((batch - self.mean) / self.std).transpose(0, 3, 1, 2))


def metadata_path(model_path: Path) -> Path:
    return model_path.with_suffix(".json")


def read_metadata(model_path: Path) -> dict:
    path = metadata_path(model_path)
    metadata = json.loads(path.read_text(encoding="utf-8"))
    if metadata.get("format") != METADATA_FORMAT or tuple(metadata.get("classes", ())) != CLASSES:
        raise ValueError(f"{path} is not a forgery-model description this version reads (format {METADATA_FORMAT})")
    return metadata


def calibrated(logits: np.ndarray, temperature: float) -> np.ndarray:
    """(N, 3) class probabilities: the softmax of the logits divided by the fitted temperature."""
    scaled = logits.astype(np.float64) / temperature
    scaled -= scaled.max(axis=1, keepdims=True)
    weights = np.exp(scaled)
    return weights / weights.sum(axis=1, keepdims=True)


class ForgeryDetector:
    """Scores faces as real, blended/swapped, or edited by effects; one ONNX session, loaded once."""

    def __init__(self, path: Path, session: ort.InferenceSession, metadata: dict, model_id: str) -> None:
        self.path = path
        self.session = session
        self.metadata = metadata
        self.model_id = model_id
        self.input = ModelInput.from_metadata(metadata)
        self.temperature = float(metadata["calibration"]["temperature"])
        self.synthetic_threshold = float(metadata["synthetic_threshold"])
        self.effects_threshold = float(metadata["effects_threshold"])
        self.min_face_px = int(metadata["min_face_px"])
        self._input_name = session.get_inputs()[0].name

    @classmethod
    def load(cls, path: Path | None = None, providers: list[str] | None = None) -> ForgeryDetector:
        """The model at `path` (default: the shipped one) with the metadata JSON beside it. A missing file is
        FileNotFoundError, a metadata file this version cannot read is ValueError."""
        from impersonation_cli.runtime.onnx_rewrites import inference_session
        from impersonation_cli.runtime.packs import sha256_of
        from impersonation_cli.runtime.sessions import resolve_providers, session_options

        model_path = Path(path) if path is not None else MODEL_FILE
        if not model_path.is_file():
            raise FileNotFoundError(f"forgery model {model_path} is missing")
        metadata = read_metadata(model_path)
        providers = providers or resolve_providers("auto")
        session = inference_session(model_path, session_options(None), providers)
        return cls(model_path, session, metadata, f"{model_path.name}:{sha256_of(model_path)[:16]}")

    def crops(self, image_bgr: np.ndarray, boxes: np.ndarray, keypoints: np.ndarray) -> list[np.ndarray]:
        spec = self.input
        return [face_crop(image_bgr, b, k, spec.size, spec.widen) for b, k in zip(boxes, keypoints, strict=True)]

    def logits(self, crops_bgr: list[np.ndarray]) -> np.ndarray:
        """(N, 3) raw network outputs for crops already cut by the crop rule."""
        if not crops_bgr:
            return np.zeros((0, len(CLASSES)), dtype=np.float32)
        from impersonation_cli.runtime.sessions import in_batches

        return in_batches(
            lambda batch: self.session.run(None, {self._input_name: self.input.blob(batch)})[0], crops_bgr
        )

    def score(self, image_bgr: np.ndarray, boxes: np.ndarray, keypoints: np.ndarray) -> ForgeryScores:
        """Per-face probabilities for the faces at `boxes` (N, >=4: x1, y1, x2, y2) with their 5 `keypoints`."""
        boxes = np.asarray(boxes, dtype=np.float32)
        height, width = image_bgr.shape[:2]
        judged = self.input.judgeable(boxes, self.min_face_px, width, height)
        synthetic = np.full(len(boxes), np.nan, dtype=np.float32)
        effects = np.full(len(boxes), np.nan, dtype=np.float32)
        rows = np.flatnonzero(judged)
        if len(rows):
            logits = self.logits(self.crops(image_bgr, boxes[rows], keypoints[rows]))
            probabilities = calibrated(logits, self.temperature)
            synthetic[rows] = probabilities[:, 1]
            effects[rows] = probabilities[:, 2]
        return ForgeryScores(synthetic=synthetic, effects=effects, judged=judged)
