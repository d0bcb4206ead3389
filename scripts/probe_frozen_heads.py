"""Probe: does a head over a FROZEN face-pretrained network beat the fine-tuned forgery detector?

Cuts a network into a feature extractor with dynamic input size (InsightFace's w600k_mbf at its four stages, or
the 106-point landmark network 2d106det), pools each map (mean, std, and a 2x2 grid of std on the early maps) of
crops made exactly as `train_detector.py` makes them (real, self-blended and effects pairs of the training and
validation people, from its face cache), then fits a linear or small MLP head. Training people are scored
out-of-fold (5 folds by source), validation people by the head fitted on every training person, and the shared
fakes (never trained on) are ranked per source against all of those reals, as `train_detector.py evaluate` does.

    python scripts/train_detector.py extract && python scripts/train_detector.py extract-fakes
    python scripts/probe_frozen_heads.py features --network mbf --out /tmp/mbf160.npz
    python scripts/probe_frozen_heads.py features --network landmarks --out /tmp/lmk160.npz
    python scripts/probe_frozen_heads.py heads /tmp/mbf160.npz [/tmp/lmk160.npz] [--hidden 256]

Findings (docs/verdicts.md, "What lost"): no variant ranks swaps and reenactments above 0.76 per source.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import train_detector as td

# network -> (file under the models folder, the maps taken, the input it expects: (scale, offset) of the
# detector's [-1, 1] blob; the landmark network takes 0-255 pixels)
NETWORKS = {
    "mbf": ("buffalo_sc/w600k_mbf.onnx", ("347", "397", "473", "509"), (1.0, 0.0)),
    "landmarks": (
        "extras/2d106det.onnx",
        ("conv_4_relu", "conv_6_relu", "conv_12_relu", "conv_14_relu"),
        (127.5, 127.5),
    ),
}
FOLDS = 5


def feature_session(models: Path, network: str, folder: Path):
    """The network cut at its maps, with batch and picture size left open."""
    import onnx
    import onnxruntime as ort

    file, outputs, _ = NETWORKS[network]
    cut = folder / f"probe_{network}.onnx"
    source = onnx.load(str(models / file))
    onnx.utils.extract_model(str(models / file), str(cut), [source.graph.input[0].name], list(outputs))
    model = onnx.load(str(cut))
    for index, name in ((0, "N"), (2, "H"), (3, "W")):
        model.graph.input[0].type.tensor_type.shape.dim[index].dim_param = name
    del model.graph.value_info[:]
    for output in model.graph.output:
        for dim in output.type.tensor_type.shape.dim:
            dim.dim_param = "?"
    onnx.save(model, str(cut))
    return ort.InferenceSession(str(cut), providers=["CPUExecutionProvider"])


def pooled(maps: list[np.ndarray]) -> np.ndarray:
    parts = []
    for m in maps:
        parts += [m.mean(axis=(2, 3)), m.std(axis=(2, 3))]
        if m.shape[2] >= 20:
            h, w = m.shape[2] // 2, m.shape[3] // 2
            parts += [
                m[:, :, i * h : (i + 1) * h, j * w : (j + 1) * w].std(axis=(2, 3)) for i in (0, 1) for j in (0, 1)
            ]
    return np.concatenate(parts, axis=1).astype(np.float32)


def command_features(args: argparse.Namespace) -> None:
    session = feature_session(args.models, args.network, args.work)
    scale, offset = NETWORKS[args.network][2]
    name = session.get_inputs()[0].name

    def features(crops: list[np.ndarray]) -> np.ndarray:
        blob = td.to_blob(crops) * scale + offset
        return np.concatenate([pooled(session.run(None, {name: blob[s : s + 32]})) for s in range(0, len(blob), 32)])

    train_entries, validation_entries = td.split_faces(args)
    entries = train_entries + validation_entries
    rng = np.random.default_rng(args.seed)
    examples, labels, owners = [], [], []
    for owner, entry in enumerate(entries):
        faces = td.samples_of(entry)
        crops = []
        for face in faces:
            for _ in range(args.pairs_per_face):
                label = 1 if rng.random() < 0.6 else 2
                crops += td.make_pair(face, label, rng, faces[rng.integers(len(faces))])
                labels += [0, label]
        examples.append(features(crops))
        owners += [owner] * len(crops)
        print(f"[{owner + 1}/{len(entries)}] {entry['name']}: {len(crops)} crops", flush=True)
    sources, rows, names, splits = [], [], [], []
    for entry in entries + td.load_faces(args.work / "faces", td.fake_sources(args.media)):
        crops = td.source_crops(entry)
        if len(crops) < 2:  # a photo: one frame
            continue
        sources.append(features(crops))
        rows += [len(names)] * len(crops)
        names.append(entry["name"])
        splits.append(entry["split"])
    np.savez(
        args.out, X=np.concatenate(examples), y=np.array(labels), owner=np.array(owners), trained=len(train_entries),
        names=np.array([e["name"] for e in entries]), S=np.concatenate(sources), row_source=np.array(rows),
        source_names=np.array(names), source_splits=np.array(splits),
    )  # fmt: skip


def fit_head(x: np.ndarray, y: np.ndarray, hidden: int, seed: int):
    """A dropout + linear (or one hidden layer) head on standardised features; returns a predict function."""
    import torch

    torch.manual_seed(seed)
    mean, std = x.mean(0), x.std(0) + 1e-6
    inputs, targets = torch.from_numpy((x - mean) / std), torch.from_numpy(y).long()
    layers = (
        [torch.nn.Linear(x.shape[1], hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, 3)]
        if hidden
        else [torch.nn.Linear(x.shape[1], 3)]
    )
    head = torch.nn.Sequential(torch.nn.Dropout(0.3), *layers)
    optimizer = torch.optim.AdamW(head.parameters(), lr=1e-3, weight_decay=1e-3)
    for _ in range(60):
        order = torch.randperm(len(inputs))
        for start in range(0, len(inputs), 256):
            batch = order[start : start + 256]
            loss = torch.nn.functional.cross_entropy(head(inputs[batch]), targets[batch], label_smoothing=0.05)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    head.eval()

    def predict(z: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return torch.softmax(head(torch.from_numpy((z - mean) / std)), 1).numpy()

    return predict


def command_heads(args: argparse.Namespace) -> None:
    data = [np.load(path) for path in args.features]
    first = data[0]
    x, s = np.concatenate([d["X"] for d in data], 1), np.concatenate([d["S"] for d in data], 1)
    y, owner, trained = first["y"], first["owner"], int(first["trained"])
    names, row_source = list(first["names"]), first["row_source"]
    source_names, splits = first["source_names"], first["source_splits"]
    fold = np.random.default_rng(args.seed).integers(FOLDS, size=trained)
    in_training = owner < trained
    probabilities = fit_head(x[in_training], y[in_training], args.hidden, args.seed)(s)
    for k in range(FOLDS):
        kept = in_training & (fold[np.minimum(owner, trained - 1)] != k)
        held = {names[i] for i in range(trained) if fold[i] == k}
        rows = np.isin(source_names[row_source], list(held))
        probabilities[rows] = fit_head(x[kept], y[kept], args.hidden, args.seed)(s[rows])
    for column, label in ((1, "synthetic"), (2, "effects")):
        scores = td.track_scores(probabilities[:, column], row_source)  # per source, in source order
        reals = scores[np.isin(splits, ("train", "validation"))]
        print(f"{label}: {len(reals)} real sources (highest {reals.max():.2f})")
        for dataset in (*td.FAKE_DATASETS, *td.FAKE_GROUPS):
            fakes = scores[np.isin(splits, td.FAKE_GROUPS.get(dataset, (dataset,)))]
            if len(fakes):
                auc, low, high = td.bootstrap_auc(reals, fakes)
                print(f"  {dataset:55s} {len(fakes):2d} fakes  AUC {auc:.2f} [{low:.2f}, {high:.2f}]")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("stage", choices=("features", "heads"))
    parser.add_argument("features", nargs="*", type=Path, help="heads: the feature files, side by side")
    parser.add_argument("--network", choices=tuple(NETWORKS), default="mbf")
    parser.add_argument("--out", type=Path, default=Path("probe_features.npz"))
    parser.add_argument("--pairs-per-face", type=int, default=2)
    parser.add_argument("--hidden", type=int, default=0, help="heads: a hidden layer of this width (0: linear)")
    parser.add_argument("--media", type=Path, default=td.REPO.parent / "shared" / "media")
    parser.add_argument("--models", type=Path, default=td.REPO.parent / "shared" / "models")
    parser.add_argument("--work", type=Path, default=Path.home() / ".cache" / "impersonation-cli" / "train")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    (command_features if args.stage == "features" else command_heads)(args)


if __name__ == "__main__":
    main()
