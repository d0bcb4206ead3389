"""The scores of every pair of a gallery's reference faces, for `gallery calibrate`, without holding them all: a
block of rows is scored at a time, and what calibrate shows (counts, moments, order statistics) is gathered as
the blocks go. Held at once, a 5,000-person gallery's pairs took 1.57 GB and an 8,000-person one's 3.7 GB."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from impersonation_cli.gallery.store import GalleryIndex

# Reference rows scored against all the others at a time: a block of 256 rows of 15,000 faces is 15 MB.
BLOCK_ROWS = 256
# Bins of width 1e-4 over cosine similarity's [-1, 1]: an order statistic is found exactly by reading only the
# scores of the bin it falls in again.
BINS = 20_000


def _bin(scores: np.ndarray) -> np.ndarray:
    return np.clip(((scores.astype(np.float64) + 1.0) * (BINS / 2)).astype(np.int64), 0, BINS - 1)


@dataclass(frozen=True)
class ImpostorScores:
    """The scores of the pairs of reference faces of different people, summarised: their count, mean, standard
    deviation and largest, with exact order statistics and counts above a score read again from the index."""

    index: GalleryIndex
    count: int
    mean: float
    sd: float
    max: float
    bin_counts: np.ndarray

    # The sorted scores of the bins read again, by bin.
    _held: dict[int, np.ndarray] = field(default_factory=dict, repr=False, compare=False)

    def ranked(self, ranks: list[int]) -> list[float]:
        """The scores at these ranks from the lowest (0) in ascending order, exactly (`np.sort(scores)[rank]`), in
        one more pass over the pairs; the two bins after each are kept too, for `at_least` near them."""
        upto = np.cumsum(self.bin_counts)
        bins = np.searchsorted(upto, np.asarray(ranks), side="right").tolist()
        held = self._scores_of({b + step for b in bins for step in (0, 1, 2) if b + step < BINS})
        return [float(held[b][rank - (upto[b] - self.bin_counts[b])]) for b, rank in zip(bins, ranks, strict=True)]

    def quantile_ranks(self, shares: tuple[float, ...]) -> list[int]:
        """The ranks `quantiles` reads, for one `ranked` pass with others."""
        lows = [int(np.floor((self.count - 1) * share)) for share in shares]
        return lows + [min(low + 1, self.count - 1) for low in lows]

    def quantiles(self, shares: tuple[float, ...]) -> list[float]:
        """As `np.quantile(scores, shares)`: linear between the two scores around each."""
        ranks = self.quantile_ranks(shares)
        values = self.ranked(ranks)
        half = len(shares)
        around = zip(shares, ranks[:half], values[:half], values[half:], strict=True)
        return [
            low_value + ((self.count - 1) * share - low) * (high - low_value) for share, low, low_value, high in around
        ]

    def at_least(self, score: float) -> int:
        """How many pairs score `score` or more, exactly."""
        edge = int(_bin(np.array([score]))[0])
        return int(self.bin_counts[edge + 1 :].sum()) + int((self._scores_of({edge})[edge] >= score).sum())

    def _scores_of(self, bins: set[int]) -> dict[int, np.ndarray]:
        missing = bins - self._held.keys()
        if missing:
            found: dict[int, list[np.ndarray]] = {b: [] for b in missing}
            for impostor, _ in pair_blocks(self.index):
                where = _bin(impostor)
                for b in missing:
                    found[b].append(impostor[where == b])
            self._held.update({b: np.sort(np.concatenate(parts)) for b, parts in found.items()})
        return self._held


def pair_blocks(index: GalleryIndex) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Each block of rows' pairs with a later row, as (different people's scores, the same person's)."""
    embeddings, owners = index.embeddings, index.owners
    for start in range(0, len(owners), BLOCK_ROWS):
        rows = slice(start, start + BLOCK_ROWS)
        scores = embeddings[rows] @ embeddings.T
        later = np.arange(len(owners))[None, :] > np.arange(start, start + scores.shape[0])[:, None]
        same = owners[rows, None] == owners[None, :]
        yield scores[later & ~same], scores[later & same]


def score_pairs(index: GalleryIndex) -> tuple[ImpostorScores, np.ndarray]:
    """The impostor pairs summarised (`ImpostorScores`) and the genuine pairs' scores (same person: a few per
    person, held)."""
    count, total, squares, largest = 0, 0.0, 0.0, -np.inf
    bin_counts = np.zeros(BINS, np.int64)
    genuine = []
    for impostor, same in pair_blocks(index):
        genuine.append(same)
        if len(impostor):
            values = impostor.astype(np.float64)
            count += len(values)
            total += float(values.sum())
            squares += float((values * values).sum())
            largest = max(largest, float(values.max()))
            bin_counts += np.bincount(_bin(impostor), minlength=BINS)
    mean = total / count if count else 0.0
    sd = float(np.sqrt(max(squares / count - mean * mean, 0.0))) if count else 0.0
    impostors = ImpostorScores(index, count, mean, sd, float(largest), bin_counts)
    return impostors, np.concatenate(genuine) if genuine else np.zeros(0, np.float32)
