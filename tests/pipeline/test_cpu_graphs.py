"""The in-memory PRelu rewrite: the published models' outputs, bit for bit, on real faces."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import onnx
import onnxruntime as ort
from onnx import helper, numpy_helper

from impersonation_cli.io.sources import sample_frames
from impersonation_cli.runtime.engine import FaceEngine, align_face
from impersonation_cli.runtime.onnx_rewrites import inference_session, prelu_as_max
from impersonation_cli.runtime.sessions import session_options

from ..conftest import SAMPLES

CPU = ["CPUExecutionProvider"]


def _real_faces(engine: FaceEngine) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Aligned 112-px faces and 192-px landmark crops from the project's own samples."""
    images = [cv2.imread(str(p)) for p in sorted((SAMPLES / "references" / "Eileen_Collins").glob("*.jpg"))]
    images += [f.image for f in sample_frames(str(SAMPLES / "clips" / "astronaut_live.mp4"), 1.0)][:8]
    aligned, crops = [], []
    for image in images:
        faces = engine.detect(image)
        aligned += [align_face(image, k) for k in faces.keypoints]
        for x1, y1, x2, y2 in faces.boxes.astype(int):
            crops.append(cv2.resize(image[max(0, y1) : y2, max(0, x1) : x2], (192, 192)))
    assert len(aligned) >= 5
    return aligned, crops


def _outputs(session: ort.InferenceSession, pictures: list[np.ndarray]) -> np.ndarray:
    side = session.get_inputs()[0].shape[2]
    blob = cv2.dnn.blobFromImages(pictures, 1.0 / 127.5, (side, side), (127.5,) * 3, swapRB=True)
    return np.concatenate(
        [session.run(None, {session.get_inputs()[0].name: blob[i : i + 1]})[0] for i in range(len(blob))]
    )


def test_rewritten_recognizer_and_landmarks_match_the_published_files_bit_for_bit(engine: FaceEngine) -> None:
    aligned, crops = _real_faces(engine)
    models = [(engine.pack.recognizer, aligned, 34)]
    if engine.pack.landmarks is not None:
        models.append((engine.pack.landmarks, crops, 28))
    for path, pictures, prelu_count in models:
        model = onnx.load(str(path))
        assert prelu_as_max(model) == prelu_count
        assert not any(n.op_type == "PRelu" for n in model.graph.node)
        published = ort.InferenceSession(str(path), session_options(1), providers=CPU)
        rewritten = inference_session(path, session_options(1), CPU)
        np.testing.assert_array_equal(_outputs(rewritten, pictures), _outputs(published, pictures))


def _prelu_model(slope: np.ndarray) -> onnx.ModelProto:
    shape = [1, len(slope), 4, 4]
    graph = helper.make_graph(
        [helper.make_node("PRelu", ["x", "slope"], ["y"], name="prelu")],
        "prelu",
        [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, shape)],
        [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, shape)],
        [numpy_helper.from_array(slope.reshape(-1, 1, 1).astype(np.float32), "slope")],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 11)], ir_version=8)


def test_a_slope_above_one_keeps_its_prelu_and_negative_slopes_are_exact(tmp_path: Path) -> None:
    steep = _prelu_model(np.array([0.5, 1.5]))
    assert prelu_as_max(steep) == 0
    assert [n.op_type for n in steep.graph.node] == ["PRelu"]
    signed = _prelu_model(np.array([-0.8, 0.0, 0.25, 1.0]))
    path = tmp_path / "signed.onnx"
    onnx.save(signed, str(path))
    x = np.random.default_rng(0).normal(size=(1, 4, 4, 4)).astype(np.float32)
    published = ort.InferenceSession(str(path), providers=CPU).run(None, {"x": x})[0]
    rewritten = inference_session(path, session_options(1), CPU).run(None, {"x": x})[0]
    np.testing.assert_array_equal(rewritten, published)
    slopes = np.array([-0.8, 0.0, 0.25, 1.0], dtype=np.float32)[:, None, None]
    np.testing.assert_array_equal(published, np.where(x >= 0, x, x * slopes))
