"""Tracks matched to a person become appearances: one per person per stretch of time."""

from __future__ import annotations

import dataclasses
import types

import numpy as np

from impersonation_cli.config import load_config
from impersonation_cli.pipeline.matches import TrackMatch
from impersonation_cli.pipeline.scan import SourcePipeline, group_matches
from impersonation_cli.pipeline.tracks import Observation, Track
from impersonation_cli.results import Appearance

MERGE_GAP_S = 4.0


def matched(track_id: int, identity: str, start_s: float, end_s: float, step_s: float = 0.5) -> TrackMatch:
    """A track seen every `step_s` from start_s to end_s, matched to `identity`."""
    times = np.arange(start_s, end_s + 1e-9, step_s)
    observations = [
        Observation(n, float(t), np.zeros(4), 0.9, np.zeros((5, 2)), np.zeros(512, np.float32))
        for n, t in enumerate(times)
    ]
    per_frame = np.full(len(times), 0.6, np.float32)
    return TrackMatch(Track(track_id, "clip.mp4", observations), identity, 0.6, 0.6, per_frame, None, -1.0)


def ids(groups: list[list[TrackMatch]]) -> list[list[int]]:
    return [[m.track.track_id for m in group] for group in groups]


def test_tracks_of_one_person_closer_than_the_gap_join_and_farther_ones_do_not() -> None:
    near = [matched(1, "Obama", 0.0, 2.0), matched(2, "Obama", 5.5, 7.0)]  # 3.5 s apart
    far = [matched(1, "Obama", 0.0, 2.0), matched(2, "Obama", 6.5, 7.0)]  # 4.5 s apart
    assert ids(group_matches(near, 1, MERGE_GAP_S)) == [[1, 2]]
    assert ids(group_matches(far, 1, MERGE_GAP_S)) == [[1], [2]]
    # The gap itself joins, whatever the last bit of a float: 6.0000001111111105 to 10.000000111111111 is 4.0.
    exact = [matched(1, "Obama", 2.0000001111111105, 6.0000001111111105), matched(2, "Obama", 10.000000111111111, 11.0)]
    assert ids(group_matches(exact, 1, MERGE_GAP_S)) == [[1, 2]]


def test_other_people_never_join_and_groups_come_in_time_order() -> None:
    tracks = [matched(1, "Obama", 3.0, 6.0), matched(2, "Miranda", 0.0, 4.0), matched(3, "obama", 6.5, 8.0)]
    # Names differ in case only: still different people (the gallery's names are unique ignoring case).
    assert ids(group_matches(tracks, 1, MERGE_GAP_S)) == [[2], [1], [3]]


def test_a_track_that_ends_inside_a_longer_one_does_not_split_the_group() -> None:
    tracks = [matched(1, "Obama", 0.0, 10.0), matched(2, "Obama", 1.0, 2.0), matched(3, "Obama", 13.0, 14.0)]
    assert ids(group_matches(tracks, 1, MERGE_GAP_S)) == [[1, 2, 3]]


def test_a_group_with_fewer_frames_than_the_minimum_is_dropped() -> None:
    tracks = [matched(1, "Obama", 0.0, 0.5), matched(2, "Miranda", 0.0, 5.0)]  # 2 frames and 11 frames
    assert ids(group_matches(tracks, 3, MERGE_GAP_S)) == [[2]]
    assert ids(group_matches(tracks, 2, MERGE_GAP_S)) == [[2], [1]]  # the same start: by name


def appearance_of(group: list[TrackMatch]) -> Appearance:
    """The appearance SourcePipeline makes of `group`: a pipeline without models (its appearance needs none)."""
    pipeline = SourcePipeline.__new__(SourcePipeline)
    pipeline.source, pipeline.account, pipeline.room = "clip.mp4", None, None
    pipeline.config = load_config()
    pipeline.context = types.SimpleNamespace(authorizations=[])
    return pipeline._appearance(group, "s1-a1", lambda start_s, end_s: {})


def test_an_appearance_with_no_runner_up_has_no_runner_up_similarity() -> None:
    # A gallery of one person: match_track compares with -1, which the document wrote as if a score.
    alone = appearance_of([matched(1, "Obama", 0.0, 2.0)])
    assert alone.second_identity is None and alone.second_similarity is None
    runner_up = dataclasses.replace(matched(1, "Obama", 0.0, 2.0), second_identity="Miranda", second_similarity=0.2)
    found = appearance_of([runner_up])
    assert (found.second_identity, found.second_similarity) == ("Miranda", 0.2)


def test_two_tracks_of_one_person_in_the_same_frames_count_each_frame_once() -> None:
    """A swap app's panel shows the source photo beside the swapped face: two tracks of one person in each of 8
    sampled frames made an appearance of 16 'frames' (formats.md: sampled frames of the person)."""
    photo, swapped = matched(1, "Elon Musk", 0.0, 3.5), matched(2, "Elon Musk", 0.0, 3.5)
    assert appearance_of([photo, swapped]).frames == 8
    single = [matched(1, "Obama", 0.0, 0.0), matched(2, "Obama", 0.0, 0.0)]  # one frame, two faces
    assert group_matches(single, 2, MERGE_GAP_S) == []
