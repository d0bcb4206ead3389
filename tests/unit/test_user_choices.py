"""Two ways a user's setting was silently dropped or misplaced (closing note of the last stop): a clip given
with --room and also in a --rooms file took the file's room without a word; a relative $XDG_DATA_HOME put the
gallery and models under whatever folder the command ran from (the XDG spec says to ignore it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from impersonation_cli.api import room_assignments
from impersonation_cli.config import user_config_path
from impersonation_cli.errors import UserError
from impersonation_cli.gallery.store import default_gallery_path
from impersonation_cli.runtime.packs import model_root

from .cli_in_process import run_cli


def rooms_file(tmp_path: Path, source: str) -> Path:
    path = tmp_path / "rooms.yaml"
    path.write_text(f"rooms:\n  - url: {source}\n    room: douyin:from-file\n", encoding="utf-8")
    return path


def test_a_room_given_twice_for_one_source_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # the clip named relative to here and relative to the rooms file: one file
    with pytest.raises(UserError, match=r"clip\.mp4 has a room in the rooms file, and a room given with it"):
        room_assignments(["clip.mp4"], "douyin:from-option", None, rooms_file(tmp_path, "clip.mp4"))
    url = "rtmp://127.0.0.1/live/a"
    with pytest.raises(UserError, match="has a room in the rooms file"):
        room_assignments([url], None, "2026-12-04T10:00:00+00:00", rooms_file(tmp_path, url))


def test_the_refusal_names_what_was_given_beside_the_rooms_file(tmp_path: Path) -> None:
    """'scan rec.ts --rooms rooms.yaml --started-at T' (the recording's room in the file, its start time on the
    command line) was refused with 'rec.ts has a room in the rooms file and one given with it': no room was."""
    url = "rtmp://127.0.0.1/live/a"
    with pytest.raises(UserError, match="has a room in the rooms file, and a start time given with it") as refused:
        room_assignments([url], None, "2026-12-04T10:00:00+00:00", rooms_file(tmp_path, url))
    assert "started_at" in str(refused.value)
    with pytest.raises(UserError, match="and a room and a start time given with it"):
        room_assignments([url], "douyin:1", "2026-12-04T10:00:00+00:00", rooms_file(tmp_path, url))


def test_a_rooms_file_alone_or_beside_other_inputs_still_assigns(tmp_path: Path) -> None:
    items, rooms = room_assignments(["other.mp4"], "douyin:from-option", None, rooms_file(tmp_path, "clip.mp4"))
    clip = str(tmp_path / "clip.mp4")
    assert items == ["other.mp4", clip]
    assert rooms[clip].account == "douyin:from-file"
    assert rooms["other.mp4"].account == "douyin:from-option"
    _, rooms = room_assignments([clip], None, None, rooms_file(tmp_path, "clip.mp4"))
    assert rooms[clip].account == "douyin:from-file"


def test_a_rooms_file_keeps_a_link_and_its_target_apart_and_refuses_a_source_twice(tmp_path: Path) -> None:
    # A relative link beside its target (a second room's capture) was resolved to the target, and the second
    # entry's room silently replaced the first's: one source scanned, the other room and `concurrent` lost.
    (tmp_path / "clip.mp4").write_bytes(b"x")
    (tmp_path / "second.mp4").symlink_to("clip.mp4")
    path = tmp_path / "rooms.yaml"
    path.write_text(
        "rooms:\n  - {url: clip.mp4, room: 'douyin:1'}\n  - {url: second.mp4, room: 'douyin:2'}\n", encoding="utf-8"
    )
    items, rooms = room_assignments([], rooms_file=path)
    assert items == [str(tmp_path / "clip.mp4"), str(tmp_path / "second.mp4")]
    assert [rooms[item].account for item in items] == ["douyin:1", "douyin:2"]
    path.write_text(
        "rooms:\n  - {url: clip.mp4, room: 'douyin:1'}\n  - {url: ./x/../clip.mp4, room: 'douyin:2'}\n",
        encoding="utf-8",
    )
    with pytest.raises(UserError, match=r"names .*clip\.mp4 more than once: give each source one room"):
        room_assignments([], rooms_file=path)


def test_an_input_the_rooms_file_names_too_is_one_source_with_the_files_room(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `scan clip.mp4 --rooms rooms.yaml` naming clip.mp4 too listed it twice ('clip.mp4' and its absolute
    # path): scanned twice, once with no room.
    monkeypatch.chdir(tmp_path)
    items, rooms = room_assignments(["first.mp4", "clip.mp4"], None, None, rooms_file(tmp_path, "clip.mp4"))
    clip = str(tmp_path / "clip.mp4")
    assert items == ["first.mp4", clip]
    assert set(rooms) == {"first.mp4", clip} and rooms[clip].account == "douyin:from-file"
    items, rooms = room_assignments(["clip.mp4", "./clip.mp4"], None, None, rooms_file(tmp_path, "clip.mp4"))
    assert items[0] == clip and rooms[clip].account == "douyin:from-file"  # the first name, which a scan keeps


def test_a_relative_xdg_folder_is_ignored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    for variable in ("IMPERSONATION_GALLERY", "IMPERSONATION_MODELS", "IMPERSONATION_CONFIG"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", "relative/data")
    monkeypatch.setenv("XDG_CONFIG_HOME", "relative/config")
    assert default_gallery_path() == tmp_path / ".local/share/impersonation-cli/gallery.sqlite"
    assert model_root(None) == tmp_path / ".local/share/impersonation-cli/models"
    assert user_config_path() == tmp_path / ".config/impersonation-cli/config.toml"
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert default_gallery_path() == tmp_path / "data/impersonation-cli/gallery.sqlite"


def test_an_empty_evidence_dir_is_refused_not_read_as_the_current_folder(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # `scan clip.mp4 --evidence-dir "$UNSET"`: pathlib read '' as '.', and the crops went into the current folder.
    from impersonation_cli.cli import run_app, scan_cmd

    def reached(*args: object, **kwargs: object) -> None:
        raise UserError("the scan started")

    monkeypatch.setattr(scan_cmd.Scanner, "open", reached)
    monkeypatch.setattr("sys.argv", ["impersonation-cli", "scan", "clip.mp4", "--evidence-dir", ""])
    with pytest.raises(SystemExit) as ended:
        run_app()
    assert ended.value.code == 2
    assert capsys.readouterr().err == "error: --evidence-dir is an empty path: give a file or folder\n"


@pytest.mark.parametrize(
    ("arguments", "name"),
    [
        (["models", "list", "--models", ""], "--models"),  # listed the working folder as the model folder
        (["gallery", "list", "--gallery", ""], "--gallery"),  # '.: a folder, not a gallery file'
        (["doctor", "--config", ""], "--config"),
        (["scan", "clip.mp4", "--json", ""], "--json"),
        (["watch", "rtmp://host/live/a", "--alerts", ""], "--alerts"),
        (["report", "", "--html", "r.html"], "RESULT_PATH"),
        (["gallery", "import", "", "--gallery", "g.sqlite"], "FOLDER"),  # enrolled the working folder's sub-folders
        (["gallery", "add", "Ann", "a.jpg", "", "--gallery", "g.sqlite"], "IMAGES"),
        (["bench", ""], "VIDEO"),  # '.: a folder, not a file', exit 3 (a str argument: it may be a URL to refuse)
    ],
)
def test_an_empty_path_is_refused_wherever_a_path_is_taken(tmp_path: Path, arguments: list[str], name: str) -> None:
    """pathlib reads '' as the current folder: every path option and argument refuses it in one line, before any
    work (common.with_conventions gives each the same reader)."""
    finished = run_cli(*arguments, cwd=tmp_path)
    assert (finished.returncode, finished.stderr) == (2, f"error: {name} is an empty path: give a file or folder\n")
    assert not any(tmp_path.iterdir())  # nothing made: no gallery, no output
