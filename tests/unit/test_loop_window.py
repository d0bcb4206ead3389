"""The loop search looks back `[replay] loop_window_s` (replay.py, `ReplayDetector`): a watched room's memory and work
a frame stay bounded however long it is watched. Before, every frame was compared with every earlier frame of its
room and all were kept: 0.9-1.2 KB a frame and a cost a frame growing with the watch (docs/benchmark.md). No model
and no media: the detector is fed loop signatures directly, as in test_loop_memory.py."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from impersonation_cli.config import load_config
from impersonation_cli.errors import UserError
from impersonation_cli.pipeline.signals import replay
from impersonation_cli.pipeline.signals.replay import ReplayDetector

from .loop_streams import FPS, feed, signature_detector

WINDOW_S = 60.0


def looped(period_frames: int, frames: int, seed: int = 3) -> Iterator[np.ndarray]:
    """A clip of `period_frames` random signatures played over and over, each play with a little noise."""
    rng = np.random.default_rng(seed)
    clip = np.stack([rng.permutation(64) for _ in range(period_frames)]).astype(np.int16)
    for n in range(frames):
        yield np.clip(clip[n % period_frames] + rng.integers(-1, 2, 64), 0, 63).astype(np.uint8)


def detector(window_s: float, monkeypatch: pytest.MonkeyPatch) -> ReplayDetector:
    return signature_detector(monkeypatch, dataclasses.replace(load_config().replay, loop_window_s=window_s))


def kept_bytes(found: ReplayDetector) -> int:
    return sum(array._data.nbytes for array in (found._own, found._own_times, found._loop_matches, found._matches))


def test_memory_and_work_a_frame_stay_bounded_past_the_window(monkeypatch: pytest.MonkeyPatch) -> None:
    found = detector(WINDOW_S, monkeypatch)
    compared: list[int] = []
    real_distances = replay.distances
    monkeypatch.setattr(replay, "distances", lambda q, r: compared.append(len(r)) or real_distances(q, r))
    # A 12.5 s clip looped for 600 s: 10 windows, in 4 parts of 300 frames (150 s; what is kept stops growing by
    # the first part's end). With no window, the first part kept 87 KB and the fourth 934 KB.
    stream = looped(25, 1200)
    fed, sizes = 0, []
    for _ in range(4):
        fed = feed(found, (next(stream) for _ in range(300)), fed)
        sizes.append(kept_bytes(found))
    assert max(compared) <= WINDOW_S * FPS + 1, max(compared)  # never more than a window's frames
    assert max(compared[-150:]) == max(compared[300:450])  # the work a frame does not grow
    assert max(sizes[1:]) <= sizes[0] * 1.5, sizes  # 180 frames past the window as 1080 past it
    assert len(found._own) <= (2 + replay.SETTLE_EVERY) * WINDOW_S * FPS + replay.LAG_MARGIN_S * FPS + 2
    assert len(found._loop_matches) <= (1 + replay.SETTLE_EVERY) * WINDOW_S * FPS * found.settings.candidates
    # The loop found in the first minutes is still reported, whole: its frames forgotten, its run settled.
    loops = found.loop_runs()
    assert loops[0].start_s == pytest.approx(12.5) and loops[0].end_s == pytest.approx((fed - 1) / FPS)
    assert loops[0].offset_s == pytest.approx(12.5, abs=0.3)
    assert found.source_signals()["loop"].score == 1.0


@pytest.mark.parametrize(("period_s", "loop"), [(45.0, True), (90.0, False)])
def test_a_loop_is_found_only_if_its_period_is_within_the_window(
    period_s: float, loop: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    found = detector(WINDOW_S, monkeypatch)
    feed(found, looped(int(period_s * FPS), int(3 * period_s * FPS)))
    lags = [round(run.offset_s) for run in found.loop_runs()]
    assert (lags[:1] == [period_s]) if loop else lags == [], lags
    # With no window to speak of, the longer period is found too.
    unbounded = detector(10 * period_s, monkeypatch)
    feed(unbounded, looped(int(period_s * FPS), int(3 * period_s * FPS)))
    assert [round(run.offset_s) for run in unbounded.loop_runs()][:1] == [period_s]


def test_a_recording_shorter_than_the_window_is_judged_as_without_one(monkeypatch: pytest.MonkeyPatch) -> None:
    short = detector(WINDOW_S, monkeypatch)
    long = detector(7 * 86400, monkeypatch)
    for found in (short, long):
        feed(found, looped(25, int(WINDOW_S * FPS)))
    assert short.loop_runs() == long.loop_runs() != []
    assert np.array_equal(short._loop_matches.values, long._loop_matches.values)


def test_the_window_is_a_bounded_setting(tmp_path: Path) -> None:
    assert load_config(None).replay.loop_window_s == 10800.0  # 3 hours: a sales video of up to about 2 h looped
    config = tmp_path / "config.toml"
    config.write_text("[replay]\nloop_window_s = 600\n")
    assert load_config(config).replay.loop_window_s == 600.0
    for bad in (30, 8 * 86400):
        config.write_text(f"[replay]\nloop_window_s = {bad}\n")
        with pytest.raises(UserError, match="loop_window_s"):
            load_config(config)
