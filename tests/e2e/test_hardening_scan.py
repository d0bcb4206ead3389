"""Hardening of `scan` (issue 13): rooms for folders, single-frame videos, odd file names, bad sources in a
batch, huge images, Ctrl-C, atomic outputs and progress across files."""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from impersonation_cli.config import load_config
from impersonation_cli.gallery.enrol import reference_from_image
from impersonation_cli.gallery.store import Gallery, GalleryIndex
from impersonation_cli.pipeline.scan import ScanContext, ScanProgress, scan_inputs
from impersonation_cli.results import SCAN_SCHEMA_VERSION
from impersonation_cli.runtime.engine import FaceEngine

from ..conftest import SAMPLES, interrupted_cli, run_cli, unavailable

ROOM = "douyin:official"


@pytest.fixture(scope="module")
def miranda_gallery(engine: FaceEngine, media: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Lin-Manuel Miranda, enrolled from his reference photo and authorized for ROOM."""
    path = tmp_path_factory.mktemp("miranda") / "gallery.sqlite"
    outcome = reference_from_image(engine, media / "face_recognition" / "lin-manuel-miranda.png")
    assert outcome.reference is not None, outcome.message
    with Gallery(path) as gallery:
        gallery.add_person("Lin-Manuel Miranda", [outcome.reference])
        gallery.authorize("Lin-Manuel Miranda", ROOM)
    return path


def test_room_applies_to_every_file_of_a_folder(
    cli_env: dict[str, str], media: Path, miranda_gallery: Path, tmp_path: Path
) -> None:
    """A folder scanned with --room: its files are in that room, so an authorized person is `authorized` (it
    used to be a false `unauthorized-likeness`, the room filed under the folder and never found)."""
    folder = tmp_path / "captures"
    folder.mkdir()
    (folder / "stage.mp4").symlink_to(media / "face_recognition" / "short_hamilton_clip.mp4")
    env = {**cli_env, "IMPERSONATION_GALLERY": str(miranda_gallery)}
    result = run_cli(["scan", str(folder), "--room", ROOM, "--fps", "1", "--json", str(tmp_path / "r.json")], env)
    assert result.returncode == 1, result.stderr
    document = json.loads((tmp_path / "r.json").read_text())
    assert [s["room"] for s in document["sources"]] == [ROOM]
    (miranda,) = document["appearances"]
    assert miranda["identity"] == "Lin-Manuel Miranda" and miranda["room"] == ROOM
    assert "authorized" in miranda["verdicts"] and "unauthorized-likeness" not in miranda["verdicts"]
    # The table names the file in the source column, and the room beside it.
    row = next(line for line in result.stdout.splitlines() if "Lin-Manuel" in line)
    assert "stage.mp4" in row and ROOM in row, result.stdout


@pytest.fixture(scope="module")
def obama_index(engine: FaceEngine, media: Path, tmp_path_factory: pytest.TempPathFactory) -> GalleryIndex:
    outcome = reference_from_image(engine, media / "face_recognition" / "obama2.jpg")
    assert outcome.reference is not None, outcome.message
    with Gallery(tmp_path_factory.mktemp("obama") / "gallery.sqlite") as gallery:
        gallery.add_person("Barack Obama", [outcome.reference])
        return gallery.index()


def _one_frame_mp4(photo: Path, target: Path) -> None:
    """A real H.264 mp4 holding one frame: the photo."""
    image = cv2.imread(str(photo))
    height, width = (d - d % 2 for d in image.shape[:2])
    with av.open(str(target), "w") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image[:height, :width]), format="bgr24")
        container.mux(stream.encode(frame))
        container.mux(stream.encode(None))


def test_single_frame_videos_yield_their_appearance(
    engine: FaceEngine, media: Path, obama_index: GalleryIndex, tmp_path: Path
) -> None:
    """min_appearance_frames (2) cannot apply to a source that has one frame: a one-frame mp4 and a JPEG
    renamed .mp4 used to detect the face and report nobody."""
    photo = media / "face_recognition" / "obama.jpg"
    encoded, renamed = tmp_path / "one_frame.mp4", tmp_path / "photo_renamed.mp4"
    _one_frame_mp4(photo, encoded)
    shutil.copyfile(photo, renamed)
    context = ScanContext(engine=engine, index=obama_index, config=load_config(), fps=2.0)
    result = scan_inputs([str(encoded), str(renamed)], context)
    # The photo renamed .mp4 is read as the photo it is (its header's size checked like any picture's).
    assert [(s.kind, s.status, s.frames_sampled) for s in result.sources] == [("video", "ok", 1), ("image", "ok", 1)]
    assert sorted((Path(a.source).name, a.identity, a.frames) for a in result.appearances) == [
        ("one_frame.mp4", "Barack Obama", 1),
        ("photo_renamed.mp4", "Barack Obama", 1),
    ]


@pytest.fixture(scope="module")
def collins_gallery(engine: FaceEngine, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Eileen Collins from the project's own sample references (she is in samples/clips/astronaut_live.mp4)."""
    path = tmp_path_factory.mktemp("collins") / "gallery.sqlite"
    photos = sorted((SAMPLES / "references" / "Eileen_Collins").glob("*.jpg"))
    with Gallery(path) as gallery:
        gallery.add_person("Eileen Collins", [reference_from_image(engine, p).reference for p in photos])
    return path


def test_file_names_that_are_not_utf8_are_enrolled_and_scanned(cli_env: dict[str, str], tmp_path: Path) -> None:
    """OpenCV segfaulted (exit 139, no output) on such names in `scan` and `gallery add`/`import`; `footage add`
    and `gallery add` then failed storing the name (exit 4). Now they are read, stored, reported and escaped."""
    folder = os.fsencode(tmp_path)
    clip, photo = folder + b"/clip_\xff.mp4", folder + b"/ref_\xe9\xff.jpg"
    shutil.copyfile(SAMPLES / "clips" / "astronaut_live.mp4", clip)
    shutil.copyfile(SAMPLES / "references" / "Eileen_Collins" / "ref1.jpg", photo)
    added = run_cli(["gallery", "add", "Eileen Collins", os.fsdecode(photo)], cli_env)
    assert added.returncode == 0 and "1 new reference face" in added.stdout, added.stderr
    # A person's name comes from a folder's name in `gallery import`: one that is not UTF-8 is refused in one line.
    person = folder + b"/people/Eileen_\xffCollins"
    os.makedirs(person)
    shutil.copyfile(SAMPLES / "references" / "Eileen_Collins" / "ref2.jpg", person + b"/ref2.jpg")
    refused = run_cli(["gallery", "import", os.fsdecode(folder + b"/people")], cli_env)
    assert refused.returncode == 2 and "invalid person name" in refused.stderr, refused.stderr
    assert refused.stderr.count("\n") == 1, refused.stderr
    footage = run_cli(["footage", "add", "Eileen Collins", os.fsdecode(clip)], cli_env)
    assert footage.returncode == 0 and "clip_\\xff.mp4 added" in footage.stdout, footage.stderr
    args = ["scan", os.fsdecode(clip), os.fsdecode(photo), "--fps", "2", "--json", str(tmp_path / "r.json")]
    result = run_cli([*args, "--evidence-dir", str(tmp_path / "evidence")], cli_env)
    assert result.returncode == 1, result.stderr
    document = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    # Each name's undecodable bytes as the visible \xNN (docs/reports.md), never a lone surrogate.
    shown = [os.fsencode(p).decode("utf-8", "backslashreplace") for p in (clip, photo)]
    assert [s["source"] for s in document["sources"]] == shown
    assert [s["status"] for s in document["sources"]] == ["ok", "ok"]
    assert {a["source"] for a in document["appearances"]} == set(shown)
    assert all(Path(a["evidence"]["path"]).is_file() for a in document["appearances"])
    assert "clip_\\xff.mp4" in result.stdout, result.stdout


def _png(path: Path, width: int, height: int, rows: int | None = None) -> None:
    """A one-colour 1-bit greyscale PNG of width x height pixels, small on disk (0.5 MB at 30000x30000); with
    `rows`, only that many rows of data follow the header (a picture cut short)."""
    row = b"\x00" + bytes((width + 7) // 8)
    packer = zlib.compressobj(1)
    data = b"".join(packer.compress(row * 500) for _ in range((rows or height) // 500)) + packer.flush()

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b""))


def _run_cli_measured(args: list[str], env: dict[str, str]) -> tuple[int, str, int]:
    """The real CLI's exit code, stderr and peak memory (KiB), this process alone (wait4's usage)."""
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(
            [sys.executable, "-m", "impersonation_cli", *args], env=env, stdout=subprocess.DEVNULL, stderr=errors
        )
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        errors.seek(0)
        return process.returncode, errors.read().decode(errors="replace"), usage.ru_maxrss


def test_huge_pictures_are_refused_before_decoding_and_the_batch_goes_on(
    cli_env: dict[str, str], collins_gallery: Path, tmp_path: Path
) -> None:
    """A 60000x60000 PNG stopped the batch (exit 4, no JSON), a 30000x30000 one (0.5 MB) took 8.2 GB: both are
    now unreadable with the reason, read from their headers, and the clip after them is still scanned."""
    _png(tmp_path / "huge.png", 30_000, 30_000)
    _png(tmp_path / "huger.png", 60_000, 60_000, rows=1000)
    (tmp_path / "cut.png").write_bytes((SAMPLES / "references" / "Eileen_Collins" / "ref1.jpg").read_bytes()[:2])
    inputs = [str(tmp_path / n) for n in ("huge.png", "huger.png", "cut.png")]
    env = {**cli_env, "IMPERSONATION_GALLERY": str(collins_gallery)}
    clip = str(SAMPLES / "clips" / "astronaut_live.mp4")
    code, errors, peak_kib = _run_cli_measured(
        ["scan", *inputs, clip, "--fps", "1", "--json", str(tmp_path / "r.json")], env
    )
    assert code == 1 and "Traceback" not in errors, errors
    sources = {Path(s["source"]).name: s for s in json.loads((tmp_path / "r.json").read_text())["sources"]}
    assert {name: s["status"] for name, s in sources.items()} == {
        "huge.png": "unreadable",
        "huger.png": "unreadable",
        "cut.png": "unreadable",
        "astronaut_live.mp4": "ok",
    }
    assert "30000x30000 pixels is over the limit of 100 megapixels" in sources["huge.png"]["error"]
    assert "60000x60000 pixels" in sources["huger.png"]["error"]
    assert "not a readable image" in sources["cut.png"]["error"]
    # Nothing was decoded: the run stayed far below the 2.7 GB one of those pictures decodes to.
    assert peak_kib < 1_500_000, peak_kib


def test_ctrl_c_writes_what_finished_and_says_so(
    cli_env: dict[str, str], media: Path, collins_gallery: Path, tmp_path: Path
) -> None:
    """SIGINT used to end `scan` with a blank line, exit 130 and no JSON: an hour of work lost. The input in
    progress keeps what it showed until then (it was listed with nothing read)."""
    photo = SAMPLES / "references" / "Eileen_Collins" / "ref1.jpg"
    # Still running when interrupted, however fast the machine: the 8 s clip of Eileen Collins looped 40 times.
    if shutil.which("ffmpeg") is None:
        unavailable("ffmpeg is needed to make the long clip (apt-get install ffmpeg)")
    long_clip = tmp_path / "astronaut_long.mp4"
    loop = ["ffmpeg", "-v", "error", "-stream_loop", "39", "-i", str(SAMPLES / "clips" / "astronaut_live.mp4")]
    subprocess.run([*loop, "-c", "copy", str(long_clip)], check=True, timeout=120)
    json_path, jsonl_path, evidence = tmp_path / "r.json", tmp_path / "r.jsonl", tmp_path / "evidence"
    args = [str(photo), str(long_clip), str(SAMPLES / "clips" / "no_face.mp4"), "--fps", "4"]
    outputs = ["--json", str(json_path), "--jsonl", str(jsonl_path), "--evidence-dir", str(evidence)]
    env = {**cli_env, "IMPERSONATION_GALLERY": str(collins_gallery)}
    # The photo's evidence crop is saved when its appearance is made, at the end of the first input; then 4 s into
    # the long clip (scanned many times faster than real time).
    code, stderr = interrupted_cli(["scan", *args, *outputs], env, lambda: any(evidence.rglob("*.jpg")), 4.0)
    assert code == 130, stderr
    assert stderr.strip().splitlines() == [
        f"interrupted: 1 of 3 inputs finished; written to {json_path}, {jsonl_path} with status interrupted"
    ], stderr
    document = json.loads(json_path.read_text())
    assert document["status"] == "interrupted" and document["schema_version"] == SCAN_SCHEMA_VERSION
    assert [(Path(s["source"]).name, s["status"]) for s in document["sources"]] == [
        ("ref1.jpg", "ok"),
        ("astronaut_long.mp4", "interrupted"),
        ("no_face.mp4", "interrupted"),
    ]
    partial = document["sources"][1]
    assert partial["scanned_s"] > 0 and "interrupted (Ctrl-C)" in partial["error"], partial
    assert document["sources"][2]["scanned_s"] == 0
    # The photo's appearance, and the long clip's up to the Ctrl-C, each with its evidence crop.
    found = [(Path(a["source"]).name, a["identity"]) for a in document["appearances"]]
    assert found[0] == ("ref1.jpg", "Eileen Collins") and len(found) > 1, found
    assert set(found[1:]) == {("astronaut_long.mp4", "Eileen Collins")}, found
    for kept in document["appearances"][1:]:
        assert kept["end_s"] <= partial["scanned_s"] and Path(kept["evidence"]["path"]).is_file()
    events = [json.loads(line) for line in jsonl_path.read_text().splitlines()]
    assert [e["appearance_id"] for e in events] == [a["appearance_id"] for a in document["appearances"]]


def test_sigterm_is_taken_as_ctrl_c(cli_env: dict[str, str], collins_gallery: Path, tmp_path: Path) -> None:
    """`timeout`, `docker stop` and systemd send SIGTERM: it killed the scan in silence (exit 143), the result
    file left as it was and every minute scanned lost, where Ctrl-C keeps them."""
    if shutil.which("ffmpeg") is None:
        unavailable("ffmpeg is needed to make the long clip (apt-get install ffmpeg)")
    long_clip = tmp_path / "astronaut_long.mp4"
    loop = ["ffmpeg", "-v", "error", "-stream_loop", "39", "-i", str(SAMPLES / "clips" / "astronaut_live.mp4")]
    subprocess.run([*loop, "-c", "copy", str(long_clip)], check=True, timeout=120)
    json_path, evidence = tmp_path / "r.json", tmp_path / "evidence"
    json_path.write_text('{"old": 1}')
    photo = SAMPLES / "references" / "Eileen_Collins" / "ref1.jpg"  # its crop is saved as the long clip begins
    args = ["scan", str(photo), str(long_clip), "--fps", "4", "--json", str(json_path), "--evidence-dir", str(evidence)]
    env = {**cli_env, "IMPERSONATION_GALLERY": str(collins_gallery)}
    code, stderr = interrupted_cli(args, env, lambda: any(evidence.rglob("*.jpg")), 2.0, signal.SIGTERM)
    assert code == 130 and stderr.startswith("interrupted: 1 of 2 inputs finished; written to"), stderr
    document = json.loads(json_path.read_text())
    assert document["status"] == "interrupted" and document["sources"][1]["scanned_s"] > 0, document["sources"]
    assert [a["identity"] for a in document["appearances"][:2]] == ["Eileen Collins"] * 2


def _run_with_file_limit(args: list[str], env: dict[str, str], max_file_bytes: int) -> subprocess.CompletedProcess[str]:
    """The real CLI unable to write more than `max_file_bytes` into any file: a disk that fills up mid-write
    (RLIMIT_FSIZE: a write past it fails with EFBIG, as ENOSPC does on a full disk)."""

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (max_file_bytes, max_file_bytes))

    return subprocess.run(
        [sys.executable, "-m", "impersonation_cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        preexec_fn=limit,
    )


def test_outputs_are_replaced_whole_or_not_at_all(
    cli_env: dict[str, str], collins_gallery: Path, tmp_path: Path
) -> None:
    """A write that fails half-way used to leave result.json truncated (4096 bytes of invalid JSON on a full
    disk); now the previous file stays as it was, the error names the file, and no temporary file is left."""
    env = {**cli_env, "IMPERSONATION_GALLERY": str(collins_gallery)}
    outputs = tmp_path / "out"
    json_path, html_path = outputs / "result.json", outputs / "report.html"
    # 120 missing inputs with long names make a result and a report over 64 KiB, the limit set below (the
    # gallery's WAL index needs 32 KiB).
    missing = [str(tmp_path / f"{'long-name-' * 15}{n}.mp4") for n in range(120)]
    scan = ["scan", str(SAMPLES / "clips" / "astronaut_live.mp4"), *missing, "--fps", "1", "--json", str(json_path)]
    assert run_cli(scan, env).returncode == 1
    assert run_cli(["report", str(json_path), "--html", str(html_path)], env).returncode == 1
    before = {path: path.read_bytes() for path in (json_path, html_path)}
    for args, target, limit in (
        ([*scan, "--started-at", "2026-12-01T20:00:00Z"], json_path, 64 * 1024),
        (["report", str(json_path), "--html", str(html_path)], html_path, 64 * 1024),
    ):
        assert len(before[target]) > limit
        failed = _run_with_file_limit(args, env, limit)
        assert failed.returncode == 2, failed.stderr
        assert failed.stderr.startswith(f"error: {target}: File too large"), failed.stderr
        assert failed.stderr.count("\n") == 1, failed.stderr
    assert {path: path.read_bytes() for path in (json_path, html_path)} == before
    json.loads(json_path.read_text())
    assert sorted(p.name for p in outputs.iterdir()) == ["report.html", "result.json"]


def test_progress_counts_files_and_the_video_done(engine: FaceEngine, media: Path, obama_index: GalleryIndex) -> None:
    """Progress used to name only the current file and its own time: now file n of N and the seconds of
    video done over the whole batch."""
    inputs = [
        str(media / "face_recognition" / "obama.jpg"),
        str(SAMPLES / "clips" / "no_face.mp4"),
        str(SAMPLES / "clips" / "astronaut_live.mp4"),
    ]
    events: list[ScanProgress] = []
    context = ScanContext(engine=engine, index=obama_index, config=load_config(), fps=1.0, progress=events.append)
    result = scan_inputs(inputs, context)
    starts = [e for n, e in enumerate(events) if n == 0 or e.file_number != events[n - 1].file_number]
    assert [(e.file_number, e.file_count, e.source, e.time_s) for e in starts] == [
        (n, 3, source, 0.0) for n, source in enumerate(inputs, start=1)
    ]
    done = [e.video_done_s for e in events]
    assert done == sorted(done)
    durations = [s.scanned_s for s in result.sources]
    assert durations[0] == 0.0 and 2.5 < durations[1] < 3.0 and 7.5 < durations[2] < 8.0
    assert done[-1] == pytest.approx(durations[1] + durations[2], abs=1e-3)
    last_of_second = max(e.video_done_s for e in events if e.file_number == 2)
    assert last_of_second == pytest.approx(durations[1], abs=1e-3)
