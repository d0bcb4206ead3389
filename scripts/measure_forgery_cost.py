"""What the forgery detector costs a scan: each clip scanned in one process with the detector and without it,
alternately, reporting the process's CPU seconds (all threads) and wall seconds per scan, the faces the
detector judged and its CPU per judged face, and that CPU spread over every face the scan detected (the
detector judges a few frames of each track, not every face). The CPU a score call takes counts every thread of
the process, other stages' included, so each round also prints the marginal cost: the scan's CPU with the
detector less its CPU without it, per judged face. CPU seconds stay comparable on a busy machine, where
wall-clock speeds (`impersonation-cli bench`) say more about the neighbours than about the scan.

    python scripts/measure_forgery_cost.py --models DIR CLIP... [--model face_forgery.onnx] [--rounds 2]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from impersonation_cli.config import load_config
from impersonation_cli.forgery import ForgeryDetector, ForgeryScores
from impersonation_cli.gallery.store import GalleryIndex
from impersonation_cli.io.threads import threads_per_stage
from impersonation_cli.pipeline.faces import EMBEDDING_DIM
from impersonation_cli.pipeline.scan import ScanContext, scan_source
from impersonation_cli.pipeline.signals import detector as forgery_stage
from impersonation_cli.runtime.engine import FaceEngine
from impersonation_cli.runtime.packs import load_pack


class TimedDetector:
    """The detector with the CPU its `score` calls take counted."""

    def __init__(self, detector: ForgeryDetector) -> None:
        self.detector = detector
        self.cpu_s = 0.0
        self.faces = 0

    def __getattr__(self, name: str):
        return getattr(self.detector, name)

    def score(self, image: np.ndarray, boxes: np.ndarray, keypoints: np.ndarray) -> ForgeryScores:
        started = time.process_time()
        scores = self.detector.score(image, boxes, keypoints)
        self.cpu_s += time.process_time() - started
        self.faces += len(boxes)
        return scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("clips", nargs="+", type=Path)
    parser.add_argument("--models", type=Path, required=True, help="folder of model packs")
    parser.add_argument("--pack", default="sc-2.5g")
    parser.add_argument("--model", type=Path, default=None, help="forgery model file (default: the shipped one)")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    if missing := [str(clip) for clip in args.clips if not clip.is_file()]:
        parser.error(f"no such clip: {', '.join(missing)}")
    config = load_config()
    engine = FaceEngine(
        load_pack(args.pack, args.models), device="cpu", detector=config.detector, threads=threads_per_stage()
    )
    timed = TimedDetector(ForgeryDetector.load(args.model, engine.providers))
    print(f"forgery model {timed.model_id}")
    models = {"with": forgery_stage.ForgeryModel(timed), "without": forgery_stage.ForgeryModel(None, "switched off")}
    nobody = GalleryIndex((), np.zeros(0, dtype=np.int64), np.zeros((0, EMBEDDING_DIM), np.float32), None)
    context = ScanContext(engine=engine, index=nobody, config=config)
    for clip in args.clips:
        forgery_stage._LOADED[engine] = models["with"]
        scan_source(str(clip), 1, context)  # warm-up: caches, lazily made sessions
        for _ in range(args.rounds):
            scan_cpu: dict[str, float] = {}
            judged = 0
            for label, model in models.items():
                forgery_stage._LOADED[engine] = model
                timed.cpu_s, timed.faces = 0.0, 0
                cpu, wall = time.process_time(), time.perf_counter()
                result, _ = scan_source(str(clip), 1, context)
                cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
                per_face = f", {timed.cpu_s / timed.faces * 1000:.0f} ms CPU a face" if timed.faces else ""
                detected = result.faces_detected
                per_seen = f", {timed.cpu_s / detected * 1000:.1f} ms a face detected" if detected else ""
                print(
                    f"{clip.name} {label}: CPU {cpu:.2f} s, wall {wall:.2f} s, {result.frames_sampled} frames, "
                    f"{detected} faces detected, {timed.faces} judged{per_face}{per_seen}",
                    flush=True,
                )
                scan_cpu[label] = cpu
                judged += timed.faces
            print(
                f"{clip.name}: the scan's CPU with the detector less without it, per judged face: "
                f"{(scan_cpu['with'] - scan_cpu['without']) / max(judged, 1) * 1000:.1f} ms",
                flush=True,
            )


if __name__ == "__main__":
    main()
