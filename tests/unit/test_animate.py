"""The generated-face training fakes (forgery/animate.py): the piecewise-affine warp moves what sits at the
source landmarks to the target landmarks and nothing else, and a redrawn mouth changes the lower face only."""

from __future__ import annotations

import numpy as np

from impersonation_cli.forgery.animate import piecewise_affine, redrawn_mouth
from impersonation_cli.forgery.selfblend import FaceSample

SIDE = 160


def textured_picture(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, size=(SIDE // 8, SIDE // 8, 3), dtype=np.uint8)
    return np.kron(small, np.ones((8, 8, 1), dtype=np.uint8))  # 8-px blocks: warps stay measurable


def ring_points(centre: tuple[float, float], radius: float, count: int) -> np.ndarray:
    angles = np.linspace(0, 2 * np.pi, count, endpoint=False)
    return np.stack([centre[0] + radius * np.cos(angles), centre[1] + radius * np.sin(angles)], axis=1)


def test_the_warp_carries_a_landmark_to_its_target_and_leaves_the_rest() -> None:
    image = np.zeros((SIDE, SIDE, 3), dtype=np.uint8)
    source = np.vstack([ring_points((80, 80), 40, 12), ring_points((80, 80), 20, 8), [[80.0, 80.0]]])
    image[78:83, 78:83] = 255  # a bright dot on the centre landmark
    target = source.copy()
    target[-1] += (9.0, 6.0)
    warped = piecewise_affine(image, source, target)
    ys, xs = np.nonzero(warped[:, :, 0] > 128)
    assert abs(xs.mean() - 89) <= 1 and abs(ys.mean() - 86) <= 1  # the dot's centre moved with the landmark
    assert warped[80, 80].max() < 128  # the dot left its old place
    outside = np.ones((SIDE, SIDE), dtype=bool)
    outside[35:126, 35:126] = False  # beyond the outer ring nothing moved
    assert np.array_equal(warped[outside], image[outside])


def test_the_warp_with_no_motion_keeps_the_picture() -> None:
    image = textured_picture()
    points = np.vstack([ring_points((80, 80), 45, 16), ring_points((80, 80), 15, 6)])
    warped = piecewise_affine(image, points, points)
    assert np.abs(warped.astype(int) - image.astype(int)).mean() < 1.0


def test_a_redrawn_mouth_changes_the_lower_face_only() -> None:
    landmarks = np.vstack(
        [ring_points((80, 80), 40, 33), ring_points((80, 100), 12, 20), ring_points((80, 62), 18, 20)]
    )
    keypoints = np.array([[64, 66], [96, 66], [80, 84], [68, 100], [92, 100]], dtype=np.float64)
    face = FaceSample(textured_picture(1), np.array([40, 40, 120, 120], np.float32), keypoints, landmarks)
    donor = FaceSample(textured_picture(2), face.box, keypoints, landmarks)
    changed = np.abs(redrawn_mouth(face, np.random.default_rng(0), donor).astype(int) - face.image.astype(int)).max(2)
    assert changed[100:115, 70:90].mean() > 20  # the mouth is the donor's
    assert changed[:40].max() == 0 and changed[45:60, 60:100].mean() < 2  # above the nose, unchanged
