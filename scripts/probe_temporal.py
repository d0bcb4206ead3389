"""Issue 15's second detector, probed: can a network that sees two frames of one face tell generated faces
(digital humans, animated portraits, talking heads) from real ones, when it learns from real faces only?

Real examples are two consecutive extracted frames of the largest face of a REAL training clip. Fake
examples are made from the same frames the way generators make video (forgery/animate.py): one still of the
track given two consecutive frames' expressions by landmark warps (warping generators move one picture), or
two consecutive frames with the lower face redrawn from other frames at a lower resolution (lip-sync
generators). Every crop is degraded on its own, as video frames are compressed one by one. A small network of
our own (no third-party weights) sees the two crops stacked as 6 channels. The shared fakes are only scored:
per source, the mean of the top 3 pair probabilities over up to 12 pairs of consecutive extracted frames,
against the held-out real clips, with bootstrap intervals, as `train_detector.py evaluate` does for the
one-frame model.

    python scripts/train_detector.py extract && python scripts/train_detector.py extract-fakes
    python scripts/probe_temporal.py --steps 1500      # CPU, 2 cores
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import train_detector as td

from impersonation_cli.forgery.animate import reanimate, redrawn_mouth
from impersonation_cli.forgery.crops import face_crop
from impersonation_cli.forgery.selfblend import FaceSample, degrade

INPUT_SIZE = 112
PAIRS_PER_SOURCE = 12


def track_faces(entry: dict) -> list[FaceSample]:
    """The largest face of each extracted frame, in frame order."""
    faces = td.samples_of(entry)
    return [faces[i] for i in td.largest_faces(entry)]


def crop(face: FaceSample, image: np.ndarray, rng: np.random.Generator | None) -> np.ndarray:
    out = face_crop(image, face.box, face.keypoints, INPUT_SIZE, td.CROP_WIDEN)
    return degrade(out, rng) if rng is not None else out


def neighbours(track: list[FaceSample], rng: np.random.Generator) -> tuple[FaceSample, FaceSample]:
    """Two consecutive extracted frames, as the sources are scored (a random pair would differ far more)."""
    start = int(rng.integers(len(track) - 1))
    return track[start], track[start + 1]


def real_pair(track: list[FaceSample], rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    a, b = neighbours(track, rng)
    return crop(a, a.image, rng), crop(b, b.image, rng)


def fake_pair(track: list[FaceSample], rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Two consecutive frames' expressions given to one still of the track, or two consecutive frames with their
    lower faces redrawn from other frames."""
    b, c = neighbours(track, rng)
    a, d, e = (track[i] for i in rng.choice(len(track), size=3, replace=len(track) < 3))
    if rng.random() < 0.5:
        return crop(a, reanimate(a, rng, b), rng), crop(a, reanimate(a, rng, c), rng)
    return crop(b, redrawn_mouth(b, rng, d), rng), crop(c, redrawn_mouth(c, rng, e), rng)


def blob(pairs: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """Each pair as one 6-channel input, normalised as the one-frame model's; the later frame's channels come
    first, as in the measured runs."""
    earlier, later = zip(*pairs, strict=True)
    return np.concatenate([td.to_blob(list(later)), td.to_blob(list(earlier))], axis=1)


def make_batch(tracks: list[list[FaceSample]], rng: np.random.Generator, size: int) -> tuple[np.ndarray, np.ndarray]:
    pairs, labels = [], []
    for n in range(size):
        track = tracks[int(rng.integers(len(tracks)))]
        pairs.append(fake_pair(track, rng) if n % 2 else real_pair(track, rng))
        labels.append(n % 2)
    return blob(pairs), np.array(labels)


def build_network():
    import torch
    import torch.nn as nn

    block = td.separable_block

    class PairNetwork(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.trunk = nn.Sequential(block(6, 32), block(32, 64), block(64, 128), block(128, 256))
            self.norm = nn.BatchNorm1d(512)
            self.head = nn.Linear(512, 2)

        def forward(self, x):
            maps = self.trunk(x)
            return self.head(self.norm(torch.cat([maps.mean(dim=(2, 3)), maps.std(dim=(2, 3))], dim=1)))

    return PairNetwork()


def fake_probability(network, data: np.ndarray) -> np.ndarray:
    import torch

    network.eval()
    with torch.no_grad():
        logits = torch.cat([network(torch.from_numpy(data[s : s + 64])) for s in range(0, len(data), 64)])
    return torch.softmax(logits, dim=1)[:, 1].numpy()


def source_score(network, entry: dict) -> float | None:
    """Mean of the top 3 fake probabilities over up to 12 pairs of consecutive frames of the largest face."""
    track = track_faces(entry)
    if len(track) < 2:
        return None
    starts = np.linspace(0, len(track) - 2, min(PAIRS_PER_SOURCE, len(track) - 1)).astype(int)
    pairs = [(crop(track[i], track[i].image, None), crop(track[i + 1], track[i + 1].image, None)) for i in starts]
    return float(np.sort(fake_probability(network, blob(pairs)))[::-1][: td.TOP_K].mean())


def main() -> None:
    import torch

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--media", type=Path, default=td.REPO.parent / "shared" / "media")
    parser.add_argument("--work", type=Path, default=Path.home() / ".cache" / "impersonation-cli" / "train")
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=20261204)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("/tmp/probe_temporal.json"))
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    train_entries, validation_entries = td.split_faces(args)
    tracks = [t for t in (track_faces(e) for e in train_entries) if len(t) >= 2]
    held_out = [t for t in (track_faces(e) for e in validation_entries) if len(t) >= 2]
    validation = make_batch(held_out, np.random.default_rng(args.seed + 1), 400)
    print(f"{len(tracks)} training clips, {len(held_out)} held-out clips", flush=True)
    network = build_network()
    optimizer = torch.optim.AdamW(network.parameters(), lr=args.lr, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=args.lr, total_steps=args.steps, pct_start=0.1)
    rng, started, history = np.random.default_rng(args.seed), time.time(), []
    for step in range(args.steps):
        network.train()
        data, labels = make_batch(tracks, rng, args.batch)
        loss = torch.nn.functional.cross_entropy(network(torch.from_numpy(data)), torch.from_numpy(labels))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
        if (step + 1) % 250 == 0 or step + 1 == args.steps:
            probabilities = fake_probability(network, validation[0])
            auc = td.roc_auc(probabilities[validation[1] == 0], probabilities[validation[1] == 1])
            history.append({"step": step + 1, "seconds": round(time.time() - started), "held_out_pair_auc": auc})
            print(json.dumps(history[-1]), f"loss {loss.item():.3f}", flush=True)
    real = np.array([s for e in validation_entries if (s := source_score(network, e)) is not None])
    fakes = td.load_faces(args.work / "faces", td.fake_sources(args.media))
    by_dataset = {
        dataset: np.array([s for e in fakes if e["split"] == dataset and (s := source_score(network, e)) is not None])
        for dataset in td.FAKE_DATASETS
    }
    groups = {**by_dataset, **{g: np.concatenate([by_dataset[d] for d in ds]) for g, ds in td.FAKE_GROUPS.items()}}
    rows = {}
    for dataset, scores in groups.items():
        auc, low, high = td.bootstrap_auc(real, scores)
        rows[dataset] = {"fakes": len(scores), "auc": round(auc, 3), "ci95": [round(low, 3), round(high, 3)]}
        print(f"{dataset:55} n={len(scores):2}  AUC {auc:.2f} [{low:.2f}, {high:.2f}]")
    record = {"held_out_real_clips": len(real), "history": history, "rows": rows, "command": " ".join(sys.argv)}
    args.out.write_text(json.dumps(record, indent=1))


if __name__ == "__main__":
    main()
