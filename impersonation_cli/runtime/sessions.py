"""ONNX Runtime set-up shared by every model: the providers for a --device, and the session options."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import numpy as np
import onnxruntime as ort

from impersonation_cli.errors import UserError, check_threads
from impersonation_cli.io.threads import usable_cores

T = TypeVar("T")

DEVICE_PROVIDERS = {
    "cpu": "CPUExecutionProvider",
    "cuda": "CUDAExecutionProvider",
    "tensorrt": "TensorrtExecutionProvider",
    "rocm": "ROCMExecutionProvider",
    "coreml": "CoreMLExecutionProvider",
    "dml": "DmlExecutionProvider",
    "openvino": "OpenVINOExecutionProvider",
}
# Where each provider comes from: the onnxruntime build that has it, in place of the plain one.
PROVIDER_BUILDS = {
    "CUDAExecutionProvider": "install onnxruntime-gpu in place of onnxruntime",
    "TensorrtExecutionProvider": "install onnxruntime-gpu in place of onnxruntime, with NVIDIA's TensorRT libraries",
    "ROCMExecutionProvider": "install AMD's onnxruntime-rocm build in place of onnxruntime",
    "CoreMLExecutionProvider": "the onnxruntime wheels for macOS have it",
    "DmlExecutionProvider": "install onnxruntime-directml in place of onnxruntime (Windows)",
    "OpenVINOExecutionProvider": "install onnxruntime-openvino in place of onnxruntime",
}
AUTO_ORDER = ("cuda", "rocm", "coreml", "dml", "cpu")
# Built into the CPU wheels, yet it runs no model here: it sends requests to models hosted on Azure. Taken as a
# device, every model ran on the CPU fallback while the outputs named Azure as the provider that ran them.
REMOTE_ONLY_PROVIDERS = frozenset({"AzureExecutionProvider"})
# Faces per run of a face model (landmarks, recognizer, forgery detector). A run's memory grows with its batch and
# ONNX Runtime keeps it: one frame of 512 faces (a crowd, or a detector threshold near 0) took 3.5 GB for the
# landmarks and 3 GB for the recognizer, and a photo of thousands was killed for memory with no word. Each face
# is computed alone within its batch: the results are the same in batches of any size.
FACE_BATCH = 32


def in_batches(run: Callable[[list[T]], np.ndarray], items: list[T], size: int = FACE_BATCH) -> np.ndarray:
    """`run` over `items` `size` at a time, its outputs joined in order (at least one run, for the output shape)."""
    if len(items) <= size:
        return run(items)
    return np.concatenate([run(items[start : start + size]) for start in range(0, len(items), size)])


def resolve_providers(device: str) -> list[str]:
    """ONNX Runtime providers for --device, with CPU as the fallback; a provider not built in is an error."""
    available = [name for name in ort.get_available_providers() if name not in REMOTE_ONLY_PROVIDERS]
    if device in REMOTE_ONLY_PROVIDERS:
        raise UserError(
            f"device {device!r} runs no model on this machine (it calls models hosted on Azure): "
            f"choose from auto, {', '.join(DEVICE_PROVIDERS)}"
        )
    if device == "auto":
        chosen = [DEVICE_PROVIDERS[d] for d in AUTO_ORDER if DEVICE_PROVIDERS[d] in available]
        return chosen or ["CPUExecutionProvider"]
    provider = DEVICE_PROVIDERS.get(device, device)
    if provider not in DEVICE_PROVIDERS.values() and provider not in available:  # a typo, not a missing build
        raise UserError(
            f"unknown device {device!r}: choose from auto, {', '.join(DEVICE_PROVIDERS)} "
            f"(or an ONNX Runtime provider: {', '.join(available)})"
        )
    if provider not in available:
        raise UserError(
            f"device '{device}' needs {provider}, which this onnxruntime build lacks "
            f"(available: {', '.join(available)}); {PROVIDER_BUILDS.get(provider, 'an onnxruntime build with it')}"
        )
    return [provider] if provider == "CPUExecutionProvider" else [provider, "CPUExecutionProvider"]


def session_options(threads: int | None) -> ort.SessionOptions:
    check_threads(threads, "threads")  # every engine passes here, whichever way its count came
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # Every core by default, for one inference at a time (the watcher, enrolment); the scan runs detection
    # beside recognition and gives each model its share (io.threads.threads_per_stage).
    options.intra_op_num_threads = threads or usable_cores()
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    # Idle worker threads sleep instead of spinning: the decoder's threads run between inferences, and boxes
    # watching many rooms run several pipelines (measured: docs/benchmark.md, "One thread per stage").
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3
    return options
