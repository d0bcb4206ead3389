"""What an input path is, said as it is: /dev/zero or a FIFO given to `scan` was reported as "no such file or
folder", and a folder given to `gallery add` as "no such file"."""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace
from typing import cast

import pytest

from impersonation_cli.distributed.ray_watch import _carried
from impersonation_cli.errors import UnreadableInput
from impersonation_cli.io.live_reader import ReaderState
from impersonation_cli.io.rooms import Room
from impersonation_cli.io.sources import (
    DecodeStats,
    check_file,
    expand_inputs,
    not_a_file,
    sample_frames,
)
from impersonation_cli.pipeline.scan import source_status, unscanned
from impersonation_cli.pipeline.watch import RoomWatch, Watcher


def test_each_kind_of_path_is_named(tmp_path: Path) -> None:
    video = tmp_path / "clip.mp4"
    video.write_bytes(b"x")
    pipe = tmp_path / "pipe.mp4"
    os.mkfifo(pipe)
    assert not_a_file(video) is None
    assert not_a_file(tmp_path) == "a folder, not a file"
    assert not_a_file(pipe) == "not a regular file (a device, pipe or socket)"
    assert not_a_file(tmp_path / "gone.mp4") == "no such file"


def test_a_pipe_is_refused_before_anything_opens_it(tmp_path: Path) -> None:
    pipe = tmp_path / "live.mp4"
    os.mkfifo(pipe)
    with pytest.raises(UnreadableInput, match=r"live\.mp4: not a regular file"):
        check_file(str(pipe))  # opening a FIFO with no writer would block forever
    sources, problems = expand_inputs([str(pipe), str(tmp_path / "gone.mp4"), "-"])
    assert sources == []
    assert [p.message for p in problems] == [
        "not a regular file (a device, pipe or socket)",
        "no such file or folder",
        "standard input is not read: save the recording to a file and name that",  # was "no such file or folder"
    ]


def test_a_picture_that_does_not_decode_is_unreadable_not_truncated(tmp_path: Path) -> None:
    """Its frame was counted as decoded before decoding it: the result said status 'truncated', 1 frame decoded
    and sampled, for a picture of which nothing was read."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 0, 0, 8, 2, 0, 0, 0)  # a 0x0 PNG: its header reads, its pixels do not
    picture = tmp_path / "broken.png"
    picture.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b""))
    stats = DecodeStats()
    with pytest.raises(UnreadableInput, match="not a readable image"):
        list(sample_frames(str(picture), 2.0, stats))
    assert (stats.frames_decoded, stats.frames_sampled) == (0, 0)
    assert source_status("damaged", stats) == "unreadable"


def test_a_source_reached_twice_is_listed_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`scan a.mp4 a.mp4`, `scan dir dir/a.mp4` or `scan . /abs/a.mp4` scanned the file twice and reported every
    finding twice; a file named beside its folder must keep its own name (its room is looked up by it)."""
    folder = tmp_path / "dir"
    (folder / "sub").mkdir(parents=True)
    for name in ("a.mp4", "sub/b.jpg"):
        (folder / name).write_bytes(b"x")
    (folder / "link.mp4").symlink_to("a.mp4")
    monkeypatch.chdir(tmp_path)
    url = "rtmp://127.0.0.1/live/a"
    named = str(folder / "sub" / "b.jpg")
    sources, problems = expand_inputs(["dir/a.mp4", "./dir/a.mp4", "dir", named, "dir/sub", url, url])
    assert sources == ["dir/a.mp4", "dir/link.mp4", named, url]
    assert problems == []


def test_a_name_too_long_to_look_up_is_one_unreadable_input(tmp_path: Path) -> None:
    """Path.is_file raised OSError (ENAMETOOLONG) out of the batch: `scan clip.mp4 <5000 characters>` ended with
    'error: ...: File name too long', exit 2, and clip.mp4 was not scanned."""
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"x")
    long_name = "a" * 5000
    sources, problems = expand_inputs([long_name, str(clip)])
    assert sources == [str(clip)]
    assert [(p.source, p.message) for p in problems] == [(long_name, "cannot be looked up (File name too long)")]


def test_a_source_never_read_is_of_the_same_kind_in_scan_and_watch() -> None:
    """`scan` wrote an unreadable stream URL as kind "unknown", `watch` a room that never connected as "stream",
    and a file played as live that never sent a frame as "video". What a source is is said as far as it is
    known: a stream URL is a stream whether or not it ever sent a frame; a file nothing was read from is
    "unknown" (a video, a picture renamed, or no media at all), a file a watch read frames from a "video"."""
    url, clip = "rtmp://127.0.0.1/live/a", "/recordings/gone.mp4"
    assert [unscanned(s, "unreadable", f"{s}: cannot open it").kind for s in (url, clip)] == ["stream", "unknown"]
    assert unscanned(url, "interrupted", "not reached").kind == "stream"

    def watched(source: str, frames: int) -> str:
        room = SimpleNamespace(
            room=Room(url=source), state=ReaderState(room="r", url=source, frames_received=frames), frame_size=None
        )
        return Watcher._source_facts(cast(RoomWatch, room)).kind

    assert [watched(url, 0), watched(clip, 0), watched(url, 5), watched(clip, 5)] == [
        "stream",
        "unknown",
        "stream",
        "video",
    ]
    # A Ray watch's room that sent frames in an earlier life of its shard, none in the last: read after all.
    never = unscanned(clip, "unreadable", f"{clip}: no frame was ever received")
    assert _carried(never, {"frames_received": 5}).kind == "video"
    assert _carried(never, {"frames_received": 0}).kind == "unknown"


def test_a_folder_search_leaves_out_the_evidence_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`scan . --evidence-dir evidence`, run again, scanned the first run's crops as new inputs: every finding
    came back once more as an appearance in a crop (and again on every later run). A crop named on its own is
    still scanned: that is asked for."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "clip.mp4").write_bytes(b"x")
    crop = tmp_path / "evidence" / "clip-ffabf9ce" / "s1-a1_Eileen_Collins_00005.52s.jpg"
    crop.parent.mkdir(parents=True)
    crop.write_bytes(b"x")
    named = "evidence/clip-ffabf9ce/s1-a1_Eileen_Collins_00005.52s.jpg"
    assert expand_inputs(["."], skip=[Path("evidence")]) == (["clip.mp4"], [])
    assert expand_inputs([str(tmp_path)], skip=[tmp_path / "." / "evidence"])[0] == [str(tmp_path / "clip.mp4")]
    assert expand_inputs([".", named], skip=[Path("evidence")])[0] == ["clip.mp4", named]
    # The evidence folder searched itself, or a folder inside it: the user asked for what it holds.
    assert expand_inputs(["evidence"], skip=[Path("evidence")]) == ([named], [])
    assert expand_inputs(["evidence/clip-ffabf9ce"], skip=[Path("evidence")])[0] == [named]
    assert expand_inputs(["."], skip=[Path(".")])[0] == ["clip.mp4", named]
    assert expand_inputs(["."])[0] == ["clip.mp4", named]  # no evidence folder: every file found


def test_a_malformed_stream_url_is_an_unreadable_input_not_an_internal_error() -> None:
    """`scan 'http://[::1'` and `watch 'http://[::1'` ended 'internal error: ValueError: Invalid IPv6 URL' (exit 4):
    naming the source read its URL with urllib, which refuses a malformed IPv6 host. It is named as given, and the
    reader, which cannot open it, makes it one unreadable input (exit 3), as a port that is not a number was."""
    url = "http://[::1"
    assert expand_inputs([url, url]) == ([url], [])
    with pytest.raises(UnreadableInput, match=r"^http://\[::1: cannot open"):
        list(sample_frames(url, 2.0))


def test_a_folder_search_keeps_what_it_cannot_read_to_report_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A dangling link, a FIFO named as a video and a folder that cannot be listed were left out of a folder's
    scan without a word (exit 0); named, each is unreadable with its reason. Links to folders are not followed."""
    folder = tmp_path / "dl"
    (folder / "locked").mkdir(parents=True)
    (folder / "real.jpg").write_bytes(b"x")
    (folder / "capture.mp4").symlink_to(tmp_path / "gone" / "clip.mp4")
    os.mkfifo(folder / "pipe.mp4")
    (folder / "above").symlink_to(tmp_path, target_is_directory=True)
    listing = os.scandir

    def scandir(path: str) -> object:  # as for a user who may not list it (the tests run as root)
        if os.fspath(path) == str(folder / "locked"):
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return listing(path)

    monkeypatch.setattr(os, "scandir", scandir)
    sources, problems = expand_inputs([str(folder)])
    assert sources == [str(folder / "real.jpg")]
    assert [(p.source, p.message) for p in problems] == [
        (str(folder / "capture.mp4"), "no such file or folder"),
        (str(folder / "locked"), "cannot list this folder (Permission denied)"),
        (str(folder / "pipe.mp4"), "not a regular file (a device, pipe or socket)"),  # read, it would block
    ]
    nothing, refused = expand_inputs([str(folder / "locked")])
    assert nothing == [] and [p.message for p in refused] == ["cannot list this folder (Permission denied)"]


def test_a_video_the_user_may_not_read_is_said_to_be_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """It was 'cannot open (not a video, damaged, or unreachable)', a healthy file blamed."""
    from impersonation_cli.io import sources

    video = tmp_path / "locked.mp4"
    video.write_bytes(b"x")
    opening = os.open

    def refuse(path: str, flags: int, *args: int) -> int:  # as for a user who may not read it
        if os.fspath(path) == str(video):
            raise PermissionError(13, "Permission denied", str(path))
        return opening(path, flags, *args)

    monkeypatch.setattr(os, "open", refuse)
    assert sources.why_unopened(str(video)) == "cannot read (Permission denied)"
    text = tmp_path / "text.mp4"
    text.write_text("not a video")
    assert sources.why_unopened(str(text)) == "cannot open (not a video, damaged, or unreachable)"


def test_a_stream_that_cannot_be_opened_says_why_ffmpeg_gave_without_the_url() -> None:
    """A wrong password, a 404, a refused port and a stalled server all read 'cannot open (not a video, damaged,
    or unreachable)': a user with a mistyped password was told the stream might be damaged."""
    import http.server
    import threading

    from impersonation_cli.io.sources import open_video

    class NotFound(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_error(401 if "secret" in self.path else 404)

        def log_message(self, *_args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), NotFound)
    threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True).start()
    port = server.server_address[1]
    try:
        expected = {
            "rtmp://127.0.0.1:1/live/x": "cannot open (Connection refused)",
            f"http://127.0.0.1:{port}/live/x.flv": "cannot open (Server returned 404 Not Found)",
            f"http://u:pw@127.0.0.1:{port}/secret/x.m3u8": "cannot open (Server returned 401 Unauthorized",
        }
        for url, said in expected.items():
            with pytest.raises(UnreadableInput) as refused:
                open_video(url, 5, 5)
            assert said in str(refused.value), refused.value
            assert str(refused.value).count("pw") <= 1  # the URL as given leads the message; not quoted again
    finally:
        server.shutdown()
        server.server_close()


def test_a_ts_whose_video_starts_late_is_probed_at_its_size_and_rate(tmp_path: Path) -> None:
    """Its video 20 s after its sound, past OpenCV's probe: the source read 'width 0, height 0, fps null' (the faces'
    boxes in 64x48 frames), and the pixel limit passed it untested."""
    from impersonation_cli.io.sources import probe

    from .small_clips import late_video_ts

    info = probe(str(late_video_ts(tmp_path / "late.ts")))
    assert (info.width, info.height, info.fps) == (64, 48, 25.0), info


def test_a_folder_tree_deeper_than_pythons_recursion_limit_is_searched_to_the_bottom(tmp_path: Path) -> None:
    """os.walk and Path.rglob recurse: a tree 980 folders deep ended `scan` (every other input with it) and
    `gallery import` in 'internal error: RecursionError', exit 4."""
    import sys

    from impersonation_cli.gallery.enrol import images_in

    bottom = tmp_path
    for _ in range(sys.getrecursionlimit() + 100):  # one by one: mkdir(parents=True) recurses too
        bottom = bottom / "d"
        bottom.mkdir()
    (bottom / "clip.mp4").write_bytes(b"x")
    (bottom / "photo.jpg").write_bytes(b"x")
    try:
        found, problems = expand_inputs([str(tmp_path)])
        assert found == [str(bottom / "clip.mp4"), str(bottom / "photo.jpg")] and problems == []
        assert images_in(tmp_path) == [bottom / "photo.jpg"]
    finally:  # bottom up: pytest's clean-up of old temporary folders (shutil.rmtree) recurses as os.walk did
        (bottom / "clip.mp4").unlink()
        (bottom / "photo.jpg").unlink()
        while bottom != tmp_path:
            bottom.rmdir()
            bottom = bottom.parent


@pytest.mark.parametrize(("fps", "recorded"), [(29.97002997, 29.97), (0.5, 0.5), (75 / 900001, 8.33e-05), (None, None)])
def test_a_very_low_frame_rate_is_recorded_not_rounded_to_zero(fps: float | None, recorded: float | None) -> None:
    """Three frames held over ten hours (75/900001 fps) recorded 'fps': 0.0, which formats.md's readers take for
    a rate (a division by zero waiting to happen) where null means unknown."""
    from impersonation_cli.io.sources import SourceInfo
    from impersonation_cli.pipeline.scan import source_facts

    info = SourceInfo("held.mp4", "video", 64, 48, fps, 36000.0, 3)
    assert source_facts(info, DecodeStats(), None).fps == recorded


def test_a_link_that_loops_is_reported_and_the_rest_of_its_folder_scanned(tmp_path: Path) -> None:
    """A link that loops (or whose target cannot be looked up) ended the listing of its folder: 6 of 10 photos
    beside it were left out without a word, which ones by the order the file system lists them, and the link was
    said to be a folder that cannot be listed. Named, it was 'no such file or folder'."""
    folder = tmp_path / "photos"
    folder.mkdir()
    photos = [str(folder / f"p{n:02}.jpg") for n in range(10)]
    for photo in photos:
        Path(photo).write_bytes(b"x")
    (folder / "loop.mp4").symlink_to("loop.mp4")
    (folder / "a_loop").symlink_to("b_loop")
    (folder / "b_loop").symlink_to("a_loop")
    sources, problems = expand_inputs([str(folder)])
    assert sources == photos
    looping = "cannot be looked up (Too many levels of symbolic links)"
    assert [(p.source, p.message) for p in problems] == [(str(folder / "loop.mp4"), looping)]
    assert [p.message for p in expand_inputs([str(folder / "loop.mp4")])[1]] == [looping]


def test_jpegs_by_their_other_names_are_found_in_a_folder(tmp_path: Path) -> None:
    """A Windows download's photo is often .jfif: read when named, it was left out of a folder's search."""
    for name in ("a.jfif", "b.JPE", "c.jpg", "notes.txt"):
        (tmp_path / name).write_bytes(b"\xff\xd8")
    assert [Path(s).name for s in expand_inputs([str(tmp_path)])[0]] == ["a.jfif", "b.JPE", "c.jpg"]
