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
    return np.clip(((np.asarray(scores, np.float64) + 1.0) * (BINS / 2)).astype(np.int64), 0, BINS - 1)


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
        one more pass over the pairs; the bins on either side of each are kept too, for `at_least` near them."""
        upto = np.cumsum(self.bin_counts)
        bins = np.searchsorted(upto, np.asarray(ranks), side="right").tolist()
        held = self._scores_of({b + step for b in bins for step in (-1, 0, 1, 2) if 0 <= b + step < BINS})
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
        """How many pairs score `score` or more, exactly, compared as the matcher compares them (in float32). A
        threshold is a multiple of the bins' width, so it lies on a bin's edge, and a score equal to it in float32
        (0.13429999 for 0.1343) lies in the bin below: read too, it is counted as the matcher would match it."""
        edge = int(_bin(np.array([score]))[0])
        near = {b for b in (edge - 1, edge) if b >= 0}
        held = self._scores_of(near)
        return int(self.bin_counts[edge + 1 :].sum()) + sum(int((held[b] >= score).sum()) for b in near)

    def _scores_of(self, bins: set[int]) -> dict[int, np.ndarray]:
        missing = bins - self._held.keys()
        if missing:
            found: dict[int, list[np.ndarray]] = {b: [] for b in missing}
            for impostor, _, _ in pair_blocks(self.index):
                where = _bin(impostor)
                for b in missing:
                    found[b].append(impostor[where == b])
            self._held.update({b: np.sort(np.concatenate(parts)) for b, parts in found.items()})
        return self._held


def pair_blocks(index: GalleryIndex) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Each block of rows' pairs with a later row, as (different people's scores, the same person's, whose)."""
    embeddings, owners = index.embeddings, index.owners
    for start in range(0, len(owners), BLOCK_ROWS):
        rows = slice(start, start + BLOCK_ROWS)
        scores = embeddings[rows] @ embeddings.T
        later = np.arange(len(owners))[None, :] > np.arange(start, start + scores.shape[0])[:, None]
        same = owners[rows, None] == owners[None, :]
        genuine = later & same
        yield scores[later & ~same], scores[genuine], np.broadcast_to(owners[rows, None], scores.shape)[genuine]


@dataclass(frozen=True)
class GenuinePairs:
    """The scores of the pairs of one person's reference faces (a few per person, held) and whose each is."""

    scores: np.ndarray
    owners: np.ndarray


def score_pairs(index: GalleryIndex) -> tuple[ImpostorScores, GenuinePairs]:
    """The impostor pairs summarised (`ImpostorScores`) and the genuine pairs (same person)."""
    count, total, squares, largest = 0, 0.0, 0.0, -np.inf
    bin_counts = np.zeros(BINS, np.int64)
    genuine, genuine_owners = [], []
    for impostor, same, whose in pair_blocks(index):
        genuine.append(same)
        genuine_owners.append(whose)
        if len(impostor):
            values = impostor.astype(np.float64)
            count += len(values)
            total += float(values.sum())
            squares += float((values * values).sum())
            largest = max(largest, float(values.max()))
            bin_counts += np.bincount(_bin(values), minlength=BINS)  # float64 already: not copied again
    mean = total / count if count else 0.0
    sd = float(np.sqrt(max(squares / count - mean * mean, 0.0))) if count else 0.0
    impostors = ImpostorScores(index, count, mean, sd, float(largest), bin_counts)
    if not genuine:
        return impostors, GenuinePairs(np.zeros(0, np.float32), np.zeros(0, index.owners.dtype))
    return impostors, GenuinePairs(np.concatenate(genuine), np.concatenate(genuine_owners))
