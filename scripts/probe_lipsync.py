"""Issue 15, probed: is a lip-sync generator's redrawn lower face softer than the upper face it keeps?

Lip-sync generators (MuseTalk, DH_live, Wav2Lip-style re-talkers) redraw the lower half of each frame's face at
their own resolution (often 256 px or less) and paste it back; the eyes and brows stay the camera's. Whole-face
generators (EMO, AniPortrait, JoyHallo) draw every pixel, so this probe expects nothing of them. No training, no
fitted value: two statistics decided before any was computed, on the faces `train_detector.py` caches.

Each frame's largest face is aligned by its five keypoints to ArcFace's template at 224 px, grey
(`runtime.engine.align_face`, as the recognizer's faces are). Fine detail of a region is the mean absolute 3x3
Laplacian there. Upper: x 48-176, y 72-136 (brows and eyes); lower: x 56-168, y 152-216 (mouth and chin).
- `softness`: log(upper detail / lower detail), a source's median over its frames;
- `flicker`: how much more the lower face's log detail varies from frame to frame than the upper face's
  (standard deviations of the two series, lower minus upper), for a face redrawn anew in each frame.
Higher is more suspicious in both. Printed: ROC AUC per fake group against the 10 held-out real clips and
against every real clip (nothing here was fitted, so none of them is "trained on"), with bootstrap intervals;
and how far each statistic of the held-out real clips moves when their faces are brought down to 64 px and back
(does poor capture alone read as a lip-sync?).

    python scripts/train_detector.py extract && python scripts/train_detector.py extract-fakes
    python scripts/probe_lipsync.py [--work DIR]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import train_detector as td

from impersonation_cli.runtime.engine import align_face

SIDE = 224
UPPER = (slice(72, 136), slice(48, 176))
LOWER = (slice(152, 216), slice(56, 168))
TALKING_HEADS = (
    "real_talking_heads_",
    "sadtalker/WDA_",
    "real_public_figures_video/",
    "ai_portrait_animation_AniPortrait/derived/Aragaki_real",
)


def aligned_grey(canvas: np.ndarray, keypoints: np.ndarray, face_px: int | None = None) -> np.ndarray:
    grey = cv2.cvtColor(canvas, cv2.COLOR_BGR2GRAY)
    if face_px is not None:  # the canvas's face box is CANVAS / CANVAS_WIDEN px: bring it to face_px and back
        scale = face_px * td.CANVAS_WIDEN / canvas.shape[0]
        small = cv2.resize(grey, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        grey = cv2.resize(small, grey.shape[::-1], interpolation=cv2.INTER_LINEAR)
    return align_face(grey, keypoints.reshape(5, 2), SIDE)


def log_details(entry: dict, face_px: int | None = None) -> np.ndarray:
    """(frames, 2): log fine detail of the upper and lower face of each frame's largest face."""
    rows = []
    for index in td.largest_faces(entry):
        laplacian = np.abs(
            cv2.Laplacian(
                aligned_grey(entry["canvases"][index], entry["keypoints"][index], face_px), cv2.CV_32F, ksize=3
            )
        )
        rows.append([np.log(laplacian[UPPER].mean() + 1e-3), np.log(laplacian[LOWER].mean() + 1e-3)])
    return np.array(rows)


def statistics(entry: dict, face_px: int | None = None) -> dict[str, float]:
    details = log_details(entry, face_px)
    return {
        "softness": float(np.median(details[:, 0] - details[:, 1])),
        "flicker": float(details[:, 1].std() - details[:, 0].std()),
    }


def is_video(entry: dict) -> bool:
    return len(np.unique(entry["frames"])) > 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--work", type=Path, default=Path.home() / ".cache" / "impersonation-cli" / "train")
    parser.add_argument("--media", type=Path, default=td.REPO.parent / "shared" / "media")
    args = parser.parse_args()
    folder = args.work / "faces"
    reals = [e for e in td.load_faces(folder, td.real_sources(args.media)) if is_video(e)]
    fakes = td.load_faces(folder, td.fake_sources(args.media))
    held_out = [e for e in reals if e["split"] == "validation"]
    heads = [e for e in reals if e["name"].startswith(TALKING_HEADS)]
    groups = {dataset: [e for e in fakes if e["split"] == dataset] for dataset in td.FAKE_DATASETS}
    groups |= {g: [e for d in ds for e in groups[d]] for g, ds in td.FAKE_GROUPS.items()}
    digital = {e["name"]: e for e in groups["digital humans"]}
    for prefix in ("ai_digital_human_", "ai_talking_head_Linly", "ai_talking_head_EMO", "ai_portrait", "sadtalker"):
        groups[f"  digital humans: {prefix}"] = [e for n, e in digital.items() if n.startswith(prefix)]
    scores = {id(e): statistics(e) for e in [*reals, *fakes]}
    print(f"real clips: {len(held_out)} held out, {len(heads)} talking heads, {len(reals)} in all")
    for name in ("softness", "flicker"):
        print(f"\n{name}: per source, AUC [95% interval] against held-out real clips / real talking heads / all real")
        negatives = [np.array([scores[id(e)][name] for e in chosen]) for chosen in (held_out, heads, reals)]
        for group, entries in groups.items():
            positives = np.array([scores[id(e)][name] for e in entries])
            if len(positives):
                cells = ["{:.2f} [{:.2f}, {:.2f}]".format(*td.bootstrap_auc(n, positives)) for n in negatives]
                print(f"  {group:55} {len(positives):3}  " + " / ".join(cells))
        real_values = negatives[2]
        print(
            f"  real clips: median {np.median(real_values):.3f}, 98th percentile {np.percentile(real_values, 98):.3f}"
        )
        shifted = [statistics(e, 64)[name] - scores[id(e)][name] for e in held_out]
        print(
            f"  held-out real faces at 64 px: change {np.mean(shifted):+.3f} (min {min(shifted):+.3f}, "
            f"max {max(shifted):+.3f})"
        )


if __name__ == "__main__":
    main()
