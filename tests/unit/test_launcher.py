"""A Ctrl-C while the CLI is still being imported, or while a command runs, is one line and exit 130, not a
KeyboardInterrupt traceback (a QA pass saw one by interrupting `models install` in its first half-second)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

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


# A command interrupted while it runs (`watch` or `scan` loading the models, `report` writing a large report).
INTERRUPTED_COMMAND = """
import sys

import impersonation_cli.cli.report_cmd as report_cmd

def interrupted(*args, **kwargs):
    raise KeyboardInterrupt

report_cmd.write_reports = interrupted
sys.argv = ["impersonation-cli", "report", "result.json", "--html", "report.html"]
from impersonation_cli.launcher import main
main()
"""


def test_an_interrupt_while_a_command_runs_is_one_line_and_exit_130(tmp_path: Path) -> None:
    """Typer turns a KeyboardInterrupt into exit 130 with nothing said: a Ctrl-C while `watch` loaded its models
    ended it without a word (run_app's 'aborted', for an Abort, was never reached)."""
    done = subprocess.run(
        [sys.executable, "-c", INTERRUPTED_COMMAND],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=tmp_path,
    )
    assert (done.returncode, done.stderr) == (130, "error: aborted\n")
