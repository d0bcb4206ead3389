"""Long files in time slices: each slice scanned on its own (by a Ray actor: distributed/ray_scan.py), then joined
into the result the whole file gives.

A slice [t0, t1) starts on the sampling grid and is decoded from the key frame before t0, so it takes the very
frames a whole-file pass takes there (`io.sources.TimeWindow`). It runs the pipeline up to the tracks and keeps
them whole (`SourcePipeline(slice_start_s=...)`). The join numbers the tracks as one tracker over the whole file
would, continues a track across a boundary where that tracker would have (a slice's new tracks against the tracks
still open at its start, by the tracker's own rule, `link_affinity`), and then scores, matches and judges the
joined tracks with the local code (`SourcePipeline.adopt`, `conclude`). What can still differ from a whole-file
scan: docs/scale.md, "Slices of long files".
"""

from __future__ import annotations

import bisect
import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass
from itertools import groupby
from pathlib import Path

import numpy as np

from impersonation_cli.io.rooms import Room
from impersonation_cli.io.sources import (
    SOURCE_ERRORS,
    DecodeStats,
    SourceInfo,
    TimeWindow,
    is_image,
    is_stream_url,
    picture_extent,
    timeline_breaks,
)
from impersonation_cli.pipeline.faces import greedy_pairs
from impersonation_cli.pipeline.scan import ScanContext, SourcePipeline, feed_frames, min_frames, source_facts
from impersonation_cli.pipeline.signals.detector import keep_scheduled
from impersonation_cli.pipeline.signals.replay import ReplayDetector
from impersonation_cli.pipeline.tracks import Observation, Track, TrackerSettings, link_affinity
from impersonation_cli.results import Appearance, SourceResult


@dataclass
class SliceScan:
    """One slice of a file, scanned: its tracks whole (numbered within the slice) with the faces the signals
    measured on them, what the replay detector saw, the times of its samples, and how decoding went."""

    window: TimeWindow
    tracks: list[Track]
    measured: dict[int, list[Observation]]
    replay: ReplayDetector
    sample_times: list[float]
    faces_detected: int
    stats: DecodeStats
    error: str | None
    stopped: bool = False  # ended before its window's end by a stop (Ctrl-C on the driver): scanned in part


@dataclass(frozen=True)
class LostSlice:
    """A slice nobody could scan (its worker died on every try), and why."""

    window: TimeWindow
    reason: str


def plan_slices(duration_s: float | None, slice_s: float, fps: float, lead_s: float = 0.0) -> list[TimeWindow]:
    """Windows of at most about `slice_s` seconds covering the file's picture (from `lead_s`, where it begins, to
    `duration_s`), their edges on the sampling grid (`lead_s` and multiples of 1 / fps after it); the first from
    the file's start, the last to its end. One window (the whole file) when the picture is not longer than
    `slice_s`, its duration is unknown, or `slice_s` is 0. Planned from the file's start, the first slices of a
    file whose sound began 700 s before its picture held no frame, and the file was called damaged (exit 3)."""
    span_s = duration_s - lead_s if duration_s else None
    if not span_s or slice_s <= 0 or fps <= 0 or span_s <= slice_s:
        return [TimeWindow(0.0)]
    count = math.ceil(span_s / slice_s)
    interval = 1.0 / fps
    # On the grid of the picture's first frame, which its samples keep to (`io.sources.sample_frames`). A slice
    # shorter than a sample interval (a tiny --slice at a low --fps) is no slice.
    edges = {lead_s + round(k * span_s / count / interval) * interval for k in range(1, count)}
    starts = [0.0, *sorted(edge for edge in edges if edge > lead_s)]
    return [TimeWindow(start, end) for start, end in zip(starts, [*starts[1:], None], strict=True)]


def slices_of(source: str, slice_s: float, fps: float) -> list[TimeWindow]:
    """The slices to scan a source in (`plan_slices`), by where its picture begins and ends
    (`io.sources.picture_extent`, from the header or the last packets); one window, the whole source, for a
    stream, an image or a file PyAV cannot open; and for a file whose timestamps restart mid-file (`cat`-joined
    MPEG-TS), where a time names two places and no seek can tell which (its slices missed 11 of 59 samples), or
    leave a gap of over 10 s (a slice inside it found no frame: 'no decodable video frames')."""
    if slice_s <= 0 or is_stream_url(source) or is_image(Path(source)):
        return [TimeWindow(0.0)]
    try:
        extent = None if timeline_breaks(source) else picture_extent(source)
    except SOURCE_ERRORS:
        extent = None
    return plan_slices(extent[1], slice_s, fps, extent[0]) if extent else [TimeWindow(0.0)]


def scan_slice(
    source: str, context: ScanContext, window: TimeWindow, on_frame: Callable[[float], None] | None = None
) -> SliceScan:
    """Scan one slice of a video file up to its tracks; a slice that cannot be read carries why in `error`.
    `on_frame(time_s)` is called after each sampled frame; a KeyboardInterrupt, from it or a Ctrl-C, ends the
    slice there, `stopped`, with what it found up to that frame (as `scan_source` keeps a file's first part)."""
    stats = DecodeStats()
    pipeline = SourcePipeline(source, 0, context, slice_start_s=window.start_s)
    times: list[float] = []

    def sampled(time_s: float) -> None:
        times.append(time_s)
        if on_frame is not None:
            on_frame(time_s)

    try:
        error, stopped = feed_frames(pipeline, context, stats, window, sampled), False
    except KeyboardInterrupt:
        error, stopped = None, True
    pipeline.finish()
    tracks, measured, replay = pipeline.kept()
    replay.index = None  # the footage library stays where it is: the join has its own
    return SliceScan(window, tracks, measured, replay, times, pipeline.faces_detected, stats, error, stopped)


def join_slices(
    info: SourceInfo,
    number: int,
    context: ScanContext,
    room: Room | None,
    parts: list[SliceScan | LostSlice],
    interrupted: bool = False,
) -> tuple[SourceResult, list[Appearance]]:
    """The result and appearances of a file scanned in slices (`parts`, in time order), as `scan_source` gives
    them for the whole file: the appearances numbered s{number}-a1..., evidence saved under the context's folder.

    A slice that failed (or was lost) leaves a gap no track crosses; the file is "truncated" with that slice's
    reason, or "unreadable" if no slice decoded a frame. `interrupted` (or a slice `stopped` part-way): the lost
    slices are those Ctrl-C left unscanned; the file is "interrupted", with what the scanned ones showed, as a
    local scan keeps the part of a file it read before Ctrl-C."""
    scanned = [part for part in parts if isinstance(part, SliceScan)]
    tracks, measured = join_tracks(parts, context.config.tracker, context.track_gap_s)
    for faces in measured.values():
        keep_scheduled(faces, context.config.signals)
    times = [time_s for part in scanned for time_s in part.sample_times]
    pipeline = SourcePipeline(info.source, number, context, room)
    closed = closing_order(tracks, times, context.track_gap_s)
    pipeline.adopt(closed, measured, [part.replay for part in scanned])
    pipeline.faces_detected = sum(part.faces_detected for part in scanned)
    stats, error = _joined_stats(info.source, parts)
    facts = source_facts(info, stats, error)
    partly = sum(part.stopped for part in scanned)
    if interrupted or partly:
        more = f" and {partly} more in part" if partly else ""
        whole = f"{len(scanned) - partly} of {len(parts)} slices scanned{more}"
        kept = f"{whole}; what they showed is kept"
        facts = dataclasses.replace(facts, status="interrupted", error=f"{info.source}: interrupted (Ctrl-C), {kept}")
    return pipeline.conclude(facts, min_frames(context, stats))


def join_tracks(
    parts: list[SliceScan | LostSlice], settings: TrackerSettings, gap_s: float
) -> tuple[list[Track], dict[int, list[Observation]]]:
    """The slices' tracks numbered in the order one tracker over the whole file starts them, each continued
    across a boundary where that tracker would have continued it; and the measured faces of each."""
    tracks: list[Track] = []
    measured: dict[int, list[Observation]] = {}
    for previous, part in zip([None, *parts], parts, strict=False):  # each part and the one before it
        if isinstance(part, LostSlice):
            continue
        # No track crosses a slice that was not scanned.
        earlier = tracks if isinstance(previous, SliceScan) else []
        links = continued_tracks(earlier, part.tracks, settings, gap_s)
        for track in sorted(part.tracks, key=lambda t: t.track_id):
            faces = part.measured[track.track_id]
            joined = links.get(track.track_id)
            if joined is not None:
                joined.extend(track)
                measured[joined.track_id] += faces
            else:
                track.track_id = len(tracks) + 1
                tracks.append(track)
                measured[track.track_id] = faces
    return tracks, measured


def continued_tracks(
    earlier: list[Track], later: list[Track], settings: TrackerSettings, gap_s: float
) -> dict[int, Track]:
    """Which of a slice's tracks (by their id in the slice) continue an earlier slice's track: the tracks that
    start while an earlier one is still open (last seen at most `gap_s` before), their first faces linked to
    the open tracks' last faces by the tracker's rule, frame by frame, best pairs first."""
    links: dict[int, Track] = {}
    taken: set[int] = set()
    starts = sorted(later, key=lambda t: (t.start_s, t.track_id))
    for time_s, group in groupby(starts, key=lambda t: t.start_s):
        starting = list(group)
        open_tracks = [t for t in earlier if t.track_id not in taken and 0 <= time_s - t.end_s <= gap_s]
        if not open_tracks:
            continue
        boxes = np.stack([t.observations[0].box for t in starting])
        embeddings = np.stack([t.observations[0].embedding for t in starting])
        for row, column in greedy_pairs(link_affinity(boxes, embeddings, open_tracks, settings)):
            links[starting[row].track_id] = open_tracks[column]
            taken.add(open_tracks[column].track_id)
    return links


def closing_order(tracks: list[Track], sample_times: list[float], gap_s: float) -> list[Track]:
    """The tracks in the order one tracker over the whole file closes them (which decides ties among the source's
    strongest signals): at the first sample more than `gap_s` after a track's last face, tracks closed by the
    same sample in the order they started, and the ones still open at the end last."""

    def closed_at(track: Track) -> float:
        at = bisect.bisect_left(sample_times, track.end_s)
        while at < len(sample_times) and not sample_times[at] - track.end_s > gap_s:
            at += 1
        return sample_times[at] if at < len(sample_times) else math.inf

    return sorted(tracks, key=lambda t: (closed_at(t), t.track_id))


def _joined_stats(source: str, parts: list[SliceScan | LostSlice]) -> tuple[DecodeStats, str | None]:
    """How decoding went over the whole file, and the first slice's reason it could not be read in full."""
    stats = DecodeStats()
    problems = []
    for part in parts:
        end = f"{part.window.end_s:.1f}" if part.window.end_s is not None else "the end"
        where = f"{part.window.start_s:.1f} s to {end}"
        if isinstance(part, LostSlice):
            problems.append(f"{source}: {where} not scanned: {part.reason}")
            continue
        if part.error is not None:
            problems.append(f"{part.error} (the slice from {where})")
        stats.frames_decoded += part.stats.frames_decoded
        stats.frames_sampled += part.stats.frames_sampled
        stats.truncated = stats.truncated or part.stats.truncated
        stats.shortfall = stats.shortfall or part.stats.shortfall  # the last slice's: it reads to the file's end
        stats.damaged += part.stats.damaged
        if part.stats.frames_decoded:
            stats.last_time_s = max(stats.last_time_s, part.stats.last_time_s)
    return stats, problems[0] if problems else None
