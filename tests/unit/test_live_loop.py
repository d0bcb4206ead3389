"""A watched room whose stream repeats itself (a recording looped as if live) is told while the watch runs, as a
`looping` room event: it was in the summary only, so an agency learnt of a looped room when the watch ended."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from impersonation_cli.config import load_config
from impersonation_cli.io.rooms import Room
from impersonation_cli.outputs.alerts import RoomEvent
from impersonation_cli.pipeline.faces import Frame
from impersonation_cli.pipeline.signals.replay import ReplayDetector
from impersonation_cli.results import SignalScore

from .builders import model_free_watcher

RATE = 2.0  # frames a second


def pictures(count: int, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, size=(72, 96, 3), dtype=np.uint8) for _ in range(count)]


def detector_after(images: list[np.ndarray]) -> ReplayDetector:
    detector = ReplayDetector(None, load_config().replay)
    for n, image in enumerate(images):
        detector.observe(Frame("rtmp://cam/live", n, n / RATE, image))
    return detector


def test_a_stream_that_repeats_itself_is_found_in_its_recent_frames() -> None:
    clip = pictures(16, seed=1)  # an 8-s recording, played five times
    looped = detector_after(clip * 5)
    loop = looped.recent_loop(40.0 - 60.0)
    assert loop is not None and loop.score == 1.0 and loop.details["lag_s"] == pytest.approx(8.0, abs=0.5)
    assert looped.recent_loop(39.0) is None  # one second holds no run long enough
    assert detector_after(pictures(80, seed=2)).recent_loop(-20.0) is None  # a stream that never repeats


def test_a_loop_is_told_once_a_cooldown_as_a_room_event(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    alerts = tmp_path / "alerts.jsonl"
    watcher = model_free_watcher([Room("rtmp://cam/live", account="douyin:1")], alerts, None, monkeypatch)
    (room,) = watcher.rooms
    loop = SignalScore("loop", 1.0, "8.5-20.1 s repeat the stream 8.0 s earlier (23 frames, distance 0.00)")
    monkeypatch.setattr(room, "pipeline", SimpleNamespace(recent_loop=lambda since_s: loop))
    told: list[RoomEvent] = []
    monkeypatch.setattr(watcher.sink, "note", told.append)
    for now_s in (20.0, 30.0, 20.0 + watcher.settings.cooldown_s):
        watcher._tell_loop(room, now_s)
    assert [(e.event, e.room) for e in told] == [("looping", "douyin:1")] * 2  # at 20 s, then after the cooldown
    assert told[0].reasons == [f"likely-replay: loop 1.00: {loop.explanation}"] and told[0].interruption is None
    weak = SignalScore("loop", 0.5, "2.0-3.5 s repeat the stream 3.0 s earlier")
    monkeypatch.setattr(room, "pipeline", SimpleNamespace(recent_loop=lambda since_s: weak))
    room.loop_told_at_s = -np.inf
    watcher._tell_loop(room, 100.0)  # under [verdicts] replay_threshold (0.6): not told
    assert len(told) == 2
