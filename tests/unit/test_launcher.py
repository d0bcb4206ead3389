"""A Ctrl-C while the CLI is still being imported, or while a command runs, is one line and exit 130, not a
KeyboardInterrupt traceback (a QA pass saw one by interrupting `models install` in its first half-second)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from unittest import mock

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


# onnxruntime interrupted while it loads: its C API import fails, "initialization failed", from the Ctrl-C.
INTERRUPTED_EXTENSION = PROGRAM.replace(
    "raise KeyboardInterrupt",
    "try:\n                raise KeyboardInterrupt\n            except KeyboardInterrupt as exc:\n"
    "                raise ImportError('initialization failed') from exc",
)


def test_an_extension_interrupted_while_loading_is_one_line_and_exit_130() -> None:
    """A Ctrl-C about a second after start: exit 1 (as if a registered person were found) and a 31-line
    traceback ending in onnxruntime's `ImportError: initialization failed`."""
    done = subprocess.run(
        [sys.executable, "-c", INTERRUPTED_EXTENSION], capture_output=True, text=True, timeout=60, check=False
    )
    assert (done.returncode, done.stderr) == (130, "error: aborted\n")


def test_an_import_error_of_its_own_is_not_taken_for_a_ctrl_c() -> None:
    broken = PROGRAM.replace("raise KeyboardInterrupt", "raise ImportError('no such module')")
    done = subprocess.run([sys.executable, "-c", broken], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 1 and "ImportError: no such module" in done.stderr


@pytest.mark.parametrize("late", [True, False])
def test_a_ctrl_c_before_the_command_or_in_a_late_import_is_one_line_and_exit_130(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, late: bool
) -> None:
    """A Ctrl-C while Typer built the command (before Click handles one) ended the process by SIGINT with a
    traceback; one while a command loaded onnxruntime was 'internal error: ImportError' and exit 4."""
    import impersonation_cli.cli.report_cmd as report_cmd
    from impersonation_cli.cli import common

    from .cli_in_process import run_cli

    def interrupted(*args: object, **kwargs: object) -> None:
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt as exc:
            raise ImportError("initialization failed") from exc

    if late:
        monkeypatch.setattr(report_cmd, "write_reports", interrupted)
    else:
        monkeypatch.setattr(common, "app", mock.Mock(side_effect=KeyboardInterrupt))  # as Typer builds the command
    done = run_cli("report", "result.json", "--html", "report.html", cwd=tmp_path)
    assert (done.returncode, done.stderr) == (130, "error: aborted\n")


def test_the_cli_runs_openblas_on_one_thread_unless_told_otherwise() -> None:
    """Under `ulimit -v` OpenBLAS's thread pool (loaded by InsightFace's SciPy) retried its buffers for ever, or
    ended the scan itself with exit 1 and no result."""
    # The CLI's import interrupted at once (PROGRAM): the setting is made before it, and no library loads.
    program = PROGRAM.replace("main()", "try:\n    main()\nexcept SystemExit:\n    pass\n")
    program += "import os\nprint(os.environ.get('OPENBLAS_NUM_THREADS'))\n"
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    for given, used in ((None, "1"), ("4", "4")):
        if given is not None:
            env["OPENBLAS_NUM_THREADS"] = given
        done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, env=env, timeout=60)
        assert done.stdout.splitlines()[-1] == used


def test_a_ctrl_c_while_the_arguments_are_parsed_is_one_line_and_exit_130(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Typer ends a KeyboardInterrupt met while it parses the arguments (make_context) with exit 130 and not a word:
    `watch` interrupted about a second after start said nothing (3 of 7 tries)."""
    import typer.core

    from .cli_in_process import run_cli

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(typer.core.TyperGroup, "parse_args", interrupted)
    done = run_cli("report", "result.json", "--html", "report.html", cwd=tmp_path)
    assert (done.returncode, done.stderr) == (130, "error: aborted\n")
