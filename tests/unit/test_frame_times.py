"""A decoded frame's time as FFmpeg's best_effort_timestamp guesses it (io/sources.BestEffortTimestamp)."""

from __future__ import annotations

from impersonation_cli.io.sources import BestEffortTimestamp

# (pts, dts) of an AVI with B-frames as PyAV decodes it (opencv_samples_debian/Megamind.avi): the frames come in
# presentation order, their pts in decode order.
AVI_WITH_B_FRAMES = [(1, 1), (2, 2), (3, 3), (5, 4), (4, 5), (6, 6), (8, 7), (7, 8), (9, 9), (11, 10), (10, 11)]


def test_pts_that_go_back_give_way_to_dts() -> None:
    timestamp = BestEffortTimestamp()
    times = [timestamp(pts, dts) for pts, dts in AVI_WITH_B_FRAMES]
    assert times == [1, 2, 3, 5, 5, 6, 7, 8, 9, 10, 11]  # the one reordered frame before pts is known faulty


def test_pts_in_order_are_kept_whatever_dts_does() -> None:
    """An MP4 with B-frames: pts in presentation order, dts behind and repeated."""
    timestamp = BestEffortTimestamp()
    assert [timestamp(pts, dts) for pts, dts in [(2, 0), (3, 1), (4, 1), (5, 3)]] == [2, 3, 4, 5]
    assert BestEffortTimestamp()(None, 7) == 7 and BestEffortTimestamp()(7, None) == 7
    assert BestEffortTimestamp()(None, None) is None
