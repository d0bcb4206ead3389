"""Hostile and broken gallery input (issue 13): forged exports, damaged files, control characters, read-only
galleries and odd folders in `gallery import`. Each case runs the real CLI on real gallery files: in a process of
its own, or (the forged exports, which refuse before any model loads) in the test's, as tests/unit does."""

from __future__ import annotations

import base64
import copy
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from impersonation_cli.gallery.enrol import reference_from_image
from impersonation_cli.gallery.store import Gallery
from impersonation_cli.runtime.engine import FaceEngine

from ..conftest import SAMPLES, run_cli, unavailable
from ..unit.cli_in_process import run_cli as run_cli_in_process

SAMPLE_CLIP = SAMPLES / "clips" / "astronaut_live.mp4"


@pytest.fixture(scope="module")
def export_document(engine: FaceEngine, media: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A real export: Barack Obama with two references, an alias, an authorization and replay footage."""
    from impersonation_cli.pipeline.signals.replay import add_footage

    photos = media / "face_recognition"
    references = [reference_from_image(engine, photos / n).reference for n in ("obama.jpg", "obama2.jpg")]
    with Gallery(tmp_path_factory.mktemp("export") / "source.sqlite") as store:
        store.add_person("Barack Obama", [r for r in references if r is not None], ["Obama"])
        store.authorize("Barack Obama", "douyin:1001", valid_to="2030-01-01", ai_allowed=False)
        add_footage(store, "Barack Obama", media / "ffpp_icpr2020dfdc" / "original" / "004.mp4", 1.0)
        return json.loads(json.dumps(store.export()))


def _embedding(values: np.ndarray) -> str:
    return base64.b64encode(values.astype("<f4").tobytes()).decode("ascii")


def _set(path: tuple, value: object) -> Callable[[dict], object]:
    """A change to the document: the value at `path` (keys and list positions) replaced."""

    def change(document: dict) -> object:
        target = document
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
        return document

    return change


REFERENCE = ("persons", 0, "references", 0)
AUTHORIZATION = ("persons", 0, "authorizations", 0)
FOOTAGE = ("persons", 0, "footage", 0)
# (case, change to a real export, words the one-line refusal must hold)
BAD_EXPORTS = [
    # Shapes that used to end in exit 4 (internal error).
    ("document is a list", lambda d: [d], "not an impersonation-cli gallery export"),
    ("persons is an object", _set(("persons",), {"a": 1}), "the export.persons must be a list"),
    ("a person is a string", _set(("persons", 0), "Barack Obama"), "persons[0] must be an object"),
    ("references is a string", _set(("persons", 0, "references"), "abc"), "references must be a list"),
    ("a reference is a number", _set(REFERENCE, 7), "references[0] must be an object"),
    ("embedding is a number", _set((*REFERENCE, "embedding"), 3), "embedding must be base64 text"),
    ("embedding is not base64", _set((*REFERENCE, "embedding"), "not base64!"), "not valid base64"),
    ("an authorization is a list", _set(AUTHORIZATION, ["douyin:1"]), "authorizations[0] must be an object"),
    ("the name is missing", lambda d: d["persons"][0].pop("name") and d, "persons[0] has no 'name'"),
    ("times_s is a string", _set((*FOOTAGE, "times_s"), "0,1"), "times_s must be a list"),
    # Forged values that used to be stored.
    ("embedding 512 x 1e30", _set((*REFERENCE, "embedding"), _embedding(np.full(512, 1e30))), "has length 2.26274e+31"),
    ("embedding of NaN", _set((*REFERENCE, "embedding"), _embedding(np.full(512, np.nan))), "not finite"),
    ("embedding 2x long", lambda d: _scaled(d, 2.0), "has length 2"),
    ("embedding of 511 values", _set((*REFERENCE, "embedding"), _embedding(np.ones(511) / 511**0.5)), "511 values"),
    ("valid_to not a date", _set((*AUTHORIZATION, "valid_to"), "expired on 2020-01-01"), "valid_to"),
    ("valid_from no such day", _set((*AUTHORIZATION, "valid_from"), "2026-02-30"), "valid_from"),
    ("ai_allowed a string", _set((*AUTHORIZATION, "ai_allowed"), "no"), "ai_allowed must be true or false"),
    ("room with an escape", _set((*AUTHORIZATION, "room"), "douyin:a\x1b[2J"), "not of the form platform:account"),
    ("room without platform", _set((*AUTHORIZATION, "room"), "somewhere"), "not of the form platform:account"),
    ("name with an escape", _set(("persons", 0, "name"), "Evil\x1b[2J"), "invalid person name"),
    ("alias with a C1 control", _set(("persons", 0, "aliases"), ["Obama\x9b"]), "invalid alias"),
    ("name not a string", _set(("persons", 0, "name"), 42), "invalid person name"),
    ("schema version 2", _set(("version",), 2), "version 2 is not one this tool reads"),
    ("version true", _set(("version",), True), "version True is not one this tool reads"),
    ("another recognizer", _set((*REFERENCE, "recognizer"), "other.onnx:0"), "is not the export's"),
    ("face_px NaN", _set((*REFERENCE, "face_px"), float("nan")), "face_px must be a finite number"),
    ("faces_in_image 0", _set((*REFERENCE, "faces_in_image"), 0), "faces_in_image must be a whole number"),
    ("thumbnail not a JPEG", _set((*REFERENCE, "thumbnail_jpeg"), "PHNjcmlwdD4="), "is not a JPEG picture"),
    ("short fingerprint", _set((*FOOTAGE, "fingerprints", 0), "AAAA"), "has 3 bytes, expected 64"),
    ("fps 0", _set((*FOOTAGE, "fps"), 0), "fps must be above 0"),
]


def _scaled(document: dict, factor: float) -> dict:
    reference = document["persons"][0]["references"][0]
    values = np.frombuffer(base64.b64decode(reference["embedding"]), dtype="<f4")
    reference["embedding"] = _embedding(values * factor)
    return document


@pytest.fixture()
def biden_gallery(engine: FaceEngine, media: Path, cli_env: dict[str, str]) -> Path:
    """The CLI's gallery, holding Joe Biden: an import refused must leave him and nothing else."""
    reference = reference_from_image(engine, media / "face_recognition" / "biden.jpg").reference
    assert reference is not None
    path = Path(cli_env["IMPERSONATION_GALLERY"])
    with Gallery(path) as store:
        store.add_person("Joe Biden", [reference])
    return path


@pytest.mark.parametrize(("case", "change", "words"), BAD_EXPORTS, ids=[c[0] for c in BAD_EXPORTS])
def test_a_bad_export_is_refused_whole_in_one_line(
    case: str,
    change: Callable[[dict], object],
    words: str,
    export_document: dict,
    biden_gallery: Path,
    tmp_path: Path,
) -> None:
    with Gallery(biden_gallery) as store:
        before = store.export()
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps(change(copy.deepcopy(export_document))), encoding="utf-8")
    result = run_cli_in_process("gallery", "import-file", str(forged), "--gallery", str(biden_gallery))
    assert result.returncode == 2, (case, result.stdout, result.stderr)
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1, result.stderr
    assert words in result.stderr and str(forged) in result.stderr, result.stderr
    with Gallery(biden_gallery) as store:
        assert store.export() == before


def test_a_good_export_still_imports(export_document: dict, biden_gallery: Path, cli_env: dict[str, str]) -> None:
    """The checks refuse forgeries, not what `gallery export` writes (dates with or without a time, both booleans)."""
    document = copy.deepcopy(export_document)
    document["persons"][0]["authorizations"].append(
        {"room": "kuaishou:7", "valid_from": "2026-01-01T08:00:00+08:00", "valid_to": None, "ai_allowed": True}
    )
    path = biden_gallery.with_name("good.json")
    path.write_text(json.dumps(document), encoding="utf-8")
    result = run_cli(["gallery", "import-file", str(path)], cli_env)
    assert result.returncode == 0, result.stderr
    with Gallery(biden_gallery) as store:
        assert [p.name for p in store.persons()] == ["Barack Obama", "Joe Biden"]
        assert {(a.room, a.ai_allowed) for a in store.authorizations("Obama")} == {
            ("douyin:1001", False),
            ("kuaishou:7", True),
        }
        assert store.footage("Obama")[0].frames == len(document["persons"][0]["footage"][0]["times_s"])


def test_a_damaged_gallery_is_refused_on_open(biden_gallery: Path, cli_env: dict[str, str]) -> None:
    """20 KB of garbage inside the file, or a NaN embedding, used to scan as 'nobody found', exit 0."""
    damaged = biden_gallery.with_name("damaged.sqlite")
    shutil.copyfile(biden_gallery, damaged)
    size = damaged.stat().st_size
    assert size > 40_000, size
    with open(damaged, "r+b") as stream:
        stream.seek(size // 2 - 10_000)
        stream.write(os.urandom(20_000))
    nan_embedding = biden_gallery.with_name("nan.sqlite")
    shutil.copyfile(biden_gallery, nan_embedding)
    with sqlite3.connect(nan_embedding) as db:
        db.execute("UPDATE reference_faces SET embedding = ?", (np.full(512, np.nan, np.float32).tobytes(),))
    db.close()
    for path in (damaged, nan_embedding):
        for command in (["scan", str(SAMPLE_CLIP)], ["gallery", "list"]):
            result = run_cli_in_process(*command, "--gallery", str(path), env=cli_env)
            assert result.returncode == 2, (path.name, command, result.stdout, result.stderr)
            assert result.stderr.count("\n") == 1 and str(path) in result.stderr, result.stderr


def _without_write_permission() -> list[str]:
    """A command prefix under which file permissions bind: as root, drop the capabilities that bypass them."""
    if os.geteuid() != 0:
        return []
    if shutil.which("setpriv") is None:
        unavailable("running as root without setpriv: a read-only folder cannot be made to bind")
    return ["setpriv", "--bounding-set=-dac_override,-dac_read_search,-fowner"]


@pytest.mark.parametrize("folder_mode", [0o555, 0o755], ids=["read-only folder", "writable folder"])
def test_a_read_only_gallery_can_be_listed_exported_and_scanned(
    biden_gallery: Path, cli_env: dict[str, str], tmp_path: Path, folder_mode: int
) -> None:
    """In a writable folder, a read-only gallery file was left with -wal and -shm files beside it."""
    folder = tmp_path / "read-only"
    folder.mkdir()
    store = folder / "gallery.sqlite"
    shutil.copyfile(biden_gallery, store)
    store.chmod(0o444)
    folder.chmod(folder_mode)
    prefix = [*_without_write_permission(), sys.executable, "-m", "impersonation_cli"]
    try:
        target = folder / "x" if folder_mode == 0o555 else store
        probe = subprocess.run([*prefix[:-2], "-c", f"open({str(target)!r}, 'a')"], capture_output=True)
        assert probe.returncode != 0, "it is still writable: the test would prove nothing"
        env = {**cli_env, "IMPERSONATION_GALLERY": str(store)}
        commands = [
            ["gallery", "list"],
            ["gallery", "show", "Joe Biden"],
            ["gallery", "export", str(tmp_path / "out.json")],
            ["scan", str(SAMPLE_CLIP), "--json", str(tmp_path / "result.json")],
            ["report", str(tmp_path / "result.json"), "--html", str(tmp_path / "report.html")],
            ["footage", "list"],
        ]
        for command in commands:
            result = subprocess.run([*prefix, *command], env=env, capture_output=True, text=True, timeout=300)
            assert result.returncode in (0, 1), (command, result.stderr)
            assert "error" not in result.stderr, result.stderr
        assert json.loads((tmp_path / "out.json").read_text())["persons"][0]["name"] == "Joe Biden"
        assert sorted(p.name for p in folder.iterdir()) == ["gallery.sqlite"], "nothing written beside it"
    finally:
        folder.chmod(0o755)


def test_control_characters_are_refused_in_names_aliases_and_rooms(
    biden_gallery: Path, cli_env: dict[str, str], media: Path, tmp_path: Path
) -> None:
    photo = str(media / "face_recognition" / "obama.jpg")
    rooms_file = tmp_path / "rooms.yaml"
    rooms_file.write_text(f'rooms:\n  - url: {SAMPLE_CLIP}\n    room: "douyin:a\\e[2J"\n', encoding="utf-8")
    labelled = tmp_path / "labelled.yaml"
    labelled.write_text(f'rooms:\n  - url: {SAMPLE_CLIP}\n    room: douyin:1\n    label: "a\\x9b"\n', encoding="utf-8")
    commands = [
        ["gallery", "add", "Obama\x7f", photo],
        ["gallery", "add", "Obama\x9b2J", photo],
        ["gallery", "add", "Barack Obama", photo, "--alias", "O\x1b[2J"],
        ["gallery", "authorize", "Joe Biden", "douyin:a\x1b[2J"],
        ["gallery", "authorize", "Joe Biden", "douyin:a\x7f"],
        ["scan", str(SAMPLE_CLIP), "--room", "douyin:a\x1b]0;pwned\x07"],
        ["scan", str(SAMPLE_CLIP), "--rooms", str(rooms_file)],
        ["scan", str(SAMPLE_CLIP), "--rooms", str(labelled)],
    ]
    for command in commands:
        result = run_cli_in_process(*command, env=cli_env)
        assert result.returncode == 2, (command, result.stdout, result.stderr)
        assert result.stderr.count("\n") == 1 and "\x1b" not in result.stderr, result.stderr
    with Gallery(biden_gallery) as store:
        assert [p.name for p in store.persons()] == ["Joe Biden"] and not store.authorizations()


def test_folder_import_rule_and_lookalike_warnings_name_the_person(
    cli_env: dict[str, str], media: Path, tmp_path: Path
) -> None:
    """The shared identities folder has `extra/` (a couple, a group selfie, one mirrored portrait) beside the
    people. Photos of several faces are not enrolled by a folder import; '_' folders are not read; the rest of
    `extra` is still a person, but the warnings say so, naming both people."""
    identities = media / "deepface_identities"
    people = tmp_path / "people"
    people.mkdir()
    for name in ("extra", "id00_Angelina_Jolie"):
        (people / name).symlink_to(identities / name)
    (people / "_group_photos").symlink_to(identities / "extra")
    (people / "empty").mkdir()
    (people / "loose.jpg").symlink_to(identities / "id00_Angelina_Jolie" / "img1.jpg")
    result = run_cli(["gallery", "import", str(people)], cli_env)
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    assert any("_group_photos" in line and "not read" in line for line in lines), lines
    assert any("empty: no photos" in line for line in lines), lines
    assert any("1 photo(s) directly in it belong to nobody" in line for line in lines), lines
    for group in ("couple.jpg", "selfie-many-people.jpg"):
        assert any(group in line and "one face only" in line for line in lines), lines
    with Gallery(Path(cli_env["IMPERSONATION_GALLERY"])) as store:
        assert {p.name: p.reference_count for p in store.persons()} == {"extra": 1, "id00 Angelina Jolie": 8}
    warnings = [line for line in lines if line.startswith("warning:")]
    assert warnings and all(line.startswith("warning: id00 Angelina Jolie: img") for line in warnings), warnings
    assert all("like 'extra'" in line for line in warnings), warnings


def test_the_lookalike_warnings_follow_the_threshold_of_the_config_given(
    cli_env: dict[str, str], media: Path, tmp_path: Path
) -> None:
    """The import above warns that Angelina Jolie's photos are like 'extra' (which holds a mirrored portrait of
    her) at the default threshold; with `--config` setting a threshold above their similarity it does not."""
    people = tmp_path / "people"
    people.mkdir()
    for name in ("extra", "id00_Angelina_Jolie"):
        (people / name).symlink_to(media / "deepface_identities" / name)
    config = tmp_path / "strict.toml"
    config.write_text("[match]\nthreshold = 0.999\n")
    result = run_cli(["gallery", "import", str(people), "--config", str(config)], cli_env)
    assert result.returncode == 0, result.stderr
    assert "one face only" in result.stderr and "warning:" not in result.stderr, result.stderr
    with Gallery(Path(cli_env["IMPERSONATION_GALLERY"])) as store:
        assert {p.name: p.reference_count for p in store.persons()} == {"extra": 1, "id00 Angelina Jolie": 8}
