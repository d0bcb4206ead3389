"""`models install --from URL` downloads, from a local HTTP server: a URL's password is sent, never printed or
kept; a download too large or that stalls is refused in one line."""

from __future__ import annotations

import base64
import http.server
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from impersonation_cli.errors import ModelPackError
from impersonation_cli.runtime import packs
from impersonation_cli.runtime.packs import _recorded_source, install_pack, redact_url


class _Server(http.server.ThreadingHTTPServer):
    body = b"<html>not a zip</html>"
    length: bool = True  # send a Content-Length
    stall: bool = False  # send half the body, then nothing
    cut: bool = False  # send half the body, then close the connection
    location: str | None = None  # answer a redirect there instead
    authorizations: list[str | None]

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client that left mid-answer (the stalled download given up): expected, not a traceback to print


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        self.server.authorizations.append(self.headers.get("Authorization"))
        if self.server.location:
            self.send_response(302)
            self.send_header("Location", self.server.location)
            self.end_headers()
            return
        self.send_response(200)
        if self.server.length:
            self.send_header("Content-Length", str(len(self.server.body)))
        self.end_headers()
        if self.server.cut:
            self.wfile.write(self.server.body[: len(self.server.body) // 2])
            self.close_connection = True
            return
        if self.server.stall:
            self.wfile.write(self.server.body[: len(self.server.body) // 2])
            self.wfile.flush()
            time.sleep(2)
        self.wfile.write(self.server.body)

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[_Server]:
    httpd = _Server(("127.0.0.1", 0), _Handler)
    httpd.authorizations = []
    # A short poll interval: shutdown() waits for the loop's next poll (0.5 s by default, per test).
    thread = threading.Thread(target=httpd.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def test_a_urls_password_is_redacted() -> None:
    assert redact_url("https://user:pass@host/x.zip") == "https://user:***@host/x.zip"
    assert redact_url("https://user@host:8443/x.zip?a=b@c") == "https://***@host:8443/x.zip?a=b@c"
    assert redact_url("https://host/x.zip?next=a@b") == "https://host/x.zip?next=a@b"
    assert _recorded_source("https://user:s3cret@host/x.zip") == "https://user:***@host/x.zip"
    assert _recorded_source("https://host/x.zip?token=s3cret") == "https://host/x.zip?token=***"


def test_a_download_with_a_password_sends_it_and_never_prints_it(server: _Server, tmp_path: Path) -> None:
    """urllib read 'user:s3cret@host' as a port 's3cret@host' and the internal error (exit 4) named the password."""
    url = f"http://user:s3cret@127.0.0.1:{server.server_port}/pack.zip"
    said: list[str] = []
    with pytest.raises(ModelPackError) as refused:
        install_pack("buffalo_sc", url, tmp_path / "models", progress=said.append)
    shown = f"http://user:***@127.0.0.1:{server.server_port}/pack.zip"
    assert str(refused.value).startswith(f"{shown} is a damaged zip archive")
    assert said == [f"downloading {shown}"]
    assert server.authorizations == ["Basic " + base64.b64encode(b"user:s3cret").decode()]


@pytest.mark.parametrize("length", [True, False], ids=["said-in-advance", "found-reading"])
def test_a_download_over_the_cap_is_refused(
    server: _Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, length: bool
) -> None:
    """There was no cap: an endless stream filled the disk."""
    monkeypatch.setattr(packs, "MAX_DOWNLOAD_BYTES", 3 << 20)
    server.body, server.length = b"x" * (4 << 20), length
    url = f"http://127.0.0.1:{server.server_port}/pack.zip"
    with pytest.raises(ModelPackError, match=rf"^download of {url} is over 3 MiB; no model pack is that large$"):
        install_pack("buffalo_sc", url, tmp_path / "models")
    assert not list((tmp_path / "models").iterdir())


def test_a_download_that_stalls_ends_in_one_line(
    server: _Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(packs, "DOWNLOAD_TIMEOUT", 0.3)
    server.body, server.stall = b"x" * 1000, True
    url = f"http://127.0.0.1:{server.server_port}/pack.zip"
    with pytest.raises(ModelPackError, match=rf"^download of {url} failed: no data for 0.3 s$"):
        install_pack("buffalo_sc", url, tmp_path / "models")


def test_a_url_with_a_port_that_is_not_a_number_is_refused_in_one_line(tmp_path: Path) -> None:
    """http.client's InvalidURL is no OSError or ValueError: it was an internal error (exit 4)."""
    url = "http://user:s3cret@127.0.0.1:notaport/pack.zip"
    with pytest.raises(
        ModelPackError, match=r"^download of http://user:\*\*\*@127\.0\.0\.1:notaport/pack\.zip failed: "
    ):
        install_pack("buffalo_sc", url, tmp_path / "models")


def test_a_download_cut_short_is_called_so_not_a_damaged_archive(server: _Server, tmp_path: Path) -> None:
    """A server that closes the connection before its Content-Length: the half-file was unzipped and the error
    said 'is a damaged zip archive'."""
    server.body, server.cut = b"PK\x03\x04" + b"x" * 4000, True
    url = f"http://127.0.0.1:{server.server_port}/pack.zip"
    with pytest.raises(ModelPackError, match=rf"^download of {url} was cut short: 2002 of 4004 bytes"):
        install_pack("buffalo_sc", url, tmp_path / "models")


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("HTTPS://alice:s3cret@127.0.0.1:9/pack.zip", "HTTPS://alice:***@127.0.0.1:9/pack.zip"),  # any case
        ("https://alice:s3#cret@127.0.0.1:9/pack.zip", "https://***@127.0.0.1:9/pack.zip"),  # '#' unencoded
        ("https://alice:s3/cret@127.0.0.1:9/pack.zip", "https://***@127.0.0.1:9/pack.zip"),  # '/' unencoded
    ],
)
def test_a_url_is_one_in_any_case_and_its_password_never_shown(tmp_path: Path, url: str, shown: str) -> None:
    """'HTTPS://' was taken for a path, refused as a source that 'does not exist' with its password; a password
    holding an unencoded '#' was printed in the 'downloading' line and 'nonnumeric port' error."""
    lines: list[str] = []
    with pytest.raises(ModelPackError) as refused:
        install_pack("buffalo_sc", url, tmp_path / "models", lines.append)
    assert lines == [f"downloading {shown}"] and str(refused.value).startswith(f"download of {shown} failed: ")
    assert "s3" not in str(refused.value)


@pytest.mark.parametrize("url", ["ftp://u:s3cret@host/p.zip", " https://u:s3cret@host/p.zip"])
def test_a_url_not_downloaded_is_refused_without_its_password(tmp_path: Path, url: str) -> None:
    with pytest.raises(ModelPackError, match=r"u:\*\*\*@host/p\.zip: only http:// and https:// URLs are downloaded$"):
        install_pack("buffalo_sc", url, tmp_path / "models")


def test_a_redirect_refused_is_named_without_its_credentials(server: _Server, tmp_path: Path) -> None:
    # urllib's refusal quotes the redirect's target whole: a signed URL's token (a release download's presigned
    # X-Amz-Signature, here token=) was printed in the error.
    server.location = "file:///srv/pack.zip?token=abc123&X-Amz-Signature=def456"
    with pytest.raises(ModelPackError) as refused:
        packs._download(f"http://127.0.0.1:{server.server_address[1]}/pack.zip", tmp_path / "pack.zip", print)
    message = str(refused.value)
    assert "'file:///srv/pack.zip?token=***&X-Amz-Signature=***' is not allowed" in message, message
    assert "abc123" not in message and "def456" not in message


def test_a_redirect_to_another_scheme_is_not_followed(server: _Server, tmp_path: Path) -> None:
    """urllib followed a redirect to ftp:// (it logged in there as anonymous)."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.5)
    server.location = f"ftp://127.0.0.1:{listener.getsockname()[1]}/pack.zip"
    with pytest.raises(ModelPackError, match="not a web URL"):
        packs._download(f"http://127.0.0.1:{server.server_address[1]}/pack.zip", tmp_path / "pack.zip", print)
    with pytest.raises(TimeoutError):
        listener.accept()  # nobody came
    listener.close()


def test_a_redirect_loop_is_refused_on_one_line(server: _Server, tmp_path: Path) -> None:
    """urllib's refusal of a loop spans three lines: the error read '...infinite loop.\\x0aThe last 30x error
    message was:\\x0aFound'."""
    server.location = "/pack.zip"
    with pytest.raises(ModelPackError) as refused:
        packs._download(f"http://127.0.0.1:{server.server_address[1]}/pack.zip", tmp_path / "pack.zip", print)
    message = str(refused.value)
    assert "\n" not in message and "infinite loop. The last 30x error message was: Found" in message, message
