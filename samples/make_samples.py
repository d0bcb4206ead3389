"""Build the project's demo material from public-domain and CC0 photos that ship inside scikit-image.

    python samples/make_samples.py

Writes `references/Eileen_Collins/ref{1,2}.jpg`, `clips/astronaut_live.mp4` and `clips/no_face.mp4` next to this
file, overwriting them. Deterministic (fixed seed, fixed encoder settings): a second run gives the same pictures.
Needs scikit-image (`pip install scikit-image`, only for regenerating these samples; the tool never imports it)
and ffmpeg with libx264 on PATH. See samples/README.md for what each file shows and its licence.
"""

from __future__ import annotations

import math
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import cv2
import numpy as np
from skimage import data

HERE = Path(__file__).resolve().parent
FPS = 25
SEED = 20240601
JPEG_QUALITY = 90
# Where SCRFD finds Eileen Collins' face in skimage's 512x512 photo: box (181, 56)-(271, 178), so 123 px tall.
FACE_CENTRE = (226.0, 117.0)
FACE_HEIGHT = 123.0

# progress in [0, 1) through a scene -> one BGR frame of the clip's size
Scene = Callable[[float], np.ndarray]


def photo(name: str) -> np.ndarray:
    """A skimage sample photo as the BGR array OpenCV and the tool work with."""
    return cv2.cvtColor(getattr(data, name)(), cv2.COLOR_RGB2BGR)


def view(image: np.ndarray, size: tuple[int, int], scale: float, centre: tuple[float, float]) -> np.ndarray:
    """The frame a camera of `size` (w, h) sees looking at `centre` of `image` magnified by `scale`.

    The centre is clamped so the frame never leaves the picture: padding would show as bars, and mirrored
    padding could put a second (mirrored) face into the frame.
    """
    width, height = size
    rows, cols = image.shape[:2]
    half_w, half_h = width / (2 * scale), height / (2 * scale)
    cx = min(max(centre[0], half_w), cols - half_w)
    cy = min(max(centre[1], half_h), rows - half_h)
    matrix = np.array([[scale, 0.0, width / 2 - scale * cx], [0.0, scale, height / 2 - scale * cy]])
    return cv2.warpAffine(image, matrix, size, flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)


def lerp(start: float, end: float, progress: float) -> float:
    return start + (end - start) * progress


def panning(name: str, size: tuple[int, int]) -> Scene:
    """A face-free photo filling the frame with 25 % to spare, panned slowly from its left to its right."""
    image = photo(name)
    rows, cols = image.shape[:2]
    scale = 1.25 * max(size[0] / cols, size[1] / rows)

    def frame(progress: float) -> np.ndarray:
        centre = (lerp(0.3 * cols, 0.7 * cols, progress), lerp(0.45 * rows, 0.55 * rows, progress))
        return view(image, size, scale, centre)

    return frame


def astronaut_live(size: tuple[int, int], rng: np.random.Generator) -> Scene:
    """Eileen Collins' photo as a presenter in a stream: a slow zoom and drift, breathing light, sensor noise.

    The zoom takes her face from about 310 to 395 px tall at 720p, inside the 200-450 px the brief asks for.
    """
    image = photo("astronaut")
    start, end = 310 / FACE_HEIGHT * size[1] / 720, 395 / FACE_HEIGHT * size[1] / 720

    def frame(progress: float) -> np.ndarray:
        centre = (FACE_CENTRE[0] + lerp(-20, 20, progress), FACE_CENTRE[1] + lerp(10, -10, progress))
        picture = view(image, size, lerp(start, end, progress), centre).astype(np.float32)
        gain = 1.0 + 0.08 * np.sin(2 * np.pi * progress * 3)  # three gentle light swells over the scene
        # Noise makes every frame differ, as a camera's would; the photo alone would repeat pixel for pixel.
        noisy = picture * gain + rng.normal(0.0, 2.5, picture.shape).astype(np.float32)
        return np.clip(noisy, 0, 255).astype(np.uint8)

    return frame


def frames(scenes: list[tuple[float, Scene]]) -> Iterator[np.ndarray]:
    """Every frame of scenes played back to back, each scene lasting its seconds at FPS.

    A frame belongs to the scene whose [start, end) holds its timestamp, so a scene from 2 s to 6.5 s owns
    frames 50-162 and the README's times are exact whatever the rounding.
    """
    start = 0.0
    for seconds, scene in scenes:
        first, stop = math.ceil(start * FPS), math.ceil((start + seconds) * FPS)
        for index in range(first, stop):
            yield scene((index - first) / (stop - first))
        start += seconds


def encode(path: Path, size: tuple[int, int], pictures: Iterator[np.ndarray]) -> None:
    """Pipe raw frames into ffmpeg: one lossy H.264 (yuv420p) encode that browsers and every decoder read.

    bitexact and no metadata keep ffmpeg's version strings out of the file, so reruns give the same bytes.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    source = ["-f", "rawvideo", "-pix_fmt", "bgr24", "-s", f"{size[0]}x{size[1]}", "-r", str(FPS), "-i", "-"]
    video = ["-c:v", "libx264", "-preset", "slow", "-crf", "26", "-g", str(FPS), "-pix_fmt", "yuv420p"]
    container = ["-movflags", "+faststart", "-map_metadata", "-1", "-flags", "+bitexact", "-fflags", "+bitexact"]
    command = ["ffmpeg", "-y", "-hide_banner", "-loglevel", "error", *source, *video, *container, str(path)]
    encoder = subprocess.Popen(command, stdin=subprocess.PIPE)
    assert encoder.stdin is not None
    with encoder.stdin:
        for picture in pictures:
            encoder.stdin.write(picture.tobytes())
    if encoder.wait() != 0:
        raise RuntimeError(f"ffmpeg failed to write {path}")


def reference_photos() -> tuple[np.ndarray, np.ndarray]:
    """Two enrolment photos: a tight head crop, and a mirrored, tilted, brighter, smaller head-and-shoulders shot."""
    image = photo("astronaut")
    tight = cv2.resize(image[0:260, 110:340], None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC)
    mirrored = image[:, ::-1]
    tilt = cv2.getRotationMatrix2D((511 - FACE_CENTRE[0], FACE_CENTRE[1]), 6, 0.8)
    turned = cv2.warpAffine(mirrored, tilt, (512, 512), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)
    brighter = cv2.convertScaleAbs(turned, alpha=1.1, beta=12)
    return tight, brighter[0:400, 80:420]


def main() -> None:
    if shutil.which("ffmpeg") is None:
        raise SystemExit("ffmpeg is needed to encode the clips (apt install ffmpeg)")
    people = HERE / "references" / "Eileen_Collins"
    people.mkdir(parents=True, exist_ok=True)
    for index, picture in enumerate(reference_photos(), start=1):
        cv2.imwrite(str(people / f"ref{index}.jpg"), picture, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])

    hd, small = (1280, 720), (640, 360)
    rng = np.random.default_rng(SEED)
    live = [(2.0, panning("coffee", hd)), (4.5, astronaut_live(hd, rng)), (1.5, panning("rocket", hd))]
    encode(HERE / "clips" / "astronaut_live.mp4", hd, frames(live))
    empty = [(1.5, panning("chelsea", small)), (1.5, panning("coffee", small))]
    encode(HERE / "clips" / "no_face.mp4", small, frames(empty))


if __name__ == "__main__":
    main()
