"""An alert's `seen_at` and `emitted_at` have one shape, microseconds included (docs/watch.md), whatever the time."""

from __future__ import annotations

from impersonation_cli.distributed import ray_watch
from impersonation_cli.pipeline import watch

WHOLE_SECOND = 1_764_000_000.0  # 2025-11-24T16:00:00 UTC: isoformat() alone drops the '.000000'


def test_alert_times_keep_their_microseconds_on_a_whole_second() -> None:
    assert ray_watch.iso_time is watch.iso_time  # a Ray watch's alerts are timed as a local one's
    assert watch.iso_time(WHOLE_SECOND) == "2025-11-24T16:00:00.000000+00:00"
    assert watch.iso_time(WHOLE_SECOND + 0.25) == "2025-11-24T16:00:00.250000+00:00"
