"""The fast paths give the same answers as the slow ones, on real media (correctness only, never timing)."""

from __future__ import annotations

import itertools
import json
import threading
from pathlib import Path

import cv2
import numpy as np
import pytest

from impersonation_cli.io.sources import DecodeStats, _sample_capture, open_capture, picture_extent, sample_frames
from impersonation_cli.io.threads import run_ahead
from impersonation_cli.runtime.engine import FaceEngine

from ..conftest import SAMPLES, run_cli

pytestmark = pytest.mark.shared_media

CLIPS = [
    "ffpp_icpr2020dfdc/original/634.mp4",
    "ffpp_icpr2020dfdc/original/004.mp4",
    "face_recognition/short_hamilton_clip.mp4",
    "sadtalker/WDA_KatieHill_000.mp4",
]
DAMAGED = "opencv_samples_debian/Megamind_bugy.avi"
TALKING_HEAD = "sadtalker/WDA_KatieHill_000.mp4"


def _opencv_times(source: str, fps: float) -> tuple[list[float], float]:
    capture = open_capture(source)
    try:
        times = [f.time_s for f in _sample_capture(source, capture, fps, DecodeStats())]
        return times, 1.0 / capture.get(cv2.CAP_PROP_FPS)
    finally:
        capture.release()


@pytest.mark.parametrize("clip", CLIPS)
def test_fast_sampler_takes_the_opencv_sample_times(media: Path, clip: str) -> None:
    source = str(media / clip)
    stats = DecodeStats()
    fast = [(f.time_s, f.image.shape) for f in sample_frames(source, 2.0, stats)]
    slow, frame_s = _opencv_times(source, 2.0)
    assert stats.decoder == "pyav"
    assert len(fast) == len(slow) == stats.frames_sampled
    # The same frames; OpenCV times them from the picture's first frame, the scan from the file's start (the
    # Hamilton clip's picture begins 0.844 s in).
    extent = picture_extent(source)
    assert extent is not None
    assert np.abs(np.array([t for t, _ in fast]) - np.array(slow) - extent[0]).max() <= frame_s + 1e-3
    assert all(shape[2] == 3 for _, shape in fast)
    assert stats.frames_decoded + stats.frames_skipped >= 0.9 * round(slow[-1] / frame_s)


def test_fast_sampler_skips_decoding_frames_no_sample_needs(media: Path) -> None:
    stats = DecodeStats()
    frames = list(sample_frames(str(media / "ffpp_icpr2020dfdc/original/634.mp4"), 2.0, stats))
    assert stats.frames_skipped > 0
    assert stats.frames_decoded + stats.frames_skipped == 338
    assert len(frames) == 27 and not stats.truncated


def test_damaged_file_gives_the_same_samples_as_opencv(media: Path) -> None:
    """The damaged AVI's index is broken but its frames decode (a scan reports it "ok", test_scan): the fast
    sampler must read it in order, not refuse it, and take OpenCV's sample times within a frame."""
    source = str(media / DAMAGED)
    stats = DecodeStats()
    times = [f.time_s for f in sample_frames(source, 2.0, stats)]
    slow, frame_s = _opencv_times(source, 2.0)
    assert len(slow) >= 10 and not stats.truncated
    assert all(b > a for a, b in itertools.pairwise(times))
    assert abs(len(times) - len(slow)) <= 1  # broken timing: give or take the last sample
    common = min(len(times), len(slow))
    assert np.abs(np.array(times[:common]) - np.array(slow[:common])).max() <= frame_s + 1e-3


def test_fitted_detector_input_finds_the_faces_a_square_input_finds(media: Path, engine: FaceEngine) -> None:
    frames = list(sample_frames(str(media / "face_recognition/short_hamilton_clip.mp4"), 1.0))
    for frame in frames:
        square, _ = engine.detector.detect(frame.image, input_size=(640, 640))
        fitted = engine.detect(frame.image)
        square = square[np.minimum(square[:, 2] - square[:, 0], square[:, 3] - square[:, 1]) >= 20]
        assert len(fitted) == len(square)
        if len(square):
            order = np.lexsort((square[:, 1], square[:, 0]))
            fitted_order = np.lexsort((fitted.boxes[:, 1], fitted.boxes[:, 0]))
            assert np.abs(square[order, :4] - fitted.boxes[fitted_order]).max() < 4.0


def test_bench_json_reports_every_path_and_full_recall(media: Path, cli_env: dict[str, str]) -> None:
    done = run_cli(["bench", str(media / TALKING_HEAD), "--json", "--device", "cpu"], cli_env, timeout=600)
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["schema"] == "impersonation-cli/bench" and document["version"] == 1
    assert set(document["paths"]) == {"decode_all", "decode_sampled", "naive", "scan", "exhaustive"}
    for run in document["paths"].values():
        assert run["wall_s"] > 0 and run["frames"] > 0 and run["peak_rss_mb"] > 0
        assert run["realtime_factor"] == pytest.approx(run["video_s"] / run["wall_s"], rel=0.02, abs=0.02)
    assert document["paths"]["decode_all"]["frames"] == 200
    assert document["paths"]["scan"]["frames"] == 16 and document["paths"]["scan"]["faces"] >= 14
    assert set(document["ratios"]) == {"scan_vs_decode_all", "scan_vs_decode_sampled", "scan_vs_naive"}
    # The talking head is on screen throughout: the exhaustive path must see someone, and the 2 fps scan
    # must find every appearance it sees.
    recall = document["recall"]
    assert document["gallery"]["identities"] >= 1
    assert recall["expected"] >= 1
    assert recall["recall"] == 1.0 and recall["missed"] == []


def test_decoding_ahead_keeps_frames_order_and_errors() -> None:
    clip = str(SAMPLES / "clips" / "astronaut_live.mp4")
    direct = [(f.index, f.time_s) for f in sample_frames(clip, 2.0)]
    ahead = [(f.index, f.time_s) for f in run_ahead(sample_frames(clip, 2.0))]
    assert ahead == direct and len(direct) >= 15
    # A consumer that stops early does not leave the decoding thread hanging.
    first = next(run_ahead(sample_frames(clip, 2.0)))
    assert first.index == 0
    threads_before = threading.active_count()
    frames = run_ahead(sample_frames(clip, 2.0))
    next(frames)
    frames.close()
    assert threading.active_count() <= threads_before


@pytest.mark.parametrize("clip", ["opencv_samples_debian/Megamind.avi", DAMAGED])
def test_an_avi_with_b_frames_gives_each_frame_its_own_time(media: Path, clip: str) -> None:
    """These AVIs carry decode-order times: read as the frames' times, one frame in three fell a frame back, so a
    sampler at or above the clip's rate took 182 of its 270 frames. Times as FFmpeg's best effort: every frame but
    the first reordered one, a frame apart."""
    stats = DecodeStats()
    times = np.array([f.time_s for f in sample_frames(str(media / clip), 60.0, stats)])
    assert stats.frames_decoded == 270 and len(times) >= 268
    steps = np.diff(times)
    assert (steps > 0).all() and np.median(steps) == pytest.approx(steps.min(), rel=0.01)
