"""Why a file that is no video to scan cannot be read, in one line, for scan and watch alike: a sound recording
has no video track, and an MP4 whose recording stopped before it was closed lacks its index (moov)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import av
import numpy as np
import pytest

from impersonation_cli.errors import UnreadableInput
from impersonation_cli.io.live_reader import open_live
from impersonation_cli.io.sources import probe

from .small_clips import grey_ramp_clip

READERS: dict[str, Callable[[str], object]] = {"scan": probe, "watch": lambda path: open_live(path, 5.0, 5.0)}


def sound_recording(path: Path) -> Path:
    """One second of silence, 16-bit PCM in `path`'s container."""
    with av.open(str(path), "w") as out:
        stream = out.add_stream("pcm_s16le", rate=8000)
        stream.layout = "mono"
        silence = av.AudioFrame.from_ndarray(np.zeros((1, 8000), np.int16), format="s16", layout="mono")
        silence.sample_rate = 8000
        out.mux(stream.encode(silence))
        out.mux(stream.encode())
    return path


@pytest.mark.parametrize("reader", READERS)
@pytest.mark.parametrize("name", ["voice.wav", "voice.mkv"])
def test_a_sound_recording_has_no_video_track(tmp_path: Path, reader: str, name: str) -> None:
    clip = sound_recording(tmp_path / name)
    with pytest.raises(UnreadableInput, match=r"voice\.\w+: no video track \(audio only\)$"):
        READERS[reader](str(clip))


@pytest.mark.parametrize("reader", READERS)
def test_an_mp4_cut_off_before_its_index_says_so(tmp_path: Path, reader: str) -> None:
    """PyAV, like a phone or OBS, writes the index (moov) after the frames: a recording stopped mid-way has none."""
    whole = grey_ramp_clip(tmp_path / "whole.mp4", 2).read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(UnreadableInput, match=r"cut\.mp4: an unfinished MP4: its index \(moov\) is missing"):
        READERS[reader](str(cut))


@pytest.mark.parametrize("reader", READERS)
def test_anything_else_is_not_a_video(tmp_path: Path, reader: str) -> None:
    text = tmp_path / "notes.mp4"
    text.write_bytes(b"ftyp is not a box here " * 100)
    with pytest.raises(UnreadableInput, match=r"notes\.mp4: cannot open \(not a video, damaged, or unreachable\)$"):
        READERS[reader](str(text))
