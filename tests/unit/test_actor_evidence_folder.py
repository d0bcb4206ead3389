"""A Ray actor's folder for a task's evidence pictures is made only where evidence is kept: each task made one
for nothing, and every actor killed mid-task (a stopped cluster, a lost node) left it in the temp folder (120 of
them after a day of test runs)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from impersonation_cli.distributed.ray_scan import evidence_folder


@pytest.fixture
def temp_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    return tmp_path


def test_no_folder_is_made_where_no_evidence_is_kept(temp_folder: Path) -> None:
    with evidence_folder(False) as folder:
        assert folder is None
        assert list(temp_folder.iterdir()) == []


def test_the_folder_for_kept_evidence_is_removed_after_the_task(temp_folder: Path) -> None:
    with evidence_folder(True) as folder:
        assert folder is not None and folder.is_dir() and folder.parent == temp_folder
        (folder / "crop.jpg").write_bytes(b"jpeg")
    assert list(temp_folder.iterdir()) == []
