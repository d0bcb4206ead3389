"""What became of the webhook's lines when the watch ends: every line queued is either sent or failed. A line
still queued or being posted when the close gave up waiting was counted nowhere: a webhook that never answered
ended 'webhook sent 0, failed 0' beside '1 written' (found with `watch --webhook` at a port that accepts and
never answers, stopped with Ctrl-C). No model; a loopback socket that never answers."""

from __future__ import annotations

import socket
import threading
import time

from impersonation_cli.outputs.alerts import AlertSink, RoomEvent, WebhookSender, WebhookSettings
from impersonation_cli.pipeline.watch import Watcher, WatchStop


def test_lines_not_delivered_when_the_sender_closes_are_counted_failed() -> None:
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)  # connections complete in the backlog; no answer ever comes
    try:
        sender = WebhookSender(
            f"http://127.0.0.1:{silent.getsockname()[1]}/hook", WebhookSettings(timeout_s=5.0, retries=0)
        )
        sender.start()
        sender.send({"kind": "finding", "verdict": "unauthorized-likeness"})
        sender.send({"kind": "room", "event": "interrupted"})
        started = time.monotonic()
        sender.close(0.1)  # the watch's wait for the webhook, 5 s, shortened
        assert time.monotonic() - started < 2.0
        assert (sender.sent, sender.failed) == (0, 2)
        assert sender.last_error == "still undelivered when the watch ended"
        sender.close(0.1)  # closing again counts nothing twice
        assert (sender.sent, sender.failed) == (0, 2)
    finally:
        silent.close()  # the post still waiting fails now; the closed sender does not count it again
    sender.join(5.0)
    assert not sender.is_alive() and (sender.sent, sender.failed) == (0, 2)


def test_a_stop_while_the_last_alerts_go_out_gives_them_up_at_once() -> None:
    """The watch is over (its duration, or a first Ctrl-C) and the webhook has 5 s to deliver what is queued.
    That wait came after the CLI's signal handlers were gone: a second Ctrl-C then aborted (exit 130) with no
    summary written. The wait is now the end of Watcher.run, where a stop (the handlers' call) cuts it short
    and counts the rest failed."""
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    try:
        sink = AlertSink(None, f"http://127.0.0.1:{silent.getsockname()[1]}/hook", 600.0)
        watcher = object.__new__(Watcher)  # the end of run() uses its rooms, sink, events, run flag
        watcher.rooms, watcher.sink, watcher.wake = [], sink, threading.Event()
        watcher._stop, watcher._ran = WatchStop(), False
        watcher._loop = lambda on_round: None  # type: ignore[method-assign]  # the watch's rounds are over
        sink.note(RoomEvent("interrupted", "douyin:1", "rtmp://127.0.0.1/live/a", None, "live", None, "now"))
        running = threading.Thread(target=watcher.run)
        started = time.monotonic()
        running.start()
        time.sleep(0.1)
        assert running.is_alive()  # delivering the queued line to a webhook that does not answer
        watcher.stop()  # the second Ctrl-C
        running.join(2.0)
        assert not running.is_alive() and time.monotonic() - started < 2.0
        assert sink.summary()["webhook"]["failed"] == 1
        sink.close()  # the watcher's block left: nothing more to wait for
        assert time.monotonic() - started < 2.0
    finally:
        silent.close()
