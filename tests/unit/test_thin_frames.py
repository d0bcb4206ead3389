"""A frame narrower or lower than a face (1x360, 640x1: a test pattern, a broken encoder) holds no face: its
detection ended in OpenCV's 'Assertion failed: inv_scale_x > 0 in function resize', and the file was
'truncated' at its first frame, exit 3."""

from __future__ import annotations

import numpy as np
import pytest

from impersonation_cli.runtime.engine import DetectorSettings, FaceEngine


@pytest.mark.parametrize("shape", [(360, 1, 3), (1, 640, 3), (19, 19, 3)])
def test_a_frame_smaller_than_a_face_has_no_faces_and_no_detector_run(shape: tuple[int, int, int]) -> None:
    engine = FaceEngine.__new__(FaceEngine)  # no models: a frame this small never reaches the detector
    engine.settings = DetectorSettings()
    assert len(engine.detect(np.zeros(shape, np.uint8))) == 0
