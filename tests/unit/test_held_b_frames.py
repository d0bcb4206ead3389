"""A picture held on screen in a recording with B-frames is sampled at every sample time it is shown, and only
then: the sampler learns how long a frame stays on screen from its successor in presentation order, not from the
packet's duration, which in decode order belongs to the gap after another frame."""

from __future__ import annotations

from pathlib import Path

import pytest

from impersonation_cli.io.sources import DecodeStats, sample_frames

from .small_clips import held_picture_clip


# With x264's 3 B-frames, frame 10 is held as a B-frame no other is built from (it was dropped undecoded: 6 s
# unsampled, reported as damage) and frame 12 comes before a P-frame whose packet carries the 6-s gap (that frame
# was repeated at 8, 9, ... 12 s, past the clip's end at 8 s); without B-frames neither happens.
@pytest.mark.parametrize(("held", "bframes"), [(10, 3), (12, 3), (11, 3), (10, 0)])
def test_a_held_picture_is_sampled_while_shown_and_nothing_past_the_end(
    tmp_path: Path, held: int, bframes: int
) -> None:
    clip = held_picture_clip(tmp_path / "held.mp4", held, bframes)
    stats = DecodeStats()
    frames = list(sample_frames(str(clip), 1.0, stats))
    assert [frame.time_s for frame in frames] == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]
    greys = [int(frame.image[60, 80, 0]) for frame in frames]
    assert all(abs(grey - 5 * held) <= 3 for grey in greys[1:7]), greys  # the held picture, at 1 to 6 s
    assert stats.damaged == [] and not stats.truncated
