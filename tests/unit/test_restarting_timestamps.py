"""Timestamps that restart mid-file: MPEG-TS recordings joined with `cat` (or `copy /b`), an encoder restarted
mid-recording. The part after a restart goes on from the part before, as `ffmpeg -i` plays it: before, the sampler
squeezed it into millisecond steps after the first part's last frame (two joined 10-s clips: 25 samples of 40,
one appearance where there were two), and Ray's slices, planned by the header's length and cut by seeking to
times that name two places, took other frames than a whole-file pass."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from impersonation_cli.io.sources import DecodeStats, SourceInfo, sample_frames
from impersonation_cli.pipeline.scan import source_facts
from impersonation_cli.pipeline.slices import slices_of

FRAMES = 50  # 2 s at 25 fps


def numbered_ts(path: Path) -> Path:
    """A 2-s MPEG-TS of 64x48 H.264 at 25 fps, frame n a flat grey of level 4n, a key frame a second."""
    with av.open(str(path), "w", format="mpegts") as out:
        stream = out.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        stream.options = {"g": "25", "bf": "0", "sc_threshold": "0", "preset": "ultrafast"}
        for n in range(FRAMES):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), 4 * n, np.uint8), format="rgb24")
            frame.pts, frame.time_base = n, Fraction(1, 25)
            out.mux(stream.encode(frame))
        out.mux(stream.encode())
    return path


def joined(tmp_path: Path, copies: int) -> Path:
    """`cat` of `copies` copies of one clip: each copy's timestamps start where the first's did."""
    clip = numbered_ts(tmp_path / "part.ts").read_bytes()
    path = tmp_path / "joined.ts"
    path.write_bytes(clip * copies)
    return path


def test_a_joined_recording_is_sampled_through_each_part_at_its_own_times(tmp_path: Path) -> None:
    stats = DecodeStats()
    frames = list(sample_frames(str(joined(tmp_path, 3)), 2.0, stats))
    # The first frame at or after each half second (frames 0, 13, 25 and 38 of each 2-s part), each part on.
    part = [0.0, 0.52, 1.0, 1.52]
    assert [frame.time_s for frame in frames] == [round(2.0 * copy + t, 2) for copy in range(3) for t in part]
    levels = [round(float(frame.image.mean()) / 4) for frame in frames]
    assert levels == [0, 13, 25, 38] * 3, levels
    assert stats.restarts == 2 and stats.frames_decoded == 3 * FRAMES


def test_a_joined_recordings_length_is_its_parts_together(tmp_path: Path) -> None:
    """Its header measures from its first timestamp to its last: one part's 2 s."""
    stats = DecodeStats()
    path = str(joined(tmp_path, 3))
    for _ in sample_frames(path, 2.0, stats):
        pass
    facts = source_facts(SourceInfo(path, "video", 64, 48, 25.0, 2.0, None), stats, None)
    assert facts.status == "ok" and facts.duration_s is not None and 5.9 < facts.duration_s <= 6.0


def test_a_joined_recording_is_one_slice_and_a_plain_one_is_cut(tmp_path: Path) -> None:
    assert len(slices_of(str(joined(tmp_path, 4)), 0.5, 2.0)) == 1
    single = numbered_ts(tmp_path / "single.ts")
    assert len(slices_of(str(single), 0.5, 2.0)) == 4
