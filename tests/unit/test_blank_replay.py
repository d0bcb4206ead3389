"""A blank picture (black, a solid card, a fade) is nobody's footage. Its blocks' ranks are ties broken by position,
the same for every blank picture: footage with a black lead-in, stored, matched any stream's black stretch at
distance 0.00, and an unrelated clip that opened on 6 s of black was a likely-replay of that person's footage."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from impersonation_cli.errors import UserError
from impersonation_cli.gallery.store import FINGERPRINT_METHOD, FootageVideo
from impersonation_cli.pipeline.faces import Frame
from impersonation_cli.pipeline.signals.replay import (
    FootageIndex,
    ReplayDetector,
    ReplaySettings,
    fingerprint_video,
    footage_fingerprint,
)

FPS = 8.0


def texture(number: int) -> np.ndarray:
    return np.random.default_rng(number).integers(0, 255, (72, 128, 3), dtype=np.uint8)


def black(_number: int) -> np.ndarray:
    return np.zeros((72, 128, 3), dtype=np.uint8)


def index_of(images: list[np.ndarray]) -> FootageIndex:
    """One footage video of these frames at FPS, as a gallery stored them before blank frames were left out."""
    video = FootageVideo("Someone", "past.mp4", "0" * 64, FINGERPRINT_METHOD, FPS, len(images) / FPS, len(images))
    signatures = np.stack([footage_fingerprint(image) for image in images])
    times = np.arange(len(images)) / FPS
    return FootageIndex([video], np.zeros(len(images), np.int64), times, signatures)


def runs_of(index: FootageIndex, images: list[np.ndarray]) -> list:
    detector = ReplayDetector(index, ReplaySettings())
    for number, image in enumerate(images):
        detector.observe(Frame("stream.mp4", number, number / 2.0, image))
    return detector.replay_runs()


def test_a_black_stretch_matches_no_footage_with_black_frames() -> None:
    footage = [black(n) for n in range(24)] + [texture(n) for n in range(40)]
    assert runs_of(index_of(footage), [black(n) for n in range(12)]) == []


def test_a_copy_of_the_footage_still_matches() -> None:
    footage = [black(n) for n in range(24)] + [texture(n) for n in range(40)]
    copy = [black(0)] * 6 + [texture(n) for n in range(0, 40, 4)]  # the stream samples at 2 fps
    [run] = runs_of(index_of(footage), copy)
    assert run.frames == 10 and run.mean_distance < 1.0


def write_clip(path: Path, images: list[np.ndarray]) -> Path:
    with av.open(str(path), "w") as out:
        stream = out.add_stream("mpeg4", rate=10)
        stream.width, stream.height = 128, 72
        stream.pix_fmt = "yuv420p"
        for image in images:
            out.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="bgr24")))
        out.mux(stream.encode())
    return path


def test_blank_frames_are_not_stored_and_blank_footage_is_refused(tmp_path: Path) -> None:
    lead_in = write_clip(tmp_path / "lead_in.mp4", [black(n) for n in range(20)] + [texture(n) for n in range(20)])
    frames, duration_s = fingerprint_video(lead_in, FPS)
    assert min(t for t, _ in frames) >= 1.9 and duration_s > 3.5  # the black second left out, the length kept
    blank = write_clip(tmp_path / "blank.mp4", [black(n) for n in range(30)])
    with pytest.raises(UserError, match=r"blank\.mp4: every frame is blank \(one flat colour\)"):
        fingerprint_video(blank, FPS)
