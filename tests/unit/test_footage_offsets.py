"""A replay of known footage must match at its offset clearly better than 2-3 s beside it (replay.py's
`offset_costs`). A stream frame whose footage time beside lies past the footage's start or end can match nothing
there: charged the rank cap, it made new footage of the same set (the person's own new broadcast, in the room
authorized for it) look specific to its offset when only a few seconds were stored: likely-replay 1.0. No model
and no media: the match table is written as the detector keeps it (stream time, video, footage time, distance)."""

from __future__ import annotations

import numpy as np

from impersonation_cli.pipeline.signals.replay import BESIDE_OFFSETS_S, Run, offset_costs

TOLERANCE_S = 0.5
FOOTAGE = (0.0, 5.0)  # its first and last fingerprinted times
STREAM_TIMES = np.arange(0.0, 5.01, 0.5)


def table(at_offset: float, beside: float) -> np.ndarray:
    """A run at offset 0 (distance `at_offset`) and matches `beside` at every offset beside it where the footage
    has a frame: as new footage of the same set matches its stored part at every offset alike."""
    rows = []
    for time_s in STREAM_TIMES:
        rows.append((time_s, 0, time_s, at_offset))
        for step in BESIDE_OFFSETS_S:
            if FOOTAGE[0] <= time_s - step <= FOOTAGE[1]:
                rows.append((time_s, 0, time_s - step, beside))
    return np.array(rows, dtype=np.float64)


RUN = Run(0, 0.0, 0.0, 5.0, len(STREAM_TIMES), 1.0, 0.0)


def test_frames_with_no_footage_beside_their_offset_do_not_count_there() -> None:
    at, beside = offset_costs(table(1.0, 1.5), RUN, TOLERANCE_S, FOOTAGE)
    assert (at, beside) == (1.0, 1.5)  # charged the cap (12), those frames made it (1.0, 5.3): 'specific'


def test_a_replay_matching_far_better_at_its_offset_stays_specific() -> None:
    at, beside = offset_costs(table(0.5, 6.0), RUN, TOLERANCE_S, FOOTAGE)
    assert beside - at == 5.5


def test_footage_too_short_to_compare_beside_shows_no_specificity() -> None:
    """Every offset beside leaves more than half the frames without footage: nothing to compare, so the run
    is not shown specific to its offset (equal costs), however well it matches."""
    short = (2.0, 3.0)
    at, beside = offset_costs(table(0.5, 6.0), RUN, TOLERANCE_S, short)
    assert at == beside
