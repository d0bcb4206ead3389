"""Exact rewrites of published ONNX graphs for ONNX Runtime's CPU kernels, made in memory when a model loads.

InsightFace's recognizer (MobileFaceNet, 34 PRelu) and 106-point landmark model (28 PRelu) use PRelu with a
per-channel slope of shape (C, 1, 1). ONNX Runtime 1.32 runs that through its generic broadcasting kernel,
which made PRelu a large share of the recognizer's time on CPU (figures: docs/benchmark.md, "PRelu
rewritten for the CPU").

For a slope s <= 1, PRelu(x) = x if x >= 0 else s * x equals Max(x, s * x): for x >= 0, x >= s * x; for
x < 0, s * x >= x. The one product is the same multiplication PRelu makes, so the outputs are bit-identical
(tests/pipeline/test_cpu_graphs.py checks it on real faces). A slope above 1 anywhere keeps that node's PRelu.
The files on disk are never changed, so model ids (sha256 of the published file) stay what they were.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import onnxruntime as ort

# onnx is imported only where a model is loaded: importing it takes about a second of CPU (ml_dtypes), which
# every command that loads no model (and every fast test) would pay through faces.py.
if TYPE_CHECKING:
    import onnx


def prelu_as_max(model: onnx.ModelProto) -> int:
    """Replace, in place, each PRelu whose slope is a constant <= 1 by Max(x, slope * x); returns how many."""
    from onnx import helper, numpy_helper

    constants = {tensor.name: tensor for tensor in model.graph.initializer}
    nodes: list[onnx.NodeProto] = []
    replaced = 0
    for node in model.graph.node:
        slope = constants.get(node.input[1]) if node.op_type == "PRelu" else None
        if slope is None or numpy_helper.to_array(slope).max() > 1:
            nodes.append(node)
            continue
        x, scaled = node.input[0], f"{node.output[0]}/slope_times_x"
        nodes.append(helper.make_node("Mul", [x, node.input[1]], [scaled], name=f"{node.name}/mul"))
        nodes.append(helper.make_node("Max", [x, scaled], list(node.output), name=f"{node.name}/max"))
        replaced += 1
    model.graph.ClearField("node")
    model.graph.node.extend(nodes)
    return replaced


def inference_session(path: Path, options: ort.SessionOptions, providers: list[str]) -> ort.InferenceSession:
    """A session for the model at `path`: on CPU with the PRelu rewrite, elsewhere as published (GPU
    providers have their own fused PRelu kernels; the rewrite is measured on CPU only)."""
    if providers[0] != "CPUExecutionProvider":
        return ort.InferenceSession(str(path), options, providers=providers)
    import onnx

    model = onnx.load(str(path))
    prelu_as_max(model)
    return ort.InferenceSession(model.SerializeToString(), options, providers=providers)
