"""A file whose timestamps start far from 0 (`ffmpeg -copyts`, `-output_ts_offset 3600`) is as long as its video
lasts from the first frame, where its frames' times count from. A Matroska, WebM or NUT file's duration is where
its last frame ends counted from timestamp 0 (an FLV's without metadata too): such a 5-s MKV said 'duration_s'
3605 and a sliced scan planned 361 slices, 360 of them empty. The span is the stream's own duration where FFmpeg
has one (MP4, TS: already a span, and taking the start off it again is wrong), else read from the last packets."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from impersonation_cli.io.sources import probe, sample_frames
from impersonation_cli.pipeline.slices import slices_of

from .small_clips import FAST_ENCODING, shifted

SECONDS = 2
RATE = 25
# Each container with a codec it holds, and the muxer's options ("no metadata": an FLV with no duration in it).
CONTAINERS = {
    "mkv": ("libx264", {}),
    "webm": ("libvpx", {}),
    "nut": ("mpeg4", {}),
    "mp4": ("libx264", {}),
    "ts": ("libx264", {}),
    "flv": ("libx264", {}),
    "flv (no metadata)": ("libx264", {"flvflags": "no_duration_filesize"}),
}


def clip_starting_at(path: Path, offset_s: float, codec: str, options: dict[str, str]) -> Path:
    """A 160x120 clip of SECONDS at RATE fps whose timestamps start at `offset_s`, as -output_ts_offset writes."""
    with av.open(str(path), "w", options=options) as out:
        stream = out.add_stream(codec, rate=RATE)
        stream.width, stream.height, stream.pix_fmt = 160, 120, "yuv420p"
        stream.options = {"bf": "0"} | FAST_ENCODING.get(codec, {})

        for n in range(SECONDS * RATE):
            picture = np.full((120, 160, 3), n * 4 % 256, dtype=np.uint8)
            out.mux(shifted(stream.encode(av.VideoFrame.from_ndarray(picture, format="rgb24")), offset_s))
        out.mux(shifted(stream.encode(), offset_s))
    return path


@pytest.mark.parametrize("offset_s", [0.0, 1.0, 3.0, 3600.0])
@pytest.mark.parametrize("container", list(CONTAINERS))
def test_a_file_lasts_from_its_first_frame_to_its_last(tmp_path: Path, container: str, offset_s: float) -> None:
    codec, options = CONTAINERS[container]
    extension = container.split()[0]
    path = clip_starting_at(tmp_path / f"clip.{extension}", offset_s, codec, options)
    with av.open(str(path)) as written:  # the timestamps do start there (a TS's 1.4 s later: its muxer's delay)
        video = written.streams.video[0]
        assert offset_s <= video.start_time * video.time_base < offset_s + 1.5
    duration_s = probe(str(path)).duration_s
    assert duration_s == pytest.approx(SECONDS, abs=1.5 / RATE)
    assert [round(window.start_s, 3) for window in slices_of(str(path), 1.0, 5.0)] == [0.0, 1.0]
    times = [frame.time_s for frame in sample_frames(str(path), 5.0)]
    assert times[0] == 0.0 and times[-1] < duration_s


def test_bench_counts_the_decoded_video_from_its_first_frame(tmp_path: Path) -> None:
    """A recording whose timestamps start 60 s in (a live capture's) was 63 s of video for 3: the decoder's
    real-time factor 877, and 'scan vs the decoder's limit' 0.012 where it was 0.2."""
    from impersonation_cli.tools.bench import BenchJob, measure_decode_all

    path = clip_starting_at(tmp_path / "clip.mp4", 60.0, "libx264", {})
    run = measure_decode_all(BenchJob("decode_all", str(path), 2.0, "sc-2.5g", str(tmp_path)))
    assert run.frames == SECONDS * RATE and run.video_s == pytest.approx(SECONDS - 1 / RATE, abs=1e-6)


def test_a_bench_worker_runs_the_tools_own_modules_whatever_the_current_folder_holds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Started as `python -m`, a worker searched the current folder first: a numpy.py or json.py there ran."""
    from impersonation_cli.tools.bench import BenchJob, run_worker

    clip = clip_starting_at(tmp_path / "clip.mp4", 0.0, "libx264", {})
    folder = tmp_path / "downloads"
    folder.mkdir()
    (folder / "json.py").write_text("raise SystemExit('a json.py of the current folder ran')\n")
    monkeypatch.chdir(folder)
    run = run_worker(BenchJob("decode_all", str(clip), 2.0, "sc-2.5g", str(tmp_path)))
    assert run.frames == SECONDS * RATE


def test_a_file_starting_off_the_microsecond_keeps_its_times_on_the_sampling_grid(tmp_path: Path) -> None:
    """FFmpeg gives a file's start to the microsecond: a TS starting at 95430 s (90-kHz ticks) had every time
    1.1e-7 s off the grid, tracks 4 s apart read 4.0000000000000005 s apart, over [scan] merge_gap_s, and one
    appearance became three."""
    codec, options = CONTAINERS["ts"]
    path = clip_starting_at(tmp_path / "late.ts", 95430.0, codec, options)
    times = [frame.time_s for frame in sample_frames(str(path), 2.0)]
    assert times and all(abs(time_s * RATE - round(time_s * RATE)) < 1e-6 for time_s in times), times  # frames
