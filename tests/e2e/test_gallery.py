"""The SQLite gallery: enrolment rules, recognizer checks, export/import, and transaction safety."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from impersonation_cli.errors import GalleryError
from impersonation_cli.gallery.enrol import reference_from_image
from impersonation_cli.gallery.store import Gallery, ReferenceFace
from impersonation_cli.runtime.engine import FaceEngine

from ..conftest import run_cli
from ..unit.cli_in_process import run_cli as run_cli_in_process


def _references(engine: FaceEngine, *paths: Path) -> list[ReferenceFace]:
    outcomes = [reference_from_image(engine, p) for p in paths]
    return [o.reference for o in outcomes if o.reference is not None]


def test_enrolment_records_quality_and_matches_same_person(engine: FaceEngine, gallery: Gallery, media: Path) -> None:
    photos = media / "face_recognition"
    added = gallery.add_person("Barack Obama", _references(engine, photos / "obama.jpg", photos / "obama2.jpg"))
    assert added == 2
    refs = gallery.references("Barack Obama")
    assert all(r.face_px > 80 and r.det_score > 0.5 and r.blur > 0 for r in refs)
    assert all(np.isclose(np.linalg.norm(r.embedding), 1.0, atol=1e-3) for r in refs)
    # The same photo again is recognised by its sha256 and not stored twice.
    assert gallery.add_person("Barack Obama", _references(engine, photos / "obama.jpg")) == 0
    index = gallery.index()
    probe = _references(engine, photos / "knn_examples" / "test" / "obama1.jpg")[0]
    assert float((index.embeddings @ probe.embedding).max()) > 0.4


def test_no_face_is_refused_and_several_faces_take_the_largest(engine: FaceEngine, media: Path) -> None:
    no_face = reference_from_image(engine, media / "insightface" / "inspireface_test_res" / "no_face_view.jpg")
    assert no_face.reference is None and "no face" in no_face.message
    two = reference_from_image(engine, media / "face_recognition" / "two_people.jpg")
    assert two.reference is not None and two.reference.faces_in_image >= 2
    assert "took the largest" in two.message


def test_gallery_refuses_another_recognizer(engine: FaceEngine, gallery: Gallery, media: Path) -> None:
    gallery.add_person("Joe Biden", _references(engine, media / "face_recognition" / "biden.jpg"))
    with pytest.raises(GalleryError, match="made with recognizer"):
        gallery.require_recognizer("w600k_r50.onnx:4c06341c33c2ca1f")


def test_failed_write_leaves_nothing_behind(engine: FaceEngine, gallery: Gallery, media: Path) -> None:
    gallery.add_person("Joe Biden", _references(engine, media / "face_recognition" / "biden.jpg"), ["Joe"])
    obama = _references(engine, media / "face_recognition" / "obama.jpg")
    with pytest.raises(GalleryError, match="alias 'Joe' of 'Barack Obama' already names another person"):
        gallery.add_person("Barack Obama", obama, aliases=["Joe"])
    assert [p.name for p in gallery.persons()] == ["Joe Biden"]


def test_export_import_round_trip(engine: FaceEngine, gallery: Gallery, media: Path, tmp_path: Path) -> None:
    """Everything a gallery holds survives export -> JSON -> import: references, aliases, authorizations and
    the replay library's fingerprints."""
    from impersonation_cli.pipeline.signals.replay import add_footage

    gallery.add_person("Joe Biden", _references(engine, media / "face_recognition" / "biden.jpg"), ["Joe"])
    gallery.authorize("Joe Biden", "douyin:1001", valid_to="2030-01-01", ai_allowed=True)
    add_footage(gallery, "Joe Biden", media / "ffpp_icpr2020dfdc" / "original" / "004.mp4", 2.0)
    document = json.loads(json.dumps(gallery.export()))
    with Gallery(tmp_path / "copy.sqlite") as copy:
        assert copy.import_export(document) == 1
        assert copy.persons()[0].aliases == ("Joe",)
        assert copy.authorizations()[0].ai_allowed
        np.testing.assert_array_equal(copy.index().embeddings, gallery.index().embeddings)
        assert copy.footage() == gallery.footage() and copy.footage()[0].frames >= 20
        method = gallery.footage()[0].method
        assert copy.footage_frames(method)[0][1] == gallery.footage_frames(method)[0][1]
        document["persons"][0]["footage"][0]["fingerprints"].pop()
        with pytest.raises(GalleryError, match=r"footage\[0\] has \d+ times_s for \d+ fingerprints"):
            copy.import_export(document)


def test_unreadable_gallery_is_a_one_line_error(cli_env: dict[str, str], tmp_path: Path) -> None:
    broken = tmp_path / "broken.sqlite"
    broken.write_bytes(b"this is not an sqlite database" * 100)
    result = run_cli(["gallery", "list", "--gallery", str(broken)], cli_env)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "not a readable impersonation-cli gallery" in result.stderr


def test_reading_a_gallery_that_is_not_there_does_not_create_one(cli_env: dict[str, str], tmp_path: Path) -> None:
    """A mistyped --gallery or $IMPERSONATION_GALLERY must not look like an empty gallery (nor leave a new file
    behind); only the per-user default gallery starts empty."""
    missing = tmp_path / "typo.sqlite"
    for command in (["list"], ["show", "Anyone"], ["export", str(tmp_path / "out.json")], ["revoke", "A", "douyin:1"]):
        result = run_cli_in_process("gallery", *command, "--gallery", str(missing), env=cli_env)
        assert result.returncode == 2, command
        assert result.stderr.count("\n") == 1 and f"no gallery at {missing}" in result.stderr
    # Nor may a scan against it report "nobody found" with exit 0.
    sample = Path(__file__).resolve().parents[2] / "samples" / "clips" / "astronaut_live.mp4"
    result = run_cli_in_process("scan", str(sample), "--gallery", str(missing), env=cli_env)
    assert result.returncode == 2 and f"no gallery at {missing}" in result.stderr
    result = run_cli_in_process("scan", str(sample), env={**cli_env, "IMPERSONATION_GALLERY": str(missing)})
    assert result.returncode == 2 and f"no gallery at {missing}" in result.stderr
    assert not missing.exists()
    # The per-user default (no option, no variable) starts empty: nobody found, exit 0, with a warning.
    default_home = {k: v for k, v in cli_env.items() if k != "IMPERSONATION_GALLERY"}
    result = run_cli(["scan", str(sample)], {**default_home, "XDG_DATA_HOME": str(tmp_path / "data")})
    assert result.returncode == 0 and "the gallery is empty" in result.stderr


def test_killed_import_keeps_what_was_committed(cli_env: dict[str, str], media: Path, tmp_path: Path) -> None:
    """SIGKILL in the middle of `gallery import`: the file opens, holds whole people only, nothing half-written."""
    people = media / "deepface_identities"
    store = Path(cli_env["IMPERSONATION_GALLERY"])
    command = [sys.executable, "-m", "impersonation_cli", "gallery", "import", str(people)]
    process = subprocess.Popen(command, env=cli_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 240
    committed = 0
    while time.monotonic() < deadline and process.poll() is None:
        committed = _count_people(store)
        if committed >= 2:
            break
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    assert committed >= 2, "the import never committed two people"
    with Gallery(store) as gallery:
        assert gallery.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        people_stored = gallery.persons()
        assert len(people_stored) >= committed
        for person in people_stored:
            folder = next(p for p in people.iterdir() if p.name.replace("_", " ") == person.name)
            photos = [p for p in folder.iterdir() if p.suffix.lower() in (".jpg", ".png", ".jpeg")]
            # A person is committed with all their usable photos or not at all. A folder import skips photos of
            # several faces: extra/ has two (a couple, a group selfie), no other folder more than one.
            assert person.reference_count >= len(photos) - 2, person


def _count_people(store: Path) -> int:
    if not store.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{store}?mode=ro", uri=True, timeout=1) as db:
            return int(db.execute("SELECT COUNT(*) FROM persons").fetchone()[0])
    except sqlite3.Error:
        return 0


def test_a_reference_like_another_person_is_warned_of(cli_env: dict[str, str], media: Path) -> None:
    """The same face under a second name makes scans match neither (the margin rule): enrolment says so."""
    photos = media / "face_recognition"
    first = run_cli(["gallery", "add", "Barack Obama", str(photos / "obama.jpg")], cli_env)
    assert first.returncode == 0 and "warning" not in first.stderr, first.stderr
    other = run_cli(["gallery", "add", "Joe Biden", str(photos / "biden.jpg")], cli_env)
    assert other.returncode == 0 and "warning" not in other.stderr, other.stderr
    same_face = run_cli(["gallery", "add", "Someone Else", str(photos / "obama2.jpg")], cli_env)
    assert same_face.returncode == 0, same_face.stderr
    warnings = same_face.stderr.strip().splitlines()
    assert len(warnings) == 1 and "obama2.jpg" in warnings[0] and "'Barack Obama'" in warnings[0], warnings
    # More photos of the person being extended are not a conflict with that person.
    more = run_cli(["gallery", "add", "Barack Obama", str(photos / "obama-720p.jpg")], cli_env)
    assert "'Barack Obama'" not in more.stderr and "'Someone Else'" in more.stderr, more.stderr
