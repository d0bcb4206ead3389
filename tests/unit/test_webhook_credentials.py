"""A webhook URL may carry a user name and password (`http://user:pw@host/hook`): they go as HTTP Basic
authentication, and never into what the watch writes. urllib read 'user:pw@host' as a host name and never
delivered; a redirect refused named its target, password and token included, in the summary's last_error."""

from __future__ import annotations

import base64
import http.server
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import ClassVar

from impersonation_cli.outputs.alerts import WebhookSender, WebhookSettings


class _Hook(http.server.BaseHTTPRequestHandler):
    seen: ClassVar[list[str | None]] = []

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        type(self).seen.append(self.headers.get("Authorization"))
        if self.path == "/moved":
            self.send_response(302)
            self.send_header("Location", "ftp://mirror:s3cretpw@example.invalid/in?token=abc123")
        else:
            self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def _hook_server() -> Iterator[int]:
    _Hook.seen = []
    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hook) as server:
        thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)  # shut down at once
        thread.start()
        try:
            yield server.server_address[1]
        finally:
            server.shutdown()


def _deliver(url: str) -> WebhookSender:
    sender = WebhookSender(url, WebhookSettings(timeout_s=5.0, retries=0))
    sender.start()
    sender.send({"verdict": "likely-synthetic"})
    sender.close(10.0)
    return sender


def test_a_webhook_password_is_sent_as_basic_authentication() -> None:
    with _hook_server() as port:
        sender = _deliver(f"http://alerts:pa%40ss@127.0.0.1:{port}/hook")
    assert (sender.sent, sender.failed, sender.last_error) == (1, 0, None)
    assert _Hook.seen == ["Basic " + base64.b64encode(b"alerts:pa@ss").decode()]


def test_a_refused_redirect_names_its_target_without_credentials() -> None:
    with _hook_server() as port:
        sender = _deliver(f"http://127.0.0.1:{port}/moved")
    assert sender.failed == 1 and sender.last_error is not None
    assert "ftp://mirror:***@example.invalid" in sender.last_error
    assert "s3cretpw" not in sender.last_error and "abc123" not in sender.last_error
