"""Per-face pixel measurements, made once per face per sampled frame while the frame is at hand.

Everything here returns a few floats (kept by `SignalSuite.measured`), never pixels, so a long stream
keeps a flat memory. Cost is bounded: the face's neighbourhood is scaled so the face is at most
`MAX_FACE_PX` wide before any filtering, so a big face costs no more than a small one (docs/benchmark.md).

Regions are elliptical rings around the detector box, in units of the box's half-width/half-height:
inside `r < 0.75` is the face's interior, `0.85..1.1` is its boundary (where a swapped or pasted face is
blended in), `1.25..1.7` is the surroundings (hair, neck, background).
"""

from __future__ import annotations

import cv2
import numpy as np

MAX_FACE_PX = 160
OUTER_RADIUS = 1.7
INTERIOR = (0.0, 0.75)
BOUNDARY = (0.85, 1.1)
# Just inside and just outside the boundary: a seam shows as more (hard paste) or less (feathered blend)
# edge energy on the boundary than on either side of it.
BOUNDARY_INSIDE = (0.6, 0.8)
BOUNDARY_OUTSIDE = (1.15, 1.4)
SURROUNDINGS = (1.25, OUTER_RADIUS)
EPSILON = 1e-3

# 2d106det indices: eye corners and three upper/lower lid pairs per eye; mouth corners and the inner lips.
LEFT_EYE_CORNERS = (35, 39)
LEFT_EYE_LIDS = ((41, 36), (40, 33), (42, 37))
RIGHT_EYE_CORNERS = (89, 93)
RIGHT_EYE_LIDS = ((95, 90), (94, 87), (96, 91))
MOUTH_CORNERS = (52, 61)
MOUTH_INNER = (62, 60)
# Everything but the jaw contour (0-32): the points that move with expression.
EXPRESSION_POINTS = np.arange(33, 106)


def face_neighbourhood(gray: np.ndarray, box: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The face and its surroundings, scaled so the face is at most MAX_FACE_PX wide, and each pixel's radius."""
    x1, y1, x2, y2 = (float(v) for v in box)
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    half_w, half_h = max((x2 - x1) / 2, 1.0), max((y2 - y1) / 2, 1.0)
    h, w = gray.shape[:2]
    left, right = int(max(0, cx - OUTER_RADIUS * half_w)), int(min(w, cx + OUTER_RADIUS * half_w + 1))
    top, bottom = int(max(0, cy - OUTER_RADIUS * half_h)), int(min(h, cy + OUTER_RADIUS * half_h + 1))
    patch: np.ndarray = gray[top:bottom, left:right].astype(np.float32)
    scale = min(1.0, MAX_FACE_PX / (2 * half_w))
    if scale < 1.0:
        patch = cv2.resize(patch, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    # A column of y and a row of x broadcast to the patch: the same values as two full coordinate grids,
    # without building them (a third of the time: docs/benchmark.md).
    ys = np.arange(patch.shape[0], dtype=np.float32)[:, None]
    xs = np.arange(patch.shape[1], dtype=np.float32)[None, :]
    radius = np.sqrt(((xs / scale + left - cx) / half_w) ** 2 + ((ys / scale + top - cy) / half_h) ** 2)
    return patch, radius


def _ring(radius: np.ndarray, bounds: tuple[float, float]) -> np.ndarray:
    return (radius >= bounds[0]) & (radius < bounds[1])


def _median_in(values: np.ndarray, mask: np.ndarray) -> float:
    return float(np.median(values[mask])) if mask.any() else float("nan")


def texture_features(gray: np.ndarray, box: np.ndarray, keypoints: np.ndarray) -> dict[str, float]:
    """Sharpness, fine texture (noise) and boundary edge energy of the face against its surroundings.

    All values are logarithms, so the scoring stage works with differences (ratios), independent of
    exposure and of the camera's overall noise level.
    """
    patch, radius = face_neighbourhood(gray, box)
    residual = np.abs(patch - cv2.GaussianBlur(patch, (0, 0), 1.0))
    laplacian = np.abs(cv2.Laplacian(patch, cv2.CV_32F))
    smooth = cv2.GaussianBlur(patch, (0, 0), 1.5)
    gradient = cv2.magnitude(cv2.Sobel(smooth, cv2.CV_32F, 1, 0), cv2.Sobel(smooth, cv2.CV_32F, 0, 1))
    interior, surroundings = _ring(radius, INTERIOR), _ring(radius, SURROUNDINGS)
    boundary = float(np.mean(gradient[_ring(radius, BOUNDARY)])) if _ring(radius, BOUNDARY).any() else np.nan
    sides = [_ring(radius, BOUNDARY_INSIDE), _ring(radius, BOUNDARY_OUTSIDE)]
    beside = float(np.mean([np.mean(gradient[m]) for m in sides if m.any()] or [np.nan]))
    return {
        "sharp_in": float(np.log(EPSILON + np.mean(laplacian[interior]))) if interior.any() else np.nan,
        "sharp_out": float(np.log(EPSILON + np.mean(laplacian[surroundings]))) if surroundings.any() else np.nan,
        "noise_in": float(np.log(EPSILON + _median_in(residual, interior))),
        "noise_out": float(np.log(EPSILON + _median_in(residual, surroundings))),
        "skin": float(np.log(EPSILON + _skin_texture(gray, keypoints))),
        "seam": float(np.log((EPSILON + boundary) / (EPSILON + beside))),
    }


def _skin_texture(gray: np.ndarray, keypoints: np.ndarray) -> float:
    """Median fine-texture residual on both cheeks (between eye and mouth corner): smoothing filters flatten it."""
    eye_distance = float(np.linalg.norm(keypoints[1] - keypoints[0]))
    half = max(2, int(0.15 * eye_distance))
    scale = min(1.0, MAX_FACE_PX / max(2.5 * eye_distance, 1.0))
    values = []
    for eye, mouth in ((keypoints[0], keypoints[3]), (keypoints[1], keypoints[4])):
        cx, cy = (eye + mouth) / 2
        x, y = int(cx), int(cy)
        patch: np.ndarray = gray[max(0, y - half) : y + half, max(0, x - half) : x + half].astype(np.float32)
        if patch.shape[0] < 4 or patch.shape[1] < 4:
            continue
        if scale < 1.0:
            patch = cv2.resize(patch, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        values.append(np.median(np.abs(patch - cv2.GaussianBlur(patch, (0, 0), 1.0))))
    return float(np.mean(values)) if values else float("nan")


def pose_features(box: np.ndarray, keypoints: np.ndarray) -> dict[str, float]:
    """Head pose proxies from the five keypoints: yaw and pitch as the nose's offset, roll as the eye line's angle."""
    left_eye, right_eye, nose, left_mouth, right_mouth = keypoints
    eyes = (left_eye + right_eye) / 2
    mouth = (left_mouth + right_mouth) / 2
    eye_distance = max(float(np.linalg.norm(right_eye - left_eye)), 1.0)
    face_height = max(float(mouth[1] - eyes[1]), 1.0)
    size = max(float(box[2] - box[0]), 1.0)
    return {
        "yaw": float((nose[0] - eyes[0]) / eye_distance),
        "pitch": float((nose[1] - eyes[1]) / face_height),
        "roll": float(np.arctan2(right_eye[1] - left_eye[1], right_eye[0] - left_eye[0])),
        "x": float((box[0] + box[2]) / 2 / size),
        "y": float((box[1] + box[3]) / 2 / size),
    }


def _eye_aspect(points: np.ndarray, corners: tuple[int, int], lids: tuple[tuple[int, int], ...]) -> float:
    width = max(float(np.linalg.norm(points[corners[0]] - points[corners[1]])), 1e-6)
    return float(np.mean([np.linalg.norm(points[a] - points[b]) for a, b in lids]) / width)


def normalised_shape(points: np.ndarray) -> np.ndarray:
    """The expression landmarks with translation, scale and roll removed, for comparing frame to frame."""
    inner = points[EXPRESSION_POINTS] - points[EXPRESSION_POINTS].mean(axis=0)
    eye_line = points[RIGHT_EYE_CORNERS[1]] - points[LEFT_EYE_CORNERS[0]]
    angle = -np.arctan2(eye_line[1], eye_line[0])
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]], dtype=np.float32)
    inner = inner @ rotation.T
    return inner / max(float(np.sqrt((inner**2).sum(axis=1).mean())), 1e-6)


def landmark_features(points: np.ndarray) -> dict[str, float]:
    """Eye openness (eye aspect ratio, both eyes) and mouth opening relative to mouth width."""
    mouth_width = max(float(np.linalg.norm(points[MOUTH_CORNERS[0]] - points[MOUTH_CORNERS[1]])), 1e-6)
    left = _eye_aspect(points, LEFT_EYE_CORNERS, LEFT_EYE_LIDS)
    right = _eye_aspect(points, RIGHT_EYE_CORNERS, RIGHT_EYE_LIDS)
    return {
        "eye_open": (left + right) / 2,
        "mouth_open": float(np.linalg.norm(points[MOUTH_INNER[0]] - points[MOUTH_INNER[1]]) / mouth_width),
    }
