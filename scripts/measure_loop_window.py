"""The loop search's cost a frame and memory a room against how long a room has been watched (docs/benchmark.md,
"Long recordings and long watches"). No model and no media: a looping room at 1 fps (a clip of random loop
signatures, 20 minutes unless `--period` says, played over and over, every play re-encoded a little) is fed to
`ReplayDetector` as test_loop_memory.py does; at each mark the detector's arrays are measured (the bytes they
hold, spare capacity included) and the next frames timed.

    python scripts/measure_loop_window.py --hours 1 3 24 [--period 60]

Frames up to a mark are fed one by one (`--fill prefill` appends them to the arrays at once instead, with as
many loop matches a frame as a real feed keeps: the same bytes, for code whose feed is too slow to reach a day).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from impersonation_cli.config import load_config
from impersonation_cli.pipeline.signals.replay import ReplayDetector

FPS = 1.0


def room_frames(count: int, start: int, period_s: int) -> np.ndarray:
    rng = np.random.default_rng(7)
    clip = np.stack([rng.permutation(64) for _ in range(int(period_s * FPS))]).astype(np.int16)
    frames = clip[np.arange(start, start + count) % len(clip)]
    noise = np.random.default_rng(start).integers(-1, 2, frames.shape)  # each play re-encoded
    return np.clip(frames + noise, 0, 63).astype(np.uint8)


def kept_bytes(detector: ReplayDetector) -> int:
    arrays = [value for value in vars(detector).values() if hasattr(value, "_data")]
    return sum(array._data.nbytes for array in arrays)


def prefill(detector: ReplayDetector, count: int, period_s: int, candidates: int) -> None:
    frames = room_frames(count, 0, period_s)
    times = np.arange(count) / FPS
    detector._own.extend(frames)
    detector._own_times.extend(times)
    plays = np.minimum(times // period_s, candidates).astype(int)
    rows = np.repeat(times, plays)
    detector._loop_matches.extend(np.column_stack([rows, rows - period_s, np.zeros(len(rows))]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hours", type=float, nargs="+", default=[1, 3, 24])
    # 45 minutes at 1 fps: old loop matches are judged and forgotten 4 times in it (a sixteenth of the default window).
    parser.add_argument("--timed", type=int, default=2700, help="frames timed at each mark")
    parser.add_argument("--period", type=int, default=1200, help="seconds of the looped clip (1200: 20 minutes)")
    parser.add_argument("--fill", choices=("feed", "prefill"), default="feed")
    args = parser.parse_args()
    settings = load_config().replay
    detector = ReplayDetector(None, settings)
    fed = 0
    for hours in sorted(args.hours):
        mark = int(hours * 3600 * FPS)
        if args.fill == "prefill":
            detector = ReplayDetector(None, settings)
            prefill(detector, mark, args.period, settings.candidates)
        else:
            for start in range(fed, mark, 3600):
                block = room_frames(min(3600, mark - start), start, args.period)
                for n, signature in enumerate(block):
                    detector._observe_loop((start + n) / FPS, signature)
        kept = kept_bytes(detector) / 1e6  # at the mark; then the next frames are timed
        timed = room_frames(args.timed, mark, args.period)
        each = []
        for n, signature in enumerate(timed):
            began = time.perf_counter()
            detector._observe_loop((mark + n) / FPS, signature)
            each.append(time.perf_counter() - began)
        ms, slowest = 1000 * sum(each) / len(each), 1000 * max(each)
        fed = mark + args.timed
        loops = detector.loop_runs()
        longest = f"{loops[0].start_s:.0f}-{loops[0].end_s:.0f} s at lag {loops[0].offset_s:.0f} s" if loops else "-"
        print(f"{hours:g} h: {ms:.2f} ms a frame (slowest {slowest:.0f}), {kept:.1f} MB kept, longest loop {longest}")


if __name__ == "__main__":
    main()
