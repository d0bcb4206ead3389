"""Training fakes of generated faces, made from real ones: a face re-posed by a landmark-driven piecewise-affine
warp (as warping generators such as first-order motion, SadTalker and LivePortrait move a still), and a mouth
region redrawn from another frame at a lower resolution (as lip-sync digital humans re-render the mouth).

Neither leaves the blending seam of a swap (selfblend.py): the warp stretches and squeezes skin texture and
smears the mouth's inside; the redrawn mouth is softer than the face around it and does not match its frame.
numpy/cv2 only, deterministic given a `numpy.random.Generator`.
"""

from __future__ import annotations

import cv2
import numpy as np

from impersonation_cli.forgery.selfblend import FaceSample, composite, hull_mask


def _alignment(moving: FaceSample, fixed: FaceSample) -> np.ndarray | None:
    """The 2x3 similarity transform that best maps `moving`'s landmarks onto `fixed`'s (least squares), or None
    where none can be fitted."""
    matrix, _ = cv2.estimateAffinePartial2D(moving.landmarks.astype(np.float32), fixed.landmarks.astype(np.float32))
    return matrix


def _aligned_landmarks(moving: FaceSample, fixed: FaceSample) -> np.ndarray:
    """`moving`'s landmarks brought onto `fixed` by `_alignment` (`fixed`'s own where none can be fitted)."""
    matrix = _alignment(moving, fixed)
    if matrix is None:
        return fixed.landmarks.astype(np.float64)
    return moving.landmarks.astype(np.float64) @ matrix[:, :2].T + matrix[:, 2]


def _triangles(points: np.ndarray, width: int, height: int) -> np.ndarray:
    """Delaunay triangles of `points` as (T, 3) indices into them."""
    subdivision = cv2.Subdiv2D((-width, -height, 3 * width, 3 * height))
    for x, y in points:
        subdivision.insert((float(x), float(y)))
    corners = np.asarray(subdivision.getTriangleList()).reshape(-1, 3, 2)
    nearest = np.linalg.norm(corners[:, :, None, :] - points[None, None, :, :], axis=3).argmin(axis=2)
    distinct = (nearest[:, 0] != nearest[:, 1]) & (nearest[:, 1] != nearest[:, 2]) & (nearest[:, 0] != nearest[:, 2])
    return nearest[distinct]


def piecewise_affine(image: np.ndarray, source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """`image` warped so that the points `source` land on `target`, each Delaunay triangle of `target` by its own
    affine map; the picture's border stays where it is."""
    height, width = image.shape[:2]
    border = np.array(
        [
            [x, y]
            for x in (0, width / 2, width - 1)
            for y in (0, height / 2, height - 1)
            if (x, y) != (width / 2, height / 2)
        ],
        dtype=np.float64,
    )
    source = np.vstack([source, border])
    target = np.vstack([target, border])
    triangles = _triangles(target, width, height)
    owner = np.full((height, width), -1, np.int32)
    inverse = np.zeros((len(triangles), 2, 3), np.float64)
    for index, triangle in enumerate(triangles):
        inverse[index] = cv2.getAffineTransform(
            target[triangle].astype(np.float32), source[triangle].astype(np.float32)
        )
        cv2.fillConvexPoly(owner, np.round(target[triangle]).astype(np.int32), index)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float64)
    covered = owner >= 0
    maps = inverse[owner[covered]]
    map_x, map_y = xs.copy(), ys.copy()
    map_x[covered] = maps[:, 0, 0] * xs[covered] + maps[:, 0, 1] * ys[covered] + maps[:, 0, 2]
    map_y[covered] = maps[:, 1, 0] * xs[covered] + maps[:, 1, 1] * ys[covered] + maps[:, 1, 2]
    return cv2.remap(
        image, map_x.astype(np.float32), map_y.astype(np.float32), cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT
    )


def _made_up_expression(face: FaceSample, rng: np.random.Generator) -> np.ndarray:
    """The face's landmarks with the mouth opened or closed and the jaw moved: a driver when no other frame of
    the same person is at hand."""
    mouth = face.keypoints[3:5].mean(axis=0)
    below = np.clip((face.landmarks[:, 1] - mouth[1]) / (0.35 * face.side) + 0.5, 0, 1)[:, None]
    drop = np.array([rng.uniform(-0.06, 0.06), rng.uniform(-0.05, 0.12)]) * face.side
    return face.landmarks + below * drop


def reanimate(face: FaceSample, rng: np.random.Generator, driver: FaceSample | None = None) -> np.ndarray:
    """The face re-posed by a piecewise-affine warp that moves its landmarks to `driver`'s expression (another
    frame of the same person, brought onto this face by a similarity transform), or a made-up one; often
    softened, as generators render at a lower resolution."""
    if driver is not None and driver is not face:
        driven = _aligned_landmarks(driver, face)
        target = face.landmarks + rng.uniform(0.6, 1.3) * (driven - face.landmarks)
    else:
        target = _made_up_expression(face, rng)
    warped = piecewise_affine(face.image, face.landmarks.astype(np.float64), target)
    if rng.random() < 0.5:
        warped = cv2.GaussianBlur(warped, (0, 0), rng.uniform(0.004, 0.012) * face.side + 0.3)
    return warped


def redrawn_mouth(face: FaceSample, rng: np.random.Generator, donor: FaceSample | None = None) -> np.ndarray:
    """The lower face replaced by `donor`'s (another frame of the same person, aligned on the landmarks; or a
    re-posed copy of this one), rendered at a lower resolution and blended in through a soft mask."""
    if donor is not None and donor is not face:
        matrix = _alignment(donor, face)
        if matrix is None:
            return reanimate(face, rng)
        height, width = face.image.shape[:2]
        source = cv2.warpAffine(donor.image, matrix, (width, height), borderMode=cv2.BORDER_REFLECT)
    else:
        source = reanimate(face, rng)
    size = face.image.shape[0]
    small = max(16, int(size * rng.uniform(0.3, 0.75)))
    source = cv2.resize(cv2.resize(source, (small, small), interpolation=cv2.INTER_AREA), (size, size))
    nose = face.keypoints[2]
    lower = face.landmarks[face.landmarks[:, 1] >= nose[1] - rng.uniform(-0.05, 0.08) * face.side]
    mask = hull_mask(face.image.shape, lower if len(lower) >= 3 else face.landmarks)
    mask = cv2.GaussianBlur(mask, (0, 0), rng.uniform(0.02, 0.07) * face.side + 0.5)
    return composite(face.image, source, mask)


def generated_face(face: FaceSample, rng: np.random.Generator, other_frame: FaceSample | None = None) -> np.ndarray:
    """One generated-face fake of `face`: re-posed, or its mouth redrawn, half each."""
    if rng.random() < 0.5:
        return reanimate(face, rng, other_frame)
    return redrawn_mouth(face, rng, other_frame)
