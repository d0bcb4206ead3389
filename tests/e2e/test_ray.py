"""`scan --engine ray` on a real local Ray cluster: the same result as a local scan, a worker killed mid-scan
costs nothing, a Ctrl-C keeps what the workers found, and a cluster that is absent or unreachable is one line
and exit 2.

The cluster is a real head node (`ray start --head --block`, 2 CPUs, in a temp dir; the scans reach it at
127.0.0.1), started once for the module and stopped by signalling the process the fixture started. Its node
address is left to Ray: a head told `--node-ip-address=127.0.0.1` is not found by a driver on the same
machine, which Ray resolves to the machine's own address.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from impersonation_cli.pipeline.signals.scoring import EFFECTS_CUES, SYNTHETIC_CUES
from impersonation_cli.results import EVIDENCE_FIELDS

from ..conftest import REPO, SAMPLES, interrupted_cli, run_cli
from .conftest import RayHead, free_port, in_session

ROOM_A, ROOM_B = "douyin:1001", "douyin:1002"
# Reference photos per person, as one folder of photos per person for `gallery import`.
PEOPLE = {
    "Lin-Manuel_Miranda": ["lin-manuel-miranda.png"],
    "Barack_Obama": ["obama.jpg", "obama2.jpg"],
}


@pytest.fixture(scope="module")
def ray_case(media: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Photos to enrol, and sources: the Hamilton clip in two rooms at overlapping times (so `concurrent` must be
    judged across sources), the project's sample clips, and a path that does not exist."""
    folder = tmp_path_factory.mktemp("ray-case")
    people = folder / "people"
    for person, photos in PEOPLE.items():
        (people / person).mkdir(parents=True)
        for photo in photos:
            (people / person / photo).symlink_to(media / "face_recognition" / photo)
    (people / "Eileen_Collins").symlink_to(SAMPLES / "references" / "Eileen_Collins")
    hamilton = media / "face_recognition" / "short_hamilton_clip.mp4"
    second_room = folder / "second-room.mp4"
    second_room.symlink_to(hamilton)
    rooms = folder / "rooms.yaml"
    rooms.write_text(
        "rooms:\n"
        f"  - {{url: '{hamilton}', room: '{ROOM_A}', started_at: '2026-11-20T20:00:00+08:00'}}\n"
        f"  - {{url: '{second_room}', room: '{ROOM_B}', started_at: '2026-11-20T20:00:02+08:00'}}\n",
        encoding="utf-8",
    )
    inputs = [str(SAMPLES / "clips"), str(folder / "missing.mp4"), "--rooms", str(rooms)]
    return {"people": people, "inputs": inputs}


@pytest.fixture(scope="module")
def ray_env(ray_case: dict[str, Any], model_root: Path, pack_name: str, tmp_path_factory) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "IMPERSONATION_MODELS": str(model_root),
            "IMPERSONATION_PACK": pack_name,
            "IMPERSONATION_GALLERY": str(tmp_path_factory.mktemp("ray-gallery") / "gallery.sqlite"),
            "COLUMNS": "200",
        }
    )
    env.pop("IMPERSONATION_CONFIG", None)
    enrolled = run_cli(["gallery", "import", str(ray_case["people"])], env)
    assert enrolled.returncode == 0, enrolled.stderr
    return env


def scan_args(case: dict[str, Any], out: Path, *engine: str) -> list[str]:
    # One ONNX thread per model in both engines, so that their numbers agree to the last bit on any machine.
    outputs = ["--json", str(out / "result.json"), "--evidence-dir", str(out / "evidence")]
    return ["scan", *case["inputs"], *outputs, "--threads", "1", "-q", *engine]


def comparable(result_path: Path) -> dict[str, Any]:
    """The result without what differs between two runs of the same inputs: timings and the evidence folder."""
    document = json.loads(result_path.read_text(encoding="utf-8"))
    document.pop("run")
    folder = str(result_path.parent / "evidence")
    for appearance in document["appearances"]:
        for name in EVIDENCE_FIELDS:
            appearance[name]["path"] = os.path.relpath(appearance[name]["path"], folder)
    return document


@pytest.fixture(scope="module")
def local_result(ray_case: dict[str, Any], ray_env: dict[str, str], tmp_path_factory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("local")
    done = run_cli(scan_args(ray_case, out), ray_env)
    assert done.returncode == 1, done.stderr
    result = comparable(out / "result.json")
    found = {(a["identity"], a["room"]) for a in result["appearances"] if "concurrent" in a["verdicts"]}
    # The case is only a test of judging across sources if the local scan itself finds the concurrency.
    assert {("Barack Obama", ROOM_A), ("Barack Obama", ROOM_B)} <= found
    # A source carries its appearances' verdicts, `concurrent` (judged once the batch is whole) included.
    assert all("concurrent" in s["verdicts"] for s in result["sources"] if s["room"] in (ROOM_A, ROOM_B))
    assert {s["status"] for s in result["sources"]} == {"ok", "unreadable"}
    return result


def cue_measures_apart(document: dict[str, Any]) -> dict[tuple[str, str], dict[str, float]]:
    """Take the appearances' hand-made cues' explanations and measures out of `document`; return the measures by
    (appearance id, cue)."""
    measures = {}
    for appearance in document["appearances"]:
        for name, cue in appearance["signals"].items():
            if name in SYNTHETIC_CUES or name in EFFECTS_CUES:
                cue.pop("explanation")
                measures[(appearance["appearance_id"], name)] = cue.pop("details")
    return measures


def assert_same_as_local(out: Path, local: dict[str, Any], cue_tolerance: float | None = None) -> None:
    """The distributed result equals the local one in every field. With `cue_tolerance`, the hand-made cues'
    measures (explanations, never a verdict) within it: a slice's first frames get a full-resolution detection
    where the whole file's pass may run the adaptive one (docs/scale.md, "What can still differ")."""
    distributed = comparable(out / "result.json")
    if cue_tolerance is not None:
        local = json.loads(json.dumps(local))
        expected, measured = cue_measures_apart(local), cue_measures_apart(distributed)
        assert measured.keys() == expected.keys()
        for key, values in measured.items():
            assert values.keys() == expected[key].keys(), key
            assert all(abs(v - expected[key][k]) <= cue_tolerance for k, v in values.items()), (key, values)
    assert distributed == local
    for appearance in distributed["appearances"]:
        for name in EVIDENCE_FIELDS:  # the crop and the whole frame
            picture = (out / "evidence" / appearance[name]["path"]).read_bytes()
            assert appearance[name]["sha256"] == hashlib.sha256(picture).hexdigest()


@pytest.mark.shared_media
def test_ray_scan_gives_the_local_result(
    ray_head: RayHead, ray_case: dict[str, Any], ray_env: dict[str, str], local_result: dict[str, Any], tmp_path: Path
) -> None:
    args = scan_args(ray_case, tmp_path, "--engine", "ray", "--address", ray_head.address, "--workers", "2")
    done = run_cli(args, ray_env)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert_same_as_local(tmp_path, local_result)


def scanning_workers(head: RayHead, method: str = "scan") -> list[int]:
    """PIDs of this cluster's actor processes busy in ScanWorker.scan (or `method`, a longer name: Ray titles a
    worker process by what it runs); another cluster on the machine (a benchmark, say) is left alone."""
    busy = []
    for entry in Path("/proc").iterdir():
        try:
            title = (entry / "cmdline").read_bytes().decode("utf-8", "replace")
        except OSError:
            continue
        if title.startswith(f"ray::ScanWorker.{method}") and in_session(int(entry.name), head.pid):
            busy.append(int(entry.name))
    return busy


def finish_killing_one_worker(scan: subprocess.Popen[str], head: RayHead, method: str = "scan") -> str:
    """Wait for `scan` while killing (SIGKILL) the first worker seen busy in `method`; its stderr."""
    killed: list[int] = []

    def kill_one_busy_worker() -> None:
        while scan.poll() is None and not killed:
            busy = scanning_workers(head, method)
            if busy:
                os.kill(busy[0], signal.SIGKILL)
                killed.append(busy[0])
            time.sleep(0.05)

    killer = threading.Thread(target=kill_one_busy_worker, daemon=True)
    killer.start()
    _, stderr = scan.communicate(timeout=600)
    killer.join()
    assert killed, f"no worker was seen busy in ScanWorker.{method}, so none was killed"
    return stderr


@pytest.mark.shared_media
def test_ray_scan_survives_a_worker_killed_mid_scan(
    ray_head: RayHead, ray_case: dict[str, Any], ray_env: dict[str, str], local_result: dict[str, Any], tmp_path: Path
) -> None:
    args = scan_args(ray_case, tmp_path, "--engine", "ray", "--address", ray_head.address, "--workers", "2")
    scan = subprocess.Popen(
        [sys.executable, "-m", "impersonation_cli", *args], env=ray_env, stderr=subprocess.PIPE, text=True
    )
    stderr = finish_killing_one_worker(scan, ray_head)
    assert scan.returncode == 1, stderr
    assert_same_as_local(tmp_path, local_result)


def looped_hamilton(media: Path, times: int, folder: Path) -> Path:
    """The Hamilton clip (9.2 s) played `times` times over, in one file in `folder`."""
    looped = folder / f"hamilton-x{times}.mp4"
    clip = media / "face_recognition" / "short_hamilton_clip.mp4"
    loops = ["-stream_loop", str(times - 1), "-i", str(clip)]
    subprocess.run(["ffmpeg", "-v", "error", *loops, "-an", "-c", "copy", str(looped)], check=True, timeout=120)
    return looped


@pytest.mark.shared_media
def test_a_long_file_in_slices_gives_the_unsplit_local_result(
    ray_head: RayHead, ray_env: dict[str, str], media: Path, tmp_path: Path
) -> None:
    """The Hamilton clip looped 4 times (37.5 s) in 3 slices of about 12 s (`--slice 13`) on two workers, one of them
    killed while it scans a slice (which is then scanned again): the result of a local scan of the whole file,
    evidence included (a face track runs across a boundary: tests/pipeline/test_slices.py), the hand-made cues'
    measures within 0.06 (docs/scale.md)."""
    looped = looped_hamilton(media, 4, tmp_path)
    room = ["--room", ROOM_A, "--started-at", "2026-11-20T20:00:00+08:00", "--threads", "1", "-q"]
    local_out, out = tmp_path / "local", tmp_path / "sliced"

    def scan_args(folder: Path) -> list[str]:
        outputs = ["--json", str(folder / "result.json"), "--evidence-dir", str(folder / "evidence")]
        return [sys.executable, "-m", "impersonation_cli", "scan", str(looped), *outputs, *room]

    local = subprocess.run(scan_args(local_out), env=ray_env, capture_output=True, text=True, timeout=600)
    assert local.returncode == 1, local.stderr
    expected = comparable(local_out / "result.json")
    assert {a["identity"] for a in expected["appearances"]} == {"Lin-Manuel Miranda", "Barack Obama"}
    engine = ["--engine", "ray", "--address", ray_head.address, "--workers", "2", "--slice", "13"]
    scan = subprocess.Popen([*scan_args(out), *engine], env=ray_env, stderr=subprocess.PIPE, text=True)
    stderr = finish_killing_one_worker(scan, ray_head, "scan_slice")
    assert scan.returncode == 1, stderr
    assert_same_as_local(out, expected, cue_tolerance=0.06)


@pytest.mark.shared_media
def test_ctrl_c_keeps_what_a_worker_found_of_the_file_in_progress(
    ray_head: RayHead, ray_env: dict[str, str], media: Path, tmp_path: Path
) -> None:
    """Ctrl-C 5 s into a file a worker scans in one piece (shorter than --slice): the driver asks the worker to
    stop, and what it found of the file comes back, as a local scan keeps the file in progress. The file was
    listed "not scanned (the scan was interrupted)" with nothing read."""
    # 184 s: scanned at 5-8x real time on one core, still in progress 5 s after the worker took it.
    looped = looped_hamilton(media, 20, tmp_path)
    json_path = tmp_path / "result.json"
    engine = ["--engine", "ray", "--address", ray_head.address, "--workers", "1"]
    args = ["scan", str(looped), "--json", str(json_path), "--threads", "1", "-q", *engine]
    code, stderr = interrupted_cli(args, ray_env, lambda: bool(scanning_workers(ray_head)), 5.0)
    assert code == 130, stderr
    assert stderr.strip().splitlines() == [
        f"interrupted: 0 of 1 inputs finished; written to {json_path} with status interrupted"
    ], stderr
    document = json.loads(json_path.read_text(encoding="utf-8"))
    [source] = document["sources"]
    assert (source["status"], document["status"]) == ("interrupted", "interrupted")
    assert source["frames_sampled"] > 0 and 0 < source["scanned_s"] < 184
    kept = f"{looped}: interrupted (Ctrl-C) {source['scanned_s']:.1f} s in; what it showed until then is kept"
    assert source["error"] == kept
    assert document["appearances"], "the Hamilton clip shows Miranda and Obama from its first seconds"
    assert all(a["end_s"] <= source["scanned_s"] for a in document["appearances"])


@pytest.mark.shared_media
def test_a_worker_with_another_forgery_model_is_refused(
    ray_head: RayHead, ray_case: dict[str, Any], ray_env: dict[str, str], tmp_path: Path
) -> None:
    # The cluster's workers run the shipped forgery model (the head's environment); this driver names another
    # model file (the same network under another name: another model id), so its verdicts would differ.
    shipped = REPO / "impersonation_cli" / "data" / "forgery" / "face_forgery.onnx"
    other = tmp_path / "other_forgery.onnx"
    shutil.copy(shipped, other)
    shutil.copy(shipped.with_suffix(".json"), other.with_suffix(".json"))
    env = {**ray_env, "IMPERSONATION_FORGERY_MODEL": str(other)}
    args = scan_args(ray_case, tmp_path, "--engine", "ray", "--address", ray_head.address, "--workers", "1")
    done = run_cli(args, env)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("error: a Ray worker runs other models (")
    assert "face_forgery.onnx:" in done.stderr and "other_forgery.onnx:" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "result.json").exists()


def test_unreachable_cluster_is_one_line_and_exit_2(cli_env: dict[str, str], tmp_path: Path) -> None:
    clip = str(SAMPLES / "clips" / "no_face.mp4")
    done = run_cli(["scan", clip, "--engine", "ray", "--address", f"127.0.0.1:{free_port()}"], cli_env)
    assert done.returncode == 2
    assert done.stderr.startswith("error: cannot reach the Ray cluster at 127.0.0.1:")
    assert len(done.stderr.strip().splitlines()) == 1


def test_missing_ray_is_one_line_and_exit_2(cli_env: dict[str, str]) -> None:
    # sys.modules[name] = None makes `import ray` fail as it does where Ray is not installed.
    program = "import sys; sys.modules['ray'] = None; from impersonation_cli.cli.common import run_app; run_app()"
    clip = str(SAMPLES / "clips" / "no_face.mp4")
    done = subprocess.run(
        [sys.executable, "-c", program, "scan", clip, "--engine", "ray"],
        env=cli_env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2
    assert "--engine ray needs Ray" in done.stderr and "pip install 'impersonation-cli[ray]'" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_ray_options_need_the_ray_engine(cli_env: dict[str, str]) -> None:
    done = run_cli(["scan", str(SAMPLES / "clips"), "--workers", "2"], cli_env)
    assert done.returncode == 2
    assert done.stderr.strip() == "error: --address and --workers need --engine ray"
    done = run_cli(["scan", str(SAMPLES / "clips"), "--slice", "60"], cli_env)
    assert (done.returncode, done.stderr.strip()) == (2, "error: --slice needs --engine ray")
    done = run_cli(["scan", str(SAMPLES / "clips"), "--engine", "ray", "--slice", "5"], cli_env)
    assert (done.returncode, done.stderr.strip()) == (
        2,
        "error: --slice must be 0 (never cut a file) or at least 10 seconds",
    )
