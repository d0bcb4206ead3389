"""`watch --engine ray` on a real local Ray cluster (2 CPUs: two shards of one room each).

Katie Hill's clip, looped, is played as live in two rooms; with `--workers 2` each room is on its own shard, so
`concurrent` can only be judged by the coordinator, which sees both. One shard's process is killed once both
rooms have alerted: Ray restarts it, its room is opened again (one reconnect), every alert is still raised,
each once, the restart's gap is told as the room's `interrupted` and `resumed`, and the dead worker's track is
kept in the summary. The delay from a finding in a shard to its
alert in the driver is printed (`pytest -s`).
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import cv2
import pytest

from ..conftest import require_shared, run_cli
from .conftest import RayHead, free_port, in_session

PERSON = "Katie Hill"
ROOM_A, ROOM_B = "douyin:2001", "douyin:2002"


def actor_processes(head: RayHead, actor: str) -> list[int]:
    """PIDs of this cluster's processes of an actor class (Ray titles an actor's process by its class)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            title = (entry / "cmdline").read_bytes().decode("utf-8", "replace")
        except OSError:
            continue
        if title.startswith(f"ray::{actor}") and in_session(int(entry.name), head.pid):
            found.append(int(entry.name))
    return found


@pytest.fixture(scope="module")
def watch_case(model_root: Path, pack_name: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A gallery with Katie Hill (stills of her clip's first second) and a rooms file of two rooms playing her
    clip looped three times (24 s) as live."""
    clip = require_shared("media", "sadtalker", "WDA_KatieHill_000.mp4")
    folder = tmp_path_factory.mktemp("ray-watch")
    looped = folder / "katie_looped.mp4"
    command = ["ffmpeg", "-v", "error", "-stream_loop", "2", "-i", str(clip), "-c", "copy", str(looped)]
    subprocess.run(command, check=True, timeout=60)
    capture = cv2.VideoCapture(str(clip))
    stills = []
    for index in range(25):
        ok, image = capture.read()
        assert ok
        if index % 12 == 0:
            stills.append(str(folder / f"katie_{index}.jpg"))
            cv2.imwrite(stills[-1], image)
    capture.release()
    env = dict(os.environ)
    env.update(
        {
            "IMPERSONATION_MODELS": str(model_root),
            "IMPERSONATION_PACK": pack_name,
            "IMPERSONATION_GALLERY": str(folder / "gallery.sqlite"),
            "COLUMNS": "200",
            "XDG_CONFIG_HOME": str(folder / "config-home"),  # no user config file applies
        }
    )
    env.pop("IMPERSONATION_CONFIG", None)
    enrolled = run_cli(["gallery", "add", PERSON, *stills], env)
    assert enrolled.returncode == 0, enrolled.stderr
    second = folder / "katie_second_room.mp4"
    second.symlink_to(looped)
    rooms = folder / "rooms.yaml"
    rooms.write_text(
        f"rooms:\n  - {{url: '{looped}', room: '{ROOM_A}'}}\n  - {{url: '{second}', room: '{ROOM_B}'}}\n",
        encoding="utf-8",
    )
    return {"env": env, "rooms": rooms, "folder": folder}


def watch_killing(
    head: RayHead, case: dict[str, Any], actor: str, out: Path, alerts_before: tuple[str, ...] = ("ALERT",)
) -> dict[str, Any]:
    """The watch, with the first process of `actor` killed once alert lines starting with each of
    `alerts_before` have been printed."""
    args = [
        "watch", str(case["rooms"]), "--engine", "ray", "--address", head.address, "--workers", "2",
        "--fps", "2", "--duration", "30s", "--alerts", str(out / "alerts.jsonl"), "--json", str(out / "summary.json"),
    ]  # fmt: skip
    watch = subprocess.Popen(
        [sys.executable, "-m", "impersonation_cli", *args],
        env=case["env"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []
    killed: list[int] = []

    def read_and_kill() -> None:
        assert watch.stderr is not None
        for line in watch.stderr:
            lines.append(line.rstrip("\n"))
            if all(any(seen.startswith(start) for seen in lines) for start in alerts_before) and not killed:
                found = actor_processes(head, actor)
                if found:
                    os.kill(found[0], signal.SIGKILL)
                    killed.append(found[0])

    reader = threading.Thread(target=read_and_kill, daemon=True)
    reader.start()
    try:
        code = watch.wait(timeout=240)
    finally:
        if watch.poll() is None:
            watch.kill()
            watch.wait()
    reader.join(10)
    log = "\n".join(lines)
    assert killed, f"no {actor} process was found to kill:\n{log}"
    assert "Traceback" not in log, log
    told = [json.loads(line) for line in (out / "alerts.jsonl").read_text(encoding="utf-8").splitlines()]
    alerts = [line for line in told if line["kind"] == "finding"]
    room_events = [line for line in told if line["kind"] == "room"]
    return {"code": code, "log": log, "lines": lines, "alerts": alerts, "room_events": room_events}


@pytest.fixture(scope="module")
def killed_watch(ray_head: RayHead, watch_case: dict[str, Any]) -> dict[str, Any]:
    """The watch, run once: a shard is killed once both rooms have raised their first alert, so whichever shard
    dies has found Katie Hill before (its track is then recovered in the summary)."""
    out = watch_case["folder"] / "out"
    first_alerts = tuple(f"ALERT unauthorized-likeness: {PERSON} in {room} " for room in (ROOM_A, ROOM_B))
    done = watch_killing(ray_head, watch_case, "WatchWorker", out, first_alerts)
    return {**done, "summary": json.loads((out / "summary.json").read_text(encoding="utf-8"))}


@pytest.mark.shared_media
def test_ray_watch_judges_concurrent_across_shards(killed_watch: dict[str, Any]) -> None:
    assert killed_watch["code"] == 1, killed_watch["log"]
    summary = killed_watch["summary"]
    assert summary["settings"]["engine"]["workers"] == 2
    found = {(a["room"], tuple(a["rooms"])) for a in killed_watch["alerts"] if a["verdict"] == "concurrent"}
    assert {r for _, r in found} == {(ROOM_A, ROOM_B)}, killed_watch["alerts"]
    assert f"ALERT concurrent: {PERSON} in {ROOM_A}, {ROOM_B}" in killed_watch["log"]
    concurrent = {a["room"] for a in summary["appearances"] if "concurrent" in a["verdicts"]}
    assert concurrent == {ROOM_A, ROOM_B}, summary["appearances"]
    for alert in killed_watch["alerts"]:  # saved by the coordinator from the best views the shards shipped
        for name in ("evidence", "evidence_frame"):
            picture = Path(alert[name]["path"]).read_bytes()
            assert hashlib.sha256(picture).hexdigest() == alert[name]["sha256"]
    delay = summary["settings"]["alerts"]["coordinator_delay_s"]
    print(f"\nfinding in a shard -> alert line in the driver: {delay}")
    assert delay["alerts"] == len(killed_watch["alerts"])


@pytest.mark.shared_media
def test_ray_watch_survives_a_killed_shard(killed_watch: dict[str, Any]) -> None:
    alerts = killed_watch["alerts"]
    raised = sorted((a["verdict"], tuple(a["rooms"])) for a in alerts)
    # Every finding raised once: the coordinator outlived the shard, so its cool-down holds across the restart.
    expected = [
        ("concurrent", (ROOM_A, ROOM_B)),
        ("unauthorized-likeness", (ROOM_A,)),
        ("unauthorized-likeness", (ROOM_B,)),
    ]
    assert raised == expected, killed_watch["log"]
    rooms = {room["room"]: room for room in killed_watch["summary"]["settings"]["rooms"]}
    assert sorted(room["reconnects"] >= 1 for room in rooms.values()) == [False, True], rooms
    # The restarted room's counters go on from its first life's: two connections, one per life.
    assert sorted(room["connections"] for room in rooms.values()) == [1, 2], rooms
    for room in rooms.values():
        assert room["frames_sampled"] > 0 and room["alerts"] >= 1
    # The restart's silence is the restarted room's interruption, from its first life's last frame to the next.
    gaps = [i for room in rooms.values() for i in room["interruptions"] if "worker process" in (i["error"] or "")]
    assert len(gaps) == 1 and gaps[0]["cause"] == "dropped" and gaps[0]["seconds"] > 0, rooms
    restarted = next(name for name, room in rooms.items() if room["reconnects"] >= 1)
    # The gap is told as a dropped stream's: `interrupted` when the restarted worker reports, then `resumed`.
    told = [e for e in killed_watch["room_events"] if "worker process" in (e["interruption"] or {}).get("error", "")]
    assert [(e["event"], e["room"]) for e in told] == [("interrupted", restarted), ("resumed", restarted)], told
    assert told[0]["interruption"]["start"] == gaps[0]["start"] and told[1]["interruption"] == gaps[0]
    assert f"room {restarted}: no frames for {gaps[0]['seconds']} s" in killed_watch["log"]
    appearances = killed_watch["summary"]["appearances"]
    people = {(a["identity"], a["room"]) for a in appearances}
    assert people == {(PERSON, ROOM_A), (PERSON, ROOM_B)}
    # The dead worker's track is kept as its last finding had it, named after the room's first life and saying
    # so, and it ends before the restarted worker's tracks of that room begin.
    recovered = [a for a in appearances if a["appearance_id"].endswith("-life1")]
    assert [a["room"] for a in recovered] == [restarted], appearances
    assert any("recovered from the last finding of a worker that died" in r for r in recovered[0]["reasons"])
    assert recovered[0]["frames"] >= 2 and "unauthorized-likeness" in recovered[0]["verdicts"]
    later = [a for a in appearances if a["room"] == restarted and a not in recovered]
    assert later and all(recovered[0]["end_wallclock"] <= a["start_wallclock"] for a in later), appearances


@pytest.mark.shared_media
def test_ray_watch_coordinator_death_is_one_line_and_exit_2(ray_head: RayHead, watch_case: dict[str, Any]) -> None:
    out = watch_case["folder"] / "coordinator-killed"
    done = watch_killing(ray_head, watch_case, "WatchCoordinator", out)
    assert done["code"] == 2, done["log"]
    assert done["lines"][-1].startswith("error: the watch's coordinator on Ray died ("), done["log"]
    assert done["lines"][-1].endswith("; the alerts so far are written")
    assert done["alerts"], "the alerts raised before the coordinator died are in the file"


def test_ray_watch_options_need_the_ray_engine(cli_env: dict[str, str]) -> None:
    done = run_cli(["watch", "rtmp://127.0.0.1:1/live/a", "--workers", "2"], cli_env)
    assert done.returncode == 2
    assert done.stderr.startswith("error: --address") and done.stderr.strip().endswith("need --engine ray")
    assert len(done.stderr.strip().splitlines()) == 1


def test_ray_watch_unreachable_cluster_is_one_line_and_exit_2(cli_env: dict[str, str]) -> None:
    rooms = ["rtmp://127.0.0.1:1/live/a"]
    done = run_cli(["watch", *rooms, "--engine", "ray", "--address", f"127.0.0.1:{free_port()}"], cli_env)
    assert done.returncode == 2
    assert done.stderr.startswith("error: cannot reach the Ray cluster at 127.0.0.1:")
    assert len(done.stderr.strip().splitlines()) == 1
