"""Measure the loop detector's lag-specificity rule on the shared media, without any face model.

A stream that loops itself repeats its frames at a constant lag; a still scene matches itself at every lag,
so `ReplayDetector` keeps a loop run only where its frames match the run's lag clearly better than lags 1-2 s
beside it (`lag_specific`). This measures that rule, and alternatives, on:

- negatives: every video of the shared media's MANIFEST.tsv played once (none loops; talking heads and AI
  digital humans that barely move are the hard case): any loop reported is a false positive;
- positives: the same clips played 2 and 3 times in a row (the loop's lag is the clip's length): a loop
  reported at a multiple of that lag is a true positive.

Each stream is sampled at 1 and 2 fps (scan's default rate, and what watch drops to under load) in three modes
(`MODES`): `scan` as a scan samples a file (the fps grid from 0; times are presentation times); `live` as watch
samples a stream (the grid from a random phase, each due time moved by up to 0.05 s, each reported time by up to
0.02 s as the stream clock's anchoring leaves it, and gray-level noise of sd 2 for the live re-encode: on the
JoyHallo clip this gives costs of 0.4-0.7 at the lag against 1.7-1.8 beside it, where a real HLS watch of that
clip looped measured 0.38 against 1.84); `rough` with three times the jitter. Frames are decoded once with the
library's decoder (`sample_frames`), shrunk with the detector's own `_small_gray`, and fed to a footage-less
`ReplayDetector`; its `loop_candidates` (runs before the specificity test, with their costs at the lag and beside
it) are judged under each rule with the library's `lag_specific`; last, the streams a scan flags `likely-replay` by
its loop signal as the library reports it (the specific part of the longest loop, `specific_part`). About 2 minutes
on 2 cores (under a minute with `--cache` filled).

    python scripts/measure_loops.py --shared ../shared [--cache /tmp/loop_frames] [--seeds 3]
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from impersonation_cli.config import load_config
from impersonation_cli.errors import UserError
from impersonation_cli.io.sources import UnreadableInput, sample_frames
from impersonation_cli.pipeline.faces import Frame
from impersonation_cli.pipeline.signals.replay import ReplayDetector, ReplaySettings, Run, _small_gray, lag_specific
from impersonation_cli.results import SignalScore

EVERY_FRAME_FPS = 1000.0  # above any video's frame rate: sample_frames hands out every frame
RATES = (1.0, 2.0)
PLAYS = (1, 2, 3)  # 1: the clip as it is (a negative); 2, 3: played that many times in a row (positives)
# name -> (loop_margin, loop_ratio): a run is a loop when beside - at >= margin and at <= ratio * beside. The
# configured rule is marked with a * in the table.
RULES = {
    "margin 1.5 (until 2026-12)": (1.5, 1.0),
    "margin 1.25": (1.25, 1.0),
    "margin 1.0": (1.0, 1.0),
    "margin 0.75": (0.75, 1.0),
    "ratio 0.4": (0.0, 0.4),
    "ratio 0.5": (0.0, 0.5),
    "ratio 0.6": (0.0, 0.6),
    "margin 1.0 + ratio 0.5": (1.0, 0.5),
    "margin 0.75 + ratio 0.5": (0.75, 0.5),
    "margin 0.75 + ratio 0.4": (0.75, 0.4),
    "margin 0.5 + ratio 0.5": (0.5, 0.5),
}


@dataclass(frozen=True)
class Mode:
    """How a stream is sampled: `jitter_s` moves each due time by up to that much either way (0: the fps grid
    from 0, as a scan samples a file), `clock_s` moves each reported time, `noise` (gray levels, standard
    deviation) stands for a live re-encode's pixel noise."""

    name: str
    jitter_s: float
    clock_s: float
    noise: float


MODES = (
    Mode("scan", 0.0, 0.0, 0.0),
    Mode("live", 0.05, 0.02, 2.0),
    Mode("rough", 0.15, 0.04, 2.0),
)


@dataclass(frozen=True)
class Clip:
    """Every decoded frame of a video, shrunk as the detector shrinks it, with its presentation time."""

    name: str
    times: np.ndarray
    smalls: list[np.ndarray]

    @property
    def period_s(self) -> float:
        """How long one play lasts: to the last frame and one frame's duration past it."""
        step = float(np.median(np.diff(self.times))) if len(self.times) > 1 else 0.1
        return float(self.times[-1] - self.times[0]) + step


@dataclass(frozen=True)
class Case:
    """One sampled stream of a clip and the loop candidates the detector found in it."""

    clip: str
    plays: int
    fps: float
    mode: str
    period_s: float
    candidates: list[tuple[Run, float, float]]
    loop: SignalScore  # the stream's loop signal as a scan reports it (the specific part of its longest loop)

    def is_true_lag(self, run: Run, settings: ReplaySettings) -> bool:
        """Whether the run's lag is a multiple of the clip's length (within the run offset tolerance)."""
        multiple = round(run.offset_s / self.period_s)
        return multiple >= 1 and abs(run.offset_s - multiple * self.period_s) <= settings.offset_tolerance_s


def videos(shared: Path) -> list[str]:
    """The MANIFEST's videos (paths under shared/media), in its order."""
    with (shared / "media" / "MANIFEST.tsv").open(newline="") as table:
        return [row["file"] for row in csv.DictReader(table, delimiter="\t") if row["kind"] == "video"]


def decode(path: Path, name: str, cache: Path | None) -> Clip | None:
    """The clip's frames (from the cache when there), or None when it does not decode."""
    cached = cache / (name.replace("/", "__") + ".npz") if cache else None
    if cached and cached.exists():
        data = np.load(cached)
        return Clip(name, data["times"], list(data["smalls"]))
    try:
        frames = [(f.time_s, _small_gray(f.image)) for f in sample_frames(str(path), EVERY_FRAME_FPS)]
    except (UnreadableInput, UserError) as exc:
        print(f"skipped {name}: {exc}")
        return None
    if not frames or len({s.shape for _, s in frames}) != 1:
        print(f"skipped {name}: no frames or frames of changing size")
        return None
    clip = Clip(name, np.array([t for t, _ in frames]), [s for _, s in frames])
    if cached:
        cached.parent.mkdir(parents=True, exist_ok=True)
        np.savez(cached, times=clip.times, smalls=np.stack(clip.smalls))
    return clip


def sample(clip: Clip, plays: int, fps: float, mode: Mode, rng: np.random.Generator) -> Iterator[Frame]:
    """The clip played `plays` times in a row, sampled at `fps` as `mode` says (a live stream: from a random
    phase of the grid)."""
    times = np.concatenate([clip.times - clip.times[0] + n * clip.period_s for n in range(plays)])
    interval = 1.0 / fps
    due = rng.uniform(0, interval) if mode.jitter_s else 0.0
    previous = -1
    while True:
        index = int(np.searchsorted(times, due + rng.uniform(-mode.jitter_s, mode.jitter_s) - 1e-6))
        index = max(index, previous + 1)
        if index >= len(times):
            return
        image = clip.smalls[index % len(clip.smalls)]
        if mode.noise:
            image = image + rng.normal(0.0, mode.noise, image.shape).astype(np.float32)
        reported = times[index] + rng.uniform(-mode.clock_s, mode.clock_s)
        yield Frame(clip.name, index, float(reported), image)
        previous, due = index, due + interval


def measure(clip: Clip, settings: ReplaySettings, seeds: int) -> Iterator[Case]:
    """Every stream of the clip (plays x rates x modes, the live ones `seeds` times) with the detector's loop
    candidates."""
    for plays in PLAYS:
        for fps in RATES:
            for mode in MODES:
                for seed in range(1 if mode.name == "scan" else seeds):
                    detector = ReplayDetector(None, settings)
                    for frame in sample(clip, plays, fps, mode, np.random.default_rng(seed)):
                        detector.observe(frame)
                    candidates, loop = detector.loop_candidates(), detector.source_signals()["loop"]
                    yield Case(clip.name, plays, fps, mode.name, clip.period_s, candidates, loop)


def found(case: Case, settings: ReplaySettings) -> tuple[bool, bool]:
    """(any loop reported, a loop reported at the true lag) under these settings."""
    kept = [run for run, at, beside in case.candidates if lag_specific(at, beside, settings)]
    return bool(kept), any(case.is_true_lag(run, settings) for run in kept)


def report_rules(cases: list[Case], settings: ReplaySettings) -> None:
    negatives = [c for c in cases if c.plays == 1]
    positives = [c for c in cases if c.plays > 1]
    reachable = [c for c in positives if any(c.is_true_lag(r, settings) for r, _, _ in c.candidates)]
    print(f"{len(negatives)} negative streams (each clip once), {len(positives)} positive (2 and 3 times in a row);")
    print(f"{len(reachable)} positives have a run at the true lag before the specificity test. FP: negatives with a")
    print("loop reported; TP: positives with a loop reported at the true lag; *: the configured rule")
    modes = "".join(f" {'TP ' + m.name:>9s}" for m in MODES)
    print(f"{'rule':28s} {'FP':>4s} {'FP clips':>8s} {'TP':>5s}{modes}")
    for name, (margin, ratio) in RULES.items():
        rule = dataclasses.replace(settings, loop_margin=margin, loop_ratio=ratio)
        name = f"{name} *" if (margin, ratio) == (settings.loop_margin, settings.loop_ratio) else name
        false = [c for c in negatives if found(c, rule)[0]]
        true = [c for c in positives if found(c, rule)[1]]
        per_mode = "".join(f" {sum(c.mode == m.name for c in true):9d}" for m in MODES)
        print(f"{name:28s} {len(false):4d} {len({c.clip for c in false}):8d} {len(true):5d}{per_mode}")
        for case in false:
            print(f"    FP {case.clip} {case.fps:g} fps {case.mode}")


def costs(cases: list[Case], settings: ReplaySettings, positive: bool) -> np.ndarray:
    """(at lag, beside) of every candidate run of the negatives, or of the positives' runs at the true lag."""
    rows = [
        (at, beside)
        for case in cases
        if (case.plays > 1) == positive
        for run, at, beside in case.candidates
        if not positive or case.is_true_lag(run, settings)
    ]
    return np.array(rows).reshape(-1, 2)


def spread(values: np.ndarray) -> str:
    """min / median / max."""
    return " / ".join(f"{v:.2f}" for v in np.quantile(values, [0.0, 0.5, 1.0], method="nearest"))


def report_costs(cases: list[Case], settings: ReplaySettings) -> None:
    """The costs at the lag and beside it, their margin (beside - at) and ratio (at / beside; inf where beside is
    0: a lag 1-2 s beside the run's reaches the frames themselves)."""
    print("\ncosts, min / median / max:")
    for label, positive in (("negatives, every candidate run", False), ("positives, runs at the true lag", True)):
        table = costs(cases, settings, positive)
        if not len(table):
            print(f"{label}: no candidate run")
            continue
        at, beside = table[:, 0], table[:, 1]
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(beside > 0, at / beside, np.inf)
        print(f"{label} ({len(table)}): at lag {spread(at)}; beside {spread(beside)}")
        print(f"    margin {spread(beside - at)}; ratio {spread(ratio)}")


def report_misses(cases: list[Case], settings: ReplaySettings) -> None:
    """Per clip, the positives with a run at the true lag that the configured rule rejects, and the worst costs."""
    print("\npositives with a run at the true lag that the configured rule rejects (worst at lag / beside):")
    missed: dict[str, list[tuple[float, float]]] = {}
    for case in cases:
        if case.plays > 1 and not found(case, settings)[1]:
            runs = [(at, beside) for run, at, beside in case.candidates if case.is_true_lag(run, settings)]
            if runs:
                missed.setdefault(case.clip, []).append(max(runs, key=lambda cost: cost[0] - cost[1]))
    for clip, runs in missed.items():
        at, beside = max(runs, key=lambda cost: cost[0] - cost[1])
        print(f"    {clip}: {len(runs)} streams, {at:.2f} / {beside:.2f}")


def report_flags(cases: list[Case], settings: ReplaySettings, threshold: float) -> None:
    """The streams a scan flags `likely-replay` by their loop signal (at `threshold`): the negatives (false), and
    the positives flagged at the true lag."""
    negatives = [c for c in cases if c.plays == 1 and c.loop.score >= threshold]
    positives = [c for c in cases if c.plays > 1]
    true = [
        c
        for c in positives
        if c.loop.score >= threshold
        and c.is_true_lag(dataclasses.replace(EMPTY_RUN, offset_s=float(c.loop.details["lag_s"])), settings)
    ]
    unlooped = sum(c.plays == 1 for c in cases)
    print(f"\nflagged likely-replay at {threshold:g} by the loop signal: {len(negatives)} of {unlooped} unlooped")
    print(f"streams, {len(true)} of {len(positives)} looped ones at the true lag")
    for case in negatives:
        print(f"    FP {case.clip} {case.fps:g} fps {case.mode}: {case.loop.explanation}")


# A run to carry a lag to `Case.is_true_lag`.
EMPTY_RUN = Run(0, 0.0, 0.0, 0.0, 0, 0.0, 0.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=Path("../shared"))
    parser.add_argument("--cache", type=Path, default=None, help="keep decoded frames here for a rerun")
    parser.add_argument("--seeds", type=int, default=3, help="live samplings per clip, rate and play count")
    parser.add_argument("--only", default="", help="only videos whose path holds this")
    args = parser.parse_args()
    settings = load_config().replay
    cases: list[Case] = []
    for name in videos(args.shared):
        if args.only not in name:
            continue
        clip = decode(args.shared / "media" / name, name, args.cache)
        if clip is not None:
            cases += measure(clip, settings, args.seeds)
    report_rules(cases, settings)
    report_costs(cases, settings)
    report_misses(cases, settings)
    report_flags(cases, settings, load_config().verdicts.replay_threshold)


if __name__ == "__main__":
    main()
