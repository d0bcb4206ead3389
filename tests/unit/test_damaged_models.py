"""A model file that does not load (a partial copy, a disk error, not an ONNX model) is a one-line error naming
it, exit 2: `scan` with a pack whose recognizer was cut short ended in an internal error, exit 4, 'DecodeError:
Error parsing message with type onnx.ModelProto', naming neither the file nor what to do about it."""

from __future__ import annotations

from pathlib import Path

import pytest

from impersonation_cli.errors import EXIT_USAGE, ModelPackError
from impersonation_cli.runtime.engine import DetectorSettings, FaceEngine, load_model
from impersonation_cli.runtime.onnx_rewrites import inference_session
from impersonation_cli.runtime.packs import ModelPack
from impersonation_cli.runtime.sessions import session_options


def _pack(folder: Path, name: str) -> ModelPack:
    files = {}
    for role, file in (("detection", "det_2.5g.onnx"), ("recognition", "w600k_mbf.onnx")):
        (folder / file).write_bytes(b"\x08\x07" + b"cut short" * 50)
        files[role] = folder / file
    return ModelPack(name=name, folder=folder, files=files)


def test_a_detector_onnx_runtime_cannot_read_is_named_with_how_to_check_its_pack(tmp_path: Path) -> None:
    pack = _pack(tmp_path, "sc-2.5g")
    with pytest.raises(ModelPackError) as caught:
        FaceEngine(pack, device="cpu", detector=DetectorSettings(precision="fp32"), threads=1)
    message = str(caught.value)
    assert message.startswith(f"model file {pack.detector} does not load: damaged or not an ONNX model (")
    assert message.endswith(
        "`impersonation-cli models verify sc-2.5g` checks its files, `models install sc-2.5g` replaces them"
    )
    assert "\n" not in message and caught.value.exit_code == EXIT_USAGE


def test_a_recognizer_onnx_cannot_parse_is_named_and_a_folder_pack_gets_no_verify_hint(tmp_path: Path) -> None:
    pack = _pack(tmp_path, "my-own-pack")
    with pytest.raises(ModelPackError) as caught:
        load_model(
            pack,
            pack.recognizer,
            lambda: inference_session(pack.recognizer, session_options(1), ["CPUExecutionProvider"]),
        )
    assert str(caught.value).startswith(f"model file {pack.recognizer} does not load: damaged or not an ONNX model (")
    assert "models verify" not in str(caught.value)
