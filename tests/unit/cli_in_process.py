"""The command line run inside the test process, as `python -m impersonation_cli ARGS` runs it (`run_app`: one-line
errors, exit codes), its stdout and stderr captured. A subprocess costs the fast tier 0.6 s a run in imports
alone; the commands run here refuse or finish before any model loads, so nothing heavy is imported (the slow
tiers run their refusals this way too, with `env`: the CLI's environment there)."""

from __future__ import annotations

import contextlib
import functools
import io
import os
import signal
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

import click
import typer
import typer.main

from impersonation_cli.cli import common, main


@dataclass(frozen=True)
class Finished:
    returncode: int
    stdout: str
    stderr: str


@contextlib.contextmanager
def _tool_environment(env: dict[str, str] | None) -> Iterator[None]:
    """The environment the command sees: `env` in place of this process's (as a subprocess given `env=` has), or,
    without one, this process's with the user's IMPERSONATION_* settings (gallery, models, config) set aside, as
    a fresh shell would have."""
    saved = dict(os.environ)
    seen = env if env is not None else {k: v for k, v in saved.items() if not k.startswith("IMPERSONATION_")}
    os.environ.clear()
    os.environ.update(seen)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@functools.cache
def _command(app: typer.Typer) -> click.Command:
    """The app's Click command, built once: Typer builds it from the command functions' signatures on every call
    (18 ms for this app). Click commands keep no state between invocations (each gets its own context)."""
    return _build_command(app)


_build_command = typer.main.get_command


def run_cli(*arguments: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> Finished:
    stdout, stderr = io.StringIO(), io.StringIO()
    saved_argv, saved_cwd, saved_sigint = sys.argv, Path.cwd(), signal.getsignal(signal.SIGINT)
    common.stderr.quiet = False  # --quiet of an earlier run in this process must not carry over
    sys.argv = ["impersonation-cli", *arguments]
    try:
        with (
            _tool_environment(env),
            mock.patch.object(typer.main, "get_command", _command),
            contextlib.redirect_stdout(stdout),
            contextlib.redirect_stderr(stderr),
        ):
            if cwd is not None:
                os.chdir(cwd)
            try:
                main()
                code = 0
            except SystemExit as exit_:
                code = exit_.code if isinstance(exit_.code, int) else int(exit_.code is not None)
    finally:
        sys.argv = saved_argv
        os.chdir(saved_cwd)
        signal.signal(signal.SIGINT, saved_sigint)  # the CLI ignores Ctrl-C once its command is over
        common.stderr.quiet = False
    return Finished(code, stdout.getvalue(), stderr.getvalue())
