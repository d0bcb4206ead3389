"""The int8 detector copy is taken only as it was made: truncated or replaced by another model, it passed
`doctor` ('scans on CPU use it') while every scan and `gallery add` failed on it ('does not load: damaged', or
'Landmark object has no attribute detect' for another model), and `models verify` sent the user to itself."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from impersonation_cli.runtime import quantize
from impersonation_cli.runtime.packs import sha256_of
from impersonation_cli.runtime.quantize import int8_detector_path, made_int8_detector


def _made_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str) -> tuple[Path, Path]:
    """A published detector and its int8 copy beside it (provenance by name alone), not yet recorded."""
    monkeypatch.setattr(quantize, "_provenance", lambda detector: {"source": detector.name})
    detector = tmp_path / name
    detector.write_bytes(b"published")
    copy = int8_detector_path(detector, tmp_path / "int8")
    copy.parent.mkdir()
    copy.write_bytes(b"quantized")
    return detector, copy


def test_a_copy_changed_since_it_was_made_is_not_taken(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    detector, copy = _made_copy(tmp_path, monkeypatch, "det_2.5g.onnx")
    record = {"provenance": {"source": detector.name}, "float_ms": 20.0, "int8_ms": 9.0}
    copy.with_suffix(".json").write_text(json.dumps(record | {"int8_sha256": sha256_of(copy)}), encoding="utf-8")
    made = made_int8_detector(detector, copy.parent)
    assert made is not None and made.path == copy and made.faster
    copy.write_bytes(b"quantiz")  # cut short
    assert made_int8_detector(detector, copy.parent) is None  # a scan makes it again
    copy.with_suffix(".json").write_text(json.dumps(record), encoding="utf-8")  # a record made before the hash
    assert made_int8_detector(detector, copy.parent) is None


def test_a_quantizations_work_folder_left_by_a_killed_process_is_removed_by_the_next(tmp_path: Path) -> None:
    """An install or scan killed mid-quantization left int8/.int8-xxxx/float.onnx (3.3 MB); scans never removed it."""
    import os
    import subprocess
    import sys
    import time

    from impersonation_cli.runtime.packs import WORK_OWNER
    from impersonation_cli.runtime.quantize import STALE_WORK_S, remove_stale_work

    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    killed, running, old, new = (tmp_path / f".int8-{n}" for n in ("killed", "running", "old", "new"))
    for work, owner in ((killed, ended.stdout.strip()), (running, str(os.getppid())), (old, None), (new, None)):
        work.mkdir()
        (work / "float.onnx").write_bytes(b"x")
        if owner is not None:
            (work / WORK_OWNER).write_text(owner, encoding="ascii")
    long_ago = time.time() - STALE_WORK_S - 60
    os.utime(old, (long_ago, long_ago))  # an older version's, without an owner
    (tmp_path / "det_2.5g.onnx").write_bytes(b"the copy")
    remove_stale_work(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".int8-new", ".int8-running", "det_2.5g.onnx"]


def test_the_choice_follows_the_copys_share_run_for_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Timed on every core, det_500m's int8 copy read 0.68 of the published file's time with a core busy and 1.25
    another time: fresh installs on one machine chose differently, and so did the scans' detector and scores.
    The share measured run for run on one thread decides; a record made before it, by its medians."""
    detector, copy = _made_copy(tmp_path, monkeypatch, "det_500m.onnx")
    record = {"provenance": {"source": detector.name}, "float_ms": 20.0, "int8_ms": 9.0, "int8_sha256": sha256_of(copy)}
    for share, faster in ((0.9, False), (0.39, True), (None, True)):
        written = record if share is None else record | {"int8_share": share}
        copy.with_suffix(".json").write_text(json.dumps(written), encoding="utf-8")
        made = made_int8_detector(detector, copy.parent)
        assert made is not None and made.faster is faster, share
