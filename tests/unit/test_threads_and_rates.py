"""Thread counts and bench's --min-appearance: `scan --threads 0` and `-1` ran (0 read as the default, -1 given
to ONNX Runtime), `bench --min-appearance nan` ran; each is now a one-line UserError wherever it enters."""

from __future__ import annotations

from pathlib import Path

import pytest

from impersonation_cli.api import Scanner
from impersonation_cli.distributed.ray_scan import engine_options
from impersonation_cli.errors import EXIT_UNREADABLE, UnreadableInput, UserError
from impersonation_cli.io.threads import threads_or_default
from impersonation_cli.runtime.sessions import session_options
from impersonation_cli.tools.bench import bench_job

BAD_THREADS = [0, -1, True, 2.0]


@pytest.mark.parametrize("threads", BAD_THREADS)
def test_a_thread_count_below_one_is_refused_where_it_enters(threads: int) -> None:
    message = f"threads must be a whole number of at least 1, not {threads!r}"
    for enters in (
        lambda: engine_options("local", None, None, "cpu", threads),  # scan and watch, before `threads or default`
        lambda: threads_or_default(threads),  # eval
        lambda: session_options(threads),  # every engine: gallery add/import, the API, Ray actors, bench workers
        lambda: Scanner.open(threads=threads),  # before any model or gallery is read
    ):
        with pytest.raises(UserError, match=message):
            enters()


def test_a_thread_count_past_the_cap_is_refused_where_it_enters() -> None:
    # --threads 99999 was given to ONNX Runtime, which sat for minutes starting threads on a 2-core machine.
    for enters in (
        lambda: engine_options("local", None, None, "cpu", 99999),
        lambda: threads_or_default(99999),
        lambda: session_options(99999),
        lambda: Scanner.open(threads=99999),
    ):
        with pytest.raises(UserError, match="threads must be at most 1024, not 99999"):
            enters()
    assert session_options(1024).intra_op_num_threads == 1024


def test_a_thread_count_of_one_or_none_is_taken() -> None:
    assert session_options(1).intra_op_num_threads == 1
    assert threads_or_default(None) >= 1 and threads_or_default(3) == 3
    assert engine_options("local", None, None, "cpu", None) is None


@pytest.mark.parametrize("seconds", [float("nan"), float("inf"), -1.0])
def test_bench_refuses_a_min_appearance_that_is_not_a_length(tmp_path: Path, seconds: float) -> None:
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"")  # refused before the clip is read
    with pytest.raises(UserError, match=f"--min-appearance must be a number of seconds of at least 0, not {seconds}"):
        bench_job(clip, 2.0, None, seconds, tmp_path, None, "cpu", None, None)


def test_bench_refuses_threads_below_one(tmp_path: Path) -> None:
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"")
    with pytest.raises(UserError, match="--threads must be a whole number of at least 1, not 0"):
        bench_job(clip, 2.0, None, 2.0, tmp_path, None, "cpu", None, 0)


def test_bench_refuses_a_picture_before_measuring(tmp_path: Path) -> None:
    # A photo renamed .mp4 reached the five worker processes, which each failed on it after "measuring...".
    photo = tmp_path / "photo.mp4"
    photo.write_bytes(b"\x89PNG\r\n\x1a\n not really a png")
    with pytest.raises(UserError, match=r"photo\.mp4: a picture, not a video"):
        bench_job(photo, 2.0, None, 2.0, tmp_path, None, "cpu", None, None)


@pytest.mark.parametrize(
    ("kind", "words"),
    [
        ("fifo", r"not a regular file \(a device, pipe or socket\)"),  # was "no such video"
        ("empty", r"empty file \(0 bytes\)"),  # was refused by each worker after "measuring five paths..."
        ("folder", "a folder, not a file"),
        # Was "rtmp:/host/x: no such video", then the URL with a slash lost (it went through a Path).
        ("url", r"^rtmp://127\.0\.0\.1:1/live/key: bench measures a video file, not a stream URL$"),
    ],
)
def test_bench_refuses_what_is_not_a_video_file_before_measuring(tmp_path: Path, kind: str, words: str) -> None:
    import os

    clip = tmp_path / "clip.mp4"
    if kind == "fifo":
        os.mkfifo(clip)
    elif kind == "empty":
        clip.write_bytes(b"")
    elif kind == "folder":
        clip.mkdir()
    else:
        clip = "rtmp://127.0.0.1:1/live/key"  # as the command line gives it
    with pytest.raises(UserError, match=words):
        bench_job(clip, 2.0, None, 2.0, tmp_path, None, "cpu", None, None)


@pytest.mark.parametrize("kind", ["missing", "folder"])
def test_bench_gives_scans_exit_code_for_a_video_it_cannot_read(tmp_path: Path, kind: str) -> None:
    """Exit 3, an input that cannot be read, as scan gives: a missing video gave 2 and a folder 3."""
    clip = tmp_path / "clip.mp4"
    if kind == "folder":
        clip.mkdir()
    with pytest.raises(UnreadableInput) as refused:
        bench_job(str(clip), 2.0, None, 2.0, tmp_path, None, "cpu", None, None)
    assert refused.value.exit_code == EXIT_UNREADABLE


def test_bench_names_a_gallery_that_is_a_folder_as_one(tmp_path: Path) -> None:
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"\x00" * 16)
    with pytest.raises(UserError, match=r"--gallery .*: a folder, not a file"):  # was "no such gallery file"
        bench_job(clip, 2.0, tmp_path, 2.0, tmp_path, None, "cpu", None, None)


def test_bench_refuses_a_bad_setting_or_device_before_measuring(tmp_path: Path) -> None:
    # Both reached the worker processes: "bench path 'exhaustive' failed: impersonation_cli.errors.UserError:
    # config [scan] fps must be above 0, not -1", after "measuring five paths...".
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"\x00" * 16)
    config = tmp_path / "bad.toml"
    config.write_text("[scan]\nfps = -1\n", encoding="utf-8")
    with pytest.raises(UserError, match=r"^config \[scan\] fps must be above 0, not -1$"):
        bench_job(clip, 2.0, None, 2.0, tmp_path, None, "cpu", config, None)
    with pytest.raises(UserError, match=r"^unknown device 'bogus'"):
        bench_job(clip, 2.0, None, 2.0, tmp_path, None, "bogus", None, None)


def test_a_bench_worker_says_a_user_error_in_its_own_line(capsys: pytest.CaptureFixture[str]) -> None:
    from impersonation_cli.tools.bench import worker_main

    job = '{"path": "scan", "video": "v.mp4", "fps": 2.0, "pack": "p", "models": "m", "config": "/nonexistent.toml"}'
    with pytest.raises(SystemExit) as ended:
        worker_main([job])
    assert ended.value.code == 2
    assert capsys.readouterr().err == "cannot read config /nonexistent.toml: No such file or directory\n"


def test_bench_refuses_a_file_no_decoder_opens_before_measuring(tmp_path: Path) -> None:
    # It printed "measuring five paths, each in its own process..." and only then "cannot open" (exit 3).
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"\x00" * 4096)
    with pytest.raises(UnreadableInput, match=r"clip\.mp4: cannot open") as refused:
        bench_job(clip, 2.0, None, 2.0, tmp_path, None, "cpu", None, None)
    assert refused.value.exit_code == EXIT_UNREADABLE
