"""The scan pipeline for recordings: source -> frames -> faces -> tracks -> matches -> signals -> verdicts.

`Scanner.scan_source` runs one source top to bottom; `scan_inputs` runs a batch and never lets one bad
input stop the others.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from .config import Config
from .errors import UnreadableInput
from .evidence import save_evidence
from .faces import FaceEngine
from .gallery import Authorization, GalleryIndex
from .matches import TrackMatch, match_track
from .results import Appearance, RunInfo, ScanResult, SourceResult
from .signals import SignalSuite
from .sources import DecodeStats, SourceInfo, expand_inputs, probe, sample_frames
from .tracks import Track, Tracker
from .verdicts import judge_appearance, judge_source

ProgressCallback = Callable[[str, float, float | None], None]


@dataclass(frozen=True)
class RoomAssignment:
    """Which live room a source was captured from, and when it started (for wall-clock evidence times)."""

    room: str | None = None
    started_at: datetime | None = None


@dataclass
class ScanContext:
    engine: FaceEngine
    index: GalleryIndex
    config: Config
    authorizations: list[Authorization] = field(default_factory=list)
    evidence_dir: Path | None = None
    fps: float | None = None
    progress: ProgressCallback | None = None


def _wallclock(assignment: RoomAssignment, time_s: float) -> str | None:
    if assignment.started_at is None:
        return None
    return datetime.fromtimestamp(assignment.started_at.timestamp() + time_s, tz=UTC).isoformat()


class Scanner:
    def __init__(self, context: ScanContext) -> None:
        self.context = context
        self.config = context.config

    def scan_source(
        self, source: str, source_number: int, assignment: RoomAssignment | None = None
    ) -> tuple[SourceResult, list[Appearance]]:
        assignment = assignment or RoomAssignment()
        try:
            info = probe(source)
        except UnreadableInput as exc:
            return SourceResult(
                source=source, kind="unknown", status="unreadable", error=str(exc), room=assignment.room
            ), []
        stats = DecodeStats()
        tracker = Tracker(source, self.config.tracker)
        signals = SignalSuite(self.context.engine, self.config)
        matches: list[TrackMatch] = []
        faces_detected = tracks_seen = 0
        fps = self.context.fps or self.config.scan.fps
        error = None
        try:
            for frame in sample_frames(source, fps, stats):
                faces = self.context.engine.detect(frame.image)
                faces = self.context.engine.embed(frame.image, faces)
                faces, ended = tracker.update(frame, faces)
                signals.observe(frame, faces, tracker)
                faces_detected += len(faces)
                matches += self._matched(ended)
                if self.context.progress:
                    self.context.progress(source, frame.time_s, info.duration_s)
        except UnreadableInput as exc:
            error = str(exc)
        ended = tracker.flush()
        matches += self._matched(ended)
        tracks_seen = tracker.tracks_started
        status = "unreadable" if error and not stats.frames_decoded else ("truncated" if stats.truncated else "ok")
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
            frames_decoded=stats.frames_decoded,
            frames_sampled=stats.frames_sampled,
            faces_detected=faces_detected,
            tracks=tracks_seen,
        )
        min_frames = 1 if info.kind == "image" else self.config.scan.min_appearance_frames
        appearances = [
            self._appearance(group, source_number, n, assignment, signals)
            for n, group in enumerate(self._group(matches, min_frames), start=1)
        ]
        judge_source(result, appearances, signals.source_signals(), self.config)
        return result, appearances

    def _matched(self, tracks: list[Track]) -> list[TrackMatch]:
        found = (match_track(t, self.context.index, self.config.match) for t in tracks)
        return [m for m in found if m is not None]

    def _group(self, matches: list[TrackMatch], min_frames: int) -> list[list[TrackMatch]]:
        """One appearance per identity per stretch of time: tracks closer than merge_gap_s join up."""
        groups: list[list[TrackMatch]] = []
        for match in sorted(matches, key=lambda m: (m.identity.casefold(), m.track.start_s)):
            last = groups[-1] if groups else None
            if (
                last
                and last[-1].identity == match.identity
                and match.track.start_s - max(m.track.end_s for m in last) <= self.config.scan.merge_gap_s
            ):
                last.append(match)
            else:
                groups.append([match])
        kept = [g for g in groups if sum(len(m.track.observations) for m in g) >= min_frames]
        return sorted(kept, key=lambda g: (g[0].track.start_s, g[0].identity.casefold()))

    def _appearance(
        self, group: list[TrackMatch], source_number: int, number: int, assignment: RoomAssignment, signals: SignalSuite
    ) -> Appearance:
        observations = sorted((o for m in group for o in m.track.observations), key=lambda o: o.time_s)
        per_frame = np.concatenate([m.per_frame for m in group])
        best_track = max(group, key=lambda m: m.best_similarity).track
        second = max(group, key=lambda m: m.second_similarity)
        identity = group[0].identity
        appearance_id = f"s{source_number}-a{number}"
        appearance = Appearance(
            appearance_id=appearance_id,
            identity=identity,
            source=group[0].track.source,
            start_s=round(observations[0].time_s, 3),
            end_s=round(observations[-1].time_s, 3),
            frames=len(observations),
            best_similarity=round(float(per_frame.max()), 4),
            median_similarity=round(float(np.median(per_frame)), 4),
            second_identity=second.second_identity,
            second_similarity=round(second.second_similarity, 4),
            room=assignment.room,
            start_wallclock=_wallclock(assignment, observations[0].time_s),
            end_wallclock=_wallclock(assignment, observations[-1].time_s),
            track_ids=sorted(m.track.track_id for m in group),
        )
        if self.context.evidence_dir is not None and best_track.best_crop is not None:
            appearance.evidence = save_evidence(
                self.context.evidence_dir,
                appearance.source,
                appearance_id,
                identity,
                best_track.best_crop,
                best_track.best_crop_time_s,
                best_track.best_crop_box,
            )
        appearance.signals = signals.score_appearance([m.track for m in group], observations)
        judge_appearance(appearance, self.context.authorizations, self.config)
        return appearance


def scan_inputs(inputs: list[str], context: ScanContext, rooms: dict[str, RoomAssignment] | None = None) -> ScanResult:
    """Scan files, folders and images; every input gets a SourceResult, readable or not."""
    started = datetime.now(UTC)
    clock = time.perf_counter()
    sources, problems = expand_inputs(inputs)
    scanner = Scanner(context)
    results = [
        SourceResult(source=p.source, kind="unknown", status="unreadable", error=f"{p.source}: {p.message}")
        for p in problems
    ]
    appearances: list[Appearance] = []
    for number, source in enumerate(sources, start=1):
        result, found = scanner.scan_source(source, number, (rooms or {}).get(source))
        results.append(result)
        appearances.extend(found)
    from .verdicts import judge_concurrency

    judge_concurrency(appearances, context.config)
    elapsed = time.perf_counter() - clock
    video_seconds = sum(r.duration_s or 0.0 for r in results if r.kind == "video")
    settings = {
        "fps": context.fps or context.config.scan.fps,
        "pack": context.engine.pack.name,
        "recognizer": context.engine.recognizer_id,
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
    return ScanResult(settings=settings, sources=results, appearances=appearances, run=run)


__all__ = ["RoomAssignment", "ScanContext", "Scanner", "SourceInfo", "scan_inputs"]
