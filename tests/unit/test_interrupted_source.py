"""Ctrl-C during a source keeps what was read of it: the source in progress was listed 'interrupted' with
nothing read and no appearances, so a Ctrl-C an hour into a long recording lost the hour."""

from __future__ import annotations

from pathlib import Path

import pytest

from impersonation_cli.pipeline import scan
from impersonation_cli.pipeline.scan import ScanProgress, scan_inputs
from impersonation_cli.results import ScanResult

from .builders import model_free_context
from .small_clips import grey_ramp_clip
from .test_progress_callback import _NoFaces


def _scan_interrupted_at(report: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[ScanResult, Path]:
    """A 3-s clip then a 1-s one scanned, Ctrl-C arriving during the `report`-th progress report (the first clip's
    opening is the 1st, its 6 frames the next six, its end the 8th); the result and the first clip's path."""
    monkeypatch.setattr(scan, "AdaptiveDetector", _NoFaces)
    monkeypatch.setattr(scan, "EmbeddingReuse", _NoFaces)
    first, second = grey_ramp_clip(tmp_path / "clip.mp4", 3), grey_ramp_clip(tmp_path / "other.mp4", 1)
    calls: list[ScanProgress] = []

    def progress(at: ScanProgress) -> None:
        calls.append(at)
        if len(calls) == report:
            raise KeyboardInterrupt

    context = model_free_context()
    context.progress = progress
    result = scan_inputs([str(first), str(second)], context)
    assert result.status == "interrupted"
    other = result.sources[1]
    assert (other.status, other.frames_sampled, other.error) == (
        "interrupted",
        0,
        f"{other.source}: not scanned (the scan was interrupted)",
    )
    return result, first


def test_the_source_in_progress_keeps_what_was_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    result, first = _scan_interrupted_at(5, tmp_path, monkeypatch)  # as the 4th frame of the first clip is done
    clip = result.sources[0]
    # Searched up to the 4th frame, at 1.5 s: decoding ran ahead, but what was decoded and not searched is not
    # counted as scanned (it was: 5 or 6 frames, to 2.0 or 2.5 s). The clip's frames come every 0.04 s.
    assert (clip.status, clip.frames_sampled) == ("interrupted", 4) and clip.scanned_s == pytest.approx(1.5, abs=0.05)
    assert clip.error == f"{first}: interrupted (Ctrl-C) {clip.scanned_s:.1f} s in; what it showed until then is kept"
    assert clip.duration_s == 3.0 and clip.width is not None  # read as far as it went


def test_a_ctrl_c_as_a_source_is_done_keeps_it_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C during the last progress report of a source (its end: all of it scanned) listed it as never begun,
    "not scanned", its result and appearances lost; a Ray worker's stop arriving then did the same."""
    result, _ = _scan_interrupted_at(8, tmp_path, monkeypatch)
    clip = result.sources[0]
    assert (clip.status, clip.error, clip.frames_sampled) == ("ok", None, 6)
    assert clip.scanned_s == pytest.approx(3.0, abs=0.05)
