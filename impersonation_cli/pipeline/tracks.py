"""Tracks stage: link each frame's faces into tracks, so a person is judged over time, not per frame."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field

import cv2
import numpy as np

from impersonation_cli.pipeline.faces import Faces, Frame, greedy_pairs, iou_matrix

# A whole frame is kept as evidence beside the face crop (92): a little lower, as it is several times larger.
FRAME_JPEG_QUALITY = 90


@dataclass
class Observation:
    """One face of one track in one sampled frame."""

    frame_index: int
    time_s: float
    box: np.ndarray
    score: float
    keypoints: np.ndarray
    embedding: np.ndarray
    wallclock: float | None = None
    # The embedding is an earlier frame's, carried over because the face had not changed (EmbeddingReuse).
    embedding_reused: bool = False
    # Per-face measurements made by the signals stage while the frame's pixels are at hand: only on the signals'
    # own copies of the observations (SignalSuite.measured), never on the tracker's.
    features: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class BestView:
    """A track's sharpest, largest face so far: the evidence pictures if the track matches."""

    crop: np.ndarray  # cut out of its frame with a margin
    time_s: float
    box: np.ndarray  # the face in the frame
    # The whole frame as JPEG, kept only when evidence is saved (`Tracker(keep_frames=True)`): the room as a viewer
    # saw it, for a takedown notice. Encoded here, once per better view (a few times a track), not at each frame.
    frame_jpeg: bytes | None = None


@dataclass
class Track:
    track_id: int
    source: str
    observations: list[Observation] = field(default_factory=list)
    best_view: BestView | None = None
    _best_view_quality: float = -1.0

    @property
    def start_s(self) -> float:
        return self.observations[0].time_s

    @property
    def end_s(self) -> float:
        return self.observations[-1].time_s

    @property
    def last_box(self) -> np.ndarray:
        return self.observations[-1].box

    @property
    def embeddings(self) -> np.ndarray:
        return np.stack([o.embedding for o in self.observations])

    def mean_embedding(self) -> np.ndarray:
        mean = self.embeddings.mean(axis=0)
        return mean / max(float(np.linalg.norm(mean)), 1e-12)

    def offer_view(
        self, image: np.ndarray, observation: Observation, whole_frame: Callable[[], bytes | None] | None = None
    ) -> None:
        """Keep this face as the track's best view if it is sharper and larger than the one kept; with the whole
        frame from `whole_frame` (its JPEG, encoded once however many of the frame's tracks ask)."""
        x1, y1, x2, y2 = observation.box
        quality = float(observation.score) * float(min(x2 - x1, y2 - y1))
        if quality <= self._best_view_quality:
            return
        self._best_view_quality = quality
        self.best_view = BestView(
            crop=crop_with_margin(image, observation.box),
            time_s=observation.time_s,
            box=observation.box.copy(),
            frame_jpeg=whole_frame() if whole_frame is not None else None,
        )

    def extend(self, later: Track) -> None:
        """Continue with `later`'s faces: the same face, cut apart where a long file was sliced (pipeline/slices.py).
        Its best view replaces this one's only if sharper, as `offer_view` would have decided."""
        self.observations += later.observations
        if later._best_view_quality > self._best_view_quality:
            self._best_view_quality, self.best_view = later._best_view_quality, later.best_view


def frame_jpeg(image: np.ndarray) -> bytes | None:
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, FRAME_JPEG_QUALITY])
    return data.tobytes() if ok else None


def crop_with_margin(image: np.ndarray, box: np.ndarray, margin: float = 0.35) -> np.ndarray:
    h, w = image.shape[:2]
    x1, y1, x2, y2 = box
    mx, my = (x2 - x1) * margin, (y2 - y1) * margin
    left, top = int(max(0, x1 - mx)), int(max(0, y1 - my))
    right, bottom = int(min(w, x2 + mx)), int(min(h, y2 + my))
    return image[top:bottom, left:right].copy()


@dataclass(frozen=True)
class TrackerSettings:
    # At 1-2 sampled frames a second a face can move far, so identity (embedding) carries the link
    # when boxes no longer overlap.
    min_iou: float = 0.3
    min_similarity: float = 0.45
    # Overlapping boxes still need some likeness: a cut to another person framed the same way is a new track.
    min_similarity_overlapping: float = 0.15
    max_gap_s: float = 3.0
    # A watcher past capacity samples each room every few seconds: a track then survives this many sampling
    # intervals unseen, so that every sample does not start a new track (and its matching and judging anew).
    max_gap_samples: float = 2.5

    def gap_s(self, sample_interval_s: float) -> float:
        """How long a track may go unseen at this sampling interval before it ends."""
        return max(self.max_gap_s, self.max_gap_samples * sample_interval_s)


class Tracker:
    """Greedy association by box overlap and embedding similarity; tracks close after `settings.gap_s` unseen,
    at the sampling interval before the frame at hand (so that a drop-out of the stream is no interval)."""

    def __init__(
        self,
        source: str,
        settings: TrackerSettings | None = None,
        sample_interval_s: float = 0.0,
        keep_frames: bool = False,
    ) -> None:
        """`sample_interval_s`: the sampling interval expected until two frames have shown the real one;
        `keep_frames`: each track's best view keeps its whole frame (`BestView.frame_jpeg`)."""
        self.source = source
        self.keep_frames = keep_frames
        self.settings = settings or TrackerSettings()
        self.active: list[Track] = []
        self._next_id = 1
        self._last_time_s: float | None = None
        self._sample_interval_s = sample_interval_s

    @property
    def tracks_started(self) -> int:
        return self._next_id - 1

    def update(self, frame: Frame, faces: Faces) -> tuple[Faces, list[Track]]:
        """Assign track ids to this frame's faces (which must carry embeddings); return the tracks that ended."""
        ended = self._close_stale(frame.time_s)
        if self._last_time_s is not None:
            self._sample_interval_s = frame.time_s - self._last_time_s
        self._last_time_s = frame.time_s
        pairs = self._associate(faces)
        whole_frame = functools.cache(lambda: frame_jpeg(frame.image)) if self.keep_frames else None
        track_ids = np.full(len(faces), -1, dtype=np.int64)
        for face_index in range(len(faces)):
            track = pairs.get(face_index) or self._start_track()
            observation = Observation(
                frame_index=frame.index,
                time_s=frame.time_s,
                box=faces.boxes[face_index].copy(),
                score=float(faces.scores[face_index]),
                keypoints=faces.keypoints[face_index].copy(),
                embedding=faces.embeddings[face_index].copy(),
                wallclock=frame.wallclock,
                embedding_reused=bool(faces.reused[face_index]),
            )
            track.observations.append(observation)
            track.offer_view(frame.image, observation, whole_frame)
            track_ids[face_index] = track.track_id
        return faces.with_track_ids(track_ids), ended

    def flush(self) -> list[Track]:
        ended, self.active = self.active, []
        return ended

    def track(self, track_id: int) -> Track:
        return next(t for t in self.active if t.track_id == track_id)

    def _start_track(self) -> Track:
        track = Track(track_id=self._next_id, source=self.source)
        self._next_id += 1
        self.active.append(track)
        return track

    def _close_stale(self, now_s: float) -> list[Track]:
        gap_s = self.settings.gap_s(self._sample_interval_s)
        ended = [t for t in self.active if now_s - t.end_s > gap_s]
        self.active = [t for t in self.active if now_s - t.end_s <= gap_s]
        return ended

    def _associate(self, faces: Faces) -> dict[int, Track]:
        if not self.active or not len(faces):
            return {}
        affinity = link_affinity(faces.boxes, faces.embeddings, self.active, self.settings)
        return {face: self.active[track] for face, track in greedy_pairs(affinity)}


def link_affinity(
    boxes: np.ndarray, embeddings: np.ndarray, tracks: list[Track], settings: TrackerSettings
) -> np.ndarray:
    """How well each face (row) continues each track (column) from its last face; -inf where it may not."""
    overlap = iou_matrix(boxes, np.stack([t.last_box for t in tracks]))
    similarity = embeddings @ np.stack([t.observations[-1].embedding for t in tracks]).T
    linked = ((overlap >= settings.min_iou) & (similarity >= settings.min_similarity_overlapping)) | (
        similarity >= settings.min_similarity
    )
    # Identity dominates the ranking; overlap breaks ties between faces of similar look.
    return np.where(linked, similarity + 0.5 * overlap, -np.inf)
