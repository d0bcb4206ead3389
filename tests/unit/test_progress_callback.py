"""A mistake in the caller's `progress` callback is the caller's: `Scanner.scan` raises it, as any Python API
raising from a callback does, instead of recording it as the source's fault and going on to the next one."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from impersonation_cli.api import Scanner
from impersonation_cli.pipeline import scan
from impersonation_cli.pipeline.faces import Faces
from impersonation_cli.pipeline.scan import ScanProgress

from .builders import model_free_context
from .small_clips import grey_ramp_clip


class _NoFaces:
    """Detector and embedder of a scan that finds nobody: the clip is decoded and sampled, no model runs."""

    def __init__(self, *_: object) -> None:
        pass

    def detect(self, _image: np.ndarray, _time_s: float) -> Faces:
        return Faces()

    def embed(self, _image: np.ndarray, faces: Faces, _time_s: float) -> Faces:
        return faces


@pytest.mark.parametrize(
    "error",
    [
        ValueError("a bug in the caller's callback"),  # was: clip.mp4 unreadable, "an internal error: please report it"
        OSError(28, "No space left on device"),  # was: clip.mp4 truncated, with the callback's error as its reason
    ],
    ids=["ValueError", "OSError"],
)
@pytest.mark.parametrize("failing_call", [1, 3], ids=["at-the-start", "mid-file"])
def test_an_exception_from_the_progress_callback_is_raised_not_blamed_on_the_source(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, error: Exception, failing_call: int
) -> None:
    monkeypatch.setattr(scan, "AdaptiveDetector", _NoFaces)
    monkeypatch.setattr(scan, "EmbeddingReuse", _NoFaces)
    first, second = grey_ramp_clip(tmp_path / "clip.mp4", 3), grey_ramp_clip(tmp_path / "other.mp4", 1)
    calls: list[ScanProgress] = []

    def progress(at: ScanProgress) -> None:
        calls.append(at)
        if len(calls) == failing_call:
            raise error

    # By identity, not count: a thread an earlier test left may end meanwhile (the count then fell, under load).
    threads = set(threading.enumerate())
    with pytest.raises(type(error)) as raised:
        Scanner(model_free_context()).scan([first, second], fps=2, progress=progress)
    assert raised.value is error
    assert len(calls) == failing_call  # the batch ended there: the next source was not scanned
    assert {call.source for call in calls} == {str(first)}
    assert set(threading.enumerate()) <= threads  # the decoding and detecting threads ended with it


def test_a_callback_that_returns_sees_every_source_to_its_end(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scan, "AdaptiveDetector", _NoFaces)
    monkeypatch.setattr(scan, "EmbeddingReuse", _NoFaces)
    clip = grey_ramp_clip(tmp_path / "clip.mp4", 2)
    calls: list[ScanProgress] = []
    result = Scanner(model_free_context()).scan([clip], fps=2, progress=calls.append)
    assert [s.status for s in result.sources] == ["ok"]
    assert calls[0].time_s == 0.0 and calls[-1].time_s == result.sources[0].scanned_s
    # Its duration is told from the start (ScanProgress: "when its container knows it"), not from its first frame
    # on: a notebook's progress bar made at the first call had no total.
    assert {call.duration_s for call in calls} == {result.sources[0].duration_s} and calls[0].duration_s == 2.0


def test_a_source_that_cannot_be_opened_is_told_once(tmp_path: Path) -> None:
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"not a video")
    calls: list[ScanProgress] = []
    (found,) = Scanner(model_free_context()).scan([broken], progress=calls.append).sources
    assert found.status == "unreadable"
    assert [(call.source, call.file_number, call.time_s, call.duration_s) for call in calls] == [
        (str(broken), 1, 0.0, None)
    ]
