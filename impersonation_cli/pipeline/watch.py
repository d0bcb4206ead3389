"""The live watcher: many rooms in one process, one shared face engine, alerts within seconds.

Each room has a reader thread (io.live_reader) and a SourcePipeline kept across reconnects. The watcher takes
whatever frames the readers have ready, detects faces frame by frame (each room with its own adaptive
detector), then embeds the faces that need it, of every room, in one recognizer run (each room keeps the
embeddings of faces that have not changed: runtime.engine.EmbeddingReuse). A track is matched while it is still
on screen (once it has `provisional_frames` observations), so an alert fires seconds after a face
appears, not when it leaves; its manipulation flags are judged too once it has the signals' `min_frames`.
The same registered person live in two or more rooms within `concurrency_window_s` is a `concurrent`
finding that names all of them: one person cannot be in several rooms at once. A room's stream that stops
sending frames, sends them again or is given up is a room event, raised through the same alert sink.
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TypeVar

import numpy as np

from impersonation_cli.errors import MAX_WATCH_FPS, MIN_WATCH_FPS, check_count, check_seconds, plain_numbers
from impersonation_cli.io.live_reader import (
    Interruption,
    ReaderSettings,
    ReaderState,
    RoomReader,
    RoomStatus,
    iso_time,
)
from impersonation_cli.io.rooms import Room
from impersonation_cli.io.sources import SOURCE_ERRORS, is_stream_url, probe
from impersonation_cli.outputs.alerts import AlertEvent, AlertSink, RoomChange, RoomEvent, room_reason
from impersonation_cli.outputs.evidence import NOT_SAVED, SavedView, save_view
from impersonation_cli.pipeline.faces import Faces, Frame
from impersonation_cli.pipeline.fair_share import RecognitionShare
from impersonation_cli.pipeline.matches import TrackMatch
from impersonation_cli.pipeline.scan import (
    ScanContext,
    SourcePipeline,
    add_concurrency,
    run_settings,
    source_kind,
)
from impersonation_cli.pipeline.verdicts import live_concurrency
from impersonation_cli.results import Appearance, RunInfo, ScanResult, SourceResult, Verdict
from impersonation_cli.runtime.engine import AdaptiveDetector, EmbeddingReuse, FaceEngine

# Takes a finding (the room, the track's match, its appearance so far) in place of the watcher's alert sink.
FindingHandler = Callable[["RoomWatch", TrackMatch, Appearance], None]


# Frames recognised per round at most (a round embeds its faces in one recognizer run).
ROUND_FRAMES = 8
# Seconds a stopped watch waits for its readers to end; one still reading is left to end on its own.
STOP_WAIT_S = 2.0


@dataclass(frozen=True)
class WatchSettings:
    """How rooms are watched: each room's reader, how long, the concurrency window and the alert cool-down (in
    seconds, each above 0, as `watch` takes them; a UserError otherwise)."""

    reader: ReaderSettings = field(default_factory=ReaderSettings)
    duration_s: float | None = None
    concurrency_window_s: float = 15.0
    cooldown_s: float = 600.0
    provisional_frames: int = 2

    def __post_init__(self) -> None:
        if not isinstance(self.reader, ReaderSettings):
            raise TypeError(f"reader must be a ReaderSettings, not {type(self.reader).__name__}")
        plain_numbers(self)  # np.float32(30) is a number of seconds too
        if self.duration_s is not None:
            check_seconds(self.duration_s, "duration_s", zero=False)
        # Above 0, as `watch --window 0` and `--cooldown 0` are refused (parse_duration): the two take the same.
        check_seconds(self.concurrency_window_s, "concurrency_window_s", zero=False)
        check_seconds(self.cooldown_s, "cooldown_s", zero=False)
        check_count(self.provisional_frames, "provisional_frames")


@dataclass
class InterruptionsTold:
    """What a room's events have told of its interruptions, and what they tell next (`look`)."""

    silent_since: str | None = None  # the start of the interruption told as going on
    recorded: int = 0  # how many of the room's recorded interruptions were told

    def look(
        self, recorded: Sequence[Interruption], silence: Interruption | None, given_up: bool
    ) -> list[tuple[RoomChange, Interruption | None]]:
        """The room events due now: `interrupted` once a silence is sure to be an interruption (`silence`, going
        on and not recorded yet), then `resumed` when frames come again, or `given-up` (`given_up`: the room is
        over, its last interruption unended). An interruption recorded that began and ended between two looks is
        told as both at once; one still going on when the room stops being read is left to the summary. A silence
        told whose start moves later is the same silence: frames live before it came during it (an HLS server
        serves its last segment when the publisher comes back), and its `resumed` has the later start."""
        changes: list[tuple[RoomChange, Interruption | None]] = []
        for gap in recorded[self.recorded :]:
            told = self.silent_since is not None and gap.start >= self.silent_since  # ISO 8601 UTC: in time order
            self.silent_since = None if told else self.silent_since
            if gap.end is None and not given_up:
                continue  # the watch stopped reading the room
            if not told:
                changes.append((RoomChange.INTERRUPTED, replace(gap, end=None, seconds=None)))
            changes.append((RoomChange.RESUMED if gap.end is not None else RoomChange.GIVEN_UP, gap))
        self.recorded = len(recorded)
        ongoing = None if silence is None or silence.start in {gap.start for gap in recorded} else silence
        if self.silent_since is not None and ongoing is None:
            self.silent_since = None  # frames came back, late but none missing: not recorded as an interruption
            changes.append((RoomChange.RESUMED, None))
        elif ongoing is not None:
            if self.silent_since is None:
                changes.append((RoomChange.INTERRUPTED, ongoing))
            self.silent_since = ongoing.start
        return changes


@dataclass
class RoomWatch:
    """A room being watched: its reader, its pipeline, and how the watch of it is going."""

    number: int
    room: Room
    reader: RoomReader
    pipeline: SourcePipeline
    detector: AdaptiveDetector
    recognizer: EmbeddingReuse
    alerts: int = 0
    last_finding: str | None = None
    frame_size: tuple[int, int] | None = None
    frames_recognised: int = 0
    # Seconds from a frame's arrival to the end of its recognition: growing lag means falling behind.
    lag_s: float = 0.0
    max_lag_s: float = 0.0
    told: InterruptionsTold = field(default_factory=InterruptionsTold)  # its room events so far
    loop_looked_at_s: float = -math.inf  # stream times: when `Watcher._tell_loop` last looked, last told
    loop_told_at_s: float = -math.inf

    @property
    def state(self) -> ReaderState:
        return self.reader.state

    @property
    def name(self) -> str:
        return self.room.name


def recognise(engine: FaceEngine, batch: list[tuple[RoomWatch, Frame]]) -> list[Faces]:
    """Faces with embeddings for each room's frame: detection per frame, then one recognizer run for the faces
    of every room that need a fresh embedding. A room's second frame of the round waits for the next run,
    because what it may reuse depends on the first."""
    found: list[Faces | None] = [None] * len(batch)
    waiting = [(n, room, frame) for n, (room, frame) in enumerate(batch)]
    while waiting:
        rooms_in_run: set[int] = set()
        run: list[tuple[int, RoomWatch, Frame]] = []
        waiting_next: list[tuple[int, RoomWatch, Frame]] = []
        for n, room, frame in waiting:
            (waiting_next if room.number in rooms_in_run else run).append((n, room, frame))
            rooms_in_run.add(room.number)
        pending = [
            room.recognizer.prepare(frame.image, room.detector.detect(frame.image, frame.time_s), frame.time_s)
            for _, room, frame in run
        ]
        embeddings = engine.embed_aligned([face for p in pending for face in p.to_embed])
        parts = np.split(embeddings, np.cumsum([len(p.to_embed) for p in pending])[:-1])
        for (n, room, _), p, part in zip(run, pending, parts, strict=True):
            found[n] = room.recognizer.complete(p, part)
        waiting = waiting_next
    return [faces for faces in found if faces is not None]


def note_authorized(authorized_in: dict[str, set[str]], person: str, room: str, verdicts: list[str]) -> set[str]:
    """Record whether `person`'s latest finding in `room` is authorized; returns the person's authorized rooms."""
    rooms = authorized_in.setdefault(person, set())
    if Verdict.AUTHORIZED in verdicts:
        rooms.add(room)
    else:
        rooms.discard(room)
    return rooms


T = TypeVar("T")


def raises_concurrent(room: str, places: list[str], authorized: set[str]) -> bool:
    """Whether a frame of `room` raises the `concurrent` alert naming `places`. An authorized room leaves it to
    an unauthorized one of them (their next frame, a sample interval later): raised from the authorized room,
    the alert's room, URL and evidence crop pointed at the rights holder's own broadcast, not at a room to act
    on. With every room authorized (a simulcast), any raises it."""
    return room not in authorized or all(place in authorized for place in places)


def concurrent_raiser(
    room: str, current: T, places: list[str], authorized: set[str], latest: Mapping[str, tuple[float, T]]
) -> T | None:
    """What raises the `concurrent` alert naming `places`: this frame's finding (`current`, of `room`) where
    `raises_concurrent` lets it; from an authorized room, the latest finding (`latest`: by room, when seen and what)
    of an unauthorized one of them. Left to that room's next frame, the alert never came where its face had gone
    before the authorized room showed the person: the summary said `concurrent`, no alert did."""
    if raises_concurrent(room, places, authorized):
        return current
    found = [latest[place] for place in places if place not in authorized and place in latest]
    return max(found, key=lambda seen_and_finding: seen_and_finding[0])[1] if found else None


def room_event(
    change: RoomChange, room: Room, status: str, gap: Interruption | None, reason: str | None = None
) -> RoomEvent:
    """A room event (`AlertSink.note`) of `room`, in `status` (a RoomStatus) when it is raised; `reason`, where the
    event is no interruption's (a loop's), else said of `gap`."""
    return RoomEvent(
        event=str(change),
        room=room.name,
        url=room.shown_url,
        label=room.label,
        status=status,
        interruption=gap,
        emitted_at=iso_time(None),
        reasons=[reason or room_reason(change, gap)],
    )


# How often (stream seconds) a room's recent frames are looked at for a loop, and how far back: a loop is
# clear within seconds of repeating (`[replay] run_s`), and a short look stays cheap however long the watch.
LOOP_LOOK_EVERY_S = 10.0
LOOP_LOOK_BACK_S = 60.0


class WatchStop(threading.Event):
    """A watch's end, set by its loop or by `stop()`; `stop()` once it is set (a second Ctrl-C while the last
    alerts go out) gives up their delivery: `cut`."""

    def __init__(self) -> None:
        super().__init__()
        self.cut = threading.Event()

    def stop(self) -> None:
        if self.is_set():
            self.cut.set()
        self.set()


def with_rate(settings: WatchSettings, context: ScanContext) -> tuple[WatchSettings, float]:
    """`settings` with the rate rooms are sampled at, and that rate: as given, else the config's `[scan] fps` (one
    setting for scan and watch) brought into watch's own range, 0.001 to 30 (a config may ask up to 120 for
    recordings, and anything above 0). The Ray watcher took 60 as it was and refused it, and both refused 0.0005
    naming --fps, which the user had not given."""
    if settings.reader.fps is not None:
        return settings, settings.reader.fps
    fps = min(max(context.config.scan.fps, MIN_WATCH_FPS), MAX_WATCH_FPS)
    return replace(settings, reader=replace(settings.reader, fps=fps)), fps


class Watcher:
    """Watches rooms until the duration is up, every room is over, or `stop()` is called."""

    def __init__(
        self,
        rooms: list[Room],
        context: ScanContext,
        settings: WatchSettings,
        sink: AlertSink,
        on_finding: FindingHandler | None = None,
        first_number: int = 1,
    ) -> None:
        """`on_finding`, when given, takes each finding instead of this watcher's alert sink (a distributed watch
        judges them with every shard's); `first_number` numbers the rooms from there (a shard's share of them)."""
        self.context = context
        self.settings, fps = with_rate(settings, context)
        self.sink = sink
        self.on_finding = on_finding
        self.share = RecognitionShare(fps)
        self._next_room = 0  # the room the next round starts with
        self.started_at = datetime.now(UTC)
        self._clock_start = time.monotonic()
        self.wake = threading.Event()
        self._stop = WatchStop()
        self._ran = False
        # person -> room name -> wall-clock time the person was last on screen there
        self._sightings: dict[str, dict[str, float]] = {}
        # Each person's latest finding in each room, for a `concurrent` alert raised from it (`concurrent_raiser`).
        self._latest: dict[str, dict[str, tuple[float, tuple[RoomWatch, TrackMatch]]]] = {}
        # person -> the rooms whose latest finding of them was authorized
        self._authorized_in: dict[str, set[str]] = {}
        self.rooms = [self._watch(number, room) for number, room in enumerate(rooms, start=first_number)]

    def _watch(self, number: int, room: Room) -> RoomWatch:
        state = ReaderState(room=room.name, url=room.url, label=room.label)
        reader = RoomReader(state, self.settings.reader, self.wake, origin=self._clock_start)
        engine, config = self.context.engine, self.context.config
        # Stream time counts from when watching began (a live frame also carries its own wall-clock time).
        pipeline = SourcePipeline(room.url, number, self.context, replace(room, started_at=self.started_at))
        return RoomWatch(
            number, room, reader, pipeline, AdaptiveDetector(engine), EmbeddingReuse(engine, config.recognition)
        )

    def stop(self) -> None:
        """End the watch (from another thread or a signal handler). Called again once the watch is over and the
        webhook is delivering its last alerts (a second Ctrl-C), it gives those up: the summary comes at once."""
        self._stop.stop()
        self.wake.set()

    @property
    def elapsed_s(self) -> float:
        return time.monotonic() - self._clock_start

    def run(self, on_round: Callable[[], None] | None = None) -> None:
        """Watch until the duration is up, every room is over, or `stop()`; `on_round` is called after each round.

        Raises:
            RuntimeError: the watcher has run before (its readers are spent): take another from `Scanner.watcher`.
        """
        if self._ran:  # was "threads can only be started once", from the first room's reader
            raise RuntimeError("a Watcher runs once: take another from Scanner.watcher")
        self._ran = True
        for room in self.rooms:
            room.reader.start()
        try:
            self._loop(on_round)
        finally:
            self._stop.set()  # over: a stop from now on cuts the deliveries short
            self._stop_readers()
            # Here, not when the watcher's block is left: the caller's signal handlers still call stop(). A second
            # Ctrl-C during the webhook's last 5 s aborted the CLI (exit 130) with no summary written.
            self.sink.deliver_rest(self._stop.cut)

    def _loop(self, on_round: Callable[[], None] | None) -> None:
        duration = self.settings.duration_s
        while not self._stop.is_set():
            timeout = 0.5 if duration is None else max(0.0, min(0.5, duration - self.elapsed_s))
            self.wake.wait(timeout)
            self.wake.clear()
            # Read before draining: frames a room sent just before it ended are still recognised.
            all_over = all(not room.reader.is_alive() for room in self.rooms)
            silenced = [room for room in self.rooms if self._tell_interruptions(room)]
            batch = self._next_batch()
            if batch:
                self._recognise_round(batch)
            for room in silenced:  # after its last frames before the silence, which may still have been waiting
                self._conclude(room, room.pipeline.end_tracks())
            self._share_recognition()
            if on_round is not None:
                on_round()
            if (all_over and not batch) or (duration is not None and self.elapsed_s >= duration):
                return

    def _next_batch(self) -> list[tuple[RoomWatch, Frame]]:
        """The frames waiting in the rooms, taken in turn from the room after the last one served, up to
        ROUND_FRAMES: past capacity a round stays short, so the sampling rate adapts within seconds and every
        room is served in its turn (frames left waiting are replaced by newer ones, and counted as dropped)."""
        batch: list[tuple[RoomWatch, Frame]] = []
        for step in range(len(self.rooms)):
            if len(batch) >= ROUND_FRAMES:
                self._next_room = (self._next_room + step) % len(self.rooms)
                self.wake.set()  # the rooms not served this round are served next, without waiting
                break
            room = self.rooms[(self._next_room + step) % len(self.rooms)]
            batch += [(room, frame) for frame in room.reader.slot.drain()]
        return batch

    def _stop_readers(self) -> None:
        for room in self.rooms:
            room.reader.stop()
        # A reader blocked in a read of a stalled stream (or in opening one) returns only at its timeout: the
        # watch does not wait for it (it held the stop up to --timeout + 1 s). It is a daemon thread, and ends
        # on its own; its room is stopped now.
        limit = time.monotonic() + STOP_WAIT_S
        for room in self.rooms:
            room.reader.join(max(0.0, limit - time.monotonic()))
            if room.reader.is_alive():
                room.state.status = RoomStatus.STOPPED
                room.state.reading_ended(self.settings.reader.gap_s)

    def _share_recognition(self) -> None:
        live = [room for room in self.rooms if room.state.status == RoomStatus.LIVE]
        if self.share.update(time.monotonic(), len(live)):
            for room in self.rooms:
                room.reader.set_fps(self.share.fps)

    def _recognise_round(self, batch: list[tuple[RoomWatch, Frame]]) -> None:
        started = time.monotonic()
        found = recognise(self.context.engine, batch)
        for (room, frame), faces in zip(batch, found, strict=True):
            room.frame_size = (frame.width, frame.height)
            self._observe(room, frame, faces)
            room.frames_recognised += 1
            room.lag_s = time.time() - (frame.arrived or frame.wallclock or time.time())
            room.max_lag_s = max(room.max_lag_s, room.lag_s)
        self.share.recognised(len(batch), time.monotonic() - started)

    def _observe(self, room: RoomWatch, frame: Frame, faces: Faces) -> None:
        closed = room.pipeline.add(frame, faces)
        if frame.time_s - room.loop_looked_at_s >= LOOP_LOOK_EVERY_S:
            room.loop_looked_at_s = frame.time_s
            self._tell_loop(room, frame.time_s)
        # Tracks still on screen are matched on what they have so far: the alert cannot wait for the end.
        for match in room.pipeline.live_matches(frame, self.settings.provisional_frames):
            self._found(room, match, final=False)
        self._conclude(room, closed)

    def _conclude(self, room: RoomWatch, closed: list[TrackMatch]) -> None:
        """The final findings of tracks that ended."""
        for match in closed:
            # As on screen: a track seen in one sampled frame raises no alert (nor is it in the summary). Ended,
            # such a track was alerted (a 0.42 match seen once), against docs/watch.md's two frames.
            if len(match.track.observations) >= self.settings.provisional_frames:
                self._found(room, match, final=True)

    def _found(self, room: RoomWatch, match: TrackMatch, final: bool) -> None:
        seen = match.track.observations[-1].wallclock or time.time()
        sightings = self._sightings.setdefault(match.identity, {})
        sightings[room.name] = seen
        appearance = room.pipeline.live_appearance(match, final)
        room.last_finding = f"{match.identity} ({', '.join(appearance.verdicts)}, {match.similarity:.2f})"
        if self.on_finding is not None:
            self.on_finding(room, match, appearance)
            return
        # One alert per verdict (each de-duplicated on its own), every one with all of the appearance's reasons.
        for verdict in appearance.verdicts:
            if verdict != Verdict.AUTHORIZED:
                self._raise(room, match, verdict, [room.name], appearance.reasons, appearance.risk)
        authorized = note_authorized(self._authorized_in, match.identity, room.name, appearance.verdicts)
        latest = self._latest.setdefault(match.identity, {})
        latest[room.name] = (seen, (room, match))
        window = self.settings.concurrency_window_s
        concurrency = live_concurrency(match.identity, room.name, seen, sightings, window, self.context.config.verdicts)
        if concurrency is None:
            return
        raiser = concurrent_raiser(room.name, (room, match), concurrency.places, authorized, latest)
        if raiser is not None:
            self._raise(*raiser, Verdict.CONCURRENT, concurrency.places, [concurrency.reason], concurrency.risk)

    def _raise(
        self, room: RoomWatch, match: TrackMatch, verdict: str, rooms: list[str], reasons: list[str], risk: float
    ) -> None:
        if not self.sink.due(verdict, match.identity, rooms):
            return
        last = match.track.observations[-1]
        evidence, evidence_frame = self._evidence(room, match, verdict)
        event = AlertEvent(
            verdict=verdict,
            person=match.identity,
            room=room.name,
            rooms=rooms,
            url=room.room.shown_url,
            label=room.room.label,
            similarity=round(match.similarity, 4),
            risk=risk,
            frames=len(match.track.observations),
            track_id=match.track.track_id,
            stream_time_s=round(last.time_s, 3),
            seen_at=iso_time(last.wallclock),
            emitted_at=iso_time(None),
            evidence=evidence,
            evidence_frame=evidence_frame,
            reasons=reasons,
        )
        self.sink.emit(event)
        room.alerts += 1

    def _tell_loop(self, room: RoomWatch, now_s: float) -> None:
        """A `looping` room event when the room's stream repeats itself (a recording looped as if live) clearly
        enough to earn likely-replay, as the summary judges its source; told again only after --cooldown. It was
        in the summary only: an agency learnt of a looped room when the watch ended."""
        if now_s - room.loop_told_at_s < self.settings.cooldown_s:
            return
        loop = room.pipeline.recent_loop(now_s - LOOP_LOOK_BACK_S)
        if loop is None or loop.score < self.context.config.verdicts.replay_threshold:
            return
        room.loop_told_at_s = now_s
        reason = f"{Verdict.REPLAY}: loop {loop.score:.2f}: {loop.explanation}"
        self.sink.note(room_event(RoomChange.LOOPING, room.room, str(room.state.status), None, reason))

    def _tell_interruptions(self, room: RoomWatch) -> bool:
        """Room events for the room's stream (`InterruptionsTold.look`); whether it was just told interrupted.
        Its faces on screen are then gone: their tracks end there, not when the room comes back (they ended on
        its next frame: a finding on a face last seen before a 20-s drop-out was alerted at the resume, its
        evidence 20 s old, and its cool-down held back the alert on the resumed broadcast)."""
        state = room.state
        silence = state.silence(self.settings.reader.gap_s)  # first: a frame ending it is recorded before it shows
        interrupted = False
        for change, gap in room.told.look(list(state.interruptions), silence, state.status == RoomStatus.ENDED):
            self.sink.note(room_event(change, room.room, str(state.status), gap))
            interrupted = interrupted or change == RoomChange.INTERRUPTED
        return interrupted

    def _evidence(self, room: RoomWatch, match: TrackMatch, verdict: str) -> SavedView:
        view, folder = match.track.best_view, self.context.evidence_dir
        if folder is None or view is None:
            return NOT_SAVED
        name = f"r{room.number}-t{match.track.track_id}-{verdict}"
        return save_view(folder, room.room.url, name, match.identity, view)

    # -- the final summary ----------------------------------------------------------------------

    def summary(self, across_rooms: bool = True) -> ScanResult:
        """Every room's tracks closed and judged, as a scan result document (call once, after `run`); with
        `across_rooms` False, `concurrent` is left for the caller to judge (with other shards' rooms)."""
        config = self.context.config
        sources: list[SourceResult] = []
        appearances: list[Appearance] = []
        for room in self.rooms:
            # Of tracks an alert could be raised for: two tracks seen once each (a face the tracker lost between
            # two samples) made a 2-frame appearance in the summary, judged unauthorized, that was never alerted.
            facts, frames = self._source_facts(room), config.scan.min_appearance_frames
            result, found = room.pipeline.conclude(facts, frames, self.settings.provisional_frames)
            sources.append(result)
            appearances.extend(found)
        if across_rooms:
            add_concurrency(sources, appearances, config, slack_s=self.settings.concurrency_window_s, live=True)
        settings = {
            "mode": "watch",
            **run_settings(self.context, self.share.target_fps),  # settings.reader.fps, filled in
            "concurrency_window_s": self.settings.concurrency_window_s,
            "recognition": self.share.as_dict(),
            "rooms": [self.room_summary(room) for room in self.rooms],
            "alerts": self.sink.summary(),
        }
        live_seconds = sum(room.state.live_seconds for room in self.rooms)
        run = RunInfo.measured(self.started_at, self.elapsed_s, live_seconds, live=True)
        return ScanResult(settings=settings, sources=sources, appearances=appearances, run=run)

    @staticmethod
    def room_summary(room: RoomWatch) -> dict[str, object]:
        return {
            **room.state.as_dict(),
            "frames_recognised": room.frames_recognised,
            "max_lag_s": round(room.max_lag_s, 2),
            "alerts": room.alerts,
            "last_finding": room.last_finding,
        }

    @staticmethod
    def _source_facts(room: RoomWatch) -> SourceResult:
        """How a room was read: its frames and live time, or why it never sent a frame."""
        state = room.state
        readable = state.frames_received > 0
        width, height = room.frame_size or (None, None)
        fps = duration_s = None
        if readable and not is_stream_url(room.room.url):  # a recording's, as scan writes them (null for a room)
            with contextlib.suppress(*SOURCE_ERRORS):
                info = probe(room.room.url)
                fps, duration_s = info.fps, info.duration_s
            if state.timestamps_restarted:  # its header measures one part of it (`pipeline.scan.source_facts`)
                duration_s = round(state.live_seconds, 3) if state.status == RoomStatus.ENDED else None
        return SourceResult(
            source=room.room.url,
            kind=source_kind(room.room.url, read=readable),
            status="ok" if readable else "unreadable",
            error=None if readable else state.last_error or "no frame was ever received",
            width=width,
            height=height,
            fps=fps,
            duration_s=duration_s,
            scanned_s=round(state.live_seconds, 3),
            frames_decoded=state.frames_decoded,
            frames_sampled=state.frames_sampled,
        )
