"""`gallery import-file` and authorizations without models: a hand-built export, every bad value refused in one
line naming where it is, and the gallery left as it was."""

from __future__ import annotations

import base64
import copy
import json
import os
import re
import sqlite3
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from impersonation_cli.errors import GalleryError, UserError
from impersonation_cli.gallery.store import (
    EXPORT_FORMAT,
    Gallery,
    export_to_file,
    import_from_file,
    parse_export,
    revoke_in_file,
)

EMBEDDING = base64.b64encode((np.ones(512) / np.sqrt(512)).astype("<f4").tobytes()).decode("ascii")


def _export() -> dict:
    """One person with one reference, an authorization and no footage: what `gallery export` writes."""
    reference = {
        "image_sha256": "a" * 64,
        "image_name": "ref.jpg",
        "recognizer": "w600k_mbf.onnx:0123",
        "embedding": EMBEDDING,
        "face_px": 120.0,
        "det_score": 0.9,
        "blur": 80.0,
        "faces_in_image": 1,
        "thumbnail_jpeg": None,
    }
    authorization = {"room": "douyin:1", "valid_from": "2026-01-01", "valid_to": "2026-12-31", "ai_allowed": False}
    person = {
        "name": "Eileen Collins",
        "aliases": ["Collins"],
        "references": [reference],
        "authorizations": [authorization],
        "footage": [],
    }
    return {"format": EXPORT_FORMAT, "version": 1, "recognizer": "w600k_mbf.onnx:0123", "persons": [person]}


def _person(document: dict) -> dict:
    return document["persons"][0]


def _reference(document: dict) -> dict:
    return _person(document)["references"][0]


def _another_person(name: str, aliases: list[str]) -> Callable[[dict], object]:
    def change(document: dict) -> object:
        other = copy.deepcopy(_person(document))
        other.update(name=name, aliases=aliases)
        document["persons"].append(other)

    return change


def _footage(**fields: object) -> dict:
    """One video of known footage as `gallery export` writes it: two fingerprinted frames."""
    frame = base64.b64encode(bytes(range(64))).decode("ascii")  # the ranks of the 8x8 grid's blocks
    video = {"name": "v.mp4", "sha256": "b" * 64, "method": "ordinal8-v1", "fps": 8.0, "duration_s": 1.0}
    return {**video, "times_s": [0.0, 0.125], "fingerprints": [frame, frame], **fields}


def _two_recognizers_unnamed(document: dict) -> None:
    """No top-level recognizer, and a second person whose reference another recognizer made."""
    del document["recognizer"]
    _another_person("Someone Else", [])(document)
    document["persons"][1]["references"][0]["recognizer"] = "w600k_r50.onnx:4567"


# (case, change in place, words the refusal must hold)
BAD = [
    ("faces_in_image 10**30", lambda d: _reference(d).update(faces_in_image=10**30), "faces_in_image must be"),
    ("faces_in_image -1", lambda d: _reference(d).update(faces_in_image=-1), "faces_in_image must be"),
    ("face_px 10**400", lambda d: _reference(d).update(face_px=10**400), "face_px must be at least 0 and at most"),
    ("face_px infinite", lambda d: _reference(d).update(face_px=float("inf")), "face_px must be at least 0"),
    ("blur -1", lambda d: _reference(d).update(blur=-1), "blur must be at least 0"),
    ("det_score 2", lambda d: _reference(d).update(det_score=2), "det_score must be at least 0 and at most 1"),
    ("version 1.0", lambda d: d.update(version=1.0), "version 1.0 is not one this tool reads"),
    ("version '1'", lambda d: d.update(version="1"), "version '1' is not one this tool reads"),
    ("top-level extra key", lambda d: d.update(comment="hi"), "the export has unknown keys: 'comment'"),
    ("person extra key", lambda d: _person(d).update(nickname="E"), "('Eileen Collins') has unknown keys"),
    ("reference extra key", lambda d: _reference(d).update(face=1), "references[0] has unknown keys: 'face'"),
    (
        "authorization extra key",
        lambda d: _person(d)["authorizations"][0].update(until="2027-01-01"),
        "authorizations[0] has unknown keys: 'until'",
    ),
    # 3 bytes: numpy's frombuffer raised ValueError, an internal error (exit 4) instead of a refusal
    ("embedding of 3 bytes", lambda d: _reference(d).update(embedding="AAAA"), "has 3 bytes, expected 512 float32"),
    ("embedding cut short", lambda d: _reference(d).update(embedding=EMBEDDING[:-8]), "has 2043 bytes, expected"),
    ("a person twice", _another_person("EILEEN COLLINS", []), "'EILEEN COLLINS' already names persons[0]"),
    ("an alias of another", _another_person("Someone Else", ["collins"]), "'collins' already names persons[0]"),
    (
        "footage of no frames",
        lambda d: _person(d)["footage"].append(_footage(times_s=[], fingerprints=[])),
        "footage[0] has no fingerprints; footage holds at least one fingerprinted frame",
    ),
    (
        "two recognizers, none named for the export",
        _two_recognizers_unnamed,
        "persons[1] ('Someone Else').references[0].recognizer 'w600k_r50.onnx:4567' is not 'w600k_mbf.onnx:0123'",
    ),
    # A bidi override reorders what follows it: a name holding one prints as another ('Eve\u202eenilloC' reads
    # 'EveCollinE'), a room as another room; names and rooms took them, though never control characters.
    ("a name with a bidi override", lambda d: _person(d).update(name="Eve\u202eenilloC"), "it holds control"),
    ("an alias with a bidi isolate", lambda d: _person(d).update(aliases=["\u2067Collins"]), "it holds control"),
    (
        "a room with a bidi override",
        lambda d: _person(d)["authorizations"][0].update(room="douyin:\u202e1"),
        "room 'douyin:\\u202e1' is not of the form platform:account",
    ),
    # A text field had no bound: a 100 MB image or video name was stored, and printed whole by gallery show.
    (
        "image_name of 100,000 characters",
        lambda d: _reference(d).update(image_name="x" * 100_000),
        "image_name is 100000",
    ),
    (
        "footage name of 100,000 characters",
        lambda d: _person(d)["footage"].append(_footage(name="v" * 100_000)),
        "footage[0].name is 100000 characters long, over 1024 (a file name's)",
    ),
    (
        "authorization ends before it starts",
        lambda d: _person(d)["authorizations"][0].update(valid_from="2027-01-01"),
        "authorizations[0]: valid from 2027-01-01 is after valid until 2026-12-31",
    ),
    # Values no export holds, found by an exploratory run: each was stored.
    (
        "authorization of a room alone",  # it was a grant for ever
        lambda d: _person(d)["authorizations"][0].pop("valid_to"),
        "authorizations[0] has no 'valid_to'",
    ),
    (
        "authorization without ai_allowed",
        lambda d: _person(d)["authorizations"][0].pop("ai_allowed"),
        "no 'ai_allowed'",
    ),
    (
        "thumbnail of 40 MB",
        lambda d: _reference(d).update(thumbnail_jpeg=base64.b64encode(b"\xff\xd8" + bytes(300_000)).decode()),
        "thumbnail_jpeg has 300002 bytes; a reference thumbnail is at most 262144",
    ),
    (
        "fingerprint of zeros",
        lambda d: _person(d)["footage"].append(_footage(fingerprints=[base64.b64encode(bytes(64)).decode()] * 2)),
        "footage[0].fingerprints[0] is not an ordinal8-v1 fingerprint (block ranks)",
    ),
    (
        "frame times past the video",
        lambda d: _person(d)["footage"].append(_footage(times_s=[0.0, 1e6])),
        "footage[0].times_s[1] 1000000.0 is not after the one before it and within the video's 1 s",
    ),
    (
        "frame times not rising",
        lambda d: _person(d)["footage"].append(_footage(times_s=[0.5, 0.5])),
        "footage[0].times_s[1] 0.5 is not after the one before it",
    ),
    ("footage at 1e9 fps", lambda d: _person(d)["footage"].append(_footage(fps=1e9)), "footage[0].fps: fps must be"),
]


def test_the_hand_built_export_imports(tmp_path: Path) -> None:
    document = _export()
    _person(document)["footage"].append(_footage())
    with Gallery(tmp_path / "g.sqlite") as store:
        assert store.import_export(document) == 1
        assert store.authorizations()[0].valid_to == "2026-12-31"
        assert [video.frames for video in store.footage()] == [2]


@pytest.mark.parametrize(("case", "change", "words"), BAD, ids=[c[0] for c in BAD])
def test_a_bad_export_is_refused_naming_the_field(
    case: str, change: Callable[[dict], object], words: str, tmp_path: Path
) -> None:
    gallery = tmp_path / "g.sqlite"
    with Gallery(gallery) as store:
        store.import_export(_export())
        before = store.export()
    document = _export()
    change(document)
    with pytest.raises(GalleryError) as refused:
        parse_export(document)
    assert words in str(refused.value) and "\n" not in str(refused.value), str(refused.value)
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps(document), encoding="utf-8")
    with pytest.raises(GalleryError, match="nothing imported"):
        import_from_file(gallery, forged)
    with Gallery(gallery) as store:
        assert store.export() == before


def test_an_import_never_replaces_a_grant_this_gallery_holds(tmp_path: Path) -> None:
    """A person's grant of a room in the file was put in place of the one held here, without a word: an older
    export, or another team's, widened it (a later end, an AI digital human allowed) or undid a change made here,
    and the gallery's own grant was lost. The file is refused whole; the same grant again changes nothing."""
    gallery = tmp_path / "g.sqlite"
    with Gallery(gallery) as store:
        store.import_export(_export())
        before = store.export()
    document = _export()
    _person(document)["authorizations"][0].update(room="Douyin:1", valid_to="2099-12-31", ai_allowed=True)
    wider = tmp_path / "wider.json"
    wider.write_text(json.dumps(document), encoding="utf-8")
    refusal = (
        "'Eileen Collins' of the imported file is granted douyin:1 from 2026-01-01 until 2099-12-31, AI allowed, but "
        "this gallery grants it from 2026-01-01 until 2026-12-31, AI not allowed: the file is refused (importing it "
        "would replace that grant); change the grant here (gallery authorize/revoke) or in the file, and import again"
    )
    with pytest.raises(GalleryError, match=re.escape(refusal)):
        import_from_file(gallery, wider)
    same = tmp_path / "same.json"
    same.write_text(json.dumps(_export()), encoding="utf-8")
    assert import_from_file(gallery, same) == (1, 0)
    with Gallery(gallery) as store:
        assert store.export() == before


@pytest.mark.parametrize(("since", "until"), [("2027-01-01", "2026-01-01"), ("2026-03-02", "2026-03-01T23:00:00Z")])
def test_an_authorization_that_ends_before_it_starts_is_refused(tmp_path: Path, since: str, until: str) -> None:
    with Gallery(tmp_path / "g.sqlite") as store:
        store.import_export(_export())
        with pytest.raises(UserError, match=f"valid from {since} is after valid until"):
            store.authorize("Eileen Collins", "kuaishou:2", since, until)
        # One day, even from evening to morning: verdicts compare dates.
        store.authorize("Eileen Collins", "kuaishou:2", "2026-03-01T20:00:00+08:00", "2026-03-01")
        assert [a.room for a in store.authorizations()] == ["douyin:1", "kuaishou:2"]


def test_a_folder_is_not_taken_for_a_missing_gallery(tmp_path: Path) -> None:
    # Scanner.open(gallery=FOLDER) said "no gallery at FOLDER: register people ... first".
    for create in (True, False):
        with pytest.raises(GalleryError, match="is a folder, not a gallery file"):
            Gallery(tmp_path, create=create)


def _alter_behind_its_back(path: Path, statement: str) -> None:
    """The gallery file changed by another program, as a damaged or hand-edited file would be."""
    connection = sqlite3.connect(path)
    connection.execute(statement)
    connection.commit()
    connection.close()


def test_a_gallery_missing_a_table_or_column_is_refused_when_opened(tmp_path: Path) -> None:
    """Opened read-only (report --gallery, gallery list, scan), a gallery without its authorizations table (or
    reference photos' thumbnail column) passed every check and failed at its first query: 'internal error:
    OperationalError: no such table' (exit 4)."""
    path = tmp_path / "gallery.sqlite"
    Gallery(path).close()
    _alter_behind_its_back(path, "DROP TABLE authorizations")
    with pytest.raises(GalleryError, match="not a readable impersonation-cli gallery: no table authorizations"):
        Gallery(path, create=False, read_only=True)
    with Gallery(path) as repaired:  # opened to write, the missing table is made again, as for an older gallery
        assert repaired.authorizations() == []
    _alter_behind_its_back(path, "ALTER TABLE reference_faces DROP COLUMN thumbnail")
    with pytest.raises(GalleryError, match="gallery: no column thumbnail in table reference_faces"):
        Gallery(path, create=False, read_only=True)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("UPDATE persons SET name = x'ffee'", r"persons\.name holds a blob where text belongs; the file was altered"),
        ("UPDATE persons SET name = CAST(x'ffee' AS TEXT)", "Could not decode to UTF-8 column 'name'"),
        ("UPDATE reference_faces SET thumbnail = 'text'", r"reference_faces\.thumbnail holds a text where blob"),
    ],
)
def test_a_value_of_the_wrong_type_is_refused_when_opened(tmp_path: Path, change: str, message: str) -> None:
    """SQLite keeps any value in any column: a person's name stored as a blob made `report --gallery` fail in
    the takedown draft ('bytes' object has no attribute 'casefold'), a text thumbnail in the HTML, and a name
    not in UTF-8 at its first query; each was an internal error (exit 4)."""
    path = tmp_path / "gallery.sqlite"
    with Gallery(path) as gallery:
        gallery.import_export(_export())
    _alter_behind_its_back(path, change)
    with pytest.raises(GalleryError, match=f"not a readable impersonation-cli gallery: {message}"):
        Gallery(path, create=False, read_only=True)


@pytest.mark.parametrize(
    ("name", "what", "words"),
    [
        ("Bad\udcff", "person name", "'Bad\\xff': it holds bytes that are not UTF-8 text"),
        ("A\nB", "person name", "'A\\nB': it holds control characters"),
        ("a" * 5000, "person name", "aaa...: 1-200 printable characters, not 5000"),
        ("", "alias", "invalid alias '': 1-200 printable characters"),
    ],
)
def test_a_refused_name_says_which_rule_it_breaks(name: str, what: str, words: str) -> None:
    """Every refusal said '1-200 printable characters': of a 9-character folder name that was not UTF-8, and
    with a 5000-character name echoed whole; an alias was called a person name."""
    from impersonation_cli.gallery.store import validate_name

    with pytest.raises(GalleryError) as refused:
        validate_name(name, what)
    assert words in str(refused.value) and len(str(refused.value)) < 200, str(refused.value)


@pytest.mark.parametrize("create", [True, False])
def test_a_gallery_path_that_is_a_pipe_is_refused_before_sqlite_opens_it(tmp_path: Path, create: bool) -> None:
    """`gallery add --gallery /dev/null` left /dev/null-journal behind and said 'disk I/O error'; a FIFO too."""
    pipe = tmp_path / "g.sqlite"
    os.mkfifo(pipe)
    with pytest.raises(GalleryError, match=r"g\.sqlite is not a regular file \(a device, pipe or socket\)"):
        Gallery(pipe, create=create)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.sqlite"]


def test_a_device_given_as_an_export_is_refused_unread(tmp_path: Path) -> None:
    """`gallery import-file /dev/zero` read for ever, filling memory (/dev/null: ends, so this cannot hang)."""
    with pytest.raises(GalleryError, match="cannot read gallery export /dev/null: a device, not a file"):
        import_from_file(tmp_path / "g.sqlite", Path("/dev/null"))


def test_footage_is_removed_by_the_sha256_prefix_footage_list_shows(tmp_path: Path) -> None:
    """`footage list` shows 16 characters of a video's sha256, and `footage remove`'s refusal points there, yet
    only the whole sha256 (shown nowhere) or the file name matched."""
    from impersonation_cli.gallery.store import FINGERPRINT_METHOD, FootageVideo

    with Gallery(tmp_path / "g.sqlite") as store:
        store.import_export(_export())
        digest = "0849ee15b10737d0" + "c" * 48
        store.add_footage(FootageVideo("Eileen Collins", "a.mp4", digest, FINGERPRINT_METHOD, 8.0, 3.0), [])
        assert store.remove_footage("Eileen Collins", "0849") == 0  # too short to name one video
        assert store.remove_footage("Eileen Collins", "%") == 0
        assert store.remove_footage("Eileen Collins", "0849EE15B10737D0") == 1
        assert store.footage() == []


def test_a_folder_given_as_an_export_is_named_as_one(tmp_path: Path) -> None:
    with pytest.raises(GalleryError, match=r"cannot read gallery export .*: a folder, not a file$"):
        import_from_file(tmp_path / "g.sqlite", tmp_path)


def test_an_export_saved_with_a_byte_order_mark_imports(tmp_path: Path) -> None:
    export = tmp_path / "export.json"
    export.write_bytes(b"\xef\xbb\xbf" + json.dumps(_export()).encode("utf-8"))
    assert import_from_file(tmp_path / "g.sqlite", export) == (1, 1)


def test_an_export_of_two_recognizers_leaves_no_gallery_behind(tmp_path: Path) -> None:
    """Refused only once written, it said 'the pack in use has ...' and left an empty gallery where none was."""
    document = _export()
    _two_recognizers_unnamed(document)
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps(document), encoding="utf-8")
    with pytest.raises(GalleryError, match="one export holds one recognizer's embeddings; nothing imported"):
        import_from_file(tmp_path / "new.sqlite", forged)
    assert not (tmp_path / "new.sqlite").exists()


def test_what_the_gallery_refuses_names_the_file_and_keeps_the_gallery(tmp_path: Path) -> None:
    """An alias the gallery gives someone else was refused as "alias 'Collins' already names another person":
    neither the file, nor who, nor that nothing was imported."""
    gallery = tmp_path / "g.sqlite"
    with Gallery(gallery) as store:
        store.import_export(_export())
        before = store.export()
    document = _export()
    _person(document).update(name="Someone Else", aliases=["collins"])
    _reference(document).update(image_sha256="b" * 64)
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps(document), encoding="utf-8")
    with pytest.raises(GalleryError) as refused:
        import_from_file(gallery, forged)
    message = str(refused.value)
    assert message.startswith(
        f"{forged}: alias 'collins' of 'Someone Else' already names another person, 'Eileen Collins'"
    )
    assert message.endswith("; nothing imported")
    with Gallery(gallery) as store:
        assert store.export() == before


def test_a_key_given_twice_in_an_export_is_refused(tmp_path: Path) -> None:
    """A hand edit that added a second valid_to beside the old one imported whichever json kept (the last)."""
    text = json.dumps(_export()).replace(
        '"valid_to": "2026-12-31"', '"valid_to": "2026-12-31", "valid_to": "2099-12-31"'
    )
    forged = tmp_path / "forged.json"
    forged.write_text(text, encoding="utf-8")
    with pytest.raises(GalleryError, match=f"^cannot read gallery export {forged}: key 'valid_to' is given twice$"):
        import_from_file(tmp_path / "g.sqlite", forged)
    assert not (tmp_path / "g.sqlite").exists()


def test_an_imported_person_named_like_an_alias_here_is_not_merged_into_that_person(tmp_path: Path) -> None:
    """The file's person "Collins" was merged into this gallery's Eileen Collins (alias Collins): two people's
    faces under one name, and her authorizations given to the other's. The whole file is refused instead."""
    path = tmp_path / "gallery.sqlite"
    with Gallery(path) as store:
        store.import_export(_export())
    other = _export()
    _person(other).update(name="Collins", aliases=[], authorizations=[])
    _reference(other)["image_sha256"] = "b" * 64
    message = "^'Collins' of the imported file is a person there but an alias of 'Eileen Collins' here: the file is"
    with Gallery(path) as store, pytest.raises(GalleryError, match=message):
        store.import_export(other)
    with Gallery(path, read_only=True) as store:
        assert [p.name for p in store.persons()] == ["Eileen Collins"] and len(store.references("Eileen Collins")) == 1
    with Gallery(path) as store:
        assert store.import_export(_export()) == 0  # the same person again, by name: merged as before


def test_a_grant_written_in_another_offset_is_the_same_grant(tmp_path: Path) -> None:
    """The same end, 20:00 in Beijing, exported by an office that writes UTC ('2027-06-30T12:00:00Z') was 'another
    grant' and refused the file: instants are compared, dates as written."""
    gallery = tmp_path / "g.sqlite"
    with Gallery(gallery) as store:
        store.import_export(_export())
        store.authorize("Eileen Collins", "kuaishou:2", None, "2027-06-30T20:00:00+08:00")
        before = store.export()
    document = json.loads(json.dumps(before))
    for grant in _person(document)["authorizations"]:
        if grant["room"] == "kuaishou:2":
            grant["valid_to"] = "2027-06-30T12:00:00Z"
    same = tmp_path / "same.json"
    same.write_text(json.dumps(document), encoding="utf-8")
    assert import_from_file(gallery, same) == (1, 0)
    with Gallery(gallery) as store:
        assert store.export() == document  # the same grant, written as the file has it
    for grant in _person(document)["authorizations"]:
        if grant["room"] == "kuaishou:2":
            grant["valid_to"] = "2027-06-30T12:00:01Z"
    later = tmp_path / "later.json"
    later.write_text(json.dumps(document), encoding="utf-8")
    with pytest.raises(GalleryError, match="the file is refused"):
        import_from_file(gallery, later)


def test_an_imported_face_like_another_registered_persons_is_warned_of(tmp_path: Path) -> None:
    """Merging two analysts' galleries added the same face under a second name without a word (`gallery add` and
    `import` warn of it): scans then matched neither person."""
    from .cli_in_process import run_cli

    document = _export()
    other = copy.deepcopy(document)
    other["persons"][0].update(name="President 44", aliases=[], authorizations=[])
    _reference(other)["image_sha256"] = "b" * 64
    first, second, gallery = tmp_path / "mine.json", tmp_path / "theirs.json", tmp_path / "g.sqlite"
    first.write_text(json.dumps(other), encoding="utf-8")
    second.write_text(json.dumps(document), encoding="utf-8")
    assert run_cli("gallery", "import-file", str(first), "--gallery", str(gallery)).stderr == ""
    done = run_cli("gallery", "import-file", str(second), "--gallery", str(gallery))
    assert done.returncode == 0, done.stderr
    assert "warning: Eileen Collins: ref.jpg: this face is 1.00 like 'President 44'" in done.stderr, done.stderr


def test_an_import_reads_the_gallery_once_for_its_lookalike_warnings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The warnings read every registered embedding again for each person imported: 1,860 people took 93 s
    (the import itself 2 s), twice the people four times as long."""
    from impersonation_cli.gallery.enrol import import_gallery_file

    rng = np.random.default_rng(3)
    document = _export()
    template = _person(document)
    document["persons"] = []
    for n in range(40):
        person = copy.deepcopy(template)
        vector = rng.normal(size=512)
        embedding = (vector / np.linalg.norm(vector)).astype("<f4").tobytes()
        person.update(name=f"Person {n}", aliases=[])
        person["references"][0].update(image_sha256=f"{n:064x}", embedding=base64.b64encode(embedding).decode())
        person["authorizations"] = []
        document["persons"].append(person)
    (tmp_path / "export.json").write_text(json.dumps(document), encoding="utf-8")
    reads: list[int] = []
    index = Gallery.index
    monkeypatch.setattr(Gallery, "index", lambda self: reads.append(1) or index(self))
    said: list[str] = []
    assert import_gallery_file(tmp_path / "g.sqlite", tmp_path / "export.json", 0.4, said.append) == (40, 40)
    assert len(reads) == 1 and said == []


def test_a_file_name_two_videos_carry_removes_neither_and_asks_for_the_sha256(tmp_path: Path) -> None:
    """`footage remove NAME clip.mp4` removed every video of that file name: two recordings both saved as
    clip.mp4 went together, where the analyst meant one."""
    from impersonation_cli.gallery.store import FINGERPRINT_METHOD, FootageVideo

    first, second = "aa" * 32, "bb" * 32
    with Gallery(tmp_path / "g.sqlite") as store:
        store.import_export(_export())
        for digest in (first, second):
            store.add_footage(FootageVideo("Eileen Collins", "clip.mp4", digest, FINGERPRINT_METHOD, 8.0, 3.0), [])
        # Named as registered, as every message names a person: given as 'eileen collins', it said "'eileen
        # collins''s videos".
        with pytest.raises(GalleryError, match=r"^2 videos of 'Eileen Collins' are named 'clip\.mp4' \(aaaa"):
            store.remove_footage("eileen collins", "clip.mp4")
        assert len(store.footage("Eileen Collins")) == 2
        assert store.remove_footage("Eileen Collins", second[:16]) == 1
        assert store.remove_footage("Eileen Collins", "clip.mp4") == 1
        assert store.footage("Eileen Collins") == []


def test_a_grant_whose_start_follows_its_end_is_refused_by_export_not_written(tmp_path: Path) -> None:
    """An older version compared a grant's bounds by date, so it stored 20:00 until 10:00 of one day; `gallery export`
    wrote it and `gallery import-file` of that export refused the whole file. Export now names the grant."""
    gallery = tmp_path / "g.sqlite"
    with Gallery(gallery) as store:
        store.import_export(_export())
        store.authorize("Eileen Collins", "douyin:1", "2026-01-01T20:00:00+00:00", "2026-01-01T21:00:00+00:00")
        store.db.execute("UPDATE authorizations SET valid_to = '2026-01-01T10:00:00+00:00'")
        store.db.commit()
    target = tmp_path / "out.json"
    with pytest.raises(GalleryError, match=r"the grant of douyin:1 to 'Eileen Collins' runs from 2026-01-01T20:00"):
        export_to_file(gallery, target)
    assert not target.exists()
    revoke_in_file(gallery, "Eileen Collins", "douyin:1")
    assert export_to_file(gallery, target) == 1
    import_from_file(tmp_path / "copy.sqlite", target)


def test_a_ctrl_c_in_the_lookalike_check_after_an_import_says_what_was_imported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The import is committed before the look-alike check (20 s of the 21 for 1,500 people): a Ctrl-C there said
    'error: aborted', which reads as nothing imported, where everyone was."""
    from impersonation_cli.errors import InterruptedAfter
    from impersonation_cli.gallery import enrol

    export = tmp_path / "export.json"
    export.write_text(json.dumps(_export()), encoding="utf-8")
    gallery = tmp_path / "g.sqlite"

    def interrupted(*_: object, **__: object) -> list[str]:
        raise KeyboardInterrupt

    monkeypatch.setattr(enrol, "lookalike_warnings", interrupted)
    with pytest.raises(InterruptedAfter, match=r"^imported 1 people, 1 new reference face\(s\); the look-alike") as e:
        enrol.import_gallery_file(gallery, export, 0.4, lambda _: None)
    assert e.value.exit_code == 130
    with Gallery(gallery, read_only=True) as store:
        assert [person.name for person in store.persons()] == ["Eileen Collins"]


def test_footage_is_removed_by_its_name_in_either_unicode_form(tmp_path: Path) -> None:
    """A video stored from a Mac's file is named decomposed: 'Café_Ñ.mp4' typed composed matched nothing, while
    `footage list` showed that very name."""
    import unicodedata

    from impersonation_cli.gallery.store import FINGERPRINT_METHOD, FootageVideo

    decomposed = unicodedata.normalize("NFD", "Café_Ñ.mp4")
    with Gallery(tmp_path / "g.sqlite") as store:
        store.import_export(_export())
        for number, name in enumerate((decomposed, "other.mp4")):
            video = FootageVideo("Eileen Collins", name, f"{number:064x}", FINGERPRINT_METHOD, 8.0, 3.0)
            store.add_footage(video, [])
        assert store.remove_footage("Eileen Collins", "Café_Ñ.mp4") == 1
        assert [video.name for video in store.footage()] == ["other.mp4"]
