"""Ctrl-C pressed several times: the first stops the scan, which writes what finished and says so, and a later one
arrived while the process was exiting. It was then killed by SIGINT (exit status -2 where 130 was due) or aborted
in ONNX Runtime's threads ('terminate called without an active exception', 2 of 9 runs with 5 presses 50 ms
apart). Once its command is over, the CLI ignores Ctrl-C."""

from __future__ import annotations

import signal
import sys

import pytest

from impersonation_cli.cli.common import run_app


@pytest.mark.parametrize("arguments", [["--version"], ["scan", "--fps", "nan", "x.mp4"]])
def test_ctrl_c_is_ignored_once_the_command_is_over(monkeypatch: pytest.MonkeyPatch, arguments: list[str]) -> None:
    saved = signal.getsignal(signal.SIGINT)
    monkeypatch.setattr(sys, "argv", ["impersonation-cli", *arguments])
    try:
        # As an interactive shell starts it (a background job, as CI runs the tests, starts with Ctrl-C ignored).
        signal.signal(signal.SIGINT, signal.default_int_handler)
        with pytest.raises(SystemExit):
            run_app()
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, saved)
