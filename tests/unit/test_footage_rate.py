"""Footage is fingerprinted at the rate asked, as near as the clip's frames allow. A 10 fps clip asked at 8 fps
was sampled at 7.5 fps: its frames come up to 0.075 s after their sample time, over half of the 0.125 s
interval, and the sampler took each such frame for a gap in the video and moved its grid on."""

from __future__ import annotations

from pathlib import Path

from impersonation_cli.io.sources import DecodeStats, SampleClock
from impersonation_cli.pipeline.signals.replay import fingerprint_video

from .test_footage_truncated import write_clip


def taken(times: list[float], fps: float) -> list[float]:
    """The frame times a SampleClock takes of frames decoded at `times`."""
    clock, chosen = SampleClock(1.0 / fps, DecodeStats()), []
    for time_s in times:
        clock.past_window(time_s)
        if clock.due(time_s):
            clock.took(time_s)
            chosen.append(time_s)
    return chosen


def test_a_10_fps_clip_fingerprinted_at_8_fps_keeps_8_frames_in_10(tmp_path: Path) -> None:
    frames, _ = fingerprint_video(write_clip(tmp_path / "ten.mp4", frames=50, fps=10), 8.0)
    assert len(frames) == 40
    assert [round(time_s, 3) for time_s, _ in frames[:8]] == [0.0, 0.2, 0.3, 0.4, 0.5, 0.7, 0.8, 0.9]


def test_after_a_gap_in_the_video_sampling_comes_back_to_the_grid() -> None:
    """An animated GIF holding no frame from 0.4 to 0.9 s, at 2 fps: the late frame is taken for 0.5, then the
    grid's 1.0, 1.5, 2.0, where a slice of the file beginning after the gap samples too (it went on half an
    interval after the late frame, 1.2 and 1.7, off the grid: tests/unit/test_slices.py)."""
    times = [0.0, 0.1, 0.2, 0.3, 0.4, *(round(0.9 + 0.1 * n, 1) for n in range(12))]
    assert taken(times, 2.0) == [0.0, 0.9, 1.0, 1.5, 2.0]


def test_a_25_fps_clip_at_2_fps_keeps_its_samples() -> None:
    assert taken([n / 25 for n in range(100)], 2.0) == [n / 25 for n in (0, 13, 25, 38, 50, 63, 75, 88)]
