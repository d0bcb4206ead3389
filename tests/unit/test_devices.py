"""--device: a name that is no device was reported as a missing onnxruntime build ("device 'nope' needs nope,
which this onnxruntime build lacks ...; install onnxruntime-gpu for CUDA"); it is now named as a typo."""

from __future__ import annotations

from typing import get_args

import pytest

from impersonation_cli.cli.options import Device
from impersonation_cli.errors import UserError
from impersonation_cli.runtime.sessions import DEVICE_PROVIDERS, resolve_providers


@pytest.mark.parametrize("device", ["nope", "", "gpu"])
def test_an_unknown_device_lists_the_choices(device: str) -> None:
    with pytest.raises(UserError, match=f"unknown device '{device}': choose from auto, cpu, cuda,") as refused:
        resolve_providers(device)
    assert "onnxruntime-gpu" not in str(refused.value)


def test_known_devices_and_provider_names_are_taken() -> None:
    assert resolve_providers("cpu") == ["CPUExecutionProvider"]
    assert resolve_providers("CPUExecutionProvider") == ["CPUExecutionProvider"]
    assert resolve_providers("auto")[-1] == "CPUExecutionProvider"


def test_the_help_names_every_device() -> None:
    """--device's help left out openvino, which the command takes (and its error message lists)."""
    help_text = get_args(Device)[1].help
    assert help_text.split(", ") == ["auto", *DEVICE_PROVIDERS]


def test_a_provider_that_runs_no_model_here_is_refused() -> None:
    """onnxruntime's CPU wheels list AzureExecutionProvider: taken as --device, every model ran on the CPU
    fallback while the result named Azure as the provider that ran them."""
    with pytest.raises(UserError, match="'AzureExecutionProvider' runs no model on this machine") as refused:
        resolve_providers("AzureExecutionProvider")
    assert "choose from auto, cpu, cuda" in str(refused.value)
    with pytest.raises(UserError) as unknown:
        resolve_providers("nope")
    assert "Azure" not in str(unknown.value)


@pytest.mark.parametrize(
    ("device", "build"),
    [
        ("cuda", "onnxruntime-gpu"),
        ("openvino", "onnxruntime-openvino"),
        ("dml", "onnxruntime-directml"),
        ("rocm", "onnxruntime-rocm"),
        ("coreml", "macOS"),
    ],
)
def test_a_device_this_build_lacks_names_the_build_that_has_it(device: str, build: str) -> None:
    """Every missing provider was told to 'install onnxruntime-gpu for CUDA', openvino and dml too."""
    with pytest.raises(UserError, match=f"needs {DEVICE_PROVIDERS[device]}, which this onnxruntime build lacks") as no:
        resolve_providers(device)
    assert build in str(no.value)
    assert device == "cuda" or "onnxruntime-gpu" not in str(no.value)
