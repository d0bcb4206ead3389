"""Write the int8 detector's calibration pictures (impersonation_cli/data/calibration/) from the project's samples.

Quantizing SCRFD to int8 needs the range of every activation on real pictures. These come from samples/
only (public-domain photos, see samples/README.md), so any machine can rebuild the same int8 detector
without third-party media: faces at several sizes and places, and scenes with no face. Run from the
repository root after `python samples/make_samples.py`; the detector's quantizer adds contrast, dimming,
grey and small-scale variants of each picture itself (impersonation_cli/runtime/quantize.py).
"""

from __future__ import annotations

from pathlib import Path

import cv2

SAMPLES = Path("samples")
TARGET = Path("impersonation_cli/data/calibration")
# (clip, seconds): frames of the face at its several zoom steps, and the face-free scenes around it.
FRAMES = [
    ("clips/astronaut_live.mp4", 0.5),
    ("clips/astronaut_live.mp4", 2.4),
    ("clips/astronaut_live.mp4", 3.4),
    ("clips/astronaut_live.mp4", 4.4),
    ("clips/astronaut_live.mp4", 5.4),
    ("clips/astronaut_live.mp4", 6.3),
    ("clips/astronaut_live.mp4", 7.2),
    ("clips/no_face.mp4", 0.8),
]
WIDTH = 640  # the detector's input size: larger pictures would be shrunk to it anyway


def frame_at(clip: Path, seconds: float) -> cv2.typing.MatLike:
    capture = cv2.VideoCapture(str(clip))
    capture.set(cv2.CAP_PROP_POS_MSEC, seconds * 1000)
    ok, image = capture.read()
    capture.release()
    if not ok:
        raise SystemExit(f"{clip}: no frame at {seconds} s")
    return image


def fit(image: cv2.typing.MatLike) -> cv2.typing.MatLike:
    scale = WIDTH / max(image.shape[:2])
    return cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else image


def main() -> None:
    TARGET.mkdir(parents=True, exist_ok=True)
    pictures = {f"{Path(clip).stem}_{seconds:.1f}s": frame_at(SAMPLES / clip, seconds) for clip, seconds in FRAMES}
    for reference in sorted((SAMPLES / "references").rglob("*.jpg")):
        pictures[f"{reference.parent.name}_{reference.stem}"] = cv2.imread(str(reference))
    for name, image in pictures.items():
        cv2.imwrite(str(TARGET / f"{name}.jpg"), fit(image), [cv2.IMWRITE_JPEG_QUALITY, 90])
    print(f"wrote {len(pictures)} pictures to {TARGET}")


if __name__ == "__main__":
    main()
