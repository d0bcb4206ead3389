"""A gallery never stores what it refuses to read: a recognizer giving a zero (or NaN) vector was enrolled,
'1 new reference face(s)', and then `gallery list`, `remove` and `export` all refused the file ('reference face
1's embedding has length 0; embeddings are normalised to length 1')."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from impersonation_cli.errors import GalleryError
from impersonation_cli.gallery.store import Gallery

from .test_gallery_snapshot import reference


@pytest.mark.parametrize("values", [np.zeros(512), np.full(512, np.nan), np.ones(512)])
def test_a_reference_whose_embedding_is_not_of_unit_length_is_refused_and_nothing_stored(
    tmp_path: Path, values: np.ndarray
) -> None:
    broken = dataclasses.replace(reference(2), embedding=values.astype(np.float32))
    with Gallery(tmp_path / "g.sqlite") as store:
        with pytest.raises(GalleryError, match=r"^'Ann': the reference face from 2\.jpg (has|holds) "):
            store.add_person("Ann", [reference(1), broken])
        assert store.persons() == []
    with Gallery(tmp_path / "g.sqlite") as store:  # readable, as before the attempt
        assert store.add_person("Ann", [reference(1)]) == 1
