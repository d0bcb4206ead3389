"""A live room's decoder rests between samples until the next key frame; planned on the smoothed gap between key
frames, a key frame that came later than that (x264 puts them at scene cuts) lost the samples due meanwhile: 38 of
40 in 20 s at 2 fps, gaps to 1.3 s. It now rests only until the longest of the latest gaps has passed, and only
where the latest gaps are steady: a recording with key frames at 0 and 1 s and none after lost its next 4 s."""

from __future__ import annotations

import math
from types import SimpleNamespace

from impersonation_cli.io.live_reader import DecodePlan

RATE = 20  # frames a second: a sample every 10 frames
INTERVAL_S = 0.5  # 2 samples a second


def sample_times(key_frames: set[int], frames: int) -> list[float]:
    """The frames taken as samples when `DecodePlan` says which to decode: the first decoded at or after each due
    time (a key frame's successors cannot be decoded once a rest has begun)."""
    plan, due_s, taken = DecodePlan(), 0.0, []
    for n in range(frames):
        time_s = n / RATE
        if plan.decodes(SimpleNamespace(is_keyframe=n in key_frames), time_s, due_s, INTERVAL_S) and time_s >= due_s:
            taken.append(time_s)
            due_s = (math.floor(time_s / INTERVAL_S + 1e-9) + 1) * INTERVAL_S
    return taken


def test_a_key_frame_later_than_the_average_gap_loses_no_sample() -> None:
    # Key frames at 0, 3, 4 and 7 s: after gaps of 3 s and 1 s the smoothed gap was 2.4 s, so the decoder rested
    # from 6.3 s and the sample due at 6.5 s came at 7.0 s.
    taken = sample_times({0, 3 * RATE, 4 * RATE, 7 * RATE}, 8 * RATE)
    assert taken == [n * INTERVAL_S for n in range(16)]


def test_regular_key_frames_still_let_the_decoder_rest() -> None:
    """Key frames every 2 s and a sample every 4 s (0.25 fps): past each sample the group's frames are not decoded."""
    plan, decoded = DecodePlan(), 0
    for n in range(20 * RATE):
        time_s = n / RATE
        due_s = (math.floor(time_s / 4.0) + 1) * 4.0
        decoded += plan.decodes(SimpleNamespace(is_keyframe=n % (2 * RATE) == 0), time_s, due_s, 4.0)
    assert decoded < 0.7 * 20 * RATE


def test_key_frames_at_an_unsteady_interval_let_no_sample_go() -> None:
    # x264's defaults: a key frame at a scene cut 1 s in, the next 10 s later (keyint 250). Planned on the one gap
    # seen, the decoder rested from 2 s on and took no sample until the end (the face on screen from 1 s to 5.5 s).
    assert sample_times({0, RATE}, 6 * RATE) == [n * INTERVAL_S for n in range(12)]
    assert sample_times({0, 3 * RATE, 4 * RATE, 7 * RATE}, 8 * RATE) == [n * INTERVAL_S for n in range(16)]
