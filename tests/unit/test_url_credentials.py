"""Stream URLs may carry credentials (`rtsp://user:secret@cam/live`, `?token=...`, `auth_key=`, `sign=`).
`io.urls.redact_url` is how a URL is shown: its password and the values of credential-like query parameters
masked, everything else as given."""

from __future__ import annotations

import pytest

from impersonation_cli.io.urls import redact_url, redact_urls

SECRET = "s3cr3t"
URL = f"rtsp://admin:{SECRET}@cam.example:8554/live/room7?token={SECRET}&quality=hd"
SHOWN = "rtsp://admin:***@cam.example:8554/live/room7?token=***&quality=hd"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("rtsp://user:secret@cam.example/live", "rtsp://user:***@cam.example/live"),
        ("rtmp://TOKEN123@host/app/stream", "rtmp://***@host/app/stream"),  # a user name alone is often a token
        ("rtsp://user:@cam/live", "rtsp://user:***@cam/live"),
        ("rtsp://u:p@ss@cam/live", "rtsp://u:***@cam/live"),  # the last '@' ends the userinfo, as FFmpeg reads it
        ("rtsp://u:p%40ss@[::1]:554/live", "rtsp://u:***@[::1]:554/live"),
        ("http://cdn.example/live/a.flv?token=abc&room=7", "http://cdn.example/live/a.flv?token=***&room=7"),
        (
            "http://cdn.example/live/a.m3u8?auth_key=1700000000-0-0-abc&txSecret=f00&txTime=65A0",
            "http://cdn.example/live/a.m3u8?auth_key=***&txSecret=***&txTime=65A0",
        ),
        (
            "https://h/x.flv?expire=1&sign=abc&key=k&password=p",
            "https://h/x.flv?expire=1&sign=***&key=***&password=***",
        ),
        ("https://h/x?X-Amz-Signature=ab&X-Amz-Date=1", "https://h/x?X-Amz-Signature=***&X-Amz-Date=1"),
        ("srt://h:9000?streamid=live/a&passphrase=xyz", "srt://h:9000?streamid=live/a&passphrase=***"),
        ("http://h/x#access_token=abc", "http://h/x#access_token=***"),
        ("RTSP://U:P@H/live?Access-Token=1", "RTSP://U:***@H/live?Access-Token=***"),
    ],
)
def test_credentials_are_masked_and_the_rest_kept(url: str, shown: str) -> None:
    assert redact_url(url) == shown
    assert redact_url(shown) == shown  # applied twice, nothing more changes


@pytest.mark.parametrize(
    "url",
    [
        "rtmp://live.example.com/app/streamkey1",  # a key in the path is the stream's name: kept
        "http://127.0.0.1:8080/hls/room.m3u8",
        "https://host/x.zip?next=a@b",  # an '@' in the query is no userinfo
        "https://host/live/@shop?room=1",
        "http://h/x?token=&token",  # nothing to hide
        "/recordings/a@b:c.mp4",  # files are not URLs
        "clips/user:pass@x.mp4",
        "",
        "user:pass@host",
    ],
)
def test_urls_without_credentials_and_paths_are_unchanged(url: str) -> None:
    assert redact_url(url) == url


def test_urls_quoted_in_a_message_are_masked_and_the_message_kept() -> None:
    message = f"{URL}: cannot open; FFmpeg: 'http://h/a.flv?sign={SECRET}'. Then http://u:{SECRET}@h/b, done"
    assert redact_urls(message) == (
        f"{SHOWN}: cannot open; FFmpeg: 'http://h/a.flv?sign=***'. Then http://u:***@h/b, done"
    )
