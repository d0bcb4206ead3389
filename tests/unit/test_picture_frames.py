"""A picture of several frames (an animated WebP, a multi-page TIFF) was scanned at its first frame and called
'ok': a person in its later frames went unfound without a word, exit 0. Its first frame is still what is read, and
the source says so: truncated, exit 3, with how to scan it all."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from impersonation_cli.io.sources import DecodeStats, picture_frames, sample_frames


def pictures(count: int) -> list[np.ndarray]:
    return [np.full((48, 64, 3), 40 * n, np.uint8) for n in range(count)]


def test_a_multi_page_tiff_is_read_in_part_and_said_so(tmp_path: Path) -> None:
    pages = tmp_path / "pages.tif"
    assert cv2.imwritemulti(str(pages), pictures(3))
    stats = DecodeStats()
    assert len(list(sample_frames(str(pages), 2.0, stats))) == 1
    assert stats.truncated and stats.partly_read is not None and "picture of 3 frames" in stats.partly_read


def test_an_animated_webp_is_counted_and_a_still_picture_is_whole(tmp_path: Path) -> None:
    animation = cv2.Animation()
    animation.frames, animation.durations = pictures(4), [500] * 4
    moving = tmp_path / "moving.webp"
    assert cv2.imwriteanimation(str(moving), animation)
    assert picture_frames(str(moving)) == 4
    still = tmp_path / "still.png"
    cv2.imwrite(str(still), pictures(1)[0])
    stats = DecodeStats()
    assert len(list(sample_frames(str(still), 2.0, stats))) == 1 and not stats.truncated


def test_a_picture_named_in_other_bytes_than_utf8_is_counted_without_opencv(tmp_path: Path) -> None:
    """OpenCV's functions of a path crash (SIGSEGV) on a name that is not UTF-8: counting the frames of such a
    photo ended the whole scan with no result (exit -11)."""
    import os

    named = os.fsencode(tmp_path) + b"/ref_\xe9\xff.tif"
    with open(named, "wb") as picture:
        ok, data = cv2.imencode(".tif", pictures(1)[0])
        picture.write(data.tobytes())
    assert ok and picture_frames(os.fsdecode(named)) == 1
