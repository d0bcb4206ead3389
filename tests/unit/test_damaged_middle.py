"""A file damaged in its middle was reported read whole: 1 MB zeroed in a 64-s recording cost 11 s of samples, and
the source said 'ok', no error, `scanned_s` the whole length, the missing stretch as if it showed nobody (the
decoder's threads report no error: its frames just do not come). Damaged data that costs samples now makes the
source `truncated`, its error naming the stretch."""

from __future__ import annotations

from pathlib import Path

import av
import pytest

from impersonation_cli.io.sources import DecodeStats, sample_frames
from impersonation_cli.pipeline import scan
from impersonation_cli.pipeline.scan import scan_inputs

from .builders import model_free_context
from .small_clips import grey_ramp_clip
from .test_progress_callback import _NoFaces


def zeroed_between(path: Path, start_s: float, end_s: float) -> Path:
    """`path` with the bytes of its packets from `start_s` to `end_s` zeroed, its index left whole."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        spans = [
            (packet.pos, packet.size)
            for packet in container.demux(stream)
            if packet.size and packet.pts is not None and start_s <= float(packet.pts * packet.time_base) < end_s
        ]
    data = bytearray(path.read_bytes())
    for position, size in spans:
        data[position : position + size] = bytes(size)
    damaged = path.with_name(f"damaged_{start_s:g}-{end_s:g}_{path.name}")
    damaged.write_bytes(bytes(data))
    return damaged


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    whole = grey_ramp_clip(tmp_path_factory.mktemp("damage") / "clip.mp4", 12)
    return whole, zeroed_between(whole, 3.0, 6.0), zeroed_between(whole, 8.0, 12.0)


def test_a_hole_in_the_middle_is_a_stretch_not_sampled(clips: tuple[Path, Path, Path]) -> None:
    whole, middle, _ = clips
    stats = DecodeStats()
    assert len(list(sample_frames(str(whole), 2.0, stats))) == 24 and stats.damaged == []
    stats = DecodeStats()
    times = [frame.time_s for frame in sample_frames(str(middle), 2.0, stats)]
    assert len(stats.damaged) == 1
    start_s, end_s = stats.damaged[0]
    assert 2.5 <= start_s <= 3.0 and 6.0 <= end_s <= 6.5 and not [t for t in times if start_s < t < end_s]


def test_damage_that_runs_to_the_end_is_a_stretch_not_sampled(clips: tuple[Path, Path, Path]) -> None:
    stats = DecodeStats()
    list(sample_frames(str(clips[2]), 2.0, stats))
    assert len(stats.damaged) == 1 and 7.5 <= stats.damaged[0][0] <= 8.0 and stats.damaged[0][1] >= 11.5


def test_a_damaged_source_is_truncated_and_says_where(
    clips: tuple[Path, Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(scan, "AdaptiveDetector", _NoFaces)
    monkeypatch.setattr(scan, "EmbeddingReuse", _NoFaces)
    whole, middle, _ = clips
    result = scan_inputs([str(whole), str(middle)], model_free_context())
    assert [(s.status, s.error) for s in result.sources[:1]] == [("ok", None)]
    damaged = result.sources[1]
    assert damaged.status == "truncated"
    assert damaged.error is not None and "damaged data left" in damaged.error and "unsampled" in damaged.error
