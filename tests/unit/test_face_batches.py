"""A face model runs on at most FACE_BATCH faces at once. One run took all of a frame's faces, and its memory grows
with them (ONNX Runtime keeps it): a photo of 526 faces (the shared two_people.jpg at `[detector] threshold =
0.01`) took 5.8 GB, a frame of 512 faces 3.5 GB in the landmark model and 3 GB in the recognizer, and at threshold
0 (3600 faces) the scan was killed for memory with no word. In batches: 1.2 GB and 1.3 GB, the same results."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np

from impersonation_cli.forgery.detector import ForgeryDetector
from impersonation_cli.pipeline.faces import Faces
from impersonation_cli.runtime.engine import FaceEngine, align_face
from impersonation_cli.runtime.sessions import FACE_BATCH, in_batches

FACES = 2 * FACE_BATCH + 5


def test_in_batches_runs_at_most_a_batch_at_once_and_keeps_the_order() -> None:
    sizes: list[int] = []

    def run(batch: list[int]) -> np.ndarray:
        sizes.append(len(batch))
        return np.array(batch)[:, None] * 2

    assert in_batches(run, list(range(FACES))).ravel().tolist() == [2 * n for n in range(FACES)]
    assert sizes == [FACE_BATCH, FACE_BATCH, 5]
    assert in_batches(run, []).shape == (0, 1)  # one run: the output's shape, as before


class _Session:
    """A model session that records each run's batch and gives every face an output of its own."""

    def __init__(self, width: int) -> None:
        self.width, self.batches = width, []  # type: ignore[var-annotated]

    def run(self, _names: object, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        (blob,) = feeds.values()
        self.batches.append(len(blob))
        per_face = blob.reshape(len(blob), -1).mean(axis=1, keepdims=True)
        return [np.repeat(per_face, self.width, axis=1).astype(np.float32)]


def _faces(image: np.ndarray) -> Faces:
    xy = np.stack([np.arange(FACES) % 20 * 30.0, np.arange(FACES) // 20 * 30.0], axis=1).astype(np.float32)
    boxes = np.concatenate([xy, xy + 28], axis=1)
    offsets = np.array([[8, 10], [20, 10], [14, 15], [9, 21], [19, 21]], dtype=np.float32)
    return Faces(boxes=boxes, scores=np.ones(FACES, np.float32), keypoints=xy[:, None, :] + offsets[None])


def test_the_recognizer_and_the_landmark_model_run_in_batches() -> None:
    image = np.random.default_rng(0).integers(0, 255, (160, 640, 3), dtype=np.uint8)
    faces = _faces(image)
    recognizer_batches: list[int] = []

    def get_feat(crops: list[np.ndarray]) -> np.ndarray:
        recognizer_batches.append(len(crops))
        return np.stack([np.full(512, crop.mean() + 1.0) for crop in crops])

    landmarks = _Session(212)
    engine: Any = SimpleNamespace(
        recognizer=SimpleNamespace(get_feat=get_feat),
        landmarker=SimpleNamespace(
            input_size=(192, 192), input_mean=0.0, input_std=1.0, lmk_num=106, session=landmarks,
            output_names=["out"], input_name="data",
        ),
    )  # fmt: skip
    embeddings = FaceEngine.embed_aligned(engine, [align_face(image, k) for k in faces.keypoints])
    assert embeddings.shape == (FACES, 512) and max(recognizer_batches) == FACE_BATCH
    points = FaceEngine.landmarks106(engine, image, faces)
    assert points is not None and points.shape == (FACES, 106, 2) and max(landmarks.batches) == FACE_BATCH
    # Each face's result is its own, in order: the same as the faces one at a time.
    one_by_one = [FaceEngine.landmarks106(engine, image, faces[[n]]) for n in (0, FACE_BATCH, FACES - 1)]
    assert all(
        np.array_equal(points[[n]], alone) for n, alone in zip((0, FACE_BATCH, FACES - 1), one_by_one, strict=True)
    )


def test_the_forgery_detector_runs_in_batches() -> None:
    shipped = ForgeryDetector.load()
    session = _Session(3)
    detector = ForgeryDetector(shipped.path, shipped.session, shipped.metadata, shipped.model_id)
    detector.session = session  # type: ignore[assignment]
    size = detector.input.size
    crops = [np.full((size, size, 3), n % 256, dtype=np.uint8) for n in range(FACES)]
    logits = detector.logits(crops)
    assert logits.shape == (FACES, 3) and max(session.batches) == FACE_BATCH
    # The shipped model in batches (of FACE_BATCH, then 2) gives what it gives each crop alone.
    real = shipped.logits(crops[: FACE_BATCH + 2])
    for n in (1, FACE_BATCH):
        assert np.array_equal(real[[n]], shipped.logits(crops[n : n + 1])), n
