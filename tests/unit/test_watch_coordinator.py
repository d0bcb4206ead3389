"""The Ray watch's coordinator, driven directly (no cluster): what it keeps of a shard process that dies."""

from __future__ import annotations

from impersonation_cli.distributed.ray_watch import Finding, ShardReport, WatchCoordinator
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
