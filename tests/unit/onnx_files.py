"""Small ONNX files with the shapes of a pack's models, for tests that read roles from shapes (no weights)."""

from __future__ import annotations

from pathlib import Path

import onnx
from onnx import TensorProto, helper


def model_file(path: Path, input_shape: list, output_shapes: list[list | None]) -> Path:
    """An ONNX file whose graph declares these shapes (its nodes only have to be valid: the role is read from the
    declared shapes, as of a real pack's files)."""
    image = helper.make_tensor_value_info("input.1", TensorProto.FLOAT, input_shape)
    outputs = [
        helper.make_tensor_value_info(f"out{n}", TensorProto.FLOAT, shape) for n, shape in enumerate(output_shapes)
    ]
    nodes = [helper.make_node("ReduceMean", ["input.1"], [f"out{n}"]) for n in range(len(output_shapes))]
    onnx.save(helper.make_model(helper.make_graph(nodes, "g", [image], outputs)), str(path))
    return path


SCRFD_OUTPUTS = [[None, 1]] * 3 + [[None, 4]] * 3 + [[None, 10]] * 3
