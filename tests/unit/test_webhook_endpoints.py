"""A webhook endpoint that answers something that is not HTTP costs that alert, never the webhook: the sending
thread ended in a traceback on the watch's screen (http.client.BadStatusLine is no OSError), and every later
alert of the watch stayed in its queue undelivered. And a --webhook URL nothing can be posted to is refused
when the watch starts, in one line."""

from __future__ import annotations

import http.server
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import ClassVar

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


def _two_alerts(port: int, timeout_s: float) -> WebhookSender:
    """A sender to the endpoint on `port`, no retries, that has posted two alerts and closed."""
    sender = WebhookSender(f"http://127.0.0.1:{port}/hook", WebhookSettings(timeout_s=timeout_s, retries=0))
    sender.start()
    sender.send({"verdict": "likely-synthetic"})
    sender.send({"verdict": "likely-replay"})
    sender.close(10.0)
    return sender


def test_an_answer_that_is_not_http_fails_that_alert_and_the_webhook_goes_on() -> None:
    with _garbage_server() as port:
        sender = _two_alerts(port, timeout_s=2.0)
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


class _QuietServer(http.server.ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client that left mid-answer (a sender given up): expected, not a traceback to print


class _Moved(http.server.BaseHTTPRequestHandler):
    """An endpoint moved elsewhere: /hook answers 301 to /new; /new takes the alert."""

    code: ClassVar[int] = 301
    received: ClassVar[list[tuple[str, str, bytes]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        type(self).received.append((self.command, self.path, body))
        if self.path == "/hook":
            self.send_response(type(self).code)
            self.send_header("Location", "/new?token=s3cret")
        else:
            self.send_response(204)
        self.end_headers()

    do_GET = do_POST

    def log_message(self, *_args: object) -> None:
        pass


@pytest.mark.parametrize("code", [301, 302, 303])
def test_a_redirected_alert_fails_naming_where_it_was_sent(code: int) -> None:
    """urllib follows a POST's 301, 302 or 303 as a GET without its body: the alert reached nobody and counted as
    sent (an http:// webhook its server moves to https:// lost every alert, 'webhook sent N, failed 0')."""
    _Moved.code, _Moved.received = code, []
    with _QuietServer(("127.0.0.1", 0), _Moved) as server:
        threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True).start()
        try:
            port = server.server_address[1]
            sender = WebhookSender(f"http://127.0.0.1:{port}/hook", WebhookSettings(timeout_s=2.0, retries=0))
            sender.start()
            sender.send({"verdict": "likely-synthetic"})
            sender.close(10.0)
        finally:
            server.shutdown()
    assert (sender.sent, sender.failed) == (0, 1)
    assert sender.last_error == (
        f"webhook redirected to http://127.0.0.1:{port}/new?token=***: post to that URL instead (--webhook)"
    )
    assert [(method, path) for method, path, _ in _Moved.received] == [("POST", "/hook")]


class _Endless(http.server.BaseHTTPRequestHandler):
    """Takes the alert (200), then sends an answer that never ends."""

    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(200)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        chunk = b"%x\r\n%s\r\n" % (1 << 16, b"x" * (1 << 16))
        try:
            for _ in range(3000):  # 30 s of it: far past the sender's close, and memory bounded were it all read
                self.wfile.write(chunk)
                time.sleep(0.01)
        except OSError:  # the sender stopped reading and closed
            pass

    def log_message(self, *_args: object) -> None:
        pass


def test_an_answer_that_never_ends_is_not_read_to_its_end() -> None:
    """The answer to an alert was read whole into memory: an endpoint streaming one without end held the webhook
    (every later alert undelivered) while the watch's memory grew by its data."""
    with _QuietServer(("127.0.0.1", 0), _Endless) as server:
        threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True).start()
        try:
            url = f"http://127.0.0.1:{server.server_address[1]}/hook"
            sender = WebhookSender(url, WebhookSettings(timeout_s=2.0, retries=0))
            sender.start()
            sender.send({"verdict": "likely-synthetic"})
            sender.close(3.0)
        finally:
            server.shutdown()
    assert (sender.sent, sender.failed, sender.last_error) == (1, 0, None)


class _Answers(http.server.BaseHTTPRequestHandler):
    """Answers the first POST as `first` says, every later one 200; counts the POSTs."""

    first: ClassVar[str] = ""
    posts: ClassVar[list[float]] = []

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.posts.append(time.monotonic())
        if len(self.posts) == 1 and self.first == "trickle":
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            for _ in range(20):  # a byte every 0.1 s: each read within its timeout, the body never within it
                self.wfile.write(b"x")
                self.wfile.flush()
                time.sleep(0.1)
            return
        if len(self.posts) == 1 and self.first:
            self.send_response(302)
            self.send_header("Location", self.first)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *_args: object) -> None:
        pass


@contextmanager
def _answering(first: str) -> Iterator[int]:
    _Answers.first, _Answers.posts = first, []
    server = _QuietServer(("127.0.0.1", 0), _Answers)
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(
    ("location", "shown"),
    [
        ("http://[bad/x", "redirected to http://[bad/x: post to that URL instead (--webhook)"),  # ValueError
        ("smb://admin:Secret9@host/share?token=abc", "redirected to smb://admin:***@host/share?token=***: post to"),
    ],
)
def test_a_redirect_urllib_cannot_read_or_may_not_follow_fails_that_alert_only(location: str, shown: str) -> None:
    """A redirect to 'http://[bad/x' raised ValueError in urllib's redirect handling: the sending thread died in
    a traceback and 13 alerts went undelivered. One to smb:// was quoted whole, password and token."""
    with _answering(location) as port:
        sender = _two_alerts(port, timeout_s=2.0)
    assert (sender.sent, sender.failed, len(_Answers.posts)) == (1, 1, 2)
    assert sender.last_error is not None and sender.last_error.startswith(f"webhook {shown}"), sender.last_error
    assert "Secret9" not in sender.last_error


def test_an_answer_that_trickles_does_not_hold_the_alerts_after_it() -> None:
    """200 with a body of a byte every 2 s: each read met its timeout, the first alert held the sending thread for
    the whole watch, and none after it was posted. The answer is read until the timeout, and the alert counted
    delivered: the webhook accepted it."""
    with _answering("trickle") as port:
        sender = _two_alerts(port, timeout_s=0.3)
    assert (sender.sent, sender.failed, len(_Answers.posts)) == (2, 0, 2)
    assert _Answers.posts[1] - _Answers.posts[0] < 1.5  # within the timeout (and a read) of the first, not 2 s
