"""Faces stage: detect faces in a frame and embed them with InsightFace models on ONNX Runtime."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path
from typing import TypeVar

import cv2
import numpy as np
import onnxruntime as ort

from impersonation_cli.errors import ModelPackError
from impersonation_cli.pipeline.faces import EMBEDDING_DIM, Faces, greedy_pairs, iou_matrix
from impersonation_cli.runtime.onnx_rewrites import inference_session
from impersonation_cli.runtime.packs import ModelPack, damage_notice, known_packs, recognizer_id, sha256_of
from impersonation_cli.runtime.quantize import ensure_int8_detector
from impersonation_cli.runtime.scrfd import detector_input
from impersonation_cli.runtime.sessions import in_batches, resolve_providers, session_options

T = TypeVar("T")

DETECTOR_PRECISIONS = ("int8", "fp32")
# Frames looked at without a face before a scene counts as empty (DetectorSettings.idle_every): one miss (a
# head turned away) does not thin out the looks.
IDLE_AFTER_LOOKS = 2

# ArcFace's canonical 112x112 positions of eyes, nose tip and mouth corners.
ARCFACE_TEMPLATE = np.array(
    [[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655], [70.7299, 92.2041]],
    dtype=np.float32,
)


def load_model(pack: ModelPack, path: Path, load: Callable[[], T]) -> T:
    """What `load()` makes of `pack`'s model file at `path`. A file that does not load (a partial copy, a disk
    error, not an ONNX model) is a ModelPackError naming it: it was an internal error, exit 4 ('DecodeError:
    Error parsing message with type onnx.ModelProto'), with nothing said of which file or what to do."""
    from google.protobuf.message import DecodeError
    from onnxruntime.capi import onnxruntime_pybind11_state as state

    try:
        return load()
    except (DecodeError, state.InvalidProtobuf, state.InvalidGraph, state.Fail, state.NoSuchFile) as exc:
        reason = " ".join(str(exc).split())[:200]
        check = (
            f"; `impersonation-cli models verify {pack.name}` checks its files, `models install {pack.name}` "
            "replaces them"
            if pack.name in known_packs()
            else ""
        )
        raise ModelPackError(
            f"model file {path} does not load: damaged or not an ONNX model ({reason}){check}"
        ) from exc


def align_face(image: np.ndarray, keypoints: np.ndarray, size: int = 112) -> np.ndarray:
    """Warp a face to ArcFace's canonical 112x112 pose with a similarity transform on its 5 keypoints."""
    matrix, _ = cv2.estimateAffinePartial2D(
        keypoints.astype(np.float32), ARCFACE_TEMPLATE * (size / 112.0), method=cv2.LMEDS
    )
    if matrix is None:  # degenerate keypoints: fall back to the box centre crop the keypoints span
        matrix = cv2.getAffineTransform(keypoints[:3].astype(np.float32), ARCFACE_TEMPLATE[:3])
    return cv2.warpAffine(image, matrix, (size, size), borderValue=0.0)


@dataclass(frozen=True)
class DetectorSettings:
    input_size: int = 640
    threshold: float = 0.5
    # Frames where the first pass finds nobody get a second look for a face that fills the frame.
    closeup_pass: bool = True
    min_face_px: int = 20
    # Between full passes a source whose faces are all at least `large_face_px` is detected at
    # `small_input_size` (a quarter of the pixels); a full pass runs at least every `full_pass_every_s`.
    small_input_size: int = 320
    large_face_px: int = 80
    full_pass_every_s: float = 1.5
    # Between full passes the small pass looks only at the last frame's faces, their boxes widened by this
    # share of their size on each side (at 2 fps a talking head moves under 0.3 of its size between frames).
    region_margin: float = 0.6
    # In a scene that has shown no face on the last IDLE_AFTER_LOOKS frames looked at, only every
    # `idle_every`-th sampled frame is looked at until a face appears (1: every frame).
    idle_every: int = 2
    # "int8": on CPU, an int8 copy of the detector made once per pack (quantize.py; half the time, the same
    # faces); "fp32": the pack's file as published. GPU providers always run the published file.
    precision: str = "int8"

    def __post_init__(self) -> None:
        if self.precision not in DETECTOR_PRECISIONS:
            raise ValueError(f"precision must be one of {', '.join(DETECTOR_PRECISIONS)}, not {self.precision!r}")
        if self.idle_every < 1:
            raise ValueError(f"idle_every must be 1 or more, not {self.idle_every}")


@dataclass(frozen=True)
class RecognitionSettings:
    # A face keeps the embedding of its earlier view while its aligned picture stays this alike (correlation
    # of the 24x24 grey aligned face with the one that was embedded); above 1, every face is embedded.
    reuse_similarity: float = 0.85
    # ...and is embedded afresh at least this often,
    refresh_every_s: float = 2.0
    # ...and for its first sampled frames: the identity-jitter signal needs 3 fresh embeddings of a face,
    # and a track's median similarity should rest on more than one.
    fresh_first: int = 3
    # A fresh embedding at least this close to the one the face carried continues that face's count; below
    # it, another person has taken the place (a cut to another shot) and the count starts again.
    same_face_similarity: float = 0.45
    # Overlap with the earlier view's box that makes it the same face.
    min_iou: float = 0.3


class FaceEngine:
    """One detector, one recognizer and optional 106-point landmarks, loaded once and shared."""

    def __init__(
        self,
        pack: ModelPack,
        device: str = "auto",
        detector: DetectorSettings | None = None,
        threads: int | None = None,
        with_landmarks: bool = True,
    ) -> None:
        from insightface.model_zoo import get_model
        from insightface.model_zoo.arcface_onnx import ArcFaceONNX
        from insightface.model_zoo.landmark import Landmark

        ort.set_default_logger_severity(3)
        self.pack = pack
        self.settings = detector or DetectorSettings()
        self.providers = resolve_providers(device)
        options = session_options(threads)
        # For the CLI to say: the pack's files do not verify, or why the detector runs in float when int8 was asked
        # for (a read-only models folder).
        self.notice = damage_notice(pack)
        self.detector_file, self.detector_precision = self._detector_file()
        # One session for every input size: InsightFace's per-size static-shape sessions ran no faster and each
        # cost time to make inside a source's first frames (docs/benchmark.md).
        self.detector = load_model(
            pack,
            self.detector_file,
            lambda: get_model(
                str(self.detector_file), static_shape_sessions=False, providers=self.providers, sess_options=options
            ),
        )
        self.detector.prepare(ctx_id=-1, input_size=(self.settings.input_size,) * 2, det_thresh=self.settings.threshold)
        recognizer = load_model(
            pack, pack.recognizer, lambda: inference_session(pack.recognizer, options, self.providers)
        )
        self.recognizer = ArcFaceONNX(str(pack.recognizer), recognizer)
        self.landmarker = None
        if with_landmarks and (landmarks := pack.landmarks) is not None:
            session = load_model(pack, landmarks, lambda: inference_session(landmarks, options, self.providers))
            self.landmarker = Landmark(str(landmarks), session)

    def _detector_file(self) -> tuple[Path, str]:
        if self.settings.precision == "fp32" or self.providers[0] != "CPUExecutionProvider":
            return self.pack.detector, "fp32"
        try:
            quantized = ensure_int8_detector(self.pack.detector, self.pack.int8_folder)
        except ModelPackError as exc:
            self.notice = "; ".join(filter(None, [self.notice, f"{exc}; running the published float detector"]))
            return self.pack.detector, "fp32"
        return (quantized.path, "int8") if quantized.faster else (self.pack.detector, "fp32")

    @property
    def provider(self) -> str:
        """The provider that actually runs the recognizer (users are often silently left on CPU)."""
        return self.recognizer.session.get_providers()[0]

    @cached_property
    def detector_id(self) -> str:
        """The detector file that actually ran (the int8 copy or the published file), for the record of a run.
        Hashed once per engine: the files do not change while it runs."""
        return f"{self.pack.detector.name}:{self.detector_precision}:{sha256_of(self.detector_file)[:16]}"

    @cached_property
    def recognizer_id(self) -> str:
        """Names the embedding space: galleries made by another recognizer cannot be compared."""
        return recognizer_id(self.pack)

    # -- detection ------------------------------------------------------------------------------

    def detect(self, image: np.ndarray, input_size: int | None = None) -> Faces:
        if min(image.shape[:2]) < self.settings.min_face_px:  # no face fits; a 1-px-wide frame failed OpenCV's resize
            return Faces()
        faces = self._detect_at(image, input_size or self.settings.input_size)
        if self.settings.closeup_pass and not len(faces):
            faces = self._detect_closeup(image)
        keep = faces.sizes >= self.settings.min_face_px
        return faces[np.flatnonzero(keep)]

    def _detect_at(self, image: np.ndarray, input_size: int) -> Faces:
        boxes, keypoints = self.detector.detect(image, input_size=detector_input(image, input_size))
        if boxes is None or not len(boxes):
            return Faces()
        return Faces(
            boxes=boxes[:, :4].astype(np.float32),
            scores=boxes[:, 4].astype(np.float32),
            keypoints=keypoints.astype(np.float32),
        )

    def detect_region(self, image: np.ndarray, region: tuple[int, int, int, int], scale: float) -> Faces:
        """Faces inside `region` (x1, y1, x2, y2 in frame pixels), the crop detected at `scale` of its size
        (no close-up pass); boxes and keypoints in frame pixels."""
        x1, y1, x2, y2 = region
        crop = image[y1:y2, x1:x2]
        faces = self._detect_at(crop, max(1, round(max(crop.shape[:2]) * scale))).shifted(x1, y1)
        return faces[np.flatnonzero(faces.sizes >= self.settings.min_face_px)]

    def _detect_closeup(self, image: np.ndarray) -> Faces:
        # SCRFD's largest anchors stop short of a face that fills the frame (a seller leaning into the
        # camera). Padding the frame to twice its size shrinks such a face into the anchors' range.
        h, w = image.shape[:2]
        canvas = np.zeros((2 * h, 2 * w, 3), dtype=image.dtype)
        top, left = h // 2, w // 2
        canvas[top : top + h, left : left + w] = image
        faces = self._detect_at(canvas, self.settings.input_size // 2).shifted(-left, -top)
        np.clip(faces.boxes, 0, [w, h, w, h], out=faces.boxes)
        return faces

    def analyse(self, image: np.ndarray) -> Faces:
        """Detect, then embed every face found: the whole faces stage for one frame."""
        return self.embed(image, self.detect(image))

    # -- recognition ----------------------------------------------------------------------------

    def embed(self, image: np.ndarray, faces: Faces) -> Faces:
        """Embeddings for every face of one frame, in batched recognizer runs (`sessions.in_batches`)."""
        return faces.with_embeddings(self.embed_aligned([align_face(image, k) for k in faces.keypoints]))

    def embed_aligned(self, crops: list[np.ndarray]) -> np.ndarray:
        if not crops:
            return np.zeros((0, 512), dtype=np.float32)
        features = in_batches(self.recognizer.get_feat, crops).astype(np.float32)
        return features / np.linalg.norm(features, axis=1, keepdims=True).clip(min=1e-12)

    def landmarks106(self, image: np.ndarray, faces: Faces) -> np.ndarray | None:
        """(N, 106, 2) dense landmarks in frame pixels, or None when the pack has no landmark model.

        InsightFace's `Landmark.get`, one face at a time, done for all of a frame's faces in one run: each
        face's crop (centred on its box, 1.5x its longer side, 192 px) and the mapping back are the same, and
        the network runs once, which is cheaper per face (docs/benchmark.md, "Landmarks batched per frame").
        """
        model = self.landmarker
        if model is None:
            return None
        if not len(faces):
            return np.zeros((0, 106, 2), dtype=np.float32)
        from insightface.utils import face_align

        side = model.input_size[0]
        crops, inverses = [], []
        for x1, y1, x2, y2 in faces.boxes.astype(np.float64):
            scale = side / (max(x2 - x1, y2 - y1) * 1.5)
            crop, matrix = face_align.transform(image, ((x2 + x1) / 2, (y2 + y1) / 2), side, scale, 0)
            crops.append(crop)
            inverses.append(cv2.invertAffineTransform(matrix))
        mean = (model.input_mean,) * 3

        def predict(batch: list[np.ndarray]) -> np.ndarray:
            blob = cv2.dnn.blobFromImages(batch, 1.0 / model.input_std, (side, side), mean, swapRB=True)
            return model.session.run(model.output_names, {model.input_name: blob})[0]

        predictions = in_batches(predict, crops)
        points = []
        for prediction, inverse in zip(predictions, inverses, strict=True):
            local = prediction.reshape(-1, 2)[-model.lmk_num :].copy()
            local = (local + 1) * (side // 2)
            points.append(face_align.trans_points(local, inverse))
        return np.asarray(points, dtype=np.float32).reshape(len(faces), 106, 2)


def region_around(boxes: np.ndarray, margin: float, width: int, height: int) -> tuple[int, int, int, int]:
    """The box holding every one of `boxes` widened by `margin` times its longer side, within the frame."""
    margins = np.maximum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1])[:, None] * margin
    x1, y1 = np.min(boxes[:, :2] - margins, axis=0)
    x2, y2 = np.max(boxes[:, 2:] + margins, axis=0)
    return max(0, int(x1)), max(0, int(y1)), min(width, math.ceil(x2)), min(height, math.ceil(y2))


class AdaptiveDetector:
    """Detection for one source that spends less on frames where only large faces can be.

    Live-commerce sellers fill the frame: once a full-resolution pass has seen only large faces, the next
    frames are detected at the scale of `small_input_size` (a quarter of the pixels for 720p at 320), where
    those faces are still far above SCRFD's smallest anchors, and only around where the last frame's faces
    were (`region_margin`). Any doubt sends the frame back to a full pass: fewer faces than the last frame
    had, a face under `large_face_px`, a face cut by the region's edge, or `full_pass_every_s` since the last
    full pass (so a face that walks in elsewhere is found within that time; where samples are further apart,
    within two samples).

    A scene without faces (product shots, an empty room) is looked at on every `idle_every`-th sampled
    frame only, once IDLE_AFTER_LOOKS looks in a row found nobody; the frames between get no faces. A face
    that arrives is found at most `idle_every - 1` samples late: at 2 fps and the default 2, half a second,
    the sampling's own resolution, and an appearance of 2 s still has 3 or more frames. With `sample_interval`
    (a file's sampling grid) the frames looked at are those whose place on the grid is a multiple of
    `idle_every`, wherever the pass began: a slice of a long file (pipeline/slices.py) counted from its own start,
    looked at other frames than the whole file's pass, and missed the face that came back at each of 3 slice
    edges (an appearance of 3-62 s came back as four).
    """

    def __init__(self, engine: FaceEngine, sample_interval: float | None = None) -> None:
        self.engine = engine
        self.sample_interval = sample_interval
        self.settings = engine.settings
        self._last_full_s = -math.inf
        self._last_boxes = np.zeros((0, 4), dtype=np.float32)
        self._only_large = False
        self._small_since_full = False  # a look was settled by the small pass since the last full pass
        self._faceless_looks = 0  # frames looked at in a row that had no face
        self._skipped_since_look = 0
        self.small_passes = 0  # frames settled by the small pass alone
        self.full_passes = 0
        self.idle_skips = 0  # frames not looked at: the scene had no face

    def detect(self, image: np.ndarray, time_s: float) -> Faces:
        if self._faceless_looks >= IDLE_AFTER_LOOKS and not self._idle_look_due(time_s):
            self._skipped_since_look += 1
            self.idle_skips += 1
            return Faces()
        faces = self._look(image, time_s)
        self._skipped_since_look = 0
        self._faceless_looks = 0 if len(faces) else self._faceless_looks + 1
        return faces

    def _idle_look_due(self, time_s: float) -> bool:
        if self.sample_interval:
            return round(time_s / self.sample_interval) % self.settings.idle_every == 0
        return self._skipped_since_look >= self.settings.idle_every - 1

    def _look(self, image: np.ndarray, time_s: float) -> Faces:
        if self._only_large and self._small_pass_due(time_s):
            faces = self._small_pass(image)
            if faces is not None and len(faces) >= len(self._last_boxes) and self._all_large(faces):
                self._last_boxes = faces.boxes
                self.small_passes += 1
                self._small_since_full = True
                return faces
        self.full_passes += 1
        self._small_since_full = False
        faces = self.engine.detect(image)
        self._last_full_s = time_s
        self._last_boxes = faces.boxes
        self._only_large = len(faces) > 0 and self._all_large(faces)
        return faces

    def _small_pass_due(self, time_s: float) -> bool:
        """Within `full_pass_every_s` of the last full pass; or, when samples come further apart than that (a
        watcher past capacity), every other look, so that sparse sampling does not make every look a full pass."""
        return time_s - self._last_full_s < self.settings.full_pass_every_s or not self._small_since_full

    def _small_pass(self, image: np.ndarray) -> Faces | None:
        """The faces around the last frame's, at the small scale; None when one reaches an edge of the region
        inside the frame: it may be cut off (SCRFD then draws the box out past the edge, from what it sees)."""
        height, width = image.shape[:2]
        scale = min(1.0, self.settings.small_input_size / max(height, width))
        region = region_around(self._last_boxes, self.settings.region_margin, width, height)
        x1, y1, x2, y2 = region
        if x2 - x1 < 2 or y2 - y1 < 2:  # the last faces lie outside this frame (a live stream changed size)
            return None
        faces = self.engine.detect_region(image, region, scale)
        tolerance = 2.0 / scale  # two detector pixels
        boxes = faces.boxes
        reaches = np.stack(
            [
                (boxes[:, 0] <= x1 + tolerance) & (x1 > 0),
                (boxes[:, 1] <= y1 + tolerance) & (y1 > 0),
                (boxes[:, 2] >= x2 - tolerance) & (x2 < width),
                (boxes[:, 3] >= y2 - tolerance) & (y2 < height),
            ]
        )
        return None if reaches.any() else faces

    def _all_large(self, faces: Faces) -> bool:
        return bool(np.all(faces.sizes >= self.settings.large_face_px))


@dataclass
class _EmbeddedView:
    """A face as last seen, with the embedding it carries and the aligned picture that embedding was made from."""

    box: np.ndarray
    likeness_code: np.ndarray  # of the aligned face that was embedded
    embedding: np.ndarray
    embedded_s: float
    fresh_count: int  # fresh embeddings of this face so far


@dataclass
class PendingFaces:
    """One frame's faces between `EmbeddingReuse.prepare` and `complete`."""

    faces: Faces
    time_s: float
    codes: list[np.ndarray]
    earlier: list[_EmbeddedView | None]  # the same face in the previous frame, if any
    keeps: list[bool]  # whether the face keeps the earlier view's embedding
    to_embed: list[np.ndarray]  # aligned faces that need the recognizer


def likeness_code(aligned: np.ndarray, side: int = 24) -> np.ndarray:
    """A tiny zero-mean, unit-norm grey thumbnail of an aligned face: its dot product with another is their
    correlation, ~1 for the same face in the same pose, expression and light."""
    grey = cv2.cvtColor(aligned, cv2.COLOR_BGR2GRAY) if aligned.ndim == 3 else aligned
    code = cv2.resize(grey, (side, side), interpolation=cv2.INTER_AREA).astype(np.float32).ravel()
    code -= code.mean()
    return code / max(float(np.linalg.norm(code)), 1e-6)


class EmbeddingReuse:
    """Recognition for one source that embeds a face only when it has changed enough to matter.

    At 2 sampled frames a second a talking seller's aligned face often looks the same as half a second ago,
    and the recognizer, the costliest model per face, would return what it returned then. A face that
    overlaps an earlier view's box and whose aligned picture still correlates at `reuse_similarity` with the
    picture that was embedded keeps that embedding (marked `reused`, so the identity-jitter signal ignores
    it); a change of pose, expression, light or person, or `refresh_every_s`, embeds it afresh, and so does
    each of a face's first `fresh_first` frames (what the identity-jitter signal needs). How often faces keep
    an embedding and how close the skipped one would have been: docs/benchmark.md, "Embeddings reused".
    """

    def __init__(self, engine: FaceEngine, settings: RecognitionSettings | None = None) -> None:
        self.engine = engine
        self.settings = settings or RecognitionSettings()
        self._views: list[_EmbeddedView] = []
        self.faces_embedded = 0
        self.faces_reused = 0

    def embed(self, image: np.ndarray, faces: Faces, time_s: float) -> Faces:
        pending = self.prepare(image, faces, time_s)
        return self.complete(pending, self.engine.embed_aligned(pending.to_embed))

    def prepare(self, image: np.ndarray, faces: Faces, time_s: float) -> PendingFaces:
        """Decide which faces keep an embedding; the rest go to the recognizer (`to_embed`), and their
        embeddings come back through `complete`, in order. A watcher embeds the faces of many rooms in one run.
        """
        aligned = [align_face(image, k) for k in faces.keypoints]
        codes = [likeness_code(a) for a in aligned]
        earlier = self._same_faces(faces)
        keeps = [v is not None and self._may_keep(v, code, time_s) for v, code in zip(earlier, codes, strict=True)]
        to_embed = [a for a, keep in zip(aligned, keeps, strict=True) if not keep]
        return PendingFaces(faces, time_s, codes, earlier, keeps, to_embed)

    def complete(self, pending: PendingFaces, fresh: np.ndarray) -> Faces:
        faces = pending.faces
        embeddings = np.zeros((len(faces), EMBEDDING_DIM), dtype=np.float32)
        fresh_rows = iter(fresh)
        views = []
        for i, (view, keep) in enumerate(zip(pending.earlier, pending.keeps, strict=True)):
            if keep and view is not None:
                embeddings[i] = view.embedding
                views.append(replace(view, box=faces.boxes[i]))
            else:
                embeddings[i] = next(fresh_rows)
                count = self._fresh_count(view, embeddings[i])
                views.append(_EmbeddedView(faces.boxes[i], pending.codes[i], embeddings[i], pending.time_s, count))
        self._views = views
        self.faces_embedded += len(pending.to_embed)
        self.faces_reused += len(faces) - len(pending.to_embed)
        return faces.with_embeddings(embeddings, reused=np.array(pending.keeps, dtype=bool))

    def _fresh_count(self, view: _EmbeddedView | None, embedding: np.ndarray) -> int:
        """How many fresh embeddings the face has with this one: one more than its previous view had, or 1 when
        there is no previous view or another person has taken its place."""
        if view is None or float(embedding @ view.embedding) < self.settings.same_face_similarity:
            return 1
        return view.fresh_count + 1

    def _may_keep(self, view: _EmbeddedView, code: np.ndarray, time_s: float) -> bool:
        settings = self.settings
        return (
            view.fresh_count >= settings.fresh_first
            and time_s - view.embedded_s < settings.refresh_every_s
            and float(code @ view.likeness_code) >= settings.reuse_similarity
        )

    def _same_faces(self, faces: Faces) -> list[_EmbeddedView | None]:
        """For each face, the previous frame's view it continues: the most overlapping one, each taken once."""
        found: list[_EmbeddedView | None] = [None] * len(faces)
        if not self._views or not len(faces):
            return found
        overlap = iou_matrix(faces.boxes, np.stack([v.box for v in self._views]))
        for face, view in greedy_pairs(np.where(overlap >= self.settings.min_iou, overlap, -np.inf)):
            found[face] = self._views[view]
        return found
