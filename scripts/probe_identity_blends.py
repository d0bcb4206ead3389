"""Probe: do blends of two DIFFERENT real people (Face X-ray's "blended images") teach the forgery detector what
face swaps leave, beyond what self-blends teach?

Self-Blended Images blend a face with a jittered copy of itself: the seam is there, but inside it the identity,
skin texture, lighting and sharpness are one person's. A swap pastes another face: its texture, its light, its
shape inside the seam. The shipped detector ranks FF++ FaceSwap (0.40) and Face2Face (0.60) weakest. Here a
training face gets the face of a training person from ANOTHER source, the one of a few drawn whose landmark shape
(pose and expression) is nearest, aligned to it by a similarity transform of the 106 landmarks, its colour matched
inside the mask, pasted through the same deformed, blurred landmark mask as a self-blend. Both people are real; no
fake is trained on. The shared fakes are scored, never trained on.

Two fine-tunes of the shipped model from the same batches: with a share of each batch's pairs (real crop, its
identity blend) and without (a control, same steps), then `train_detector.py evaluate` scores both.

    python scripts/train_detector.py extract && python scripts/train_detector.py extract-fakes
    python scripts/probe_identity_blends.py --share 0.3 --output /tmp/identity/face_forgery.onnx
    python scripts/probe_identity_blends.py --share 0 --output /tmp/control/face_forgery.onnx
    python scripts/train_detector.py evaluate --output /tmp/identity/face_forgery.onnx
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

SCRIPTS = Path(__file__).resolve().parent
sys.path.insert(0, str(SCRIPTS))

import train_detector as training  # noqa: E402

from impersonation_cli.forgery.selfblend import FaceSample, blend_mask, composite, sharpness_jitter  # noqa: E402

SHIPPED = training.REPO / "impersonation_cli" / "data" / "forgery" / "face_forgery.onnx"
CANDIDATES = 24  # donors drawn per blend; the nearest in landmark shape is taken


def shape_key(face: FaceSample) -> np.ndarray:
    """The 106 landmarks centred and scaled to unit spread: near keys are faces in a like pose and expression."""
    points = face.landmarks.astype(np.float64) - face.landmarks.mean(axis=0)
    return (points / np.sqrt((points**2).sum(axis=1).mean())).ravel()


def colour_matched(donor: np.ndarray, target: np.ndarray, mask: np.ndarray, strength: float) -> np.ndarray:
    """`donor`'s Lab mean and spread moved `strength` of the way to `target`'s, both measured inside `mask`."""
    inside = mask > 0.5
    donor_lab = cv2.cvtColor(donor, cv2.COLOR_BGR2LAB).astype(np.float32)
    target_lab = cv2.cvtColor(target, cv2.COLOR_BGR2LAB).astype(np.float32)
    donor_mean, donor_std = donor_lab[inside].mean(axis=0), donor_lab[inside].std(axis=0) + 1e-3
    target_mean, target_std = target_lab[inside].mean(axis=0), target_lab[inside].std(axis=0) + 1e-3
    matched = (donor_lab - donor_mean) * (target_std / donor_std) + target_mean
    mixed = donor_lab + strength * (matched - donor_lab)
    return cv2.cvtColor(np.clip(mixed, 0, 255).astype(np.uint8), cv2.COLOR_LAB2BGR)


def identity_blend(face: FaceSample, donor: FaceSample, rng: np.random.Generator) -> np.ndarray:
    """`face`'s picture with `donor`'s face aligned onto it (similarity transform of the landmarks), colour-matched
    inside a self-blend's mask, sometimes blurred or sharpened, and pasted through that mask."""
    matrix, _ = cv2.estimateAffinePartial2D(
        donor.landmarks.astype(np.float32), face.landmarks.astype(np.float32), method=cv2.LMEDS
    )
    if matrix is None:
        matrix = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    height, width = face.image.shape[:2]
    aligned = cv2.warpAffine(donor.image, matrix, (width, height), borderMode=cv2.BORDER_REFLECT)
    mask = blend_mask(face, rng)
    aligned = colour_matched(aligned, face.image, mask, rng.uniform(0.5, 1.0))
    if rng.random() < 0.5:
        aligned = sharpness_jitter(aligned, face.side, rng)
    return composite(face.image, aligned, mask * float(rng.choice([0.75, 1.0, 1.0])))


class DonorPicker:
    """For a training face, a face of another source in the most alike pose among CANDIDATES drawn."""

    def __init__(self, entries: list[dict]) -> None:
        self.faces = [face for entry in entries for face in training.samples_of(entry)]
        self.sources = np.concatenate([np.full(len(entry["frames"]), n) for n, entry in enumerate(entries)])
        self.keys = np.stack([shape_key(face) for face in self.faces])

    def pair(self, rng: np.random.Generator) -> tuple[FaceSample, FaceSample]:
        index = int(rng.integers(len(self.faces)))
        others = np.flatnonzero(self.sources != self.sources[index])
        drawn = rng.choice(others, size=min(CANDIDATES, len(others)), replace=False)
        nearest = drawn[np.argmin(((self.keys[drawn] - self.keys[index]) ** 2).sum(axis=1))]
        return self.faces[index], self.faces[int(nearest)]

    def pairs(self, rng: np.random.Generator, count: int) -> tuple[list[np.ndarray], list[int]]:
        """`count` (real crop, identity-blend crop) pairs, cut, degraded and mirrored alike (`finish_pair`)."""
        crops = []
        for _ in range(count):
            face, donor = self.pair(rng)
            crops.extend(training.finish_pair(face, face.image, identity_blend(face, donor, rng), rng))
        return crops, [0, 1] * count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    training.add_fine_tune_arguments(parser, "/tmp/identity/face_forgery.onnx", "identity blends")
    args = parser.parse_args()
    train_entries, validation_entries = training.split_faces(args)
    train_picker, validation_picker = DonorPicker(train_entries), DonorPicker(validation_entries)
    training.fine_tune_shipped(
        args,
        SHIPPED,
        train_picker.pairs,
        round(args.share * args.batch / 2),
        lambda network: {
            "auc_identity_blend": training.pairs_auc(
                network, validation_picker.pairs(np.random.default_rng(args.seed + 2), 120)
            )
        },
    )


if __name__ == "__main__":
    main()
