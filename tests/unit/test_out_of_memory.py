"""An intact recording scanned under a memory cap was left 'truncated' with OpenCV's words only ('(-4:Insufficient
memory) Failed to allocate 2949120 bytes'), as if the file were damaged: the reason now says it was this
machine's memory, and that the file may be whole."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from impersonation_cli.io.sources import failure_reason


def _opencv_out_of_memory() -> cv2.error:
    """OpenCV's error as its allocator raises it (made here: allocating for real could take the machine's memory)."""
    error = cv2.error("OpenCV(5.1.0) alloc.cpp:73: error: (-4:Insufficient memory) Failed to allocate 2949120 bytes")
    error.code = cv2.Error.StsNoMem
    return error


@pytest.mark.parametrize("error", [MemoryError(), "opencv"])
def test_running_out_of_memory_is_said_to_be_the_machines(error: object) -> None:
    exc = _opencv_out_of_memory() if error == "opencv" else error
    reason = failure_reason("clip.mp4", exc)  # type: ignore[arg-type]
    assert reason.startswith("clip.mp4: this machine ran out of memory while scanning it (")
    assert reason.endswith("the file may be whole: scan it again with more memory free")


def test_a_decoders_own_error_is_still_the_files() -> None:
    try:
        cv2.imdecode(np.zeros(0, np.uint8), cv2.IMREAD_COLOR)
        cv2.cvtColor(np.zeros((2, 2), np.uint8), cv2.COLOR_BGR2GRAY)  # a grey picture given as colour
    except cv2.error as exc:
        assert "out of memory" not in failure_reason("clip.mp4", exc)
    else:
        pytest.fail("OpenCV took a grey picture for a colour one")
