"""--quiet prints errors and the requested output only: a line saying what a command did (`exported 1 people to
x.json`, `douyin:1 authorized for Ann A`) is a note, dropped as `report -q` drops its own; a table asked for stays."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from impersonation_cli.gallery.store import Gallery, ReferenceFace

from .cli_in_process import run_cli


def _gallery(tmp_path: Path) -> Path:
    path = tmp_path / "g.sqlite"
    embedding = np.ones(512, dtype=np.float32) / np.sqrt(512)
    with Gallery(path) as store:
        store.add_person("Ann A", [ReferenceFace("a" * 64, "ref.jpg", "w600k_mbf.onnx:0", embedding, 120, 0.9, 80, 1)])
    return path


def test_quiet_drops_the_line_saying_what_was_done(tmp_path: Path) -> None:
    gallery = ["--gallery", str(_gallery(tmp_path))]
    exported = str(tmp_path / "x.json")
    commands = [
        ["gallery", "export", exported],
        ["gallery", "import-file", exported],
        ["gallery", "authorize", "Ann A", "douyin:1"],
        ["gallery", "revoke", "Ann A", "douyin:1"],
    ]
    for command in commands:
        quiet = run_cli(*command, *gallery, "-q")
        assert (quiet.returncode, quiet.stdout, quiet.stderr) == (0, "", ""), command
    said = run_cli("gallery", "export", exported, *gallery)
    assert said.stdout == f"exported 1 people to {exported}\n"
    listed = run_cli("gallery", "list", *gallery, "-q")  # the requested output: printed
    assert "Ann A" in listed.stdout
