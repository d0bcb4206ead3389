"""What became of the webhook's lines when the watch ends: every line queued is either sent or failed. A line
still queued or being posted when the close gave up waiting was counted nowhere: a webhook that never answered
ended 'webhook sent 0, failed 0' beside '1 written' (found with `watch --webhook` at a port that accepts and
never answers, stopped with Ctrl-C). No model; a loopback socket that never answers."""

from __future__ import annotations

import socket
import time

from impersonation_cli.outputs.alerts import WebhookSender, WebhookSettings


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
        sender.close(0.3)
        assert time.monotonic() - started < 2.0
        assert (sender.sent, sender.failed) == (0, 2)
        assert sender.last_error == "not delivered within 0.3 s of the watch's end"
        sender.close(0.3)  # closing again counts nothing twice
        assert (sender.sent, sender.failed) == (0, 2)
    finally:
        silent.close()  # the post still waiting fails now; the closed sender does not count it again
    sender.join(5.0)
    assert not sender.is_alive() and (sender.sent, sender.failed) == (0, 2)
