"""What a gallery path may name when a command writes to it: a gallery, an empty or missing file, never another
program's SQLite database."""

from __future__ import annotations

import dataclasses
import os
import sqlite3
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from impersonation_cli.errors import GalleryError, UserError
from impersonation_cli.gallery.store import (
    FINGERPRINT_METHOD,
    FOOTAGE_TABLES,
    FootageVideo,
    Gallery,
    ReferenceFace,
    name_key,
)
from impersonation_cli.outputs.files import check_outputs


def _reference() -> ReferenceFace:
    embedding = np.ones(512, dtype=np.float32) / np.sqrt(512)
    return ReferenceFace("a" * 64, "ref.jpg", "w600k_mbf.onnx:0123", embedding, 120.0, 0.9, 80.0, 1)


def _database_of_another_program(path: Path) -> bytes:
    connection = sqlite3.connect(path)
    connection.execute("CREATE TABLE bookmarks (url TEXT)")
    connection.execute("INSERT INTO bookmarks VALUES ('https://example.com')")
    connection.commit()
    connection.close()
    return path.read_bytes()


def test_another_programs_database_is_refused_and_left_as_it_was(tmp_path: Path) -> None:
    """`gallery add --gallery app.db` added the gallery's tables to app.db and switched it to WAL."""
    path = tmp_path / "app.db"
    before = _database_of_another_program(path)
    with pytest.raises(GalleryError, match=r"SQLite database of another program \(tables bookmarks\), not a gallery"):
        Gallery(path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["app.db"]


def test_an_empty_file_or_a_gallery_opens_to_write(tmp_path: Path) -> None:
    empty = tmp_path / "empty.sqlite"
    empty.touch()
    Gallery(empty).close()
    Gallery(empty).close()  # now a gallery: opened again
    with Gallery(empty, create=False, read_only=True) as store:
        assert store.persons() == []


def test_a_gallery_of_a_newer_version_is_refused_by_its_version(tmp_path: Path) -> None:
    path = tmp_path / "g.sqlite"
    Gallery(path).close()
    connection = sqlite3.connect(path)
    connection.execute("CREATE TABLE later_feature (x)")
    connection.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    connection.commit()
    connection.close()
    with pytest.raises(GalleryError, match="has schema 99, newer than"):
        Gallery(path)


@pytest.mark.parametrize("suffix", ["-wal", "-shm", "-journal"])
def test_no_output_is_written_over_a_gallerys_journal(tmp_path: Path, suffix: str) -> None:
    """`gallery export g.sqlite-wal` replaced the journal that held people another process had just added."""
    gallery = tmp_path / "g.sqlite"
    with Gallery(gallery) as store:
        store.authorizations()
        with pytest.raises(UserError, match=r"is the journal of the input .*g\.sqlite: writing it would destroy"):
            check_outputs({"gallery export": tmp_path / f"g.sqlite{suffix}"}, [gallery])
    video = tmp_path / "clip.mp4"
    video.write_bytes(b"not a database")
    check_outputs({"--json": tmp_path / f"clip.mp4{suffix}"}, [video])  # only an SQLite input has journals


def test_a_write_to_a_read_only_gallery_is_refused_in_one_line(tmp_path: Path) -> None:
    """`gallery authorize` (and every other write) to a read-only gallery file was 'internal error:
    OperationalError: attempt to write a readonly database', exit 4."""
    path = tmp_path / "g.sqlite"
    with Gallery(path) as store:
        store.add_person("Ann A", [_reference()])
    store = Gallery(path)
    store.db.close()  # as SQLite sees a file it may not write (chmod does not stop root, who runs some tests)
    store.db = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, isolation_level=None)
    store.db.create_function("name_key", 1, name_key)  # as Gallery's own connection has it
    with store, pytest.raises(GalleryError, match=r"g\.sqlite cannot be written \(a read-only file\?\): attempt to"):
        store.authorize("Ann A", "douyin:1")
    with Gallery(path, create=False, read_only=True) as store:
        assert store.authorizations() == []


def test_a_write_to_a_gallery_another_program_holds_is_refused_in_one_line(tmp_path: Path) -> None:
    """Past the 30 s wait for another writer it was 'internal error: OperationalError: database is locked'."""
    path = tmp_path / "g.sqlite"
    with Gallery(path) as store:
        store.add_person("Ann A", [_reference()])
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with Gallery(path) as store:
            store.db.execute("PRAGMA busy_timeout = 0")  # the 30 s wait, cut short
            with pytest.raises(GalleryError, match=r"g\.sqlite is being written by another program \(try again"):
                store.authorize("Ann A", "douyin:1")
    finally:
        holder.close()


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux's /proc, where no file can be made")
def test_a_new_gallery_that_cannot_be_made_is_not_called_unreadable() -> None:
    """A new gallery in a folder that takes no files was refused as 'not a readable impersonation-cli gallery'."""
    with pytest.raises(GalleryError, match=r"^cannot make a gallery at /proc/g\.sqlite: unable to open database file"):
        Gallery(Path("/proc/g.sqlite"))


def test_reading_a_gallery_leaves_nothing_beside_it_and_writers_go_on(tmp_path: Path) -> None:
    """A read-only SQLite connection to a WAL gallery makes -wal and -shm files and cannot remove them:
    `gallery list`, `show`, `report` and scans left an empty -wal and a 32 KiB -shm beside the gallery. A reader
    now is an ordinary connection refusing writes, which removes them as it closes last; beside a writer it is
    one more WAL reader."""
    path = tmp_path / "g.sqlite"
    with Gallery(path) as store:
        store.add_person("Ann A", [_reference()])
    with Gallery(path, create=False, read_only=True) as store:
        assert [p.name for p in store.persons()] == ["Ann A"]
        with pytest.raises(GalleryError, match="cannot be written"):
            store.authorize("Ann A", "douyin:1")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.sqlite"]
    writer, reader = Gallery(path), Gallery(path, create=False, read_only=True)
    writer.add_person("Bob B", [dataclasses.replace(_reference(), image_sha256="b" * 64)])
    assert [p.name for p in reader.persons()] == ["Ann A", "Bob B"]  # the writer's commit, read beside it
    reader.close()
    writer.add_person("Cy C", [dataclasses.replace(_reference(), image_sha256="c" * 64)])
    writer.close()
    with Gallery(path, create=False, read_only=True) as store:
        assert [p.name for p in store.persons()] == ["Ann A", "Bob B", "Cy C"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.sqlite"]


def _not_writable(monkeypatch: pytest.MonkeyPatch, path: Path) -> None:
    """`path` as a user who may not write it sees it (chmod 444 does not stop root, who runs some tests)."""
    access = os.access

    def fake(name: Any, mode: int, **kwargs: Any) -> bool:
        return False if Path(name) == path and mode & os.W_OK else access(name, mode, **kwargs)

    monkeypatch.setattr(os, "access", fake)


def test_reading_a_read_only_gallery_file_in_a_writable_folder_leaves_nothing_beside_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A gallery file the user may not write, in a folder they may: `gallery list`, `show` and scans opened it
    with SQLite's mode=ro, which makes -wal and -shm files beside a WAL gallery and cannot remove them (a
    read-only folder was handled, this was not). With no writer beside it (no -wal) it is read as immutable now;
    with one, as one more reader of the writer's -wal, which holds that writer's latest commits."""
    path = tmp_path / "g.sqlite"
    with Gallery(path) as store:
        store.add_person("Ann A", [_reference()])
    path.chmod(0o444)
    _not_writable(monkeypatch, path)
    with Gallery(path, create=False, read_only=True) as store:
        assert [p.name for p in store.persons()] == ["Ann A"]
        with pytest.raises(GalleryError, match="cannot be written"):
            store.authorize("Ann A", "douyin:1")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.sqlite"]
    path.chmod(0o644)
    monkeypatch.undo()
    with Gallery(path) as writer:  # another user's writer, who may write it
        writer.add_person("Bob B", [dataclasses.replace(_reference(), image_sha256="b" * 64)])
        assert (tmp_path / "g.sqlite-wal").stat().st_size > 0  # Bob is in the -wal only, not yet in the file
        with Gallery(path, create=False, read_only=True) as store:
            assert [p.name for p in store.persons()] == ["Ann A", "Bob B"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.sqlite"]


def test_a_full_disk_is_one_line_and_keeps_the_gallery(tmp_path: Path) -> None:
    """A full disk during `gallery import-file`, `footage add` or `gallery add` was 'internal error:
    OperationalError: database or disk is full' (exit 4). The file is held to two pages more than it has, as a
    disk with room for two would."""
    path = tmp_path / "g.sqlite"
    with Gallery(path) as store:
        store.add_person("Ann A", [_reference()])
        pages = store.db.execute("PRAGMA page_count").fetchone()[0]
        store.db.execute(f"PRAGMA max_page_count = {pages + 2}").fetchone()
        many = [dataclasses.replace(_reference(), image_sha256=f"{n:064x}", thumbnail=bytes(4000)) for n in range(100)]
        with pytest.raises(GalleryError, match=r"g\.sqlite cannot be written: the disk is full: database or disk"):
            store.add_person("Bo B", many)
        assert [(p.name, p.reference_count) for p in store.persons()] == [("Ann A", 1)]


def test_a_write_sqlite_ended_itself_raises_its_own_error_not_the_rollbacks(tmp_path: Path) -> None:
    """SQLite rolls a transaction back itself on some errors (a full disk); rolling back again failed, and 'cannot
    rollback - no transaction is active' took the place of the error that said what happened."""
    with Gallery(tmp_path / "g.sqlite") as store:
        pages = store.db.execute("PRAGMA page_count").fetchone()[0]
        with pytest.raises(GalleryError, match="the disk is full: database or disk is full"), store.transaction() as db:
            db.execute("ROLLBACK")  # as SQLite does on SQLITE_FULL, before the error reaches us
            db.execute(f"PRAGMA max_page_count = {pages}").fetchone()
            db.execute("INSERT INTO meta VALUES ('filler', ?)", ("x" * 100_000,))


def test_a_write_to_a_read_only_gallery_leaves_no_files_beside_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A refused write to a read-only gallery in a writable folder left read-only -wal and -shm files, which then
    refused every write even once the gallery was writable again."""
    path = tmp_path / "g.sqlite"
    with Gallery(path) as store:
        store.add_person("Ann A", [_reference()])
    _not_writable(monkeypatch, path)
    with pytest.raises(GalleryError, match=r"g\.sqlite cannot be written \(a read-only file\?\): it is not writable"):
        Gallery(path, create=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.sqlite"]
    with Gallery(path, create=False, read_only=True) as store:
        assert [p.name for p in store.persons()] == ["Ann A"]


@pytest.mark.parametrize(
    ("alteration", "message"),
    [
        (
            "UPDATE authorizations SET valid_to = 'notadate'",
            r"authorization 1's valid_to 'notadate' is not an ISO date or date-time; the file was altered",
        ),
        (
            "UPDATE footage_frames SET fingerprint = randomblob(5000)",
            r"a fingerprint of footage video 1 has 5000 bytes, not 64; the file was altered",
        ),
    ],
)
def test_grants_and_footage_altered_by_hand_are_refused_when_the_gallery_opens(
    tmp_path: Path, alteration: str, message: str
) -> None:
    """They passed the open, and each scan's source then failed as an internal error pinned on the video
    ('ValueError: Invalid isoformat string', 'operands could not be broadcast together'), exit 3."""
    path = tmp_path / "g.sqlite"
    with Gallery(path) as store:
        store.add_person("Ann A", [_reference()])
        store.authorize("Ann A", "douyin:1", "2026-01-01", "2026-12-31")
        store.add_footage(FootageVideo("Ann A", "a.mp4", "c" * 64, FINGERPRINT_METHOD, 8.0, 2.0), [(0.0, bytes(64))])
    with Gallery(path) as store:
        assert len(store.authorizations()) == 1 and len(store.footage()) == 1
        store.db.execute(alteration)
    for read_only in (False, True):
        with pytest.raises(GalleryError, match=message):
            Gallery(path, create=False, read_only=read_only)


def test_a_gallery_made_before_known_footage_is_read_as_having_none(tmp_path: Path) -> None:
    """A gallery made before the footage tables were (2026-11-24) was refused by every reader ('not a readable
    impersonation-cli gallery: no table footage_videos': list, scan, export) while any write added the tables
    and made it readable: a user was told to restore a gallery that was fine. Read, it is left as it was."""
    path = tmp_path / "g.sqlite"
    with Gallery(path) as store:
        store.add_person("Eileen Collins", [_reference()], [])
        store.authorize("Eileen Collins", "douyin:1", None, None, False)
    with sqlite3.connect(path) as older:
        older.execute("DROP TABLE footage_frames")
        older.execute("DROP TABLE footage_videos")
    before = path.read_bytes()
    with Gallery(path, create=False, read_only=True) as store:
        assert store.footage() == [] and store.footage_frames(FINGERPRINT_METHOD) == []
        assert [p.name for p in store.persons()] == ["Eileen Collins"] and len(store.index()) == 1
        assert store.export()["persons"][0]["footage"] == []
    assert path.read_bytes() == before
    with sqlite3.connect(path) as older:
        assert not FOOTAGE_TABLES & {row[0] for row in older.execute("SELECT name FROM sqlite_master")}
    with Gallery(path, create=False) as store:  # a writer adds them, as before
        assert store.footage() == []
    with sqlite3.connect(path) as upgraded:
        assert {row[0] for row in upgraded.execute("SELECT name FROM sqlite_master")} >= FOOTAGE_TABLES


def test_a_gallery_missing_one_footage_table_is_still_refused(tmp_path: Path) -> None:
    path = tmp_path / "g.sqlite"
    with Gallery(path) as store:
        store.add_person("Eileen Collins", [_reference()], [])
    with sqlite3.connect(path) as altered:
        altered.execute("DROP TABLE footage_frames")
    with pytest.raises(GalleryError, match="not a readable impersonation-cli gallery: no table footage_frames"):
        Gallery(path, create=False, read_only=True)


@pytest.mark.parametrize("newer", ["tables", "renamed column"])
def test_a_gallery_of_a_newer_version_is_left_as_it_was_and_refused_by_its_version(tmp_path: Path, newer: str) -> None:
    """Opened to write, it was switched to WAL and given this version's missing tables before the refusal; with a
    column renamed, it was 'not a readable impersonation-cli gallery', as if damaged."""
    path = tmp_path / "g.sqlite"
    with Gallery(path) as store:
        store.add_person("Ann A", [_reference()])
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode = DELETE")
    connection.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")
    if newer == "tables":
        connection.execute("DROP TABLE footage_frames")
    else:
        connection.execute("ALTER TABLE reference_faces RENAME COLUMN blur TO sharpness")
    connection.close()
    before = path.read_bytes()
    for read_only in (False, True):
        with pytest.raises(GalleryError, match="has schema 2, newer than this tool's 1"):
            Gallery(path, create=False, read_only=read_only)
    assert path.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["g.sqlite"]


def test_a_gallery_whose_latest_writes_cannot_be_read_here_is_refused_not_read_without_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In a read-only folder, a gallery with a -wal and no -shm (a backup that left the -shm out) cannot be read
    with its -wal: read as immutable, the people committed to the -wal were silently missing from lists, exports
    and scans."""
    path = tmp_path / "g.sqlite"
    with Gallery(path) as store:
        store.add_person("Ann A", [_reference()])
    keeper = sqlite3.connect(path)  # while a connection is open, the last writer's close leaves the -wal as it is
    keeper.execute("SELECT COUNT(*) FROM persons").fetchone()
    with Gallery(path) as store:
        store.add_person("Bob B", [dataclasses.replace(_reference(), image_sha256="b" * 64)])
    assert (tmp_path / "g.sqlite-wal").stat().st_size > 0  # Bob is in the -wal only
    _not_writable(monkeypatch, path)
    _not_writable(monkeypatch, tmp_path)
    connect = sqlite3.connect

    def no_shm_here(name: str, *args: Any, **kwargs: Any) -> sqlite3.Connection:  # as in a read-only folder
        if "mode=ro" in str(name):
            refusal = sqlite3.OperationalError("unable to open database file")
            refusal.sqlite_errorname = "SQLITE_CANTOPEN"
            raise refusal
        return connect(name, *args, **kwargs)

    monkeypatch.setattr(sqlite3, "connect", no_shm_here)
    with pytest.raises(GalleryError, match=r"its g\.sqlite-wal holds writes not yet in the file"):
        Gallery(path, create=False, read_only=True)
    keeper.close()
