"""A photo whose EXIF orientation turns it (a phone's portrait photo is stored sideways, orientation 6) is scanned
upright, as OpenCV decodes it, but its result gave the stored size from the header: the shared
unknown_woman_selfie_T1.jpeg said width 640, height 480 with its face's box in a frame 480 wide and 640 high, and a
face box ran past the width (x2 1079.9 of a width of 910) for obama.jpg saved with orientation 6."""

from __future__ import annotations

import struct
from pathlib import Path

import cv2
import numpy as np
import pytest

from impersonation_cli.api import Scanner
from impersonation_cli.io.sources import DecodeStats, sample_frames
from impersonation_cli.pipeline import scan

from .builders import model_free_context
from .test_progress_callback import _NoFaces


def _jpeg(path: Path, width: int, height: int, orientation: int | None) -> Path:
    """A JPEG stored `width` x `height`, with an EXIF orientation tag when given."""
    data = cv2.imencode(".jpg", np.full((height, width, 3), 128, dtype=np.uint8))[1].tobytes()
    if orientation is not None:
        entry = struct.pack(">HHIHH", 0x0112, 3, 1, orientation, 0)  # Orientation, SHORT, 1 value
        tiff = b"MM\x00*" + struct.pack(">I", 8) + struct.pack(">H", 1) + entry + struct.pack(">I", 0)
        app1 = b"Exif\x00\x00" + tiff
        data = data[:2] + b"\xff\xe1" + struct.pack(">H", len(app1) + 2) + app1 + data[2:]
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(("orientation", "upright"), [(None, (60, 40)), (1, (60, 40)), (6, (40, 60)), (8, (40, 60))])
def test_a_photo_s_size_is_the_size_it_is_scanned_at(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, orientation: int | None, upright: tuple[int, int]
) -> None:
    monkeypatch.setattr(scan, "AdaptiveDetector", _NoFaces)
    monkeypatch.setattr(scan, "EmbeddingReuse", _NoFaces)
    photo = _jpeg(tmp_path / "photo.jpg", 60, 40, orientation)
    (frame,) = sample_frames(str(photo), 2.0, DecodeStats())
    assert (frame.image.shape[1], frame.image.shape[0]) == upright  # as OpenCV decodes it
    (found,) = Scanner(model_free_context()).scan(photo).sources
    assert (found.width, found.height) == upright
