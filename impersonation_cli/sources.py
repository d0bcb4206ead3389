"""Source stage: turn user inputs (files, folders, images, stream URLs) into timed frames."""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

# OpenCV's FFmpeg backend writes decoder complaints straight to stderr; damaged inputs are reported
# by us in one line instead.
os.environ.setdefault("OPENCV_LOG_LEVEL", "OFF")
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")

import cv2

from .errors import UnreadableInput
from .types import Frame

VIDEO_EXTENSIONS = frozenset(
    [
        ".mp4",
        ".avi",
        ".mkv",
        ".mov",
        ".flv",
        ".webm",
        ".ts",
        ".m4v",
        ".wmv",
        ".mpg",
        ".mpeg",
        ".3gp",
        ".gif",
        ".m2ts",
        ".mts",
    ]
)
IMAGE_EXTENSIONS = frozenset([".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"])
STREAM_SCHEMES = ("rtmp://", "rtmps://", "rtsp://", "rtsps://", "http://", "https://", "srt://", "udp://")


def is_stream_url(text: str) -> bool:
    return text.lower().startswith(STREAM_SCHEMES)


def is_image(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_EXTENSIONS


@dataclass(frozen=True)
class InputProblem:
    """An input that was named but cannot be scanned (kept so the batch reports it and goes on)."""

    source: str
    message: str


def expand_inputs(inputs: list[str]) -> tuple[list[str], list[InputProblem]]:
    """Files as given, folders searched recursively for known video and image extensions, URLs as is."""
    sources: list[str] = []
    problems: list[InputProblem] = []
    for item in inputs:
        if is_stream_url(item):
            sources.append(item)
            continue
        path = Path(item)
        if path.is_dir():
            found = sorted(
                str(p)
                for p in path.rglob("*")
                if p.is_file() and p.suffix.lower() in VIDEO_EXTENSIONS | IMAGE_EXTENSIONS
            )
            if not found:
                problems.append(InputProblem(item, "folder has no video or image files"))
            sources.extend(found)
        elif path.is_file():
            sources.append(str(path))
        else:
            problems.append(InputProblem(item, "no such file or folder"))
    return sources, problems


@dataclass(frozen=True)
class SourceInfo:
    """What a source says about itself before decoding."""

    source: str
    kind: str  # "video", "image" or "stream"
    width: int
    height: int
    fps: float | None
    duration_s: float | None
    frame_count: int | None


def open_capture(source: str, open_timeout_s: float = 10.0, read_timeout_s: float = 10.0) -> cv2.VideoCapture:
    path = Path(source)
    if not is_stream_url(source):
        if not path.is_file():
            raise UnreadableInput(f"{source}: no such file")
        if path.stat().st_size == 0:
            raise UnreadableInput(f"{source}: empty file (0 bytes)")
    params = [
        cv2.CAP_PROP_OPEN_TIMEOUT_MSEC,
        int(open_timeout_s * 1000),
        cv2.CAP_PROP_READ_TIMEOUT_MSEC,
        int(read_timeout_s * 1000),
    ]
    capture = cv2.VideoCapture(source, cv2.CAP_FFMPEG, params)
    if not capture.isOpened():
        raise UnreadableInput(f"{source}: cannot open (not a video, damaged, or unreachable)")
    return capture


def probe(source: str) -> SourceInfo:
    if not is_stream_url(source) and is_image(Path(source)):
        image = read_image(source)
        return SourceInfo(source, "image", image.shape[1], image.shape[0], None, None, 1)
    capture = open_capture(source)
    try:
        return _capture_info(source, capture)
    finally:
        capture.release()


def _capture_info(source: str, capture: cv2.VideoCapture) -> SourceInfo:
    fps = capture.get(cv2.CAP_PROP_FPS)
    fps = fps if math.isfinite(fps) and 0 < fps < 1000 else None
    count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    count = count if count > 0 else None
    duration = count / fps if (count and fps) else None
    kind = "stream" if is_stream_url(source) else "video"
    return SourceInfo(
        source,
        kind,
        int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)),
        int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT)),
        fps,
        duration,
        count,
    )


def read_image(source: str) -> cv2.typing.MatLike:
    path = Path(source)
    if not path.is_file():
        raise UnreadableInput(f"{source}: no such file")
    if path.stat().st_size == 0:
        raise UnreadableInput(f"{source}: empty file (0 bytes)")
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise UnreadableInput(f"{source}: not a readable image")
    return image


@dataclass
class DecodeStats:
    """How decoding went, for the report: frames read and sampled, and whether it ended early."""

    frames_decoded: int = 0
    frames_sampled: int = 0
    last_time_s: float = 0.0
    truncated: bool = False


def sample_frames(source: str, fps: float, stats: DecodeStats | None = None) -> Iterator[Frame]:
    """Frames at `fps` by presentation time: every other frame is grabbed but never converted to pixels."""
    stats = stats if stats is not None else DecodeStats()
    if not is_stream_url(source) and is_image(Path(source)):
        stats.frames_decoded = stats.frames_sampled = 1
        yield Frame(source=source, index=0, time_s=0.0, image=read_image(source))
        return
    capture = open_capture(source)
    try:
        yield from _sample_capture(source, capture, fps, stats)
    finally:
        capture.release()


def _sample_capture(source: str, capture: cv2.VideoCapture, fps: float, stats: DecodeStats) -> Iterator[Frame]:
    info = _capture_info(source, capture)
    container_fps = info.fps or 25.0
    interval = 1.0 / fps if fps > 0 else 0.0
    next_time = 0.0
    previous_time = -1.0
    index = -1
    while capture.grab():
        index += 1
        stats.frames_decoded += 1
        time_s = _frame_time(capture, index, container_fps, previous_time)
        previous_time = time_s
        stats.last_time_s = time_s
        if time_s + 1e-6 < next_time:
            continue
        ok, image = capture.retrieve()
        if not ok or image is None:
            continue
        stats.frames_sampled += 1
        next_time = max(next_time + interval, time_s + interval * 0.5)
        yield Frame(source=source, index=index, time_s=time_s, image=image)
    if stats.frames_decoded == 0:
        raise UnreadableInput(f"{source}: no decodable video frames (damaged or not a video)")
    if info.frame_count and stats.frames_decoded < 0.9 * info.frame_count and not is_stream_url(source):
        stats.truncated = True


def _frame_time(capture: cv2.VideoCapture, index: int, fps: float, previous: float) -> float:
    # Presentation time from the container when it is sane; containers with broken timing (a wrong
    # frame rate, missing pts) fall back to counting frames.
    pos_ms = capture.get(cv2.CAP_PROP_POS_MSEC)
    if math.isfinite(pos_ms) and pos_ms > 0 and pos_ms / 1000.0 > previous:
        return pos_ms / 1000.0
    return max(index / fps, previous + 1e-3)
