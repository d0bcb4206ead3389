"""A webhook endpoint that answers something that is not HTTP costs that alert, never the webhook: the sending
thread ended in a traceback on the watch's screen (http.client.BadStatusLine is no OSError), and every later
alert of the watch stayed in its queue undelivered. And a --webhook URL nothing can be posted to is refused
when the watch starts, in one line."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from impersonation_cli.errors import UserError
from impersonation_cli.outputs.alerts import WebhookSender, WebhookSettings, validate_webhook


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


# URLs urllib cannot post to: 'Invalid IPv6 URL' (a ValueError: `watch` ended 'internal error', exit 4), and
# ports, spaces, control characters and non-ASCII paths that it refuses only when the first alert is sent.
UNPOSTABLE = [
    ("http://[::1/hook", "not a valid URL: Invalid IPv6 URL"),
    ("http://hooks.example:abc/x?token=s3cret", "not a valid URL: Port could not be cast"),
    ("http://hooks.example:99999/x", "not a valid URL: Port out of range"),
    ("http://hooks.example/al erts", "percent-encode"),
    ("http://hooks.exa\nmple/x", "percent-encode"),
    ("http://hooks.example/pfad/\u00fc", "percent-encode"),
    ("http://user@/hook", "must be an http:// or https:// URL"),
]


@pytest.mark.parametrize(("url", "words"), UNPOSTABLE)
def test_a_webhook_url_nothing_can_be_posted_to_is_refused_in_one_line(url: str, words: str) -> None:
    with pytest.raises(UserError, match=r"^--webhook ") as refused:
        validate_webhook(url)
    message = str(refused.value)
    assert words in message and "\n" not in message and "s3cret" not in message


def test_webhook_urls_that_can_be_posted_to_pass() -> None:
    for url in (
        "https://hooks.example/a%20b?token=x#f",
        "http://user:pw@[::1]:8080/hook",
        "http://b\u00fccher.example/x",
    ):
        assert validate_webhook(url) == url
