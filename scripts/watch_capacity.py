"""How many live rooms this machine watches at a given fps without falling behind (a benchmark, not a test).

Runs the real watcher on N rooms at once for N = 1, 2, 4, 8 ... Each room is a real talking-head clip,
looped into a longer file with ffmpeg (stream copy) and played as live at real-time pace, so every room
costs what a live room costs: decoding what sampling at --fps needs, detection, landmarks and a share of
the batched recognizer run. A room keeps up when it is recognised at >= 90% of the target rate, drops
under 5% of its sampled frames, and its frames wait under 2 s from arrival to the end of recognition. Past
that, the watcher samples every room at a lower rate: each count also prints the frames recognised per second
over all rooms, and the end compares each count's total with the peak (past capacity it should hold).

    python scripts/watch_capacity.py --rooms 1,2,4,8 --seconds 30 --fps 1

With --cost it prints instead what one room costs, in CPU seconds per second of live video, split into
decoding (the room's reader), detection, landmarks and embedding, and the rest (tracking, matching, signals):

    python scripts/watch_capacity.py --cost --seconds 30 --fps 1 --clip ../shared/media/.../634.mp4
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from impersonation_cli.config import load_config
from impersonation_cli.gallery.enrol import reference_from_image
from impersonation_cli.gallery.store import Gallery
from impersonation_cli.io.live_reader import ReaderSettings, ReaderState, RoomReader
from impersonation_cli.io.rooms import Room
from impersonation_cli.outputs.alerts import AlertSink
from impersonation_cli.pipeline.faces import Frame
from impersonation_cli.pipeline.scan import ScanContext, SourcePipeline
from impersonation_cli.pipeline.watch import RoomWatch, Watcher, WatchSettings
from impersonation_cli.runtime.engine import AdaptiveDetector, EmbeddingReuse, FaceEngine
from impersonation_cli.runtime.packs import load_pack, model_root

SHARED = Path(os.environ.get("IMPERSONATION_SHARED", Path(__file__).resolve().parents[2] / "shared"))
DEFAULT_CLIP = SHARED / "media" / "sadtalker" / "WDA_KatieHill_000.mp4"


def looped_clip(clip: Path, seconds: float, folder: Path) -> Path:
    """The clip repeated until it lasts `seconds` (stream copy: no re-encoding, no quality change)."""
    target = folder / f"looped{clip.suffix}"
    command = ["ffmpeg", "-v", "error", "-y", "-stream_loop", "-1", "-i", str(clip), "-t", f"{seconds:.0f}"]
    subprocess.run([*command, "-c", "copy", str(target)], check=True)
    return target


def enrolled_context(engine: FaceEngine, clip: Path, folder: Path) -> ScanContext:
    """A gallery holding the clip's person (from its first frame), so matching runs as it would live."""
    import cv2

    capture = cv2.VideoCapture(str(clip))
    ok, image = capture.read()
    capture.release()
    if not ok:
        raise SystemExit(f"cannot read {clip}")
    still = folder / "reference.jpg"
    cv2.imwrite(str(still), image)
    outcome = reference_from_image(engine, still)
    with Gallery(folder / "gallery.sqlite") as store:
        if outcome.reference is not None:
            store.add_person("Benchmark Person", [outcome.reference])
        index = store.index()
    return ScanContext(engine=engine, index=index, config=load_config())


def keeps_up(room: RoomWatch, fps: float) -> bool:
    sampled = max(room.state.frames_sampled, 1)
    return (
        room.frames_recognised >= 0.9 * fps * room.state.live_seconds
        and room.state.frames_dropped <= 0.05 * sampled
        and room.max_lag_s < 2.0
    )


def run_rooms(count: int, clip: Path, context: ScanContext, fps: float, seconds: float) -> tuple[bool, float]:
    """Whether every room kept up, and the frames recognised per second over all rooms."""
    settings = WatchSettings(reader=ReaderSettings(fps=fps), duration_s=seconds, cooldown_s=3600.0)
    specs = [Room(str(clip), f"bench:{n}") for n in range(1, count + 1)]
    watcher = Watcher(specs, context, settings, AlertSink(None, None, settings.cooldown_s))
    watcher.run()
    rooms_ok = [keeps_up(room, fps) for room in watcher.rooms]
    live_s = max(room.state.live_seconds for room in watcher.rooms) or 1.0
    total = sum(room.frames_recognised for room in watcher.rooms) / live_s
    for room, ok in zip(watcher.rooms, rooms_ok, strict=True):
        state = room.state
        achieved = room.frames_recognised / state.live_seconds if state.live_seconds else 0.0
        print(
            f"  {room.name:10} recognised {room.frames_recognised:3} frames = {achieved:4.2f} fps "
            f"(target {fps:g}), sampled {state.frames_sampled:3}, dropped {state.frames_dropped:3}, "
            f"max lag {room.max_lag_s:4.2f} s, {'keeps up' if ok else 'FALLS BEHIND'}"
        )
    decoded = sum(room.state.frames_decoded for room in watcher.rooms)
    received = sum(room.state.frames_received for room in watcher.rooms)
    share = watcher.share.as_dict()
    print(
        f"  all rooms: {total:.2f} frames recognised/s; decoded {decoded} of {received} frames received; "
        f"sampling {share['fps']:.2f} fps per room at the end (lowest {share['lowest_fps']:.2f}), "
        f"{share['frames_per_busy_s']} frames per busy second: holds about {share['rooms_at_target']} rooms"
    )
    return all(rooms_ok), total


def room_cost(clip: Path, context: ScanContext, fps: float, seconds: float) -> None:
    """One room's reader played for `seconds`, then its sampled frames through the watcher's stages one by one,
    each stage's CPU time (every thread of the process) counted on its own."""
    wake = threading.Event()
    reader = RoomReader(ReaderState(room="cost", url=str(clip)), ReaderSettings(fps=fps), wake)
    frames: list[Frame] = []
    started = time.process_time()
    reader.start()
    while reader.is_alive() and reader.state.live_seconds < seconds:
        wake.wait(0.5)
        wake.clear()
        frames += reader.slot.drain()
    reader.stop()
    reader.join()
    decode_s = time.process_time() - started
    live_s = reader.state.live_seconds
    engine, spent = context.engine, {"detect": 0.0, "landmarks + embed": 0.0, "track, match, signals": 0.0}
    detector, reuse = AdaptiveDetector(engine), EmbeddingReuse(engine, context.config.recognition)
    pipeline = SourcePipeline(str(clip), 1, context, Room(str(clip), "cost:1"))
    for frame in frames:
        clock = time.process_time()
        faces = detector.detect(frame.image, frame.time_s)
        spent["detect"] += time.process_time() - clock
        clock = time.process_time()
        pending = reuse.prepare(frame.image, faces, frame.time_s)
        faces = reuse.complete(pending, engine.embed_aligned(pending.to_embed))
        spent["landmarks + embed"] += time.process_time() - clock
        clock = time.process_time()
        pipeline.add(frame, faces)
        for match in pipeline.live_matches(frame, 2):
            pipeline.live_appearance(match, final=False)
        spent["track, match, signals"] += time.process_time() - clock
    state = reader.state
    print(
        f"{clip.name} at {fps:g} fps, {live_s:.1f} s live: {state.frames_decoded} of {state.frames_received} frames "
        f"decoded, {len(frames)} sampled"
    )
    costs = {"decode (reader)": decode_s, **spent}
    for stage, cpu_s in costs.items():
        per_frame_ms = 1000 * cpu_s / max(1, len(frames))
        print(f"  {stage:24} {cpu_s / live_s:.4f} CPU s per live second ({per_frame_ms:.1f} ms a frame)")
    total = sum(costs.values()) / live_s
    print(f"  {'all':24} {total:.4f} CPU s per live second: about {1 / total:.1f} rooms per core")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rooms", default="1,2,4,8", help="comma-separated room counts")
    parser.add_argument("--seconds", type=float, default=30.0, help="how long each count is watched")
    parser.add_argument("--fps", type=float, default=1.0)
    parser.add_argument("--clip", type=Path, default=DEFAULT_CLIP)
    parser.add_argument("--models", type=Path, default=None)
    parser.add_argument("--pack", default=None)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--cost", action="store_true", help="one room's cost split by stage, not a capacity run")
    args = parser.parse_args()
    if shutil.which("ffmpeg") is None or not args.clip.is_file():
        print(f"needs ffmpeg and the clip {args.clip}", file=sys.stderr)
        return 2
    config = load_config()
    engine = FaceEngine(load_pack(args.pack, model_root(args.models)), detector=config.detector, threads=args.threads)
    print(f"{os.cpu_count()} CPUs, pack {engine.pack.name}, provider {engine.provider}, clip {args.clip.name}")
    sustained, totals = 0, {}
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary)
        clip = looped_clip(args.clip, args.seconds + 10, folder)
        context = enrolled_context(engine, args.clip, folder)
        if args.cost:
            room_cost(clip, context, args.fps, args.seconds)
            return 0
        for count in (int(n) for n in args.rooms.split(",")):
            print(f"{count} room(s) at {args.fps:g} fps for {args.seconds:g} s:")
            kept_up, totals[count] = run_rooms(count, clip, context, args.fps, args.seconds)
            if kept_up:
                sustained = max(sustained, count)
    peak = max(totals.values())
    print(f"sustained without falling behind: {sustained} room(s) at {args.fps:g} fps")
    for count, total in totals.items():
        print(f"{count:4} rooms: {total:6.2f} frames recognised/s = {total / peak:.2f} of the peak")
    return 0


if __name__ == "__main__":
    sys.exit(main())
