"""A platform is a site's name: `Douyin:123` is `douyin:123`. Grants, rooms files, --room and watch named two rooms
(an authorized room flagged unauthorized-likeness, one room watched twice and `concurrent` with itself). Rooms are
spelt with the platform in lower case wherever they are read; the account is kept as given (case-sensitive on some
platforms). A gallery written before may hold `Douyin:123`: its grant still counts, and revoking removes it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from impersonation_cli.api import room_assignments, room_specs
from impersonation_cli.errors import GalleryError, UserError
from impersonation_cli.gallery.store import Gallery, ReferenceFace, export_to_file, import_from_file
from impersonation_cli.io.rooms import Room, validate_room
from impersonation_cli.outputs.findings import read_report_input

from .builders import appearance, scan_result, source


def _gallery(path: Path) -> Gallery:
    embedding = np.ones(512, dtype=np.float32) / np.sqrt(512)
    store = Gallery(path)
    store.add_person("Ann A", [ReferenceFace("a" * 64, "ref.jpg", "w600k_mbf.onnx:0", embedding, 120, 0.9, 80, 1)])
    return store


def test_the_platform_is_spelt_in_lower_case_and_the_account_as_given(tmp_path: Path) -> None:
    assert validate_room("Douyin:AbC") == "douyin:AbC"
    assert Room("clip.mp4", "DOUYIN:AbC").account == "douyin:AbC"
    _, rooms = room_assignments(["clip.mp4"], "Douyin:1")
    assert rooms["clip.mp4"].account == "douyin:1"
    assert [spec.account for spec in room_specs(["rtmp://h/live/a"], "Douyin:1")] == ["douyin:1"]
    listed = tmp_path / "rooms.yaml"
    listed.write_text(
        "rooms:\n  - {url: 'rtmp://h/live/a', room: 'Douyin:1'}\n  - {url: 'rtmp://h/live/b', room: 'douyin:1'}\n",
        encoding="utf-8",
    )
    with pytest.raises(UserError, match="the same room or URL is named twice: douyin:1"):
        room_specs([str(listed)], None)
    with pytest.raises(UserError, match="not of the form platform:account"):
        validate_room("Douyin 1:2")


def test_grants_of_either_spelling_are_one_room(tmp_path: Path) -> None:
    with _gallery(tmp_path / "g.sqlite") as store:
        store.authorize("Ann A", "Douyin:AbC")
        assert [a.room for a in store.authorizations()] == ["douyin:AbC"]
        # A gallery written before: the grant stored as typed.
        store.db.execute("UPDATE authorizations SET room = 'DouYin:AbC'")
        store.db.commit()
        assert [a.room for a in store.authorizations()] == ["douyin:AbC"]
        store.authorize("Ann A", "douyin:AbC", valid_to="2026-12-31")  # replaces it: one grant, the new one
        assert [(a.room, a.valid_to) for a in store.authorizations()] == [("douyin:AbC", "2026-12-31")]
        store.db.execute("UPDATE authorizations SET room = 'DouYin:AbC'")
        store.db.commit()
        assert store.revoke("Ann A", "DOUYIN:AbC") and store.authorizations() == []
        assert not store.revoke("Ann A", "douyin:abc")  # the account stays case-sensitive
        # A room not of the form platform:account is refused as authorize refuses it, not 'had no authorization'.
        with pytest.raises(UserError, match="room 'douyin 1' is not of the form platform:account"):
            store.revoke("Ann A", "douyin 1")


def test_a_result_written_before_matches_the_gallery_grant(tmp_path: Path) -> None:
    with _gallery(tmp_path / "g.sqlite") as store:
        store.authorize("Ann A", "douyin:1")
    result = scan_result([appearance("Ann A", room="Douyin:1")], [source(room="Douyin:1")])
    (tmp_path / "r.json").write_text(json.dumps(result.to_dict()), encoding="utf-8")
    report = read_report_input(tmp_path / "r.json", tmp_path / "g.sqlite")
    assert report.authorizations is not None
    rooms = {report.result.appearances[0].room, report.result.sources[0].room}
    assert rooms == {a.room for a in report.authorizations} == {"douyin:1"}


def test_an_export_granting_one_room_twice_is_refused_saying_so(tmp_path: Path) -> None:
    """An older gallery may hold a person's grants of Douyin:7 and douyin:7, one room: exported, both are douyin:7,
    and import-file refused the file saying 'this gallery grants it ...' of the grant it had just taken from the
    same file, into a gallery that held none."""
    with _gallery(tmp_path / "old.sqlite") as store:
        store.authorize("Ann A", "douyin:7", valid_to="2026-11-30")
        store.authorize("Ann A", "douyin:8", valid_from="2026-12-01")
        store.db.execute("UPDATE authorizations SET room = 'Douyin:7' WHERE room = 'douyin:8'")
        store.db.commit()
    export_to_file(tmp_path / "old.sqlite", tmp_path / "export.json")
    with pytest.raises(GalleryError, match=r"authorizations grants douyin:7 twice \(a gallery holds one grant per"):
        import_from_file(tmp_path / "new.sqlite", tmp_path / "export.json")


def test_an_account_in_either_unicode_form_is_one_room_and_an_invisible_character_is_refused(tmp_path: Path) -> None:
    """'douyin:café' granted with a composed é matched no scan of the same room typed with e and a combining
    accent (as macOS spells names), and a soft hyphen pasted into a grant made one that looked like douyin:555 and
    matched no scan of it: every message showed the two rooms alike."""
    composed, decomposed = "douyin:caf\u00e9", "douyin:cafe\u0301"
    assert validate_room(decomposed) == composed == validate_room(composed)
    assert Room("clip.mp4", decomposed).account == composed
    with _gallery(tmp_path / "g.sqlite") as store:
        store.authorize("Ann A", composed, None, None, False)
        store.db.execute("UPDATE authorizations SET room = ?", (decomposed,))  # as a gallery stored it before
        assert [grant.room for grant in store.authorizations()] == [composed]
    for hidden in ("\u00ad", "\u200b", "\ufeff"):
        with pytest.raises(UserError, match=r"holds an invisible character \(U\+"):
            validate_room(f"douyin:{hidden}555")
