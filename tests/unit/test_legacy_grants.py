"""What an older version stored and this one refuses as input still leaves the gallery movable: a grant's room
with an invisible character is revoked by its stored spelling, a bound in another ISO form is exported in the
form `gallery import-file` takes, and a value that cannot be exported so is refused by the export, naming the fix.
Each export said it was written and `gallery import-file` then refused it: a backup that could not be restored."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest

from impersonation_cli.errors import GalleryError, UserError
from impersonation_cli.gallery.store import Gallery, ReferenceFace, export_to_file, import_from_file


def _gallery(path: Path, grants: list[tuple[str, str | None, str | None]], name: str = "Ann A") -> Path:
    embedding = np.ones(512, dtype=np.float32) / np.sqrt(512)
    with Gallery(path) as store:
        store.add_person("Ann A", [ReferenceFace("a" * 64, "ref.jpg", "w600k_mbf.onnx:0", embedding, 120, 0.9, 80, 1)])
    with sqlite3.connect(path) as db:  # as an older version stored them, unchecked
        db.executemany(
            "INSERT INTO authorizations (person_id, room, valid_from, valid_to, ai_allowed, created_at)"
            " VALUES (1, ?, ?, ?, 0, '2026-11-25T00:00:00+00:00')",
            grants,
        )
        db.execute("UPDATE persons SET name = ?", (name,))
    db.close()
    return path


def test_a_bound_in_another_iso_form_is_exported_as_import_file_takes_it(tmp_path: Path) -> None:
    gallery = _gallery(
        tmp_path / "g.sqlite", [("douyin:1", None, "2026-W52-3"), ("kuaishou:2", None, "20261231T235959+0800")]
    )
    export_to_file(gallery, tmp_path / "x.json")
    assert import_from_file(tmp_path / "copy.sqlite", tmp_path / "x.json")[0] == 1
    with Gallery(tmp_path / "copy.sqlite") as copy:
        assert {(g.room, g.valid_to) for g in copy.authorizations()} == {
            ("douyin:1", "2026-12-23"),
            ("kuaishou:2", "2026-12-31T23:59:59+08:00"),
        }


def test_an_older_exports_bound_in_another_iso_form_is_imported_as_the_same_day_or_instant(tmp_path: Path) -> None:
    """An older version exported bounds as it stored them: its backup holding '20261231T235959+0800' was refused."""
    gallery = _gallery(tmp_path / "g.sqlite", [("douyin:1", None, None)])
    export_to_file(gallery, tmp_path / "x.json")
    text = (tmp_path / "x.json").read_text(encoding="utf-8")
    older = text.replace('"valid_to": null', '"valid_to": "20261231T235959+0800"', 1)
    assert older != text
    (tmp_path / "older.json").write_text(older, encoding="utf-8")
    import_from_file(tmp_path / "copy.sqlite", tmp_path / "older.json")
    with Gallery(tmp_path / "copy.sqlite") as copy:
        assert [g.valid_to for g in copy.authorizations()] == ["2026-12-31T23:59:59+08:00"]


def test_a_room_with_an_invisible_character_is_revoked_by_its_stored_spelling(tmp_path: Path) -> None:
    gallery = _gallery(tmp_path / "g.sqlite", [("douyin:555\u200b", None, None), ("douyin:556", None, None)])
    with pytest.raises(GalleryError, match=r"grant of 'douyin:555\\u200b' to 'Ann A' cannot be exported.*revoke"):
        export_to_file(gallery, tmp_path / "x.json")
    assert not (tmp_path / "x.json").exists()
    with Gallery(gallery) as store:
        with pytest.raises(UserError, match="invisible character"):  # one never stored is refused as before
            store.revoke("Ann A", "douyin:557\u200b")
        assert store.revoke("Ann A", "douyin:555\u200b")
        assert [g.room for g in store.authorizations()] == ["douyin:556"]
    export_to_file(gallery, tmp_path / "x.json")


def test_a_name_with_an_invisible_character_an_older_version_stored_is_exported_and_restored(tmp_path: Path) -> None:
    """Names are refused invisible characters since 2026-12-07; one stored before blocked the whole gallery's
    export ('type it again'), and an older export holding one could not be restored."""
    gallery = _gallery(tmp_path / "g.sqlite", [], name="Rose Les\u00adlie")
    export_to_file(gallery, tmp_path / "x.json")
    import_from_file(tmp_path / "copy.sqlite", tmp_path / "x.json")
    with Gallery(tmp_path / "copy.sqlite") as copy:
        assert [person.name for person in copy.persons()] == ["Rose Les\u00adlie"]


def test_a_name_with_control_characters_is_refused_by_the_export_naming_the_fix(tmp_path: Path) -> None:
    gallery = _gallery(tmp_path / "g.sqlite", [], name="Joe\u202eBiden")
    with pytest.raises(GalleryError, match=r"cannot export: invalid person name .*control characters.*gallery remove"):
        export_to_file(gallery, tmp_path / "x.json")
