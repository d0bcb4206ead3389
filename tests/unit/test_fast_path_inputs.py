"""Inputs the fast paths refuse or fit, without models or media: unreadable files, the detector's input size,
a decoder error raised through the decode-ahead thread."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from impersonation_cli.errors import UnreadableInput
from impersonation_cli.io.sources import sample_frames
from impersonation_cli.io.threads import run_ahead
from impersonation_cli.runtime.scrfd import detector_input


def test_a_file_no_decoder_can_open_is_unreadable(tmp_path: Path) -> None:
    fake = tmp_path / "not-a-video.mp4"
    fake.write_bytes(b"this is no video at all\n" * 100)
    with pytest.raises(UnreadableInput):
        list(sample_frames(str(fake), 2.0))


def test_detector_input_fits_the_frame() -> None:
    assert detector_input(np.zeros((720, 1280, 3), np.uint8), 640) == (640, 384)
    assert detector_input(np.zeros((360, 640, 3), np.uint8), 640) == (640, 384)
    assert detector_input(np.zeros((1280, 720, 3), np.uint8), 640) == (384, 640)
    # Smaller frames are not upscaled.
    assert detector_input(np.zeros((240, 320, 3), np.uint8), 640) == (320, 256)


def test_decoding_ahead_raises_the_decoders_error_in_the_caller(tmp_path: Path) -> None:
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 4000)
    with pytest.raises(UnreadableInput):
        list(run_ahead(sample_frames(str(broken), 2.0)))
