"""The scan pipeline for recordings: source -> frames -> faces -> tracks -> matches -> signals -> verdicts.

`scan_source` runs one source top to bottom; `scan_inputs` runs a batch and never lets one bad input stop
the others. `SourcePipeline` is the part from faces on, shared with the live watcher.

A scan detects faces in one thread while it embeds and measures in another (`detected_frames`), so its
engine is best built with `threads=staging.threads_per_stage()`, as the CLI does; an engine on every core
works too, at some 6% more time on two cores (the threads of the two stages contend).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from impersonation_cli.config import Config
from impersonation_cli.gallery.store import Authorization, GalleryIndex
from impersonation_cli.io.sources import (
    SOURCE_ERRORS,
    DecodeStats,
    SourceInfo,
    expand_inputs,
    failure_reason,
    is_stream_url,
    probe,
    sample_frames,
)
from impersonation_cli.io.threads import run_ahead
from impersonation_cli.outputs.evidence import save_evidence
from impersonation_cli.pipeline.faces import Faces, Frame
from impersonation_cli.pipeline.matches import TrackMatch, match_track
from impersonation_cli.pipeline.signals import SignalSuite
from impersonation_cli.pipeline.signals.detector import forgery_model
from impersonation_cli.pipeline.signals.replay import FootageIndex
from impersonation_cli.pipeline.tracks import Observation, Track, Tracker
from impersonation_cli.pipeline.verdicts import judge_appearance, judge_source
from impersonation_cli.results import Appearance, RunInfo, ScanResult, SourceResult
from impersonation_cli.runtime.engine import AdaptiveDetector, EmbeddingReuse, FaceEngine


@dataclass(frozen=True)
class ScanProgress:
    """Where a batch scan is: at the start of each source and after each of its sampled frames."""

    source: str
    file_number: int  # 1-based: file_number of file_count
    file_count: int
    time_s: float  # stream time reached in this source
    duration_s: float | None  # this source's duration, when its container knows it
    video_done_s: float  # seconds of video scanned in the whole batch so far, this source's included


ProgressCallback = Callable[[ScanProgress], None]


@dataclass(frozen=True)
class RoomAssignment:
    """Which live room a source was captured from, and when it started (for wall-clock evidence times)."""

    room: str | None = None
    started_at: datetime | None = None


def assignment_for(source: str, rooms: Mapping[str, RoomAssignment]) -> RoomAssignment | None:
    """A source's room: its own entry, else that of the nearest folder holding it (a folder scanned with --room
    gives its room to every file found inside it)."""
    if source in rooms:
        return rooms[source]
    if is_stream_url(source):
        return None
    folders = {Path(item): assignment for item, assignment in rooms.items() if not is_stream_url(item)}
    return next((folders[folder] for folder in Path(source).parents if folder in folders), None)


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


def _wallclock(assignment: RoomAssignment, observation: Observation) -> str | None:
    # A live frame carries its own arrival time; a recording's is its start time plus stream time.
    if observation.wallclock is not None:
        stamp = observation.wallclock
    elif assignment.started_at is not None:
        stamp = assignment.started_at.timestamp() + observation.time_s
    else:
        return None
    return datetime.fromtimestamp(stamp, tz=UTC).isoformat()


class SourcePipeline:
    """One source's state from faces on: tracks -> matches -> signals -> appearances.

    Shared by `scan` (files) and `watch` (live rooms): the caller decodes frames and runs the face
    engine (so a watcher can batch recognition across rooms), then hands each frame's faces here.
    """

    def __init__(self, source: str, number: int, context: ScanContext, assignment: RoomAssignment | None = None):
        self.source = source
        self.number = number
        self.context = context
        self.config = context.config
        self.assignment = assignment or RoomAssignment()
        self.tracker = Tracker(source, self.config.tracker)
        self.signals = SignalSuite(context.engine, self.config, context.footage)
        self.matches: list[TrackMatch] = []
        self.faces_detected = 0

    def add(self, frame: Frame, faces: Faces) -> list[TrackMatch]:
        """Take one frame's faces (with embeddings); return the matches of tracks that just ended."""
        faces, ended = self.tracker.update(frame, faces)
        self.signals.observe(frame, faces, self.tracker)
        self.signals.tracks_ended(ended)
        self.faces_detected += len(faces)
        closed = self._matched(ended)
        self.matches += closed
        return closed

    def finish(self) -> None:
        ended = self.tracker.flush()
        self.signals.tracks_ended(ended)
        self.matches += self._matched(ended)

    def _matched(self, tracks: list[Track]) -> list[TrackMatch]:
        found = (match_track(t, self.context.index, self.config.match) for t in tracks)
        return [m for m in found if m is not None]

    def appearances(self, min_frames: int) -> list[Appearance]:
        return [
            self._appearance(group, n)
            for n, group in enumerate(group_matches(self.matches, min_frames, self.config.scan.merge_gap_s), start=1)
        ]

    def _appearance(self, group: list[TrackMatch], number: int) -> Appearance:
        observations = sorted((o for m in group for o in m.track.observations), key=lambda o: o.time_s)
        per_frame = np.concatenate([m.per_frame for m in group])
        best_track = max(group, key=lambda m: m.best_similarity).track
        second = max(group, key=lambda m: m.second_similarity)
        identity = group[0].identity
        appearance_id = f"s{self.number}-a{number}"
        appearance = Appearance(
            appearance_id=appearance_id,
            identity=identity,
            source=self.source,
            start_s=round(observations[0].time_s, 3),
            end_s=round(observations[-1].time_s, 3),
            frames=len(observations),
            best_similarity=round(float(per_frame.max()), 4),
            median_similarity=round(float(np.median(per_frame)), 4),
            second_identity=second.second_identity,
            second_similarity=round(second.second_similarity, 4),
            room=self.assignment.room,
            start_wallclock=_wallclock(self.assignment, observations[0]),
            end_wallclock=_wallclock(self.assignment, observations[-1]),
            track_ids=sorted(m.track.track_id for m in group),
        )
        if self.context.evidence_dir is not None and best_track.best_crop is not None:
            appearance.evidence = save_evidence(
                self.context.evidence_dir,
                self.source,
                appearance_id,
                identity,
                best_track.best_crop,
                best_track.best_crop_time_s,
                best_track.best_crop_box,
            )
        appearance.signals = self.signals.score_appearance(
            [m.track for m in group], identity, appearance.start_s, appearance.end_s
        )
        judge_appearance(appearance, self.context.authorizations, self.config)
        return appearance


def group_matches(matches: list[TrackMatch], min_frames: int, merge_gap_s: float) -> list[list[TrackMatch]]:
    """One appearance per identity per stretch of time: tracks closer than merge_gap_s join up."""
    groups: list[list[TrackMatch]] = []
    for match in sorted(matches, key=lambda m: (m.identity.casefold(), m.track.start_s)):
        last = groups[-1] if groups else None
        if (
            last
            and last[-1].identity == match.identity
            and match.track.start_s - max(m.track.end_s for m in last) <= merge_gap_s
        ):
            last.append(match)
        else:
            groups.append([match])
    kept = [g for g in groups if sum(len(m.track.observations) for m in g) >= min_frames]
    return sorted(kept, key=lambda g: (g[0].track.start_s, g[0].identity.casefold()))


def detected_frames(source: str, context: ScanContext, stats: DecodeStats) -> Iterator[tuple[Frame, Faces]]:
    """The source's sampled frames with their faces detected, each stage a frame or two ahead of the next in
    its own thread: decoding, then detection, while the caller embeds, tracks and measures. Measured on
    FF++ 634.mp4 (720p, two idle cores, one-thread stages): 14.3x -> 15.2x real time against detecting in the
    caller's thread."""
    frames = run_ahead(sample_frames(source, context.fps or context.config.scan.fps, stats), name="decode")
    detector = AdaptiveDetector(context.engine)
    return run_ahead(((f, detector.detect(f.image, f.time_s)) for f in frames), name="detect")


def unscanned(source: str, status: str, error: str, assignment: RoomAssignment | None = None) -> SourceResult:
    """The result of a source that yielded nothing: unreadable, or never reached (interrupted)."""
    return SourceResult(
        source=source, kind="unknown", status=status, error=error, room=(assignment or RoomAssignment()).room
    )


def scan_source(
    source: str,
    number: int,
    context: ScanContext,
    assignment: RoomAssignment | None = None,
    on_frame: Callable[[float, float | None], None] | None = None,
) -> tuple[SourceResult, list[Appearance]]:
    """Scan one file or image top to bottom; `on_frame(time_s, duration_s)` after each sampled frame.

    A source that cannot be read is a result with status "unreadable" (or "truncated" from the point where
    it failed), never an exception."""
    assignment = assignment or RoomAssignment()
    try:
        info = probe(source)
    except SOURCE_ERRORS as exc:
        return unscanned(source, "unreadable", failure_reason(source, exc), assignment), []
    stats = DecodeStats()
    pipeline = SourcePipeline(source, number, context, assignment)
    pipeline.signals.still_image = info.kind == "image"  # its faces are one frame each: judged as such
    error = None
    try:
        recognizer = EmbeddingReuse(context.engine, context.config.recognition)
        for frame, faces in detected_frames(source, context, stats):
            pipeline.add(frame, recognizer.embed(frame.image, faces, frame.time_s))
            if on_frame:
                on_frame(frame.time_s, info.duration_s)
    except SOURCE_ERRORS as exc:
        error = failure_reason(source, exc)
    pipeline.finish()
    status = source_status(error, stats)
    if stats.truncated and not error:
        error = f"{source}: decoding stopped at {stats.last_time_s:.1f} s of {info.duration_s or 0:.1f} s"
    result = SourceResult(
        source=source,
        kind=info.kind,
        status=status,
        error=error,
        room=assignment.room,
        width=info.width,
        height=info.height,
        fps=round(info.fps, 3) if info.fps else None,
        duration_s=round(info.duration_s, 3) if info.duration_s else None,
        scanned_s=round(stats.last_time_s, 3),
        frames_decoded=stats.frames_decoded,
        frames_sampled=stats.frames_sampled,
        faces_detected=pipeline.faces_detected,
        tracks=pipeline.tracker.tracks_started,
    )
    # A source with fewer sampled frames than the minimum (an image, a one-frame video) still yields its faces.
    min_frames = max(1, min(context.config.scan.min_appearance_frames, stats.frames_sampled))
    appearances = pipeline.appearances(min_frames)
    judge_source(result, appearances, pipeline.signals.source_signals(), context.config)
    return result, appearances


def source_status(error: str | None, stats: DecodeStats) -> str:
    """Unreadable when it failed before a frame was decoded, truncated when it failed (or ended early) after."""
    if error and not stats.frames_decoded:
        return "unreadable"
    return "truncated" if stats.truncated or error else "ok"


def _scan_in_batch(
    source: str, number: int, count: int, context: ScanContext, assignment: RoomAssignment | None, done_s: float
) -> tuple[SourceResult, list[Appearance]]:
    """One source of a batch, with the batch's progress; whatever goes wrong in it stays in its result."""

    def on_frame(time_s: float, duration_s: float | None) -> None:
        if context.progress:
            context.progress(ScanProgress(source, number, count, time_s, duration_s, done_s + time_s))

    on_frame(0.0, None)
    try:
        result, found = scan_source(source, number, context, assignment, on_frame)
    except Exception as exc:  # a fault met in one source must not cost the batch the others' results
        reason = f"{failure_reason(source, exc)} (an internal error: please report it)"
        return unscanned(source, "unreadable", reason, assignment), []
    on_frame(result.scanned_s, result.duration_s)  # the source's end: all it decoded counts as done
    return result, found


def scan_inputs(inputs: list[str], context: ScanContext, rooms: dict[str, RoomAssignment] | None = None) -> ScanResult:
    """Scan files, folders and images; every input gets a SourceResult, readable or not.

    Ctrl-C (KeyboardInterrupt) ends the batch early without losing it: the result holds the sources finished so
    far, lists the others with status "interrupted", and has status "interrupted".
    """
    started = datetime.now(UTC)
    clock = time.perf_counter()
    sources, problems = expand_inputs(inputs)
    results = [unscanned(p.source, "unreadable", f"{p.source}: {p.message}") for p in problems]
    appearances: list[Appearance] = []
    status, video_done_s = "complete", 0.0
    for number, source in enumerate(sources, start=1):
        try:
            result, found = _scan_in_batch(
                source, number, len(sources), context, assignment_for(source, rooms or {}), video_done_s
            )
        except KeyboardInterrupt:
            status = "interrupted"
            for left in sources[number - 1 :]:
                reason = f"{left}: not scanned (the scan was interrupted)"
                results.append(unscanned(left, "interrupted", reason, assignment_for(left, rooms or {})))
            break
        results.append(result)
        appearances.extend(found)
        video_done_s += result.scanned_s if result.kind == "video" else 0.0
    from impersonation_cli.pipeline.verdicts import judge_concurrency

    judge_concurrency(appearances, context.config)
    elapsed = time.perf_counter() - clock
    video_seconds = sum(r.scanned_s for r in results if r.kind == "video")
    settings = {
        "fps": context.fps or context.config.scan.fps,
        "pack": context.engine.pack.name,
        "detector": context.engine.detector_id,
        "recognizer": context.engine.recognizer_id,
        "forgery": forgery_model(context.engine).model_id,
        "provider": context.engine.provider,
        "config": context.config.as_dict(),
        "config_path": context.config.path,
        "gallery_identities": len(context.index.names),
    }
    run = RunInfo(
        started_at=started.replace(microsecond=0).isoformat(),
        elapsed_s=round(elapsed, 3),
        video_seconds=round(video_seconds, 3),
        realtime_factor=round(video_seconds / elapsed, 2) if elapsed > 0 and video_seconds else None,
    )
    return ScanResult(settings=settings, sources=results, appearances=appearances, run=run, status=status)


__all__ = [
    "ProgressCallback",
    "RoomAssignment",
    "ScanContext",
    "ScanProgress",
    "SourceInfo",
    "SourcePipeline",
    "assignment_for",
    "scan_inputs",
    "scan_source",
]
