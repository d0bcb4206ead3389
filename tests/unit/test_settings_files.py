"""Config and rooms files: what is read from them, and every mistake as one line naming where it is."""

from __future__ import annotations

import json
from dataclasses import fields
from datetime import UTC, datetime
from pathlib import Path

import pytest

from impersonation_cli.config import BOUNDS, SECTIONS, load_config
from impersonation_cli.errors import UserError
from impersonation_cli.io.rooms import load_rooms, parse_time, validate_date, validate_room
from impersonation_cli.pipeline.signals.replay import ReplaySettings
from impersonation_cli.pipeline.signals.scoring import SignalSettings
from impersonation_cli.pipeline.verdicts import VerdictSettings


def test_a_config_file_overrides_only_what_it_names(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("IMPERSONATION_CONFIG", raising=False)
    defaults = load_config()
    path = tmp_path / "mine.toml"
    path.write_text("[match]\nthreshold = 0.5\n[scan]\nfps = 4\n", encoding="utf-8")
    mine = load_config(path)
    assert (mine.match.threshold, mine.scan.fps, mine.path) == (0.5, 4.0, str(path))
    assert mine.match.margin == defaults.match.margin and mine.detector == defaults.detector
    monkeypatch.setenv("IMPERSONATION_CONFIG", str(path))
    assert load_config().match.threshold == 0.5


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[match\nthreshold = 0.5\n", "is not valid TOML"),
        ("[matches]\nthreshold = 0.5\n", "unknown sections: matches"),
        ("[match]\nthreshhold = 0.5\n", r"\[match\] has unknown keys: threshhold"),
        ('[match]\nthreshold = "high"\n', r"\[match\]"),
        ("[replay]\nrun_s = [5.0, 2.0]\n", "run_s must be \\[low, high\\] with low < high"),
        # Seconds of a run: [-5, -1] was taken, and every run of 4 matching frames then scored 1 (likely-replay).
        ("[replay]\nrun_s = [-5, -1]\n", r"^config \[replay\] run_s must be at least 0, not \[-5, -1\]$"),
        # Named as the file spells them: TOML's true was "not True", a date "not datetime.date(1979, 5, 27)".
        ("[scan]\nfps = true\n", r"^config \[scan\] fps must be a finite number, not true$"),
        ("[scan]\nmin_appearance_frames = false\n", r"min_appearance_frames must be a whole number, not false$"),
        ("[signals]\nidentity_jitter = [true, 2]\n", r"two finite numbers, not \[true, 2\]$"),
        ("[scan]\nfps = 1979-05-27\n", r"^config \[scan\] fps must be a finite number, not 1979-05-27$"),
        ("[signals]\nidentity_jiter = [0.2, 0.6]\n", r"\[signals\] has unknown keys: identity_jiter"),
        ("[verdicts]\nsynthetic_threshold = 0.2\n", r"\[verdicts\] synthetic_threshold is no longer used"),
        ("[signals]\nsynthetic_weights = { blend_seam = 1.0 }\n", "synthetic_weights is no longer used"),
        ("[verdicts]\nsynthetic_probability = 1.5\n", 'must be "model" or a probability in \\(0, 1\\]'),
        ("[signals]\nforgery_every = 0\n", r"^config \[signals\] forgery_every must be at least 1, not 0$"),
        # Counts had no upper bound: idle_every = 1000 looked at an empty scene every 1000th sample, and a face
        # that walked in was found 500 s late at 2 fps (in a shorter clip, never); the others found nobody.
        ("[detector]\nidle_every = 1000\n", r"^config \[detector\] idle_every must be at most 10, not 1000$"),
        ("[replay]\nmin_run_frames = 1000\n", r"^config \[replay\] min_run_frames must be at most 100, not 1000$"),
        ("[scan]\nmin_appearance_frames = 101\n", r"min_appearance_frames must be at most 100, not 101$"),
        ("[signals]\nforgery_min_frames = 1000\n", r"forgery_min_frames must be at most 100, not 1000$"),
        ("[recognition]\nfresh_first = 101\n", r"fresh_first must be at most 100, not 101$"),
        ("[replay]\ncandidates = 1001\n", r"candidates must be at most 1000, not 1001$"),
        # The width of the offset bins a replay run is searched in: at 0 the search made no progress (a hang).
        ("[replay]\noffset_tolerance_s = 0\n", r"^config \[replay\] offset_tolerance_s must be above 0, not 0$"),
        ("[verdicts]\nrisk_replay = 2\n", r"\[verdicts\] risk_replay must be at most 1"),
        ("[replay]\ncandidates = 0\n", r"\[replay\] candidates must be at least 1"),
        # A cosine of 0 is no likeness: at threshold 0 a stranger matched whoever registered was nearest.
        ("[match]\nthreshold = 0\n", r"^config \[match\] threshold must be above 0, not 0$"),
        # A detection score of 0 kept every anchor: 533 faces on a 320x240 photo, 11 s for one picture.
        ("[detector]\nthreshold = 0\n", r"^config \[detector\] threshold must be above 0, not 0$"),
        # As `scan --fps` and `footage add --fps`: a billion frames a second was accepted.
        ("[scan]\nfps = 1e9\n", r"\[scan\] fps must be at most 120"),
        ("[replay]\nfootage_fps = 31\n", r"\[replay\] footage_fps must be at most 30"),
        # A margin of 1e300 widened a face's box to infinity: every file failed as an internal error (exit 3).
        ("[detector]\nregion_margin = 1e300\n", r"\[detector\] region_margin must be at most 100"),
        # Distances are 0..12 (capped rank differences); 1e300 overflowed float32 with a numpy warning on stderr.
        ("[replay]\nloop_distance = 1e300\n", r"\[replay\] loop_distance must be at most 12"),
        ("[replay]\nmatch_distance = 13\n", r"\[replay\] match_distance must be at most 12"),
        # A whole number past what a float holds was an internal error, exit 4 ('int too large to convert').
        ("[scan]\nmerge_gap_s = 1" + "0" * 400 + "\n", r"^config \[scan\] merge_gap_s must be a finite number, not 1"),
        (
            "[signals]\nidentity_jitter = [0, 1" + "0" * 400 + "]\n",
            r"identity_jitter must be \[low, high\], two finite",
        ),
        ("[verdicts]\nsynthetic_probability = 1" + "0" * 400 + "\n", 'must be "model" or a probability in \\(0, 1\\]'),
    ],
)
def test_config_mistakes_are_one_line_errors(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(UserError, match=message) as caught:
        load_config(path)
    assert "\n" not in str(caught.value)


def test_every_count_in_the_config_has_an_upper_bound() -> None:
    """A whole-number setting without one took any value (idle_every = 1000 silently found nobody); sizes in
    pixels (`*_px`) are no counts."""
    for name, kind in SECTIONS.items():
        counts = [f.name for f in fields(kind) if type(f.default) is int and not f.name.endswith("_px")]
        for key in counts:
            bounds = BOUNDS.get(name, {}).get(key)
            assert bounds is not None and bounds.high is not None, f"[{name}] {key} has no upper bound"


def test_the_later_stages_sections_are_read_once_into_their_typed_settings(tmp_path: Path) -> None:
    """[signals], [verdicts] and [replay] were untyped tables that each stage parsed again (verdicts on every
    judge call); now the config holds each stage's own settings, checked when the file is read."""
    assert (load_config().signals, load_config().verdicts, load_config().replay) == (
        SignalSettings(),
        VerdictSettings(),
        ReplaySettings(),
    ), "data/defaults.toml and the settings' own defaults disagree"
    path = tmp_path / "stages.toml"
    path.write_text(
        "[signals]\nidentity_jitter = [0.1, 0.5]\nmin_frames = 6\n"
        '[verdicts]\nsynthetic_probability = "0.8"\neffects_probability = 0.7\nflag_unmatched_faces = true\n'
        "[replay]\nrun_s = [1, 3]\nfootage_fps = 4\n",
        encoding="utf-8",
    )
    config = load_config(path)
    assert (config.signals.identity_jitter, config.signals.min_frames) == ((0.1, 0.5), 6)
    verdicts = config.verdicts
    # A probability may be written as text or as a number, and is recorded as written.
    assert (verdicts.synthetic_probability, verdicts.effects_probability, verdicts.flag_unmatched_faces) == (
        "0.8",
        0.7,
        True,
    )
    assert (config.replay.run_s, config.replay.footage_fps) == ((1.0, 3.0), 4.0)
    recorded = config.as_dict()
    assert list(recorded) == list(SECTIONS) and recorded["replay"]["run_s"] == [1.0, 3.0]
    assert json.loads(json.dumps(recorded)) == recorded, "a result's recorded config must survive its JSON"


def test_a_pipe_nobody_writes_to_is_refused(tmp_path: Path) -> None:
    """A FIFO as --config, with no writer, hung scan, footage add and doctor for ever (opening it waited)."""
    import os
    import threading

    fifo = tmp_path / "settings.toml"
    os.mkfifo(fifo)
    outcome: list[object] = []

    def read() -> None:
        try:
            outcome.append(load_config(fifo))
        except UserError as refused:
            outcome.append(refused)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(5)
    assert outcome and str(outcome[0]) == f"config {fifo} is a pipe that nothing was written to", outcome


def test_a_missing_config_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(UserError, match=f"cannot read config {tmp_path / 'none.toml'}"):
        load_config(tmp_path / "none.toml")


ROOMS = {
    "yaml": "rooms:\n  - url: capture.mp4\n    room: douyin:1\n    label: Main\n"
    "    started_at: 2026-11-20T20:00:00+08:00\n"
    "  - source: rtmp://host/live/key\n    room: kuaishou:2\n",
    "toml": '[[rooms]]\nurl = "capture.mp4"\nroom = "douyin:1"\nlabel = "Main"\n'
    'started_at = "2026-11-20T20:00:00+08:00"\n'
    '[[rooms]]\nsource = "rtmp://host/live/key"\nroom = "kuaishou:2"\n',
    "json": json.dumps(
        {
            "rooms": [
                {"url": "capture.mp4", "room": "douyin:1", "label": "Main", "started_at": "2026-11-20T20:00:00+08:00"},
                {"source": "rtmp://host/live/key", "room": "kuaishou:2"},
            ]
        }
    ),
}


@pytest.mark.parametrize("suffix", sorted(ROOMS))
def test_rooms_files_in_each_format_read_the_same(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"rooms.{suffix}"
    path.write_text(ROOMS[suffix], encoding="utf-8")
    first, second = load_rooms(path)
    # A recording's path is relative to the rooms file; a stream URL stays as written.
    assert (first.url, first.account, first.label) == (str(tmp_path / "capture.mp4"), "douyin:1", "Main")
    assert first.started_at == datetime(2026, 11, 20, 12, tzinfo=UTC)
    assert (second.url, second.account, second.label, second.started_at) == (
        "rtmp://host/live/key",
        "kuaishou:2",
        None,
        None,
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("rooms: []\n", "needs a non-empty list under 'rooms'"),
        ("rooms:\n  - url: a.mp4\n", "entry 1 needs 'url' \\(or 'source'\\) and 'room'"),
        ("rooms:\n  - url: a.mp4\n    room: douyin\n", "is not of the form platform:account"),
        ("rooms:\n  - url: a.mp4\n    room: douyin:1\n    started_at: '2026-11-20T20:00'\n", "entry 1 started_at"),
        ("rooms: [unclosed\n", "cannot be parsed"),
        # YAML reads an unquoted date as a date: the message showed datetime.date(2026, 11, 20)
        ("rooms:\n  - url: a.mp4\n    room: douyin:1\n    started_at: 2026-11-20\n", "started_at '2026-11-20' needs"),
        # year 1 at +08:00 is year 0 in UTC: each file's scan failed as an internal error (exit 3), not exit 2
        ("rooms:\n  - {url: a.mp4, room: douyin:1, started_at: 0001-01-01T00:00:00+08:00}\n", "out of range"),
        ("rooms:\n  - {url: a.mp4, room: douyin:1, started_at: 9999-12-31T23:59:59Z}\n", "years 1900-8999"),
        # a key given twice: PyYAML kept the last one, so the first room was dropped without a word
        ("rooms:\n  - url: a.mp4\n    room: douyin:1\n    room: douyin:2\n", "key 'room' is given twice \\(line 4\\)"),
        ("rooms:\n  - {url: a.mp4, room: douyin:1}\nrooms:\n  - {url: b.mp4, room: '1:2'}\n", "'rooms' is given twice"),
    ],
)
def test_rooms_file_mistakes_are_one_line_errors(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "rooms.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(UserError, match=message) as caught:
        load_rooms(path)
    assert "\n" not in str(caught.value)


def test_yaml_rooms_values_are_the_text_written(tmp_path: Path) -> None:
    """YAML 1.1 types plain values by their look: `room: 12:30` was the number 750 (refused as 'not 750'),
    `label: 0777` 511, `label: yes` True and `label: 2024-01-01` a date; a rooms file holds only text."""
    path = tmp_path / "rooms.yaml"
    entries = ["{url: a.mp4, room: 12:30, label: 0777}", "{url: 2024-01-01, room: douyin:1, label: yes}"]
    path.write_text("rooms:\n" + "".join(f"  - {entry}\n" for entry in entries), encoding="utf-8")
    first, second = load_rooms(path)
    assert (first.account, first.label) == ("12:30", "0777")
    assert (second.url, second.label) == (str(tmp_path / "2024-01-01"), "yes")


def test_a_number_in_a_toml_rooms_file_asks_for_quotes(tmp_path: Path) -> None:
    path = tmp_path / "rooms.toml"
    path.write_text('[[rooms]]\nurl = "a.mp4"\nroom = "douyin:1"\nlabel = 12\n', encoding="utf-8")
    with pytest.raises(UserError, match=r"rooms\.toml: entry 1: label must be text in quotes, not 12"):
        load_rooms(path)


@pytest.mark.parametrize(
    ("suffix", "text"),
    [
        (".toml", '[[rooms]]\nurl = "a.mp4"\nroom = "douyin:1"\n'),
        (".json", '{"rooms": [{"url": "a.mp4", "room": "douyin:1"}]}'),
    ],
)
def test_a_rooms_file_with_a_byte_order_mark_reads(tmp_path: Path, suffix: str, text: str) -> None:
    """UTF-8 with a BOM (as Windows editors save it) failed: 'Invalid statement (at line 1, column 1)'."""
    path = tmp_path / f"rooms{suffix}"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    assert [room.account for room in load_rooms(path)] == ["douyin:1"]


def test_a_config_with_a_byte_order_mark_reads(tmp_path: Path) -> None:
    path = tmp_path / "my.toml"
    path.write_bytes(b"\xef\xbb\xbf[scan]\nfps = 1.5\n")
    assert load_config(path).scan.fps == 1.5


def test_a_toml_time_of_day_is_named_as_written(tmp_path: Path) -> None:
    path = tmp_path / "rooms.toml"
    path.write_text('[[rooms]]\nurl = "a.mp4"\nroom = "douyin:1"\nstarted_at = 10:00:00\n', encoding="utf-8")
    with pytest.raises(UserError, match="started_at '10:00:00' is not an ISO 8601 date-time"):  # datetime.time(10, 0)
        load_rooms(path)


def test_a_key_given_twice_in_a_json_rooms_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "rooms.json"
    path.write_text('{"rooms": [{"url": "a.mp4", "room": "douyin:1", "room": "douyin:2"}]}', encoding="utf-8")
    with pytest.raises(UserError, match=r"rooms\.json cannot be parsed: key 'room' is given twice"):
        load_rooms(path)


def test_room_names_and_times() -> None:
    assert validate_room("douyin:123456") == "douyin:123456"
    for bad in ("douyin", "douyin: 1", ":1", "dou yin:1"):
        with pytest.raises(UserError, match="platform:account"):
            validate_room(bad)
    assert parse_time("2026-11-20T20:00:00Z", "--started-at") == datetime(2026, 11, 20, 20, tzinfo=UTC)
    assert parse_time(None, "--started-at") is None
    with pytest.raises(UserError, match="--started-at '2026-11-20 20:00' needs a time zone offset"):
        parse_time("2026-11-20 20:00", "--started-at")
    with pytest.raises(UserError, match="--started-at '9999-12-31T23:59:59-08:00' is out of range"):
        parse_time("9999-12-31T23:59:59-08:00", "--started-at")
    # an authorization's bound is a date-time too, in the years GRANT_YEARS (tests/unit/test_grant_bounds.py)
    assert validate_date("9998-12-31T23:59:59-08:00", "--until") == "9998-12-31T23:59:59-08:00"


def test_a_mistake_in_a_settings_file_found_without_config_names_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `scan` with a bad ./impersonation-cli.toml (or user config file, or $IMPERSONATION_CONFIG) said only "config
    # [scan] fps must be above 0, not 0": the user had named no file and could not tell which one held it.
    monkeypatch.delenv("IMPERSONATION_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.chdir(tmp_path)
    user = tmp_path / "xdg" / "impersonation-cli" / "config.toml"
    user.parent.mkdir(parents=True)
    user.write_text("[match]\nthreshold = 3\n", encoding="utf-8")
    with pytest.raises(
        UserError, match=rf"threshold must be at most 1, not 3 \(settings from the user settings file {user}\)$"
    ):
        load_config()
    (tmp_path / "impersonation-cli.toml").write_text("[scan]\nfps = 0\n", encoding="utf-8")
    with pytest.raises(
        UserError, match=r"above 0, not 0 \(settings from impersonation-cli.toml in the working folder "
    ):
        load_config()
    named = tmp_path / "named.toml"
    monkeypatch.setenv("IMPERSONATION_CONFIG", str(named))
    with pytest.raises(
        UserError, match=rf"No such file or directory \(settings from \$IMPERSONATION_CONFIG={named}\)$"
    ):
        load_config()
    with pytest.raises(UserError, match=r"^config \[scan\] fps must be above 0, not 0$"):  # --config: the user named it
        load_config(tmp_path / "impersonation-cli.toml")


def test_a_folder_named_like_the_settings_file_is_refused_not_passed_over(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A folder ./impersonation-cli.toml was skipped in silence (doctor: 'none found: the shipped defaults
    apply'), while the user meant settings to be read there."""
    monkeypatch.delenv("IMPERSONATION_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "impersonation-cli.toml").mkdir()
    with pytest.raises(UserError, match=r"^cannot read config impersonation-cli.toml: Is a directory \(settings from"):
        load_config()


def test_a_dangling_link_named_like_the_settings_file_is_refused_not_passed_over(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A link to a moved dotfiles repository's file, here or in the user's config folder, left the shipped
    defaults in force (config_path None) without a word; a user file was read in place of the local link's."""
    monkeypatch.delenv("IMPERSONATION_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.chdir(tmp_path)
    user = tmp_path / "xdg" / "impersonation-cli" / "config.toml"
    user.parent.mkdir(parents=True)
    user.symlink_to(tmp_path / "dotfiles" / "config.toml")
    with pytest.raises(UserError, match=r"^cannot read config .*config.toml: No such file or directory \(settings"):
        load_config()
    user.unlink()
    user.write_text("[scan]\nfps = 1\n", encoding="utf-8")
    (tmp_path / "impersonation-cli.toml").symlink_to(tmp_path / "dotfiles" / "impersonation-cli.toml")
    with pytest.raises(UserError, match=r"^cannot read config impersonation-cli.toml: No such file or directory"):
        load_config()


def test_a_room_given_both_a_url_and_a_source_is_refused(tmp_path: Path) -> None:
    """They are one key by two names: `source` was dropped without a word and only the `url` watched (found by an
    exploratory run), where scan refuses a room given two ways for that reason."""
    path = tmp_path / "rooms.yaml"
    path.write_text("rooms:\n  - url: rtmp://h/live/a\n    source: rtmp://h/live/b\n    room: douyin:1\n", "utf-8")
    with pytest.raises(UserError, match=r"entry 1 has both 'url' and 'source': they name the same thing; give one$"):
        load_rooms(path)
