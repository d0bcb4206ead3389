"""`watch --engine ray`: rooms sharded over Ray actors, every finding judged in one place.

Each shard (a `WatchWorker` actor, one CPU) loads the models once, fetches the gallery snapshot once from the
object store and runs the local `Watcher` over its block of rooms. Instead of raising alerts itself, the watcher
hands each finding (a room's track matched so far, with its own verdicts) to the shard, which sends the round's
findings to the one `WatchCoordinator` actor. The coordinator keeps when each person was last seen in every room
of every shard, so it judges `concurrent` with the local rule (`verdicts.live_concurrency`), de-duplicates with
the cool-down and writes the alerts file, the webhook and the alerts' evidence pictures (`AlertSink`), on the
driver's node. A shard's room events (a room's stream interrupted, back or given up) go the same way, in order
with its findings. The driver long-polls it for new alerts and room events (printed as they come) and the rooms'
states (the table).

A shard that dies is restarted by Ray (`max_restarts=-1`) and its `run` called again: its rooms are opened
again, which the coordinator counts as one reconnect per room, carrying the counters of the shard's earlier
life. The restart's own gap is one of the room's interruptions, and the coordinator tells it with the room
events of a stream that dropped (the shard that could have told it is the one that died). When every shard
ends, the driver merges their rooms and appearances and judges `concurrent` across all of them, as a local
watch's summary does.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import os
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace, TracebackType
from typing import Any

from impersonation_cli.config import Config
from impersonation_cli.distributed.ray_scan import (
    GallerySnapshot,
    RayOptions,
    ScanWorker,
    connect,
    disconnect,
    evidence_folder,
    failure_cause,
    import_ray,
    start_actors,
    take_crops,
    write_crops,
)
from impersonation_cli.errors import UserError
from impersonation_cli.io.live_reader import Cause, Interruption, ReaderState, RoomStatus
from impersonation_cli.io.rooms import Room
from impersonation_cli.outputs.alerts import CUT_POLL_S, AlertEvent, AlertSink, RoomChange, RoomEvent, WatchEvent
from impersonation_cli.outputs.evidence import NOT_SAVED, SavedView, save_view
from impersonation_cli.pipeline.matches import TrackMatch
from impersonation_cli.pipeline.scan import ScanContext, add_concurrency, source_kind
from impersonation_cli.pipeline.tracks import BestView
from impersonation_cli.pipeline.verdicts import VerdictSettings, live_concurrency
from impersonation_cli.pipeline.watch import (
    InterruptionsTold,
    RoomWatch,
    Watcher,
    WatchSettings,
    WatchStop,
    concurrent_raiser,
    iso_time,
    note_authorized,
    room_event,
    with_rate,
)
from impersonation_cli.results import Appearance, RunInfo, ScanResult, SourceResult, Verdict

# Room counters that add up over a shard's lives (a restarted shard's rooms count from zero again).
ADDED_COUNTERS = (
    "frames_received",
    "frames_decoded",
    "frames_sampled",
    "frames_dropped",
    "frames_recognised",
    "connections",
    "reconnects",
    "live_seconds",
)
ROOMS_PUSH_INTERVAL_S = 1.0  # how often a shard reports its rooms' states (the table and a restart's carry)
VIEW_KEEP_S = 60.0
POLL_WAIT_S = 0.25  # the driver's long-poll: returns at once when an alert comes


@dataclass
class Finding:
    """A room's track matched so far, with the room's own verdicts: what a shard sends the coordinator."""

    room: str
    number: int
    url: str  # as shown (Room.shown_url): it goes into alerts and evidence file names, never opened
    label: str | None
    person: str
    similarity: float
    track_id: int
    stream_time_s: float
    seen: float  # wall-clock time of the frame that completed it
    view: BestView | None  # the track's best view when it changed since this track's last finding
    # The track so far as the shard's pipeline judged it (`live_appearance`): its frames, verdicts, reasons and
    # risk, and what the summary keeps of the track if the shard's process dies.
    appearance: Appearance
    pid: int  # the shard's process: one life of it
    found_at: float = field(default_factory=time.time)


@dataclass
class RoomRecord:
    """One room's state as its shard last reported it, plus what its shard's earlier lives counted."""

    shard_pid: int | None = None
    latest: dict[str, Any] = field(default_factory=dict)
    carried: Counter[str] = field(default_factory=Counter)
    restarts: int = 0
    alerts: int = 0
    # What the earlier lives saw of the room: its interruptions, its first frame and the last frame before
    # the latest restart (from which the restart's own gap is counted), in the local watch's fields.
    earlier: dict[str, Any] = field(default_factory=dict)
    # The start of the interruption the room's events last told as going on (its shard's or the coordinator's),
    # and the room events of the latest restart's gap.
    said: str | None = None
    told: InterruptionsTold = field(default_factory=InterruptionsTold)

    def merged(self) -> dict[str, Any]:
        document = dict(self.latest)
        for key in ADDED_COUNTERS:
            if key in document:
                document[key] = round(document[key] + self.carried[key], 2)
        if self.earlier:
            document.update(carried_interruptions(self.earlier, document))
        if document.get("status") == RoomStatus.FAILED and document.get("frames_received"):
            document["status"] = str(RoomStatus.ENDED)  # a reader's rule: given up after it was live in a life
        document["reconnects"] = document.get("reconnects", 0) + self.restarts
        document["max_lag_s"] = max(document.get("max_lag_s", 0.0), self.carried["max_lag_s"])
        document["alerts"] = self.alerts
        return document


def _before_restart(earlier: dict[str, Any]) -> tuple[list[dict[str, Any]], str | None]:
    """The earlier lives' interruptions that the restart's gap leaves as they are, and when that gap starts: at
    the last frame the dead worker saw, or where the silence it died in began (the gap holds that silence)."""
    before = list(earlier.get("interruptions") or [])
    if before and before[-1].get("end") is None:
        return before[:-1], before[-1]["start"]
    return before, earlier.get("last_frame_at")


def restart_gap(earlier: dict[str, Any], latest: dict[str, Any]) -> Interruption | None:
    """A restarted room's gap, a dropped connection: from the last frame the dead worker saw to the first of
    the new one (open while the new one has none). None when no earlier life had a frame."""
    _, start = _before_restart(earlier)
    if start is None:
        return None
    first = latest.get("first_frame_at")
    seconds = None
    if first is not None:
        elapsed = datetime.fromisoformat(first) - datetime.fromisoformat(start)
        seconds = round(max(elapsed.total_seconds(), 0.0), 2)
    error = "the worker process watching the room ended; Ray restarted it"
    return Interruption(start, first, seconds, str(Cause.DROPPED), error)


def carried_interruptions(earlier: dict[str, Any], latest: dict[str, Any]) -> dict[str, Any]:
    """A restarted room's `interruptions`, `first_frame_at` and `last_frame_at` over all its lives: the earlier
    lives' interruptions, then the restart's gap (`restart_gap`), then the new life's own."""
    before, _ = _before_restart(earlier)
    gap = restart_gap(earlier, latest)
    gaps = [] if gap is None else [dataclasses.asdict(gap)]
    return {
        "interruptions": before + gaps + (latest.get("interruptions") or []),
        "first_frame_at": earlier.get("first_frame_at") or latest.get("first_frame_at"),
        "last_frame_at": latest.get("last_frame_at") or earlier.get("last_frame_at"),
    }


@dataclass
class ShardReport:
    """A shard's rooms' states (`Watcher.room_summary`) and its recognition rate, sent once a second."""

    first_number: int  # names the shard across its restarts
    pid: int  # names one life of it
    rooms: list[dict[str, Any]]
    share: dict[str, Any] | None


@dataclass
class Progress:
    """What the driver polls the coordinator for."""

    events: list[tuple[WatchEvent, float]]  # new alerts and room events, each with when it was made in its shard
    rooms: dict[str, dict[str, Any]]
    counts: dict[str, Any]  # the alerts' delivery (AlertSink.summary)
    shares: list[dict[str, Any]]


class WatchCoordinator:
    """The one actor that sees every shard's findings: judges `concurrent`, de-duplicates, writes the alerts."""

    def __init__(
        self,
        alerts_path: Path | None,
        webhook: str | None,
        settings: WatchSettings,
        verdicts: VerdictSettings,
        evidence_dir: Path | None,
        rooms: list[Room],
    ) -> None:
        self.sink = AlertSink(alerts_path, webhook, settings.cooldown_s)
        self.cut = threading.Event()  # set: the webhook's last deliveries are given up (a second Ctrl-C)
        self.watched = {room.name: room for room in rooms}
        self.window_s = settings.concurrency_window_s
        self.verdicts = verdicts
        self.evidence_dir = evidence_dir
        self.changed = threading.Condition()  # the actor is threaded: shards report while the driver waits
        self.sightings: dict[str, dict[str, float]] = {}  # person -> room -> wall-clock time last seen there
        self.latest: dict[str, dict[str, tuple[float, Finding]]] = {}  # person -> room -> its latest finding
        self.authorized_in: dict[str, set[str]] = {}  # person -> rooms whose latest finding was authorized
        # (room, track) -> its best view and when the track was last seen; a track not seen for VIEW_KEEP_S
        # has ended (the tracker ends one within seconds), and its view is let go.
        self.views: dict[tuple[str, int], tuple[BestView, float]] = {}
        self.events: list[tuple[WatchEvent, float]] = []  # each alert and room event, with when it was made
        self.swept_at = time.time()
        self.rooms: dict[str, RoomRecord] = {}
        self.shares: dict[int, dict[str, Any]] = {}  # each shard's recognition rate, by its first room
        # (shard process, room, track) -> the track's latest appearance and the room's life it belongs to: what
        # the summary keeps of a shard's tracks if its process dies before it can conclude them itself.
        self.tracks: dict[tuple[int, str, int], tuple[Appearance, int]] = {}

    def report(self, findings: list[Finding | RoomEvent]) -> None:
        """A shard's round: its findings, judged here, and its room events, raised as they are."""
        with self.changed:
            for finding in findings:
                if isinstance(finding, RoomEvent):
                    self._note(finding)
                else:
                    self._judge(finding)
            self.changed.notify_all()
            seen = [finding.seen for finding in findings if isinstance(finding, Finding)]
            latest = max(seen, default=self.swept_at)
            if latest - self.swept_at >= VIEW_KEEP_S:
                self.views = {k: v for k, v in self.views.items() if latest - v[1] < VIEW_KEEP_S}
                self.swept_at = latest

    def _note(self, event: RoomEvent) -> None:
        self.sink.note(event)
        self.events.append((event, time.time()))
        self.changed.notify_all()
        if event.event == RoomChange.LOOPING:  # no interruption's: what was told of the room's gaps stays
            return
        gap = event.interruption
        said = gap.start if event.event == RoomChange.INTERRUPTED and gap is not None else None
        self.rooms.setdefault(event.room, RoomRecord()).said = said

    def _tell_restart(self, record: RoomRecord) -> None:
        """Room events for the gap of the room's latest restart, as a local watch tells a stream that dropped
        (`Watcher._tell_interruptions`): `interrupted` as the restarted worker first reports the room (unless
        the dead one had told the silence it died in), `resumed` once it has the room's frames, `given-up` if it
        cannot open the room again; a gap still open when the room stops being read is left to the summary."""
        gap = restart_gap(record.earlier, record.latest)
        if gap is None:
            return
        document = record.merged()
        status = document["status"]
        over = status in (RoomStatus.ENDED, RoomStatus.STOPPED)
        recorded = [gap] if gap.end is not None or over else []
        for change, told in record.told.look(recorded, None if recorded else gap, status == RoomStatus.ENDED):
            self._note(room_event(change, self.watched[document["room"]], status, told))

    def _judge(self, finding: Finding) -> None:
        """The local watcher's rule (`Watcher._found`), on the sightings of every shard."""
        key = (finding.room, finding.track_id)
        life = self.rooms.setdefault(finding.room, RoomRecord()).restarts + 1
        self.tracks[(finding.pid, finding.room, finding.track_id)] = (finding.appearance, life)
        view = finding.view or self.views.get(key, (None, 0.0))[0]
        if view is not None:
            self.views[key] = (view, finding.seen)
        sightings = self.sightings.setdefault(finding.person, {})
        sightings[finding.room] = finding.seen
        appearance = finding.appearance
        for verdict in appearance.verdicts:
            if verdict != Verdict.AUTHORIZED:  # it raises nothing
                self._raise(finding, verdict, [finding.room], appearance.reasons, appearance.risk)
        authorized = note_authorized(self.authorized_in, finding.person, finding.room, appearance.verdicts)
        latest = self.latest.setdefault(finding.person, {})
        latest[finding.room] = (finding.seen, finding)
        window = self.window_s
        concurrency = live_concurrency(finding.person, finding.room, finding.seen, sightings, window, self.verdicts)
        if concurrency is None:
            return
        raiser = concurrent_raiser(finding.room, finding, concurrency.places, authorized, latest)
        if raiser is not None:
            self._raise(raiser, Verdict.CONCURRENT, concurrency.places, [concurrency.reason], concurrency.risk)

    def _raise(self, finding: Finding, verdict: str, rooms: list[str], reasons: list[str], risk: float) -> None:
        if not self.sink.due(verdict, finding.person, rooms):
            return
        evidence, evidence_frame = self._evidence(finding, verdict)
        event = AlertEvent(
            verdict=verdict,
            person=finding.person,
            room=finding.room,
            rooms=rooms,
            url=finding.url,
            label=finding.label,
            similarity=round(finding.similarity, 4),
            risk=risk,
            frames=finding.appearance.frames,
            track_id=finding.track_id,
            stream_time_s=round(finding.stream_time_s, 3),
            seen_at=iso_time(finding.seen),
            emitted_at=iso_time(time.time()),
            evidence=evidence,
            evidence_frame=evidence_frame,
            reasons=reasons,
        )
        self.sink.emit(event)
        self.events.append((event, finding.found_at))
        self.rooms.setdefault(finding.room, RoomRecord()).alerts += 1

    def _evidence(self, finding: Finding, verdict: str) -> SavedView:
        view, _ = self.views.get((finding.room, finding.track_id), (None, 0.0))
        if self.evidence_dir is None or view is None:
            return NOT_SAVED
        name = f"r{finding.number}-t{finding.track_id}-{verdict}"
        return save_view(self.evidence_dir, finding.url, name, finding.person, view)

    def update_rooms(self, report: ShardReport) -> None:
        """A shard's rooms as it sees them; a new process for a room's shard is a restart: what the earlier
        one counted is carried, and the room has reconnected once more."""
        shard_pid = report.pid
        with self.changed:
            if report.share is not None:
                self.shares[report.first_number] = report.share
            for summary in report.rooms:
                record = self.rooms.setdefault(summary["room"], RoomRecord())
                if record.shard_pid not in (None, shard_pid):
                    record.earlier = record.merged()
                    record.carried.update({k: record.latest.get(k, 0) for k in ADDED_COUNTERS})
                    record.carried["max_lag_s"] = max(record.carried["max_lag_s"], record.latest.get("max_lag_s", 0))
                    record.restarts += 1
                    # The new gap's events; it was told as it began if the dead worker told the silence it died in.
                    record.told = InterruptionsTold(silent_since=record.said)
                    # The new life numbers its tracks from 1 again: the old life's views must not be taken for them.
                    self.views = {k: v for k, v in self.views.items() if k[0] != summary["room"]}
                record.shard_pid, record.latest = shard_pid, summary
                if record.restarts:
                    self._tell_restart(record)

    def poll(self, seen: int, wait_s: float) -> Progress:
        """Alerts after the first `seen` (waiting up to `wait_s` for one), the rooms' merged states, the
        alerts' delivery counts and the shards' recognition rates."""
        with self.changed:
            if len(self.events) <= seen:
                self.changed.wait(wait_s)
            rooms = {name: record.merged() for name, record in self.rooms.items()}
            return Progress(self.events[seen:], rooms, self.sink.summary(), list(self.shares.values()))

    def lost_appearances(self, concluded_by: list[int]) -> list[Appearance]:
        """The tracks of shard processes that died before concluding them (every process not in `concluded_by`),
        each as its last finding had it, named after the room's life it was seen in and saying so."""
        lost = []
        for (pid, room, _), (appearance, life) in self.tracks.items():  # in the order the tracks were first found
            if pid in concluded_by:
                continue
            reason = (
                f"recovered from the last finding of a worker that died (life {life} of {room}'s shard): "
                "frames, signals and verdicts as of that finding"
            )
            lost.append(
                dataclasses.replace(
                    appearance,
                    appearance_id=f"{appearance.appearance_id}-life{life}",
                    reasons=[*appearance.reasons, reason],
                )
            )
        return lost

    def close(self) -> dict[str, Any]:
        """The alerts closed, the webhook given up to 5 s for what is queued (less if `give_up_delivery`)."""
        self.sink.deliver_rest(self.cut)
        self.sink.close()
        return self.sink.summary()

    def give_up_delivery(self) -> None:
        """Cut `close`'s wait for the webhook short (the driver's `stop()` once the watch is over)."""
        self.cut.set()


@dataclass
class Shard:
    """A block of rooms for one worker: numbered from `first_number`, as in a local watch of all of them."""

    rooms: list[Room]
    first_number: int
    settings: WatchSettings
    deadline: float | None  # wall-clock end of the watch (a restarted shard watches only what is left)
    shipped: list[Any]  # [the gallery snapshot's object reference]
    coordinator: Any
    keep_evidence: bool


@dataclass
class ShardOutcome:
    """A shard's summary without `concurrent` (judged by the driver on every room); evidence crops as bytes."""

    result: ScanResult
    appearances: list[Appearance]
    crops: dict[str, bytes]
    pid: int  # the process that concluded it: its tracks are in `appearances`


class WatchWorker(ScanWorker):
    """One shard: the models, loaded once, and the local Watcher over its rooms."""

    def __init__(self, pack_folder: str, device: str, threads: int, config: Config, core: int | None) -> None:
        super().__init__(pack_folder, device, threads, config, core)
        self.watcher: Watcher | None = None
        self.pending: list[Finding | RoomEvent] = []  # the round's findings and room events, in order
        self.view_sent: dict[tuple[str, int], float] = {}  # (room, track) -> time of the view last sent
        self.pushed_at = 0.0

    def run(self, shard: Shard) -> ShardOutcome:
        """Watch the shard's rooms until the deadline, every room is over, or `stop`."""
        import ray

        context = self._scanner(shard.shipped[0]).context
        left = None if shard.deadline is None else max(0.0, shard.deadline - time.time())
        # The coordinator raises the alerts (`_found`) and the room events (sent there from this sink).
        sink = AlertSink(None, None, shard.settings.cooldown_s, on_alert=self._room_event)
        with evidence_folder(shard.keep_evidence) as folder:
            context = dataclasses.replace(context, evidence_dir=folder)
            settings = replace(shard.settings, duration_s=left)
            self.watcher = Watcher(shard.rooms, context, settings, sink, self._found, shard.first_number)
            if self.stopped.is_set():
                self.watcher.stop()
            # Before any finding: a restarted shard's rooms are known as such before its new tracks come.
            shard.coordinator.update_rooms.remote(self._report(shard))
            self.watcher.run(lambda: self._round(shard, force=False))
            self._round(shard, force=True)
            ray.get(shard.coordinator.update_rooms.remote(self._report(shard)))
            result = self.watcher.summary(across_rooms=False)
            crops = take_crops(result.appearances, folder)
        return ShardOutcome(result, result.appearances, crops, os.getpid())

    def stop(self) -> None:
        super().stop()
        if self.watcher is not None:
            self.watcher.stop()

    def _found(self, room: RoomWatch, match: TrackMatch, appearance: Appearance) -> None:
        track, last = match.track, match.track.observations[-1]
        key = (room.name, track.track_id)
        view = track.best_view
        if view is not None and self.view_sent.get(key) != view.time_s:
            self.view_sent[key] = view.time_s
        else:
            view = None
        self.pending.append(
            Finding(
                room=room.name,
                number=room.number,
                url=room.room.shown_url,
                label=room.room.label,
                person=match.identity,
                similarity=match.similarity,
                track_id=track.track_id,
                stream_time_s=last.time_s,
                seen=last.wallclock or time.time(),
                view=view,
                appearance=appearance,
                pid=os.getpid(),
            )
        )

    def _room_event(self, event: WatchEvent) -> None:
        if isinstance(event, RoomEvent):
            self.pending.append(event)

    def _round(self, shard: Shard, force: bool) -> None:
        """After each round: the round's findings go out at once (in order: one caller's calls to an actor run
        in the order made); the rooms' states once a second."""
        coordinator = shard.coordinator
        if self.pending:
            coordinator.report.remote(self.pending)
            self.pending = []
        if force or time.monotonic() - self.pushed_at >= ROOMS_PUSH_INTERVAL_S:
            self.pushed_at = time.monotonic()
            coordinator.update_rooms.remote(self._report(shard))

    def _report(self, shard: Shard) -> ShardReport:
        watcher = self.watcher
        assert watcher is not None
        rooms = [{**Watcher.room_summary(room), "lag_s": round(room.lag_s, 2)} for room in watcher.rooms]
        share = getattr(watcher, "share", None)
        return ShardReport(shard.first_number, os.getpid(), rooms, share.as_dict() if share is not None else None)


def _first_record(room: Room) -> dict[str, Any]:
    """A room's record before its shard first reports: the local summary's fields, nothing counted yet."""
    state = ReaderState(room=room.name, url=room.url, label=room.label).as_dict()
    return {**state, "frames_recognised": 0, "max_lag_s": 0.0, "alerts": 0, "last_finding": None}


@dataclass
class RoomView:
    """A room as the dashboard shows it (the fields of `RoomWatch` it reads), from the coordinator's record."""

    number: int
    room: Room
    state: SimpleNamespace = field(init=False)
    lag_s: float = 0.0
    alerts: int = 0
    last_finding: str | None = None

    def __post_init__(self) -> None:
        self.state = SimpleNamespace(**_first_record(self.room))

    @property
    def name(self) -> str:
        return self.room.name

    def record(self) -> dict[str, Any]:
        """The room's entry in the summary's `settings.rooms`, as a local watch writes it."""
        document = {key: value for key, value in vars(self.state).items() if key != "lag_s"}
        document["interruptions"] = [dataclasses.asdict(gap) for gap in document.get("interruptions", [])]
        return document

    def update(self, record: dict[str, Any]) -> None:
        self.state = SimpleNamespace(**{**vars(self.state), **record})
        # As a local room's state holds them (`Interruption`s), not as the records' dicts.
        self.state.interruptions = [Interruption(**gap) for gap in record.get("interruptions", [])]
        self.lag_s = record.get("lag_s", 0.0)
        self.alerts = record["alerts"]
        self.last_finding = record.get("last_finding")


@dataclass
class SinkView:
    """The coordinator's alert counts, where the dashboard and the CLI read a local `AlertSink`'s."""

    path: Path | None
    counts: dict[str, Any] = field(
        default_factory=lambda: {
            "raised": 0,
            "room_events": 0,
            "written": 0,
            "write_failures": 0,
            "last_write_error": None,
            "webhook": None,
        }
    )

    @property
    def count(self) -> int:
        return int(self.counts["raised"])

    def summary(self) -> dict[str, Any]:
        return self.counts


class ShareView:
    """The shards' recognition rates as the dashboard reads one watcher's (`share.as_dict()`)."""

    def __init__(self, watcher: RayWatcher) -> None:
        self.watcher = watcher

    def as_dict(self) -> dict[str, Any]:
        return merge_shares(self.watcher.shares, self.watcher.settings.reader.fps or 0.0)


class RayWatcher:
    """`Watcher`'s interface (`run`, `stop`, `rooms`, `sink`, `elapsed_s`, `summary`) for a watch on Ray."""

    def __init__(
        self,
        rooms: list[Room],
        context: ScanContext,
        settings: WatchSettings,
        alerts_path: Path | None = None,
        webhook: str | None = None,
        on_alert: Callable[[WatchEvent], None] | None = None,
        on_write_error: Callable[[str], None] | None = None,
        *,
        options: RayOptions,
    ) -> None:
        """`Scanner.watcher`'s arguments (a `WatchEngine` once `options` are bound); connects to the cluster."""
        self.context = context
        self.settings, _ = with_rate(settings, context)  # as the local watcher
        self.options = options
        # '-' (stdout) is this process's: the driver writes those lines, the coordinator the file's.
        self.to_stdout = AlertSink(alerts_path, None, 0.0) if str(alerts_path) == "-" else None
        self.alerts_path = None if self.to_stdout else alerts_path
        self.webhook = webhook
        self.on_alert = on_alert
        self.on_write_error = on_write_error
        self.rooms = [RoomView(number, room) for number, room in enumerate(rooms, start=1)]
        self.started_at = datetime.now(UTC)
        self.sink = SinkView(alerts_path)  # the dashboard names the alerts file as given
        self.delays: list[float] = []  # seconds from a finding in a shard to its alert here
        self._stop = WatchStop()
        self._clock_start = time.monotonic()
        self._outcomes: list[ShardOutcome] = []
        self._lost: list[Appearance] = []  # tracks of shard processes that died (WatchCoordinator.lost_appearances)
        self._shipped: list[Any] = []  # the gallery snapshot's reference
        self.shares: list[dict[str, Any]] = []  # each shard's recognition rate (pipeline.fair_share), as reported
        self.share = ShareView(self)
        self._ray = import_ray()
        self._owned = connect(self._ray, options.address)

    @property
    def elapsed_s(self) -> float:
        return time.monotonic() - self._clock_start

    def stop(self) -> None:
        """End the watch; called again once it is over, while the webhook delivers its last alerts (a second
        Ctrl-C), it gives those up, as a local watch does (`Watcher.stop`)."""
        self._stop.stop()

    def run(self, on_round: Callable[[], None] | None = None) -> None:
        """Start the coordinator and the shards, and follow them until every shard has ended; `on_round` is
        called after each poll (about four times a second).

        Raises:
            UserError: the cluster has too few CPUs for --workers, a worker cannot load the models, or the
                coordinator died (the alerts raised until then are in the alerts file).
        """
        ray = self._ray
        self._clock_start = time.monotonic()
        self.started_at = datetime.now(UTC)
        coordinator = self._start_coordinator()
        workers, shards = self._start_shards(coordinator)
        if self._stop.is_set():
            # A Ctrl-C while the workers loaded their models, before any room was opened: 'error: aborted', as a
            # local watch's while its models load. Run, the shards stopped at once, and the summary called every
            # room unreadable ('no frame was ever received', exit 3).
            raise KeyboardInterrupt
        running = [worker.run.remote(shard) for worker, shard in zip(workers, shards, strict=True)]
        try:
            self._outcomes = self._follow(coordinator, workers, running, on_round)
        except ray.exceptions.RayActorError as exc:  # a shard's death is retried: this is the coordinator's
            first = failure_cause(exc).split(". ")[0]
            raise UserError(f"the watch's coordinator on Ray died ({first}); the alerts so far are written") from None
        except ray.exceptions.RayError as exc:
            raise UserError(f"the watch on Ray failed: {failure_cause(exc)}") from None

    def _follow(
        self, coordinator: Any, workers: list[Any], running: list[Any], on_round: Callable[[], None] | None
    ) -> list[ShardOutcome]:
        """Show the alerts and the rooms until every shard has ended (told to stop on `stop()`), then their
        outcomes; a dead shard's `run` is retried by Ray, so it ends only when its rooms have."""
        ray = self._ray
        stopping = False
        seen = 0
        pending = list(running)
        while pending:
            if self._stop.is_set() and not stopping:
                stopping = True
                for worker in workers:
                    worker.stop.remote()
            progress = ray.get(coordinator.poll.remote(seen, POLL_WAIT_S))
            seen += len(progress.events)
            self._show(progress)
            if on_round is not None:
                on_round()
            _, pending = ray.wait(pending, num_returns=len(pending), timeout=0)
        self._stop.set()  # over: a stop from now on cuts the deliveries short
        outcomes = ray.get(running)
        self._lost = ray.get(coordinator.lost_appearances.remote([outcome.pid for outcome in outcomes]))
        progress = ray.get(coordinator.poll.remote(seen, 0.0))
        self._show(dataclasses.replace(progress, counts=self._close(coordinator)))
        return outcomes

    def _close(self, coordinator: Any) -> dict[str, Any]:
        """The coordinator's alerts closed, here in `run` where the CLI's signal handlers still call `stop()`: a
        second Ctrl-C while its webhook delivers the last alerts gives those up (counted failed), as in
        `Watcher.run`, where the coordinator's full 5 s had to be waited out."""
        ray = self._ray
        closing = coordinator.close.remote()
        while not self._stop.cut.is_set():
            if ray.wait([closing], timeout=CUT_POLL_S)[0]:
                return ray.get(closing)
        coordinator.give_up_delivery.remote()
        return ray.get(closing)

    def _show(self, progress: Progress) -> None:
        counts = progress.counts
        self.shares = progress.shares
        for event, found_at in progress.events:
            if self.to_stdout is not None and isinstance(event, AlertEvent):
                self.to_stdout.emit(event)  # due already: the coordinator de-duplicated it
            elif self.to_stdout is not None and isinstance(event, RoomEvent):
                self.to_stdout.note(event)
            if self.on_alert is not None:
                self.on_alert(event)
            if isinstance(event, AlertEvent):
                self.delays.append(time.time() - found_at)
        for view in self.rooms:
            if view.name in progress.rooms:
                view.update(progress.rooms[view.name])
        if counts["write_failures"] and not self.sink.counts["write_failures"] and self.on_write_error is not None:
            self.on_write_error(counts["last_write_error"])
        self.sink.counts = counts if self.to_stdout is None else {**counts, "written": self.to_stdout.written}

    def _start_coordinator(self) -> Any:
        """The coordinator, on this machine's node: the alerts file and evidence folder are paths here."""
        ray = self._ray
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        here: NodeAffinitySchedulingStrategy | str
        try:
            here = NodeAffinitySchedulingStrategy(ray.get_runtime_context().get_node_id(), soft=False)
        except Exception:  # a Ray Client driver is on no node: the coordinator goes where Ray puts it
            here = "DEFAULT"
        actor = ray.remote(WatchCoordinator).options(num_cpus=0, max_concurrency=16, scheduling_strategy=here)
        verdicts, evidence_dir = self.context.config.verdicts, self.context.evidence_dir
        rooms = [view.room for view in self.rooms]
        return actor.remote(self.alerts_path, self.webhook, self.settings, verdicts, evidence_dir, rooms)

    def _start_shards(self, coordinator: Any) -> tuple[list[Any], list[Shard]]:
        """One actor per CPU (GPU) or per `--workers`, each with a contiguous block of the rooms; the watch's
        duration counts from when they have all loaded their models."""
        ray, context = self._ray, self.context
        keep = context.evidence_dir is not None
        snapshot = GallerySnapshot(
            index=context.index,
            authorizations=context.authorizations,
            footage=context.footage,
            fps=context.fps,
            keep_evidence=keep,
        )
        # Held for the whole watch: a restarted shard fetches the snapshot again.
        self._shipped = [ray.put(snapshot)]
        # A shard that dies comes back and runs its rooms again (`run` retried), however often.
        workers = start_actors(ray, context, self.options, len(self.rooms), WatchWorker, max_task_retries=-1)
        deadline = None if self.settings.duration_s is None else time.time() + self.settings.duration_s
        shards = [
            Shard(
                [view.room for view in self.rooms[first:last]],
                first + 1,
                self.settings,
                deadline,
                self._shipped,
                coordinator,
                keep,
            )
            for first, last in _blocks(len(self.rooms), len(workers))
        ]
        return workers, shards

    def summary(self) -> ScanResult:
        """Every shard's rooms and appearances, with `concurrent` judged across all of them (after `run`)."""
        outcomes = self._outcomes
        if not outcomes:
            raise RuntimeError("summary() before run() finished")
        records = {view.name: view.record() for view in self.rooms}
        sources: list[SourceResult] = []
        appearances: list[Appearance] = []
        for outcome in outcomes:
            write_crops(outcome, self.context.evidence_dir)
            for source, record in zip(outcome.result.sources, outcome.result.settings["rooms"], strict=True):
                sources.append(_carried(source, records[record["room"]]))
            appearances.extend(outcome.appearances)
        appearances.extend(self._lost)
        add_concurrency(
            sources, appearances, self.context.config, slack_s=self.settings.concurrency_window_s, live=True
        )
        each = [outcome.result.settings for outcome in outcomes]
        target = self.settings.reader.fps or 0.0
        # What differs between shards (their recognition rates) is listed per shard; the top level has the first's.
        own = sorted(k for k in each[0] if k not in ("rooms", "alerts") and any(s[k] != each[0][k] for s in each))
        shards = [{"rooms": [r["room"] for r in s["rooms"]], **{k: s[k] for k in own}} for s in each]
        settings = {
            **each[0],
            **({"recognition": merge_shares(self.shares, target)} if "recognition" in each[0] else {}),
            "rooms": list(records.values()),
            "alerts": {**self.sink.counts, "coordinator_delay_s": _delays(self.delays)},
            "engine": {"name": "ray", "address": self.options.address, "workers": len(outcomes), "shards": shards},
        }
        live_seconds = sum(float(record.get("live_seconds", 0.0)) for record in records.values())
        run = RunInfo.measured(self.started_at, self.elapsed_s, live_seconds, live=True)
        return ScanResult(settings=settings, sources=sources, appearances=appearances, run=run)

    def __enter__(self) -> RayWatcher:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        # Leaving the cluster takes seconds, after the CLI's signal handlers are gone: a Ctrl-C then ended the
        # watch with no summary. It is held and dropped, as for a Ray scan.
        disconnect(self._ray, self._owned)


def _blocks(total: int, count: int) -> list[tuple[int, int]]:
    """`count` contiguous blocks of `total` rooms, their sizes differing by one at most."""
    size, extra = divmod(total, count)
    bounds = [n * size + min(n, extra) for n in range(count + 1)]
    return list(itertools.pairwise(bounds))


def _carried(source: SourceResult, room: dict[str, Any]) -> SourceResult:
    """A room's result with its counters over every life of its shard (the room record has them merged)."""
    frames = int(room.get("frames_decoded", source.frames_decoded))
    readable = source.status == "ok" or int(room.get("frames_received", frames)) > 0
    return dataclasses.replace(
        source,
        kind=source.kind if source.status == "ok" else source_kind(source.source, read=readable),
        status="ok" if readable else source.status,
        error=None if readable else source.error,
        scanned_s=round(float(room.get("live_seconds", source.scanned_s)), 3),
        frames_decoded=frames,
        frames_sampled=int(room.get("frames_sampled", source.frames_sampled)),
    )


def merge_shares(shares: list[dict[str, Any]], target_fps: float) -> dict[str, Any]:
    """The shards' recognition rates as one: the slowest rate any shard samples at, and the rooms they hold
    together at the target rate."""
    if not shares:
        return {"target_fps": target_fps, "fps": target_fps, "lowest_fps": target_fps, "rooms_at_target": None}
    merged = {**shares[0]}
    for key in ("fps", "lowest_fps"):
        merged[key] = min(share[key] for share in shares)
    for key in ("rooms_at_target", "frames_per_busy_s"):
        known = [share[key] for share in shares if share.get(key) is not None]
        merged[key] = round(sum(known), 2) if known else None
    return merged


def _delays(delays: list[float]) -> dict[str, Any]:
    if not delays:
        return {"alerts": 0, "mean": None, "max": None}
    return {"alerts": len(delays), "mean": round(sum(delays) / len(delays), 3), "max": round(max(delays), 3)}


__all__ = ["RayWatcher", "WatchCoordinator", "WatchWorker"]


def watch_engine(options: RayOptions | None) -> Callable[..., RayWatcher] | None:
    """The `engine` for `Scanner.watcher` that `engine_options` asks for: None (watch in this process) for None;
    else `RayWatcher` on the cluster the options name."""
    return None if options is None else functools.partial(RayWatcher, options=options)
