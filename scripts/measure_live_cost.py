"""What `watch` spends per sampled frame on one long matched track: re-matching it and re-judging its signals.

A live track is matched and judged on all its frames so far at every sampled frame (the alert cannot wait
for the track to end), so both costs grow with the track's length. This scans a real clip to get one
face track with real per-face measurements, repeats its frames to make tracks of 10 frames to 3 hours at
1 fps, and times, per length: matching against a gallery (40 and 1000 people, 2 references each, random
unit vectors beside the clip's own person), scoring the signals in full, and the watcher's average
cost per frame of each under its schedule (`pipeline.scan.rescore_due`).

    python scripts/measure_live_cost.py --models DIR [--clip ../shared/media/ffpp_icpr2020dfdc/original/004.mp4]
"""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from impersonation_cli.config import load_config
from impersonation_cli.gallery.store import GalleryIndex
from impersonation_cli.io.sources import sample_frames
from impersonation_cli.pipeline.matches import match_track
from impersonation_cli.pipeline.scan import rescore_due
from impersonation_cli.pipeline.signals import SignalSuite
from impersonation_cli.pipeline.tracks import Track, Tracker
from impersonation_cli.runtime.engine import FaceEngine
from impersonation_cli.runtime.packs import load_pack, model_root

LENGTHS = (10, 100, 600, 1800, 3600, 10800)


def longest_track(clip: str, engine: FaceEngine, suite: SignalSuite) -> Track:
    """The clip's longest face track, its faces measured by the signals as a scan measures them."""
    tracker = Tracker(clip, load_config().tracker)
    tracks: list[Track] = []
    for frame in sample_frames(clip, 2.0):
        faces, _ended = tracker.update(frame, engine.analyse(frame.image))
        suite.observe(frame, faces, tracker)
        tracks += tracker.active
    longest = max(tracks, key=lambda t: len(t.observations))
    return replace(longest, observations=suite.measured(longest))


def stretched(track: Track, frames: int) -> Track:
    source = track.observations
    observations = [replace(source[i % len(source)], time_s=float(i), frame_index=i) for i in range(frames)]
    return replace(track, observations=observations)


def gallery(track: Track, people: int, rng: np.random.Generator, recognizer: str) -> GalleryIndex:
    others = rng.normal(size=(2 * (people - 1), 512)).astype(np.float32)
    embeddings = np.vstack([track.mean_embedding()[None], track.mean_embedding()[None], others])
    embeddings /= np.linalg.norm(embeddings, axis=1, keepdims=True)
    owners = np.repeat(np.arange(people), 2)
    return GalleryIndex(tuple(f"person {n}" for n in range(people)), owners, embeddings, recognizer)


def median_ms(action, repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        clock = time.perf_counter()
        action()
        times.append(time.perf_counter() - clock)
    return 1000 * statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=Path)
    parser.add_argument("--pack", default="sc-2.5g")
    parser.add_argument("--clip", default="../shared/media/ffpp_icpr2020dfdc/original/004.mp4")
    args = parser.parse_args()
    engine = FaceEngine(load_pack(args.pack, model_root(args.models)), device="cpu")
    config = load_config()
    suite = SignalSuite(engine, config)
    base = longest_track(args.clip, engine, suite)
    print(f"track of {len(base.observations)} real frames from {args.clip}, repeated")
    rng = np.random.default_rng(0)
    galleries = {people: gallery(base, people, rng, engine.recognizer_id) for people in (40, 1000)}
    print("ms each time: match 40 people | match 1000 | signals; ms per frame on watch's schedule: the same | frames")
    for frames in LENGTHS:
        print(" | ".join(f"{v:7.2f}" for v in costs(stretched(base, frames), galleries, suite, config)), f"| {frames}")


def costs(track: Track, galleries: dict[int, GalleryIndex], suite, config) -> list[float]:
    """Milliseconds: matching against each gallery, scoring in full, scoring per frame under the schedule."""
    frames = len(track.observations)
    match = [median_ms(lambda g=g: match_track(track, g, config.match)) for g in galleries.values()]
    full = median_ms(lambda: suite.score_observations(track.observations), repeats=3)
    # The schedule's share of frames that redo the work, around this length (the next 100 frames).
    share = sum(rescore_due(n, last) for n, last in _schedule(frames, 100)) / 100
    return [*match, full, *(ms * share for ms in match), full * share]


def _schedule(start: int, count: int) -> list[tuple[int, int]]:
    """(frames, frames at the last scoring) for `count` frames after a track reached `start`, as watch runs it."""
    pairs, last = [], start
    for frames in range(start + 1, start + count + 1):
        pairs.append((frames, last))
        if rescore_due(frames, last):
            last = frames
    return pairs


if __name__ == "__main__":
    main()
