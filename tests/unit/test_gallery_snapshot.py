"""A gallery read by one process while another writes it: an export (and what a scan loads) is the gallery as of
one moment. `gallery export` read the people, then each one's references, grants and footage, each query on its
own: an import committed between them was exported in part, and a person removed between them failed the export.
Here the other process's write is made by a second connection at the point where the race lands."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from impersonation_cli.gallery.store import Gallery, ReferenceFace

RECOGNIZER = "w600k_mbf.onnx:0123"


def reference(seed: int) -> ReferenceFace:
    embedding = np.random.default_rng(seed).standard_normal(512).astype(np.float32)
    embedding /= np.linalg.norm(embedding)
    digest = hashlib.sha256(bytes([seed])).hexdigest()
    return ReferenceFace(digest, f"{seed}.jpg", RECOGNIZER, embedding, 120, 0.9, 80, 1)


def write_meanwhile(monkeypatch: pytest.MonkeyPatch, reader: Gallery, write: object) -> None:
    """Run `write` (another connection's commit) once the reader has listed the people, before it reads their
    references: where another process's commit can land."""
    listed = reader.persons

    def persons_then_write() -> list:
        people = listed()
        write()  # type: ignore[operator]
        return people

    monkeypatch.setattr(reader, "persons", persons_then_write)


def gallery_of(path: Path, *names: str) -> None:
    with Gallery(path) as store:
        for n, name in enumerate(names):
            store.add_person(name, [reference(n)])


def test_an_import_committed_during_an_export_is_not_exported_in_part(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "g.sqlite"
    gallery_of(path, "Ann")

    def import_elsewhere() -> None:  # one transaction: a new reference of Ann and a new person
        with Gallery(path) as writer, writer.transaction():
            writer.add_person("Ann", [reference(10)])
            writer.add_person("Bob", [reference(11)])

    with Gallery(path, create=False, read_only=True) as reader:
        write_meanwhile(monkeypatch, reader, import_elsewhere)
        exported = reader.export()
    people = {p["name"]: len(p["references"]) for p in exported["persons"]}
    assert people == {"Ann": 1}  # as before the import; it was {"Ann": 2}: half of it
    with Gallery(path, create=False, read_only=True) as reader:
        assert {p["name"]: len(p["references"]) for p in reader.export()["persons"]} == {"Ann": 2, "Bob": 1}


def test_a_person_removed_during_an_export_is_exported_as_they_were(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "g.sqlite"
    gallery_of(path, "Ann", "Bob")

    def remove_elsewhere() -> None:
        with Gallery(path) as writer:
            writer.remove_person("Bob")

    with Gallery(path, create=False, read_only=True) as reader:
        write_meanwhile(monkeypatch, reader, remove_elsewhere)
        exported = reader.export()  # was: GalleryError "no person named 'Bob' in the gallery"
    assert [p["name"] for p in exported["persons"]] == ["Ann", "Bob"]
    with Gallery(path) as writer:  # the read ended: writers and later readers see the removal
        writer.add_person("Cy", [reference(12)])
        assert [p.name for p in writer.persons()] == ["Ann", "Cy"]


def test_a_write_inside_a_transaction_still_exports_what_it_wrote(tmp_path: Path) -> None:
    path = tmp_path / "g.sqlite"
    gallery_of(path, "Ann")
    with Gallery(path) as store, store.transaction():
        store.add_person("Bob", [reference(5)])
        assert [p["name"] for p in store.export()["persons"]] == ["Ann", "Bob"]
    with Gallery(path, create=False, read_only=True) as reader:
        assert len(reader.export()["persons"]) == 2
