"""Ctrl-C while a Ray scan joins (or starts) its cluster: Ray left the processes of the cluster it was starting
running with no parent, at times the driver died of SIGSEGV, and the scan ended with exit 130 and no result.
The interrupt is now held until ray.init returns, then ends the scan as an interrupted one. No Ray needed here."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from types import SimpleNamespace

import pytest

from impersonation_cli.config import load_config
from impersonation_cli.distributed import ray_scan

from .builders import scan_result


def test_a_ctrl_c_inside_the_block_is_raised_after_it() -> None:
    finished = []
    with pytest.raises(KeyboardInterrupt), ray_scan.sigint_deferred():
        os.kill(os.getpid(), signal.SIGINT)
        finished.append(True)
    assert finished == [True]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_ctrl_c_while_joining_the_cluster_is_an_interrupted_scan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []

    def init(**settings: object) -> None:
        os.kill(os.getpid(), signal.SIGINT)  # as Ctrl-C arrives while Ray starts its processes
        calls.append("init finished")

    fake_ray = SimpleNamespace(init=init, shutdown=lambda: calls.append("shutdown"), exceptions=SimpleNamespace())
    fake_ray.exceptions.RayError = RuntimeError
    monkeypatch.setattr(ray_scan, "import_ray", lambda: fake_ray)
    monkeypatch.setattr(ray_scan, "_drop_raylet_messages", lambda: None)
    local = scan_result([])
    local.sources = []  # what a local scan gives for no unreadable inputs
    monkeypatch.setattr(ray_scan, "scan_inputs", lambda *args: local)
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"x")
    context = SimpleNamespace(config=load_config(), evidence_dir=None)
    result = ray_scan.scan_on_ray([str(clip)], context, {}, ray_scan.RayOptions(address="local"))
    assert calls == ["init finished", "shutdown"]
    assert result.status == "interrupted"
    assert [(s.source, s.status) for s in result.sources] == [(str(clip), "interrupted")]
