"""Output paths checked before the work without making anything: a refused run left empty folders behind (docs:
"Nothing is written then"), and `--json out/` wrote a file named `out`."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from impersonation_cli.errors import UserError
from impersonation_cli.io.atomic_write import write_text_atomic
from impersonation_cli.outputs.files import check_outputs

from .cli_in_process import run_cli


def test_outputs_in_folders_not_made_yet_pass_the_check_and_make_nothing(tmp_path: Path) -> None:
    check_outputs({"--json": tmp_path / "a" / "r.json"}, [], {"--evidence-dir": tmp_path / "b" / "c"})
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("folder", "reason"),
    [("file/sub", errno.ENOTDIR), ("new/" + "x" * 300, errno.ENAMETOOLONG)],
)
def test_a_folder_that_could_not_be_made_is_named_with_the_reason(tmp_path: Path, folder: str, reason: int) -> None:
    (tmp_path / "file").write_text("a file where a folder is wanted")
    wanted = tmp_path / folder
    with pytest.raises(UserError, match=f"^--evidence-dir: cannot make the folder .*: {os.strerror(reason)}$"):
        check_outputs({}, [], {"--evidence-dir": wanted})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def test_a_link_to_a_folder_not_made_yet_is_written_through(tmp_path: Path) -> None:
    (tmp_path / "link").symlink_to(tmp_path / "later", target_is_directory=True)
    check_outputs({"--json": tmp_path / "link" / "r.json"})
    write_text_atomic(tmp_path / "link" / "r.json", "{}")
    assert (tmp_path / "later" / "r.json").read_text() == "{}"


@pytest.mark.parametrize(
    "arguments",
    [
        ["scan", "clip.mp4", "--json", "out/"],
        ["scan", "clip.mp4", "--jsonl", "out/"],
        ["report", "r.json", "--html", "out/"],
        ["report", "r.json", "--junit", "out/"],
        ["gallery", "export", "out/"],
    ],
)
def test_a_file_output_ending_in_a_slash_is_refused(tmp_path: Path, arguments: list[str]) -> None:
    finished = run_cli(*arguments, cwd=tmp_path)
    assert finished.returncode == 2
    assert finished.stderr.endswith("out/: ends in '/', a folder; give a file\n") and finished.stderr.count("\n") == 1
    assert list(tmp_path.iterdir()) == []


def test_a_refused_run_leaves_no_output_folders(tmp_path: Path) -> None:
    (tmp_path / "r.json").write_text('{"schema": "impersonation-cli/scan", "schema_version": "2.0"}')
    outputs = ["--html", "nw/sub/r.html", "--notice", "nw/notices", "--junit", "nw/deep/j.xml"]
    finished = run_cli("report", "r.json", *outputs, cwd=tmp_path)
    assert finished.returncode == 2 and "schema 2.0" in finished.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.json"]
