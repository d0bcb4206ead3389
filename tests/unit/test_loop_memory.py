"""A long recording's loop detection takes memory linear in its length (replay.py). A file looping one clip for
31 minutes (3733 sampled frames) peaked at 580 MB RSS against 400 MB for 5 minutes: `lag_costs` built a
(frames x frames) table of time differences for the loop run through the whole file, twice over (111 MB each);
a 3-hour loop would take 7 GB. No model and no media: the detector is fed loop signatures directly, as in
test_loop_specificity.py."""

from __future__ import annotations

import pickle
import tracemalloc

import numpy as np
import pytest

from impersonation_cli.pipeline.signals.replay import ReplayDetector, _densest_offset, nearest_times

from .loop_streams import FPS, feed, signature_detector

CLIP_FRAMES = 25  # a 12.5 s clip, looped


def looped_stream(frames: int, clip_frames: int = CLIP_FRAMES) -> list[np.ndarray]:
    rng = np.random.default_rng(3)
    clip = [rng.permutation(64).astype(np.uint8) for _ in range(clip_frames)]
    return [clip[n % clip_frames] for n in range(frames)]


def detector_for(signatures: list[np.ndarray], monkeypatch: pytest.MonkeyPatch) -> ReplayDetector:
    detector = signature_detector(monkeypatch)
    feed(detector, signatures)
    return detector


def test_judging_a_loop_through_a_long_file_takes_memory_linear_in_its_length(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    detector = detector_for(looped_stream(1500), monkeypatch)  # 12.5 minutes at 2 fps
    tracemalloc.start()
    try:
        loops = detector.loop_runs()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # One run at the clip's period through the whole file (a table of hundreds of seconds each before). The clip
    # plays 60 times, more than the `candidates` matches a frame keeps: of equal matches the most recent are kept,
    # where numpy's default sort kept some CPU's choice of them and broke the run at 492 s on this machine.
    assert loops and (loops[0].offset_s, loops[0].start_s, loops[0].end_s) == (12.5, 12.5, 749.5), loops[:1]
    assert peak < 10e6, f"{peak / 1e6:.0f} MB to judge the loop (a frames x frames table is 18 MB)"


def test_what_a_detector_keeps_a_frame_is_a_few_hundred_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every frame's signature and up to `candidates` loop matches are kept for the whole source (a watched room's
    for the whole watch): as Python objects a value they took 7 times the bytes."""
    # A 5-s clip: each frame keeps its full `candidates` matches from the 34th play on, so 1000 frames hold as many
    # a frame as the 12.5-s clip's 2000 did (Python objects, 7 times the bytes, fail here either way).
    clip_frames = 10
    stream = looped_stream(1000, clip_frames)
    tracemalloc.start()
    try:
        detector = detector_for(stream, monkeypatch)
        kept, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    per_frame = kept / len(stream)
    # A loop: every frame after the clip's first `candidates` + 1 plays matches `candidates` earlier plays.
    full = detector.settings.candidates * (len(stream) - (detector.settings.candidates + 1) * clip_frames)
    assert len(detector._loop_matches) >= full
    assert per_frame < 2000, f"{per_frame:.0f} bytes kept a frame"
    # Slices' detectors travel to the driver pickled (pipeline/slices.py, Ray): the arrays go with them.
    short = detector_for(looped_stream(300), monkeypatch)
    again = pickle.loads(pickle.dumps(short))
    assert [r.offset_s for r in again.loop_runs()] == [r.offset_s for r in short.loop_runs()] != []


def test_nearest_times_is_the_argmin_of_the_differences() -> None:
    rng = np.random.default_rng(5)
    cases = [
        np.arange(50) / FPS,  # a stream's sampled times
        rng.uniform(0, 30, 60),  # out of order
        np.repeat(np.arange(20) / FPS, 2),  # times given twice (a frame two slices both hold)
        np.array([4.0]),
    ]
    for times in cases:
        targets = np.concatenate([times - 12.5, times - 1.0, times + 0.25, [-100.0, 100.0], rng.uniform(-5, 40, 40)])
        expected = np.abs(times[None, :] - targets[:, None]).argmin(axis=1)
        assert np.array_equal(nearest_times(times, targets), expected)


def test_the_densest_offset_counts_each_stream_frame_once_a_bin() -> None:
    """_densest_offset against the definition: per bin of tolerance/2, the distinct stream frames with a match
    there, summed over three neighbouring bins (offsets negative and positive, a frame matching twice a bin)."""
    rng = np.random.default_rng(11)
    for _ in range(20):
        times = np.repeat(rng.uniform(0, 600, 80), 3)
        offsets = np.concatenate([rng.normal(rng.uniform(-40, 40), 0.2, 120), rng.uniform(-300, 300, 120)])
        step = 0.5
        pairs = {(round(o / step), round(t * 1000)) for o, t in zip(offsets, times, strict=True)}
        per_bin: dict[int, int] = {}
        for bin_, _ms in pairs:
            per_bin[bin_] = per_bin.get(bin_, 0) + 1
        best = max(sum(per_bin.get(b + d, 0) for d in (-1, 0, 1)) for b in range(min(per_bin), max(per_bin) + 1))
        centre, support = _densest_offset(offsets, times, 2 * step)
        assert support == best
        assert support == sum(per_bin.get(round(centre / step) + d, 0) for d in (-1, 0, 1))
