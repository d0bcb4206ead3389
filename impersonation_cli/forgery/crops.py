"""The crop rule shared by training and runtime: the face box widened for context, made square, turned so the
eyes are level, resized to the network's input. Training cuts its crops with these same functions, so the
network never sees a crop made differently from the ones it judges."""

from __future__ import annotations

import math

import cv2
import numpy as np

# Share of a crop that may lie outside the frame before the face counts as too cut off to judge, unless the model's
# metadata says otherwise (`crop.outside`: a model trained on faces cut by the frame's edge judges more of them).
MAX_OUTSIDE_SHARE = 0.25
MAX_ROLL_DEGREES = 45.0


def crop_matrix(box: np.ndarray, keypoints: np.ndarray, size: int, widen: float) -> np.ndarray:
    """The 2x3 affine map from frame pixels to a `size` x `size` crop: centred on the box, its longer side times
    `widen` across, rotated so the line between the eyes (keypoints 0 and 1) is level (by at most MAX_ROLL_DEGREES)."""
    x1, y1, x2, y2 = (float(v) for v in box[:4])
    side = max(x2 - x1, y2 - y1) * widen
    left_eye, right_eye = keypoints[0].astype(np.float64), keypoints[1].astype(np.float64)
    angle = math.degrees(math.atan2(right_eye[1] - left_eye[1], right_eye[0] - left_eye[0]))
    # Eyes the other way round (a face in profile or upside down) give no reliable roll: turn at most MAX_ROLL.
    angle = float(np.clip((angle + 90.0) % 180.0 - 90.0, -MAX_ROLL_DEGREES, MAX_ROLL_DEGREES))
    centre = ((x1 + x2) / 2.0, (y1 + y2) / 2.0)
    matrix = cv2.getRotationMatrix2D(centre, angle, size / max(side, 1.0))
    matrix[:, 2] += np.array([size / 2.0 - centre[0], size / 2.0 - centre[1]])
    return matrix


def face_crop(image: np.ndarray, box: np.ndarray, keypoints: np.ndarray, size: int, widen: float) -> np.ndarray:
    """One face's crop (BGR uint8, `size` x `size`); what lies outside the frame is black.

    Training cut its crops from context canvases padded by reflection (scripts/train_detector.py `canvas_of`), so a
    face near the frame's edge differs there. Reflecting here too was measured and not taken: it moved a real photo
    over the synthetic threshold the shipped thresholds were chosen with (docs/verdicts.md, What lost)."""
    matrix = crop_matrix(box, keypoints, size, widen)
    return cv2.warpAffine(image, matrix, (size, size), flags=cv2.INTER_AREA, borderValue=(0, 0, 0))


def outside_share(box: np.ndarray, widen: float, width: int, height: int) -> float:
    """Share of the widened square around `box` that lies outside a `width` x `height` frame."""
    x1, y1, x2, y2 = (float(v) for v in box[:4])
    half = max(x2 - x1, y2 - y1) * widen / 2.0
    cx, cy = (x1 + x2) / 2.0, (y1 + y2) / 2.0
    inside_w = max(0.0, min(width, cx + half) - max(0.0, cx - half))
    inside_h = max(0.0, min(height, cy + half) - max(0.0, cy - half))
    return 1.0 - inside_w * inside_h / max((2 * half) ** 2, 1e-6)


def judgeable(
    boxes: np.ndarray, widen: float, min_face_px: int, width: int, height: int, max_outside: float = MAX_OUTSIDE_SHARE
) -> np.ndarray:
    """(N,) bool: faces whose shorter box side reaches `min_face_px` and of which at most `max_outside` lies outside
    the frame, measured on the box widened `widen` times (the crop's widening: its context; 1: the face itself)."""
    if not len(boxes):
        return np.zeros(0, dtype=bool)
    sizes = np.minimum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1])
    inside = np.array([outside_share(b, widen, width, height) <= max_outside for b in boxes], dtype=bool)
    return (sizes >= min_face_px) & inside
