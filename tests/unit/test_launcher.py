"""A Ctrl-C while the CLI is still being imported, or while a command runs, is one line and exit 130, not a
KeyboardInterrupt traceback (a QA pass saw one by interrupting `models install` in its first half-second)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

# Makes importing the CLI raise KeyboardInterrupt, as a Ctrl-C during that import does.
PROGRAM = """
import sys

class InterruptedImport:
    def find_spec(self, name, path=None, target=None):
        if name == "impersonation_cli.cli":
            raise KeyboardInterrupt

sys.meta_path.insert(0, InterruptedImport())
from impersonation_cli.launcher import main
main()
"""


def test_an_interrupt_while_loading_is_one_line_and_exit_130() -> None:
    done = subprocess.run([sys.executable, "-c", PROGRAM], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 130
    assert done.stderr == "error: aborted\n"


def test_an_interrupt_while_a_command_runs_is_one_line_and_exit_130(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Typer turns a KeyboardInterrupt into exit 130 with nothing said: a Ctrl-C while `watch` loaded its models
    ended it without a word (run_app's 'aborted', for an Abort, was never reached). A command interrupted while it
    runs (`watch` or `scan` loading the models, `report` writing a large report), in this process: a subprocess
    took 1.2-1.4 s in imports."""
    import impersonation_cli.cli.report_cmd as report_cmd

    from .cli_in_process import run_cli

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(report_cmd, "write_reports", interrupted)
    try:
        done = run_cli("report", "result.json", "--html", "report.html", cwd=tmp_path)
    except KeyboardInterrupt:
        pytest.fail("the Ctrl-C left the CLI as a KeyboardInterrupt")
    assert (done.returncode, done.stderr) == (130, "error: aborted\n")
