"""A face seen in one sampled frame raises no alert, on screen or once its track has ended: docs/watch.md says a
track is matched once it has two sampled frames. An ended one-frame track was alerted ('frames': 1, similarity
0.42, just over the threshold), while the summary, which keeps appearances of two frames, left it out."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from impersonation_cli.io.rooms import Room
from impersonation_cli.pipeline.matches import TrackMatch
from impersonation_cli.pipeline.tracks import Observation, Track

from .builders import model_free_watcher


def ended_track(frames: int) -> TrackMatch:
    observations = [
        Observation(n, float(n), np.array([0, 0, 8, 8], np.float32), 0.9, np.zeros((5, 2)), np.zeros(512))
        for n in range(frames)
    ]
    return TrackMatch(
        Track(1, "rtmp://cam/live", observations), "Eileen Collins", 0.42, 0.42, np.full(frames, 0.42), None, -1.0
    )


@pytest.mark.parametrize(("frames", "alerted"), [(1, False), (2, True)])
def test_an_ended_track_is_alerted_only_with_two_sampled_frames(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, frames: int, alerted: bool
) -> None:
    watcher = model_free_watcher([Room("rtmp://cam/live")], None, None, monkeypatch)
    (room,) = watcher.rooms
    match = ended_track(frames)
    monkeypatch.setattr(
        room,
        "pipeline",
        SimpleNamespace(add=lambda *_: [match], live_matches=lambda *_: [], recent_loop=lambda _since_s: None),
    )
    found: list[TrackMatch] = []
    monkeypatch.setattr(watcher, "_found", lambda _room, each, final: found.append(each))
    frame = SimpleNamespace(index=frames, time_s=float(frames))
    watcher._observe(room, frame, None)  # type: ignore[arg-type]  # what the stand-in pipeline ignores
    assert found == ([match] if alerted else [])


def test_a_summary_appearance_needs_a_track_an_alert_could_be_raised_for() -> None:
    """Two one-frame tracks of one person 1 s apart (the tracker lost the face between two samples) made a
    2-frame appearance in the watch's summary, judged unauthorized-likeness and counted in its exit code, of which
    no alert had been raised: neither track reached the two frames an alert needs."""
    from impersonation_cli.pipeline.scan import group_matches

    def seen_once(track_id: int, time_s: float) -> TrackMatch:
        observation = Observation(track_id, time_s, np.array([0, 0, 8, 8], np.float32), 0.9, np.zeros((5, 2)), None)
        track = Track(track_id, "rtmp://cam/live", [observation])
        return TrackMatch(track, "Eileen Collins", 0.42, 0.42, np.full(1, 0.42), None, -1.0)

    once_each = [seen_once(1, 0.0), seen_once(2, 1.0)]
    assert [len(group) for group in group_matches(once_each, 2, 2.0)] == [2]  # a scan keeps it, as before
    assert group_matches(once_each, 2, 2.0, min_track_frames=2) == []
    assert len(group_matches([*once_each, ended_track(2)], 2, 2.0, min_track_frames=2)) == 1


def test_the_tracks_of_a_room_told_interrupted_end_there_not_when_it_comes_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A track ended on the room's next frame: through a 20-s drop-out, the finding on a face last seen before it
    was alerted when the room came back, its evidence 20 s old, and that alert held the resumed broadcast's back
    for a cool-down. Told interrupted, the room's tracks end in that round, after its waiting frames."""
    watcher = model_free_watcher([Room("rtmp://cam/live")], None, None, monkeypatch)
    (room,) = watcher.rooms
    match, done = ended_track(3), []
    monkeypatch.setattr(
        room,
        "pipeline",
        SimpleNamespace(add=lambda *_: [], live_matches=lambda *_: [], end_tracks=lambda: done.append(1) or [match]),
    )
    found: list[tuple[TrackMatch, bool]] = []
    monkeypatch.setattr(watcher, "_found", lambda _room, each, final: found.append((each, final)))
    monkeypatch.setattr(watcher, "_tell_interruptions", lambda each: each is room)
    watcher.wake.set()
    watcher._loop(None)  # one round: no reader runs, so every room is over
    assert done == [1] and found == [(match, True)]


def test_a_room_told_interrupted_is_said_so_to_the_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    from impersonation_cli.io.live_reader import Interruption
    from impersonation_cli.pipeline.watch import RoomChange

    watcher = model_free_watcher([Room("rtmp://cam/live")], None, None, monkeypatch)
    (room,) = watcher.rooms
    gap = Interruption("2026-12-07T15:00:00+00:00", None, None, "stalled")
    for changes, told in (([(RoomChange.INTERRUPTED, gap)], True), ([(RoomChange.RESUMED, None)], False), ([], False)):
        monkeypatch.setattr(room, "told", SimpleNamespace(look=lambda *_, changes=changes: changes))
        assert watcher._tell_interruptions(room) is told
