"""Matches stage: decide who each track is, by cosine similarity to the gallery with a threshold and a margin."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from impersonation_cli.gallery.store import GalleryIndex
from impersonation_cli.pipeline.tracks import Track


@dataclass(frozen=True)
class MatchSettings:
    # Calibrated for w600k_mbf: different people score mean 0.04 (max ~0.25 on lookalikes), the same
    # person across photos 0.35-0.8. `gallery calibrate` sets it from a gallery's own impostor scores.
    threshold: float = 0.40
    # The best identity must beat the second best by this much: lookalikes are the main false positive.
    margin: float = 0.08


@dataclass(frozen=True)
class TrackMatch:
    track: Track
    identity: str
    similarity: float  # the track's score for the identity: median over its frames
    best_similarity: float
    per_frame: np.ndarray  # similarity of every observation to the identity
    second_identity: str | None
    second_similarity: float


def identity_scores(embeddings: np.ndarray, index: GalleryIndex) -> np.ndarray:
    """(frames, identities): each frame's best cosine similarity to any reference of each identity."""
    scores = np.full((len(embeddings), len(index.names)), -1.0, dtype=np.float32)
    if not len(index.names) or not len(embeddings) or not len(index.owners):
        return scores
    # References grouped by owner, then one maximum per group: no Python loop over identities, because a
    # watcher re-matches every live track at every frame (the loop's cost: docs/benchmark.md).
    grouped, owners, starts = index.by_owner
    scores[:, owners] = np.maximum.reduceat(embeddings @ grouped.T, starts, axis=1)
    return scores


def lookalikes(
    embedding: np.ndarray, index: GalleryIndex, threshold: float, besides: str | None = None
) -> list[tuple[str, float]]:
    """The registered people other than `besides` whom one face resembles at `threshold` or more, most alike
    first: a new reference like these makes scans confuse the two."""
    scores = identity_scores(embedding[None, :], index)[0]
    # Only the people over the threshold are looked at: a loop over all 5,000 names, for each of 12,535 faces an
    # import checked, was seconds of Python.
    alike = [(index.names[n], float(scores[n])) for n in np.flatnonzero(scores >= threshold)]
    return sorted(((name, score) for name, score in alike if name != besides), key=lambda item: -item[1])


def match_track(track: Track, index: GalleryIndex, settings: MatchSettings) -> TrackMatch | None:
    if not len(index.names):
        return None
    scores = identity_scores(track.embeddings, index)
    track_scores = np.median(scores, axis=0)
    order = np.argsort(-track_scores, kind="stable")
    best = int(order[0])
    second = int(order[1]) if len(order) > 1 else None
    best_score = float(track_scores[best])
    second_score = float(track_scores[second]) if second is not None else -1.0
    # The median, not the best frame: one lucky frame of a lookalike is not a match.
    if best_score < settings.threshold or best_score - second_score < settings.margin:
        return None
    return TrackMatch(
        track=track,
        identity=index.names[best],
        similarity=best_score,
        best_similarity=float(scores[:, best].max()),
        per_frame=scores[:, best],
        second_identity=index.names[second] if second is not None else None,
        second_similarity=second_score,
    )
