"""Which room's frame raises a live `concurrent` alert. Watching douyin:official (authorized for the person)
beside two rooms restreaming it, the official room's frames raised the alert, so its `room`, `url` and
evidence crop named the rights holder's own broadcast rather than a room to act on."""

from __future__ import annotations

from impersonation_cli.distributed.ray_watch import Finding, WatchCoordinator
from impersonation_cli.io.rooms import Room
from impersonation_cli.pipeline.verdicts import VerdictSettings
from impersonation_cli.pipeline.watch import WatchSettings, concurrent_raiser, raises_concurrent
from impersonation_cli.results import Verdict

from .builders import appearance

PLACES = ["douyin:fan1", "douyin:official", "kuaishou:fan2"]


def test_an_authorized_room_leaves_the_alert_to_an_unauthorized_one() -> None:
    authorized = {"douyin:official"}
    assert not raises_concurrent("douyin:official", PLACES, authorized)
    assert raises_concurrent("douyin:fan1", PLACES, authorized)


def test_rooms_all_authorized_still_raise_it() -> None:
    simulcast = ["douyin:backup", "douyin:official"]
    assert raises_concurrent("douyin:official", simulcast, set(simulcast))
    assert raises_concurrent("douyin:fan1", PLACES, set())


def _finding(room: str, verdicts: list[str], seen: float) -> Finding:
    url = f"rtmp://127.0.0.1/live/{room}"
    return Finding(
        room=room,
        number=1,
        url=url,
        label=None,
        person="Rowan Atkinson",
        similarity=0.87,
        track_id=1,
        stream_time_s=seen - 1000.0,
        seen=seen,
        view=None,
        appearance=appearance("Rowan Atkinson", url, verdicts=verdicts),
        pid=1,
    )


def test_the_ray_coordinator_raises_it_from_the_unauthorized_room_too() -> None:
    rooms = [Room(f"rtmp://127.0.0.1/live/{room}", account=room) for room in ("douyin:fan1", "douyin:official")]
    coordinator = WatchCoordinator(None, None, WatchSettings(), VerdictSettings(), None, rooms)
    coordinator.report([_finding("douyin:fan1", [Verdict.UNAUTHORIZED], 1000.0)])
    coordinator.report([_finding("douyin:official", [Verdict.AUTHORIZED], 1000.5)])  # completes the finding
    coordinator.report([_finding("douyin:fan1", [Verdict.UNAUTHORIZED], 1001.0)])
    (concurrent,) = [event for event, _ in coordinator.events if event.verdict == Verdict.CONCURRENT]
    assert concurrent.room == "douyin:fan1" and concurrent.rooms == ["douyin:fan1", "douyin:official"]


def test_the_authorized_room_seen_last_raises_it_from_the_unauthorized_room_seen_before() -> None:
    """The clone room showed the person first, then its face went; 10 s later the authorized room showed them.
    The alert was left to the clone room's next frame of the person, which never came: the summary said
    `concurrent`, no alert ever did. It is raised from the clone room's latest finding, naming that room."""
    rooms = [Room(f"rtmp://127.0.0.1/live/{room}", account=room) for room in ("douyin:fan1", "douyin:official")]
    coordinator = WatchCoordinator(None, None, WatchSettings(), VerdictSettings(), None, rooms)
    coordinator.report([_finding("douyin:fan1", [Verdict.UNAUTHORIZED], 1000.0)])
    coordinator.report([_finding("douyin:official", [Verdict.AUTHORIZED], 1010.0)])
    (concurrent,) = [event for event, _ in coordinator.events if event.verdict == Verdict.CONCURRENT]
    assert concurrent.room == "douyin:fan1" and concurrent.rooms == ["douyin:fan1", "douyin:official"]
    assert concurrent.url == "rtmp://127.0.0.1/live/douyin:fan1"


def test_an_authorized_room_beside_authorized_ones_only_raises_it_itself() -> None:
    latest = {"douyin:backup": (1000.0, "backup's finding")}
    assert concurrent_raiser("douyin:official", "this", ["douyin:backup", "douyin:official"], set(), latest) == "this"
    simulcast = {"douyin:backup", "douyin:official"}
    assert concurrent_raiser("douyin:official", "this", sorted(simulcast), simulcast, latest) == "this"
    only_official = {"douyin:official"}
    assert concurrent_raiser("douyin:official", "this", sorted(simulcast), only_official, latest) == "backup's finding"
    assert concurrent_raiser("douyin:official", "this", sorted(simulcast), only_official, {}) is None


def test_a_room_gone_silent_raises_no_second_alert_for_the_others() -> None:
    """Watching douyin:official beside two clone rooms, one clone's publisher dropped: 15 s (the window) after its
    last frame, the next frame of the other clone raised 'concurrent: douyin:clone1, douyin:official', news of
    nothing: the alert naming all three had been raised 38 s before, within the cool-down."""
    places = ("douyin:clone1", "douyin:official", "kuaishou:clone2")
    rooms = [Room(f"rtmp://127.0.0.1/live/{room}", account=room) for room in places]
    coordinator = WatchCoordinator(None, None, WatchSettings(), VerdictSettings(), None, rooms)
    coordinator.report([_finding("kuaishou:clone2", [Verdict.UNAUTHORIZED], 1000.0)])
    coordinator.report([_finding("douyin:official", [Verdict.AUTHORIZED], 1000.5)])
    coordinator.report([_finding("douyin:clone1", [Verdict.UNAUTHORIZED], 1001.0)])
    for seen in (1030.0, 1031.0, 1040.0):  # kuaishou:clone2 silent since 1000.0
        coordinator.report([_finding("douyin:official", [Verdict.AUTHORIZED], seen)])
        coordinator.report([_finding("douyin:clone1", [Verdict.UNAUTHORIZED], seen + 0.5)])
    raised = [event.rooms for event, _ in coordinator.events if event.verdict == Verdict.CONCURRENT]
    # The first two rooms at 1000.5 (raised from kuaishou:clone2's finding), all three once clone1 joins; no more.
    assert raised == [["douyin:official", "kuaishou:clone2"], list(places)]
