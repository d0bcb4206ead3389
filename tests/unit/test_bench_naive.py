"""The naive path of `bench` runs InsightFace on as many frames a second as the scan samples, so the two compare
like for like: the first frame at or after each sample time."""

from __future__ import annotations

import itertools

import pytest

from impersonation_cli.tools.bench import naive_picks


@pytest.mark.parametrize(("video_fps", "fps", "expected"), [(25.0, 2.0, 20), (30.0, 2.0, 20), (24.0, 5.0, 50)])
def test_the_naive_loop_takes_the_frames_a_second_the_scan_samples(video_fps: float, fps: float, expected: int) -> None:
    """Every round(25 / 2) = 12th frame of a 25-fps clip was 21 frames in 10 s where the scan samples 20."""
    picks = list(itertools.islice(naive_picks(video_fps, fps), round(10 * video_fps)))
    assert sum(picks) == expected
    assert picks[0]


def test_asked_for_more_than_the_video_has_the_naive_loop_takes_every_frame() -> None:
    assert all(itertools.islice(naive_picks(25.0, 50.0), 100))
