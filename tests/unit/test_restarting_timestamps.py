"""Timestamps that restart mid-file: MPEG-TS recordings joined with `cat` (or `copy /b`), an encoder restarted
mid-recording. The part after a restart goes on from the part before, as `ffmpeg -i` plays it: before, the sampler
squeezed it into millisecond steps after the first part's last frame (two joined 10-s clips: 25 samples of 40,
one appearance where there were two), and Ray's slices, planned by the header's length and cut by seeking to
times that name two places, took other frames than a whole-file pass."""

from __future__ import annotations

import itertools
from fractions import Fraction
from pathlib import Path
from types import SimpleNamespace
from typing import cast

import av
import numpy as np
import pytest

from impersonation_cli.io.live_reader import ReaderState, RoomStatus
from impersonation_cli.io.rooms import Room
from impersonation_cli.io.sources import DecodeStats, SourceInfo, probe, sample_frames
from impersonation_cli.io.timestamps import TimestampRebase
from impersonation_cli.pipeline.scan import source_facts
from impersonation_cli.pipeline.slices import slices_of
from impersonation_cli.pipeline.watch import RoomWatch, Watcher

FRAMES = 50  # 2 s at 25 fps


def numbered_ts(path: Path, offset_s: float = 0.0) -> Path:
    """A 2-s MPEG-TS of 64x48 H.264 at 25 fps, frame n a flat grey of level 4n, a key frame a second; its timestamps
    `offset_s` later, as ffmpeg's -output_ts_offset writes them (a part cut from later in a stream)."""
    with av.open(str(path), "w", format="mpegts", options={"output_ts_offset": str(offset_s)}) as out:
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


PART_TIMES = [0.0, 0.52, 1.0, 1.52]  # the first frame at or after each half second of a 2-s part


def test_a_joined_recording_is_sampled_through_each_part_at_its_own_times(tmp_path: Path) -> None:
    stats = DecodeStats()
    frames = list(sample_frames(str(joined(tmp_path, 3)), 2.0, stats))
    # Frames 0, 13, 25 and 38 of each 2-s part, each part on from the one before.
    assert [frame.time_s for frame in frames] == [round(2.0 * copy + t, 2) for copy in range(3) for t in PART_TIMES]
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


def parts(tmp_path: Path, *offsets_s: float) -> Path:
    """`cat` of 2-s parts whose timestamps begin these many seconds on."""
    path = tmp_path / "joined.ts"
    path.write_bytes(b"".join(numbered_ts(tmp_path / f"{n}.ts", s).read_bytes() for n, s in enumerate(offsets_s)))
    return path


@pytest.mark.parametrize("first_s", [100.0, 60_000.0])
def test_a_part_ffmpeg_took_for_a_wrapped_clock_goes_on_from_the_one_before(tmp_path: Path, first_s: float) -> None:
    """A first part cut 100 s (or 16.7 hours) into a stream, then one from its start: FFmpeg took the second's
    timestamps, over 60 s below the first's, for a 33-bit clock that wrapped and added 26.5 hours to them. Taken
    as time that passed, the first part's last picture was held for 26.5 (or 9.8) hours, sampled every half
    second, a scan of hours; the file's header said 25.7 hours."""
    path = parts(tmp_path, first_s, 0.0)
    stats = DecodeStats()
    times = [frame.time_s for frame in sample_frames(str(path), 2.0, stats)]
    assert times == pytest.approx([2.0 * copy + t for copy in range(2) for t in PART_TIMES], abs=1e-6)
    assert stats.restarts == 1
    assert len(slices_of(str(path), 0.5, 2.0)) == 1
    header = probe(str(path))  # from its first timestamp to its last: one part
    assert source_facts(header, stats, None).duration_s == pytest.approx(3.96)  # to the last frame's time


def test_a_streams_timestamps_that_jump_ahead_go_on_as_ffmpeg_plays_them(tmp_path: Path) -> None:
    """A stream's timestamps that leap ahead (after an HLS discontinuity, FFmpeg's inner demuxer still takes a
    restart for a wrapped clock) are closed up as `ffmpeg -i` closes them: a reader paced by them waited hours."""
    from ..served import serving

    parts(tmp_path, 0.0, 30.0)
    with serving(tmp_path) as url:
        times = [frame.time_s for frame in sample_frames(url + "joined.ts", 2.0)]
    assert times == pytest.approx([2.0 * copy + t for copy in range(2) for t in PART_TIMES], abs=1e-6)


def test_a_gap_of_seconds_is_time_that_passed_and_is_not_cut_into_slices(tmp_path: Path) -> None:
    """A part 30 s after the one before (a capture that froze, parts of one stream): its times stay where players
    and `ffmpeg -ss` find them, the last picture before held meanwhile as a player holds it. Ray cut such a file
    by its header, and a slice inside the gap was 'no decodable video frames'."""
    path = parts(tmp_path, 0.0, 30.0)
    stats = DecodeStats()
    times = [frame.time_s for frame in sample_frames(str(path), 2.0, stats)]
    assert times[:4] == pytest.approx(PART_TIMES) and times[-4:] == pytest.approx([30 + t for t in PART_TIMES])
    assert stats.restarts == 0 and probe(str(path)).duration_s == pytest.approx(32.0, abs=0.05)
    assert len(slices_of(str(path), 5.0, 2.0)) == 1
    assert len(slices_of(str(parts(tmp_path, 0.0, 9.0)), 5.0, 2.0)) > 1  # a gap under 10 s: cut as any file


def test_a_watched_recording_whose_timestamps_restart_is_as_long_as_it_played_to_its_end() -> None:
    """A watch summary took a recording's length from its header, one part of it: 8 s of a 24-s join. Stopped
    before its end (--duration), its length is not known."""
    clip = "/recordings/joined.ts"

    def watched(status: RoomStatus) -> float | None:
        state = ReaderState(room="r", url=clip, frames_received=50, live_seconds=6.0, status=status, _restarts=2)
        room = SimpleNamespace(room=Room(url=clip), state=state, frame_size=None)
        return Watcher._source_facts(cast(RoomWatch, room)).duration_s

    assert (watched(RoomStatus.ENDED), watched(RoomStatus.STOPPED)) == (6.0, None)


def test_a_local_hls_playlist_whose_timestamps_restart_is_read_through(tmp_path: Path) -> None:
    """Its inner demuxer still took the restart at a discontinuity for a clock that wrapped and moved the next
    segment 26.5 hours on: the first segment's last picture was held for them (5,262 samples in 90 s of a 10-s
    playlist, still going)."""
    numbered_ts(tmp_path / "seg0.ts", 200.0)
    numbered_ts(tmp_path / "seg1.ts")
    listed = "#EXTINF:2.0,\nseg0.ts\n#EXT-X-DISCONTINUITY\n#EXTINF:2.0,\nseg1.ts\n"
    playlist = tmp_path / "play.m3u8"
    playlist.write_text(
        f"#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n{listed}#EXT-X-ENDLIST\n", encoding="utf-8"
    )
    times = [frame.time_s for frame in itertools.islice(sample_frames(str(playlist), 2.0), 20)]
    assert times == pytest.approx([2.0 * copy + t for copy in range(2) for t in PART_TIMES], abs=1e-6)


def test_a_clock_that_wraps_in_a_file_is_followed_and_its_length_read_as_ffmpeg_reads_it(tmp_path: Path) -> None:
    """A capture whose 33-bit clock wraps 0.8 s in: read with the timestamps as stored, its header measured 0.8 s,
    and the progress bar stood at 'done' from there on."""
    path = numbered_ts(tmp_path / "wrap.ts", 2**33 / 90_000 - 0.8)
    stats = DecodeStats()
    times = [frame.time_s for frame in sample_frames(str(path), 2.0, stats)]
    assert times == pytest.approx(PART_TIMES, abs=1e-6)
    assert probe(str(path)).duration_s == pytest.approx(2.0, abs=0.05)


def packet(dts_s: float) -> av.Packet:
    """A packet of a 25-fps stream in milliseconds, decoded at `dts_s`."""
    made = av.Packet(b"\0")
    made.time_base, made.pts, made.dts, made.duration = Fraction(1, 1000), round(dts_s * 1000), round(dts_s * 1000), 40
    return made


def test_a_live_streams_restart_goes_on_by_the_time_that_passed_as_it_arrived() -> None:
    """A publisher down 8 s, then back with its timestamps from 0: moved to go on a frame after the packet
    before, the outage vanished ('late but with none missing', no interruption) and every later wall-clock time
    was 8 s early. A recording's restart goes on a frame after (nothing arrives there but the file)."""
    clock = [0.0]
    live = TimestampRebase(Fraction(1, 1000), 0.04, active=True, close_gaps=True, arrival=lambda: clock[0])
    recording = TimestampRebase(Fraction(1, 1000), 0.04, active=True)
    first = [packet(0.04 * n) for n in range(50)]  # 2 s, as they arrive
    second = [packet(0.04 * n) for n in range(25)]  # the publisher again, 8 s later, from 0
    moved: list[float] = []
    for number, item in enumerate(first + second):
        clock[0] = 0.04 * number + (8.0 if number >= len(first) else 0.0)
        moved += [float(p.dts * p.time_base) for p in live.packets([item])]
    assert moved[len(first) - 1] == pytest.approx(1.96) and moved[len(first)] == pytest.approx(1.96 + 8.04)
    assert moved[-1] - moved[len(first)] == pytest.approx(0.96) and live.restarts == 1
    again = [float(p.dts * p.time_base) for p in recording.packets([packet(0.04 * n) for n in range(50)] * 2)]
    assert again[50] == pytest.approx(2.0) and recording.restarts == 1


def test_a_live_streams_step_ahead_of_hours_goes_on_by_the_time_that_passed() -> None:
    """An HLS room's segment after a discontinuity that FFmpeg's inner demuxer moved 26.5 hours on held the room's
    reader, paced by it, until it was given up."""
    clock = [0.0]
    live = TimestampRebase(Fraction(1, 1000), 0.04, active=True, close_gaps=True, arrival=lambda: clock[0])
    moved = []
    for number, dts_s in enumerate([0.0, 0.04, 0.08, 95_443.7, 95_443.74]):
        clock[0] = 0.04 * number
        moved += [float(p.dts * p.time_base) for p in live.packets([packet(dts_s)])]
    assert moved == pytest.approx([0.0, 0.04, 0.08, 0.12, 0.16])


def test_bench_decodes_a_joined_recording_over_its_whole_length(tmp_path: Path) -> None:
    """`bench`'s decode-everything path counted a join of two 2-s parts as 2 s of video, where the sampled
    paths counted 4: its realtime factor was half what it was."""
    from impersonation_cli.tools.bench import BenchJob, measure_decode_all

    run = measure_decode_all(BenchJob("decode_all", str(joined(tmp_path, 2)), 2.0, "sc-2.5g", str(tmp_path)))
    assert run.frames == 2 * FRAMES and run.video_s == pytest.approx(3.96)
