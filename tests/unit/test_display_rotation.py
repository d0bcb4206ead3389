"""A phone stores a portrait recording sideways with a display rotation: scans must see it as players show it."""

from __future__ import annotations

from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from impersonation_cli.io.sources import sample_frames


def rotated_clip(path: Path, degrees: int) -> Path:
    """An H.264 clip stored 120 wide and 160 high, its left half white, with a display rotation of `degrees`
    counter-clockwise (as a phone writes it)."""
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 120, 160, "yuv420p"
        stream.set_display_rotation(degrees)
        picture = np.zeros((160, 120, 3), dtype=np.uint8)
        picture[:, :60] = 255
        for _ in range(25):
            out.mux(stream.encode(av.VideoFrame.from_ndarray(picture, format="rgb24")))
        out.mux(stream.encode())
    return path


@pytest.mark.parametrize(("degrees", "white_side"), [(90, "bottom"), (-90, "top"), (180, "right"), (0, "left")])
def test_frames_come_out_as_players_show_them(tmp_path: Path, degrees: int, white_side: str) -> None:
    clip = rotated_clip(tmp_path / f"phone{degrees}.mp4", degrees)
    frames = list(sample_frames(str(clip), 2.0))
    assert frames
    reference = cv2.VideoCapture(str(clip))  # OpenCV applies the display rotation, as players do
    ok, shown = reference.read()
    reference.release()
    assert ok
    for frame in frames:
        image = frame.image.mean(axis=2)
        assert image.shape == shown.shape[:2] == ((160, 120) if degrees in (0, 180) else (120, 160))
        height, width = image.shape
        halves = {
            "top": (image[: height // 2], image[height // 2 :]),
            "bottom": (image[height // 2 :], image[: height // 2]),
            "left": (image[:, : width // 2], image[:, width // 2 :]),
            "right": (image[:, width // 2 :], image[:, : width // 2]),
        }
        white, dark = halves[white_side]
        assert white.mean() > 200 and dark.mean() < 50
