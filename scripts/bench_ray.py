"""Throughput of `scan --engine ray` with 1 and 2 workers on the same clips, beside the local engine, in one run
(a benchmark, not a test). Prints per engine the wall time, the part spent starting the actors (connecting,
loading the models), the scan itself, and seconds of video per second; then the scaling efficiency
t1 / (2 * t2) of the scan part and of the whole run, and the actors' CPU seconds for the scan (from /proc;
less sensitive to other load than wall time, though threads that spin while waiting count too).

    ray start --head --port=6411 --num-cpus=2 --include-dashboard=false   # or --address local
    python scripts/bench_ray.py --address 127.0.0.1:6411 --gallery g.sqlite --pin
    python scripts/bench_ray.py --address 127.0.0.1:6411 --gallery g.sqlite --pin --slice 30 LONG.mp4   # one file

With --pin each actor is confined to one core (actor i to core i), as a worker that holds one CPU of a
cluster node is; unpinned, a single actor's decode, detection and recognition threads spread over every
core of this machine. docs/scale.md records the figures.
"""

from __future__ import annotations

import argparse
import os
import statistics
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from impersonation_cli.api import Scanner
from impersonation_cli.distributed import ray_scan as distributed
from impersonation_cli.distributed.ray_scan import DEFAULT_SLICE_S, RayOptions, scan_on_ray
from impersonation_cli.pipeline.scan import scan_inputs
from impersonation_cli.results import ScanResult

SHARED = Path(os.environ.get("IMPERSONATION_SHARED", Path(__file__).resolve().parents[2] / "shared"))
# Eleven real talking-head clips (480x480 to 512x512 and one 720x1280, 3-20 s, 118 s in all): one face each,
# as a seller's livestream capture has.
DEFAULT_CLIPS = sorted((SHARED / "media" / "real_talking_heads_LivePortrait").glob("driving_d*.mp4"))


def actor_cpu() -> dict[int, float]:
    """CPU seconds (user + system) so far of each Ray actor process (`ray::ScanWorker`), from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    seconds = {}
    for entry in Path("/proc").iterdir():
        try:
            if not (entry / "cmdline").read_bytes().startswith(b"ray::ScanWorker"):
                continue
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        seconds[int(entry.name)] = (int(fields[11]) + int(fields[12])) / tick
    return seconds


def timed_actor_start() -> list[tuple[float, float]]:
    """Record when each run's actors are ready (the scan proper starts then) and their CPU seconds by then
    (imports and model loading), by wrapping the module's step."""
    ready: list[tuple[float, float]] = []
    start = distributed.start_actors

    def start_and_note(*args: Any) -> Any:
        actors = start(*args)
        ready.append((time.perf_counter(), sum(actor_cpu().values())))
        return actors

    distributed.start_actors = start_and_note
    return ready


class WorkerCpu:
    """The actors' CPU seconds over a run, sampled every half second (the last half second of an actor
    before it exits may be missed)."""

    def __init__(self) -> None:
        self.seen: dict[int, float] = {}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> WorkerCpu:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        self.thread.join()

    def _sample(self) -> None:
        while not self.stop.wait(0.5):
            self.seen.update(actor_cpu())

    @property
    def seconds(self) -> float:
        return sum(self.seen.values())


def measure(
    name: str, run: Callable[[], ScanResult], ready: list[tuple[float, float]], local: bool = False
) -> dict[str, Any]:
    ready.clear()
    cpu_before = time.process_time()
    began = time.perf_counter()
    with WorkerCpu() as workers:
        result = run()
    ended = time.perf_counter()
    ready_at, startup_cpu = ready[0] if ready else (began, 0.0)
    video = result.run.video_seconds
    row = {
        "engine": name,
        "wall_s": ended - began,
        "startup_s": ready_at - began,
        "scan_s": ended - ready_at,
        "video_s": video,
        # The local engine runs in this process; Ray's actors are processes of their own (start-up excluded).
        "cpu_s": time.process_time() - cpu_before if local else workers.seconds - startup_cpu,
        "appearances": len(result.appearances),
    }
    row["x_realtime"] = video / row["scan_s"]
    print(
        f"{name:16} wall {row['wall_s']:6.1f} s  startup {row['startup_s']:5.1f} s  scan {row['scan_s']:6.1f} s  "
        f"{row['x_realtime']:5.1f}x real time  scan CPU {row['cpu_s']:6.1f} s ({video / row['cpu_s']:.1f} video s "
        f"per CPU s)  {len(result.appearances)} appearances",
        flush=True,
    )
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--address", default="local", help="Ray cluster: local, auto, HOST:PORT")
    parser.add_argument("--gallery", type=Path, help="gallery file [default: $IMPERSONATION_GALLERY]")
    parser.add_argument("--models", type=Path)
    parser.add_argument("--pack")
    parser.add_argument("--pin", action="store_true", help="one core per actor (actor i on core i)")
    parser.add_argument("--repeat", type=int, default=1, help="alternate the 1- and 2-worker runs this many times")
    parser.add_argument("--no-local", action="store_true", help="skip the local engine's run")
    parser.add_argument("--slice", type=float, default=DEFAULT_SLICE_S, help="--slice of scan (0: never cut a file)")
    parser.add_argument("clips", nargs="*", type=Path, default=DEFAULT_CLIPS)
    args = parser.parse_args()
    clips = [str(c) for c in args.clips]
    print(f"{len(clips)} clips; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores", flush=True)
    ready = timed_actor_start()
    with Scanner.open(models=args.models, pack=args.pack, gallery=args.gallery, threads=1) as scanner:
        rows = [] if args.no_local else [measure("local", lambda: scan_inputs(clips, scanner.context), ready, True)]
        for _ in range(args.repeat):
            for workers in (1, 2):
                options = RayOptions(address=args.address, workers=workers, pin_cores=args.pin, slice_s=args.slice)
                run = lambda options=options: scan_on_ray(clips, scanner.context, {}, options)  # noqa: E731
                rows.append(measure(f"ray {workers} worker(s)", run, ready))
        print(f"load average {os.getloadavg()[0]:.1f} at the end", flush=True)
    for part in ("scan_s", "wall_s"):
        one = statistics.median(r[part] for r in rows if r["engine"] == "ray 1 worker(s)")
        two = statistics.median(r[part] for r in rows if r["engine"] == "ray 2 worker(s)")
        print(f"scaling efficiency ({part[:-2]}): t1 / (2 t2) = {one:.1f} / (2 x {two:.1f}) = {one / (2 * two):.2f}")
    one, two = (statistics.median(r["cpu_s"] for r in rows if r["engine"] == f"ray {n} worker(s)") for n in (1, 2))
    print(f"actor CPU seconds, 1 worker / 2 workers: {one:.1f} / {two:.1f} = {one / two:.2f}")


if __name__ == "__main__":
    main()
