"""The int8 detector against the published one on the shared media: faces kept, lost and added, keypoints, identity.

    python scripts/compare_int8_detector.py --shared ../shared --models DIR [--pack sc-2.5g]

Every photo of the shared identity sets and one frame every 2 s of every shared clip, at the full (640) and
the small (320) detector input. A face of the published detector is kept when the int8 one has a box with
IoU >= 0.5; for kept faces the keypoint error (mean absolute, as a share of the face's height) and, for
faces 40 px or taller at 640, the cosine between the embeddings of the two alignments. Lost faces are
listed with their published score: near the 0.5 threshold either detector may flip.
"""

from __future__ import annotations

import argparse
import copy
from pathlib import Path

import cv2
import numpy as np

from impersonation_cli.io.sources import sample_frames
from impersonation_cli.pipeline.faces import iou_matrix
from impersonation_cli.runtime.engine import DetectorSettings, FaceEngine
from impersonation_cli.runtime.packs import load_pack, model_root
from impersonation_cli.runtime.quantize import ensure_int8_detector


def pictures(media: Path) -> list[tuple[str, np.ndarray]]:
    found = [(str(p), cv2.imread(str(p))) for p in sorted(media.rglob("*.jpg"))]
    for clip in sorted([*media.rglob("*.mp4"), *media.rglob("*.avi")]):
        found += [(f"{clip}@{f.time_s:.0f}s", f.image) for f in sample_frames(str(clip), 0.5)]
    return [(name, image) for name, image in found if image is not None]


def engines(pack_name: str, models: Path | None) -> tuple[FaceEngine, FaceEngine]:
    """The published detector's engine, and the same engine with the int8 copy swapped in (whether or not
    this machine runs the copy faster, which is the engine's own choice)."""
    from insightface.model_zoo import get_model

    settings = DetectorSettings(precision="fp32")
    published = FaceEngine(load_pack(pack_name, model_root(models)), device="cpu", detector=settings)
    quantized = copy.copy(published)
    quantized.detector = get_model(
        str(ensure_int8_detector(published.pack.detector, published.pack.int8_folder).path), static_shape_sessions=False
    )
    quantized.detector.prepare(ctx_id=-1, input_size=(640, 640), det_thresh=settings.threshold)
    return published, quantized


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=Path("../shared"))
    parser.add_argument("--models", type=Path)
    parser.add_argument("--pack", default="sc-2.5g")
    args = parser.parse_args()
    published, quantized = engines(args.pack, args.models)
    kept, extra, lost, keypoint_error, cosines = 0, 0, [], [], []
    for name, image in pictures(args.shared / "media"):
        for size in (640, 320):
            reference, candidate = published.detect(image, size), quantized.detect(image, size)
            overlap = iou_matrix(reference.boxes, candidate.boxes) if len(candidate) else np.zeros((len(reference), 0))
            for i in range(len(reference)):
                j = int(np.argmax(overlap[i])) if overlap.shape[1] else -1
                if j < 0 or overlap[i, j] < 0.5:
                    lost.append(f"{name} at {size}: score {reference.scores[i]:.3f}")
                    continue
                kept += 1
                height = float(reference.boxes[i, 3] - reference.boxes[i, 1])
                keypoint_error.append(float(np.abs(reference.keypoints[i] - candidate.keypoints[j]).mean()) / height)
                if size == 640 and height >= 40:
                    a, b = (published.embed(image, f[[k]]).embeddings[0] for f, k in ((reference, i), (candidate, j)))
                    cosines.append(float(a @ b))
            extra += int(sum(overlap[:, j].max(initial=0.0) < 0.5 for j in range(overlap.shape[1])))
    print(f"published faces kept {kept}, lost {len(lost)}; int8 faces the published detector did not find: {extra}")
    print(
        f"keypoint error / face height: median {np.median(keypoint_error):.4f}, p95 "
        f"{np.percentile(keypoint_error, 95):.4f}"
    )
    print(
        f"embedding cosine of the two alignments: median {np.median(cosines):.4f}, p5 "
        f"{np.percentile(cosines, 5):.4f}, min {min(cosines):.4f}"
    )
    for line in lost:
        print("  lost:", line)


if __name__ == "__main__":
    main()
