"""Compare the packs' detectors on the shared media: faces found (score >= 0.5, >= 20 px) and time per frame.

    python scripts/compare_detectors.py --shared ../shared [--fps 1]

The default pack's detector was chosen with this script (numbers in the README / docs/benchmark.md).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from impersonation_cli.io.sources import sample_frames
from impersonation_cli.runtime.engine import DetectorSettings, FaceEngine
from impersonation_cli.runtime.packs import ModelPack

CLIPS = (
    "face_recognition/short_hamilton_clip.mp4",
    "facenet_pytorch/video.mp4",
    "ffpp_icpr2020dfdc/original/634.mp4",
    "ffpp_icpr2020dfdc/original/004.mp4",
    "dfdc_icpr2020dfdc/notebook_samples/lynaeydofd.mp4",
    "effects_short_video/douyin_style_dance_vtest.avi",
    "ai_digital_human_MuseTalk/sun.mp4",
    "sadtalker/WDA_KatieHill_000.mp4",
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[2] / "shared")
    parser.add_argument("--fps", type=float, default=1.0)
    args = parser.parse_args()
    models = args.shared / "models"
    detectors = {"det_500m": models / "buffalo_sc" / "det_500m.onnx", "det_2.5g": models / "extras" / "det_2.5g.onnx"}
    frames = [f.image for clip in CLIPS for f in sample_frames(str(args.shared / "media" / clip), args.fps)]
    print(f"{len(frames)} frames from {len(CLIPS)} clips at {args.fps} fps")
    for closeup in (False, True):
        for name, path in detectors.items():
            pack = ModelPack(
                name, path.parent, {"detection": path, "recognition": models / "buffalo_sc" / "w600k_mbf.onnx"}
            )
            engine = FaceEngine(pack, device="cpu", detector=DetectorSettings(closeup_pass=closeup))
            engine.detect(frames[0])  # warm-up
            start = time.perf_counter()
            counts = [len(engine.detect(frame)) for frame in frames]
            elapsed = (time.perf_counter() - start) / len(frames) * 1000
            with_face = sum(1 for c in counts if c)
            print(
                f"{name:9} close-up pass {'on ' if closeup else 'off'}: {sum(counts):4d} faces, "
                f"{with_face:3d}/{len(frames)} frames with a face, {elapsed:5.1f} ms/frame"
            )


if __name__ == "__main__":
    main()
