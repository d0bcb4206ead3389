"""`watch` against a real nginx-rtmp server on loopback, fed by real ffmpeg publishers of real clips.

Katie Hill is enrolled from three stills of the first second of her clip; Alexandria Ocasio-Cortez is not
enrolled (a room with a face nobody registered). Every watch runs as the real CLI in a subprocess.
"""

from __future__ import annotations

import hashlib
import http.server
import json
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any, ClassVar

import cv2
import numpy as np
import pytest

from impersonation_cli.gallery.enrol import reference_from_image
from impersonation_cli.gallery.store import Gallery
from impersonation_cli.io.urls import redact_url
from impersonation_cli.outputs.alerts import WebhookSender, WebhookSettings
from impersonation_cli.runtime.engine import FaceEngine

from ..conftest import require_shared, run_cli, sigint_as_at_a_terminal, unavailable

PERSON = "Katie Hill"


@pytest.fixture(scope="module")
def clips() -> dict[str, Path]:
    folder = require_shared("media", "sadtalker")
    return {"katie": folder / "WDA_KatieHill_000.mp4", "aoc": folder / "WDA_AlexandriaOcasioCortez_000.mp4"}


@pytest.fixture()
def enrolled(cli_env: dict[str, str], engine: FaceEngine, clips: dict[str, Path], tmp_path: Path) -> dict[str, str]:
    """cli_env with Katie Hill in its gallery, enrolled from stills of the first second of her clip."""
    capture = cv2.VideoCapture(str(clips["katie"]))
    stills = []
    for index in range(25):
        ok, image = capture.read()
        assert ok
        if index % 12 == 0:
            stills.append(tmp_path / f"katie_{index}.jpg")
            cv2.imwrite(str(stills[-1]), image)
    capture.release()
    references = [reference_from_image(engine, still).reference for still in stills]
    with Gallery(Path(cli_env["IMPERSONATION_GALLERY"])) as store:
        store.add_person(PERSON, [r for r in references if r is not None])
    return cli_env


@pytest.fixture(scope="module")
def streaming() -> ModuleType:
    """tests/streaming.py: the nginx-rtmp server and ffmpeg publisher fixtures."""
    try:
        from .. import streaming as module
    except ImportError as exc:
        unavailable(f"the streaming fixtures (tests/streaming.py) cannot be imported: {exc}")
    return module


@pytest.fixture()
def server(streaming: ModuleType, tmp_path: Path) -> Iterator[Any]:
    streaming.require_streaming()
    with streaming.RtmpServer(tmp_path / "nginx") as running:
        yield running


@pytest.fixture()
def looped(clips: dict[str, Path], tmp_path: Path) -> Path:
    """Katie Hill's clip four times over (stream copy): a file that plays as live for 32 s."""
    target = tmp_path / "katie_looped.mp4"
    command = ["ffmpeg", "-v", "error", "-stream_loop", "3", "-i", str(clips["katie"]), "-c", "copy", str(target)]
    subprocess.run(command, check=True, timeout=60)
    return target


class Watch:
    """The real CLI in a subprocess; stderr lines are collected as they come (the room states and alerts)."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.started = time.monotonic()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "impersonation_cli", "watch", *args],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=sigint_as_at_a_terminal,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._collect, daemon=True)
        self._reader.start()

    def _collect(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, text: str, timeout_s: float) -> None:
        limit = time.monotonic() + timeout_s
        while not any(text in line for line in self.lines):
            assert self.process.poll() is None, f"watch ended before {text!r}:\n" + "\n".join(self.lines)
            assert time.monotonic() < limit, f"no {text!r} within {timeout_s} s:\n" + "\n".join(self.lines)
            time.sleep(0.2)

    def finish(self, timeout_s: float) -> int:
        try:
            code = self.process.wait(timeout_s)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()
        self._reader.join(5)
        return code

    @property
    def elapsed_s(self) -> float:
        return time.monotonic() - self.started

    @property
    def log(self) -> str:
        return "\n".join(self.lines)


def wait_for_playlist(url: str, timeout_s: float) -> None:
    """HLS exists only once the server has cut its first segments from the published stream."""
    limit = time.monotonic() + timeout_s
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if b".ts" in response.read():
                    return
        except OSError:
            pass
        assert time.monotonic() < limit, f"{url} never appeared"
        time.sleep(0.5)


def read_alerts(path: Path, kind: str = "finding") -> list[dict]:
    """The alerts file's lines of one kind: `finding` (the alerts) or `room` (room events)."""
    if not path.exists():
        return []
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [line for line in lines if line["kind"] == kind]


def rooms_by_name(summary_path: Path) -> dict[str, dict]:
    summary = json.loads(summary_path.read_text(encoding="utf-8"))
    assert summary["schema"] == "impersonation-cli/scan"
    assert summary["settings"]["mode"] == "watch"
    return {room["room"]: room for room in summary["settings"]["rooms"]}


@pytest.mark.stream_server
def test_three_live_rooms_same_person_in_two(
    server: Any, streaming: ModuleType, enrolled: dict[str, str], clips: dict[str, Path], tmp_path: Path
) -> None:
    rooms_file = tmp_path / "rooms.yaml"
    rooms_file.write_text(
        "rooms:\n"
        f"  - {{url: '{server.rtmp_url('seller1')}', room: 'douyin:seller1', label: Seller one}}\n"
        f"  - {{url: '{server.hls_url('seller2')}', room: 'douyin:seller2', label: Seller two over HLS}}\n"
        f"  - {{url: '{server.rtmp_url('seller3')}', room: 'kuaishou:seller3'}}\n",
        encoding="utf-8",
    )
    alerts, summary = tmp_path / "alerts.jsonl", tmp_path / "summary.json"
    with (
        streaming.Publisher(clips["katie"], server.rtmp_url("seller1"), loop=True),
        streaming.Publisher(clips["katie"], server.rtmp_url("seller2"), loop=True),
        streaming.Publisher(clips["aoc"], server.rtmp_url("seller3"), loop=True),
    ):
        wait_for_playlist(server.hls_url("seller2"), 30)
        args = [str(rooms_file), "--fps", "1", "--duration", "25s", "--timeout", "5s"]
        result = run_cli(["watch", *args, "--alerts", str(alerts), "--json", str(summary)], enrolled, timeout=90)
    assert result.returncode == 1, result.stderr
    events = read_alerts(alerts)
    assert all(e["schema"] == "impersonation-cli/alert" for e in events)
    # Rooms that keep streaming raise no interruption: an HLS room's segments (1 s), which come a segment after
    # their frames were live, are no silence. Their publishers loop an 8-s clip: that is told, as it is found.
    told = read_alerts(alerts, "room")
    assert [e for e in told if e["event"] != "looping"] == [], result.stderr
    assert told and all(e["reasons"][0].startswith("likely-replay: loop ") for e in told), result.stderr
    assert {e["room"] for e in told} <= {"douyin:seller1", "douyin:seller2", "kuaishou:seller3"}
    identity = {e["room"] for e in events if e["verdict"] == "unauthorized-likeness" and e["person"] == PERSON}
    assert identity == {"douyin:seller1", "douyin:seller2"}, result.stderr
    concurrent = [e for e in events if e["verdict"] == "concurrent"]
    assert concurrent and concurrent[0]["rooms"] == ["douyin:seller1", "douyin:seller2"]
    assert all("kuaishou:seller3" not in e["rooms"] for e in events)
    for event in events:  # each alert's evidence: the face crop and the whole frame of the room, as saved
        for name in ("evidence", "evidence_frame"):
            picture = Path(event[name]["path"]).read_bytes()
            assert hashlib.sha256(picture).hexdigest() == event[name]["sha256"]
    rooms = rooms_by_name(summary)
    assert all(room["frames_recognised"] > 0 for room in rooms.values()), rooms
    assert rooms["kuaishou:seller3"]["alerts"] == 0
    document = json.loads(summary.read_text(encoding="utf-8"))
    unregistered = next(s for s in document["sources"] if s["room"] == "kuaishou:seller3")
    assert unregistered["faces_detected"] > 0  # a face was there; it is just nobody registered
    assert {"concurrent"} <= {v for a in document["appearances"] for v in a["verdicts"]}


@pytest.mark.stream_server
def test_publisher_killed_and_restarted_reconnects(
    server: Any, streaming: ModuleType, enrolled: dict[str, str], clips: dict[str, Path], tmp_path: Path
) -> None:
    """Each time the room had no frames is in its record, with when and why: a publisher back within --timeout
    (the connection stays open: no reconnect, no status change), one back after it (a reconnect), and one
    still gone when the watch is stopped, which does not wait out the stalled read."""
    url = server.rtmp_url("restart")
    alerts, summary = tmp_path / "alerts.jsonl", tmp_path / "summary.json"
    gone: list[tuple[float, float]] = []  # wall-clock times each publisher was killed and restarted
    with streaming.Publisher(clips["katie"], url, loop=True) as publisher:
        options = ["--fps", "2", "--duration", "90s", "--timeout", "8s", "--cooldown", "2s"]
        outputs = ["--alerts", str(alerts), "--json", str(summary)]
        watch = Watch([url, "--room", "douyin:restart", *options, *outputs], enrolled)
        watch.wait_for("ALERT unauthorized-likeness", 40)
        publisher.stop()  # back within --timeout: the player's connection stays open
        killed = time.time()
        time.sleep(4)
        publisher.start()
        gone.append((killed, time.time()))
        watch.wait_for("room douyin:restart: no frames for", 20)
        wait_for_alert_after(gone[-1][1], alerts, watch)
        assert "reconnecting" not in watch.log
        publisher.stop()  # gone past --timeout: the connection ends and the room reconnects
        killed = time.time()
        watch.wait_for("reconnecting", 20)
        publisher.start()
        gone.append((killed, time.time()))
        wait_for_alert_after(gone[-1][1], alerts, watch)
        publisher.stop()  # gone when the watch is stopped: its reader is blocked in a read for up to 8 s
        killed = time.time()
        time.sleep(4)
        stopping = time.monotonic()
        watch.process.send_signal(signal.SIGINT)
        code = watch.finish(30)
        stop_s = time.monotonic() - stopping
    assert code == 1, watch.log
    room = rooms_by_name(summary)["douyin:restart"]
    assert room["reconnects"] >= 1 and room["connections"] >= 2
    assert room["status"] == "stopped"
    assert stop_s < 7, (stop_s, watch.log)  # it waited out the stalled read (--timeout 8s) on top of its work
    stalled, dropped, unended = room["interruptions"]
    assert (stalled["cause"], dropped["cause"], unended["cause"]) == ("stalled", "dropped", "stalled"), room
    assert dropped["error"] and stalled["error"] is None
    for (killed_at, restarted_at), gap in zip(gone, (stalled, dropped), strict=True):
        start, end = _stamp(gap["start"]), _stamp(gap["end"])
        assert killed_at - 2 < start <= killed_at + 0.5, (gone, gap)  # the last frame before the kill
        assert restarted_at < end < restarted_at + 10, (gone, gap)  # the new publisher's first frame
        assert gap["seconds"] == pytest.approx(end - start, abs=0.01)
    assert 3 < stalled["seconds"] < 10 and dropped["seconds"] > 8, room["interruptions"]
    assert unended["end"] is None and killed - 2 < _stamp(unended["start"]) <= killed + 0.5
    assert _stamp(room["first_frame_at"]) < _stamp(stalled["start"]) and room["last_frame_at"] == unended["start"]
    assert all(e["schema"] == "impersonation-cli/alert" and e["verdict"] for e in read_alerts(alerts))
    # Each interruption was told live as it began and as it ended (the one at the stop only as it began, if
    # it had lasted long enough by then), in the summary's words: the closing event carries its record.
    everything = read_alerts(alerts, "room")
    told = [e for e in everything if e["event"] != "looping"]  # its publisher loops a clip: told too
    assert [e["event"] for e in told][:4] == ["interrupted", "resumed"] * 2, told
    assert [e["event"] for e in told][4:] in ([], ["interrupted"]), told
    assert [e["interruption"] for e in told[1:4:2]] == [stalled, dropped], told
    assert [e["interruption"]["start"] for e in told] == [stalled["start"]] * 2 + [dropped["start"]] * 2 + [
        unended["start"]
    ] * (len(told) - 4)
    assert told[0]["interruption"]["cause"] == "stalled" and told[0]["status"] == "live"
    assert all(e["schema_version"] == "1.3" and "verdict" not in e for e in everything)
    assert document_alerts(summary)["room_events"] == len(everything)
    # The takedown draft and the HTML report say when the room was live and when it was not.
    notices, page = tmp_path / "notices", tmp_path / "report.html"
    report = run_cli(["report", str(summary), "--notice", str(notices), "--html", str(page)], enrolled)
    assert report.returncode == 1, report.stderr
    (draft,) = notices.iterdir()
    text = draft.read_text(encoding="utf-8")
    assert "with 3 interruptions (no frames received):" in text, text
    assert "s): dropped (the connection ended: " in text and "no frames until the watch stopped reading" in text
    assert "Observed live from " in page.read_text(encoding="utf-8")


def document_alerts(summary: Path) -> dict:
    return json.loads(summary.read_text(encoding="utf-8"))["settings"]["alerts"]


def wait_for_alert_after(stamp: float, alerts: Path, watch: Watch) -> None:
    """Until an alert on a frame seen after `stamp` (wall clock) is written: the room is live again."""
    limit = time.monotonic() + 30
    while not any(e["seen_at"] > _iso(stamp) for e in read_alerts(alerts)):
        assert time.monotonic() < limit, watch.log
        time.sleep(0.5)


def _stamp(text: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(text).timestamp()


def _iso(stamp: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(stamp, tz=UTC).isoformat()


@pytest.mark.stream_server
def test_stream_that_ends_is_reported_ended(
    server: Any, streaming: ModuleType, enrolled: dict[str, str], clips: dict[str, Path], tmp_path: Path
) -> None:
    url = server.rtmp_url("once")
    summary = tmp_path / "summary.json"
    with streaming.Publisher(clips["aoc"], url, loop=False):
        args = [url, "--room", "douyin:once", "--duration", "90s", "--timeout", "3s", "--give-up", "5s"]
        started = time.monotonic()
        result = run_cli(["watch", *args, "--json", str(summary)], enrolled, timeout=120)
    # The clip lasts 8 s: the watch ends when the room does, long before --duration.
    assert time.monotonic() - started < 60, result.stderr
    assert result.returncode == 0, result.stderr
    room = rooms_by_name(summary)["douyin:once"]
    assert room["status"] == "ended" and room["frames_recognised"] > 0, room


def test_url_that_never_answers_times_out_and_fails(enrolled: dict[str, str], tmp_path: Path) -> None:
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)  # connections complete in the backlog; nothing is ever sent back
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    closed_port = closed.getsockname()[1]
    closed.close()
    summary = tmp_path / "summary.json"
    silent_url = f"rtmp://127.0.0.1:{silent.getsockname()[1]}/live/silent"
    refused_url = f"rtmp://127.0.0.1:{closed_port}/live/refused"
    args = [silent_url, refused_url, "--duration", "10m", "--timeout", "2s", "--give-up", "6s"]
    started = time.monotonic()
    try:
        result = run_cli(["watch", *args, "--json", str(summary)], enrolled, timeout=120)
    finally:
        silent.close()
    assert time.monotonic() - started < 60, result.stderr  # over by --give-up, never by --duration
    assert result.returncode == 3, result.stderr
    rooms = rooms_by_name(summary)
    assert {r["status"] for r in rooms.values()} == {"failed"}, rooms
    assert all("cannot open" in (r["last_error"] or "") for r in rooms.values())
    assert "failed" in result.stderr
    # Nothing was seen, so nothing is judged, as scan writes an unreadable source: they read "no stretch of the
    # stream repeats an earlier one" of rooms that never sent a frame.
    sources = json.loads(summary.read_text(encoding="utf-8"))["sources"]
    assert [(s["status"], s["signals"]) for s in sources] == [("unreadable", {})] * 2


def test_sigterm_stops_cleanly_and_writes_the_summary(enrolled: dict[str, str], looped: Path, tmp_path: Path) -> None:
    summary, alerts = tmp_path / "summary.json", tmp_path / "alerts.jsonl"
    watch = Watch(
        [str(looped), "--room", "douyin:file", "--fps", "2", "--alerts", str(alerts), "--json", str(summary)],
        enrolled,
    )
    watch.wait_for("room douyin:file: live", 60)
    watch.wait_for("ALERT", 30)
    watch.process.send_signal(signal.SIGTERM)
    code = watch.finish(30)
    assert code == 1, watch.log
    assert "Traceback" not in watch.log
    room = rooms_by_name(summary)["douyin:file"]
    assert room["status"] == "stopped", room
    assert read_alerts(alerts)[0]["room"] == "douyin:file"
    # A recording's facts as scan writes them (they were null: docs/formats.md keeps null for a live room).
    (source,) = json.loads(summary.read_text(encoding="utf-8"))["sources"]
    assert source["fps"] == pytest.approx(25.0, abs=0.5) and source["duration_s"] == pytest.approx(32.0, abs=1.0)


@pytest.mark.stream_server
def test_alert_latency_from_appearance_to_alert_line(
    server: Any, streaming: ModuleType, enrolled: dict[str, str], clips: dict[str, Path], tmp_path: Path
) -> None:
    """The face appears `face_at_s` seconds into the published stream; the alert line's time is measured from it."""
    face_at_s = 4.0
    clip = tmp_path / "blank_then_katie.mp4"
    blank = ["-f", "lavfi", "-i", f"color=c=gray:s=512x512:r=25:d={face_at_s}"]
    joined = ["-i", str(clips["katie"]), "-filter_complex", "[0:v][1:v]concat=n=2:v=1:a=0[v]", "-map", "[v]"]
    encoded = ["-c:v", "libx264", "-preset", "ultrafast", "-g", "25", "-pix_fmt", "yuv420p", str(clip)]
    subprocess.run(["ffmpeg", "-v", "error", *blank, *joined, *encoded], check=True, timeout=60)
    url = server.rtmp_url("latency")
    alerts = tmp_path / "alerts.jsonl"
    watch = Watch([url, "--room", "douyin:latency", "--fps", "2", "--timeout", "5s", "--alerts", str(alerts)], enrolled)
    watch.wait_for("room douyin:latency: connecting", 60)
    with streaming.Publisher(clip, url, loop=False):
        published = time.time()
        watch.wait_for("ALERT unauthorized-likeness", 40)
        watch.process.send_signal(signal.SIGTERM)
        assert watch.finish(30) == 1, watch.log
    from datetime import datetime

    event = read_alerts(alerts)[0]
    latency = datetime.fromisoformat(event["emitted_at"]).timestamp() - (published + face_at_s)
    print(f"alert latency: {latency:.2f} s from the face's appearance to the alert line (--fps 2)")
    assert 0 < latency < 30, event  # the face cannot be found before it is shown; the bound only guards hangs


class _FlakyHook(http.server.BaseHTTPRequestHandler):
    """A webhook receiver on loopback that fails the first POST (500) and records every body."""

    bodies: ClassVar[list[dict]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).bodies.append(body)
        self.send_response(500 if len(type(self).bodies) == 1 else 200)
        self.end_headers()

    def log_message(self, *_args: object) -> None:
        pass


def test_webhook_gets_every_alert_after_a_failed_post(enrolled: dict[str, str], looped: Path, tmp_path: Path) -> None:
    """A local file played as live; the webhook answers 500 once, so the alert must arrive by a retry."""
    _FlakyHook.bodies = []
    alerts = tmp_path / "alerts.jsonl"
    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), _FlakyHook) as hook:
        threading.Thread(target=hook.serve_forever, daemon=True).start()
        try:
            url = f"http://127.0.0.1:{hook.server_address[1]}/alerts"
            args = [str(looped), "--room", "douyin:file", "--fps", "2", "--duration", "12s", "--alerts", str(alerts)]
            result = run_cli(["watch", *args, "--webhook", url], enrolled, timeout=120)
        finally:
            hook.shutdown()
    assert result.returncode == 1, result.stderr
    written = read_alerts(alerts)
    assert written and written[0]["person"] == PERSON
    # The first POST failed and was retried: the alert reached the hook twice, identical both times.
    assert len(_FlakyHook.bodies) == len(written) + 1
    assert _FlakyHook.bodies[0] == _FlakyHook.bodies[1] == written[0]


def test_one_recognizer_round_serves_rooms_with_several_frames_waiting(
    engine: FaceEngine, clips: dict[str, Path]
) -> None:
    """A slow round finds two frames of one room and one of another: every frame gets its own faces, in
    order, each embedding what the recognizer gives that face (fresh) or nearly so (kept from the room's
    previous frame). No server: the rooms are built but never started."""
    from impersonation_cli.config import load_config
    from impersonation_cli.gallery.store import GalleryIndex
    from impersonation_cli.io.rooms import Room
    from impersonation_cli.io.sources import sample_frames
    from impersonation_cli.outputs.alerts import AlertSink
    from impersonation_cli.pipeline.scan import ScanContext
    from impersonation_cli.pipeline.watch import Watcher, WatchSettings, recognise

    index = GalleryIndex((), np.zeros((0,), np.int64), np.zeros((0, 512), np.float32), engine.recognizer_id)
    context = ScanContext(engine=engine, index=index, config=load_config())
    specs = [Room(str(clips["katie"]), "douyin:1"), Room(str(clips["aoc"]), "douyin:2")]
    watcher = Watcher(specs, context, WatchSettings(), AlertSink(None, None, 600.0))
    katie, aoc = watcher.rooms
    katie_frames = list(sample_frames(str(clips["katie"]), 4.0))[:2]
    aoc_frame = next(iter(sample_frames(str(clips["aoc"]), 4.0)))
    batch = [(katie, katie_frames[0]), (aoc, aoc_frame), (katie, katie_frames[1])]
    found = recognise(engine, batch)
    assert [len(faces) for faces in found] == [1, 1, 1]
    for (_, frame), faces in zip(batch, found, strict=True):
        # The room's adaptive detector may take a frame at its small size: keypoints a pixel apart.
        fresh = engine.analyse(frame.image).embeddings[0]
        assert float(faces.embeddings[0] @ fresh) > (0.95 if not faces.reused[0] else 0.6)
    assert not found[0].reused[0] and not found[1].reused[0]
    assert float(found[0].embeddings[0] @ found[1].embeddings[0]) < 0.5  # two people, not mixed up


def test_ai_digital_human_of_a_registered_person_is_alerted_and_judged_while_live(
    cli_env: dict[str, str], engine: FaceEngine, tmp_path: Path
) -> None:
    """MuseTalk's AI 'virtual human' (labelled AI-generated in the MANIFEST), registered from its source still
    and played as a live room: the likeness alert comes seconds into the stream, and the forgery detector has
    judged the live face (a probability, not 'not judged'). The shipped detector does not call this generated
    face likely-synthetic (docs/verdicts.md: digital humans are its known blind spot), so that is not asserted."""
    folder = require_shared("media", "ai_digital_human_MuseTalk")
    reference = reference_from_image(engine, folder / "sun_source.png").reference
    assert reference is not None
    with Gallery(Path(cli_env["IMPERSONATION_GALLERY"])) as store:
        store.add_person("Digital Sun", [reference])
    alerts, summary = tmp_path / "alerts.jsonl", tmp_path / "summary.json"
    args = [str(folder / "sun.mp4"), "--room", "douyin:42", "--fps", "2", "--duration", "8s"]
    result = run_cli(["watch", *args, "--alerts", str(alerts), "--json", str(summary)], cli_env, timeout=90)
    assert result.returncode == 1, result.stderr
    events = {e["verdict"]: e for e in read_alerts(alerts)}
    likeness = events["unauthorized-likeness"]
    assert likeness["person"] == "Digital Sun" and likeness["room"] == "douyin:42"
    assert likeness["stream_time_s"] < 6.0
    appearances = json.loads(summary.read_text())["appearances"]
    forgery = [a["signals"]["face_forgery"] for a in appearances if a["identity"] == "Digital Sun"]
    assert forgery and all(0.0 <= f["score"] <= 1.0 for f in forgery), forgery
    assert not any(f["explanation"].startswith("not judged") for f in forgery), forgery


def test_long_live_tracks_are_rematched_on_a_bounded_schedule() -> None:
    """Every frame while a track is young; later once it has grown by a tenth, and at least every 30 frames."""
    from impersonation_cli.pipeline.scan import RESCORE_MAX_FRAMES, rescore_due

    redone, last = [], 1
    for frames in range(2, 3601):  # an hour at 1 fps
        if rescore_due(frames, last):
            redone.append(frames)
            last = frames
    assert redone[:18] == list(range(2, 20))  # young tracks: every frame, so alerts stay as fast as before
    gaps = np.diff(redone)
    assert gaps.max() == RESCORE_MAX_FRAMES  # never more than 30 frames behind
    assert len(redone) < 160  # instead of 3599 full re-matches and re-judgements


def assert_pull_room_watched(url: str, room_name: str, env: dict[str, str], folder: Path, secret: str = "") -> None:
    """Watch Katie Hill's room at `url` for 15 s at 2 fps: one unauthorized-likeness alert naming her and the
    URL (as shown: a `secret` the URL holds is in no alert, summary, evidence name or line on the screen),
    and at least 10 frames recognised."""
    alerts, summary = folder / "alerts.jsonl", folder / "summary.json"
    args = [url, "--room", room_name, "--fps", "2", "--duration", "15s", "--timeout", "5s"]
    result = run_cli(["watch", *args, "--alerts", str(alerts), "--json", str(summary)], env, timeout=90)
    assert result.returncode == 1, result.stderr
    found = [e for e in read_alerts(alerts) if e["verdict"] == "unauthorized-likeness"]
    assert found and found[0]["person"] == PERSON and found[0]["url"] == redact_url(url), result.stderr
    room = rooms_by_name(summary)[room_name]
    assert room["frames_recognised"] >= 10 and room["connections"] >= 1, room
    if secret:
        written = [alerts, summary, *(folder / "alerts-evidence").rglob("*")]
        assert not [path for path in written if secret in str(path.relative_to(folder))]
        assert not [path for path in written if path.is_file() and secret.encode() in path.read_bytes()]
        assert secret not in result.stdout + result.stderr


@pytest.mark.stream_server
def test_http_flv_room_is_watched(
    streaming: ModuleType, enrolled: dict[str, str], clips: dict[str, Path], tmp_path: Path
) -> None:
    """HTTP-FLV, the pull format of Douyin and Kuaishou live rooms: an endless FLV over one HTTP response."""
    streaming.require_streaming()
    with streaming.HttpFlvOrigin(clips["katie"], "seller") as origin:
        # A CDN's pull URL carries a token: the room is read with it, and shown without it.
        assert_pull_room_watched(f"{origin.url}?token=T0KEN&quality=hd", "douyin:flv", enrolled, tmp_path, "T0KEN")


@pytest.mark.stream_server
def test_rtsp_room_is_watched(
    streaming: ModuleType, enrolled: dict[str, str], clips: dict[str, Path], tmp_path: Path
) -> None:
    """RTSP, the pull format of IP cameras and restreaming boxes, through the same reader as the others, with
    RTP inside the RTSP connection (TCP), which passes the NAT and firewalls that RTP over UDP often does not."""
    streaming.require_rtsp()
    with streaming.RtspServer(clips["katie"], tmp_path / "rtsp", "/live/seller") as server:
        # A camera's URL carries its password (this server asks for none; the reader sends it as given).
        with_password = server.url.replace("rtsp://", "rtsp://viewer:S3CRET@", 1)
        assert_pull_room_watched(with_password, "camera:rtsp", enrolled, tmp_path, "S3CRET")
        transports = server.transports()
    assert transports and all(t.startswith("RTP/AVP/TCP") for t in transports), transports


def test_a_room_named_twice_is_refused_by_name(tmp_path: Path) -> None:
    """Two entries for one room would split its alerts and double its load: refused up front, naming it."""
    from impersonation_cli.api import room_specs
    from impersonation_cli.errors import UserError

    rooms = tmp_path / "rooms.yaml"
    rooms.write_text(
        "rooms:\n"
        "  - {url: 'rtmp://127.0.0.1/live/a', room: 'douyin:1'}\n"
        "  - {url: 'rtmp://127.0.0.1/live/b', room: 'douyin:1'}\n"
        "  - {url: 'rtmp://127.0.0.1/live/c', room: 'douyin:2'}\n"
    )
    with pytest.raises(UserError, match=r"named twice: douyin:1$"):
        room_specs([str(rooms)], None)
    assert [s.name for s in room_specs(["rtmp://127.0.0.1/live/a", "rtmp://127.0.0.1/live/b"], None)] == [
        "rtmp://127.0.0.1/live/a",
        "rtmp://127.0.0.1/live/b",
    ]


class _FtpRedirectHook(http.server.BaseHTTPRequestHandler):
    """A webhook receiver on loopback that answers every POST with a redirect to an ftp:// URL."""

    target: ClassVar[str] = ""
    posts: ClassVar[int] = 0

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        type(self).posts += 1
        self.send_response(302)
        self.send_header("Location", type(self).target)
        self.end_headers()

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture()
def ftp_redirect_hook() -> Iterator[tuple[str, socket.socket]]:
    """(the hook's URL, a listening socket standing for the ftp server it redirects to)."""
    ftp = socket.create_server(("127.0.0.1", 0))
    ftp.settimeout(0.5)
    _FtpRedirectHook.target = f"ftp://127.0.0.1:{ftp.getsockname()[1]}/stolen"
    _FtpRedirectHook.posts = 0
    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), _FtpRedirectHook) as hook:
        threading.Thread(target=hook.serve_forever, daemon=True).start()
        try:
            yield f"http://127.0.0.1:{hook.server_address[1]}/alerts", ftp
        finally:
            hook.shutdown()
            ftp.close()


def assert_nothing_connected(listener: socket.socket) -> None:
    with pytest.raises(TimeoutError):
        listener.accept()


def test_webhook_does_not_follow_a_redirect_off_http(ftp_redirect_hook: tuple[str, socket.socket]) -> None:
    url, ftp = ftp_redirect_hook
    sender = WebhookSender(url, WebhookSettings(timeout_s=2.0, retries=2, backoff_s=0.1))
    sender.start()
    sender.send({"person": PERSON})
    sender.close(10.0)
    assert (sender.sent, sender.failed, _FtpRedirectHook.posts) == (0, 1, 1)
    assert sender.last_error is not None and "redirected to ftp://" in sender.last_error
    assert_nothing_connected(ftp)


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full (Linux) to stand for a full disk")
def test_watch_goes_on_when_alerts_cannot_be_written_and_reports_deliveries(
    enrolled: dict[str, str], looped: Path, tmp_path: Path, ftp_redirect_hook: tuple[str, socket.socket]
) -> None:
    """--alerts on a full disk (/dev/full) and a webhook redirecting to ftp://: the watch keeps going to its
    end, says so once, and the summary counts what was written and sent."""
    url, ftp = ftp_redirect_hook
    summary = tmp_path / "summary.json"
    args = [str(looped), "--room", "douyin:file", "--fps", "2", "--duration", "12s", "--alerts", "/dev/full",
            "--evidence-dir", str(tmp_path / "evidence"), "--webhook", url, "--json", str(summary)]  # fmt: skip
    result = run_cli(["watch", *args], enrolled, timeout=120)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.count("warning: cannot write alerts to /dev/full") == 1, result.stderr
    document = json.loads(summary.read_text())
    delivery = document["settings"]["alerts"]
    assert delivery["raised"] >= 1 and delivery["written"] == 0
    assert delivery["write_failures"] == delivery["raised"]
    assert "No space left on device" in delivery["last_write_error"]
    assert delivery["webhook"]["sent"] == 0 and delivery["webhook"]["failed"] == delivery["raised"]
    assert "ftp://" in delivery["webhook"]["last_error"]
    room = document["settings"]["rooms"][0]
    assert room["frames_sampled"] >= 20, room  # the watch went on for its 12 s after the first failed write
    assert f"webhook sent 0, failed {delivery['raised']}" in result.stderr
    assert_nothing_connected(ftp)
