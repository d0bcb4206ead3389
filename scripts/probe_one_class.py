"""Issue 15, probed: a one-class model of REAL faces' pixel statistics as a generated-face detector.

The digital humans carry no blending seam, so a detector that learns self-blends does not see them. Every
pixel of their face is drawn by a learned decoder, which should leave its own noise and spectrum. This probe
fits a Gaussian (shrunk covariance) to hand-computed pixel statistics of the training people's REAL runtime
crops only (noise residual level and shape, its 3x3 pattern histogram, chroma against luma noise, the radial
power spectrum, gradient flatness), then scores a face by its Mahalanobis distance from them, and a source by
the mean of its top 3 frames as the scan aggregates. Nothing is fitted on a fake. Printed per group: ROC AUC
against the 10 held-out real clips (bootstrap 95% interval) and against every real clip not trained on.

    python scripts/train_detector.py extract && python scripts/train_detector.py extract-fakes
    python scripts/probe_one_class.py [--work DIR]
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

RADIAL_BINS = 12
FACE_SHARE = 0.6  # the central share of the 1.3x crop: face, not background or hair
SHRINKAGE = 0.1
SWAPS = "swaps and reenactments (FF++, DFDC, Deep-Live-Cam)"


def face_region(crop: np.ndarray) -> np.ndarray:
    side = crop.shape[0]
    margin = int(side * (1 - FACE_SHARE) / 2)
    return crop[margin : side - margin, margin : side - margin]


def radial_spectrum(gray: np.ndarray) -> np.ndarray:
    """Log power in RADIAL_BINS rings of the windowed spectrum, less its mean: the spectrum's shape, not level."""
    side = gray.shape[0]
    window = np.outer(np.hanning(side), np.hanning(side))
    power = np.abs(np.fft.fftshift(np.fft.fft2((gray - gray.mean()) * window))) ** 2
    y, x = np.indices(power.shape) - side // 2
    radius = np.sqrt(x**2 + y**2) / (side / 2)
    rings = np.minimum((radius * RADIAL_BINS).astype(int), RADIAL_BINS)
    levels = np.log(np.bincount(rings.ravel(), power.ravel(), RADIAL_BINS + 1)[:RADIAL_BINS] + 1e-6)
    return levels - levels.mean()


def pixel_statistics(crop: np.ndarray) -> np.ndarray:
    region = face_region(crop)
    ycc = cv2.cvtColor(region, cv2.COLOR_BGR2YCrCb).astype(np.float32)
    luma = ycc[..., 0]
    residuals = [
        channel - cv2.medianBlur(channel.astype(np.uint8), 3).astype(np.float32) for channel in ycc.transpose(2, 0, 1)
    ]
    luma_residual = residuals[0]
    spread = luma_residual.std() + 1e-3
    kurtosis = float(((luma_residual - luma_residual.mean()) ** 4).mean() / spread**4)
    pattern = np.clip(np.round(luma_residual), -3, 3) + 3
    histogram = np.bincount(pattern.astype(int).ravel(), minlength=7) / pattern.size
    gradient = np.hypot(cv2.Sobel(luma, cv2.CV_32F, 1, 0), cv2.Sobel(luma, cv2.CV_32F, 0, 1))
    return np.concatenate(
        [
            [np.log(spread / (luma.std() + 1e-3)), np.log(kurtosis)],
            [np.log((residuals[1].std() + 1e-3) / spread), np.log((residuals[2].std() + 1e-3) / spread)],
            histogram,
            [np.log(gradient.mean() + 1e-3), float((gradient < 4).mean())],
            radial_spectrum(luma),
        ]
    )


def source_features(entry: dict) -> np.ndarray:
    return np.stack([pixel_statistics(crop) for crop in td.source_crops(entry)])


class RealModel:
    """A Gaussian over standardized real statistics; distance is how unlike real a face is."""

    def __init__(self, features: np.ndarray) -> None:
        self.mean, self.scale = features.mean(0), features.std(0) + 1e-6
        standard = (features - self.mean) / self.scale
        covariance = np.cov(standard, rowvar=False)
        covariance = (1 - SHRINKAGE) * covariance + SHRINKAGE * np.eye(len(covariance))
        self.precision = np.linalg.inv(covariance)

    def distance(self, features: np.ndarray) -> np.ndarray:
        standard = (features - self.mean) / self.scale
        return np.sqrt(np.einsum("ij,jk,ik->i", standard, self.precision, standard))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--media", type=Path, default=td.REPO.parent / "shared" / "media")
    parser.add_argument("--work", type=Path, default=Path.home() / ".cache" / "impersonation-cli" / "train")
    args = parser.parse_args()
    reals = td.load_faces(args.work / "faces", td.real_sources(args.media))
    fakes = td.load_faces(args.work / "faces", td.fake_sources(args.media))
    trained = [e for e in reals if e["split"] == "train"]
    model = RealModel(np.concatenate([source_features(e) for e in trained]))

    def score(entry: dict) -> float:
        return float(np.sort(model.distance(source_features(entry)))[::-1][: td.TOP_K].mean())

    held_out = np.array([score(e) for e in reals if e["split"] == "validation" and len(e["frames"]) > 1])
    held_out_all = np.array([score(e) for e in reals if e["split"] == "validation"])
    by_dataset = {d: np.array([score(e) for e in fakes if e["split"] == d]) for d in td.FAKE_DATASETS}
    groups = {
        "swaps": np.concatenate([by_dataset[d] for d in td.FAKE_GROUPS[SWAPS]]),
        "digital humans": by_dataset["digital humans"],
        "effects": by_dataset["effects"],
    }
    for name, scores in groups.items():
        auc, low, high = td.bootstrap_auc(held_out, scores)
        row = {
            "fakes": len(scores),
            "vs_held_out_clips": [round(auc, 3), round(low, 3), round(high, 3)],
            "vs_held_out_clips_and_photos": round(td.roc_auc(held_out_all, scores), 3),
        }
        print(name, json.dumps(row), flush=True)
    print("held-out real clips", len(held_out), "photos and clips", len(held_out_all))


if __name__ == "__main__":
    main()
