"""The `bench` command's measurements: our scan against the decoder's limit and a naive InsightFace loop.

Every path runs in a fresh Python process (`python -m impersonation_cli.tools.bench JOB`), so each peak RSS is
that path's own and model loading is kept out of its wall time. The paths, on one clip:

- decode_all: PyAV decodes every frame and does nothing else (the decoder's limit);
- decode_sampled: our sampler alone at the sampling fps (what the scan cannot go below);
- naive: InsightFace `FaceAnalysis` (detection + recognition) on every sampled frame, read with OpenCV;
- scan: our `scan_source` at the sampling fps (faces, tracks, matches, signals, verdicts);
- exhaustive: detection, recognition, tracking and matching on every frame, the recall reference.

Recall: every appearance that the exhaustive path sees for at least `min_appearance_s` (frames with the
face detected / video fps: a detector flickering on a 30-pixel background face at its threshold for a few
frames spread over 5 s is not a 2 s appearance) must be found by the scan (same identity, overlapping in
time, give or take one sample). The gallery is a given gallery file, or else every face
track of the exhaustive path lasting `min_appearance_s` is enrolled as "person N" from its own best crop
(plus the track's mean embedding); tracks whose faces look alike (cosine >= 0.5) make one person.
"""

from __future__ import annotations

import itertools
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from impersonation_cli.errors import (
    MAX_SCAN_FPS,
    URL_LIKE,
    UnreadableInput,
    UserError,
    check_rate,
    check_seconds,
    check_threads,
)
from impersonation_cli.io.sources import check_file, is_image, not_a_file
from impersonation_cli.io.urls import redact_url

if TYPE_CHECKING:
    from impersonation_cli.config import Config
    from impersonation_cli.gallery.store import GalleryIndex
    from impersonation_cli.pipeline.tracks import Track
    from impersonation_cli.runtime.engine import FaceEngine

SAMPLE_CLIP = Path(__file__).resolve().parents[2] / "samples" / "clips" / "astronaut_live.mp4"
SCHEMA = "impersonation-cli/bench"
SCHEMA_VERSION = 1
PATHS = ("decode_all", "decode_sampled", "naive", "scan", "exhaustive")
# The exhaustive path runs first: it makes the gallery the scan matches against.
RUN_ORDER = ("exhaustive", "decode_all", "decode_sampled", "naive", "scan")
# Two face tracks of one clip whose mean embeddings are this alike are one auto-enrolled person.
SAME_PERSON_SIMILARITY = 0.5
WORKER_TIMEOUT_S = 3600


@dataclass(frozen=True)
class BenchJob:
    """What one worker process measures; travels as JSON on the command line."""

    path: str
    video: str
    fps: float
    pack: str
    models: str
    device: str = "cpu"
    threads: int | None = None
    config: str | None = None
    gallery: str | None = None  # a gallery file for the exhaustive path, else auto-enrolment
    gallery_npz: str | None = None  # the gallery the exhaustive path used, handed to the scan
    min_appearance_s: float = 2.0


def bench_job(
    video: str | os.PathLike[str] | None,
    fps: float,
    gallery: Path | None,
    min_appearance_s: float,
    models: Path | None,
    pack: str | None,
    device: str,
    config: Path | None,
    threads: int | None,
) -> BenchJob:
    """`bench`'s options as the job its worker processes run, checked before any of them starts; `video` None is
    the project's sample clip.

    Raises:
        UnreadableInput: no such video, or one that is not a file (a folder, a pipe) or is empty: exit 3, as scan's.
        UserError: an empty path as the video, no such gallery file, a stream URL or a picture given as the
            video, an fps outside (0, 120], a --min-appearance below 0 or not finite, a --threads below 1, a pack
            that is not installed, a settings file that does not load, an unknown --device, a gallery that is not
            one or was made by another recognizer than the pack's.
    """
    from impersonation_cli.config import load_config
    from impersonation_cli.gallery.store import Gallery
    from impersonation_cli.io.sources import probe
    from impersonation_cli.runtime.packs import load_pack, model_root, recognizer_id
    from impersonation_cli.runtime.sessions import resolve_providers

    if video is not None and not os.fspath(video).strip():  # pathlib's '.': 'error: .: a folder', exit 3
        raise UserError("VIDEO is an empty path: give a file or folder")
    clip = Path(video) if video is not None else SAMPLE_CLIP
    # Named as given: a Path made http://host/x into http:/host/x.
    if not clip.exists() and URL_LIKE.match(text := os.fspath(video or clip)):
        raise UserError(f"{redact_url(text)}: bench measures a video file, not a stream URL")
    if not clip.exists():  # exit 3, as scan's for an input that cannot be read (the README's exit codes)
        hint = "" if video else " (the project's sample clip; make it with the samples script or give VIDEO)"
        raise UnreadableInput(f"{clip}: no such video{hint}")
    check_rate(fps, MAX_SCAN_FPS)
    check_seconds(min_appearance_s, "--min-appearance")
    check_threads(threads)
    check_file(str(clip))  # a FIFO ("no such video"), a folder, an empty file (failed after "measuring...")
    if is_image(clip):  # refused before its worker processes start: each would fail on it in turn
        raise UserError(f"{clip}: a picture, not a video; bench measures a video's frame rate")
    if gallery is not None and not gallery.exists():
        raise UserError(f"{gallery}: no such gallery file")
    if gallery is not None and (problem := not_a_file(gallery)):  # a folder or a device was "no such gallery file"
        raise UserError(f"--gallery {gallery}: {problem}")
    # Each worker reads these again; a bad one failed there, after "measuring...", as "bench path 'exhaustive'
    # failed: impersonation_cli.errors.UserError: config [scan] fps must be above 0, not -1".
    load_config(config)
    resolve_providers(device)
    # A file no decoder opens (exit 3, as scan's) or a picture under a video's name: said before "measuring...".
    if probe(str(clip)).kind != "video":
        raise UserError(f"{clip}: a picture, not a video; bench measures a video's frame rate")
    root = model_root(models)
    chosen = load_pack(pack, root)
    if gallery is not None:
        with Gallery(gallery, create=False, read_only=True) as store:
            store.require_recognizer(recognizer_id(chosen))
    return BenchJob(
        path="",
        video=str(clip),
        fps=fps,
        pack=chosen.name,
        models=str(root),
        device=device,
        threads=threads,
        config=str(config) if config else None,
        gallery=str(gallery) if gallery else None,
        min_appearance_s=min_appearance_s,
    )


@dataclass(frozen=True)
class Span:
    """One appearance as the recall check sees it."""

    identity: str
    start_s: float
    end_s: float
    # How long the face was actually detected (frames seen / video fps); the exhaustive path only.
    seen_s: float | None = None


@dataclass
class PathRun:
    """One path's measurement: work done, wall time (model loading excluded) and the process's peak RSS."""

    path: str
    wall_s: float
    setup_s: float
    frames: int
    video_s: float
    peak_rss_mb: float
    faces: int | None = None
    appearances: list[Span] = field(default_factory=list)
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def frames_per_s(self) -> float:
        return self.frames / self.wall_s if self.wall_s > 0 else 0.0

    @property
    def faces_per_s(self) -> float | None:
        return self.faces / self.wall_s if self.faces is not None and self.wall_s > 0 else None

    @property
    def realtime_factor(self) -> float:
        """Seconds of video per second of wall time."""
        return self.video_s / self.wall_s if self.wall_s > 0 else 0.0

    def summary(self) -> dict[str, Any]:
        return {
            "wall_s": round(self.wall_s, 3),
            "setup_s": round(self.setup_s, 3),
            "frames": self.frames,
            "faces": self.faces,
            "video_s": round(self.video_s, 3),
            "frames_per_s": round(self.frames_per_s, 2),
            "faces_per_s": round(self.faces_per_s, 2) if self.faces_per_s is not None else None,
            "realtime_factor": round(self.realtime_factor, 2),
            "peak_rss_mb": round(self.peak_rss_mb, 1),
            **self.detail,
        }


@dataclass(frozen=True)
class Recall:
    min_appearance_s: float
    expected: list[Span]
    missed: list[Span]

    @property
    def recall(self) -> float | None:
        return 1 - len(self.missed) / len(self.expected) if self.expected else None

    def summary(self) -> dict[str, Any]:
        return {
            "min_appearance_s": self.min_appearance_s,
            "expected": len(self.expected),
            "found": len(self.expected) - len(self.missed),
            "recall": round(self.recall, 4) if self.recall is not None else None,
            "missed": [asdict(s) for s in self.missed],
        }


@dataclass(frozen=True)
class BenchReport:
    video: dict[str, Any]
    settings: dict[str, Any]
    conditions: dict[str, Any]
    runs: dict[str, PathRun]
    recall: Recall
    gallery: dict[str, Any]

    def ratio(self, numerator: str, denominator: str) -> float | None:
        below = self.runs[denominator].realtime_factor
        return round(self.runs[numerator].realtime_factor / below, 3) if below > 0 else None

    def ratios(self) -> dict[str, float | None]:
        """Real-time factors relative to each other: (c)/(a) and (c)/(b) of the issue."""
        return {
            "scan_vs_decode_all": self.ratio("scan", "decode_all"),
            "scan_vs_decode_sampled": self.ratio("scan", "decode_sampled"),
            "scan_vs_naive": self.ratio("scan", "naive"),
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "version": SCHEMA_VERSION,
            "video": self.video,
            "settings": self.settings,
            "conditions": self.conditions,
            "paths": {name: run.summary() for name, run in self.runs.items()},
            "ratios": self.ratios(),
            "recall": self.recall.summary(),
            "gallery": self.gallery,
        }


# -- the parent: run each path in its own process ---------------------------------------------------


def run_bench(job: BenchJob) -> BenchReport:
    """Measure every path on `job.video`; the exhaustive path runs first because it makes the gallery."""
    from impersonation_cli.io.sources import probe
    from impersonation_cli.io.threads import threads_or_default

    info = probe(job.video)
    if info.kind != "video":
        raise UserError(f"{job.video}: bench needs a video file, not an image")
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="impersonation-bench-") as scratch:
        shared = BenchJob(**{**asdict(job), "gallery_npz": str(Path(scratch) / "gallery.npz")})
        measured = {name: run_worker(BenchJob(**{**asdict(shared), "path": name})) for name in RUN_ORDER}
    runs = {name: measured[name] for name in PATHS}
    expected = [s for s in runs["exhaustive"].appearances if (s.seen_s or 0.0) >= job.min_appearance_s]
    return BenchReport(
        video={
            "path": job.video,
            "width": info.width,
            "height": info.height,
            "fps": info.fps,
            "duration_s": info.duration_s,
        },
        settings={
            "sample_fps": job.fps,
            "pack": job.pack,
            "device": job.device,
            "provider": runs["scan"].detail.get("provider"),
            "detector_precision": runs["scan"].detail.get("detector_precision"),
            "threads": threads_or_default(job.threads),
            "decoder": runs["decode_sampled"].detail.get("decoder"),
        },
        conditions={
            "cpu_count": os.cpu_count(),
            "load_average_before": [round(v, 2) for v in load_before],
            "load_average_after": [round(v, 2) for v in os.getloadavg()],
        },
        runs=runs,
        recall=Recall(job.min_appearance_s, expected, missed_spans(expected, runs["scan"].appearances, job.fps)),
        gallery=runs["exhaustive"].detail.pop("gallery"),
    )


def missed_spans(expected: list[Span], found: list[Span], fps: float) -> list[Span]:
    """Expected appearances that no found appearance of the same identity overlaps (give or take one sample)."""
    slack = 1.0 / fps

    def covered(span: Span) -> bool:
        return any(
            f.identity == span.identity and f.start_s - slack <= span.end_s and f.end_s + slack >= span.start_s
            for f in found
        )

    return [s for s in expected if not covered(s)]


def run_worker(job: BenchJob) -> PathRun:
    # -P: the current folder is not searched first (a numpy.py there ran in place of numpy)
    command = [sys.executable, "-P", "-m", "impersonation_cli.tools.bench", json.dumps(asdict(job))]
    done = subprocess.run(command, capture_output=True, text=True, timeout=WORKER_TIMEOUT_S, check=False)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise UserError(f"bench path '{job.path}' failed: {last}")
    document = json.loads(done.stdout.strip().splitlines()[-1])
    document["appearances"] = [Span(**s) for s in document["appearances"]]
    return PathRun(**document)


# -- the worker: one path in this process ---------------------------------------------------------


def peak_rss_mb() -> float:
    # ru_maxrss is in KiB on Linux: this process's high-water mark, children excluded.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def measure(job: BenchJob) -> PathRun:
    measures = {
        "decode_all": measure_decode_all,
        "decode_sampled": measure_decode_sampled,
        "naive": measure_naive,
        "scan": measure_scan,
        "exhaustive": measure_exhaustive,
    }
    return measures[job.path](job)


def measure_decode_all(job: BenchJob) -> PathRun:
    from impersonation_cli.io.sources import main_video, open_pyav, origin_of
    from impersonation_cli.io.timestamps import TimestampRebase

    clock = time.perf_counter()
    frames, last_s = 0, 0.0
    container = open_pyav(job.video)  # as the scan opens it: its timestamps as the file holds them
    if container is None:
        raise UnreadableInput(f"{job.video}: PyAV cannot open it or finds no video in it")
    with container:
        stream = main_video(container)
        stream.thread_type = "AUTO"
        # From the file's start, as the scan counts (`origin_of`): a file starting 60 s in was 63 s of video for 3.
        start_s = origin_of(container, stream)
        # Timestamps that restart go on, as the scan's do: a joined file's second part was counted as its first.
        for packet in TimestampRebase.of(container, stream).packets(container.demux(stream)):
            for decoded in packet.decode():
                frames += 1
                last_s = decoded.time - start_s if decoded.time is not None else last_s
    return PathRun(job.path, time.perf_counter() - clock, 0.0, frames, last_s, peak_rss_mb())


def measure_decode_sampled(job: BenchJob) -> PathRun:
    from impersonation_cli.io.sources import DecodeStats, sample_frames

    clock = time.perf_counter()
    stats = DecodeStats()
    for _ in sample_frames(job.video, job.fps, stats):
        pass
    detail = {"decoder": stats.decoder, "frames_decoded": stats.frames_decoded, "frames_skipped": stats.frames_skipped}
    return PathRun(
        job.path,
        time.perf_counter() - clock,
        0.0,
        stats.frames_sampled,
        stats.last_time_s,
        peak_rss_mb(),
        None,
        detail=detail,
    )


def measure_naive(job: BenchJob) -> PathRun:
    """InsightFace's own FaceAnalysis on the pack folder, fed every n-th frame a plain OpenCV loop reads."""
    import cv2
    from insightface.app import FaceAnalysis

    from impersonation_cli.io.sources import open_capture
    from impersonation_cli.runtime.packs import load_pack
    from impersonation_cli.runtime.sessions import resolve_providers

    clock = time.perf_counter()
    pack = load_pack(job.pack, Path(job.models))
    analysis = FaceAnalysis(
        name=str(pack.folder), allowed_modules=["detection", "recognition"], providers=resolve_providers(job.device)
    )
    analysis.prepare(ctx_id=-1, det_size=(640, 640))
    setup_s = time.perf_counter() - clock
    clock = time.perf_counter()
    capture = open_capture(job.video)  # not cv2.VideoCapture: it crashes on a file name that is not UTF-8
    video_fps = capture.get(cv2.CAP_PROP_FPS) or 25.0
    picks = naive_picks(video_fps, job.fps)
    frames = faces = index = 0
    while True:
        ok, image = capture.read()
        if not ok:
            break
        if next(picks):
            faces += len(analysis.get(image))
            frames += 1
        index += 1
    capture.release()
    # Up to the last frame's time, as the other paths count (their samplers' last frame): 8.0 s where they said
    # 7.96 for a 200-frame clip at 25 fps.
    video_s = max(0, index - 1) / video_fps
    return PathRun(job.path, time.perf_counter() - clock, setup_s, frames, video_s, peak_rss_mb(), faces)


def naive_picks(video_fps: float, fps: float) -> Iterator[bool]:
    """Whether the naive loop runs on each frame it reads, in order: the first frame at or after each sample time,
    as the scan samples. Every `round(25 / 2)` = 12th frame of a 25-fps clip was 2.08 a second, 4% more work
    than the scan's 2."""
    frames_per_sample, taken = video_fps / fps, 0
    for index in itertools.count():
        take = index + 1e-6 >= taken * frames_per_sample
        taken += take
        yield take


def _engine_and_config(
    job: BenchJob, precision: str | None = None, threads: int | None = None
) -> tuple[FaceEngine, Config]:
    from impersonation_cli.config import load_config
    from impersonation_cli.runtime.engine import FaceEngine
    from impersonation_cli.runtime.packs import load_pack

    config = load_config(job.config)
    detector = replace(config.detector, precision=precision or config.detector.precision)
    engine = FaceEngine(
        load_pack(job.pack, Path(job.models)),
        device=job.device,
        detector=detector,
        threads=threads,
    )
    return engine, config


def measure_scan(job: BenchJob) -> PathRun:
    from impersonation_cli.gallery.store import GalleryIndex
    from impersonation_cli.io.threads import threads_or_default
    from impersonation_cli.pipeline.scan import ScanContext, scan_source

    clock = time.perf_counter()
    engine, config = _engine_and_config(job, threads=threads_or_default(job.threads))
    assert job.gallery_npz is not None  # run_bench names it for every path
    with np.load(job.gallery_npz) as stored:
        index = GalleryIndex(
            tuple(str(n) for n in stored["names"]), stored["owners"], stored["embeddings"], engine.recognizer_id
        )
    context = ScanContext(engine=engine, index=index, config=config, fps=job.fps)
    setup_s = time.perf_counter() - clock
    clock = time.perf_counter()
    result, appearances = scan_source(job.video, 1, context)
    wall_s = time.perf_counter() - clock
    if result.status == "unreadable":
        raise UserError(result.error or f"{job.video}: unreadable")
    return PathRun(
        job.path,
        wall_s,
        setup_s,
        result.frames_sampled,
        result.scanned_s,
        peak_rss_mb(),
        result.faces_detected,
        [Span(a.identity, a.start_s, a.end_s) for a in appearances],
        {
            "provider": engine.provider,
            "detector_precision": engine.detector_precision,
            "frames_decoded": result.frames_decoded,
        },
    )


def measure_exhaustive(job: BenchJob) -> PathRun:
    """Every frame through detection, recognition and tracking; then the gallery, then matching."""
    from impersonation_cli.io.sources import DecodeStats, probe, sample_frames
    from impersonation_cli.pipeline.tracks import Tracker

    clock = time.perf_counter()
    # The recall reference runs the detector as published: the scan's int8 detector is measured against it.
    engine, config = _engine_and_config(job, precision="fp32", threads=job.threads)
    video_fps = probe(job.video).fps or 25.0
    setup_s = time.perf_counter() - clock
    clock = time.perf_counter()
    tracker, stats, faces = Tracker(job.video, config.tracker), DecodeStats(), 0
    tracks: list[Track] = []
    for frame in sample_frames(job.video, video_fps, stats):
        found, ended = tracker.update(frame, engine.analyse(frame.image))
        faces += len(found)
        tracks += ended
    tracks += tracker.flush()
    index, gallery = _bench_gallery(job, engine, tracks)
    assert job.gallery_npz is not None  # run_bench names it for every path
    _save_index(index, job.gallery_npz)
    spans = _matched_spans(tracks, index, config, video_fps)
    wall_s = time.perf_counter() - clock
    return PathRun(
        job.path,
        wall_s,
        setup_s,
        stats.frames_sampled,
        stats.last_time_s,
        peak_rss_mb(),
        faces,
        spans,
        {"gallery": gallery},
    )


def _matched_spans(tracks: list[Track], index: GalleryIndex, config: Config, video_fps: float) -> list[Span]:
    from impersonation_cli.pipeline.matches import match_track
    from impersonation_cli.pipeline.scan import group_matches

    matches = [m for m in (match_track(t, index, config.match) for t in tracks) if m is not None]
    groups = group_matches(matches, config.scan.min_appearance_frames, config.scan.merge_gap_s)
    return [
        Span(
            g[0].identity,
            min(m.track.start_s for m in g),
            max(m.track.end_s for m in g),
            round(sum(len(m.track.observations) for m in g) / video_fps, 3),
        )
        for g in groups
    ]


def _bench_gallery(job: BenchJob, engine: FaceEngine, tracks: list[Track]) -> tuple[GalleryIndex, dict[str, Any]]:
    from impersonation_cli.gallery.store import Gallery

    if job.gallery is not None:
        with Gallery(Path(job.gallery)) as store:
            store.require_recognizer(engine.recognizer_id)
            index = store.index()
        return index, {"source": f"file:{job.gallery}", "identities": len(index.names)}
    index = auto_enrol(tracks, job.min_appearance_s, engine.recognizer_id)
    return index, {"source": "auto-enrolled from the exhaustive path's tracks", "identities": len(index.names)}


def auto_enrol(tracks: list[Track], min_duration_s: float, recognizer: str) -> GalleryIndex:
    """One "person N" per look-alike group of tracks lasting `min_duration_s`, each track contributing the
    embedding of its best crop and its mean embedding as references."""
    from impersonation_cli.gallery.store import GalleryIndex

    long_tracks = [t for t in tracks if t.end_s - t.start_s >= min_duration_s]
    people: list[list[np.ndarray]] = []
    for track in sorted(long_tracks, key=lambda t: t.start_s):
        best_s = track.best_view.time_s if track.best_view is not None else track.start_s  # a track has a view
        best = next(o for o in track.observations if o.time_s == best_s)
        mean = track.mean_embedding()
        same = [p for p in people if max(float(mean @ r) for r in p) >= SAME_PERSON_SIMILARITY]
        references = same[0] if same else []
        if not same:
            people.append(references)
        references += [best.embedding, mean]
    names = tuple(f"person {n}" for n in range(1, len(people) + 1))
    owners = np.array([n for n, refs in enumerate(people) for _ in refs], dtype=np.int64)
    embeddings = np.stack([r for refs in people for r in refs]) if people else np.zeros((0, 512), np.float32)
    return GalleryIndex(names, owners, embeddings.astype(np.float32), recognizer)


def _save_index(index: GalleryIndex, path: str) -> None:
    np.savez(path, names=np.array(index.names, dtype=str), owners=index.owners, embeddings=index.embeddings)


def worker_main(argv: list[str]) -> None:
    try:
        print(json.dumps(asdict(measure(BenchJob(**json.loads(argv[0]))))))
    except UserError as exc:  # its own line for the parent's "bench path ... failed: ...", not a traceback's last
        print(exc, file=sys.stderr)
        sys.exit(exc.exit_code)


if __name__ == "__main__":
    worker_main(sys.argv[1:])
