"""Scanning real recordings: the right people at the right times, nobody else, and well-formed output."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import cv2
import pytest

from impersonation_cli.config import load_config
from impersonation_cli.gallery.enrol import reference_from_image
from impersonation_cli.gallery.store import Gallery
from impersonation_cli.pipeline.scan import ScanContext, scan_inputs
from impersonation_cli.results import ScanResult
from impersonation_cli.runtime.engine import FaceEngine

from ..conftest import SAMPLES, run_cli
from ..unit.cli_in_process import run_cli as run_cli_in_process

HAMILTON_PEOPLE = {
    "Lin-Manuel Miranda": ["lin-manuel-miranda.png"],
    "Barack Obama": ["obama.jpg", "obama2.jpg"],
    "Joe Biden": ["biden.jpg"],
    "Alex Lacamoire": ["alex-lacamoire.png"],
    "Kit Harington": ["knn_examples/train/kit_harington/john1.jpeg"],
}


def enrol(engine: FaceEngine, gallery: Gallery, name: str, photos: list[Path]) -> None:
    refs = [o.reference for p in photos if (o := reference_from_image(engine, p)).reference is not None]
    gallery.add_person(name, refs)


@pytest.fixture(scope="module")
def hamilton_gallery(engine: FaceEngine, media: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("hamilton") / "gallery.sqlite"
    with Gallery(path) as gallery:
        for name, photos in HAMILTON_PEOPLE.items():
            enrol(engine, gallery, name, [media / "face_recognition" / p for p in photos])
    return path


@pytest.fixture(scope="module")
def hamilton_result(engine: FaceEngine, media: Path, hamilton_gallery: Path, tmp_path_factory) -> ScanResult:
    with Gallery(hamilton_gallery) as gallery:
        index = gallery.index()
    evidence = tmp_path_factory.mktemp("evidence")
    context = ScanContext(engine=engine, index=index, config=load_config(), evidence_dir=evidence)
    return scan_inputs([str(media / "face_recognition" / "short_hamilton_clip.mp4")], context)


def test_labelled_people_found_at_the_right_time(hamilton_result: ScanResult) -> None:
    found = {a.identity: a for a in hamilton_result.appearances}
    # Lin-Manuel Miranda is on stage in the first shot (the video begins 0.85 s into the file, where its times count
    # from since 2026-12-07) and from about 3 s to 7 s, an audience shot between (one appearance, or the first
    # shot's frames unmatched, with the sampling); the Obamas are in the audience shots after 7 s.
    # Alex Lacamoire (labelled by the clip's source) is the pianist of the first shot, a 40-pixel face in the
    # dark: found or not, never elsewhere. Joe Biden and Kit Harington are not in the clip.
    assert (
        {"Lin-Manuel Miranda", "Barack Obama"} <= set(found) <= {"Lin-Manuel Miranda", "Barack Obama", "Alex Lacamoire"}
    )
    if "Alex Lacamoire" in found:
        assert found["Alex Lacamoire"].end_s <= 2.0
    miranda, obama = found["Lin-Manuel Miranda"], found["Barack Obama"]
    assert 0.84 <= miranda.start_s <= 4.0 and 6.0 <= miranda.end_s <= 8.0
    assert 6.5 <= obama.start_s <= 8.5 and obama.end_s >= 8.5
    for appearance in (miranda, obama):
        assert appearance.median_similarity >= 0.4
        assert appearance.second_similarity is not None
        assert appearance.median_similarity - appearance.second_similarity >= 0.08


def test_evidence_crops_are_saved_with_their_sha256(hamilton_result: ScanResult) -> None:
    for appearance in hamilton_result.appearances:
        evidence = appearance.evidence
        assert evidence is not None and evidence.path is not None
        data = Path(evidence.path).read_bytes()
        assert hashlib.sha256(data).hexdigest() == evidence.sha256
        image = cv2.imread(evidence.path)
        assert image is not None and min(image.shape[:2]) >= 20
        assert appearance.start_s <= evidence.time_s <= appearance.end_s


def test_each_crop_comes_with_the_whole_frame_it_was_cut_from(hamilton_result: ScanResult, media: Path) -> None:
    """The screenshot a takedown notice shows: the unaltered frame at the video's size, with its sha256, and the
    crop found in it where its box says (both are JPEG: the match is close, not exact)."""
    video = cv2.VideoCapture(str(media / "face_recognition" / "short_hamilton_clip.mp4"))
    size = (int(video.get(cv2.CAP_PROP_FRAME_HEIGHT)), int(video.get(cv2.CAP_PROP_FRAME_WIDTH)))
    video.release()
    for appearance in hamilton_result.appearances:
        crop, frame = appearance.evidence, appearance.evidence_frame
        assert crop is not None and crop.path is not None and frame is not None and frame.path is not None
        assert hashlib.sha256(Path(frame.path).read_bytes()).hexdigest() == frame.sha256
        assert Path(frame.path).parent == Path(crop.path).parent and frame.path.endswith("_frame.jpg")
        assert (frame.time_s, frame.box) == (crop.time_s, crop.box)
        whole, face = cv2.imread(frame.path), cv2.imread(crop.path)
        assert whole.shape[:2] == size
        difference = cv2.matchTemplate(whole, face, cv2.TM_SQDIFF_NORMED)
        _, _, (left, top), _ = cv2.minMaxLoc(difference)
        x1, y1, x2, y2 = crop.box
        margin_x, margin_y = (x2 - x1) * 0.35, (y2 - y1) * 0.35  # tracks.crop_with_margin
        assert abs(left - max(0.0, x1 - margin_x)) <= 1 and abs(top - max(0.0, y1 - margin_y)) <= 1
        assert difference.min() < 0.01


def test_result_json_round_trips(hamilton_result: ScanResult) -> None:
    document = json.loads(hamilton_result.to_json())
    assert document["schema"] == "impersonation-cli/scan" and document["schema_version"] == "1.13"
    # The detector that ran, named by file, precision and content (the int8 copy or the published file).
    detector_file, precision, digest = document["settings"]["detector"].split(":")
    assert detector_file.endswith(".onnx") and precision in ("int8", "fp32") and len(digest) == 16
    again = ScanResult.from_dict(document)
    assert again == hamilton_result
    with pytest.raises(ValueError, match="not readable by this version"):
        ScanResult.from_dict({**document, "schema_version": "2.0"})


def _write_segment(source: Path, target: Path, start_s: float, end_s: float | None = None) -> None:
    capture = cv2.VideoCapture(str(source))
    fps = capture.get(cv2.CAP_PROP_FPS)
    writer = None
    index = 0
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        t = index / fps
        index += 1
        if t < start_s or (end_s is not None and t >= end_s):
            continue
        if writer is None:
            writer = cv2.VideoWriter(str(target), cv2.VideoWriter_fourcc(*"mp4v"), fps, frame.shape[1::-1])
        writer.write(frame)
    capture.release()
    assert writer is not None
    writer.release()


def _stills(source: Path, folder: Path, times: list[float]) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    capture = cv2.VideoCapture(str(source))
    paths = []
    for t in times:
        capture.set(cv2.CAP_PROP_POS_MSEC, t * 1000)
        ok, frame = capture.read()
        assert ok
        path = folder / f"still_{t:.1f}.png"
        cv2.imwrite(str(path), frame)
        paths.append(path)
    capture.release()
    return paths


def test_enrolled_from_one_half_found_in_the_other(engine: FaceEngine, media: Path, tmp_path: Path) -> None:
    """Talking heads of two real politicians: enrol from stills of the first 3 s, scan only the last 4 s."""
    clips = {
        "Katie Hill": media / "sadtalker" / "WDA_KatieHill_000.mp4",
        "Alexandria Ocasio-Cortez": media / "sadtalker" / "WDA_AlexandriaOcasioCortez_000.mp4",
    }
    halves = {}
    with Gallery(tmp_path / "gallery.sqlite") as gallery:
        for name, clip in clips.items():
            enrol(engine, gallery, name, _stills(clip, tmp_path / name, [0.2, 1.5, 2.8]))
            halves[name] = tmp_path / f"{clip.stem}_second_half.mp4"
            _write_segment(clip, halves[name], start_s=4.0)
        index = gallery.index()
    context = ScanContext(engine=engine, index=index, config=load_config(), fps=2.0)
    result = scan_inputs([str(p) for p in halves.values()], context)
    by_source = {a.source: a.identity for a in result.appearances}
    assert by_source == {str(path): name for name, path in halves.items()}
    assert all(a.end_s - a.start_s >= 3.0 for a in result.appearances)


@pytest.mark.parametrize(
    "clip",
    [
        "facenet_pytorch/video.mp4",  # a crowd of unknown people
        "ai_digital_human_MuseTalk/sun.mp4",  # an AI presenter who is nobody registered
        "ffpp_icpr2020dfdc/original/634.mp4",  # unknown TV presenters
    ],
)
def test_people_not_enrolled_are_not_reported(engine: FaceEngine, media: Path, hamilton_gallery: Path, clip: str):
    with Gallery(hamilton_gallery) as gallery:
        index = gallery.index()
    context = ScanContext(engine=engine, index=index, config=load_config(), fps=1.0)
    result = scan_inputs([str(media / clip)], context)
    assert result.sources[0].status == "ok" and result.sources[0].faces_detected > 0
    assert result.appearances == []


def test_scan_cli_exit_codes_and_outputs(cli_env: dict[str, str], media: Path, hamilton_gallery: Path, tmp_path):
    env = {**cli_env, "IMPERSONATION_GALLERY": str(hamilton_gallery)}
    found = run_cli(
        [
            "scan",
            str(media / "face_recognition" / "short_hamilton_clip.mp4"),
            "--fps",
            "1",
            "--json",
            str(tmp_path / "r.json"),
            "--jsonl",
            str(tmp_path / "e.jsonl"),
            "--evidence-dir",
            str(tmp_path / "ev"),
        ],
        env,
    )
    assert found.returncode == 1, found.stderr
    assert "Lin-Manuel Miranda" in found.stdout
    events = [json.loads(line) for line in (tmp_path / "e.jsonl").read_text().splitlines()]
    document = json.loads((tmp_path / "r.json").read_text())
    assert [e["appearance_id"] for e in events] == [a["appearance_id"] for a in document["appearances"]]
    assert all(e["schema"] == "impersonation-cli/appearance" for e in events)

    nobody = run_cli(["scan", str(media / "facenet_pytorch" / "video.mp4"), "--fps", "1", "-q"], env)
    assert nobody.returncode == 0, nobody.stderr

    usage = run_cli(["scan", str(media / "facenet_pytorch" / "video.mp4"), "--fps", "-1"], env)
    assert usage.returncode == 2 and usage.stderr.startswith("error: --fps")


def test_bad_inputs_are_reported_and_the_rest_still_scanned(
    cli_env: dict[str, str], media: Path, hamilton_gallery: Path, tmp_path: Path
) -> None:
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(b"not a video at all " * 500)
    truncated = tmp_path / "truncated.avi"
    truncated.write_bytes((media / "opencv_samples_debian" / "vtest.avi").read_bytes()[:400_000])
    no_face = media / "insightface" / "inspireface_test_res" / "no_face_view.jpg"
    env = {**cli_env, "IMPERSONATION_GALLERY": str(hamilton_gallery)}
    inputs = [
        str(tmp_path / "missing.mp4"),
        str(empty),
        str(garbage),
        str(truncated),
        str(no_face),
        str(media / "opencv_samples_debian" / "Megamind_bugy.avi"),
    ]
    result = run_cli(["scan", *inputs, "--fps", "1", "--json", str(tmp_path / "r.json"), "-q"], env)
    assert result.returncode == 3, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 4, lines  # one line per input that could not be read, wholly or in part
    statuses = {Path(s["source"]).name: s["status"] for s in json.loads((tmp_path / "r.json").read_text())["sources"]}
    assert statuses == {
        "missing.mp4": "unreadable",
        "empty.mp4": "unreadable",
        "garbage.mp4": "unreadable",
        "truncated.avi": "truncated",
        "no_face_view.jpg": "ok",
        "Megamind_bugy.avi": "ok",
    }


def test_results_are_reproducible(engine: FaceEngine, media: Path, hamilton_gallery: Path) -> None:
    with Gallery(hamilton_gallery) as gallery:
        index = gallery.index()
    context = ScanContext(engine=engine, index=index, config=load_config(), fps=1.0)
    clip = str(media / "face_recognition" / "short_hamilton_clip.mp4")
    first, second = (scan_inputs([clip], context).to_dict() for _ in range(2))
    first.pop("run"), second.pop("run")
    # Two empty results are equal too: the same people must have been found, in a clip read to its end.
    assert {"Lin-Manuel Miranda", "Barack Obama"} <= {a["identity"] for a in first["appearances"]}
    assert first["sources"][0]["status"] == "ok" and first["sources"][0]["frames_sampled"] >= 9
    assert first == second


@pytest.mark.parametrize(
    "args",
    [["scan", "--fps", "abc", "x.mp4"], ["scan", "--no-such-option"], ["gallery", "add"], ["no-such-command"]],
)
def test_usage_errors_are_one_line(cli_env: dict[str, str], args: list[str]) -> None:
    result = run_cli_in_process(*args, env=cli_env)
    assert result.returncode == 2
    assert result.stderr.startswith("error: impersonation-cli") and result.stderr.count("\n") == 1, result.stderr


@pytest.mark.parametrize(
    ("command", "option", "target", "message"),
    [
        (["scan", "CLIP"], "--json", "FILE/result.json", "FILE is a file, not a folder"),
        (["scan", "CLIP"], "--jsonl", "FOLDER", "is a folder, not a file"),
        (["scan", "CLIP"], "--evidence-dir", "FILE/evidence", "cannot make the folder FILE/evidence"),
        (["watch", "CLIP", "--duration", "1s"], "--alerts", "FOLDER", "is a folder, not a file"),
        (["gallery", "export"], None, "FILE/gallery.json", "FILE is a file, not a folder"),
    ],
)
def test_unwritable_outputs_fail_before_the_work(
    cli_env: dict[str, str], tmp_path: Path, command: list[str], option: str | None, target: str, message: str
) -> None:
    """An output that cannot be written is one line and exit 2 up front, not a lost hour of scanning."""
    (tmp_path / "FILE").write_text("a file where a folder is wanted")
    (tmp_path / "FOLDER").mkdir()
    clip = str(SAMPLES / "clips" / "astronaut_live.mp4")
    args = [clip if a == "CLIP" else a for a in command] + ([option] if option else []) + [str(tmp_path / target)]
    result = run_cli_in_process(*args, env=cli_env)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("error:") and result.stderr.count("\n") == 1, result.stderr
    assert message.replace("FILE", str(tmp_path / "FILE")) in result.stderr, result.stderr
    assert "internal error" not in result.stderr and not result.stdout.strip(), result.stdout
