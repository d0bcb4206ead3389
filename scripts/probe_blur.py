"""Issue 15, probed: does blur read as forgery? Two measurements, no training.

`tracks`: the held-out people's REAL faces (10 clips, 21 photos: 61 tracks of up to 12 frames, each photo one
track) blurred on their 384-px context canvas (the face's box 192 px there) along a line of 5-31 px at a random
angle, as a moving head blurs, or by a Gaussian defocus of sigma 1.5-4 px, cut to the runtime crop and scored by a
forgery model as the scan aggregates (mean of the top 3 frame probabilities). Printed per blur: how many real tracks
a model would accuse at its thresholds, and the highest scores. None of these faces is a fake.

`sharpness`: blur alone as a forgery score (minus the log variance of the Laplacian of the crop's middle, median
over up to 12 frames of the source's largest face), the shared fakes against the 10 held-out real clips, as
`train_detector.py evaluate` ranks a model: how much of a model's ranking blur alone would give.

    python scripts/train_detector.py extract && python scripts/train_detector.py extract-fakes
    python scripts/probe_blur.py tracks [--model DIR/face_forgery.onnx]
    python scripts/probe_blur.py sharpness
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import train_detector as td

from impersonation_cli.forgery import ForgeryDetector
from impersonation_cli.forgery.detector import calibrated
from impersonation_cli.forgery.selfblend import motion_blur

BLURS = (("none", 0.0), *(("motion", n) for n in (5, 9, 15, 21, 31)), *(("defocus", s) for s in (1.5, 2.5, 4.0)))
MIDDLE = slice(40, 184)  # of the 224-px crop: the face, not its context


def blurred(canvas: np.ndarray, kind: str, amount: float, rng: np.random.Generator) -> np.ndarray:
    if kind == "motion":
        return motion_blur(canvas, int(amount), rng.uniform(0.0, 180.0))
    if kind == "defocus":
        return cv2.GaussianBlur(canvas, (0, 0), amount)
    return canvas


def track_scores(detector: ForgeryDetector, entries: list[dict], kind: str, amount: float) -> np.ndarray:
    """(tracks, 2): each real track's synthetic and effects score under this blur (one draw of angles, seed 0)."""
    rng = np.random.default_rng(0)
    scores = []
    for entry in entries:
        frames = td.largest_faces(entry)
        for start in range(0, len(frames), td.TRACK_FRAMES):
            crops = [
                td.face_crop(
                    blurred(entry["canvases"][i], kind, amount, rng),
                    entry["boxes"][i],
                    entry["keypoints"][i],
                    td.INPUT_SIZE,
                    td.CROP_WIDEN,
                )
                for i in frames[start : start + td.TRACK_FRAMES]
            ]
            probabilities = np.sort(calibrated(detector.logits(crops), detector.temperature), axis=0)[::-1]
            scores.append(probabilities[: td.TOP_K, 1:].mean(axis=0))
    return np.array(scores)


def command_tracks(args: argparse.Namespace) -> None:
    detector = ForgeryDetector.load(args.model, providers=["CPUExecutionProvider"])
    _, validation = td.split_faces(args)
    thresholds = np.array([detector.synthetic_threshold, detector.effects_threshold])
    for kind, amount in BLURS:
        scores = track_scores(detector, validation, kind, amount)
        accused = (scores > thresholds).sum(axis=0)
        row = {
            "blur": f"{kind} {amount:g}" if amount else kind,
            "real_tracks": len(scores),
            "likely_synthetic": int(accused[0]),
            "likely_effects": int(accused[1]),
            "highest_synthetic": round(float(scores[:, 0].max()), 3),
            "highest_effects": round(float(scores[:, 1].max()), 3),
        }
        print(json.dumps(row), flush=True)


def blurriness(entry: dict) -> float:
    sharpness = [
        cv2.Laplacian(cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY)[MIDDLE, MIDDLE].astype(np.float32), cv2.CV_32F).var()
        for crop in td.source_crops(entry)
    ]
    return -float(np.log(np.median(sharpness) + 1e-6))


def command_sharpness(args: argparse.Namespace) -> None:
    fakes = td.load_faces(args.work / "faces", td.fake_sources(args.media))
    _, validation = td.split_faces(args)
    held_out = np.array([blurriness(e) for e in validation if len(e["frames"]) > 1])
    groups = {**{name: (name,) for name in td.FAKE_DATASETS}, **td.FAKE_GROUPS}
    for name, datasets in groups.items():
        scores = np.array([blurriness(e) for e in fakes if e["split"] in datasets])
        auc, low, high = td.bootstrap_auc(held_out, scores)
        print(f"{name:52s} {len(scores):2d} fakes  blur alone: AUC {auc:.2f} [{low:.2f}, {high:.2f}]")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stage", choices=("tracks", "sharpness"))
    parser.add_argument("--media", type=Path, default=td.REPO.parent / "shared" / "media")
    parser.add_argument("--work", type=Path, default=Path.home() / ".cache" / "impersonation-cli" / "train")
    parser.add_argument("--model", type=Path, default=None, help="a face_forgery.onnx with its JSON [default: shipped]")
    args = parser.parse_args()
    {"tracks": command_tracks, "sharpness": command_sharpness}[args.stage](args)


if __name__ == "__main__":
    main()
