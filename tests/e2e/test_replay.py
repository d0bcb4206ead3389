"""Replay library and loops on real clips: a cropped, mirrored, brightened, re-encoded copy with overlays is
found with its footage and time offset; unrelated and unlooped clips are not flagged; the CLI works."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import cv2
import pytest

from impersonation_cli.config import load_config
from impersonation_cli.gallery.enrol import reference_from_image
from impersonation_cli.gallery.store import Gallery
from impersonation_cli.io.sources import sample_frames
from impersonation_cli.pipeline.signals.replay import FootageIndex, ReplayDetector, add_footage
from impersonation_cli.runtime.engine import FaceEngine

from ..conftest import run_cli
from ..unit.cli_in_process import run_cli as run_cli_in_process

FFMPEG = "/usr/bin/ffmpeg"
KATIE = "sadtalker/WDA_KatieHill_000.mp4"
ALEXANDRIA = "sadtalker/WDA_AlexandriaOcasioCortez_000.mp4"
REPLAY_FROM_S = 2.0


def ffmpeg(*args: str) -> None:
    subprocess.run([FFMPEG, "-hide_banner", "-loglevel", "error", "-y", *args], check=True, timeout=120)


def first_frame(video: Path, out: Path) -> Path:
    image = next(iter(sample_frames(str(video), 1.0))).image
    cv2.imwrite(str(out), image)
    return out


@pytest.fixture(scope="module")
def replayed(media: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Katie Hill from 2 s for 5 s: 10-14 % of each border cropped, mirrored, brighter and more contrasty,
    a price banner and a sticker drawn over it, re-encoded at 720x720 by x264."""
    out = tmp_path_factory.mktemp("replay") / "replayed.mp4"
    filters = (
        "crop=iw*0.76:ih*0.78:iw*0.10:ih*0.12,hflip,scale=720:720,eq=brightness=0.06:contrast=1.15,"
        "drawbox=x=560:y=40:w=120:h=120:color=yellow@0.9:t=fill,"
        "drawtext=text='LIVE 9.9 ONLY TODAY':fontsize=40:fontcolor=white:box=1:boxcolor=black@0.6:x=40:y=640"
    )
    ffmpeg("-ss", str(REPLAY_FROM_S), "-t", "5", "-i", str(media / KATIE), "-vf", filters, "-c:v", "libx264",
           "-crf", "30", "-an", str(out))  # fmt: skip
    return out


@pytest.fixture()
def footage_index(gallery: Gallery, engine: FaceEngine, media: Path, tmp_path: Path) -> FootageIndex:
    photo = first_frame(media / KATIE, tmp_path / "katie.jpg")
    gallery.add_person("Katie Hill", [reference_from_image(engine, photo).reference])
    add_footage(gallery, "Katie Hill", media / KATIE, 4.0)
    return FootageIndex.from_gallery(gallery)


def detect(index: FootageIndex | None, video: Path) -> ReplayDetector:
    detector = ReplayDetector(index, load_config().replay)
    for frame in sample_frames(str(video), 2.0):
        detector.observe(frame)
    return detector


def test_transformed_replay_is_found_with_its_footage_and_offset(footage_index: FootageIndex, replayed: Path) -> None:
    detector = detect(footage_index, replayed)
    replay = detector.source_signals()["replay"]
    assert replay.score >= 0.6, replay.explanation
    assert replay.details["footage_video"] == Path(KATIE).name
    assert replay.details["footage_person"] == "Katie Hill"
    assert replay.details["footage_sha256"] == footage_index.videos[0].sha256
    # Stream time 0 shows footage time 2 s: offset (stream - footage) is -2 s.
    assert abs(replay.details["offset_s"] + REPLAY_FROM_S) <= 1.0
    during = detector.appearance_signal("katie hill", 1.0, 3.0)
    assert during is not None and during.score >= 0.6
    assert detector.appearance_signal("Someone Else", 1.0, 3.0) is None


def test_unrelated_clip_is_not_a_replay(footage_index: FootageIndex, media: Path) -> None:
    signals = detect(footage_index, media / ALEXANDRIA).source_signals()
    assert signals["replay"].score == 0.0, signals["replay"].explanation
    assert signals["loop"].score == 0.0, signals["loop"].explanation


@pytest.mark.parametrize("driver", ["driving_d14.mp4", "driving_d10.mp4"])
def test_new_footage_of_the_same_person_in_the_same_set_is_not_a_replay(
    gallery: Gallery, engine: FaceEngine, media: Path, tmp_path: Path, driver: str
) -> None:
    """The first 9 s of a real talking head stored as footage, its next 9 s (never stored) scanned: they match the
    stored half at every offset (the same face, light and framing), and were flagged likely-replay (1.0), in an
    authorized room too. A re-encode of the stored half is still a replay."""
    clip = media / "real_talking_heads_LivePortrait" / driver
    stored, new, again = tmp_path / "first.mp4", tmp_path / "second.mp4", tmp_path / "again.mp4"
    ffmpeg("-i", str(clip), "-t", "8.95", "-c:v", "libx264", "-crf", "18", "-an", str(stored))
    ffmpeg("-ss", "8.95", "-i", str(clip), "-c:v", "libx264", "-crf", "18", "-an", str(new))
    ffmpeg("-i", str(stored), "-c:v", "libx264", "-crf", "28", "-an", str(again))
    gallery.add_person("Driver", [reference_from_image(engine, first_frame(clip, tmp_path / "d.jpg")).reference])
    add_footage(gallery, "Driver", stored, 8.0)
    index = FootageIndex.from_gallery(gallery)
    replay = detect(index, new).source_signals()["replay"]
    assert replay.score < load_config().verdicts.replay_threshold, replay.explanation
    assert detect(index, again).source_signals()["replay"].score == 1.0


def test_looped_segment_is_a_loop_and_the_original_is_not(media: Path, tmp_path: Path) -> None:
    segment, looped = tmp_path / "segment.mp4", tmp_path / "looped.mp4"
    ffmpeg("-ss", "1", "-t", "4", "-i", str(media / ALEXANDRIA), "-c:v", "libx264", "-an", str(segment))
    ffmpeg("-stream_loop", "2", "-i", str(segment), "-c:v", "libx264", "-crf", "28", str(looped))
    loop = detect(None, looped).source_signals()["loop"]
    assert loop.score >= 0.6, loop.explanation
    assert abs(loop.details["lag_s"] - 4.0) <= 0.5
    assert detect(None, media / ALEXANDRIA).source_signals()["loop"].score == 0.0


def test_footage_cli_add_list_remove_and_bad_input(cli_env: dict[str, str], media: Path, tmp_path: Path) -> None:
    photo = first_frame(media / KATIE, tmp_path / "katie.jpg")
    assert run_cli(["gallery", "add", "Katie Hill", str(photo)], cli_env).returncode == 0
    added = run_cli(["footage", "add", "Katie Hill", str(media / KATIE), "--fps", "2"], cli_env)
    assert added.returncode == 0, added.stderr
    assert "added (16 frames" in added.stdout
    again = run_cli(["footage", "add", "Katie Hill", str(media / KATIE)], cli_env)
    assert "already stored" in again.stdout
    listed = run_cli(["footage", "list"], cli_env)
    assert "WDA_KatieHill_000.mp4" in listed.stdout and "Katie Hill" in listed.stdout
    for bad in (
        ["footage", "add", "Katie Hill", str(tmp_path / "missing.mp4")],
        ["footage", "add", "Nobody Known", str(media / KATIE)],
        ["footage", "remove", "Katie Hill", "not-a-video.mp4"],
    ):
        failed = run_cli_in_process(*bad, env=cli_env)
        assert failed.returncode == 2, failed
        assert len(failed.stderr.strip().splitlines()) == 1 and "Traceback" not in failed.stderr
    removed = run_cli(["footage", "remove", "Katie Hill", "WDA_KatieHill_000.mp4"], cli_env)
    assert removed.returncode == 0 and "removed 1 video" in removed.stdout
    assert "no footage stored" in run_cli(["footage", "list"], cli_env).stdout


HAMILTON = "face_recognition/short_hamilton_clip.mp4"


@pytest.fixture(scope="module")
def hamilton_copies(media: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """short_hamilton_clip.mp4 mirrored, and re-encoded at crf 28 (both start at 0 s, where the original's video
    starts at 0.85 s: ffmpeg holds the first frame that long)."""
    folder = tmp_path_factory.mktemp("hamilton")
    copies = {"mirrored": folder / "mirrored.mp4", "crf28": folder / "crf28.mp4"}
    ffmpeg("-i", str(media / HAMILTON), "-vf", "hflip", "-an", str(copies["mirrored"]))
    ffmpeg("-i", str(media / HAMILTON), "-c:v", "libx264", "-crf", "28", "-an", str(copies["crf28"]))
    return copies


@pytest.fixture()
def hamilton_env(cli_env: dict[str, str], media: Path) -> dict[str, str]:
    """A CLI gallery with Lin-Manuel Miranda and his footage added with the default settings."""
    photo = media / "face_recognition" / "lin-manuel-miranda.png"
    added = run_cli(["gallery", "add", "Lin-Manuel Miranda", str(photo)], cli_env)
    assert added.returncode == 0, added.stderr
    footage = run_cli(["footage", "add", "Lin-Manuel Miranda", str(media / HAMILTON)], cli_env)
    assert footage.returncode == 0, footage.stderr
    return cli_env


def test_mirrored_copy_of_footage_is_flagged_as_a_replay(
    hamilton_env: dict[str, str], hamilton_copies: dict[str, Path], tmp_path: Path
) -> None:
    result_path = tmp_path / "mirrored.json"
    scanned = run_cli(["scan", str(hamilton_copies["mirrored"]), "--json", str(result_path)], hamilton_env)
    assert scanned.returncode in (0, 1), scanned.stderr
    replay = json.loads(result_path.read_text())["sources"][0]["signals"]["replay"]
    assert replay["score"] >= 0.6, replay["explanation"]
    assert replay["details"]["footage_video"] == "short_hamilton_clip.mp4"


def test_replay_reason_gives_the_footage_time_of_its_first_frame(
    hamilton_env: dict[str, str], hamilton_copies: dict[str, Path]
) -> None:
    with Gallery(Path(hamilton_env["IMPERSONATION_GALLERY"]), create=False) as store:
        index = FootageIndex.from_gallery(store)
    replay = detect(index, hamilton_copies["crf28"]).source_signals()["replay"]
    assert replay.score >= 0.6, replay.explanation
    # The copy's first second holds the footage's first frame, 0.85 s into the file: its run starts there, never
    # before; and the copy, timed as the original from its file's start, runs at offset 0 (0.85 s until 2026-12-07,
    # when the original's times counted from its first frame).
    assert 0.84 <= replay.details["footage_start_s"] <= 1.35, replay.explanation
    assert abs(replay.details["offset_s"]) <= 0.1, replay.explanation
    assert "footage time -" not in replay.explanation
