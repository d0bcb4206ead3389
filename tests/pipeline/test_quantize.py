"""The int8 detector: made from the pack's detector and the shipped calibration pictures, it must find the
faces the published detector finds, at the same places, on media it was not calibrated on."""

from __future__ import annotations

import copy
import shutil
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest

from impersonation_cli.io.sources import sample_frames
from impersonation_cli.pipeline.faces import iou_matrix
from impersonation_cli.runtime.engine import FaceEngine
from impersonation_cli.runtime.packs import load_pack
from impersonation_cli.runtime.quantize import ensure_int8_detector, int8_detector_path


def shared_pictures(media: Path) -> list[np.ndarray]:
    """Photos and video frames of many people, sizes and lights: none of them in the calibration set."""
    photos = sorted((media / "deepface_identities").glob("*/*.jpg"))
    pictures = [cv2.imread(str(p)) for p in photos]
    for clip in (
        media / "face_recognition" / "short_hamilton_clip.mp4",
        media / "ffpp_icpr2020dfdc" / "original" / "634.mp4",
        media / "effects_short_video" / "douyin_style_dance_vtest.avi",
    ):
        if clip.is_file():
            pictures += [f.image for f in sample_frames(str(clip), 0.5)]
    return [p for p in pictures if p is not None]


@pytest.fixture(scope="module")
def published(engine: FaceEngine) -> FaceEngine:
    return FaceEngine(engine.pack, device="cpu", detector=replace(engine.settings, precision="fp32"))


@pytest.fixture(scope="module")
def quantized(published: FaceEngine) -> FaceEngine:
    """The engine with the int8 copy, whether or not this machine runs it faster (the engine's choice)."""
    from insightface.model_zoo import get_model

    swapped = copy.copy(published)
    swapped.detector = get_model(
        str(ensure_int8_detector(published.pack.detector, published.pack.int8_folder).path),
        providers=published.providers,
    )
    swapped.detector.prepare(ctx_id=-1, input_size=(640, 640), det_thresh=published.settings.threshold)
    return swapped


def test_engine_runs_the_int8_copy_where_it_is_faster(engine: FaceEngine, published: FaceEngine) -> None:
    made = ensure_int8_detector(engine.pack.detector, engine.pack.int8_folder)
    assert made.float_ms > 0 and made.int8_ms > 0
    assert engine.detector_precision == ("int8" if made.faster else "fp32")
    assert engine.detector_file == (made.path if made.faster else engine.pack.detector)
    assert published.detector_precision == "fp32"


def test_int8_detector_finds_the_published_detectors_faces(quantized: FaceEngine, published: FaceEngine, media: Path):
    engine = quantized
    pictures = shared_pictures(media)
    assert len(pictures) >= 30
    clear, missed, keypoint_error, cosines = 0, 0, [], []
    for picture in pictures:
        reference, candidate = published.detect(picture), engine.detect(picture)
        overlap = iou_matrix(reference.boxes, candidate.boxes) if len(candidate) else np.zeros((len(reference), 0))
        for i in np.flatnonzero(reference.scores >= 0.6):  # faces near the 0.5 threshold may flip either way
            clear += 1
            j = int(np.argmax(overlap[i])) if overlap.shape[1] else -1
            if j < 0 or overlap[i, j] < 0.5:
                missed += 1
                continue
            height = reference.boxes[i, 3] - reference.boxes[i, 1]
            keypoint_error.append(float(np.abs(reference.keypoints[i] - candidate.keypoints[j]).mean() / height))
            if height >= 40:
                embedded = [
                    engine.embed(picture, faces[[k]]).embeddings[0] for faces, k in ((reference, i), (candidate, j))
                ]
                cosines.append(float(embedded[0] @ embedded[1]))
    print(
        f"{clear} clear faces, {missed} lost; keypoint error p95 {np.percentile(keypoint_error, 95):.4f} of the face "
        f"height; embedding cosine median {np.median(cosines):.4f}, p5 {np.percentile(cosines, 5):.4f}"
    )
    assert clear >= 60
    assert missed <= 0.01 * clear, f"{missed} of {clear} clear faces lost"
    # Keypoints within 1% of the face's height for 95% of faces: alignment, hence identity, is unchanged.
    assert np.percentile(keypoint_error, 95) < 0.01
    assert np.median(cosines) > 0.99 and np.percentile(cosines, 5) > 0.95


def test_int8_detector_is_made_once_and_remade_when_its_source_changes(model_root: Path, tmp_path: Path):
    detector = load_pack("buffalo_sc", model_root).detector  # the smallest detector: made twice here
    source = tmp_path / detector.name
    shutil.copyfile(detector, source)
    folder = tmp_path / "int8"
    built = ensure_int8_detector(source, folder).path
    assert built == int8_detector_path(source, folder) and built.is_file()
    stamp = built.stat().st_mtime_ns
    assert ensure_int8_detector(source, folder).path.stat().st_mtime_ns == stamp  # cached
    built.with_suffix(".json").write_text('{"provenance": {"source_sha256": "another file"}}', encoding="utf-8")
    assert ensure_int8_detector(source, folder).path.stat().st_mtime_ns != stamp  # stale record: made again


def test_engine_runs_the_published_detector_when_the_int8_copy_cannot_be_written(engine: FaceEngine, tmp_path: Path):
    pack_folder = tmp_path / "pack"
    shutil.copytree(engine.pack.folder, pack_folder, ignore=shutil.ignore_patterns("int8"))
    (pack_folder / "int8").write_text("a file where the folder should be", encoding="utf-8")
    pack = replace(
        engine.pack, folder=pack_folder, files={r: pack_folder / p.name for r, p in engine.pack.files.items()}
    )
    fallback = FaceEngine(pack, device="cpu", detector=engine.settings)
    assert fallback.detector_precision == "fp32" and fallback.detector_file == pack.detector
    assert fallback.notice is not None and "int8" in fallback.notice


def test_a_detector_that_cannot_be_quantized_is_a_one_line_pack_error(tmp_path: Path) -> None:
    from impersonation_cli.errors import ModelPackError

    damaged = tmp_path / "det_damaged.onnx"
    damaged.write_bytes(b"not an onnx model")
    with pytest.raises(ModelPackError, match=r"cannot make an int8 copy of det_damaged\.onnx"):
        ensure_int8_detector(damaged, tmp_path / "int8")
