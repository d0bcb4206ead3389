"""The CLI in a subprocess whose stdout is what a shell gives it: a file appended to (`>> log`), a pipe whose
reader stopped reading (`| head -1`). Only a process of its own has such a descriptor as its stdout."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from impersonation_cli.gallery.store import Gallery, ReferenceFace


def test_an_export_to_dev_stdout_is_appended_and_what_was_done_is_said_on_stderr(tmp_path: Path) -> None:
    """`gallery export /dev/stdout >> log` emptied the log, and 'exported 1 people' was glued to the JSON in a
    pipe (`| jq` failed)."""
    gallery = tmp_path / "g.sqlite"
    with Gallery(gallery) as store:
        face = ReferenceFace(
            "a" * 64, "ref.jpg", "w600k_mbf.onnx:0", np.ones(512, np.float32) / np.sqrt(512), 120, 0.9, 80, 1
        )
        store.add_person("Ann A", [face])
    log = tmp_path / "log.txt"
    log.write_text("kept\n", encoding="utf-8")
    command = [sys.executable, "-m", "impersonation_cli", "gallery", "export", "/dev/stdout", "--gallery", str(gallery)]
    with open(log, "ab") as appended:
        finished = subprocess.run(command, stdout=appended, stderr=subprocess.PIPE, text=True, check=False)
    assert finished.returncode == 0, finished.stderr
    kept, _, exported = log.read_text(encoding="utf-8").partition("\n")
    assert kept == "kept" and [p["name"] for p in json.loads(exported)["persons"]] == ["Ann A"]
    assert finished.stderr == "exported 1 people to /dev/stdout\n"
    # A reader that stopped reading is an error about the output, exit 2, as for '-': it was taken for the last
    # printing of a command, and a scan that found someone ended 0.
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as process:
        assert process.stdout is not None and process.stderr is not None
        process.stdout.close()
        stderr = process.stderr.read()
    assert (process.returncode, stderr) == (
        2,
        "error: cannot write /dev/stdout: its reader stopped reading (broken pipe)\n",
    )


def test_help_for_a_reader_that_stopped_reading_ends_as_it_would_have() -> None:
    """Click ends a command whose printing meets a closed pipe with exit 1, which says 'found': `--help | head -1`
    and `bench --json | true` so ended 1."""
    with subprocess.Popen(
        [sys.executable, "-m", "impersonation_cli", "--help"], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    ) as process:
        assert process.stdout is not None and process.stderr is not None
        process.stdout.close()  # before the help is printed: its write meets a closed pipe
        stderr = process.stderr.read()
    assert (process.returncode, stderr) == (0, b"")
