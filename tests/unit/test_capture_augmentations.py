"""Two augmentations of the detector's `capture` training (forgery/selfblend.py): burned-in captions, across the
lower face or below it, and colour grades of the whole picture; each the same for one generator seed."""

from __future__ import annotations

import numpy as np

from impersonation_cli.forgery.selfblend import (
    CAPTION_BASELINE,
    CAPTION_HEIGHT,
    FaceSample,
    burned_in_caption,
    colour_grade,
)

SIDE = 320
BOX = np.array([110.0, 60.0, 210.0, 180.0])  # a face 120 px tall in a 320-px picture


def face() -> FaceSample:
    picture = np.full((SIDE, SIDE, 3), 128, dtype=np.uint8)
    keypoints = np.array([[140, 100], [180, 100], [160, 125], [145, 150], [175, 150]], dtype=np.float32)
    return FaceSample(picture, BOX, keypoints, np.zeros((106, 2), dtype=np.float32))


def changed_rows(seed: int) -> np.ndarray:
    sample = face()
    captioned = burned_in_caption(sample.image, sample, np.random.default_rng(seed))
    return np.flatnonzero(np.any(captioned != sample.image, axis=(1, 2)))


def test_a_caption_is_the_same_for_one_seed_and_leaves_the_picture_it_was_given() -> None:
    sample = face()
    before = sample.image.copy()
    first = burned_in_caption(sample.image, sample, np.random.default_rng(7))
    assert np.array_equal(first, burned_in_caption(sample.image, sample, np.random.default_rng(7)))
    assert np.array_equal(sample.image, before)
    assert not np.array_equal(first, before)


def test_captions_lie_over_the_lower_face_or_below_it() -> None:
    side = float(BOX[3] - BOX[1])
    # The tallest text's cap height, its outline and a band's padding, above the highest baseline drawn.
    highest_reach = BOX[1] + CAPTION_BASELINE[0] * side - 1.6 * CAPTION_HEIGHT[1] * side
    eyes = 100
    tops = []
    for seed in range(60):
        rows = changed_rows(seed)
        assert len(rows), f"seed {seed} drew nothing"
        tops.append(rows.min())
    assert min(tops) >= highest_reach, (min(tops), highest_reach)
    assert np.mean(np.array(tops) > eyes) > 0.8  # most captions start below the eyes


def test_a_colour_grade_maps_each_colour_alike_wherever_it_lies() -> None:
    """A room's filter grades the frame as a whole: one colour becomes one colour everywhere, so that no grade can
    mark the face apart from the rest (what an effect does, which the network must still tell)."""
    palette = np.random.default_rng(0).integers(0, 256, size=(8, 3), dtype=np.uint8)
    picture = palette[np.random.default_rng(1).integers(0, 8, size=(48, 64))]
    changed = 0
    for seed in range(40):
        graded = colour_grade(picture, np.random.default_rng(seed))
        assert graded.shape == picture.shape and graded.dtype == np.uint8
        assert np.array_equal(graded, colour_grade(picture, np.random.default_rng(seed)))
        for colour in palette:
            where = np.all(picture == colour, axis=2)
            assert len(np.unique(graded[where], axis=0)) == 1, (seed, colour)
        changed += int(np.abs(graded.astype(int) - picture).mean() > 4)
    assert changed >= 30, changed
