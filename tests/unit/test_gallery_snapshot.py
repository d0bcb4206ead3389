"""A gallery read by one process while another writes it: an export (and what a scan loads) is the gallery as of
one moment. `gallery export` read the people, then each one's references, grants and footage, each query on its
own: an import committed between them was exported in part, and a person removed between them failed the export.
Here the other process's write is made by a second connection at the point where the race lands."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from impersonation_cli.errors import GalleryError
from impersonation_cli.gallery.store import Gallery, ReferenceFace
from impersonation_cli.outputs.findings import read_report_input

from .builders import appearance, scan_result, source

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


def removed_elsewhere(path: Path, name: str) -> None:
    """`name` removed by another connection, as by a `gallery remove` in another process."""
    with Gallery(path) as writer:
        writer.remove_person(name)


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
    with Gallery(path, create=False, read_only=True) as reader:
        write_meanwhile(monkeypatch, reader, lambda: removed_elsewhere(path, "Bob"))
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


def test_a_gallery_being_made_is_read_whole_or_not_at_all(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The first `gallery add` made the tables one statement at a time and the version row after them: a command
    reading the gallery meanwhile (150 galleries made beside a reader polling each one) found some tables and not
    others ('no table persons'), or all but the version row, which a reader cannot write ('cannot be written (a
    read-only file?)'). The tables and the row are now one transaction."""
    statements: list[str] = []
    connect = sqlite3.connect

    def traced(*args: object, **kwargs: object) -> sqlite3.Connection:
        connection = connect(*args, **kwargs)  # type: ignore[arg-type]
        connection.set_trace_callback(statements.append)
        return connection

    monkeypatch.setattr(sqlite3, "connect", traced)
    with Gallery(tmp_path / "new.sqlite"):
        pass
    # The file's connection comes first (the schema is made once more in memory, to check it against).
    kinds = [s.strip().split()[0].upper() for s in statements if s.strip()]
    first_create = kinds.index("CREATE")
    version = next(n for n, s in enumerate(statements) if "'schema_version'" in s and "INSERT" in s)
    assert "BEGIN" in kinds[:first_create], statements[: first_create + 1]  # was: each table on its own
    assert "COMMIT" not in kinds[first_create:version], statements[: version + 1]  # was: the row after a commit


def test_a_reader_never_writes_the_version_row(tmp_path: Path) -> None:
    path = tmp_path / "g.sqlite"
    gallery_of(path, "Ann")
    with sqlite3.connect(path) as db:  # as a reader found a gallery another process was making
        db.execute("DELETE FROM meta WHERE key = 'schema_version'")
    with Gallery(path, create=False, read_only=True) as reader:  # was: GalleryError 'cannot be written'
        assert [p.name for p in reader.persons()] == ["Ann"]
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() is None


def test_a_report_reads_photos_and_grants_as_of_one_moment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`report --gallery` read each person's photo, then the grants, each on its own: a person removed between
    them was shown with their photo and without the grants they had, as if never authorized."""
    path = tmp_path / "g.sqlite"
    gallery_of(path, "Ann")
    with Gallery(path) as store:
        store.authorize("Ann", "douyin:1")
    result = scan_result([appearance("Ann", room="douyin:1")], [source(room="douyin:1")])
    (tmp_path / "r.json").write_text(json.dumps(result.to_dict()), encoding="utf-8")
    photo = Gallery.best_thumbnail

    def photo_then_removed(store: Gallery, name: str) -> bytes | None:
        found = photo(store, name)
        with Gallery(path) as writer:  # another process's `gallery remove Ann`, committed meanwhile
            writer.remove_person("Ann")
        return found

    monkeypatch.setattr(Gallery, "best_thumbnail", photo_then_removed)
    report = read_report_input(tmp_path / "r.json", path)
    assert report.authorizations is not None
    assert [a.room for a in report.authorizations] == ["douyin:1"]  # was: [], Ann's grant gone beside her photo


def test_a_person_named_by_an_alias_is_authorized_and_removed_under_their_registered_name(tmp_path: Path) -> None:
    path = tmp_path / "g.sqlite"
    with Gallery(path) as store:
        store.add_person("Eileen Collins", [reference(1)], aliases=["Collins"])
        store.add_person("Ann", [reference(2)])
        assert store.authorize("collins", "douyin:1", "2026-01-01", None, ai_allowed=True) == "Eileen Collins"
        assert store.authorize("Collins", "douyin:1") == "Eileen Collins"  # in place of the grant, not beside it
        assert [(a.person, a.room, a.valid_from) for a in store.authorizations()] == [
            ("Eileen Collins", "douyin:1", None)
        ]
        assert store.remove_person("Collins") == "Eileen Collins"
        assert [p.name for p in store.persons()] == ["Ann"] and store.authorizations() == []
        with pytest.raises(GalleryError, match="no person named 'Collins'"):
            store.remove_person("Collins")


def test_gallery_list_reads_the_gallery_as_of_one_moment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`gallery list` read the people, then each one's grants: a person removed between failed the listing ('no
    person named ...', exit 2)."""
    from rich.console import Console

    from impersonation_cli.outputs.gallery_tables import people_table

    path = tmp_path / "g.sqlite"
    gallery_of(path, "Ann", "Bob")
    with Gallery(path, create=False, read_only=True) as reader:
        write_meanwhile(monkeypatch, reader, lambda: removed_elsewhere(path, "Bob"))
        console = Console(width=200, record=True)
        console.print(people_table(reader))
    assert "Bob" in console.export_text()  # as it was when the listing began
