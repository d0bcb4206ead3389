"""The tracker's gap rule: a track survives `max_gap_s` unseen, or `max_gap_samples` sampling intervals where
samples come further apart (a watcher past capacity), but a drop-out of the stream is no interval."""

from __future__ import annotations

import cv2
import numpy as np

from impersonation_cli.pipeline.faces import Faces, Frame
from impersonation_cli.pipeline.tracks import Tracker, TrackerSettings

IMAGE = np.zeros((120, 160, 3), dtype=np.uint8)


def one_face(direction: int = 0) -> Faces:
    embedding = np.zeros((1, 512), dtype=np.float32)
    embedding[0, direction] = 1.0
    return Faces(
        boxes=np.array([[40, 20, 100, 90]], dtype=np.float32),
        scores=np.array([0.9], dtype=np.float32),
        keypoints=np.full((1, 5, 2), 60.0, dtype=np.float32),
        embeddings=embedding,
    )


def track_ids(times: list[float], interval_s: float = 0.0, face_at: set[float] | None = None) -> list[int]:
    """The track id of the face at each of `times` (every sampled frame; with `face_at`, only those have one)."""
    tracker = Tracker("room", TrackerSettings(), sample_interval_s=interval_s)
    ids = []
    for n, time_s in enumerate(times):
        faces = one_face() if face_at is None or time_s in face_at else Faces()
        ids += tracker.update(Frame("room", n, time_s, IMAGE), faces)[0].track_ids.tolist()
    return ids


def test_sparse_samples_continue_one_track() -> None:
    # Every 5 s (a room sampled at 0.2 fps): one track, though each gap is over max_gap_s (3 s).
    assert track_ids([0.0, 5.0, 10.0, 15.0], interval_s=5.0) == [1, 1, 1, 1]
    # Told nothing of the rate, the tracker learns it from the first two frames.
    assert track_ids([0.0, 5.0, 10.0, 15.0]) == [1, 2, 2, 2]


def test_dense_samples_keep_the_seconds_rule() -> None:
    # At 2 fps, 2.5 intervals are 1.25 s: max_gap_s (3 s) still rules, as it always did.
    every_half_second = [n / 2 for n in range(16)]
    assert track_ids(every_half_second, 0.5, face_at={0.0, 0.5, 1.0, 4.0, 7.5}) == [1, 1, 1, 1, 2]


def test_a_drop_out_is_not_a_sampling_interval() -> None:
    # Sampled every second, then nothing for 9 s (a reconnect): the track before it has ended.
    assert track_ids([0.0, 1.0, 2.0, 11.0, 12.0], interval_s=1.0) == [1, 1, 1, 2, 2]


def test_the_gap_is_the_longer_of_seconds_and_samples() -> None:
    settings = TrackerSettings(max_gap_s=3.0, max_gap_samples=2.5)
    assert settings.gap_s(0.5) == 3.0
    assert settings.gap_s(4.0) == 10.0


def face_of_size(side: int, left: float = 10.0) -> Faces:
    faces = one_face()
    faces.boxes[0] = [left, 10, left + side, 10 + side]
    return faces


def test_the_best_view_keeps_its_whole_frame_when_evidence_is_saved() -> None:
    """With `keep_frames` (a scan with an evidence folder) the best view carries its whole frame as JPEG: the frame
    of the largest face, not the first or the last; without it, no frame is encoded or held."""
    frames = [np.full((120, 160, 3), 40 * (n + 1), np.uint8) for n in range(3)]
    sides = [30, 60, 45]  # the second frame shows the face largest
    for keep in (True, False):
        tracker = Tracker("room", TrackerSettings(), keep_frames=keep)
        for n, (image, side) in enumerate(zip(frames, sides, strict=True)):
            tracker.update(Frame("room", n, float(n), image), face_of_size(side))
        view = tracker.active[0].best_view
        assert view is not None and view.time_s == 1.0 and float(view.crop.mean()) == 80.0
        if not keep:
            assert view.frame_jpeg is None
            continue
        assert view.frame_jpeg is not None
        whole = cv2.imdecode(np.frombuffer(view.frame_jpeg, np.uint8), cv2.IMREAD_COLOR)
        assert whole.shape == (120, 160, 3) and abs(float(whole.mean()) - 80.0) < 1.0


def test_a_frame_is_encoded_once_for_all_its_new_views() -> None:
    """Two faces of one frame, two new tracks: one JPEG of the frame, shared (a crowd at 1080p encoded it per face)."""
    faces = Faces(
        boxes=np.array([[10, 10, 50, 50], [100, 10, 140, 50]], dtype=np.float32),
        scores=np.array([0.9, 0.9], dtype=np.float32),
        keypoints=np.zeros((2, 5, 2), dtype=np.float32),
        embeddings=np.eye(2, 512, dtype=np.float32),
    )
    tracker = Tracker("room", TrackerSettings(), keep_frames=True)
    tracker.update(Frame("room", 0, 0.0, IMAGE), faces)
    first, second = (track.best_view for track in tracker.active)
    assert first is not None and second is not None
    assert first.frame_jpeg is not None and first.frame_jpeg is second.frame_jpeg
