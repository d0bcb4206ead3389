"""No accusation of real footage (issue 15): real shared clips re-encoded at crf 28 raise no likely-synthetic,
and an authorized room showing the real person gets no likely-synthetic, in scan and in watch alerts. These
judge the trained forgery model on real media, so they need it installed."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import cv2
import pytest

from impersonation_cli.pipeline.signals.detector import FACE_FORGERY, forgery_model
from impersonation_cli.runtime.engine import FaceEngine

from ..conftest import run_cli, script_module, unavailable

pytestmark = pytest.mark.shared_media

# Real clips of several kinds: the Hamilton example (Obama and Miranda were accused after a crf-28
# re-encode), and people the detector never trained on (scripts/train_detector.py VALIDATION_CLIPS): an FF++
# original, two talking heads (one East Asian, portrait phone video) and a congressman.
REAL_CLIPS = (
    "face_recognition/short_hamilton_clip.mp4",
    "ffpp_icpr2020dfdc/original/519.mp4",
    "sadtalker/WDA_KatieHill_000.mp4",
    "real_talking_heads_LivePortrait/driving_d13.mp4",
    "real_talking_heads_video_retalking/face_2.mp4",
)
SECONDS = 6


@pytest.fixture(scope="module", autouse=True)
def trained_model(engine: FaceEngine) -> None:
    model = forgery_model(engine)
    if model.detector is None:
        unavailable(f"the trained forgery model is not installed: {model.problem}")


@pytest.fixture(scope="module")
def reencoded(media: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first seconds of each real clip, re-encoded with H.264 at crf 28 as a new user's tools would."""
    folder = tmp_path_factory.mktemp("crf28")
    for clip in REAL_CLIPS:
        target = folder / clip.replace("/", "__")
        command = ["ffmpeg", "-v", "error", "-y", "-t", str(SECONDS), "-i", str(media / clip), "-an"]
        command += ["-c:v", "libx264", "-preset", "veryfast", "-crf", "28", "-pix_fmt", "yuv420p", str(target)]
        subprocess.run(command, check=True, timeout=300)
    return folder


# Held-out real people whose faces fill a 9:16 phone frame's width: their context crop leaves the picture.
PHONE_CLIPS = (
    "real_public_figures_video/theresa_may_pose_ref.mp4",
    "real_talking_heads_LivePortrait/driving_d19.mp4",
    "sadtalker/WDA_KatieHill_000.mp4",
)


def phone_frame() -> str:
    """The 9:16 phone frame of the robustness set (scripts/make_robustness_set.py), as its measurements used it."""
    return script_module("make_robustness_set").phone_frame()


@pytest.fixture(scope="module")
def phone_frames(media: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first seconds of PHONE_CLIPS in a 9:16 phone frame, H.264 crf 23."""
    folder = tmp_path_factory.mktemp("phone")
    frame = phone_frame()
    for clip in PHONE_CLIPS:
        target = folder / clip.replace("/", "__")
        command = ["ffmpeg", "-v", "error", "-y", "-t", str(SECONDS), "-i", str(media / clip), "-an", "-vf"]
        command += [frame, "-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p"]
        subprocess.run([*command, str(target)], check=True, timeout=300)
    return folder


def scan_json(args: list[str], env: dict[str, str], report: Path) -> dict:
    done = run_cli(["scan", *args, "--json", str(report), "--fps", "2"], env, timeout=600)
    assert done.returncode in (0, 1), done.stderr
    return json.loads(report.read_text(encoding="utf-8"))


def test_real_clips_reencoded_at_crf_28_raise_no_likely_synthetic(
    reencoded: Path, media: Path, engine: FaceEngine, cli_env: dict[str, str], tmp_path: Path
) -> None:
    people = {"Lin-Manuel Miranda": "lin-manuel-miranda.png", "Barack Obama": "obama.jpg"}
    for name, photo in people.items():
        done = run_cli(["gallery", "add", name, str(media / "face_recognition" / photo)], cli_env)
        assert done.returncode == 0, done.stderr
    # Faces of people nobody registered are judged too, as eval --score-unmatched does.
    config = tmp_path / "judge-everyone.toml"
    config.write_text("[verdicts]\nflag_unmatched_faces = true\n", encoding="utf-8")
    document = scan_json([str(reencoded), "--config", str(config)], cli_env, tmp_path / "result.json")
    assert document["settings"]["forgery"] == forgery_model(engine).model_id
    assert len(document["sources"]) == len(REAL_CLIPS)
    for source in document["sources"]:
        assert "likely-synthetic" not in source["verdicts"], (source["source"], source["signals"].get(FACE_FORGERY))
    hamilton = [a for a in document["appearances"] if "hamilton" in a["source"]]
    assert {a["identity"] for a in hamilton} >= {"Lin-Manuel Miranda"}, "the faces the issue named were not found"
    # The detector looked at these faces: a clip it could not judge would pass without proving anything.
    judged = [s for s in document["sources"] if not s["signals"][FACE_FORGERY]["explanation"].startswith("not judged")]
    assert len(judged) >= len(REAL_CLIPS) - 1


def test_an_authorized_room_showing_the_real_person_gets_no_likely_synthetic_in_scan_or_watch(
    media: Path, cli_env: dict[str, str], tmp_path: Path
) -> None:
    """The seed's live case: the legitimate seller's room shows the real person. Katie Hill's clip (a person
    the detector never trained on), registered from one of its own frames and authorized in the room."""
    clip = media / "sadtalker" / "WDA_KatieHill_000.mp4"
    capture = cv2.VideoCapture(str(clip))
    ok, frame = capture.read()
    capture.release()
    assert ok
    reference = tmp_path / "katie_hill.png"
    cv2.imwrite(str(reference), frame)
    for args in (["gallery", "add", "Katie Hill", str(reference)], ["gallery", "authorize", "Katie Hill", "douyin:7"]):
        done = run_cli(args, cli_env)
        assert done.returncode == 0, done.stderr
    document = scan_json([str(clip), "--room", "douyin:7"], cli_env, tmp_path / "scan.json")
    (appearance,) = document["appearances"]
    assert appearance["verdicts"] == ["authorized"], appearance["reasons"]
    assert not appearance["signals"][FACE_FORGERY]["explanation"].startswith("not judged")

    alerts, summary = tmp_path / "alerts.jsonl", tmp_path / "watch.json"
    args = [str(clip), "--room", "douyin:7", "--fps", "2", "--duration", "8s", "--alerts", str(alerts)]
    done = run_cli(["watch", *args, "--json", str(summary)], cli_env, timeout=120)
    assert done.returncode in (0, 1), done.stderr
    raised = [json.loads(line) for line in alerts.read_text(encoding="utf-8").splitlines()] if alerts.exists() else []
    assert not [a for a in raised if a["verdict"] == "likely-synthetic"], raised
    watched = json.loads(summary.read_text(encoding="utf-8"))
    assert watched["appearances"] and all(a["verdicts"] == ["authorized"] for a in watched["appearances"])


def test_real_close_ups_in_a_phone_frame_are_judged_and_not_accused(
    phone_frames: Path, media: Path, cli_env: dict[str, str], tmp_path: Path
) -> None:
    """The model judged none of these three until it was trained on faces cut by the frame's edge (docs/verdicts.md,
    "Faces cut by the frame's edge"): judging them must not accuse them. Nobody in them is registered; their faces
    are judged as unmatched faces (as eval --score-unmatched does)."""
    done = run_cli(["gallery", "add", "Barack Obama", str(media / "face_recognition" / "obama.jpg")], cli_env)
    assert done.returncode == 0, done.stderr
    config = tmp_path / "judge-everyone.toml"
    config.write_text("[verdicts]\nflag_unmatched_faces = true\n", encoding="utf-8")
    document = scan_json([str(phone_frames), "--config", str(config)], cli_env, tmp_path / "result.json")
    assert len(document["sources"]) == len(PHONE_CLIPS)
    for source in document["sources"]:
        forgery = source["signals"][FACE_FORGERY]
        assert not forgery["explanation"].startswith("not judged"), (source["source"], forgery["explanation"])
        assert not {"likely-synthetic", "likely-effects"} & set(source["verdicts"]), (source["source"], forgery)
