"""Make labelled impersonation cases from the real clips and photos in ../shared/media, for `impersonation-cli eval`.

    python scripts/make_cases.py OUT_DIR [--only pasted,beautified,replay,loop,concurrent,clean] [--media DIR]

Writes short clips (<= 8 s, <= 720p) and reference photos into OUT_DIR and OUT_DIR/cases.yaml. Nothing random:
every transform has fixed parameters, so two runs make the same cases. The people: Katie Hill and Alexandria
Ocasio-Cortez (sadtalker WDA clips: enrolled from frames of their first half, tested on the rest) and Barack
Obama (face_recognition photos). Cases:
  pasted      Obama's photo seamlessly cloned over the moving face of an FF++ original (aligned by the five
              detector keypoints every frame)                                -> likely-effects
  beautified  Katie Hill's second half with her face smoothed and brightened -> likely-effects
  replay      Katie Hill's first half cropped, mirrored, brightened, re-encoded, with a price banner; the first
              half itself is her footage                                      -> likely-replay
  loop        3.5 s of Alexandria Ocasio-Cortez repeated three times         -> likely-replay (loop)
  concurrent  the two halves of her clip in two rooms starting together      -> concurrent
  clean       Katie Hill's untouched second half in her authorized room      -> authorized
Needs the face models (IMPERSONATION_MODELS / --models) for the pasted and beautified cases.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import cv2
import numpy as np
import yaml

from impersonation_cli.config import load_config
from impersonation_cli.runtime.engine import FaceEngine
from impersonation_cli.runtime.packs import load_pack, model_root

FFMPEG = "/usr/bin/ffmpeg"
KATIE = "Katie Hill"
ALEXANDRIA = "Alexandria Ocasio-Cortez"
OBAMA = "Barack Obama"
KATIE_CLIP = "sadtalker/WDA_KatieHill_000.mp4"
ALEXANDRIA_CLIP = "sadtalker/WDA_AlexandriaOcasioCortez_000.mp4"
PASTE_TARGET = "ffpp_icpr2020dfdc/original/519.mp4"
OBAMA_PHOTO = "face_recognition/obama.jpg"
KIND_NAMES = ("pasted", "beautified", "replay", "loop", "concurrent", "clean")
STARTED_AT = "2026-11-20T20:00:00+08:00"
AUTHORIZED_ROOM = "douyin:1"


def ffmpeg(*args: str) -> None:
    subprocess.run([FFMPEG, "-hide_banner", "-loglevel", "error", "-y", *args], check=True, timeout=300)


def cut(source: Path, out: Path, start_s: float, length_s: float, filters: str = "null") -> Path:
    """A re-encoded piece of a clip, optionally filtered (x264, no audio)."""
    ffmpeg("-ss", str(start_s), "-t", str(length_s), "-i", str(source), "-vf", filters, "-c:v", "libx264",
           "-crf", "23", "-an", str(out))  # fmt: skip
    return out


def frames_of(video: Path, start_s: float, length_s: float) -> Iterator[tuple[float, np.ndarray]]:
    """Every decoded frame in [start_s, start_s + length_s)."""
    capture = cv2.VideoCapture(str(video))
    capture.set(cv2.CAP_PROP_POS_MSEC, start_s * 1000)
    try:
        while True:
            ok, image = capture.read()
            time_s = capture.get(cv2.CAP_PROP_POS_MSEC) / 1000
            if not ok or time_s >= start_s + length_s:
                return
            yield time_s, image
    finally:
        capture.release()


def rewrite(video: Path, out: Path, start_s: float, length_s: float, edit: Callable[[np.ndarray], np.ndarray]) -> Path:
    """A piece of a clip with every frame edited, written by OpenCV and re-encoded to x264 by ffmpeg."""
    fps = cv2.VideoCapture(str(video)).get(cv2.CAP_PROP_FPS) or 25.0
    raw = out.with_suffix(".raw.avi")
    writer = None
    for _, image in frames_of(video, start_s, length_s):
        edited = edit(image)
        if writer is None:
            size = (edited.shape[1], edited.shape[0])
            writer = cv2.VideoWriter(str(raw), cv2.VideoWriter_fourcc(*"MJPG"), fps, size)
        writer.write(edited)
    if writer is None:
        raise SystemExit(f"{video}: no frames between {start_s} and {start_s + length_s} s")
    writer.release()
    ffmpeg("-i", str(raw), "-c:v", "libx264", "-crf", "20", "-an", str(out))
    raw.unlink()
    return out


def still(video: Path, time_s: float, out: Path) -> Path:
    image = next(image for t, image in frames_of(video, time_s, 1.0))
    cv2.imwrite(str(out), image)
    return out


def largest_face(engine: FaceEngine, image: np.ndarray) -> np.ndarray | None:
    """The five keypoints of the largest face, or None."""
    faces = engine.detect(image)
    return faces.keypoints[int(np.argmax(faces.sizes))] if len(faces) else None


def face_mask(shape: tuple[int, ...], keypoints: np.ndarray, grow: float) -> np.ndarray:
    """An ellipse around the eyes, nose and mouth, `grow` times the keypoints' spread."""
    centre = keypoints.mean(axis=0)
    spread = np.ptp(keypoints, axis=0) * grow
    mask = np.zeros(shape[:2], dtype=np.uint8)
    axes = (int(spread[0] / 2) + 1, int(spread[1] / 2 * 1.3) + 1)
    cv2.ellipse(mask, (int(centre[0]), int(centre[1] + spread[1] * 0.1)), axes, 0, 0, 360, 255, -1)
    return mask


def paste_photo(engine: FaceEngine, photo: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """Seamlessly clone the photo's face onto the frame's largest face, aligned by the five keypoints."""
    source_points = largest_face(engine, photo)
    if source_points is None:
        raise SystemExit("no face in the photo to paste")

    def edit(image: np.ndarray) -> np.ndarray:
        target_points = largest_face(engine, image)
        if target_points is None:
            return image
        matrix, _ = cv2.estimateAffinePartial2D(source_points, target_points)
        warped = cv2.warpAffine(photo, matrix, (image.shape[1], image.shape[0]), borderMode=cv2.BORDER_REFLECT)
        mask = face_mask(image.shape, target_points, 1.6)
        x, y, w, h = cv2.boundingRect(mask)
        return cv2.seamlessClone(warped, image, mask, (x + w // 2, y + h // 2), cv2.NORMAL_CLONE)

    return edit


def beautify(engine: FaceEngine) -> Callable[[np.ndarray], np.ndarray]:
    """A beauty filter on the face only: strong edge-keeping smoothing and brightening, feathered edge."""

    def edit(image: np.ndarray) -> np.ndarray:
        points = largest_face(engine, image)
        if points is None:
            return image
        smooth = cv2.bilateralFilter(image, 15, 60, 15)
        smooth = cv2.convertScaleAbs(smooth, alpha=1.08, beta=22)
        weight = cv2.GaussianBlur(face_mask(image.shape, points, 1.9), (31, 31), 0)[..., None] / 255.0
        return (smooth * weight + image * (1 - weight)).astype(np.uint8)

    return edit


def replay_filters() -> str:
    return (
        "crop=iw*0.78:ih*0.76:iw*0.12:ih*0.10,hflip,scale=720:720,eq=brightness=0.05:contrast=1.1,"
        "drawtext=text='LIMITED OFFER 19.9':fontsize=38:fontcolor=white:box=1:boxcolor=red@0.7:x=60:y=650"
    )


class CaseMaker:
    def __init__(self, out: Path, media: Path, engine: Callable[[], FaceEngine]) -> None:
        self.out, self.media, self._engine_factory = out, media, engine
        self._engine: FaceEngine | None = None
        self.cases: list[dict] = []
        self.footage: dict[str, list[str]] = {}

    @property
    def engine(self) -> FaceEngine:
        if self._engine is None:
            self._engine = self._engine_factory()
        return self._engine

    def add(self, source: Path, identities: list[str], flags: list[str], label: str, **extra: str) -> None:
        # Every registered face is judged authorized or not as well: only Katie Hill in her own room is.
        authorized = extra.get("room") == AUTHORIZED_ROOM and identities == [KATIE]
        flags = ["authorized" if authorized else "unauthorized-likeness", *flags]
        self.cases.append(
            {"source": source.name, **extra, "expected_identities": identities, "expected_flags": flags, "label": label}
        )

    def pasted(self) -> None:
        photo = cv2.imread(str(self.media / OBAMA_PHOTO))
        video = rewrite(self.media / PASTE_TARGET, self.out / "pasted_obama.mp4", 0, 8, paste_photo(self.engine, photo))
        self.add(video, [OBAMA], ["likely-effects"], "Obama's photo seamlessly cloned over FF++ 519's moving face")

    def beautified(self) -> None:
        video = rewrite(self.media / KATIE_CLIP, self.out / "beautified_katie.mp4", 4, 4, beautify(self.engine))
        self.add(video, [KATIE], ["likely-effects"], "Katie Hill's second half with a face-only beauty filter",
                 room=AUTHORIZED_ROOM)  # fmt: skip

    def replay(self) -> None:
        footage = cut(self.media / KATIE_CLIP, self.out / "footage_katie_first_half.mp4", 0, 5.5)
        self.footage.setdefault(KATIE, []).append(footage.name)
        video = cut(self.media / KATIE_CLIP, self.out / "replay_katie.mp4", 0.3, 5.2, replay_filters())
        self.add(video, [KATIE], ["likely-replay"], "her footage from 0.3 s: cropped, mirrored, brightened, banner")

    def loop(self) -> None:
        segment = cut(self.media / ALEXANDRIA_CLIP, self.out / "loop_segment.mp4", 4, 3.5)
        video = self.out / "loop_alexandria.mp4"
        ffmpeg("-stream_loop", "2", "-i", str(segment), "-c:v", "libx264", "-crf", "23", "-an", str(video))
        segment.unlink()
        self.add(video, [ALEXANDRIA], ["likely-replay"], "3.5 s of her clip played three times")

    def concurrent(self) -> None:
        for number, start_s in ((1, 0.0), (2, 4.0)):
            video = cut(self.media / ALEXANDRIA_CLIP, self.out / f"concurrent_alexandria_{number}.mp4", start_s, 4)
            self.add(video, [ALEXANDRIA], ["concurrent"], f"half {number} of her clip, live at the same time",
                     room=f"douyin:30{number}", started_at=STARTED_AT)  # fmt: skip

    def clean(self) -> None:
        video = cut(self.media / KATIE_CLIP, self.out / "clean_katie.mp4", 5.5, 2.5)
        self.add(video, [KATIE], [], "her untouched second half in her authorized room", room=AUTHORIZED_ROOM)

    def gallery(self) -> list[dict]:
        """Katie Hill and Alexandria Ocasio-Cortez from frames of their clips' first half; Obama from photos."""
        people = []
        for name, clip, stem in ((KATIE, KATIE_CLIP, "katie"), (ALEXANDRIA, ALEXANDRIA_CLIP, "alexandria")):
            photos = [still(self.media / clip, t, self.out / f"ref_{stem}_{n}.jpg") for n, t in enumerate((0.5, 2.5))]
            people.append({"name": name, "images": [p.name for p in photos]})
        people[0]["authorized_rooms"] = [AUTHORIZED_ROOM]
        obama = [str(self.media / "face_recognition" / f) for f in ("obama2.jpg", "obama-480p.jpg")]
        people.append({"name": OBAMA, "images": obama})
        return people


def default_engine(models: str | None) -> Callable[[], FaceEngine]:
    def build() -> FaceEngine:
        config = load_config()
        return FaceEngine(load_pack(None, model_root(models)), device="cpu", detector=config.detector)

    return build


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path, help="folder for the clips and cases.yaml")
    parser.add_argument("--only", default=",".join(KIND_NAMES), help="comma-separated case kinds to make")
    parser.add_argument("--media", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "media")
    parser.add_argument("--models", default=None, help="model folder (default: IMPERSONATION_MODELS)")
    args = parser.parse_args(argv)
    kinds = [k.strip() for k in args.only.split(",") if k.strip()]
    unknown = sorted(set(kinds) - set(KIND_NAMES))
    if unknown:
        parser.error(f"unknown case kinds {', '.join(unknown)} (known: {', '.join(KIND_NAMES)})")
    if not args.media.is_dir():
        parser.error(f"{args.media} is not a folder (give --media)")
    args.out.mkdir(parents=True, exist_ok=True)
    maker = CaseMaker(args.out, args.media, default_engine(args.models))
    clock = time.perf_counter()
    for kind in kinds:
        getattr(maker, kind)()
    manifest = {
        "gallery": maker.gallery(),
        "footage": [{"name": n, "videos": v} for n, v in maker.footage.items()],
        "cases": maker.cases,
    }
    (args.out / "cases.yaml").write_text(yaml.safe_dump(manifest, sort_keys=False, allow_unicode=True))
    print(f"{len(maker.cases)} cases in {args.out / 'cases.yaml'} ({time.perf_counter() - clock:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
