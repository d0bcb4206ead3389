"""A file whose data ends short of the length its header declares (a partial download, `head -c` of a copy) is
`truncated`, its reason saying how much is there of how much is declared, and its `duration_s` the declared
length (`scanned_s` is what was read), as an MP4 with its index first cut short already was. A Matroska or WebM
file cut in half (its segment duration says 4 s, 2 s of data are there) and an FLV (its metadata duration) scanned
as 'ok', their duration_s the 2 s that decoded (or the 4 s, where the video starts at timestamp 0): an analyst
never learnt the recording was incomplete. Since cf646cd a Matroska file's length is read from its last packets
where its timestamps start late; the header's length is now compared with them."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from impersonation_cli.io.sources import DecodeStats, probe, sample_frames
from impersonation_cli.pipeline.scan import source_facts

from .small_clips import FAST_ENCODING, shifted

SECONDS, RATE = 4, 25
# Each container with a codec it holds and the muxer's options: an MP4's index at the front (faststart), so that
# a copy cut short still opens.
CONTAINERS = {
    "mkv": ("libx264", {}),
    "webm": ("libvpx", {}),
    "flv": ("libx264", {}),
    "mp4": ("libx264", {"movflags": "faststart"}),
    "avi": ("mpeg4", {}),
}


def noisy_clip(path: Path, codec: str, options: dict[str, str], offset_s: float = 0.0, audio_s: float = 0) -> Path:
    """SECONDS of 96x72 noise at RATE fps (every frame about as big, so half the bytes hold about half the
    video), its timestamps starting at `offset_s`; with `audio_s` seconds of silent AAC beside it."""
    with av.open(str(path), "w", options=options) as out:
        video = out.add_stream(codec, rate=RATE)
        video.width, video.height, video.pix_fmt = 96, 72, "yuv420p"
        video.options = {"bf": "0", "g": str(RATE)} | FAST_ENCODING.get(codec, {})
        sound = out.add_stream("aac", rate=48000) if audio_s else None

        for n in range(SECONDS * RATE):
            picture = np.random.default_rng(n).integers(0, 255, (72, 96, 3), dtype=np.uint8)
            out.mux(shifted(video.encode(av.VideoFrame.from_ndarray(picture, format="rgb24")), offset_s))
        out.mux(shifted(video.encode(), offset_s))
        if sound is not None:
            for n in range(int(audio_s * 48000 / 1024)):
                samples = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
                samples.sample_rate, samples.pts = 48000, n * 1024
                out.mux(shifted(sound.encode(samples), offset_s))
            out.mux(shifted(sound.encode(), offset_s))
    return path


def cut(path: Path, keep: float) -> Path:
    """The first `keep` of `path`'s bytes, as a download stopped there leaves them."""
    part = path.with_name(f"cut-{path.name}")
    data = path.read_bytes()
    part.write_bytes(data[: int(len(data) * keep)])
    return part


def scanned(path: Path) -> tuple[DecodeStats, str, float | None, float, str | None]:
    """How a scan at 1 fps reads `path`: its decoding, and its result's status, duration_s, scanned_s, error."""
    stats = DecodeStats()
    for _frame in sample_frames(str(path), 1.0, stats):
        pass
    result = source_facts(probe(str(path)), stats, None)
    return stats, result.status, result.duration_s, result.scanned_s, result.error


@pytest.mark.parametrize("container", list(CONTAINERS))
def test_a_file_cut_in_half_is_truncated_against_its_headers_length(tmp_path: Path, container: str) -> None:
    codec, options = CONTAINERS[container]
    whole = noisy_clip(tmp_path / f"clip.{container}", codec, options)
    stats, status, duration_s, _, error = scanned(whole)
    assert (status, error, stats.shortfall) == ("ok", None, None)
    assert duration_s == pytest.approx(SECONDS, abs=0.05)

    part = cut(whole, 0.5)
    stats, status, duration_s, scanned_s, error = scanned(part)
    assert status == "truncated" and stats.truncated, error
    assert duration_s == pytest.approx(SECONDS, abs=0.05)  # as declared; what was read is scanned_s
    assert 1.0 < scanned_s < 3.0, scanned_s
    assert stats.shortfall is not None and stats.shortfall[0] == pytest.approx(scanned_s, abs=0.1)
    assert error == (
        f"{part}: the file ends early: its video stops at {stats.shortfall[0]:.1f} s of the {SECONDS:.1f} s "
        "its header declares (a partial download, or a copy cut off)"
    )


@pytest.mark.parametrize("offset_s", [1.0, 3600.0])
def test_a_late_starting_matroska_file_cut_short_is_truncated(tmp_path: Path, offset_s: float) -> None:
    """Its length was read from its last packets (cf646cd), which of a cut file are the cut's."""
    whole = noisy_clip(tmp_path / "late.mkv", "libx264", {}, offset_s=offset_s)
    assert scanned(whole)[1:3] == ("ok", pytest.approx(SECONDS, abs=0.05))
    _, status, duration_s, scanned_s, _ = scanned(cut(whole, 0.5))
    assert (status, duration_s) == ("truncated", pytest.approx(SECONDS, abs=0.05)) and scanned_s < 3.0


@pytest.mark.parametrize("container", ["mkv", "mp4"])
def test_audio_running_on_after_the_video_is_not_a_cut(tmp_path: Path, container: str) -> None:
    """A container's length is its longest track's: 4 s of video beside 7 s of audio is a whole file."""
    codec, options = CONTAINERS[container]
    clip = noisy_clip(tmp_path / f"clip.{container}", codec, options, audio_s=7.0)
    with av.open(str(clip)) as written:
        assert written.duration is not None and written.duration / av.time_base > SECONDS + 2
    stats, status, _, _, error = scanned(clip)
    assert (status, error, stats.shortfall) == ("ok", None, None)


def test_a_whole_avi_whose_index_counts_skipped_frames_is_not_truncated(tmp_path: Path) -> None:
    """A capture that skipped its first second: the AVI's index holds 90 entries, 30 of them empty, and 60
    pictures. A count of packets against the index said 'truncated: decoding stopped at 3.0 s of 3.0 s', exit 3,
    of a whole file; the length the header declares is what a whole file is judged by."""
    clip = tmp_path / "skipped.avi"
    with av.open(str(clip), "w") as out:
        stream = out.add_stream("mjpeg", rate=30)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuvj420p"
        stream.codec_context.time_base = Fraction(1, 30)
        for number in range(30, 90):  # the muxer writes the first 30 as empty index entries
            picture = np.full((48, 64, 3), number, np.uint8)
            frame = av.VideoFrame.from_ndarray(picture, format="rgb24").reformat(format="yuvj420p")
            frame.pts, frame.time_base = number, Fraction(1, 30)
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    with av.open(str(clip)) as written:
        assert written.streams.video[0].frames == 90
    stats = DecodeStats()
    assert list(sample_frames(str(clip), 2.0, stats)) and not stats.truncated and stats.shortfall is None


def test_an_mp4_cut_with_an_edit_list_is_whole_and_as_long_as_its_track(tmp_path: Path) -> None:
    """`ffmpeg -ss 3.3 -c copy` keeps the key frame before 3.3 s and hides the lead-in with an edit list: the
    track is 5.0 s, its frames count 190 (6.3 s at 30 fps), and the file was 'truncated: the file ends early: its
    video stops at 5.0 s of the 6.3 s its header declares', exit 3."""
    source = tmp_path / "source.mp4"
    with av.open(str(source), "w") as out:
        stream = out.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        stream.options = {"bf": "3", "g": "60"} | FAST_ENCODING["libx264"]
        for number in range(300):
            picture = np.full((48, 64, 3), number % 256, np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(picture, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    cut = tmp_path / "cut.mp4"
    with av.open(str(source)) as original, av.open(str(cut), "w") as out:
        track = original.streams.video[0]
        copy = out.add_stream_from_template(track)
        shift = round(3.3 / track.time_base)
        for packet in original.demux(track):
            if packet.dts is None or not 2.0 <= packet.pts * track.time_base < 8.3:
                continue  # from the key frame at 2.0 s, as -ss 3.3 -c copy keeps it
            packet.pts, packet.dts, packet.stream = packet.pts - shift, packet.dts - shift, copy
            out.mux(packet)
    stats = DecodeStats()
    frames = list(sample_frames(str(cut), 2.0, stats))
    assert not stats.truncated and stats.shortfall is None
    assert probe(str(cut)).duration_s == pytest.approx(5.03, abs=0.05) and frames[-1].time_s <= 5.1
