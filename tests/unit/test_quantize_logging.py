"""Quantizing the detector (the first `Scanner.open` of a pack does) silences the quantizer's advice on the root
logger for its few seconds, and then puts the host program's own level back: a service's
`logging.disable(logging.CRITICAL)` was undone (reset to NOTSET) by its first `Scanner.open`."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from impersonation_cli.runtime import quantize


def _tiny_detector(path: Path) -> Path:
    """One convolution over an image of any size: quantized in under a second, as a detector is in seconds."""
    weights = numpy_helper.from_array(np.ones((4, 3, 3, 3), np.float32), "w")
    image = helper.make_tensor_value_info("input.1", TensorProto.FLOAT, [1, 3, None, None])
    scores = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, None, None])
    conv = helper.make_node("Conv", ["input.1", "w"], ["y"], pads=[1, 1, 1, 1])
    graph = helper.make_graph([conv], "g", [image], [scores], [weights])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), str(path))
    return path


@pytest.fixture
def logging_level() -> Iterator[None]:
    before = logging.root.manager.disable
    yield
    logging.disable(before)


@pytest.mark.parametrize("level", [logging.NOTSET, logging.ERROR, logging.CRITICAL])
def test_the_hosts_logging_level_is_put_back_after_quantizing(tmp_path: Path, logging_level: None, level: int) -> None:
    logging.disable(level)
    quantize._build(_tiny_detector(tmp_path / "det.onnx"), tmp_path / "det_int8.onnx")
    assert (tmp_path / "det_int8.onnx").is_file()
    assert logging.root.manager.disable == level
