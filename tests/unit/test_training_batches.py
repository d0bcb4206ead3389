"""scripts/train_detector.py makes the next training batch in a thread while torch trains on this one: the batches
must reach the trainer in the order the generator made them (else the model is not the one shipped), and a
batch that fails to be made must stop the training, not leave it waiting."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from ..conftest import script_module


def test_batches_made_ahead_arrive_in_the_order_they_were_made_and_one_at_a_time_ahead() -> None:
    made: list[int] = []

    def batches() -> Iterator[int]:
        for number in range(40):
            made.append(number)
            yield number

    received = []
    for batch in script_module("train_detector").made_ahead(batches()):
        received.append(batch)
        assert len(made) <= batch + 3  # made ahead by a batch or two, never the whole run into memory
    assert received == list(range(40)) == made


def test_a_batch_that_cannot_be_made_stops_the_training_with_its_error() -> None:
    def batches() -> Iterator[int]:
        yield 1
        raise ValueError("no face in the crop")

    before = threading.active_count()
    received = []
    with pytest.raises(ValueError, match="no face in the crop"):
        for batch in script_module("train_detector").made_ahead(batches()):
            received.append(batch)
    assert received == [1]
    assert threading.active_count() <= before + 1  # the maker ended (its thread may still be finishing)
