"""Issue 15, probed without training: does evening out capture quality at test time, or averaging a face with
its mirror image, change how the shipped forgery model ranks the shared fakes against real clips?

Every crop `evaluate` would score is first passed through one transform: none, JPEG at quality 60, the face
brought down to 112 px and back, both (96 px and JPEG 70), or the mean of the crop and its mirror image
(flip). A source's score is the mean of its top 3 frame probabilities, as in `train_detector.py evaluate`; the
ROC AUC of each fake group is printed against the 10 held-out real clips and against all real clips.

    python scripts/train_detector.py extract && python scripts/train_detector.py extract-fakes
    python scripts/probe_test_time.py [--work DIR]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import train_detector as td

from impersonation_cli.forgery import ForgeryDetector
from impersonation_cli.forgery.detector import calibrated

Transform = Callable[[np.ndarray], np.ndarray]
SWAPS = "swaps and reenactments (FF++, DFDC, Deep-Live-Cam)"


def jpeg(quality: int) -> Transform:
    def recompress(crop: np.ndarray) -> np.ndarray:
        _, encoded = cv2.imencode(".jpg", crop, [cv2.IMWRITE_JPEG_QUALITY, quality])
        return cv2.imdecode(encoded, cv2.IMREAD_COLOR)

    return recompress


def downscale(side: int) -> Transform:
    def down_and_up(crop: np.ndarray) -> np.ndarray:
        small = cv2.resize(crop, (side, side), interpolation=cv2.INTER_AREA)
        return cv2.resize(small, crop.shape[1::-1], interpolation=cv2.INTER_LINEAR)

    return down_and_up


def mirror(crop: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(crop[:, ::-1])


# Each variant: the transforms whose probabilities are averaged (one transform: no averaging).
VARIANTS: dict[str, tuple[Transform, ...]] = {
    "none": (lambda crop: crop,),
    "jpeg60": (jpeg(60),),
    "down112": (downscale(112),),
    "down96-jpeg70": (lambda crop: jpeg(70)(downscale(96)(crop)),),
    "flip": (lambda crop: crop, mirror),
}


def source_score(detector: ForgeryDetector, entry: dict, column: int, transforms: tuple[Transform, ...]) -> float:
    crops = td.source_crops(entry)
    probabilities = np.mean(
        [calibrated(detector.logits([t(c) for c in crops]), detector.temperature) for t in transforms], axis=0
    )
    return float(np.sort(probabilities[:, column])[::-1][: td.TOP_K].mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--media", type=Path, default=td.REPO.parent / "shared" / "media")
    parser.add_argument("--work", type=Path, default=Path.home() / ".cache" / "impersonation-cli" / "train")
    parser.add_argument(
        "--model", type=Path, default=td.REPO / "impersonation_cli" / "data" / "forgery" / "face_forgery.onnx"
    )
    args = parser.parse_args()
    detector = ForgeryDetector.load(args.model, providers=["CPUExecutionProvider"])
    fakes = td.load_faces(args.work / "faces", td.fake_sources(args.media))
    reals = [e for e in td.load_faces(args.work / "faces", td.real_sources(args.media)) if len(e["frames"]) > 1]
    held_out = [e for e in reals if e["split"] == "validation"]
    for name, transforms in VARIANTS.items():
        row = {}
        for column, score_name in ((1, "synthetic"), (2, "effects")):

            def scores(entries: list[dict], column: int = column, transforms: tuple = transforms) -> np.ndarray:
                return np.array([source_score(detector, e, column, transforms) for e in entries])

            negatives, all_negatives = scores(held_out), scores(reals)
            by_dataset = {d: scores([e for e in fakes if e["split"] == d]) for d in td.FAKE_DATASETS}
            groups = {
                "swaps": np.concatenate([by_dataset[d] for d in td.FAKE_GROUPS[SWAPS]]),
                "digital humans": by_dataset["digital humans"],
                "effects": by_dataset["effects"],
            }
            row[score_name] = {
                group: {
                    "vs_held_out": round(td.roc_auc(negatives, s), 3),
                    "vs_all": round(td.roc_auc(all_negatives, s), 3),
                }
                for group, s in groups.items()
            } | {"highest_real": round(float(all_negatives.max()), 3)}
        print(name, json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
