"""What the SCRFD face detector is fed: the input size fitted to a frame, and the normalised input blob."""

from __future__ import annotations

import math

import cv2
import numpy as np

STRIDE = 32  # SCRFD's largest feature stride: each input side is a multiple of it


def detector_input(image: np.ndarray, input_size: int) -> tuple[int, int]:
    """(width, height) of the detector input for this frame: its long side scaled to at most `input_size`,
    each side rounded up to SCRFD's stride of 32.

    Fitting the frame's aspect ratio instead of a square spends no time on letterbox padding (a 720p frame
    at 640 runs on 640x384, not 640x640: the same scale, so the same faces), and a frame smaller than
    `input_size` is not upscaled.
    """
    h, w = image.shape[:2]
    scale = min(1.0, input_size / max(h, w))
    return (_stride_multiple(w * scale), _stride_multiple(h * scale))


def _stride_multiple(length: float) -> int:
    return max(STRIDE, math.ceil(length / STRIDE) * STRIDE)


def detector_blob(image: np.ndarray, input_size: int) -> np.ndarray:
    """The input InsightFace's SCRFD wrapper feeds the network: the frame fitted top-left into the
    detector input (`detector_input`), normalised to (x - 127.5) / 128, RGB."""
    width, height = detector_input(image, input_size)
    scale = min(width / image.shape[1], height / image.shape[0])
    resized = cv2.resize(image, (int(image.shape[1] * scale), int(image.shape[0] * scale)))
    canvas = np.zeros((height, width, 3), dtype=np.uint8)
    canvas[: resized.shape[0], : resized.shape[1]] = resized
    return cv2.dnn.blobFromImage(canvas, 1.0 / 128, (width, height), (127.5, 127.5, 127.5), swapRB=True)
