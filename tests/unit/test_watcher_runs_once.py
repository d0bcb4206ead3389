"""A Watcher run a second time said "threads can only be started once" (its first room's reader): the
message is now what to do."""

from __future__ import annotations

import threading

import pytest

from impersonation_cli.outputs.alerts import AlertSink
from impersonation_cli.pipeline.watch import Watcher, WatchStop


def test_a_watcher_runs_once() -> None:
    watcher = object.__new__(Watcher)  # run() uses its rooms, sink, events and run flag
    watcher.rooms, watcher.sink, watcher.wake = [], AlertSink(None, None, 60.0), threading.Event()
    watcher._stop, watcher._ran = WatchStop(), False
    watcher._loop = lambda on_round: None  # type: ignore[method-assign]
    watcher.run()
    with pytest.raises(RuntimeError, match=r"a Watcher runs once: take another from Scanner\.watcher"):
        watcher.run()
