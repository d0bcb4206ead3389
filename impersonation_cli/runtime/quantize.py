"""An int8 copy of a pack's face detector, for CPUs: SCRFD at about half the time, the same faces.

ONNX Runtime's static quantization (QDQ, weights int8 per channel, activations uint8 per tensor) with
activation ranges taken from the calibration pictures in `data/calibration/` (made from the project's
public-domain samples by scripts/make_calibration.py) and four variants of each (hard contrast, dim and
flat, grey, shrunk to a third so faces are small). Its measured speed and accuracy: docs/benchmark.md
("An int8 detector on CPU").

The convolutions that produce the detector's outputs (scores, boxes, keypoints) stay in float: quantized,
they lost a fifth of the faces on the shared media. The original file is never touched; the copy lives in
the pack's `int8/` folder (InsightFace's `FaceAnalysis` only loads the pack's top level) with a record of
what it was made from and both files' time on this machine, and is rebuilt when the source file, the
calibration set, the machine or the ONNX Runtime version changes. Where the copy is not clearly faster
(small detectors such as det_500m, CPUs without fast int8), scans keep the published file.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import platform
import shutil
import statistics
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

from impersonation_cli.errors import ModelPackError
from impersonation_cli.io.atomic_write import write_bytes_atomic
from impersonation_cli.runtime.packs import WORK_OWNER, abandoned, sha256_of
from impersonation_cli.runtime.scrfd import detector_blob
from impersonation_cli.runtime.sessions import session_options

if TYPE_CHECKING:
    import onnx

CALIBRATION_DIR = Path(__file__).resolve().parents[1] / "data" / "calibration"
# QDQ operators with an axis need opset 13; InsightFace's files are opset 11-12.
QDQ_OPSET = 13
CALIBRATION_INPUT_SIZES = (640, 320)  # the full and the small pass (DetectorSettings)
# The int8 copy is used only when it takes at most this share of the published file's time on this machine.
MIN_SPEEDUP = 0.8
TIMING_RUNS = 9
TIMING_PICTURE = "astronaut_live_3.4s.jpg"  # a 720p frame with a face, at 640x360


def int8_detector_path(detector: Path, folder: Path) -> Path:
    """Where the int8 copy of `detector` is kept in `folder` (a pack's `int8_folder`)."""
    return folder / detector.name


@dataclass(frozen=True)
class Int8Detector:
    """The int8 copy of a detector and what it was measured to cost, against the published file, when made."""

    path: Path
    float_ms: float
    int8_ms: float
    int8_share: float | None = None  # the median share of the published file's time, run for run (`_times_ms`)

    @property
    def faster(self) -> bool:
        # Small detectors gain nothing (det_500m: QDQ overhead eats the int8 arithmetic), nor do CPUs
        # without fast int8 instructions: only a clear gain is worth the copy's small differences. A copy made
        # before the share was recorded is judged by its medians.
        share = self.int8_share if self.int8_share is not None else self.int8_ms / self.float_ms
        return share < MIN_SPEEDUP


def made_int8_detector(detector: Path, folder: Path) -> Int8Detector | None:
    """The int8 copy of `detector` in `folder` and its timings when it is made and current (None: a scan would
    make it)."""
    target = int8_detector_path(detector, folder)
    record = _read_record(target.with_suffix(".json"))
    if not (target.is_file() and record and record.get("provenance") == _provenance(detector)):
        return None
    # The copy as made: a damaged or replaced one passed doctor and models verify while every scan failed on it
    # ('does not load', or another model's 'no attribute detect'). Not it: a scan makes it again.
    if record.get("int8_sha256") != sha256_of(target):
        return None
    share = record.get("int8_share")
    return Int8Detector(
        target, float(record["float_ms"]), float(record["int8_ms"]), None if share is None else float(share)
    )


def ensure_int8_detector(detector: Path, folder: Path) -> Int8Detector:
    """The int8 copy of `detector`, made and timed now if it is missing or stale. Raises ModelPackError when it
    cannot be made or written (a read-only models folder): the caller then runs the float detector."""
    if folder.is_dir():
        remove_stale_work(folder)
    made = made_int8_detector(detector, folder)
    if made is not None:
        return made
    target = int8_detector_path(detector, folder)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        _build(detector, target)
        provenance = _provenance(detector)
        float_ms, int8_ms, share = _times_ms(detector, target)
        record = {
            "provenance": provenance,
            "float_ms": float_ms,
            "int8_ms": int8_ms,
            "int8_share": share,
            "int8_sha256": sha256_of(target),
        }
        write_bytes_atomic(target.with_suffix(".json"), json.dumps(record, indent=2).encode())
    except OSError as exc:
        raise ModelPackError(f"cannot write the int8 detector to {target.parent}: {exc.strerror or exc}") from exc
    except ModelPackError:
        raise
    except Exception as exc:  # onnx or the quantizer refusing an unusual detector: run the published one
        raise ModelPackError(f"cannot make an int8 copy of {detector.name}: {exc}") from exc
    return Int8Detector(target, float_ms, int8_ms, share)


def _times_ms(published: Path, int8_copy: Path) -> tuple[float, float, float]:
    """Median milliseconds of one run of each detector on a 720p calibration picture at 640, as scans run it, and
    the median of the copy's share of the published file's time, run for run: the two models' runs are taken in
    turn, on one thread each. Timed one after the other, a busy spell during one decided the choice; on every
    core, the share moved with what else the machine ran (det_500m's 0.9 read 0.68 with a core busy, 1.25 another
    time), and the choice flipped between installs of the same pack on the same machine (a scan's detector and
    scores with it). On one thread, run for run, it stayed within 0.88-0.93 busy or idle."""
    import onnxruntime

    sessions = [
        onnxruntime.InferenceSession(str(model), session_options(1), providers=["CPUExecutionProvider"])
        for model in (published, int8_copy)
    ]
    pictures = _calibration_files()
    picture = next((p for p in pictures if p.name == TIMING_PICTURE), pictures[0])
    blob = detector_blob(_read_calibration(picture), 640)
    times: list[list[float]] = [[], []]
    for run in range(TIMING_RUNS + 2):
        for session, taken in zip(sessions, times, strict=True):
            clock = time.perf_counter()
            session.run(None, {session.get_inputs()[0].name: blob})
            if run >= 2:  # the first runs allocate
                taken.append(time.perf_counter() - clock)
    published_ms, int8_ms = (round(1000 * statistics.median(taken), 2) for taken in times)
    share = statistics.median(copy / first for first, copy in zip(*times, strict=True))
    return published_ms, int8_ms, round(share, 3)


def _provenance(detector: Path) -> dict[str, str]:
    import onnxruntime

    calibration = hashlib.sha256()
    for picture in _calibration_files():
        calibration.update(picture.read_bytes())
    return {
        "source": detector.name,
        "source_sha256": sha256_of(detector),
        "onnxruntime": onnxruntime.__version__,
        "weights": "int8 reduce_range",  # copies made before reduce_range lost faces on CPUs without VNNI
        "machine": f"{platform.machine()} {_cpu_name()} x{os.cpu_count()}",
        "calibration_sha256": calibration.hexdigest(),
        "method": "QDQ static, weights int8 per channel, activations uint8 MinMax, output convolutions float",
    }


def _cpu_name() -> str:
    """The processor's model name (int8 speed depends on its instructions); Linux only, else empty."""
    try:
        lines = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return platform.processor()
    return next((line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")), "")


def _read_record(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _calibration_files() -> list[Path]:
    files = sorted(CALIBRATION_DIR.glob("*.jpg"))
    if not files:
        raise ModelPackError(f"no calibration pictures in {CALIBRATION_DIR}; reinstall impersonation-cli")
    return files


def _read_calibration(path: Path) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise ModelPackError(f"{path}: unreadable calibration picture")
    return image


def calibration_pictures() -> Iterator[np.ndarray]:
    """Each calibration picture and its variants: what a livestream throws at the detector, in little."""
    for path in _calibration_files():
        image = _read_calibration(path)
        yield image
        yield cv2.convertScaleAbs(image, alpha=1.6, beta=-60)  # hard contrast
        yield cv2.convertScaleAbs(image, alpha=0.6, beta=20)  # dim and flat
        yield cv2.cvtColor(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
        yield cv2.resize(image, None, fx=0.35, fy=0.35, interpolation=cv2.INTER_AREA)  # small faces


def output_convolutions(graph: onnx.GraphProto) -> list[str]:
    """Names of the Conv nodes the graph's outputs come from (through reshapes, transposes, activations)."""
    producers = {output: node for node in graph.node for output in node.output}
    found = []
    for output in graph.output:
        node = producers.get(output.name)
        while node is not None and node.op_type != "Conv":
            node = producers.get(node.input[0])
        if node is not None:
            found.append(node.name)
    return found


def _build(detector: Path, target: Path) -> None:
    import onnx
    import onnxruntime
    from onnx import version_converter

    # Calibration runs the float model at sizes its recorded output shapes do not name (det_500m records
    # 640x640): ONNX Runtime warns about every output of every run.
    onnxruntime.set_default_logger_severity(3)
    model = onnx.load(str(detector))
    if max(o.version for o in model.opset_import if o.domain in ("", "ai.onnx")) < QDQ_OPSET:
        model = version_converter.convert_version(model, QDQ_OPSET)
    input_name = model.graph.input[0].name
    blobs = ({input_name: detector_blob(p, s)} for p in calibration_pictures() for s in CALIBRATION_INPUT_SIZES)
    # The quantizer logs advice to the root logger (run its pre-processing; measured: no gain here). The host's
    # own level is put back: a program's logging.disable(CRITICAL) was undone by its first Scanner.open.
    before = logging.root.manager.disable
    logging.disable(max(before, logging.WARNING))
    try:
        _quantize(model, blobs, target)
    finally:
        logging.disable(before)


# A quantization's work folder in the int8 folder, with the process it belongs to: one left by a process killed
# mid-way (3.3 MB each) was removed by the next `models install` and by no scan. Without an owner (being made, or
# of an older version), it is left alone for an hour: a quantization takes seconds.
WORK_PREFIX = ".int8-"
STALE_WORK_S = 3600.0


def remove_stale_work(folder: Path) -> None:
    """Delete the quantizations' work folders in `folder` whose process is gone (or, without an owner, made over
    an hour ago); a running quantization's stays."""
    for work in folder.glob(f"{WORK_PREFIX}*"):
        if abandoned(work, ownerless_after_s=STALE_WORK_S):
            shutil.rmtree(work, ignore_errors=True)


def _quantize(model: onnx.ModelProto, blobs: Iterator[dict[str, np.ndarray]], target: Path) -> None:
    import onnx
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    class Pictures(CalibrationDataReader):
        def get_next(self) -> dict[str, np.ndarray] | None:
            return next(blobs, None)

    with tempfile.TemporaryDirectory(prefix=WORK_PREFIX, dir=target.parent) as work:
        (Path(work) / WORK_OWNER).write_text(str(os.getpid()), encoding="ascii")
        upgraded, quantized = Path(work) / "float.onnx", Path(work) / target.name
        onnx.save(model, str(upgraded))
        quantize_static(
            str(upgraded),
            str(quantized),
            Pictures(),
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            # 7-bit weights: without VNNI (AVX2 CPUs such as AMD EPYC) u8s8 products saturate in 16 bits.
            reduce_range=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            nodes_to_exclude=output_convolutions(model.graph),
        )
        os.replace(quantized, target)
