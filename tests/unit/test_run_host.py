"""A result names the machine and libraries that computed its numbers (`run.host`, scan schema 1.10): the same
clip gave FF++ Deepfakes_519_515 a forgery score of 0.845 on one 2-core machine and 0.856 on another, with the
same code and models, and nothing in either document said why."""

from __future__ import annotations

import dataclasses
import datetime
from pathlib import Path

import av
import cv2
import numpy
import onnxruntime

from impersonation_cli.results import RunInfo, ScanResult
from impersonation_cli.runtime.host import Host, _cpu_info, this_host
from impersonation_cli.tools.evaluation import report_document

from .builders import scan_result

X86 = """processor\t: 0
vendor_id\t: AuthenticAMD
model name\t: AMD EPYC 7B13
flags\t\t: fpu vme sse4_2 avx avx2 fma
processor\t: 1
model name\t: AMD EPYC 7B13
flags\t\t: fpu vme sse4_2 avx avx2 fma
"""
ARM = """processor\t: 0
BogoMIPS\t: 50.00
Features\t: fp asimd evtstrm aes crc32
"""


def test_a_measured_run_names_this_hosts_libraries() -> None:
    started = datetime.datetime(2026, 12, 5, tzinfo=datetime.UTC)
    host = RunInfo.measured(started, 2.0, 30.0, live=False).host
    assert host is not None
    assert (host.onnxruntime, host.opencv, host.av, host.numpy) == (
        onnxruntime.__version__,
        cv2.__version__,
        av.__version__,
        numpy.__version__,
    )


def test_the_host_survives_a_round_trip_and_an_older_document_has_none() -> None:
    result = scan_result([])
    result.run.host = this_host()
    again = ScanResult.from_dict(result.to_dict())
    assert again.run.host == this_host() and isinstance(again.run.host, Host)
    older = result.to_dict()
    del older["run"]["host"]
    assert ScanResult.from_dict({**older, "schema_version": "1.9"}).run.host is None


def test_the_cpu_and_its_widest_vector_extension_are_read_from_cpuinfo(tmp_path: Path) -> None:
    for text, expected in ((X86, ("AMD EPYC 7B13", "avx2")), (ARM, (None, "asimd"))):
        (tmp_path / "cpuinfo").write_text(text, encoding="utf-8")
        assert _cpu_info(tmp_path / "cpuinfo") == expected
    assert _cpu_info(tmp_path / "absent") == (None, None)


def test_an_eval_document_names_its_host_too() -> None:
    assert report_document([], [], [], [], {})["host"] == dataclasses.asdict(this_host())
