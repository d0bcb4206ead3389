"""The watch command's durations and rooms (io.rooms.parse_duration, api.room_specs), checked before anything
is opened."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from impersonation_cli.api import room_specs, watch_settings
from impersonation_cli.cli import app, options, scan_cmd, watch_cmd
from impersonation_cli.errors import UserError
from impersonation_cli.io.live_reader import ReaderSettings
from impersonation_cli.io.rooms import Room, parse_duration
from impersonation_cli.pipeline.watch import WatchSettings

from .cli_in_process import run_cli


@pytest.mark.parametrize(
    ("text", "seconds"), [("30s", 30.0), ("10m", 600.0), ("2h", 7200.0), ("1.5", 1.5), (" 5 M ", 300.0)]
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text, "--duration") == seconds


@pytest.mark.parametrize("text", ["0", "-1s", "abc", "10d", ""])
def test_bad_durations_name_the_option(text: str) -> None:
    with pytest.raises(UserError, match=r"--give-up .* is not a duration"):
        parse_duration(text, "--give-up")


def test_a_zero_duration_is_refused_for_being_zero() -> None:
    """'watch --window 0' (or --cooldown 0) said "--window '0' is not a duration such as 30s, 10m or 2h": plain
    seconds are a duration (docs/watch.md), and nothing said it had to be above 0."""
    with pytest.raises(UserError, match=r"^--window '0' is not a duration above 0 such as 30s, 10m or 2h$"):
        parse_duration("0", "--window")


@pytest.mark.parametrize("text", ["99999999999h", "1" * 400, 10**400, 1e300], ids=["hours", "digits", "int", "float"])
def test_durations_past_ten_years_are_refused_naming_the_option(text: str | float) -> None:
    """`watch --timeout 99999999999h` was taken and ended in an OverflowError (a thread wait past
    threading.TIMEOUT_MAX) when the watch stopped; 400 digits were infinity, refused as 'duration_s'."""
    with pytest.raises(UserError, match=r"--timeout .* is longer than the limit of 87600h \(ten years\)"):
        parse_duration(text, "--timeout")


def test_watch_settings_refuse_seconds_past_ten_years() -> None:
    """The Python caller's settings too: ReaderSettings(read_timeout_s=1e12) crashed the watch's shutdown."""
    assert parse_duration("87600h", "--duration") == 87600 * 3600
    for make in (lambda: ReaderSettings(read_timeout_s=1e12), lambda: WatchSettings(duration_s=87600 * 3600 + 1)):
        with pytest.raises(UserError, match="must be at most 315360000 seconds"):
            make()


def test_rooms_from_urls_files_and_rooms_files(tmp_path: Path) -> None:
    video = tmp_path / "live.mp4"
    video.write_bytes(b"")
    rooms = tmp_path / "rooms.yaml"
    rooms.write_text("rooms:\n  - url: rtmp://host/live/b\n    room: douyin:2\n    label: B\n", encoding="utf-8")
    specs = room_specs(["rtmp://host/live/a", str(video), str(rooms)], None)
    assert specs == [
        Room("rtmp://host/live/a"),
        Room(str(video)),
        Room("rtmp://host/live/b", "douyin:2", "B"),
    ]
    assert room_specs(["rtmp://host/live/a"], "douyin:1") == [Room("rtmp://host/live/a", "douyin:1")]


@pytest.mark.parametrize(
    ("inputs", "room", "message"),
    [
        (["notes.txt"], None, "not a stream URL, a video file or a rooms file"),
        (["/nowhere/nosuch.mp4"], None, "^/nowhere/nosuch.mp4: no such file$"),  # was 'not a ... video file'
        (["rtmp://host/a", "rtmp://host/b"], "douyin:1", "--room names one room"),
        (["rtmp://host/a", "rtmp://host/a"], None, "named twice: rtmp://host/a"),
    ],
)
def test_room_mistakes_are_refused(inputs: list[str], room: str | None, message: str) -> None:
    with pytest.raises(UserError, match=message):
        room_specs(inputs, room)


def test_a_video_named_two_ways_is_one_room(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`watch a.mp4 /abs/a.mp4` watched one video as two rooms and alerted everyone in it as `concurrent` with
    itself; rooms with their own platform:account may still share a video (scripts/watch_capacity.py)."""
    video = tmp_path / "a.mp4"
    video.write_bytes(b"")
    (tmp_path / "link.mp4").symlink_to(video)
    monkeypatch.chdir(tmp_path)
    for other in (str(video), "link.mp4", f"../{tmp_path.name}/a.mp4"):
        with pytest.raises(UserError, match=f"named twice: a.mp4 and {re.escape(other)}$"):
            room_specs(["a.mp4", other])
    rooms = tmp_path / "rooms.yaml"
    rooms.write_text("rooms:\n  - {url: a.mp4, room: 'bench:1'}\n  - {url: a.mp4, room: 'bench:2'}\n", encoding="utf-8")
    assert [room.name for room in room_specs([str(rooms)])] == ["bench:1", "bench:2"]
    with pytest.raises(UserError, match=f"named twice: {re.escape(str(video))} and bench:1 and bench:2$"):
        room_specs([str(rooms), str(video)])


def test_a_bare_url_that_a_rooms_file_names_is_one_room(tmp_path: Path) -> None:
    """`watch rooms.yaml rtmp://host/live/a` with rtmp://host/live/a in rooms.yaml as douyin:1 watched the
    stream twice and alerted everyone in it as `concurrent` in douyin:1 and rtmp://host/live/a."""
    rooms = tmp_path / "rooms.yaml"
    rooms.write_text("rooms:\n  - {url: 'rtmp://host/live/a', room: 'douyin:1'}\n", encoding="utf-8")
    with pytest.raises(UserError, match=r"named twice: rtmp://host/live/a and douyin:1$"):
        room_specs([str(rooms), "rtmp://host/live/a"])
    assert [room.name for room in room_specs([str(rooms), "rtmp://host/live/b"])] == ["douyin:1", "rtmp://host/live/b"]


@pytest.mark.parametrize(
    "other", ["rtmp://HOST/live/a", "RTMP://host/live/a", "rtmp://host:1935/live/a", "rtmp://Host:1935/live/a"]
)
def test_a_url_spelt_with_another_case_or_its_default_port_is_one_room(other: str) -> None:
    """`watch rtmp://HOST/live/a rtmp://host/live/a` watched one stream as two rooms (a false `concurrent`)."""
    with pytest.raises(UserError, match=f"named twice: rtmp://host/live/a and {re.escape(other)}$"):
        room_specs(["rtmp://host/live/a", other])


def test_urls_that_differ_in_path_query_or_port_are_rooms_of_their_own() -> None:
    urls = ["rtmp://host/live/a", "rtmp://host/live/A", "rtmp://host/live/a?room=1", "rtmp://host:1936/live/a"]
    assert [room.name for room in room_specs(urls)] == urls


@pytest.mark.parametrize("option", ["--json", "--alerts"])
def test_watch_refuses_an_output_that_is_a_video_its_rooms_file_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, option: str
) -> None:
    """Only the command line's own files were protected: `watch rooms.yaml --json capture.mp4` replaced the
    recording the rooms file names with the summary, and `--alerts capture.mp4` appended JSON to it."""
    video = tmp_path / "capture.mp4"
    video.write_bytes(b"a recording")
    rooms = tmp_path / "rooms.yaml"
    rooms.write_text("rooms:\n  - {url: capture.mp4, room: 'douyin:1'}\n", encoding="utf-8")

    def no_models(*args: object, **kwargs: object) -> None:
        raise AssertionError("the outputs are checked before the models are opened")

    monkeypatch.setattr(watch_cmd.Scanner, "open", no_models)
    arguments = ["watch", str(rooms), option, str(video), "--gallery", str(tmp_path / "g.sqlite")]
    with pytest.raises(UserError, match=f"{option} .*capture.mp4 is the input .*capture.mp4"):
        app(arguments, standalone_mode=False)
    assert video.read_bytes() == b"a recording"


def test_an_empty_evidence_dir_is_refused_not_read_as_the_current_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    """`watch URL --evidence-dir "$UNSET"`: pathlib read '' as '.', and the crops went into the current folder."""
    monkeypatch.setattr(watch_cmd.Scanner, "open", lambda *args, **kwargs: pytest.fail("the watch started"))
    with pytest.raises(UserError, match="--evidence-dir is an empty path: give a file or folder"):
        app(["watch", "rtmp://host/live/a", "--evidence-dir", ""], standalone_mode=False)


def test_watch_rates_under_one_frame_in_1000_s_are_refused() -> None:
    """`watch --fps 5e-324` was taken and ended in an internal error (the rooms the machine holds at that rate
    came to infinity); rates under 0.001 also read as 0 in the summary."""
    with pytest.raises(UserError, match=r"^--fps must be between 0 and 30 \(at least 0.001\), not 5e-324$"):
        watch_settings(fps=5e-324)
    with pytest.raises(UserError, match=r"^fps must be between 0 and 30 \(at least 0.001\), not 0.0009$"):
        ReaderSettings(fps=0.0009)
    with pytest.raises(UserError, match=r"^fps must be between 0 and 30 \(at least 0.001\), not '2'$"):
        ReaderSettings(fps="2")  # type: ignore[arg-type]  # a str in range was 'must be between 0 and 30'
    assert watch_settings(fps=0.001).reader.fps == 0.001


def test_watch_takes_the_shared_evidence_dir_option() -> None:
    """watch declared its own --evidence-dir, a copy of options.EvidenceDir (parser and metavar pasted) but for
    its help, which said where crops go without it; that is said by --alerts now, which sets that default."""
    for command in (scan_cmd.scan, watch_cmd.watch):
        assert inspect.signature(command, eval_str=True).parameters["evidence_dir"].annotation == options.EvidenceDir
    shown = " ".join(run_cli("watch", "--help").stdout.split())
    assert "--alerts <path> Append one JSON line per alert here ('-': stdout), evidence crops beside it" in shown


def test_a_bad_room_in_a_rooms_file_is_named_with_its_file_and_entry(tmp_path: Path) -> None:
    """'room 'douyin:a\\u200bb' holds an invisible character' named neither the file nor the entry (a label's
    refusal did)."""
    from impersonation_cli.io.rooms import load_rooms

    rooms = tmp_path / "rooms.yaml"
    rooms.write_text(
        'rooms:\n  - {url: a.mp4, room: "douyin:1"}\n  - {url: b.mp4, room: "douyin:a\\u200bb"}\n', encoding="utf-8"
    )
    with pytest.raises(UserError, match=r"^rooms file .*rooms\.yaml: entry 2: room 'douyin:a\\u200bb' holds an invis"):
        load_rooms(rooms)
