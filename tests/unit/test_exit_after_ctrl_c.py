"""Ctrl-C pressed several times: the first stops the scan, which writes what finished and says so, and a later one
arrived while the process was exiting. It was then killed by SIGINT (exit status -2 where 130 was due) or aborted
in ONNX Runtime's threads ('terminate called without an active exception', 2 of 9 runs with 5 presses 50 ms
apart). Once its command is over, the CLI ignores Ctrl-C."""

from __future__ import annotations

import signal
import sys
from pathlib import Path

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


def test_sigterm_while_a_command_writes_its_file_ends_it_as_ctrl_c_does(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """SIGTERM was Ctrl-C only while a scan read its inputs: sent while a command loaded its models or wrote its
    file (a 23-MB gallery export), it killed the process, exit 143, its hidden temporary file left behind."""
    import os
    import time

    from impersonation_cli.gallery import store

    from .cli_in_process import run_cli

    gallery, exported = tmp_path / "g.sqlite", tmp_path / "people.json"
    store.Gallery(gallery).close()
    original = store.write_text_atomic

    def terminated_while_writing(path: Path, text: str) -> None:
        if signal.getsignal(signal.SIGTERM) is not signal.default_int_handler:
            pytest.fail("SIGTERM would kill the process here")
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)  # the handler raises KeyboardInterrupt first
        original(path, text)

    monkeypatch.setattr(store, "write_text_atomic", terminated_while_writing)
    ended = run_cli("gallery", "export", str(exported), "--gallery", str(gallery))
    assert (ended.returncode, ended.stderr) == (130, "error: aborted\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.sqlite"]
    assert signal.getsignal(signal.SIGTERM) is not signal.default_int_handler  # put back after the command
