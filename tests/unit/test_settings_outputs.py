"""An output named like a file the command reads besides its inputs is refused before any work: `scan --json
gallery.sqlite` replaced the gallery with the scan's JSON (every registered person lost), `--json my.toml` the
config given with --config, and `eval --json clip.mp4` a clip the manifest names."""

from __future__ import annotations

from pathlib import Path

import pytest

from impersonation_cli.gallery.store import Gallery

from .cli_in_process import Finished, run_cli
from .test_gallery_import import _export


@pytest.fixture()
def folder(tmp_path: Path) -> Path:
    with Gallery(tmp_path / "g.sqlite") as store:
        store.import_export(_export())
    (tmp_path / "my.toml").write_text("[scan]\nfps = 1.0\n", encoding="utf-8")
    (tmp_path / "clip.mp4").write_bytes(b"not read: refused before")
    (tmp_path / "cases.yaml").write_text("cases:\n  - source: clip.mp4\n", encoding="utf-8")
    return tmp_path


def _run(folder: Path, *arguments: str) -> Finished:
    return run_cli(*arguments, cwd=folder)


@pytest.mark.parametrize(
    ("arguments", "target"),
    [
        (["scan", "clip.mp4", "--gallery", "g.sqlite", "--json", "g.sqlite"], "g.sqlite"),
        (["scan", "clip.mp4", "--gallery", "g.sqlite", "--config", "my.toml", "--jsonl", "./my.toml"], "my.toml"),
        (["watch", "clip.mp4", "--gallery", "g.sqlite", "--alerts", "g.sqlite"], "g.sqlite"),
        (["eval", "cases.yaml", "--json", "clip.mp4"], "clip.mp4"),
        (["eval", "cases.yaml", "--config", "my.toml", "--roc", "my.toml"], "my.toml"),
    ],
)
def test_an_output_naming_the_gallery_config_or_a_case_is_refused(
    folder: Path, arguments: list[str], target: str
) -> None:
    before = (folder / target).read_bytes()
    refused = _run(folder, *arguments)
    assert refused.returncode == 2, refused.stderr
    assert "writing it would destroy that input" in refused.stderr and refused.stderr.count("\n") == 1
    assert (folder / target).read_bytes() == before


def test_a_roc_name_that_cannot_be_encoded_is_refused_before_any_case(folder: Path) -> None:
    """`eval --roc roc.txt` scanned every case before refusing the name (or, with no curve, exited 0 unsaid)."""
    refused = _run(folder, "eval", "cases.yaml", "--roc", "roc.txt")
    assert refused.returncode == 2, refused.stderr
    assert refused.stderr.strip() == "error: cannot write the ROC plot to roc.txt (use a .png name)"
    assert not (folder / "roc.txt").exists()
