"""The machine and libraries a run ran on, recorded with its result: two CPUs give scores that differ in the second
or third decimal (ONNX Runtime picks its kernels by the CPU's vector instructions), so a score quoted as
evidence names where it was measured."""

from __future__ import annotations

import functools
import platform
from dataclasses import dataclass
from pathlib import Path

# The widest of these the CPU has is the one ONNX Runtime's CPU kernels use (Linux reads them from /proc/cpuinfo).
VECTOR_EXTENSIONS = ("avx512f", "avx2", "avx", "sse4_2", "asimd")


@dataclass(frozen=True)
class Host:
    """Versions of the libraries that compute a result's numbers, and the CPU (null where not known)."""

    python: str
    onnxruntime: str
    opencv: str
    av: str
    numpy: str
    machine: str
    cpu: str | None
    vector_extension: str | None


@functools.cache
def this_host() -> Host:
    """This process's host (imports the libraries a scan has loaded already)."""
    import av
    import cv2
    import numpy
    import onnxruntime

    cpu, vector_extension = _cpu_info(Path("/proc/cpuinfo"))
    return Host(
        python=platform.python_version(),
        onnxruntime=onnxruntime.__version__,
        opencv=cv2.__version__,
        av=av.__version__,
        numpy=numpy.__version__,
        machine=platform.machine(),
        cpu=cpu or platform.processor() or None,
        vector_extension=vector_extension,
    )


def _cpu_info(path: Path) -> tuple[str | None, str | None]:
    """The CPU's model name and the widest of VECTOR_EXTENSIONS it has, from a Linux cpuinfo file (each None where
    not known)."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None, None
    fields: dict[str, str] = {}
    for line in text.splitlines():
        key, _, value = line.partition(":")
        fields.setdefault(key.strip().lower(), value.strip())
    flags = fields.get("flags") or fields.get("features") or ""  # x86 names them flags, ARM features
    widest = next((name for name in VECTOR_EXTENSIONS if name in flags.split()), None)
    return fields.get("model name") or None, widest
