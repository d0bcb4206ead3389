"""The scan pipeline for recordings: source -> frames -> faces -> tracks -> matches -> signals -> verdicts.

`scan_source` runs one source top to bottom; `scan_inputs` runs a batch and never lets one bad input stop
the others. `SourcePipeline` is the part from faces on, shared with the live watcher.

A scan detects faces in one thread while it embeds and measures in another (`detected_frames`), so its
engine is best built with `threads=threads.threads_per_stage()`, as the CLI does: an engine on every core
works too, but the threads of the two stages contend (docs/benchmark.md).
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from impersonation_cli.config import Config
from impersonation_cli.gallery.store import Authorization, GalleryIndex
from impersonation_cli.io.rooms import Room
from impersonation_cli.io.sources import (
    SAMPLE_TOLERANCE_S,
    SOURCE_ERRORS,
    DecodeStats,
    SourceInfo,
    TimeWindow,
    expand_inputs,
    failure_reason,
    is_stream_url,
    probe,
    sample_frames,
    source_key,
)
from impersonation_cli.io.threads import run_ahead, sigint_deferred
from impersonation_cli.io.urls import redact_url
from impersonation_cli.outputs.evidence import NOT_SAVED, SavedView, save_view
from impersonation_cli.pipeline.faces import Faces, Frame
from impersonation_cli.pipeline.matches import TrackMatch, match_track
from impersonation_cli.pipeline.signals import SignalSuite
from impersonation_cli.pipeline.signals.detector import forgery_model
from impersonation_cli.pipeline.signals.replay import FootageIndex, ReplayDetector
from impersonation_cli.pipeline.tracks import Observation, Track, Tracker
from impersonation_cli.pipeline.verdicts import judge_appearance, judge_concurrency, judge_source
from impersonation_cli.results import (
    Appearance,
    RunInfo,
    ScanResult,
    SignalScore,
    SourceResult,
    Verdict,
    WallclockSpan,
    found_in,
)
from impersonation_cli.runtime.engine import AdaptiveDetector, EmbeddingReuse, FaceEngine


class ProgressCallbackError(Exception):
    """What the caller's progress callback raised, carried past the fault handling of the source being scanned,
    which took it for the source's own (an OSError: "truncated"; anything else: "unreadable ... an internal
    error") and went on to the next source; `scan_inputs` raises it again as it was."""

    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error


class SourceInterrupted(KeyboardInterrupt):
    """Ctrl-C during a source's scan, carrying what it found up to there (its result, status "interrupted",
    and its appearances): a long recording's first hour was lost to a Ctrl-C in its second. A Ctrl-C during
    the report of its end carries the whole source's result."""

    def __init__(self, result: SourceResult, appearances: list[Appearance]) -> None:
        super().__init__()
        self.result = result
        self.appearances = appearances


@dataclass(frozen=True)
class ScanProgress:
    """Where a batch scan is: at the start of each source and after each of its sampled frames."""

    source: str
    file_number: int  # 1-based: file_number of file_count
    file_count: int
    time_s: float  # stream time reached in this source
    duration_s: float | None  # this source's duration, when its container knows it
    video_done_s: float  # seconds of video scanned in the whole batch so far, this source's included

    def __post_init__(self) -> None:
        # Shown on the progress line: a stream URL without its password or tokens (io/urls.py).
        object.__setattr__(self, "source", redact_url(self.source))


ProgressCallback = Callable[[ScanProgress], None]


def room_for(source: str, rooms: Mapping[str, Room]) -> Room | None:
    """A source's room: its own entry, else that of the nearest folder holding it (a folder scanned with --room
    gives its room to every file found inside it)."""
    if source in rooms:
        return rooms[source]
    keyed = {source_key(item): room for item, room in rooms.items()}  # a file named './a.mp4' is a.mp4
    if (room := keyed.get(source_key(source))) is not None or is_stream_url(source):
        return room
    folders = {Path(key): room for key, room in keyed.items() if not is_stream_url(key)}
    return next((folders[folder] for folder in Path(source_key(source)).parents if folder in folders), None)


@dataclass
class ScanContext:
    engine: FaceEngine
    index: GalleryIndex
    config: Config
    authorizations: list[Authorization] = field(default_factory=list)
    evidence_dir: Path | None = None
    fps: float | None = None
    progress: ProgressCallback | None = None
    footage: FootageIndex | None = None
    # Tracks keep their best view's whole frame (`BestView.frame_jpeg`) though this scan saves no evidence: a Ray
    # slice's tracks, whose evidence the driver saves once it has joined them. With `evidence_dir` they always do.
    keep_frames: bool = False

    @property
    def tracks_keep_frames(self) -> bool:
        return self.keep_frames or self.evidence_dir is not None

    @property
    def sampling_fps(self) -> float:
        """Frames sampled per second: `fps` when given, else the config's `[scan] fps`."""
        return self.fps or self.config.scan.fps

    @property
    def track_gap_s(self) -> float:
        """How long a track may go unseen at this sampling rate (a file's samples keep that rate)."""
        return self.config.tracker.gap_s(1.0 / self.sampling_fps)


def _wallclock(room: Room | None, observation: Observation) -> str | None:
    # A live frame carries its own arrival time, written in UTC (a stream says nothing of its zone); a
    # recording's is its start time plus stream time, in the zone the start time was given in: the room's own
    # date is what an authorization's dates mean (gallery/grants.py).
    if observation.wallclock is not None:
        return datetime.fromtimestamp(observation.wallclock, tz=UTC).isoformat()
    if room is not None and room.started_at is not None:
        return (room.started_at + timedelta(seconds=observation.time_s)).isoformat()
    return None


def _on_screen(room: Room | None, tracks: list[Track]) -> list[WallclockSpan]:
    """The wall-clock stretches `tracks` were on screen: each track's first to last sample, those that overlap
    joined; none without a wall-clock time. An appearance joins tracks up to `[scan] merge_gap_s` apart, and
    `concurrent`, judged on its whole span, flagged a room that showed the person only while they were off
    screen in the other (both drafts said 'on screen ... at the same time')."""
    stretches: list[list[Observation]] = []
    for track in sorted(tracks, key=lambda t: t.observations[0].time_s):
        first, last = track.observations[0], track.observations[-1]
        if stretches and first.time_s <= stretches[-1][1].time_s:
            stretches[-1][1] = max(stretches[-1][1], last, key=lambda o: o.time_s)
        else:
            stretches.append([first, last])
    spans = []
    for first, last in stretches:
        start, end = _wallclock(room, first), _wallclock(room, last)
        if start is None or end is None:
            return []
        spans.append(WallclockSpan(start, end))
    return spans


# A long live track is matched and its signals judged again once it has grown by this share, and at least
# every this many frames (`rescore_due`).
RESCORE_SHARE = 0.1
RESCORE_MAX_FRAMES = 30


def rescore_due(frames: int, scored_at: int) -> bool:
    """Whether a live track with `frames` frames, last matched (or judged) on `scored_at` of them, is matched
    (or judged) again now. Both cost time in proportion to the frames (docs/watch.md), so a long track is
    redone once it has grown by a tenth, and at least every RESCORE_MAX_FRAMES frames (30 s at 1 fps); tracks
    under 20 frames are redone at every frame."""
    return frames - scored_at >= max(1, min(int(RESCORE_SHARE * scored_at), RESCORE_MAX_FRAMES))


@dataclass
class LiveTrack:
    """A live track's last match and signal scores, and how many of its frames each rested on."""

    matched_at: int = 0
    match: TrackMatch | None = None
    scored_at: int = 0
    scored_identity: str | None = None
    signals: dict[str, SignalScore] = field(default_factory=dict)


SignalsFor = Callable[[float, float], dict[str, SignalScore]]


class SourcePipeline:
    """One source's state from faces on: tracks -> matches -> signals -> appearances -> verdicts.

    Shared by `scan` (files) and `watch` (live rooms): the caller decodes frames and runs the face
    engine (so a watcher can batch recognition across rooms), then hands each frame's faces here. It is the
    one place an `Appearance` is built: the finished ones of a source (`conclude`), and for a watcher the
    tracks still on screen (`live_matches`, `live_appearance`).
    """

    def __init__(
        self,
        source: str,
        number: int,
        context: ScanContext,
        room: Room | None = None,
        still_image: bool = False,
        slice_start_s: float | None = None,
    ) -> None:
        """`slice_start_s`: this is a slice of a long file, from that time (pipeline/slices.py). It keeps its ended
        tracks whole in `kept_tracks` instead of matching them: they are matched and scored once joined with the
        other slices' (`adopt`)."""
        self.source = source
        self.number = number
        self.context = context
        self.config = context.config
        self.room = room
        self.account = room.account if room is not None else None
        self._tracker = Tracker(source, self.config.tracker, 1.0 / context.sampling_fps, context.tracks_keep_frames)
        self._signals = SignalSuite(
            context.engine,
            self.config.signals,
            self.config.replay,
            self.config.scan.min_appearance_frames,
            context.footage,
            sample_interval_s=None if still_image else 1.0 / context.sampling_fps,
        )
        self._signals.still_image = still_image  # its faces are one frame each: judged as such
        self._matches: list[TrackMatch] = []
        self._live: dict[int, LiveTrack] = {}  # per track on screen, for a watcher
        self.faces_detected = 0
        self.kept_tracks: list[Track] | None = [] if slice_start_s is not None else None
        if slice_start_s:
            # Its tracks that begin within a tracker gap of its start may continue a track of the slice before.
            self._signals.sampler.judge_all_until_s = slice_start_s + context.track_gap_s
        self._adopted_tracks = 0

    @property
    def tracks_started(self) -> int:
        return self._tracker.tracks_started + self._adopted_tracks

    def add(self, frame: Frame, faces: Faces) -> list[TrackMatch]:
        """Take one frame's faces (with embeddings); return the matches of tracks that just ended."""
        faces, ended = self._tracker.update(frame, faces)
        self._signals.observe(frame, faces, self._tracker)
        self.faces_detected += len(faces)
        active = {t.track_id for t in self._tracker.active}
        self._live = {k: v for k, v in self._live.items() if k in active}
        if self.kept_tracks is not None:
            self.kept_tracks += ended
            return []
        return self._close(ended)

    def _close(self, ended: list[Track]) -> list[TrackMatch]:
        """Score ended tracks, match them, and forget the unmatched ones' faces; return the matches."""
        self._signals.tracks_ended(ended)
        closed = self._matched(ended)
        self._signals.release([t for t in ended if all(m.track is not t for m in closed)])
        self._matches += closed
        return closed

    def end_tracks(self) -> list[TrackMatch]:
        """End every track on screen now (a live room gone silent); return their matches, as `add` does."""
        self._live = {}
        return self._close(self._tracker.flush())

    def finish(self) -> None:
        ended = self._tracker.flush()
        if self.kept_tracks is not None:
            self.kept_tracks += ended
            return
        self._signals.tracks_ended(ended)
        self._matches += self._matched(ended)

    def kept(self) -> tuple[list[Track], dict[int, list[Observation]], ReplayDetector]:
        """A slice's ended tracks (after `finish`), the faces measured on each, and what the replay detector saw."""
        tracks = self.kept_tracks or []
        return tracks, {t.track_id: self._signals.measured(t) for t in tracks}, self._signals.replay

    def adopt(
        self, tracks: list[Track], measured: Mapping[int, list[Observation]], replay: list[ReplayDetector]
    ) -> None:
        """Take the tracks of a file scanned in slices elsewhere, joined, numbered and in the order they closed
        (pipeline/slices.py), with their measured faces and the slices' replay detectors: as if they had ended
        here."""
        for track in tracks:
            self._signals.adopt(track, measured[track.track_id])
        self._close(tracks)
        self._signals.replay.join(replay)
        self._adopted_tracks += len(tracks)

    def _matched(self, tracks: list[Track]) -> list[TrackMatch]:
        found = (match_track(t, self.context.index, self.config.match) for t in tracks)
        return [m for m in found if m is not None]

    def conclude(
        self, facts: SourceResult, min_frames: int, min_track_frames: int = 1
    ) -> tuple[SourceResult, list[Appearance]]:
        """Close every track; return the source's result (the caller's `facts`: how it was read) and its
        appearances, judged (`appearances`' arguments)."""
        self.finish()
        appearances = self.appearances(min_frames, min_track_frames)
        # A source no frame was sampled from (a watched room that never sent one) is judged on nothing, as scan
        # writes an unreadable one: its loop read "no stretch of the stream repeats an earlier one".
        signals = self._signals.source_signals() if facts.frames_sampled else {}
        judgement = judge_source(appearances, signals, self.config.verdicts)
        result = dataclasses.replace(
            facts,
            room=self.account,
            faces_detected=self.faces_detected,
            tracks=self.tracks_started,
            signals=signals,
            verdicts=judgement.verdicts,
            risk=judgement.risk,
        )
        return result, appearances

    def appearances(self, min_frames: int, min_track_frames: int = 1) -> list[Appearance]:
        """The finished tracks' matches, one appearance per person per stretch of time, with evidence: of at least
        `min_frames` sampled frames, one of its tracks of at least `min_track_frames` (a watch's alerts need two)."""
        groups = group_matches(self._matches, min_frames, self.config.scan.merge_gap_s, min_track_frames)
        return [self._final_appearance(group, n) for n, group in enumerate(groups, start=1)]

    def _final_appearance(self, group: list[TrackMatch], number: int) -> Appearance:
        identity, tracks = group[0].identity, [m.track for m in group]
        appearance_id = f"s{self.number}-a{number}"
        best_track = max(group, key=lambda m: m.best_similarity).track
        view, folder = best_track.best_view, self.context.evidence_dir
        saved = NOT_SAVED
        if folder is not None and view is not None:
            saved = save_view(folder, self.source, appearance_id, identity, view)
        return self._appearance(
            group,
            appearance_id,
            lambda start_s, end_s: self._signals.score_appearance(tracks, identity, start_s, end_s),
            saved,
        )

    def _appearance(
        self, group: list[TrackMatch], appearance_id: str, signals_for: SignalsFor, saved: SavedView = NOT_SAVED
    ) -> Appearance:
        """Matches of one person as an appearance: its times, similarities, evidence, signals
        (`signals_for(start_s, end_s)`) and then the verdicts judged on them."""
        observations = sorted((o for m in group for o in m.track.observations), key=lambda o: o.time_s)
        per_frame = np.concatenate([m.per_frame for m in group])
        second = max(group, key=lambda m: m.second_similarity)
        start_s, end_s = round(observations[0].time_s, 3), round(observations[-1].time_s, 3)
        appearance = Appearance(
            appearance_id=appearance_id,
            identity=group[0].identity,
            source=self.source,
            start_s=start_s,
            end_s=end_s,
            frames=sampled_frames(group),
            best_similarity=round(float(per_frame.max()), 4),
            median_similarity=round(float(np.median(per_frame)), 4),
            second_identity=second.second_identity,
            # No runner-up (a gallery of one person): no similarity, not the -1 match_track compares with.
            second_similarity=None if second.second_identity is None else round(second.second_similarity, 4),
            room=self.account,
            start_wallclock=_wallclock(self.room, observations[0]),
            end_wallclock=_wallclock(self.room, observations[-1]),
            track_ids=sorted(m.track.track_id for m in group),
            evidence=saved[0],
            evidence_frame=saved[1],
            signals=signals_for(start_s, end_s),
            on_screen=_on_screen(self.room, [m.track for m in group]),
        )
        judgement = judge_appearance(appearance, self.context.authorizations, self.config.verdicts)
        appearance.verdicts, appearance.reasons, appearance.risk, appearance.partial_grant = (
            judgement.verdicts,
            judgement.reasons,
            judgement.risk,
            judgement.partial_grant,
        )
        return appearance

    # -- live findings, for a watcher --------------------------------------------------------------

    def recent_loop(self, since_s: float) -> SignalScore | None:
        """The stream's longest repeat of itself since `since_s` (`ReplayDetector.recent_loop`)."""
        return self._signals.replay.recent_loop(since_s)

    def live_matches(self, frame: Frame, min_frames: int) -> list[TrackMatch]:
        """The tracks on screen in `frame` with at least `min_frames` frames, matched on their frames so far: an
        alert cannot wait for a track's end. A long track is matched again only on `rescore_due`'s schedule."""
        matches = []
        for track in self._tracker.active:
            frames = len(track.observations)
            if track.observations[-1].frame_index != frame.index or frames < min_frames:
                continue
            live = self._live.setdefault(track.track_id, LiveTrack())
            if rescore_due(frames, live.matched_at):  # a new track (matched_at 0) is always due
                live.match = match_track(track, self.context.index, self.config.match)
                live.matched_at = frames
            if live.match is not None:
                matches.append(live.match)
        return matches

    def live_appearance(self, match: TrackMatch, final: bool) -> Appearance:
        """One track so far (`final`: it has ended) as a judged appearance. Its manipulation flags wait for as
        many frames as the temporal signals need (two frames are too few); a long track's signals are judged
        again on `rescore_due`'s schedule, an ended one's on all its frames."""
        track = match.track
        enough = len(track.observations) >= self._signals.settings.min_frames
        return self._appearance(
            [match],
            f"r{self.number}-t{track.track_id}",
            lambda start_s, end_s: self._live_signals(match, final, start_s, end_s) if enough else {},
        )

    def _live_signals(self, match: TrackMatch, final: bool, start_s: float, end_s: float) -> dict[str, SignalScore]:
        track, frames = match.track, len(match.track.observations)
        if final:
            return self._signals.score_appearance([track], match.identity, start_s, end_s)
        live = self._live.setdefault(track.track_id, LiveTrack())
        if live.scored_identity != match.identity or rescore_due(frames, live.scored_at):
            live.signals = self._signals.score_appearance([track], match.identity, start_s, end_s)
            live.scored_at, live.scored_identity = frames, match.identity
        return live.signals


def sampled_frames(group: list[TrackMatch]) -> int:
    """The sampled frames a group's tracks were seen in. Not their faces: two of the person's tracks in one frame
    (a swap app's panel showing the source photo beside the swapped face) counted it twice, an appearance of 16
    frames in a source sampled 8 times."""
    return len({o.time_s for m in group for o in m.track.observations})


def group_matches(
    matches: list[TrackMatch], min_frames: int, merge_gap_s: float, min_track_frames: int = 1
) -> list[list[TrackMatch]]:
    """One appearance per identity per stretch of time: tracks closer than merge_gap_s join up; kept with at least
    `min_frames` sampled frames and a track of at least `min_track_frames`."""
    groups: list[list[TrackMatch]] = []
    for match in sorted(matches, key=lambda m: (m.identity.casefold(), m.track.start_s)):
        last = groups[-1] if groups else None
        if (
            last
            and last[-1].identity == match.identity
            and match.track.start_s - max(m.track.end_s for m in last) <= merge_gap_s + SAMPLE_TOLERANCE_S
        ):
            last.append(match)
        else:
            groups.append([match])
    kept = [
        g
        for g in groups
        if sampled_frames(g) >= min_frames and max(len(m.track.observations) for m in g) >= min_track_frames
    ]
    return sorted(kept, key=lambda g: (g[0].track.start_s, g[0].identity.casefold()))


def detected_frames(
    source: str, context: ScanContext, stats: DecodeStats, window: TimeWindow | None = None
) -> Generator[tuple[Frame, Faces], None, None]:
    """The source's sampled frames (of `window` only, if given) with their faces detected, each stage a frame or
    two ahead of the next in its own thread: decoding, then detection, while the caller embeds, tracks and
    measures (the gain: docs/benchmark.md, "Stages in their own threads")."""
    frames = run_ahead(sample_frames(source, context.sampling_fps, stats, window), name="decode")
    detector = AdaptiveDetector(context.engine, 1.0 / context.sampling_fps)
    return run_ahead(((f, detector.detect(f.image, f.time_s)) for f in frames), name="detect")


def source_kind(source: str, read: bool) -> str:
    """A source's `kind` where no probe of it says more (docs/formats.md, `sources[]`): a stream URL is a
    "stream" whether or not it was ever read; a file nothing was read from is "unknown" (a video, a picture renamed,
    or no media at all), and one a watch read frames from (played as live) a "video". `scan` wrote an unreadable
    stream URL as "unknown" while `watch` wrote a room that never connected as "stream" and a never-read file as
    "video"."""
    return "stream" if is_stream_url(source) else "video" if read else "unknown"


def unscanned(source: str, status: str, error: str, room: Room | None = None) -> SourceResult:
    """The result of a source that yielded nothing: unreadable, or never reached (interrupted)."""
    return SourceResult(
        source=source,
        kind=source_kind(source, read=False),
        status=status,
        error=error,
        room=room.account if room is not None else None,
    )


def not_reached(source: str, room: Room | None = None) -> SourceResult:
    """The result of a source an interrupted scan never began."""
    return unscanned(source, "interrupted", f"{source}: not scanned (the scan was interrupted)", room)


def scan_source(
    source: str,
    number: int,
    context: ScanContext,
    room: Room | None = None,
    on_frame: Callable[[float, float | None], None] | None = None,
) -> tuple[SourceResult, list[Appearance]]:
    """Scan one file or image top to bottom; `on_frame(time_s, duration_s)` once it is opened (at 0 s, with its
    duration where its container knows it) and after each sampled frame.

    A source that cannot be read is a result with status "unreadable" (or "truncated" from the point where
    it failed), never an exception."""
    try:
        info = probe(source)
    except SOURCE_ERRORS as exc:
        return unscanned(source, "unreadable", failure_reason(source, exc), room), []
    if on_frame:
        on_frame(0.0, info.duration_s)
    stats = DecodeStats()
    pipeline = SourcePipeline(source, number, context, room, still_image=info.kind == "image")
    tick = (lambda time_s: on_frame(time_s, info.duration_s)) if on_frame else None
    try:
        error = feed_frames(pipeline, context, stats, None, tick)
    except KeyboardInterrupt:
        stopped = f"{source}: interrupted (Ctrl-C) {stats.last_time_s:.1f} s in; what it showed until then is kept"
        facts = dataclasses.replace(source_facts(info, stats, None), status="interrupted", error=stopped)
        raise SourceInterrupted(*pipeline.conclude(facts, min_frames(context, stats))) from None
    return pipeline.conclude(source_facts(info, stats, error), min_frames(context, stats))


def min_frames(context: ScanContext, stats: DecodeStats) -> int:
    """The sampled frames an appearance needs: a source with fewer than the minimum (an image, a one-frame video)
    still yields its faces."""
    return max(1, min(context.config.scan.min_appearance_frames, stats.frames_sampled))


def feed_frames(
    pipeline: SourcePipeline,
    context: ScanContext,
    stats: DecodeStats,
    window: TimeWindow | None,
    on_frame: Callable[[float], None] | None = None,
) -> str | None:
    """Decode, detect and embed the source's sampled frames (of `window` only, if given) into `pipeline`, with
    `on_frame(time_s)` after each; returns why reading stopped early, or None. On KeyboardInterrupt `stats`
    counts the frames added, the last of them where the scan stopped."""
    source = pipeline.source
    searched, searched_to_s = 0, 0.0  # the frames added to the tracks, and the last one's time
    try:
        recognizer = EmbeddingReuse(context.engine, context.config.recognition)
        with contextlib.closing(detected_frames(source, context, stats, window)) as frames:
            for frame, faces in frames:
                embedded = recognizer.embed(frame.image, faces, frame.time_s)
                with sigint_deferred():  # a frame half-added to the tracks could not be concluded (SourceInterrupted)
                    pipeline.add(frame, embedded)
                    searched, searched_to_s = searched + 1, frame.time_s
                if on_frame:
                    on_frame(frame.time_s)
    except SOURCE_ERRORS as exc:
        return failure_reason(source, exc)
    except KeyboardInterrupt:
        # The stages run a few frames ahead: 3 s at 2 fps were counted as scanned that no face was looked for in.
        stats.frames_sampled, stats.last_time_s = searched, searched_to_s
        raise
    return None


def source_facts(info: SourceInfo, stats: DecodeStats, error: str | None) -> SourceResult:
    """How a source was read, for its result: its size and timing, what was decoded, and whether all of it was."""
    source = info.source
    status = source_status(error, stats)
    # A picture's size as scanned, upright (the frame its faces' boxes are in), not as its header stores it.
    width, height = stats.image_size or (info.width, info.height)
    # A file that ends short of its header's length is that long, read in part (`scanned_s` says how far).
    duration_s = stats.shortfall[1] if stats.shortfall else info.duration_s
    if stats.restarts:
        # Its header measures from its first timestamp to its last, which restarted on the way (FFmpeg read one
        # join of 24 s as 25.7 hours: its wrap correction): its length is known where it was read to its end.
        duration_s = stats.last_time_s if status == "ok" else None
    if stats.shortfall and not error:
        there_s, declared_s = stats.shortfall
        error = (
            f"{source}: the file ends early: its video stops at {there_s:.1f} s of the {declared_s:.1f} s its header "
            "declares (a partial download, or a copy cut off)"
        )
    elif stats.truncated and not error:
        error = (
            stats.partly_read
            or f"{source}: decoding stopped at {stats.last_time_s:.1f} s of {info.duration_s or 0:.1f} s"
        )
    elif stats.damaged and not error:
        error = damaged_reason(source, stats.damaged)
    return SourceResult(
        source=source,
        kind=info.kind,
        status=status,
        error=error,
        width=width,
        height=height,
        # Under 0.0005 fps (a frame held for hours), three significant digits: rounded to 0.0, it read as no rate.
        fps=(round(info.fps, 3) or float(f"{info.fps:.3g}")) if info.fps else None,
        duration_s=round(duration_s, 3) if duration_s else None,
        scanned_s=round(stats.last_time_s, 3),
        frames_decoded=stats.frames_decoded,
        frames_sampled=stats.frames_sampled,
    )


def add_concurrency(
    sources: list[SourceResult],
    appearances: list[Appearance],
    config: Config,
    slack_s: float | None = None,
    live: bool = False,
) -> None:
    """A batch's last verdict, put into its appearances and their sources: one person on screen in two places at
    once (`verdicts.judge_concurrency`; `live`: the sources are a watch's rooms). A source carries its
    appearances' verdicts and highest risk (`verdicts.judge_source`), judged before the batch was whole:
    `concurrent` is added to it here."""
    by_source: dict[str, list[SourceResult]] = {}
    for source in sources:
        by_source.setdefault(source.source, []).append(source)
    for appearance, found in zip(
        appearances, judge_concurrency(appearances, config.verdicts, slack_s, live), strict=True
    ):
        if found is None:
            continue
        appearance.verdicts.append(Verdict.CONCURRENT)
        appearance.reasons.append(found.reason)
        appearance.risk = found.risk
        sharing = by_source.get(appearance.source, [])
        for source in (s for s in sharing if found_in(appearance, s, len(sharing) > 1)):
            source.verdicts = sorted({*source.verdicts, Verdict.CONCURRENT})
            source.risk = max(source.risk, appearance.risk)


def models_in_use(engine: FaceEngine) -> dict[str, str | None]:
    """What decides a scan's numbers on this machine: the face models (the int8 detector or the published one,
    whichever this CPU runs faster) and the forgery detector (shipped with the package, or
    `$IMPERSONATION_FORGERY_MODEL`'s), by name and hash, as the result's `settings` names them."""
    forgery = forgery_model(engine)
    return {
        "detector": engine.detector_id,
        "recognizer": engine.recognizer_id,
        "forgery": forgery.model_id or forgery.problem,
    }


def run_settings(context: ScanContext, fps: float) -> dict[str, Any]:
    """What a result document records of the run's settings: models, provider, config, gallery size. The
    config's `[scan] fps` is the rate sampled (`--fps` where given): it recorded the file's 1 where 4 was used."""
    engine = context.engine
    config = context.config.as_dict()
    config["scan"] = {**config["scan"], "fps": fps}
    return {
        "fps": fps,
        "pack": engine.pack.name,
        "detector": engine.detector_id,
        "recognizer": engine.recognizer_id,
        "forgery": forgery_model(engine).model_id,
        "provider": engine.provider,
        "config": config,
        "config_path": context.config.path,
        "gallery_identities": len(context.index.names),
    }


def source_status(error: str | None, stats: DecodeStats) -> str:
    """Unreadable when it failed before a frame was decoded, truncated when it failed (or ended early) after, or
    when damaged data inside it cost samples (read in part, though to its end)."""
    if error and not stats.frames_decoded:
        return "unreadable"
    return "truncated" if stats.truncated or stats.damaged or error else "ok"


def damaged_reason(source: str, stretches: list[tuple[float, float]]) -> str:
    """Why a file read to its end was read in part: where its damaged data left no frame to sample."""
    lost_s = sum(end - start for start, end in stretches)
    named = ", ".join(f"{start:.1f}-{end:.1f} s" for start, end in stretches[:3])
    more = f" and {len(stretches) - 3} more" if len(stretches) > 3 else ""
    return f"{source}: damaged data left {lost_s:.1f} s unsampled ({named}{more}); the rest was scanned"


def scan_batch_source(
    source: str, number: int, count: int, context: ScanContext, room: Room | None, done_s: float
) -> tuple[SourceResult, list[Appearance]]:
    """One source of a batch, with the batch's progress; whatever goes wrong in it stays in its result."""

    def on_frame(time_s: float, duration_s: float | None) -> None:
        if context.progress:
            try:
                context.progress(ScanProgress(source, number, count, time_s, duration_s, done_s + time_s))
            except Exception as exc:  # the caller's, not the source's
                raise ProgressCallbackError(exc) from exc

    try:  # its start is told once it is opened, with its duration (a source that cannot be opened: at its end)
        result, found = scan_source(source, number, context, room, on_frame)
    except ProgressCallbackError:
        raise
    except Exception as exc:  # a fault met in one source must not cost the batch the others' results
        reason = f"{failure_reason(source, exc)} (an internal error: please report it)"
        return unscanned(source, "unreadable", reason, room), []
    try:
        on_frame(result.scanned_s, result.duration_s)  # the source's end: all it decoded counts as done
    except KeyboardInterrupt:  # the source was finished: it is kept whole, not listed as never begun
        raise SourceInterrupted(result, found) from None
    return result, found


def scan_inputs(inputs: list[str], context: ScanContext, rooms: Mapping[str, Room] | None = None) -> ScanResult:
    """Scan files, folders and images; every input gets a SourceResult, readable or not.

    Ctrl-C (KeyboardInterrupt) ends the batch early without losing it: the result holds the sources finished so
    far and the one in progress up to where it stopped, lists the others with status "interrupted" (the one in
    progress too), and has status "interrupted". An exception the context's
    `progress` callback raises ends the batch and is raised from here as it was.
    """
    started = datetime.now(UTC)
    clock = time.perf_counter()
    sources, problems = expand_inputs(inputs, skip=[context.evidence_dir] if context.evidence_dir else [])
    # An input that is not there, or a folder with nothing to scan, keeps its room as an unreadable file does.
    results = [
        unscanned(p.source, "unreadable", f"{p.source}: {p.message}", room_for(p.source, rooms or {})) for p in problems
    ]
    appearances: list[Appearance] = []
    status, video_done_s = "complete", 0.0
    callback_error: Exception | None = None
    for number, source in enumerate(sources, start=1):
        try:
            result, found = scan_batch_source(
                source, number, len(sources), context, room_for(source, rooms or {}), video_done_s
            )
        except ProgressCallbackError as failed:
            callback_error = failed.error
            break
        except KeyboardInterrupt as stopped:
            status, unreached = "interrupted", sources[number - 1 :]
            if isinstance(stopped, SourceInterrupted):  # the source in progress keeps what it found so far
                results.append(stopped.result)
                appearances.extend(stopped.appearances)
                unreached = sources[number:]
            results += [not_reached(left, room_for(left, rooms or {})) for left in unreached]
            break
        results.append(result)
        appearances.extend(found)
        video_done_s += result.scanned_s if result.kind == "video" else 0.0
    if callback_error is not None:
        raise callback_error  # here, not in the except clause: not "during handling of" our wrapper
    add_concurrency(results, appearances, context.config)
    elapsed = time.perf_counter() - clock
    video_seconds = sum(r.scanned_s for r in results if r.kind == "video")
    settings = run_settings(context, context.sampling_fps)
    run = RunInfo.measured(started, elapsed, video_seconds, live=False)
    return ScanResult(settings=settings, sources=results, appearances=appearances, run=run, status=status)


__all__ = [
    "LiveTrack",
    "ProgressCallback",
    "ScanContext",
    "ScanProgress",
    "SourceInfo",
    "SourceInterrupted",
    "SourcePipeline",
    "add_concurrency",
    "rescore_due",
    "room_for",
    "run_settings",
    "scan_inputs",
    "scan_source",
]
