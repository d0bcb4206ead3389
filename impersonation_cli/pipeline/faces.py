"""The small dataclasses that travel between pipeline stages.

`Faces` is the currency (like supervision's `Detections`): every stage takes and returns column arrays,
so filtering, batching and indexing work the same everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

EMBEDDING_DIM = 512


@dataclass(frozen=True)
class Frame:
    """One decoded frame of a source, with stream time (and wall-clock time when the source is live)."""

    source: str
    index: int
    time_s: float
    image: np.ndarray
    wallclock: float | None = None  # a live frame: when it was live (its arrival less the room's lateness)
    arrived: float | None = None  # a live frame: when it arrived (an HLS segment's frames arrive at once, late)

    @property
    def height(self) -> int:
        return int(self.image.shape[0])

    @property
    def width(self) -> int:
        return int(self.image.shape[1])


def _empty(shape: tuple[int, ...], dtype: type = np.float32) -> np.ndarray:
    return np.zeros(shape, dtype=dtype)


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Intersection over union of every box in `a` with every box in `b`."""
    if not len(a) or not len(b):
        return np.zeros((len(a), len(b)), dtype=np.float32)
    x1 = np.maximum(a[:, None, 0], b[None, :, 0])
    y1 = np.maximum(a[:, None, 1], b[None, :, 1])
    x2 = np.minimum(a[:, None, 2], b[None, :, 2])
    y2 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    return inter / np.clip(area_a[:, None] + area_b[None, :] - inter, 1e-6, None)


def greedy_pairs(affinity: np.ndarray) -> list[tuple[int, int]]:
    """(row, column) pairs taken best first, each row and each column at most once; -inf means never."""
    remaining = affinity.astype(np.float64, copy=True)
    pairs = []
    while remaining.size and np.isfinite(remaining).any():
        row, column = np.unravel_index(int(np.argmax(remaining)), remaining.shape)
        pairs.append((int(row), int(column)))
        remaining[row, :] = -np.inf
        remaining[:, column] = -np.inf
    return pairs


@dataclass
class Faces:
    """The faces of one frame as column arrays: N rows, one per face.

    boxes: (N, 4) x1, y1, x2, y2 in frame pixels; scores: (N,) detector confidence;
    keypoints: (N, 5, 2) eyes, nose, mouth corners; embeddings: (N, 512) L2-normalised, or (N, 0) when not
    computed yet; reused: (N,) True where the embedding was carried over from the same face in an earlier
    frame instead of recomputed (`faces.EmbeddingReuse`); track_ids: (N,) -1 until the tracker assigns one.
    """

    boxes: np.ndarray = field(default_factory=lambda: _empty((0, 4)))
    scores: np.ndarray = field(default_factory=lambda: _empty((0,)))
    keypoints: np.ndarray = field(default_factory=lambda: _empty((0, 5, 2)))
    embeddings: np.ndarray = field(default_factory=lambda: _empty((0, 0)))
    reused: np.ndarray = field(default_factory=lambda: np.zeros((0,), dtype=bool))
    track_ids: np.ndarray = field(default_factory=lambda: np.zeros((0,), dtype=np.int64))

    def __post_init__(self) -> None:
        n = len(self.boxes)
        if len(self.track_ids) != n:
            self.track_ids = np.full((n,), -1, dtype=np.int64)
        if len(self.embeddings) != n:
            self.embeddings = _empty((n, 0))
        if len(self.reused) != n:
            self.reused = np.zeros((n,), dtype=bool)

    def __len__(self) -> int:
        return len(self.boxes)

    def __getitem__(self, index: int | slice | np.ndarray | list[int]) -> Faces:
        if isinstance(index, int):
            index = [index]
        return Faces(
            boxes=self.boxes[index],
            scores=self.scores[index],
            keypoints=self.keypoints[index],
            embeddings=self.embeddings[index],
            reused=self.reused[index],
            track_ids=self.track_ids[index],
        )

    @property
    def sizes(self) -> np.ndarray:
        """Face size in pixels: the shorter side of each box."""
        if not len(self):
            return _empty((0,))
        return np.minimum(self.boxes[:, 2] - self.boxes[:, 0], self.boxes[:, 3] - self.boxes[:, 1])

    def with_embeddings(self, embeddings: np.ndarray, reused: np.ndarray | None = None) -> Faces:
        flags = np.zeros((len(self),), dtype=bool) if reused is None else reused.astype(bool)
        return replace(self, embeddings=embeddings.astype(np.float32), reused=flags)

    def shifted(self, dx: float, dy: float) -> Faces:
        """The same faces with boxes and keypoints moved by (dx, dy): from a crop's pixels to the frame's."""
        offset = np.array([dx, dy], dtype=np.float32)
        return replace(self, boxes=self.boxes + np.tile(offset, 2), keypoints=self.keypoints + offset)

    def with_track_ids(self, track_ids: np.ndarray) -> Faces:
        return replace(self, track_ids=track_ids.astype(np.int64))

    @classmethod
    def concatenate(cls, parts: list[Faces]) -> Faces:
        parts = [p for p in parts if len(p)]
        if not parts:
            return cls()
        dims = {p.embeddings.shape[1] for p in parts}
        embeddings = np.concatenate([p.embeddings for p in parts]) if len(dims) == 1 else _empty((0, 0))
        return cls(
            boxes=np.concatenate([p.boxes for p in parts]),
            scores=np.concatenate([p.scores for p in parts]),
            keypoints=np.concatenate([p.keypoints for p in parts]),
            embeddings=embeddings,
            reused=np.concatenate([p.reused for p in parts]),
            track_ids=np.concatenate([p.track_ids for p in parts]),
        )
