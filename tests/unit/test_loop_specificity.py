"""A stream looping a still-ish talking head is a loop; a still or merely busy stream is not (replay.py's
`lag_specific`). No model and no media: the detector is fed loop signatures directly (its shrinking and
fingerprinting replaced by identity), made as a talking head's are: one face's block ranks, each frame
wobbling them a little. `scripts/measure_loops.py` measured the rule on the shared media (docs/verdicts.md)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from impersonation_cli.config import load_config
from impersonation_cli.pipeline.signals.replay import ReplayDetector, lag_specific

from .loop_streams import FPS, feed, signature_detector

CLIP_FRAMES = 20  # a 10 s clip: the loop's lag


def ranks(values: np.ndarray) -> np.ndarray:
    return np.argsort(np.argsort(values, kind="stable"), kind="stable").astype(np.uint8)


def talking_head(rng: np.random.Generator, wobble: float) -> list[np.ndarray]:
    """One clip's frames: a face's 64 block brightnesses, each frame moved by `wobble` rank steps (sd)."""
    face = rng.permutation(64).astype(np.float64)
    return [face + rng.normal(0.0, wobble, 64) for _ in range(CLIP_FRAMES)]


def detect(signatures: list[np.ndarray], monkeypatch: pytest.MonkeyPatch) -> ReplayDetector:
    detector = signature_detector(monkeypatch)
    feed(detector, signatures)
    return detector


def test_a_looped_still_ish_talking_head_is_a_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    """A JoyHallo clip looped and watched over HLS cost 0.38 at its lag and 1.84 beside it: a margin of 1.46,
    which the absolute margin of 1.5 alone rejected."""
    rng = np.random.default_rng(7)
    clip = talking_head(rng, wobble=1.8)
    # Played twice; the second play as a live re-encode and a sampling phase leave it: a little off the first.
    stream = [ranks(v) for v in clip] + [ranks(v + rng.normal(0.0, 0.4, 64)) for v in clip]
    detector = detect(stream, monkeypatch)
    at, beside = next((at, beside) for run, at, beside in detector.loop_candidates() if abs(run.offset_s - 10) < 1)
    assert 1.0 <= beside - at < 1.5 and at <= 0.3 * beside, (at, beside)  # the case that was missed
    loops = detector.loop_runs()
    assert loops and abs(loops[0].offset_s - CLIP_FRAMES / FPS) <= 0.5
    assert detector.source_signals()["loop"].score >= 0.6


def test_a_loop_sampled_too_sparsely_to_be_looked_for_is_not_judged(monkeypatch: pytest.MonkeyPatch) -> None:
    """A run's frames are split wherever 1.5 s passes without one: sampled at 0.5 fps every frame was a piece of
    its own, and a clip looped 150 times in a 25-minute file (scanned at 0.5 fps, as long files are) read 'no
    stretch of the stream repeats an earlier one', where no loop could be found."""
    rng = np.random.default_rng(7)
    clip = talking_head(rng, wobble=1.8)
    stream = [ranks(v) for v in clip] + [ranks(v + rng.normal(0.0, 0.4, 64)) for v in clip]
    sparse = signature_detector(monkeypatch, sample_interval_s=2.0)
    feed(sparse, stream, fps=0.5)
    loop = sparse.source_signals()["loop"]
    assert loop.score == 0.0 and loop.explanation.startswith("not judged: sampled every 2 s; loops and replays")
    settings = dataclasses.replace(load_config().replay, max_gap_s=0.0)  # a value the settings take
    assert ReplayDetector(None, settings, 0.5).source_signals()["loop"].explanation.startswith("not judged")
    dense = signature_detector(monkeypatch, sample_interval_s=1.0 / FPS)
    feed(dense, stream)
    assert dense.source_signals()["loop"].score >= 0.6  # at the rates loops are looked for, judged as before


def test_a_still_or_unlooped_talking_head_is_not_a_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(8)
    still = [ranks(v) for v in talking_head(rng, wobble=0.3) * 2]  # every lag matches alike
    unlooped = [ranks(v) for v in talking_head(rng, wobble=1.8) + talking_head(rng, wobble=1.8)]
    for stream in (still, unlooped):
        assert detect(stream, monkeypatch).loop_runs() == []


@pytest.mark.parametrize(
    ("at_lag", "beside", "loop"),
    [
        (0.38, 1.84, True),  # the looped talking head
        (0.0, 0.0, False),  # a still picture: every lag costs nothing
        (0.5, 1.2, False),  # specific (ratio 0.42) but by too little
        (2.2, 3.3, False),  # a busy scene: a margin of 1.1, but two thirds of the cost beside
    ],
)
def test_a_loop_beats_the_lags_beside_it_by_a_margin_and_a_ratio(at_lag: float, beside: float, loop: bool) -> None:
    assert lag_specific(at_lag, beside, load_config().replay) is loop


def test_a_clip_shown_twice_between_live_talk_is_no_loop_of_the_talk(monkeypatch: pytest.MonkeyPatch) -> None:
    """A seller's live talk (a still background: it matches every lag alike) with the same 3-s product clip
    inserted after 4 s and again 4 s later made one run at the clip's lag of the talk and the clip: 7 s, loop 1.0,
    the live seller's stream flagged likely-replay. The run is cut to its frames specific to the lag: the clip's
    3 s repeat, 0.33, under the threshold."""
    rng = np.random.default_rng(9)
    talk = talking_head(rng, wobble=0.3)[:8]  # 4 s
    product = [rng.permutation(64).astype(np.float64) for _ in range(6)]  # 3 s, every frame its own
    stream = [ranks(v + rng.normal(0.0, 0.3, 64)) for v in [*talk, *product, *talk, *product]]
    loop = detect(stream, monkeypatch).source_signals()["loop"]
    assert loop.score < load_config().verdicts.replay_threshold, loop.explanation
    assert loop.details["start_s"] >= 11.0 and loop.details["lag_s"] == pytest.approx(7.0), loop.details


def test_a_room_sampled_more_sparsely_than_asked_says_its_loops_were_not_judged(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A watcher past capacity samples every room less often than asked: asked for 2 fps and sampled at 0.5, a
    looped room read 'no stretch of the stream repeats an earlier one', where no loop could be found."""
    rng = np.random.default_rng(7)
    clip = talking_head(rng, wobble=1.8)
    stream = [ranks(v) for v in clip] + [ranks(v + rng.normal(0.0, 0.4, 64)) for v in clip]
    lowered = signature_detector(monkeypatch, sample_interval_s=0.5)
    feed(lowered, stream, fps=0.5)
    assert lowered.source_signals()["loop"].explanation.startswith("not judged: sampled every 2 s")
