"""JSON lines stay one document per line: the alerts file when an earlier line was left unfinished
(outputs.alerts), and alerts and `--jsonl` whatever line-breaking characters their text holds."""

from __future__ import annotations

import errno
import json
from pathlib import Path
from typing import Any

import pytest

from impersonation_cli.outputs import alerts
from impersonation_cli.outputs.alerts import (
    AlertEvent,
    AlertSink,
    WebhookSender,
    WebhookSettings,
    default_evidence_dir,
)
from impersonation_cli.outputs.files import write_outputs

from .builders import appearance, scan_result, source


def event(person: str, url: str = "rtmp://h/a") -> AlertEvent:
    return AlertEvent("unauthorized-likeness", person, "douyin:1", ["douyin:1"], url, None, 0.8, 0.5, 2, 1, 3.0,
                      "now", "now")  # fmt: skip


class FillsUp:
    """A raw file on a disk that fills up after `room` bytes, then has room again."""

    def __init__(self, path: Path, room: int) -> None:
        self.file = path.open("ab", buffering=0)
        self.room = room

    def write(self, data: memoryview) -> int:
        if self.room == 0:
            raise OSError(errno.ENOSPC, "No space left on device")
        taken = self.file.write(data[: self.room])
        self.room -= taken
        return taken

    def close(self) -> None:
        self.file.close()


def test_an_alert_after_a_line_cut_short_by_a_full_disk_is_a_line_of_its_own(tmp_path: Path) -> None:
    """The line after one a full disk cut short was glued to it: neither parsed, so that alert was lost too."""
    path = tmp_path / "alerts.jsonl"
    sink = AlertSink(path, None, 600.0)
    sink._file.close()  # type: ignore[union-attr]
    disk = FillsUp(path, 40)
    sink._file = disk  # type: ignore[assignment]
    sink.emit(event("Ann"))
    disk.room = 10**6  # the disk has room again
    sink.emit(event("Bob"))
    sink.close()
    last = path.read_text(encoding="utf-8").splitlines()[-1]
    assert json.loads(last)["person"] == "Bob"
    assert (sink.written, sink.write_failures) == (1, 1)


def test_an_alerts_file_that_ends_without_a_newline_gets_one_before_the_next_alert(tmp_path: Path) -> None:
    path = tmp_path / "alerts.jsonl"
    path.write_bytes(b'{"schema": "impersonation-cli/alert", "person": "Eve"}')  # saved by an editor, no newline
    sink = AlertSink(path, None, 600.0)
    sink.emit(event("Ann"))
    sink.close()
    assert [json.loads(line)["person"] for line in path.read_text(encoding="utf-8").splitlines()] == ["Eve", "Ann"]


# Line breaks to str.splitlines() (and to editors) that JSON leaves raw inside a string: a file name may hold them.
BREAKING = 'clip\u2028{"forged": 1}\u2029\x85.mp4'


def test_an_alert_naming_a_file_with_line_separators_is_one_line(tmp_path: Path) -> None:
    """A room's file name holding U+2028 made one alert seven lines to str.splitlines(), none of them JSON."""
    path = tmp_path / "alerts.jsonl"
    sink = AlertSink(path, None, 600.0)
    sink.emit(event("Ann", BREAKING))
    sink.close()
    (line,) = path.read_text(encoding="utf-8").splitlines()
    assert json.loads(line)["url"] == BREAKING


def test_jsonl_appearances_with_line_separators_are_one_line_each(tmp_path: Path) -> None:
    path = tmp_path / "appearances.jsonl"
    write_outputs(scan_result([appearance(source=BREAKING)], [source(BREAKING)]), None, path)
    (line,) = path.read_text(encoding="utf-8").splitlines()
    assert json.loads(line)["source"] == BREAKING


def test_alerts_into_a_device_or_stdout_have_no_default_evidence_folder() -> None:
    """`watch --alerts /dev/null` saved its crops in /dev/null-evidence (a user who may not write in /dev could
    not watch at all: 'cannot make the folder /dev/null-evidence')."""
    assert default_evidence_dir(Path("out/alerts.jsonl")) == Path("out/alerts-evidence")
    assert [default_evidence_dir(p) for p in (Path("/dev/null"), Path("-"), None)] == [None, None, None]


# A video whose file name is not UTF-8, as Python holds it (os.fsdecode of b'bad\xff.mp4').
NOT_UTF8 = "bad\udcff.mp4"


def test_an_alert_naming_a_file_that_is_not_utf8_is_written_and_posted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first alert of a room whose file name was not UTF-8 ended the watch: UnicodeEncodeError, exit 4."""
    posted: list[bytes] = []

    class Opener:
        def open(self, request: Any, timeout: float) -> Any:
            posted.append(request.data)
            raise OSError("no network in a unit test")

    monkeypatch.setattr(alerts, "WEBHOOK_OPENER", Opener())
    path = tmp_path / "alerts.jsonl"
    sink = AlertSink(path, None, 600.0)
    sink.emit(event("Ann", NOT_UTF8))
    sink.close()
    # The byte as the visible \xff (io/names.py): a \udcff escape, a lone surrogate, failed strict JSON parsers.
    assert json.loads(path.read_bytes())["url"] == "bad\\xff.mp4"
    WebhookSender("http://127.0.0.1:9/hook", WebhookSettings(retries=0))._post(event("Ann", NOT_UTF8).to_dict())
    assert json.loads(posted[0])["url"] == "bad\\xff.mp4"
