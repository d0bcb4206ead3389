"""A result's `settings.config` is every setting in force (formats.md): with `[scan] fps = 1` in the config and
`--fps 4` given, it recorded 1 beside `settings.fps` 4, and the run sampled 4 a second."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from impersonation_cli.pipeline import scan
from impersonation_cli.pipeline.scan import scan_inputs

from .builders import model_free_context
from .small_clips import grey_ramp_clip
from .test_progress_callback import _NoFaces


def test_the_recorded_config_holds_the_rate_sampled(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scan, "AdaptiveDetector", _NoFaces)
    monkeypatch.setattr(scan, "EmbeddingReuse", _NoFaces)
    context = model_free_context()
    context.config = dataclasses.replace(context.config, scan=dataclasses.replace(context.config.scan, fps=1.0))
    context.fps = 4.0
    result = scan_inputs([str(grey_ramp_clip(tmp_path / "clip.mp4", 2))], context)
    assert result.settings["fps"] == 4.0 and result.settings["config"]["scan"]["fps"] == 4.0
    assert result.sources[0].frames_sampled == 8
    assert context.config.as_dict()["scan"]["fps"] == 1.0  # the config itself is as loaded
