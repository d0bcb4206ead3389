"""In a scene without faces the detector looks at every other sampled frame. Counted from where the pass began,
a slice of a long file (pipeline/slices.py) looked at other frames than the whole file's pass: a 64-s loop at
1 fps in 16-s slices missed the face that came back at each of 3 edges, and one appearance (3-62 s) came back as
four. On a file's sampling grid the frames looked at are its multiples of `idle_every`, wherever a pass began."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from impersonation_cli.pipeline.faces import Faces
from impersonation_cli.runtime.engine import AdaptiveDetector, DetectorSettings

INTERVAL = 0.5  # 2 fps


def looked_at(first: int, last: int, sample_interval: float | None = INTERVAL) -> list[int]:
    """The samples a detector started at sample `first` looks at, up to `last`, in a scene without faces."""
    looks: list[int] = []

    def detect(image: np.ndarray) -> Faces:
        looks.append(len(looks))
        return Faces()

    engine = SimpleNamespace(settings=DetectorSettings(), detect=detect)
    detector = AdaptiveDetector(engine, sample_interval)  # type: ignore[arg-type]
    seen = []
    for n in range(first, last + 1):
        before = len(looks)
        detector.detect(np.zeros((8, 8, 3), np.uint8), n * INTERVAL)
        if len(looks) > before:
            seen.append(n)
    return seen


def test_a_pass_begun_anywhere_looks_at_the_whole_passes_frames_once_idle() -> None:
    whole = looked_at(0, 20)
    assert whole == [0, 1, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20]
    for start in (3, 7, 10):
        sliced = looked_at(start, 20)
        settled = [n for n in sliced if n >= start + 2]  # after its first two looks find nobody
        assert settled == [n for n in whole if n >= start + 2]


def test_without_a_grid_it_counts_from_its_own_start_as_before() -> None:
    """The live watcher's samples are not on a grid: it keeps counting its skips."""
    assert looked_at(3, 12, sample_interval=None) == [3, 4, 6, 8, 10, 12]
    assert looked_at(0, 9, sample_interval=None) == [0, 1, 3, 5, 7, 9]
