"""Stream URLs may carry credentials (`rtsp://user:secret@cam/live`, `?token=...`, `auth_key=`, `sign=`): they were
shown in full in room names, alerts, the scan JSON, the table, reports, notices, evidence file names and error
messages, all of which are handed on to platforms and lawyers. `io.urls.redact_url` is how every one of them shows
a URL now; the full URL is still what is opened."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import numpy as np
import pytest

from impersonation_cli.api import room_specs
from impersonation_cli.errors import UnreadableInput, UserError
from impersonation_cli.io import live_reader
from impersonation_cli.io.live_reader import ReaderSettings, ReaderState, RoomReader
from impersonation_cli.io.rooms import Room
from impersonation_cli.io.sources import expand_inputs, source_key
from impersonation_cli.io.urls import redact_url, redact_urls
from impersonation_cli.outputs.evidence import source_slug
from impersonation_cli.outputs.findings import ReportInput
from impersonation_cli.outputs.html import render_html
from impersonation_cli.outputs.notice import notice_documents
from impersonation_cli.pipeline.matches import TrackMatch
from impersonation_cli.pipeline.scan import ScanProgress, unscanned
from impersonation_cli.pipeline.tracks import BestView, Observation, Track, frame_jpeg
from impersonation_cli.results import ScanResult, Verdict

from .builders import appearance, model_free_watcher, scan_result, source
from .cli_in_process import run_cli

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
        # nginx secure_link (an md5 of the secret and the expiry), and other signed links: shown whole before.
        ("http://h/hls/a.m3u8?md5=Xy9_abc&expires=1765000000", "http://h/hls/a.m3u8?md5=***&expires=1765000000"),
        ("http://h/a.flv?hash=ab12&tok=cd&hmac_sha256=ef", "http://h/a.flv?hash=***&tok=***&hmac_sha256=***"),
        ("RTSP://U:P@H/live?Access-Token=1", "RTSP://U:***@H/live?Access-Token=***"),
        # A password holding an unencoded '#', '?' or '/' ends the authority before its '@': it was shown whole.
        ("rtsp://admin:hun#ter2@127.0.0.1:1/live", "rtsp://admin:***@127.0.0.1:1/live"),
        ("http://alice:hun/ter2@h/x?token=abc", "http://alice:***@h/x?token=***"),
        ("http://alice:hun?ter2@h:9/hook", "http://alice:***@h:9/hook"),
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
        "https://host:8080/path@x",  # a port, then an '@' in the path
        "http://[::1]/x@y",
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


def test_the_full_url_is_opened_and_sources_are_told_apart_by_their_stream() -> None:
    """`scan rtsp://u:a@h/s rtsp://u:b@h/s` scanned one stream twice, and both results showed the same masked
    name; watch refused such a pair (api._target). Both tell sources apart by `source_key`."""
    assert Room(URL).url == URL  # what the reader opens
    assert source_key(URL) == source_key(URL.replace(SECRET, "other")) == SHOWN
    spellings = ["rtsp://u:a@h/s", "rtsp://u:b@h/s", "RTMP://HOST/live/a", "rtmp://host:1935/live/a", "rtmp://h/x"]
    assert expand_inputs(spellings) == (["rtsp://u:a@h/s", "RTMP://HOST/live/a", "rtmp://h/x"], [])
    assert source_key("rtmp://host/live/A") != source_key("rtmp://host/live/a")  # the path is the server's to tell
    assert source_key("clip.mp4") == os.path.abspath("clip.mp4")  # a file: its absolute path, as before


def test_a_scan_result_and_its_json_name_the_source_without_its_secrets() -> None:
    """The scan JSON's `source` (and an appearance's) is the URL as shown: which stream it was, not its password."""
    unreadable = unscanned(URL, "unreadable", f"{URL}: OSError: Connection refused: '{URL}'")
    found = appearance("Eileen Collins", URL)
    result = scan_result([found], [unreadable])
    text = result.to_json()
    assert SECRET not in text
    assert unreadable.source == found.source == SHOWN
    assert unreadable.error == f"{SHOWN}: OSError: Connection refused: '{SHOWN}'"
    assert ScanResult.from_dict(json.loads(text)).sources[0].source == SHOWN


def test_a_result_written_before_is_read_without_its_secrets(tmp_path: Path) -> None:
    """A result file of an earlier version held the full URL: read for a report or notice, it is shown masked."""
    document = scan_result([appearance("Eileen Collins", "x")], [source("x")]).to_dict()
    document["sources"][0]["source"] = document["appearances"][0]["source"] = URL
    result = ScanResult.from_dict(json.loads(json.dumps(document)))
    assert result.sources[0].source == result.appearances[0].source == SHOWN
    report = ReportInput(result, tmp_path / "result.json")
    (notice,) = notice_documents(report, tmp_path).items()
    assert SECRET not in str(notice) and SHOWN in notice[1]
    assert SECRET not in render_html(report)


def test_the_reasons_and_signals_of_a_result_written_before_are_read_without_its_secrets(tmp_path: Path) -> None:
    """Before rooms had names of their own, a `concurrent` reason named them by their URLs: masked as it is read,
    it reached the HTML, the JUnit file and the notice with the password and token."""
    document = scan_result([appearance("Eileen Collins", URL)], [source(URL)]).to_dict()
    found = document["appearances"][0]
    found["verdicts"].append("concurrent")
    found["reasons"].append(f"Eileen Collins is live in 2 rooms within 10 s: {URL}, rtsp://cam2.example/live")
    found["signals"] = {
        "concurrent": {
            "name": "concurrent",
            "score": 1.0,
            "explanation": f"also {URL}",
            "details": {"rooms": URL, "count": 2},
        }
    }
    result = ScanResult.from_dict(json.loads(json.dumps(document)))
    assert result.appearances[0].reasons[-1].endswith(f"{SHOWN}, rtsp://cam2.example/live")
    assert result.appearances[0].signals["concurrent"].details == {"rooms": SHOWN, "count": 2}
    report = ReportInput(result, tmp_path / "result.json")
    (notice,) = notice_documents(report, tmp_path).items()
    assert SECRET not in notice[1] and SECRET not in render_html(report) and SECRET not in result.to_json()


def test_evidence_file_names_carry_no_secret() -> None:
    assert SECRET not in source_slug(URL)
    assert source_slug(URL) == source_slug(SHOWN)  # not even a hash of it


def test_a_rooms_name_and_the_progress_line_show_the_url_masked() -> None:
    assert Room(URL).name == SHOWN and Room(URL).shown_url == SHOWN
    assert Room(URL, "douyin:7").name == "douyin:7"
    assert ScanProgress(URL, 1, 1, 0.0, None, 0.0).source == SHOWN


def test_an_alert_line_and_its_evidence_name_the_room_without_its_secrets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    alerts = tmp_path / "alerts.jsonl"
    watcher = model_free_watcher([Room(URL)], alerts, tmp_path / "evidence", monkeypatch)
    (room,) = watcher.rooms
    observation = Observation(0, 1.0, np.array([0, 0, 8, 8], np.float32), 0.9, np.zeros((5, 2)), np.zeros(512))
    frame = np.zeros((8, 8, 3), np.uint8)
    view = BestView(frame, 1.0, np.array([0, 0, 8, 8], np.float32), frame_jpeg(frame))
    track = Track(1, URL, [observation], view)
    match = TrackMatch(track, "Eileen Collins", 0.7, 0.7, np.array([0.7]), None, -1.0)
    watcher._raise(room, match, Verdict.UNAUTHORIZED, [room.name], ["no authorization"], 0.5)
    watcher.sink.close()
    line = alerts.read_text(encoding="utf-8")
    assert SECRET not in line
    event = json.loads(line)
    assert event["room"] == event["url"] == SHOWN and event["rooms"] == [SHOWN]
    assert SECRET not in event["evidence"]["path"] and SECRET not in event["evidence_frame"]["path"]
    summary = watcher.summary().to_json()
    assert SECRET not in summary and SHOWN in summary
    assert room.state.url == URL  # the reader still opens the full URL


def test_a_live_rooms_error_names_its_url_masked(monkeypatch: pytest.MonkeyPatch) -> None:
    def refused(url: str, *_: float) -> None:
        raise UnreadableInput(f"{url}: cannot open (not a video, damaged, or unreachable): '{url}'")

    monkeypatch.setattr(live_reader, "open_live", refused)
    state = ReaderState(room=Room(URL).name, url=URL)
    reader = RoomReader(state, ReaderSettings(), threading.Event())
    assert not reader._connect_and_read()
    assert state.last_error is not None and SECRET not in state.last_error and SHOWN in state.last_error
    assert SECRET not in json.dumps(state.as_dict())


def test_watch_refuses_a_url_named_twice_without_showing_its_secrets() -> None:
    """Two URLs that differ only in their credentials name one stream: refused, and the error shows neither."""
    other = URL.replace(f"token={SECRET}", "token=0ther")
    with pytest.raises(UserError) as refused:
        room_specs([URL, other])
    assert SECRET not in str(refused.value) and "0ther" not in str(refused.value)
    assert f"named twice: {SHOWN} (URLs are compared without their passwords and tokens" in str(refused.value)
    finished = run_cli("watch", URL, other)
    assert finished.returncode == 2 and SECRET not in finished.stderr + finished.stdout


def test_a_rooms_file_naming_a_url_twice_is_refused_without_its_secrets(tmp_path: Path) -> None:
    rooms = tmp_path / "rooms.yaml"
    rooms.write_text(f"rooms:\n  - {{url: '{URL}', room: 'douyin:1'}}\n  - {{url: '{URL}', room: 'douyin:2'}}\n")
    finished = run_cli("scan", "--rooms", str(rooms))
    assert finished.returncode == 2 and SHOWN in finished.stderr and SECRET not in finished.stderr


def test_a_webhook_whose_password_holds_a_hash_is_refused_without_it() -> None:
    """The refusal quoted the URL whole and urllib's 'Port could not be cast to integer value as 'hun''."""
    from impersonation_cli.errors import UserError
    from impersonation_cli.outputs.alerts import validate_webhook

    with pytest.raises(UserError, match="percent-encoded") as refused:
        validate_webhook("http://alice:hun#ter2@127.0.0.1:9/hook")
    assert "hun" not in str(refused.value) and "ter2" not in str(refused.value)
