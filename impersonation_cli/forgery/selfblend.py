"""Training fakes made from one real face: Self-Blended Images (Shiohara & Yamasaki, CVPR 2022) and synthesized
effects (beauty smoothing and whitening, face-slimming and eye-enlarging warps, stickers, a pasted still photo),
plus what is applied equally to real and fake crops: capture-quality degradations, blur, and a live room's
burned-in captions and colour grades.

Everything is numpy/cv2 and deterministic given a `numpy.random.Generator`. The training script, the tests and
the evaluation all make their fakes here, so they are the same fakes everywhere.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

EFFECT_KINDS = ("beauty", "slim", "big_eyes", "sticker", "pasted_photo")


@dataclass(frozen=True)
class FaceSample:
    """A real face in a picture: the picture (BGR uint8) and, in its pixels, the detector's box (x1, y1, x2, y2),
    its 5 keypoints (eyes, nose tip, mouth corners) and the 106 dense landmarks."""

    image: np.ndarray
    box: np.ndarray
    keypoints: np.ndarray
    landmarks: np.ndarray

    @property
    def side(self) -> float:
        """The box's longer side: the unit of every size below."""
        return float(max(self.box[2] - self.box[0], self.box[3] - self.box[1]))

    @property
    def centre(self) -> np.ndarray:
        return np.array([(self.box[0] + self.box[2]) / 2.0, (self.box[1] + self.box[3]) / 2.0], dtype=np.float64)


# -- masks ------------------------------------------------------------------------------------------


def hull_mask(shape: tuple[int, ...], points: np.ndarray) -> np.ndarray:
    """(H, W) float32 mask, 1 inside the convex hull of `points`."""
    mask = np.zeros(shape[:2], dtype=np.uint8)
    cv2.fillConvexPoly(mask, cv2.convexHull(points.astype(np.int32)), 1)
    return mask.astype(np.float32)


def _odd(value: float) -> int:
    return max(1, int(value) // 2 * 2 + 1)


def blend_mask(face: FaceSample, rng: np.random.Generator) -> np.ndarray:
    """The landmark hull, deformed (each vertex pushed in or out, the whole stretched), shrunk or dilated, and
    blurred at its edge: a blending boundary that is never the same twice."""
    hull = cv2.convexHull(face.landmarks.astype(np.float32)).reshape(-1, 2).astype(np.float64)
    centre = hull.mean(axis=0)
    stretch = rng.uniform(0.88, 1.08, size=2)
    wobble = 1.0 + rng.uniform(-0.06, 0.06, size=(len(hull), 1))
    deformed = centre + (hull - centre) * stretch * wobble
    if rng.random() < 0.3:  # a lower-face mask (no brows), as some swaps replace only the inner face
        deformed = deformed[deformed[:, 1] >= np.quantile(deformed[:, 1], 0.2)]
    mask = hull_mask(face.image.shape, deformed)
    kernel = _odd(rng.uniform(0.0, 0.1) * face.side)
    if kernel > 1:
        operation = cv2.erode if rng.random() < 0.5 else cv2.dilate
        mask = operation(mask, np.ones((kernel, kernel), np.uint8))
    mask = cv2.GaussianBlur(mask, (0, 0), rng.uniform(0.01, 0.08) * face.side + 0.5)
    if rng.random() < 0.5:  # SBI's second blur with the inside lifted back to 1: a narrow soft edge
        mask = np.clip(cv2.GaussianBlur(mask, (0, 0), rng.uniform(0.01, 0.04) * face.side + 0.5) * 1.6, 0, 1)
    return mask


def skin_mask(face: FaceSample) -> np.ndarray:
    """The face hull without the eyes and the mouth, softly edged: where a beauty filter smooths."""
    mask = hull_mask(face.image.shape, face.landmarks)
    eye_distance = float(np.linalg.norm(face.keypoints[1] - face.keypoints[0]))
    for eye in face.keypoints[:2]:
        axes = (int(eye_distance * 0.3), int(eye_distance * 0.17))
        cv2.ellipse(mask, (int(eye[0]), int(eye[1])), axes, 0, 0, 360, 0, -1)
    mouth = face.keypoints[3:5].mean(axis=0)
    mouth_width = float(np.linalg.norm(face.keypoints[4] - face.keypoints[3]))
    axes = (int(mouth_width * 0.65), int(mouth_width * 0.35))
    cv2.ellipse(mask, (int(mouth[0]), int(mouth[1])), axes, 0, 0, 360, 0, -1)
    return cv2.GaussianBlur(mask, (0, 0), 0.03 * face.side + 0.5)


def composite(background: np.ndarray, foreground: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """foreground where `mask` (H, W float32, 0..1) is 1, background where it is 0, mixed between."""
    weight = np.ascontiguousarray(mask, dtype=np.float32)
    return cv2.blendLinear(foreground, background, weight, 1.0 - weight)


# -- self-blended images ----------------------------------------------------------------------------


def _lut(values: np.ndarray) -> np.ndarray:
    return np.clip(values + 0.5, 0, 255).astype(np.uint8)


def colour_jitter(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Shifted hue, saturation, brightness, contrast and per-channel balance (lookup tables: fast on uint8)."""
    levels = np.arange(256, dtype=np.float64)
    hue = (np.arange(256) + int(rng.integers(-6, 7))) % 180
    hsv_table = np.stack([hue, levels * rng.uniform(0.8, 1.2), levels], axis=1)[None]
    hsv = cv2.LUT(cv2.cvtColor(image, cv2.COLOR_BGR2HSV), _lut(hsv_table))
    out = cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)
    mean = float(out.mean())
    contrast, brightness = rng.uniform(0.85, 1.15), rng.uniform(0.88, 1.12)
    shift = rng.uniform(-12, 12, size=3)
    table = (levels[:, None] - mean) * contrast + mean * brightness + shift[None, :]
    return cv2.LUT(out, _lut(table[None]))


def sharpness_jitter(image: np.ndarray, side: float, rng: np.random.Generator) -> np.ndarray:
    """Blurred or sharpened (unsharp mask) by an amount relative to the face size."""
    sigma = rng.uniform(0.004, 0.015) * side + 0.3
    blurred = cv2.GaussianBlur(image, (0, 0), sigma)
    if rng.random() < 0.5:
        return blurred
    return cv2.addWeighted(image, 1.0 + rng.uniform(0.3, 1.2), blurred, -rng.uniform(0.3, 1.2), 0)


def geometry_jitter(image: np.ndarray, face: FaceSample, rng: np.random.Generator) -> np.ndarray:
    """Slightly scaled (per axis), turned and shifted about the face centre."""
    cx, cy = face.centre
    scale = rng.uniform(0.95, 1.05, size=2)
    angle = np.deg2rad(rng.uniform(-2.0, 2.0))
    shift = rng.uniform(-0.03, 0.03, size=2) * face.side
    cos, sin = np.cos(angle), np.sin(angle)
    linear = np.array([[cos * scale[0], -sin * scale[1]], [sin * scale[0], cos * scale[1]]])
    offset = np.array([cx, cy]) + shift - linear @ np.array([cx, cy])
    matrix = np.hstack([linear, offset[:, None]]).astype(np.float64)
    return cv2.warpAffine(image, matrix, image.shape[1::-1], flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


def self_blend(face: FaceSample, rng: np.random.Generator) -> np.ndarray:
    """A self-blended image: the face and a colour-, sharpness- and geometry-jittered copy of itself, one
    pasted into the other through a deformed, blurred landmark mask at a random blend ratio."""
    return self_blend_and_mask(face, rng)[0]


def self_blend_and_mask(face: FaceSample, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """`self_blend`'s image (the same draws from `rng`) and the mask it was blended through, before the ratio:
    where the seam lies, which training may ask the network to find (as Face X-ray does)."""
    altered = geometry_jitter(sharpness_jitter(colour_jitter(face.image, rng), face.side, rng), face, rng)
    source, target = (altered, face.image) if rng.random() < 0.5 else (face.image, altered)
    ratio = float(rng.choice([0.35, 0.5, 0.75, 1.0, 1.0, 1.0]))
    mask = blend_mask(face, rng)
    return composite(target, source, mask * ratio), mask


# -- effects ----------------------------------------------------------------------------------------


def beauty(face: FaceSample, rng: np.random.Generator) -> np.ndarray:
    """Skin smoothing (edge-preserving) and/or brightening and whitening, as beauty filters do."""
    image = face.image
    kind = rng.integers(3)  # 0: smoothing, 1: whitening, 2: both
    out = image
    if kind in (0, 2):
        diameter = _odd(rng.uniform(0.04, 0.09) * face.side)
        smooth = cv2.bilateralFilter(image, diameter, rng.uniform(25, 80), rng.uniform(5, 15))
        if rng.random() < 0.5:
            smooth = cv2.bilateralFilter(smooth, diameter, rng.uniform(25, 60), rng.uniform(5, 15))
        out = composite(image, smooth, skin_mask(face) * rng.uniform(0.6, 1.0))
    if kind in (1, 2):
        levels = np.arange(256, dtype=np.float64)
        lightness = 255.0 * (levels / 255.0) ** rng.uniform(0.65, 0.9)
        chroma = 128.0 + (levels - 128.0) * rng.uniform(0.6, 0.92)
        table = _lut(np.stack([lightness, chroma, chroma], axis=1)[None])
        whitened = cv2.cvtColor(cv2.LUT(cv2.cvtColor(out, cv2.COLOR_BGR2LAB), table), cv2.COLOR_LAB2BGR)
        region = np.ones(image.shape[:2], np.float32) if rng.random() < 0.5 else skin_mask(face)
        out = composite(out, whitened, region * rng.uniform(0.6, 1.0))
    return out


def _local_warp(image: np.ndarray, displacement: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> np.ndarray:
    """Warp by an inverse map: each output pixel (x, y) takes the input pixel at (x, y) + displacement."""
    height, width = image.shape[:2]
    grid_x, grid_y = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
    offset = displacement(grid_x, grid_y)
    return cv2.remap(image, grid_x + offset[0], grid_y + offset[1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


def slim(face: FaceSample, rng: np.random.Generator) -> np.ndarray:
    """Face slimming: the jaw on both sides pulled towards the face's middle (a liquify-style local translation)."""
    hull = cv2.convexHull(face.landmarks.astype(np.float32)).reshape(-1, 2)
    nose_y = float(face.keypoints[2][1])
    jaw = hull[hull[:, 1] > nose_y]
    middle_x = float(face.keypoints[2][0])
    radius = rng.uniform(0.2, 0.35) * face.side
    strength = rng.uniform(0.03, 0.09) * face.side
    controls = jaw[np.abs(jaw[:, 0] - middle_x) > 0.15 * face.side]

    def displacement(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        total = np.zeros((2, *x.shape), np.float32)
        for cx, cy in controls[:: max(1, len(controls) // 6)]:
            falloff = np.clip(1.0 - ((x - cx) ** 2 + (y - cy) ** 2) / radius**2, 0, 1) ** 2
            total[0] += falloff * strength * np.sign(cx - middle_x)
        return np.clip(total, -strength, strength)

    return _local_warp(face.image, displacement)


def big_eyes(face: FaceSample, rng: np.random.Generator) -> np.ndarray:
    """Eye enlargement: a local magnifying warp centred on each eye."""
    eye_distance = float(np.linalg.norm(face.keypoints[1] - face.keypoints[0]))
    radius = rng.uniform(0.35, 0.55) * eye_distance
    strength = rng.uniform(0.12, 0.35)

    def displacement(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        total = np.zeros((2, *x.shape), np.float32)
        for cx, cy in face.keypoints[:2]:
            dx, dy = x - cx, y - cy
            pull = strength * np.clip(1.0 - (dx * dx + dy * dy) / radius**2, 0, 1) ** 2
            total[0] -= dx * pull
            total[1] -= dy * pull
        return total

    return _local_warp(face.image, displacement)


def _draw_shape(shape: np.ndarray, centre: np.ndarray, size: float, rng: np.random.Generator) -> None:
    """One sticker shape (blob, heart, star, glasses bar or letters) drawn as 255 into the uint8 `shape` mask."""
    x, y, r = int(centre[0]), int(centre[1]), max(2, int(size))
    kind = rng.integers(5)
    if kind == 0:
        cv2.ellipse(shape, (x, y), (r, max(2, int(r * rng.uniform(0.5, 1.0)))), 0, 0, 360, 255, -1)
    elif kind == 1:  # heart
        cv2.circle(shape, (x - r // 2, y), r // 2 + 1, 255, -1)
        cv2.circle(shape, (x + r // 2, y), r // 2 + 1, 255, -1)
        cv2.fillConvexPoly(shape, np.array([[x - r, y + 1], [x + r, y + 1], [x, y + r + r // 2]]), 255)
    elif kind == 2:  # star
        angles = np.linspace(0, 2 * np.pi, 11)[:-1]
        radii = np.where(np.arange(10) % 2 == 0, r, r * 0.45)
        points = np.stack([x + radii * np.sin(angles), y - radii * np.cos(angles)], axis=1).astype(np.int32)
        cv2.fillPoly(shape, [points], 255)
    elif kind == 3:  # a bar (glasses, a mask band)
        cv2.rectangle(shape, (x - 2 * r, y - r // 3), (x + 2 * r, y + r // 3), 255, -1)
    else:
        letters = "".join(rng.choice(list("LOVE#@*AZ"), 3))
        cv2.putText(shape, letters, (x - r, y), 0, r / 14.0, 255, max(1, r // 6))


def sticker(face: FaceSample, rng: np.random.Generator) -> np.ndarray:
    """AR stickers: a few opaque or translucent coloured shapes on and around the face."""
    layer = np.zeros_like(face.image)
    alpha: np.ndarray = np.zeros(face.image.shape[:2], np.float32)
    anchors = np.vstack([face.keypoints, face.centre - [0, 0.55 * face.side]])
    for _ in range(int(rng.integers(1, 4))):
        where = anchors[rng.integers(len(anchors))] + rng.normal(0, 0.12 * face.side, size=2)
        shape = np.zeros(face.image.shape[:2], np.uint8)
        _draw_shape(shape, where, rng.uniform(0.06, 0.2) * face.side, rng)
        inside = shape > 0
        layer[inside] = rng.integers(0, 256, size=3)
        alpha[inside] = 1.0
    if rng.random() < 0.5:
        alpha = cv2.GaussianBlur(alpha, (0, 0), 1.0)
    return composite(face.image, layer, alpha * rng.uniform(0.6, 1.0))


def pasted_photo(face: FaceSample, rng: np.random.Generator, other: FaceSample | None = None) -> np.ndarray:
    """A still photo of a face (`other`, or this face itself) pasted over the face, moved off its place, with the
    hard or barely feathered edge and the different light of a print or a static overlay."""
    donor = other if other is not None else face
    margin = rng.uniform(1.0, 1.4) * donor.side / 2.0
    dx1, dy1 = (donor.centre - margin).astype(int)
    dx2, dy2 = (donor.centre + margin).astype(int)
    photo = donor.image[max(0, dy1) : max(dy1 + 2, dy2), max(0, dx1) : max(dx1 + 2, dx2)]
    side = int(face.side * rng.uniform(0.9, 1.2))
    photo = colour_jitter(cv2.resize(photo, (side, side), interpolation=cv2.INTER_AREA), rng)
    if rng.random() < 0.4:  # a printed photo's white border
        border = max(1, side // 20)
        inner = photo[border:-border, border:-border]
        photo = cv2.copyMakeBorder(inner, *(border,) * 4, cv2.BORDER_CONSTANT, value=(235,) * 3)
    centre = face.centre + rng.uniform(-0.12, 0.12, size=2) * face.side
    angle = rng.uniform(-8, 8)
    matrix: np.ndarray = cv2.getRotationMatrix2D((side / 2.0, side / 2.0), angle, 1.0)
    matrix[:, 2] += centre - side / 2.0
    size = face.image.shape[1::-1]
    warped = cv2.warpAffine(photo, matrix, size, flags=cv2.INTER_LINEAR)
    mask = cv2.warpAffine(np.ones((side, side), np.float32), matrix, size, flags=cv2.INTER_LINEAR)
    if rng.random() < 0.5:
        mask = cv2.GaussianBlur(mask, (0, 0), rng.uniform(0.5, 2.0))
    return composite(face.image, warped, mask)


def apply_effect(
    face: FaceSample, rng: np.random.Generator, kind: str | None = None, other: FaceSample | None = None
) -> np.ndarray:
    """The picture with one synthesized effect (`kind`, or one drawn at random from EFFECT_KINDS)."""
    kind = kind or str(rng.choice(EFFECT_KINDS))
    if kind == "pasted_photo":
        return pasted_photo(face, rng, other)
    effects = {"beauty": beauty, "slim": slim, "big_eyes": big_eyes, "sticker": sticker}
    if kind not in effects:
        raise ValueError(f"unknown effect {kind!r}; known: {', '.join(EFFECT_KINDS)}")
    return effects[kind](face, rng)


# -- capture quality (applied equally to reals and fakes) --------------------------------------------


def degrade(crop: np.ndarray, rng: np.random.Generator, face_fraction: float = 1 / 1.3) -> np.ndarray:
    """Poor capture: the face brought down to 48-128 px and back up, JPEG 30-95, blur, noise, brightness and
    old-video colour, each with its own chance; `face_fraction` is the face's share of the crop's side."""
    out = crop
    size = crop.shape[0]
    if rng.random() < 0.5:
        small = int(rng.uniform(48, 128) / face_fraction)
        if small < size:
            out = cv2.resize(out, (small, small), interpolation=cv2.INTER_AREA)
            out = cv2.resize(out, (size, size), interpolation=[cv2.INTER_LINEAR, cv2.INTER_CUBIC][rng.integers(2)])
    if rng.random() < 0.25:
        out = cv2.GaussianBlur(out, (0, 0), rng.uniform(0.3, 1.3))
    if rng.random() < 0.25:
        noise = rng.standard_normal(out.shape, dtype=np.float32) * rng.uniform(2, 7)
        out = np.clip(out + noise, 0, 255).astype(np.uint8)
    if rng.random() < 0.3:
        out = cv2.convertScaleAbs(out, alpha=rng.uniform(0.8, 1.2))
    if rng.random() < 0.15:
        out = old_video_colour(out, rng)
    if rng.random() < 0.6:
        quality = int(rng.integers(30, 96))
        _, encoded = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, quality])
        decoded = cv2.imdecode(encoded, cv2.IMREAD_COLOR)
        assert decoded is not None  # the JPEG just encoded
        out = decoded
    return out


# A blur of the scene (a moving head, a camera out of focus) is relative to the face: lengths in face sides.
MOTION_BLUR_LENGTH = (0.02, 0.16)  # a head turning or nodding during a phone camera's 1/30-1/60 s exposure
DEFOCUS_SIGMA = (0.006, 0.028)  # a camera focused on the product held up, not on the face


def scene_blur(image: np.ndarray, side: float, rng: np.random.Generator) -> np.ndarray:
    """`image` blurred as capture blurs a picture whose face is `side` px: along a line at any angle (motion, 60%)
    or evenly (defocus). Applied to the whole picture before it is cropped, as a camera blurs the scene."""
    if rng.random() < 0.6:
        return motion_blur(image, max(3, round(rng.uniform(*MOTION_BLUR_LENGTH) * side)), rng.uniform(0.0, 180.0))
    return cv2.GaussianBlur(image, (0, 0), rng.uniform(*DEFOCUS_SIGMA) * side)


def motion_blur(image: np.ndarray, length: int, angle_degrees: float) -> np.ndarray:
    """`image` averaged along a line `length` px long at an angle: what moving during an exposure does."""
    line = np.zeros((length, length), np.float32)
    line[length // 2, :] = 1.0
    centre = ((length - 1) / 2.0, (length - 1) / 2.0)
    kernel = cv2.warpAffine(line, cv2.getRotationMatrix2D(centre, angle_degrees, 1.0), (length, length))
    return cv2.filter2D(image, -1, kernel / kernel.sum(), borderType=cv2.BORDER_REFLECT)


def old_video_colour(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Faded, tinted, low-contrast colour of old or cheap video."""
    grey = cv2.cvtColor(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR).astype(np.float32)
    faded = image.astype(np.float32) * (1 - (mix := rng.uniform(0.2, 0.8))) + grey * mix
    faded = (faded - 128.0) * rng.uniform(0.7, 0.95) + 128.0 + rng.uniform(-15, 15, size=3)
    return np.clip(faded, 0, 255).astype(np.uint8)


# Burned-in text: subtitles and sales captions of live rooms and re-uploads cross the lower face. Sizes in face
# sides; the text line runs across the face and past it, unlike a sticker's few letters on it.
CAPTION_HEIGHT = (0.08, 0.3)
CAPTION_BASELINE = (0.55, 1.35)  # below the box's top edge: from the nose down to under the chin
CAPTION_CHARACTERS = list("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789   !?%$.,:+-")
CAPTION_FONTS = (
    cv2.FONT_HERSHEY_SIMPLEX,
    cv2.FONT_HERSHEY_DUPLEX,
    cv2.FONT_HERSHEY_COMPLEX,
    cv2.FONT_HERSHEY_TRIPLEX,
)
CAPTION_COLOURS = ((255, 255, 255), (0, 255, 255), (0, 0, 0), (40, 40, 230))  # BGR: white, yellow, black, red
FONT_CAP_HEIGHT = 22.0  # px of a Hershey capital at scale 1


def burned_in_caption(image: np.ndarray, face: FaceSample, rng: np.random.Generator) -> np.ndarray:
    """`image` with one or two lines of caption text across or below the face: plain, outlined, or on a
    translucent band. Drawn on both pictures of a training pair alike, it carries no label."""
    out = image.copy()
    height = rng.uniform(*CAPTION_HEIGHT) * face.side
    font = int(rng.choice(CAPTION_FONTS))
    scale = height / FONT_CAP_HEIGHT
    thickness = max(1, round(height * rng.uniform(0.06, 0.16)))
    colour = CAPTION_COLOURS[int(rng.integers(len(CAPTION_COLOURS)))]
    style = int(rng.integers(3))  # 0 plain, 1 outlined, 2 on a band
    baseline = face.box[1] + rng.uniform(*CAPTION_BASELINE) * face.side
    for line in range(1 + int(rng.random() < 0.3)):
        text = "".join(rng.choice(CAPTION_CHARACTERS, int(rng.integers(8, 32)))).strip() or "LIVE"
        (width, text_height), _ = cv2.getTextSize(text, font, scale, thickness)
        left = int(face.centre[0] + rng.normal(0.0, 0.15) * face.side - width / 2)
        bottom = int(baseline + line * 1.5 * text_height)
        if style == 2:
            band = out.copy()
            pad = max(2, text_height // 3)
            cv2.rectangle(band, (left - pad, bottom - text_height - pad), (left + width + pad, bottom + pad), 0, -1)
            out = cv2.addWeighted(band, (opacity := rng.uniform(0.35, 0.8)), out, 1.0 - opacity, 0.0)
        if style == 1:
            outline = (0, 0, 0) if sum(colour) > 300 else (255, 255, 255)
            cv2.putText(out, text, (left, bottom), font, scale, outline, thickness + max(2, thickness), cv2.LINE_AA)
        cv2.putText(out, text, (left, bottom), font, scale, colour, thickness, cv2.LINE_AA)
    return out


# A live room's colour filter grades the whole frame: a cast on the midtones, a turned hue, curves per channel, a
# channel mix (sepia and the like). Strengths reach past what a host would choose, as apps' filters do.
MIDTONE_CAST = 0.45  # per channel, of the full range at mid grey
HUE_TURN = 50  # degrees either way
CHANNEL_GAMMA = (0.6, 1.6)
SEPIA = np.array([[0.131, 0.534, 0.272], [0.168, 0.686, 0.349], [0.189, 0.769, 0.393]], dtype=np.float32)  # BGR


def colour_grade(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """`image` graded as a whole by one of four kinds of colour filter, drawn at random."""
    picture = image.astype(np.float32) / 255.0
    kind = int(rng.integers(4))
    if kind == 0:
        lightness = picture.mean(axis=2, keepdims=True)
        midtones = 4.0 * lightness * (1.0 - lightness)
        picture = picture + midtones * rng.uniform(-MIDTONE_CAST, MIDTONE_CAST, size=3).astype(np.float32)
    elif kind == 1:
        hsv = cv2.cvtColor(image, cv2.COLOR_BGR2HSV).astype(np.float32)
        hsv[..., 0] = (hsv[..., 0] + rng.uniform(-HUE_TURN, HUE_TURN) / 2.0) % 180.0  # OpenCV's hue is degrees / 2
        hsv[..., 1] = np.clip(hsv[..., 1] * rng.uniform(0.6, 1.5), 0, 255)
        return cv2.cvtColor(hsv.astype(np.uint8), cv2.COLOR_HSV2BGR)
    elif kind == 2:
        picture = picture ** rng.uniform(*CHANNEL_GAMMA, size=3).astype(np.float32)
    else:
        mix = rng.uniform(0.4, 1.0)
        matrix = (1.0 - mix) * np.eye(3, dtype=np.float32) + mix * SEPIA
        picture = picture @ matrix.T
    return (np.clip(picture, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
