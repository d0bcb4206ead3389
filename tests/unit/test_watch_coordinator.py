"""The Ray watch's coordinator, driven directly (no cluster): what it keeps of a shard process that dies."""

from __future__ import annotations

from impersonation_cli.distributed.ray_watch import Finding, RoomView, ShardReport, WatchCoordinator
from impersonation_cli.io.rooms import Room
from impersonation_cli.outputs.dashboard import StatusLog
from impersonation_cli.pipeline.verdicts import VerdictSettings
from impersonation_cli.pipeline.watch import WatchSettings

from .builders import appearance

ROOM = "douyin:2001"


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
        crop=None,
        appearance=appearance("Katie Hill", "rtmp://127.0.0.1/live/a", appearance_id=f"r1-t{track_id}", frames=frames),
        pid=pid,
    )


def room_report(pid: int) -> ShardReport:
    return ShardReport(first_number=1, pid=pid, rooms=[{"room": ROOM, "connections": 1}], share=None)


def test_a_dead_process_tracks_are_kept_as_last_found() -> None:
    coordinator = WatchCoordinator(None, None, WatchSettings(), VerdictSettings(), None)
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
    coordinator = WatchCoordinator(None, None, WatchSettings(), VerdictSettings(), None)
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


def test_a_ray_rooms_interruption_is_logged_as_a_local_rooms() -> None:
    # Off a terminal the watch logs each ended interruption (outputs.dashboard.StatusLog); under Ray it reads the
    # coordinator's records through RoomView, whose interruptions came as dicts: `gap.end` was an internal error.
    view = RoomView(1, Room("rtmp://127.0.0.1/live/a", account=ROOM))
    stall = dict(STALL)
    record = {**view.record(), "status": "live", "alerts": 0, "interruptions": [stall]}
    view.update(record)
    said: list[str] = []
    StatusLog([view], lambda line: said.append(str(line)))()  # type: ignore[list-item]
    assert said[-1] == f"room {ROOM}: no frames for 4.0 s, {stall['start']} to {stall['end']} (stalled)"
    assert view.record()["interruptions"] == [stall]  # the summary's record stays plain JSON
