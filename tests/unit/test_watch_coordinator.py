"""The Ray watch's coordinator, driven directly (no cluster): what it keeps of a shard process that dies."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from impersonation_cli.distributed.ray_watch import (
    Finding,
    RayWatcher,
    RoomView,
    ShardReport,
    SinkView,
    WatchCoordinator,
    WatchWorker,
)
from impersonation_cli.io.live_reader import Interruption
from impersonation_cli.io.rooms import Room
from impersonation_cli.outputs.alerts import AlertSink, RoomEvent
from impersonation_cli.outputs.dashboard import StatusLog, delivery_line
from impersonation_cli.pipeline.verdicts import VerdictSettings
from impersonation_cli.pipeline.watch import WatchSettings

from .builders import appearance

ROOM = "douyin:2001"
URL = "rtmp://user:secret@127.0.0.1/live/a"


def finding(pid: int, track_id: int, frames: int, seen: float) -> Finding:
    return Finding(
        room=ROOM,
        number=1,
        url="rtmp://127.0.0.1/live/a",
        label=None,
        person="Katie Hill",
        similarity=0.7,
        track_id=track_id,
        stream_time_s=frames / 2,
        seen=seen,
        view=None,
        appearance=appearance("Katie Hill", "rtmp://127.0.0.1/live/a", appearance_id=f"r1-t{track_id}", frames=frames),
        pid=pid,
    )


def room_report(pid: int) -> ShardReport:
    return ShardReport(first_number=1, pid=pid, rooms=[{"room": ROOM, "connections": 1}], share=None)


def test_a_dead_process_tracks_are_kept_as_last_found() -> None:
    coordinator = WatchCoordinator(None, None, WatchSettings(), VerdictSettings(), None, [Room(URL, account=ROOM)])
    coordinator.update_rooms(room_report(pid=101))
    coordinator.report([finding(101, 1, frames=3, seen=10.0)])
    coordinator.report([finding(101, 1, frames=5, seen=11.0), finding(101, 2, frames=2, seen=11.0)])
    # The process dies; its restart (another process) opens the room again and numbers its tracks from 1.
    coordinator.update_rooms(room_report(pid=202))
    coordinator.report([finding(202, 1, frames=4, seen=20.0)])

    lost = coordinator.lost_appearances(concluded_by=[202])
    assert [(a.appearance_id, a.frames) for a in lost] == [("r1-t1-life1", 5), ("r1-t2-life1", 2)]
    assert all("recovered from the last finding of a worker that died" in a.reasons[-1] for a in lost)
    assert lost[0].reasons[:-1] == ["unauthorized-likeness: no authorization for this room"]
    # A watch where every process concluded its own tracks recovers nothing.
    assert coordinator.lost_appearances(concluded_by=[101, 202]) == []


def lived(pid: int, first: str, last: str, interruptions: list[dict[str, object]]) -> ShardReport:
    room = {
        "room": ROOM,
        "status": "live",
        "connections": 1,
        "reconnects": 0,
        "live_seconds": 10.0,
        "alerts": 0,
        "first_frame_at": first,
        "last_frame_at": last,
        "interruptions": interruptions,
    }
    return ShardReport(first_number=1, pid=pid, rooms=[room], share=None)


# A room's interruption as a reader's summary record holds it.
STALL = {
    "start": "2026-12-05T03:00:05+00:00",
    "end": "2026-12-05T03:00:09+00:00",
    "seconds": 4.0,
    "cause": "stalled",
    "error": None,
}


def test_a_restarted_process_keeps_the_rooms_interruptions_and_records_its_own_gap() -> None:
    coordinator = WatchCoordinator(None, None, WatchSettings(), VerdictSettings(), None, [Room(URL, account=ROOM)])
    stall = dict(STALL)
    coordinator.update_rooms(lived(101, "2026-12-05T03:00:00+00:00", "2026-12-05T03:00:20+00:00", [stall]))
    # The process dies; its restart opens the room again 12.5 s after the last frame the first one saw.
    coordinator.update_rooms(lived(202, "2026-12-05T03:00:32.5+00:00", "2026-12-05T03:00:40+00:00", []))

    record = coordinator.poll(0, 0).rooms[ROOM]
    assert record["first_frame_at"] == "2026-12-05T03:00:00+00:00"
    assert record["last_frame_at"] == "2026-12-05T03:00:40+00:00"
    assert record["connections"] == 2 and record["reconnects"] == 1
    assert record["interruptions"][0] == stall
    gap = record["interruptions"][1]
    assert (gap["start"], gap["end"], gap["seconds"], gap["cause"]) == (
        "2026-12-05T03:00:20+00:00",
        "2026-12-05T03:00:32.5+00:00",
        12.5,
        "dropped",
    )
    assert "worker" in gap["error"]
    assert len(record["interruptions"]) == 2


def test_a_ray_rooms_interruptions_are_held_as_a_local_rooms() -> None:
    # Under Ray the dashboard reads the coordinator's records through RoomView, whose interruptions came as dicts
    # (the status log's `gap.end` was an internal error); they are held as a local room's state holds them.
    view = RoomView(1, Room("rtmp://127.0.0.1/live/a", account=ROOM))
    stall = dict(STALL)
    record = {**view.record(), "status": "live", "alerts": 0, "interruptions": [stall]}
    view.update(record)
    said: list[str] = []
    StatusLog([view], lambda line: said.append(str(line)))()  # type: ignore[list-item]
    assert said == [f"room {ROOM}: live"]  # the interruption is told by the room events (test_room_events.py)
    assert [gap.end for gap in view.state.interruptions] == [stall["end"]]
    assert view.record()["interruptions"] == [stall]  # the summary's record stays plain JSON


def test_a_shards_room_events_are_raised_by_the_coordinator_and_shown_by_the_driver(tmp_path: Path) -> None:
    """A shard's watcher raises its room events into its own sink, which passes them to the shard: sent with
    the round's findings, the coordinator writes them, as a local watch does, and the driver shows them."""
    worker = object.__new__(WatchWorker)
    worker.pending = []
    shard_sink = AlertSink(None, None, 600.0, on_alert=worker._room_event)
    gap = Interruption("2026-12-05T03:00:05.000000+00:00", None, None, "stalled")
    event = RoomEvent("interrupted", ROOM, "rtmp://127.0.0.1/live/a", None, "live", gap, "now", ["no frames"])
    shard_sink.note(event)
    assert worker.pending == [event]

    alerts = tmp_path / "alerts.jsonl"
    coordinator = WatchCoordinator(alerts, None, WatchSettings(), VerdictSettings(), None, [Room(URL, account=ROOM)])
    coordinator.report([*worker.pending, finding(101, 1, frames=3, seen=10.0)])
    progress = coordinator.poll(0, 0)
    lines = [json.loads(line) for line in alerts.read_text(encoding="utf-8").splitlines()]
    assert [(line["kind"], line.get("event"), line.get("verdict")) for line in lines] == [
        ("room", "interrupted", None),
        ("finding", None, "unauthorized-likeness"),
    ]
    assert (progress.counts["raised"], progress.counts["room_events"], progress.counts["written"]) == (1, 1, 2)

    driver = object.__new__(RayWatcher)
    shown: list[object] = []
    driver.to_stdout, driver.on_alert, driver.on_write_error = None, shown.append, None
    driver.delays, driver.rooms, driver.sink = [], [], SinkView(alerts)
    driver._show(progress)
    assert shown == [event, progress.events[1][0]]
    assert len(driver.delays) == 1  # the coordinator's delay is measured on the alerts alone
    assert "1 alerts, 1 room events; 2 written to" in delivery_line(driver.sink)  # type: ignore[arg-type]


def test_alerts_to_stdout_are_written_by_the_driver(capsys: pytest.CaptureFixture[str]) -> None:
    """`watch --engine ray --alerts -`: the driver writes the coordinator's alerts to its own stdout. It still
    handed AlertSink.emit the cool-down key emit stopped taking in 2db5bb3: the first alert was a TypeError."""
    coordinator = WatchCoordinator(None, None, WatchSettings(), VerdictSettings(), None, [Room(URL, account=ROOM)])
    coordinator.report([finding(101, 1, frames=3, seen=10.0)])
    progress = coordinator.poll(0, 0)

    driver = object.__new__(RayWatcher)
    driver.to_stdout, driver.on_alert, driver.on_write_error = AlertSink(Path("-"), None, 0.0), None, None
    driver.delays, driver.rooms, driver.sink = [], [], SinkView(Path("-"))
    driver._show(progress)
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(line["kind"], line["verdict"]) for line in lines] == [("finding", "unauthorized-likeness")]
    assert driver.sink.counts["written"] == 1


LAST_FRAME = "2026-12-05T03:00:20+00:00"  # the last frame the worker that dies saw
BACK = "2026-12-05T03:00:32.500000+00:00"  # the restarted worker's first frame


def life(pid: int, status: str, first: str | None, last: str | None, frames: int) -> ShardReport:
    """A shard's report of the room as one life of its worker sees it."""
    room = {
        "room": ROOM,
        "status": status,
        "frames_received": frames,
        "connections": 1 if frames else 0,
        "reconnects": 0,
        "alerts": 0,
        "first_frame_at": first,
        "last_frame_at": last,
        "interruptions": [],
    }
    return ShardReport(first_number=1, pid=pid, rooms=[room], share=None)


def restarted_coordinator(tmp_path: Path) -> WatchCoordinator:
    """A coordinator whose shard's first worker (pid 101) saw the room's frames until LAST_FRAME, then died."""
    coordinator = WatchCoordinator(
        tmp_path / "alerts.jsonl", None, WatchSettings(), VerdictSettings(), None, [Room(URL, account=ROOM)]
    )
    coordinator.update_rooms(life(101, "live", "2026-12-05T03:00:00+00:00", LAST_FRAME, 40))
    return coordinator


def room_events(coordinator: WatchCoordinator, seen: int = 0) -> list[RoomEvent]:
    return [event for event, _ in coordinator.poll(seen, 0).events if isinstance(event, RoomEvent)]


def test_a_restarted_worker_gap_is_told_as_a_dropped_stream(tmp_path: Path) -> None:
    """The worker watching a room died and Ray restarted it: the room was watched by nobody meanwhile. Its gap was
    in the summary alone; it is told now as a stream's drop-out is, `interrupted` when the restarted worker first
    reports (the dead one could not), `resumed` once it has the room's frames again."""
    coordinator = restarted_coordinator(tmp_path)
    assert room_events(coordinator) == []
    coordinator.update_rooms(life(202, "connecting", None, None, 0))  # the restarted worker opens the room
    [began] = room_events(coordinator)
    assert (began.event, began.room, began.url, began.status) == (
        "interrupted",
        ROOM,
        "rtmp://user:***@127.0.0.1/live/a",
        "connecting",
    )
    assert began.interruption is not None
    assert (began.interruption.start, began.interruption.end, began.interruption.cause) == (LAST_FRAME, None, "dropped")
    assert "worker process" in str(began.interruption.error)
    coordinator.update_rooms(life(202, "connecting", None, None, 0))
    assert room_events(coordinator, 1) == []  # told once
    coordinator.update_rooms(life(202, "live", BACK, BACK, 1))
    [came_back] = room_events(coordinator, 1)
    gap = [i for i in coordinator.poll(0, 0).rooms[ROOM]["interruptions"] if "worker" in str(i["error"])]
    assert came_back.event == "resumed" and [dataclasses.asdict(came_back.interruption)] == gap  # type: ignore[arg-type]
    assert (gap[0]["start"], gap[0]["end"], gap[0]["seconds"]) == (LAST_FRAME, BACK, 12.5)
    coordinator.update_rooms(life(202, "live", BACK, "2026-12-05T03:00:40+00:00", 16))
    assert room_events(coordinator, 2) == []
    coordinator.close()
    lines = [json.loads(line) for line in (tmp_path / "alerts.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [(line["kind"], line["event"]) for line in lines] == [("room", "interrupted"), ("room", "resumed")]
    assert coordinator.sink.summary()["room_events"] == 2


def test_a_silence_the_dead_worker_told_is_resumed_by_the_restart_not_told_twice(tmp_path: Path) -> None:
    """The worker told the room `interrupted` (its stream silent), then died in that silence: the restart's gap
    holds it, and closes it with `resumed` (before, that `interrupted` was never followed by anything)."""
    coordinator = restarted_coordinator(tmp_path)
    silence = Interruption(LAST_FRAME, None, None, "stalled")
    said = RoomEvent("interrupted", ROOM, URL, None, "live", silence, "now", ["no frames"])
    coordinator.report([said])
    coordinator.update_rooms(life(202, "connecting", None, None, 0))
    coordinator.update_rooms(life(202, "live", BACK, BACK, 1))
    events = room_events(coordinator)
    assert [event.event for event in events] == ["interrupted", "resumed"]
    assert events[0] is said and events[1].interruption is not None
    assert (events[1].interruption.start, events[1].interruption.end) == (LAST_FRAME, BACK)


def test_a_room_the_restarted_worker_never_reaches_is_given_up(tmp_path: Path) -> None:
    """The restarted worker could not open the room again within --give-up: `given-up`, the room `ended` (it was
    live in the worker's first life: not `failed`, which says a room never sent a frame)."""
    coordinator = restarted_coordinator(tmp_path)
    coordinator.update_rooms(life(202, "reconnecting", None, None, 0))
    coordinator.update_rooms(life(202, "failed", None, None, 0))
    events = room_events(coordinator)
    assert [(event.event, event.status) for event in events] == [("interrupted", "reconnecting"), ("given-up", "ended")]
    assert events[1].interruption is not None and events[1].interruption.end is None
    assert coordinator.poll(0, 0).rooms[ROOM]["status"] == "ended"


def test_a_restart_still_silent_when_the_watch_ends_is_left_to_the_summary(tmp_path: Path) -> None:
    coordinator = restarted_coordinator(tmp_path)
    coordinator.update_rooms(life(202, "connecting", None, None, 0))
    coordinator.update_rooms(life(202, "stopped", None, None, 0))
    assert [event.event for event in room_events(coordinator)] == ["interrupted"]
