"""A webhook endpoint that answers something that is not HTTP costs that alert, never the webhook: the sending
thread ended in a traceback on the watch's screen (http.client.BadStatusLine is no OSError), and every later
alert of the watch stayed in its queue undelivered."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from impersonation_cli.outputs.alerts import WebhookSender, WebhookSettings


@contextmanager
def _garbage_server() -> Iterator[int]:
    """A TCP port that answers every request with a line that is not an HTTP status line."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.1)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                connection, _ = server.accept()
            except TimeoutError:
                continue
            with connection:
                connection.recv(65536)
                connection.sendall(b"garbage \x1b[31m\r\n\r\n")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1]
    finally:
        stop.set()
        thread.join()
        server.close()


def test_an_answer_that_is_not_http_fails_that_alert_and_the_webhook_goes_on() -> None:
    with _garbage_server() as port:
        sender = WebhookSender(f"http://127.0.0.1:{port}/hook", WebhookSettings(timeout_s=2.0, retries=0))
        sender.start()
        sender.send({"verdict": "likely-synthetic"})
        sender.send({"verdict": "likely-replay"})
        sender.close(10.0)
    assert not sender.is_alive()
    assert (sender.sent, sender.failed) == (0, 2)
    assert sender.last_error == "webhook answered something that is not HTTP (BadStatusLine)"
