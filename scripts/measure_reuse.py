"""How well an aligned face's likeness code predicts that its embedding has not changed (EmbeddingReuse).

    python scripts/measure_reuse.py CLIP... [--models DIR] [--pack sc-2.5g] [--fps 2]

For every face that overlaps (IoU >= 0.3) a face of the previous sampled frame, both are embedded afresh and
the pair's likeness-code correlation is set against their embedding cosine. For each correlation threshold it
prints the share of faces that would keep their embedding and the cosine a fresh one would have had with
it (minimum and 5th percentile), next to the median cosine of the pairs below the threshold.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from impersonation_cli.io.sources import sample_frames
from impersonation_cli.pipeline.faces import iou_matrix
from impersonation_cli.runtime.engine import FaceEngine, align_face, likeness_code
from impersonation_cli.runtime.packs import load_pack, model_root


def consecutive_pairs(engine: FaceEngine, clip: str, fps: float) -> list[tuple[float, float]]:
    """(likeness correlation, embedding cosine) of each face with the overlapping face one sample earlier."""
    pairs = []
    previous = None
    for frame in sample_frames(clip, fps):
        faces = engine.detect(frame.image)
        aligned = [align_face(frame.image, k) for k in faces.keypoints]
        embeddings = engine.embed_aligned(aligned)
        codes = np.array([likeness_code(a) for a in aligned]).reshape(len(faces), -1)
        if previous is not None and len(faces) and len(previous[0]):
            overlap = iou_matrix(faces.boxes, previous[0].boxes)
            for i in range(len(faces)):
                j = int(np.argmax(overlap[i]))
                if overlap[i, j] >= 0.3:
                    pairs.append((float(codes[i] @ previous[2][j]), float(embeddings[i] @ previous[1][j])))
        previous = (faces, embeddings, codes)
    return pairs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("clips", nargs="+")
    parser.add_argument("--models", type=Path, default=None)
    parser.add_argument("--pack", default="sc-2.5g")
    parser.add_argument("--fps", type=float, default=2.0)
    args = parser.parse_args()
    engine = FaceEngine(load_pack(args.pack, model_root(args.models)), device="cpu", with_landmarks=False)
    pairs = np.array([p for clip in args.clips for p in consecutive_pairs(engine, clip, args.fps)])
    print(f"{len(pairs)} face pairs one sample apart in {len(args.clips)} clips")
    for threshold in (0.8, 0.85, 0.9, 0.93, 0.95):
        kept = pairs[:, 0] >= threshold
        cosines, others = pairs[kept, 1], pairs[~kept, 1]
        print(
            f"correlation >= {threshold:.2f}: {kept.mean():.0%} of faces keep their embedding; "
            f"fresh-vs-kept cosine min {cosines.min():.2f}, 5th percentile {np.percentile(cosines, 5):.2f}; "
            f"pairs below: median cosine {np.median(others):.2f}"
        )


if __name__ == "__main__":
    main()
