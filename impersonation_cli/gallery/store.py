"""The celebrity gallery: an SQLite file of people, their reference embeddings and their authorizations.

Every write is one transaction, so an interrupted import keeps everything committed before it and
nothing half-written.
"""

from __future__ import annotations

import base64
import binascii
import functools
import itertools
import json
import math
import os
import re
import sqlite3
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np

from impersonation_cli.errors import (
    MAX_FOOTAGE_FPS,
    GalleryError,
    UserError,
    check_rate,
    has_control_characters,
    is_device,
    parse_error,
    unknown_keys,
)
from impersonation_cli.io.atomic_write import write_text_atomic
from impersonation_cli.io.rooms import (
    GRANT_YEARS,
    canonical_room,
    check_period,
    has_time,
    unique_keys,
    validate_date,
    validate_grant,
    validate_room,
)
from impersonation_cli.io.user_dirs import data_folder, expand_user
from impersonation_cli.pipeline.faces import EMBEDDING_DIM

GALLERY_ENV = "IMPERSONATION_GALLERY"
SCHEMA_VERSION = 1
EXPORT_FORMAT = "impersonation-cli/gallery-export"
EXPORT_VERSION = 1
# Footage is stored as replay fingerprints (made by pipeline/signals/replay.py), one per sampled frame: a grid of
# FINGERPRINT_GRID x FINGERPRINT_GRID block ranks, a byte each. The method is stored with each video: a changed
# fingerprint gets a new name and never meets old ones.
FINGERPRINT_METHOD = "ordinal8-v1"
FINGERPRINT_GRID = 8

BASE_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS persons (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE COLLATE NOCASE,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS aliases (
    person_id INTEGER NOT NULL REFERENCES persons(id) ON DELETE CASCADE,
    alias TEXT NOT NULL UNIQUE COLLATE NOCASE
);
CREATE TABLE IF NOT EXISTS reference_faces (
    id INTEGER PRIMARY KEY,
    person_id INTEGER NOT NULL REFERENCES persons(id) ON DELETE CASCADE,
    image_sha256 TEXT NOT NULL,
    image_name TEXT NOT NULL,
    recognizer TEXT NOT NULL,
    embedding BLOB NOT NULL,
    face_px REAL NOT NULL,
    det_score REAL NOT NULL,
    blur REAL NOT NULL,
    faces_in_image INTEGER NOT NULL,
    thumbnail BLOB,
    created_at TEXT NOT NULL,
    UNIQUE (person_id, image_sha256)
);
CREATE TABLE IF NOT EXISTS authorizations (
    id INTEGER PRIMARY KEY,
    person_id INTEGER NOT NULL REFERENCES persons(id) ON DELETE CASCADE,
    room TEXT NOT NULL,
    valid_from TEXT,
    valid_to TEXT,
    ai_allowed INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    UNIQUE (person_id, room)
);
"""
# Known real footage of a person (the replay library): one row per video, one per fingerprinted frame. Added on
# 2026-11-24: a gallery made before has neither table until a command writes to it.
FOOTAGE_SCHEMA = """
CREATE TABLE IF NOT EXISTS footage_videos (
    id INTEGER PRIMARY KEY,
    person_id INTEGER NOT NULL REFERENCES persons(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    method TEXT NOT NULL,
    fps REAL NOT NULL,
    duration_s REAL NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (person_id, sha256)
);
CREATE TABLE IF NOT EXISTS footage_frames (
    video_id INTEGER NOT NULL REFERENCES footage_videos(id) ON DELETE CASCADE,
    time_s REAL NOT NULL,
    fingerprint BLOB NOT NULL
);
"""
FOOTAGE_INDEX = "CREATE INDEX IF NOT EXISTS footage_frames_by_video ON footage_frames (video_id);"
SCHEMA = BASE_SCHEMA + FOOTAGE_SCHEMA + FOOTAGE_INDEX
FOOTAGE_TABLES = frozenset({"footage_videos", "footage_frames"})


def default_gallery_path(option: str | Path | None = None) -> Path:
    if option:
        return expand_user(option, "--gallery")
    if os.environ.get(GALLERY_ENV):
        return expand_user(os.environ[GALLERY_ENV], f"${GALLERY_ENV}")
    return data_folder() / "gallery.sqlite"


def now_iso() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


@dataclass(frozen=True)
class ReferenceFace:
    """One enrolment photo's face: its embedding and a quality record."""

    image_sha256: str
    image_name: str
    recognizer: str
    embedding: np.ndarray
    face_px: float
    det_score: float
    blur: float
    faces_in_image: int
    thumbnail: bytes | None = None


@dataclass(frozen=True)
class Person:
    person_id: int
    name: str
    aliases: tuple[str, ...]
    reference_count: int


@dataclass(frozen=True)
class Authorization:
    person: str
    room: str
    valid_from: str | None
    valid_to: str | None
    ai_allowed: bool


@dataclass(frozen=True)
class FootageVideo:
    """One known real video of a person, fingerprinted by `method` at `fps` (see signals/replay.py)."""

    person: str
    name: str
    sha256: str
    method: str
    fps: float
    duration_s: float
    frames: int = 0


@dataclass(frozen=True)
class GalleryIndex:
    """All reference embeddings in one matrix, for matching: row i belongs to person `owners[i]`."""

    names: tuple[str, ...]
    owners: np.ndarray
    embeddings: np.ndarray
    recognizer: str | None

    def __len__(self) -> int:
        return len(self.names)

    @functools.cached_property
    def by_owner(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The embeddings grouped by owner, each group's owner and the row it starts at: worked out once per index.
        Done for each face matched, the sort and the copy of every embedding took 77 of the 82 s `gallery
        import-file` spent on 5,000 people (12,535 faces checked for look-alikes)."""
        order = np.argsort(self.owners, kind="stable")
        owners = self.owners[order]
        starts = np.flatnonzero(np.r_[True, owners[1:] != owners[:-1]])
        return self.embeddings[order], owners[starts], starts


# How repr writes a byte of a file name that is not UTF-8 (os.fsdecode's surrogate U+DC80-U+DCFF).
UNDECODED_BYTE = re.compile(r"\\udc([89a-f][0-9a-f])")


# The invisible characters a name may hold: the zero-width non-joiner and joiner spell Persian, Indic scripts and
# emoji sequences (محمد\u200cرضا, 👩\u200d🚀), the Mongolian vowel separator Mongolian; they join or part the letters
# beside them and reorder nothing. And the tag characters of an emoji subdivision flag (U+E0020-E007F).
NAME_JOINERS = frozenset("\u200c\u200d\u180e")
EMOJI_TAGS = range(0xE0020, 0xE0080)


def _spells(character: str) -> bool:
    return character in NAME_JOINERS or ord(character) in EMOJI_TAGS


def validate_name(name: str, what: str = "person name", restored: bool = False) -> str:
    """A person's name or alias (`what`) in its stored_form: 1-200 characters, none of them a control. The
    refusal says which rule failed and shows a long name cut short (it is one line)."""
    cleaned = stored_form(name) if isinstance(name, str) else ""
    # repr escapes controls; a byte that is not UTF-8 is shown as \xNN, as everywhere (repr wrote '\udcff').
    quoted = UNDECODED_BYTE.sub(r"\\x\1", repr(name))
    shown = quoted if len(quoted) <= 80 else quoted[:77] + "..."
    if isinstance(name, str) and any(0xDC80 <= ord(c) <= 0xDCFF for c in name):  # how Python holds non-UTF-8 bytes
        raise GalleryError(f"invalid {what} {shown}: it holds bytes that are not UTF-8 text")
    if isinstance(name, str) and has_control_characters(name):
        raise GalleryError(f"invalid {what} {shown}: it holds control characters (1-200 printable characters)")
    # A name stored before the rule (`restored`: exported, imported back) keeps its characters: refused there, one
    # such name blocked the whole gallery's export, and an older export could not be restored.
    if not restored and (hidden := [c for c in cleaned if unicodedata.category(c) == "Cf" and not _spells(c)]):
        # A soft hyphen or zero-width space: 'Rose Les\u00adlie' was stored beside 'Rose Leslie', the two printed
        # alike everywhere, and a grant to one did not cover appearances matched to the other (rooms refuse them).
        raise GalleryError(
            f"invalid {what} {shown}: it holds an invisible character (U+{ord(hidden[0]):04X}), which prints as "
            "another name would; type it again"
        )
    if not cleaned or len(cleaned) > 200:
        size = f", not {len(cleaned)}" if cleaned else ""
        raise GalleryError(f"invalid {what} {shown}: 1-200 printable characters{size}")
    if not any(unicodedata.category(char)[0] in "LNPS" for char in cleaned):
        # Joiners and combining marks alone ('\u200d') print as nothing: a person no table or alert could show.
        raise GalleryError(f"invalid {what} {shown}: it has no visible character (1-200 printable characters)")
    return cleaned


def stored_form(name: str) -> str:
    """A name or alias as the gallery stores and looks it up: whitespace runs made one space, and in Unicode's
    composed form (NFC). Names typed on one system and read from folder names on another differ in form
    (macOS names files decomposed: 'José' as e + U+0301, a Korean name as separate jamo): stored as given, the
    same name made two people who print alike, and `gallery show` of the typed name found nobody."""
    return unicodedata.normalize("NFC", " ".join(name.split()))


def name_key(name: str) -> str:
    """A name as the gallery compares it: its stored_form with case folded in every script. SQLite's NOCASE folds
    ASCII letters only, so 'Émile Zola' and 'émile zola' were two people with one face, and `gallery show` of the
    one found nobody under the other; 'Straße' and 'STRASSE' are one name too."""
    return unicodedata.normalize("NFC", stored_form(name).casefold())


def _sql_name_key(value: object) -> str | None:
    """`name_key` as the SQL function the gallery's look-ups call (a value that is not text matches nothing)."""
    return name_key(value) if isinstance(value, str) else None


# In `Gallery._name_index`, a name as stored, byte for byte: an exact spelling is its own person first,
# which only a gallery of two people under one name (`Gallery._refuse_name_clashes`) tells apart. A control
# character begins no name (`validate_name`).
EXACT = "\x00"


class Gallery:
    def __init__(self, path: Path, create: bool = True, read_only: bool = False, name_clashes: bool = False) -> None:
        """Open the gallery at `path`; with `create=False` (commands that only read or remove) a missing file
        is an error instead of a new empty gallery, so a mistyped path is not mistaken for an empty one.
        `read_only` (commands that only read) opens an existing file without writing to it or beside it, so a
        gallery in a read-only file or folder can be listed and scanned against; a missing one (with `create`)
        reads as empty and is not made.

        Every open checks the file (SQLite's quick_check) and its embeddings: a damaged gallery is refused,
        never used as if it were smaller or empty. So is one holding two people under what is now one name
        (`name_key`), which older versions told apart, unless `name_clashes` (`gallery remove`, which takes a
        name's exact spelling, to undo the clash)."""
        if path.is_dir():
            raise GalleryError(f"{path} is a folder, not a gallery file (give the .sqlite file in it)")
        if path.exists() and not path.is_file():  # SQLite wrote /dev/null-journal beside /dev/null, then failed
            raise GalleryError(f"{path} is not a regular file (a device, pipe or socket), not a gallery file")
        if not create and not path.is_file():
            raise GalleryError(f"no gallery at {path}: register people with `impersonation-cli gallery add` first")
        if not read_only and path.is_file() and not os.access(path, os.W_OK):
            # Refused before SQLite opens it: its -wal and -shm files, made read-only like the gallery, were left
            # beside it and refused every later write, even once the gallery was writable again.
            raise GalleryError(f"gallery {path} {WRITE_REFUSALS['SQLITE_READONLY']}: it is not writable")
        self.path = path
        self._depth = 0
        self._name_ids: dict[str, int] | None = None  # `_person_id`'s index, inside a transaction or snapshot
        self._read_only = read_only
        existed = path.is_file()
        try:
            if read_only and path.is_file():
                self.db = _connect_for_reading(path)
                _with_footage_tables(self.db)
            elif read_only:  # the per-user default, not made yet: an empty gallery, and nothing written to disk
                self.db = _new_database(":memory:")
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                _refuse_another_programs_database(path)
                self.db = _new_database(str(path))
            self.db.create_function("name_key", 1, _sql_name_key, deterministic=True)
            _refuse_newer(path, self.db)
            self._check_tables()
            self._check_schema()
            self._check_contents()
            if not name_clashes:
                self._refuse_name_clashes()
        except sqlite3.DatabaseError as exc:
            if not existed:  # a new gallery in a folder that takes no files was "not a readable ... gallery"
                raise GalleryError(f"cannot make a gallery at {path}: {exc} (is its folder writable?)") from exc
            if (why := _write_refusal(exc)) is not None:  # opening to write it: a full disk was "not readable"
                raise GalleryError(f"gallery {path} {why}: {exc}") from exc
            raise GalleryError(f"gallery {path} is not a readable impersonation-cli gallery: {exc}") from exc

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Gallery:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """All of a write or none of it; a transaction inside another one nests as a savepoint."""
        self._depth += 1
        name = f"sp{self._depth}"
        try:
            with _writes_refused_said(self.path):
                self.db.execute("BEGIN IMMEDIATE" if self._depth == 1 else f"SAVEPOINT {name}")
                try:
                    yield self.db
                except BaseException:
                    self._name_ids = None  # it may hold names the rollback takes back
                    # SQLite ends the transaction itself on some errors (a full disk): rolling back then failed
                    # with 'cannot rollback - no transaction is active', in place of the error that ended it.
                    if not self.db.in_transaction:
                        raise
                    if self._depth == 1:
                        self.db.execute("ROLLBACK")
                    else:
                        self.db.execute(f"ROLLBACK TO {name}")
                        self.db.execute(f"RELEASE {name}")
                    raise
                else:
                    self.db.execute("COMMIT" if self._depth == 1 else f"RELEASE {name}")
        finally:
            self._depth -= 1
            if not self._depth:
                self._name_ids = None

    @contextmanager
    def snapshot(self) -> Iterator[Gallery]:
        """Reads that see the gallery as of one moment: a write another process commits meanwhile is not seen
        in part. Each query alone sees one state, but an export (people, then each one's references, grants and
        footage) read between the commits of an import saw people from before it beside references from after,
        and one a `gallery remove` ended between its queries failed ('no person named ...'). In a transaction
        already, that one is the moment."""
        if self._depth:
            yield self
            return
        self._depth += 1
        try:
            self.db.execute("BEGIN")
            try:
                yield self
            finally:
                self.db.execute("COMMIT")  # nothing was written: it ends the read
        finally:
            self._depth -= 1
            self._name_ids = None

    def _check_tables(self) -> None:
        """Every table and column of SCHEMA is there, each value of its column's type (SQLite stores any value
        in any column) and text in UTF-8: opened read-only, a file missing a table or column, or with a name stored
        as a blob or in another encoding (an SQLite file of another tool, a gallery altered by hand), passed every
        check and failed at its first query or later in a report, an internal error (exit 4)."""
        for table, columns in _schema_columns().items():
            present = {row[1] for row in self.db.execute(f"PRAGMA table_info({table})")}
            missing = [c for c, _ in columns if c not in present]
            if not present or missing:
                what = f"no table {table}" if not present else f"no column {missing[0]} in table {table}"
                raise GalleryError(f"gallery {self.path} is not a readable impersonation-cli gallery: {what}")
            for column, declared in columns:
                kinds = ", ".join(f"'{kind}'" for kind in (*COLUMN_TYPES[declared], "null"))
                query = f"SELECT typeof({column}) FROM {table} WHERE typeof({column}) NOT IN ({kinds}) LIMIT 1"
                if (found := self.db.execute(query).fetchone()) is not None:
                    raise GalleryError(
                        f"gallery {self.path} is not a readable impersonation-cli gallery: {table}.{column} holds "
                        f"a {found[0]} where {declared.lower()} belongs; the file was altered"
                    )
                if declared == "TEXT":  # read once: text that is not UTF-8 raises here (DatabaseError), not later
                    self.db.execute(f"SELECT {column} FROM {table}").fetchall()

    def _check_schema(self) -> None:
        row = self.db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        if row is None and self._read_only:
            # Nothing to write it with: a gallery without the row reads as this version. A reader that opened a
            # gallery another process was making between its tables and this row was refused 'cannot be written
            # (a read-only file?)'; `_new_database` now writes both at once, so it is a gallery made otherwise.
            return
        if row is None:
            with self.transaction() as db:
                db.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
        elif not str(row[0]).isdigit():
            raise GalleryError(f"gallery {self.path} has a schema version that is not a number: {row[0]!r}")

    def _check_contents(self) -> None:
        """Refuse a damaged file (SQLite's quick_check) and embeddings that are not unit vectors of finite values:
        either would make scans silently miss people or match everyone."""
        problem = self.db.execute("PRAGMA quick_check(1)").fetchone()[0]
        if problem != "ok":
            raise GalleryError(f"gallery {self.path} is damaged ({problem}); restore it from a backup or an export")
        rows = self.db.execute("SELECT id, embedding FROM reference_faces ORDER BY id").fetchall()
        for reference_id, blob in rows:
            if not isinstance(blob, bytes) or len(blob) != EMBEDDING_DIM * 4:
                raise GalleryError(
                    f"gallery {self.path}: reference face {reference_id}'s embedding is not {EMBEDDING_DIM} float32 "
                    "values; the file was altered"
                )
        # All at once (a few ms for thousands of faces); the first bad one is then named by check_embedding.
        matrix = np.frombuffer(b"".join(blob for _, blob in rows), dtype=np.float32).reshape(-1, EMBEDDING_DIM)
        with np.errstate(over="ignore", invalid="ignore"):
            norms = np.linalg.norm(matrix.astype(np.float64), axis=1)
        bad = ~np.isfinite(matrix).all(axis=1) | (np.abs(norms - 1.0) > NORM_TOLERANCE)
        if bad.any():
            first = int(np.argmax(bad))
            check_embedding(matrix[first], f"gallery {self.path}: reference face {rows[first][0]}'s embedding")
        self._check_grants_and_footage()

    def _check_grants_and_footage(self) -> None:
        """Refuse grant bounds that are not dates and fingerprints not of the grid's size: altered by hand, they
        passed the open and failed each scan's source as an internal error ('Invalid isoformat string', 'operands
        could not be broadcast'), exit 3 pinned on the video."""
        for grant_id, *bounds in self.db.execute("SELECT id, valid_from, valid_to FROM authorizations ORDER BY id"):
            for key, bound in zip(("valid_from", "valid_to"), bounds, strict=True):
                if bound is not None and not _readable_bound(bound):
                    raise GalleryError(
                        f"gallery {self.path}: authorization {grant_id}'s {key} {bound!r} is not an ISO date or "
                        "date-time; the file was altered"
                    )
        size = FINGERPRINT_GRID**2
        query = "SELECT video_id, length(fingerprint) FROM footage_frames WHERE length(fingerprint) != ? LIMIT 1"
        if (found := self.db.execute(query, (size,)).fetchone()) is not None:
            raise GalleryError(
                f"gallery {self.path}: a fingerprint of footage video {found[0]} has {found[1]} bytes, not {size}; "
                "the file was altered"
            )

    # -- metadata -------------------------------------------------------------------------------

    @property
    def recognizer(self) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = 'recognizer'").fetchone()
        return row[0] if row else None

    def require_recognizer(self, recognizer: str, holder: str = "the pack in use") -> None:
        """Embeddings of different recognizers live in different spaces: comparing them is meaningless.
        `holder` names where `recognizer` comes from, for the message."""
        stored = self.recognizer
        if stored is not None and stored != recognizer:
            raise GalleryError(
                f"gallery {self.path} was made with recognizer {stored}, but {holder} has {recognizer}; "
                "use the same pack, or re-enrol into a new gallery"
            )

    # -- people ---------------------------------------------------------------------------------

    def _refuse_name_clashes(self) -> None:
        """Two people under one name (by `name_key`: 'Émile Zola' and 'émile zola', made by a version before names
        were compared so) were edited, shown, exported and granted rooms as whichever came first: the other's
        faces were added to it, a scan judged one by the other's grants, `gallery remove` removed the wrong one."""
        people: dict[str, tuple[int, str]] = {}
        for person_id, text in self.db.execute(
            "SELECT id, name FROM persons UNION ALL SELECT person_id, alias FROM aliases"
        ):
            if not isinstance(text, str):
                continue
            first = people.setdefault(name_key(text), (person_id, text))
            if first[0] != person_id:
                raise GalleryError(
                    f"gallery {self.path} holds {first[1]!r} and {text!r} as two people, where names are one whatever "
                    "their case and Unicode form (an older version told them apart): remove one with "
                    "`impersonation-cli gallery remove` and its exact spelling, then enrol its photos again under "
                    "another name"
                )

    def _person_id(self, name: str) -> int | None:
        # Compared by name_key, which composes both sides too: `gallery add "Eileen  Collins"` extended Eileen
        # Collins, `gallery show` of it found nobody; so did a name stored before names were composed.
        key = name_key(name) if isinstance(name, str) else name
        if self._depth:  # nothing changes the gallery under a transaction or snapshot: one read serves every look-up
            index = self._name_index()
            exact = index.get(EXACT + name) if isinstance(name, str) else None
            return exact if exact is not None else index.get(key)
        # As stored first, through the columns' indexes; then by name_key, which no index serves (each such look-up
        # reads every name: `gallery list` of 4,000 people, one look-up each, took 27 s that way, where 5 s before).
        stored = stored_form(name) if isinstance(name, str) else name
        row = (
            self.db.execute(
                "SELECT id FROM persons WHERE name = ?1 UNION SELECT person_id FROM aliases WHERE alias = ?1", (stored,)
            ).fetchone()
            or self.db.execute(
                "SELECT id FROM persons WHERE name_key(name) = ?1 UNION SELECT person_id FROM aliases"
                " WHERE name_key(alias) = ?1",
                (key,),
            ).fetchone()
        )
        return int(row[0]) if row else None

    def _name_index(self) -> dict[str, int]:
        """Each name and alias by its name_key, to its person: an import of 4,000 people looked each one up with a
        scan of every name (name_key is no column SQLite indexes), 16 s where 2 s had been."""
        if self._name_ids is None:
            rows = self.db.execute("SELECT id, name FROM persons UNION ALL SELECT person_id, alias FROM aliases")
            self._name_ids = {}
            for person_id, text in rows:
                self._remember(text, person_id)
        return self._name_ids

    def _remember(self, name: str, person_id: int | None) -> None:
        if self._name_ids is not None and isinstance(name, str) and person_id is not None:
            self._name_ids.setdefault(name_key(name), person_id)
            self._name_ids.setdefault(EXACT + name, person_id)

    def person_id(self, name: str) -> int:
        person_id = self._person_id(name)
        if person_id is None:
            raise GalleryError(f"no person named '{name}' in the gallery {self.path}")
        return person_id

    def add_person(
        self, name: str, references: list[ReferenceFace], aliases: list[str] | tuple = (), restored: bool = False
    ) -> int:
        """Create or extend a person with references, in one transaction; returns how many were new. `restored`:
        names as a gallery held them (an import's: `validate_name`)."""
        name = validate_name(name, restored=restored)
        if not references:
            raise GalleryError(f"no usable reference face for '{name}'")
        for r in references:  # stored, one the recognizer gave as zeros or NaN made the gallery unreadable
            check_embedding(r.embedding, f"'{name}': the reference face from {r.image_name}")
        with self.transaction() as db:
            stored = self.recognizer
            for reference in references:
                if stored is None:
                    db.execute("INSERT INTO meta VALUES ('recognizer', ?)", (reference.recognizer,))
                    stored = reference.recognizer
                elif reference.recognizer != stored:
                    self.require_recognizer(reference.recognizer)
            person_id = self._person_id(name)
            if person_id is None:
                person_id = db.execute(
                    "INSERT INTO persons (name, created_at) VALUES (?, ?)", (name, now_iso())
                ).lastrowid
                self._remember(name, person_id)
            for alias in aliases:
                alias = validate_name(alias, "alias", restored)
                owner = self._person_id(alias)
                if owner == person_id:  # their name, or an alias they have, in any case: nothing to add
                    continue
                if owner is not None:
                    other = db.execute("SELECT name FROM persons WHERE id = ?", (owner,)).fetchone()[0]
                    # Named with whose alias it is: of 5,000 people in a file, 'alias 'x' already names another
                    # person, 'x'' said neither who in the file had it nor why one name was another's.
                    raise GalleryError(f"alias '{alias}' of '{name}' already names another person, '{other}'")
                db.execute("INSERT OR IGNORE INTO aliases VALUES (?, ?)", (person_id, alias))
                self._remember(alias, person_id)
            before = db.total_changes
            for r in references:
                db.execute(
                    "INSERT OR IGNORE INTO reference_faces (person_id, image_sha256, image_name, recognizer,"
                    " embedding, face_px, det_score, blur, faces_in_image, thumbnail, created_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        person_id,
                        r.image_sha256,
                        r.image_name,
                        r.recognizer,
                        r.embedding.astype(np.float32).tobytes(),
                        r.face_px,
                        r.det_score,
                        r.blur,
                        r.faces_in_image,
                        r.thumbnail,
                        now_iso(),
                    ),
                )
            return db.total_changes - before

    def remove_person(self, name: str) -> str:
        """Remove a person (`name`: their name or an alias) with their references, authorizations and footage;
        returns the name they were registered under."""
        with self.transaction() as db:
            person_id = self.person_id(name)
            registered = self._registered_name(person_id)
            db.execute("DELETE FROM persons WHERE id = ?", (person_id,))
            self._name_ids = None
            return registered

    def persons(self) -> list[Person]:
        rows = self.db.execute(
            "SELECT p.id, p.name, (SELECT COUNT(*) FROM reference_faces r WHERE r.person_id = p.id),"
            " (SELECT group_concat(alias, char(31)) FROM aliases a WHERE a.person_id = p.id)"
            " FROM persons p ORDER BY p.name COLLATE NOCASE"
        ).fetchall()
        return [Person(r[0], r[1], tuple(sorted((r[3] or "").split("\x1f"))) if r[3] else (), r[2]) for r in rows]

    def canonical_name(self, name: str) -> str:
        return self._registered_name(self.person_id(name))

    def _registered_name(self, person_id: int) -> str:
        return self.db.execute("SELECT name FROM persons WHERE id = ?", (person_id,)).fetchone()[0]

    def references(self, name: str) -> list[ReferenceFace]:
        rows = self.db.execute(
            "SELECT image_sha256, image_name, recognizer, embedding, face_px, det_score, blur, faces_in_image,"
            " thumbnail FROM reference_faces WHERE person_id = ? ORDER BY id",
            (self.person_id(name),),
        ).fetchall()
        return [
            ReferenceFace(r[0], r[1], r[2], np.frombuffer(r[3], dtype=np.float32).copy(), r[4], r[5], r[6], r[7], r[8])
            for r in rows
        ]

    def best_thumbnail(self, name: str) -> bytes | None:
        """The reference picture of the best quality (largest, sharpest face), for reports."""
        row = self.db.execute(
            "SELECT thumbnail FROM reference_faces WHERE person_id = ? AND thumbnail IS NOT NULL"
            " ORDER BY face_px * det_score DESC LIMIT 1",
            (self.person_id(name),),
        ).fetchone()
        return row[0] if row else None

    def index(self) -> GalleryIndex:
        rows = self.db.execute(
            "SELECT p.name, r.embedding FROM reference_faces r JOIN persons p ON p.id = r.person_id"
            " ORDER BY p.name COLLATE NOCASE, r.id"
        ).fetchall()
        names = tuple(sorted({r[0] for r in rows}, key=str.casefold))
        position = {n: i for i, n in enumerate(names)}
        owners = np.array([position[r[0]] for r in rows], dtype=np.int64)
        embeddings = (
            np.stack([np.frombuffer(r[1], dtype=np.float32) for r in rows])
            if rows
            else np.zeros((0, EMBEDDING_DIM), dtype=np.float32)
        )
        return GalleryIndex(names, owners, embeddings, self.recognizer)

    # -- authorizations -------------------------------------------------------------------------

    def authorize(
        self, name: str, room: str, valid_from: str | None = None, valid_to: str | None = None, ai_allowed: bool = False
    ) -> str:
        """Allow `room` to use the person's likeness (`name`: their name or an alias) between two ISO dates (either
        open), in place of its grant; returns the name the person is registered under."""
        room = validate_grant(room, valid_from, valid_to)
        registered = self.canonical_name(name)  # an unknown person is said before the period's order
        check_period(valid_from, valid_to)
        if not isinstance(ai_allowed, bool):
            raise GalleryError(f"ai_allowed must be true or false, not {ai_allowed!r}")
        with self.transaction() as db:
            person_id = self.person_id(name)
            self._drop_grant(db, person_id, room)
            db.execute(
                "INSERT INTO authorizations (person_id, room, valid_from, valid_to, ai_allowed, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (person_id, room, valid_from, valid_to, int(ai_allowed), now_iso()),
            )
        return registered

    def revoke(self, name: str, room: str) -> bool:
        """Remove the person's grant of `room` (refused unless platform:account, as `authorize`, or the spelling of
        a grant stored so); whether one went. A room an older version stored that is refused now (an invisible
        character in it) could not be revoked, nor the gallery exported, but by removing the person."""
        try:
            checked = validate_room(room)
        except UserError:
            if not isinstance(room, str):
                raise
            with self.transaction() as db:
                if self._drop_grant(db, self.person_id(name), canonical_room(room)):
                    return True
            raise
        with self.transaction() as db:
            return self._drop_grant(db, self.person_id(name), checked) > 0

    @staticmethod
    def _drop_grant(db: sqlite3.Connection, person_id: int, room: str) -> int:
        """Delete the person's grant of `room` however its platform was stored: a gallery written before rooms were
        spelt one way (io/rooms.py canonical_room) may hold Douyin:1, and douyin:1 beside it. How many went."""
        rows = db.execute("SELECT id, room FROM authorizations WHERE person_id = ?", (person_id,)).fetchall()
        gone = [(row_id,) for row_id, stored in rows if canonical_room(stored) == room]
        db.executemany("DELETE FROM authorizations WHERE id = ?", gone)
        return len(gone)

    def authorizations(self, name: str | None = None) -> list[Authorization]:
        query = (
            "SELECT p.name, a.room, a.valid_from, a.valid_to, a.ai_allowed FROM authorizations a"
            " JOIN persons p ON p.id = a.person_id"
        )
        args: tuple = ()
        if name is not None:
            query += " WHERE p.id = ?"
            args = (self.person_id(name),)
        rows = self.db.execute(query + " ORDER BY p.name, a.room", args).fetchall()
        return [Authorization(r[0], canonical_room(r[1]), r[2], r[3], bool(r[4])) for r in rows]

    # -- footage (the replay library) ---------------------------------------------------------------

    def add_footage(self, video: FootageVideo, frames: list[tuple[float, bytes]]) -> bool:
        """Store a video's fingerprints in one transaction; False when that person already has this video."""
        with self.transaction() as db:
            person_id = self.person_id(video.person)
            cursor = db.execute(
                "INSERT OR IGNORE INTO footage_videos (person_id, name, sha256, method, fps, duration_s, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (person_id, video.name, video.sha256, video.method, video.fps, video.duration_s, now_iso()),
            )
            if not cursor.rowcount:
                return False
            db.executemany(
                "INSERT INTO footage_frames (video_id, time_s, fingerprint) VALUES (?, ?, ?)",
                [(cursor.lastrowid, time_s, fingerprint) for time_s, fingerprint in frames],
            )
            return True

    def footage(self, name: str | None = None) -> list[FootageVideo]:
        query = (
            "SELECT p.name, v.name, v.sha256, v.method, v.fps, v.duration_s,"
            " (SELECT COUNT(*) FROM footage_frames f WHERE f.video_id = v.id)"
            " FROM footage_videos v JOIN persons p ON p.id = v.person_id"
        )
        args: tuple = ()
        if name is not None:
            query += " WHERE p.id = ?"
            args = (self.person_id(name),)
        rows = self.db.execute(query + " ORDER BY p.name COLLATE NOCASE, v.name, v.id", args).fetchall()
        return [FootageVideo(*row) for row in rows]

    def remove_footage(self, name: str, video: str | None = None) -> int:
        """Remove all of a person's footage, or the video with this file name or sha256 (whole, or at least the
        16 characters `footage list` shows); returns how many.

        Raises:
            GalleryError: a file name that two or more of the person's videos carry (different content, one name):
                which one is meant is asked for by sha256, nothing removed."""
        with self.transaction() as db:
            query = "FROM footage_videos WHERE person_id = ?"
            args: tuple[int | str | None, ...] = (self.person_id(name),)
            if video is not None:
                # The list shows 16 characters of the sha256: those alone matched nothing.
                named = HEX_DIGITS.match(video) and SHORTEST_SHA256_PREFIX <= len(video) <= 64
                prefix = video.lower() if named else None
                # A name in either of Unicode's forms: macOS names files decomposed ('Café' typed composed
                # matched no video stored from a Mac's file), as names and rooms are compared.
                spellings = (unicodedata.normalize("NFC", video), unicodedata.normalize("NFD", video))
                query = query + " AND (name IN (?, ?) OR sha256 = ? OR substr(sha256, 1, length(?)) = ?)"
                args = (*args, *spellings, video, prefix, prefix)
                digests = [row[0] for row in db.execute("SELECT sha256 " + query + " ORDER BY sha256", args)]
                if len(digests) > 1:
                    shown = ", ".join(digest[:16] for digest in digests)
                    raise GalleryError(
                        f"{len(digests)} videos of '{self.canonical_name(name)}' are named {video!r} ({shown}): "
                        "give the sha256 of the one to remove (`impersonation-cli footage list`)"
                    )
            return db.execute("DELETE " + query, args).rowcount

    def footage_frames(self, method: str) -> list[tuple[FootageVideo, list[tuple[float, bytes]]]]:
        """Every video fingerprinted by `method`, with its (time, fingerprint) rows in time order."""
        videos = self.db.execute(
            "SELECT v.id, p.name, v.name, v.sha256, v.method, v.fps, v.duration_s FROM footage_videos v"
            " JOIN persons p ON p.id = v.person_id WHERE v.method = ? ORDER BY v.id",
            (method,),
        ).fetchall()
        found = []
        for video_id, person, name, sha256, footage_method, fps, duration_s in videos:
            frames = self._frames_of(video_id)
            found.append((FootageVideo(person, name, sha256, footage_method, fps, duration_s, len(frames)), frames))
        return found

    def _frames_of(self, video_id: int) -> list[tuple[float, bytes]]:
        rows = self.db.execute(
            "SELECT time_s, fingerprint FROM footage_frames WHERE video_id = ? ORDER BY time_s", (video_id,)
        ).fetchall()
        return [(float(t), bytes(f)) for t, f in rows]

    def _footage_to_json(self, name: str) -> list[dict]:
        videos = self.db.execute(
            "SELECT id, name, sha256, method, fps, duration_s FROM footage_videos WHERE person_id = ? ORDER BY id",
            (self.person_id(name),),
        ).fetchall()
        exported = []
        for video_id, video_name, sha256, method, fps, duration_s in videos:
            frames = self._frames_of(video_id)
            exported.append(
                {
                    "name": video_name,
                    "sha256": sha256,
                    "method": method,
                    "fps": fps,
                    "duration_s": duration_s,
                    "times_s": [t for t, _ in frames],
                    "fingerprints": [base64.b64encode(f).decode("ascii") for _, f in frames],
                }
            )
        return exported

    # -- export / import ------------------------------------------------------------------------

    def export(self) -> dict:
        with self.snapshot():
            return self._export()

    def _export(self) -> dict:
        people = []
        for person in self.persons():
            for name, what in [(person.name, "person name"), *((alias, "alias") for alias in person.aliases)]:
                _exportable_name(name, what)
            people.append(
                {
                    "name": person.name,
                    "aliases": list(person.aliases),
                    "references": [_reference_to_json(r) for r in self.references(person.name)],
                    "authorizations": [_exported_grant(a) for a in self.authorizations(person.name)],
                    "footage": self._footage_to_json(person.name),
                }
            )
        return {"format": EXPORT_FORMAT, "version": EXPORT_VERSION, "recognizer": self.recognizer, "persons": people}

    def _refuse_alias_as_person(self, name: str) -> None:
        """An imported person is merged into the one of the same name only: a person whose name is an alias here
        may be someone else (the file's "Collins" and this gallery's Eileen Collins, alias Collins), and merging
        their faces would make scans match neither well."""
        person_id = self._person_id(name)
        if person_id is not None and name_key(canonical := self.canonical_name(name)) != name_key(name):
            raise GalleryError(
                f"'{name}' of the imported file is a person there but an alias of '{canonical}' here: the file is "
                f"refused (a merge would mix two people's faces); rename one, or remove the alias, and import again"
            )

    def _refuse_another_grant(self, grant: Authorization) -> None:
        """An imported grant is added, never put in place of the one this gallery holds for the person and room:
        the file (an older export, another team's) replaced it without a word, widening it (a later end, an AI
        digital human allowed) or undoing a change made here, and the gallery's own grant was lost. The same
        grant is written as the file has it. Called once the person is added (`import_people`)."""
        held = next((a for a in self.authorizations(grant.person) if a.room == grant.room), None)
        if held is not None and _grant_key(held) != _grant_key(grant):
            raise GalleryError(
                f"'{grant.person}' of the imported file is granted {grant.room} {_grant_terms(grant)}, but this "
                f"gallery grants it {_grant_terms(held)}: the file is refused (importing it would replace that "
                "grant); change the grant here (gallery authorize/revoke) or in the file, and import again"
            )

    def import_export(self, document: object) -> int:
        """Merge an export into this gallery in one transaction; returns the number of new references.

        The whole document is checked first, like the CLI checks its input: the first bad value refuses the
        file, naming where it is, and the gallery stays as it was."""
        return self.import_people(*parse_export(document))

    def import_people(self, recognizer: str | None, people: list[ImportedPerson]) -> int:
        """Merge checked people (`parse_export`) in one transaction; returns the number of new references."""
        if recognizer:
            self.require_recognizer(recognizer, "the imported file")
        added = 0
        with self.transaction():
            for person in people:
                self._refuse_alias_as_person(person.name)
                added += self.add_person(person.name, person.references, person.aliases, restored=True)
                for a in person.authorizations:
                    self._refuse_another_grant(a)
                    self.authorize(person.name, a.room, a.valid_from, a.valid_to, a.ai_allowed)
                for video, frames in person.footage:
                    self.add_footage(video, frames)
        return added


def _readable_bound(bound: str) -> bool:
    """Whether a stored grant bound reads as grants.py reads it: an ISO date, or an ISO date-time (one stored before
    validate_date bounded the years still reads)."""
    try:
        datetime.fromisoformat(bound) if has_time(bound) else date.fromisoformat(bound)
    except ValueError:
        return False
    return True


def _exported_bound(bound: str | None, end: bool) -> str | None:
    """A grant's bound as an export writes it (and `gallery import-file` reads an older export's). One stored before
    io/rooms.validate_date bounded the years, past them on its open side (`valid_to` '9999-12-31', `valid_from`
    '0001-01-01': a grant 'for ever'), is written as no bound, as it is judged (gallery/grants.py); one stored
    before it asked for a 'T' ('2026-11-20 20:00:00+08:00') with one. Written as stored, or read from an export of
    such a version, `gallery import-file` refused the file."""
    if bound is not None and len(bound) > 10 and bound[10] == " ":
        bound = f"{bound[:10]}T{bound[11:]}"
    year = int(bound[:4]) if bound is not None and bound[:4].isdigit() else None
    if year is not None and (year > GRANT_YEARS[1] if end else year < GRANT_YEARS[0]):
        return None
    return None if bound is None else _import_form(bound)


def _exportable_name(name: str, what: str) -> None:
    """Refuse to export a name `gallery import-file` refuses (one an older version stored with control characters
    in it, a bidi override): the export said it was written, and could not be read back."""
    try:
        validate_name(name, what, restored=True)
    except GalleryError as exc:
        raise GalleryError(
            f"cannot export: {exc} (stored by an older version; `gallery import-file` would refuse the file): "
            "`impersonation-cli gallery remove` takes the name as stored; add the person again, then export"
        ) from exc


def _import_form(bound: str) -> str:
    """A stored bound as `gallery import-file` takes it (`validate_date`): one an older version took in another ISO
    form (a week date 2026-W52-3, a basic date-time 20261231T235959+0800) in the extended form, the same day or
    instant. Written as stored, `gallery import-file` refused the export."""
    try:
        return validate_date(bound, "bound")
    except UserError:
        if not _readable_bound(bound):
            return bound
    return (datetime.fromisoformat(bound) if has_time(bound) else date.fromisoformat(bound)).isoformat()


def _exported_bounds(grant: Authorization) -> tuple[str | None, str | None]:
    return _exported_bound(grant.valid_from, end=False), _exported_bound(grant.valid_to, end=True)


def _exported_grant(grant: Authorization) -> dict[str, object]:
    """A grant as an export writes it. One whose start follows its end, which an older version stored when both
    fell on one day (it compared dates), is refused: `gallery import-file` refuses it, so the export could not be
    read back, and it authorizes nothing."""
    try:
        validate_room(grant.room)
    except UserError as exc:
        raise GalleryError(
            f"the grant of {grant.room!r} to '{grant.person}' cannot be exported: {exc} (stored by an older version; "
            "`gallery import-file` would refuse the file): `impersonation-cli gallery revoke` it by that spelling "
            "and authorize the room again, then export"
        ) from exc
    valid_from, valid_to = _exported_bounds(grant)
    try:
        check_period(valid_from, valid_to)
    except UserError as exc:
        raise GalleryError(
            f"the grant of {grant.room} to '{grant.person}' runs from {valid_from} until {valid_to}, its start after "
            "its end (stored by an older version; it authorizes nothing): `impersonation-cli gallery revoke` it and "
            "authorize the room again, then export"
        ) from exc
    return {"room": grant.room, "valid_from": valid_from, "valid_to": valid_to, "ai_allowed": grant.ai_allowed}


def _grant_key(grant: Authorization) -> tuple[object, ...]:
    """What a grant allows, to compare two: its bounds as instants where they are date-times (one instant written
    in two offsets, an export from an office in another zone, was 'another grant' and refused the file), as
    written where they are dates (a whole day, in the zone of the room's stream: no instant), and its licence."""
    return (_bound_key(grant.valid_from, end=False), _bound_key(grant.valid_to, end=True), grant.ai_allowed)


def _bound_key(bound: str | None, end: bool) -> object:
    exported = _exported_bound(bound, end)
    if exported is None or not has_time(exported):
        return exported
    return datetime.fromisoformat(exported).astimezone(UTC)  # a stored date-time carries its offset


def _grant_terms(grant: Authorization) -> str:
    """A grant's period and licence in words: 'from 2026-01-01 until 2026-12-31, AI not allowed'; a bound 'for ever'
    as exported (`_exported_bound`): none."""
    valid_from, valid_to = _exported_bounds(grant)
    return (
        f"from {valid_from or 'no start'} until {valid_to or 'no end'}, "
        f"AI {'allowed' if grant.ai_allowed else 'not allowed'}"
    )


# The storage classes (typeof) a column of each declared type may hold; NULL is checked by the schema itself.
COLUMN_TYPES = {"TEXT": ("text",), "INTEGER": ("integer",), "REAL": ("real", "integer"), "BLOB": ("blob",)}


@functools.cache
def _schema_columns() -> dict[str, list[tuple[str, str]]]:
    """Each table of SCHEMA with its columns and their declared types, as SQLite reads them (SCHEMA made in
    memory)."""
    made = sqlite3.connect(":memory:")
    try:
        made.executescript(SCHEMA)
        tables = [row[0] for row in made.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {t: [(row[1], row[2]) for row in made.execute(f"PRAGMA table_info({t})")] for t in tables}
    finally:
        made.close()


def _new_database(name: str) -> sqlite3.Connection:
    """A connection to `name` (a file, made if missing, or ':memory:') with the gallery's tables.

    A new gallery's tables and its schema version are written in one transaction: made one statement at a time, a
    command reading the gallery while the first `gallery add` made it could find some tables and not others, or all
    of them but no version row (refused: 'cannot be written (a read-only file?)'). It now finds none (not a
    gallery yet: refused, 'no table meta', as before) or the whole gallery."""
    db = sqlite3.connect(name, timeout=30, isolation_level=None)
    db.execute("PRAGMA foreign_keys = ON")
    db.execute("PRAGMA journal_mode = WAL")
    if db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").fetchone():
        db.executescript(SCHEMA)  # tables an older gallery lacks, if any; the others are left as they are
        return db
    try:
        db.executescript(
            f"BEGIN IMMEDIATE;\n{SCHEMA}\n"
            f"INSERT OR IGNORE INTO meta VALUES ('schema_version', '{SCHEMA_VERSION}');\nCOMMIT;"
        )
    except sqlite3.Error:
        if db.in_transaction:
            db.execute("ROLLBACK")
        db.close()
        raise
    return db


# Why SQLite refuses a write, by the start of its error name: a read-only file (as a shared gallery often is), or
# another program holding the gallery's write lock past the connection's 30 s timeout.
WRITE_REFUSALS = {
    "SQLITE_READONLY": "cannot be written (a read-only file?)",
    "SQLITE_BUSY": "is being written by another program (try again when it is done)",
    "SQLITE_FULL": "cannot be written: the disk is full",
    "SQLITE_IOERR": "cannot be written: the disk failed the write (full, or gone?)",
}


@contextmanager
def _writes_refused_said(path: Path) -> Iterator[None]:
    """A write SQLite refuses (WRITE_REFUSALS) as a one-line GalleryError: it was 'internal error:
    OperationalError: attempt to write a readonly database' or '...: database is locked' (exit 4). The transaction
    around it is rolled back first, so nothing changes."""
    try:
        yield
    except sqlite3.OperationalError as exc:
        why = _write_refusal(exc)
        if why is None:
            raise
        raise GalleryError(f"gallery {path} {why}: {exc}") from exc


def _write_refusal(exc: sqlite3.DatabaseError) -> str | None:
    """What a write SQLite refused says of the gallery (WRITE_REFUSALS), or None for another error."""
    name = getattr(exc, "sqlite_errorname", None) or ""
    return next((why for prefix, why in WRITE_REFUSALS.items() if name.startswith(prefix)), None)


def _refuse_another_programs_database(path: Path) -> None:
    """Refuse, before anything is written to it, an SQLite file that holds tables of another program: opening it
    to write added the gallery's tables to it and switched it to WAL, so `gallery add --gallery app.db` (a
    mistyped path) altered that program's database. An empty file, or one holding only gallery tables, is fine."""
    if not path.is_file() or path.stat().st_size == 0:
        return
    db = _connect_read_only(path)
    try:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        foreign = sorted(t for t in tables - set(_schema_columns()) if not t.startswith("sqlite_"))
        # A gallery of a newer version may hold tables this one does not know: its schema version says so.
        versioned = "meta" in tables and db.execute("SELECT 1 FROM meta WHERE key = 'schema_version'").fetchone()
        _refuse_newer(path, db)
    finally:
        db.close()
    if foreign and not versioned:
        shown = ", ".join(foreign[:3]) + (", ..." if len(foreign) > 3 else "")
        raise GalleryError(
            f"{path} is an SQLite database of another program (tables {shown}), not a gallery; it was left as it "
            "was: give a gallery file, or a new file name"
        )


def _refuse_newer(path: Path, db: sqlite3.Connection) -> None:
    """Refuse a gallery of a newer schema than this tool's, first: opened to write, it was switched to WAL and
    given this version's missing tables before the refusal, and a newer version's renamed column was refused as
    'not a readable impersonation-cli gallery', as if the file were damaged."""
    try:
        row = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    except sqlite3.OperationalError:  # no meta table: not a gallery (`_check_tables` says so)
        return
    if row is not None and str(row[0]).isdigit() and int(row[0]) > SCHEMA_VERSION:
        raise GalleryError(f"gallery {path} has schema {row[0]}, newer than this tool's {SCHEMA_VERSION}")


def _with_footage_tables(db: sqlite3.Connection) -> None:
    """A gallery made before known footage was, read as having none: its reader gets empty footage tables of its
    own (temporary: the file is not written). A writer adds the tables, and every reader refused such a gallery
    until one did: 'not a readable impersonation-cli gallery: no table footage_videos'."""
    tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if "persons" not in tables or not FOOTAGE_TABLES.isdisjoint(tables):  # not a gallery, or one it can refuse
        return
    db.execute("PRAGMA query_only = OFF")  # what it blocks here is the temporary tables: this connection's own
    try:
        db.executescript(FOOTAGE_SCHEMA.replace("CREATE TABLE", "CREATE TEMP TABLE"))
    finally:
        db.execute("PRAGMA query_only = ON")


def _connect_for_reading(path: Path) -> sqlite3.Connection:
    """A connection of a command that only reads: an ordinary one that refuses every write (query_only), where the
    file and its folder may be written. A WAL gallery's reader makes -wal and -shm files beside it; a read-only
    connection cannot remove them, so `gallery list` left both behind, whereas the last ordinary connection to
    close removes them, as every writer's does. Writers beside it are safe: it is any other WAL reader (the data
    is unchanged; its close may move committed pages into the file, as every last connection's does). Elsewhere
    (a read-only file or folder) it is `_connect_read_only`."""
    if os.access(path, os.W_OK) and os.access(path.parent, os.W_OK):
        db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=rw", uri=True, timeout=30, isolation_level=None)
        try:
            db.execute("PRAGMA query_only = ON")
            db.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
            return db
        except sqlite3.OperationalError as exc:
            db.close()
            if not exc.sqlite_errorname.startswith(("SQLITE_READONLY", "SQLITE_CANTOPEN")):
                raise
    return _connect_read_only(path)


def _connect_read_only(path: Path) -> sqlite3.Connection:
    """A connection that never writes. A WAL gallery needs its -shm file beside it: where that cannot be made
    (a read-only folder) the file is opened as immutable, which is what it is to every user who cannot write there.
    So is a WAL gallery no writer has open (no -wal beside it: the last connection to close removes it): there a
    read-only connection makes -wal and -shm files and cannot remove them, so a read-only gallery file in a
    writable folder was left with both. Beside a writer's -wal (which may hold commits not yet in the file) it is a
    reader of it; a database not in WAL mode (another program's) is read as ever, which makes no file."""
    uri = path.resolve().as_uri()
    if _wal_mode(path) and not path.with_name(f"{path.name}-wal").exists():
        return sqlite3.connect(f"{uri}?immutable=1", uri=True, timeout=30, isolation_level=None)
    try:
        db = sqlite3.connect(f"{uri}?mode=ro", uri=True, timeout=30, isolation_level=None)
        db.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
        return db
    except sqlite3.OperationalError as exc:
        if not exc.sqlite_errorname.startswith(("SQLITE_READONLY", "SQLITE_CANTOPEN")):
            raise
    wal = path.with_name(f"{path.name}-wal")
    if wal.is_file() and wal.stat().st_size > 0:
        # Read as immutable, the file alone was read: people and grants committed to the -wal were silently not
        # there (its -shm, which SQLite needs to read a -wal, missing beside it, as in a backup that skipped it).
        raise GalleryError(
            f"gallery {path} cannot be read here: its {wal.name} holds writes not yet in the file, and they can "
            "only be read where the folder is writable (copy the gallery and its -wal file somewhere writable)"
        )
    return sqlite3.connect(f"{uri}?immutable=1", uri=True, timeout=30, isolation_level=None)


def _wal_mode(path: Path) -> bool:
    """Whether the SQLite file at `path` is in WAL mode, by its header (the read and write versions, bytes 18-19,
    are 2); False where it cannot be read or is no SQLite file."""
    try:
        with path.open("rb") as file:
            header = file.read(20)
    except OSError:
        return False
    return header.startswith(b"SQLite format 3\x00") and header[18:20] == b"\x02\x02"


def _reference_to_json(r: ReferenceFace) -> dict:
    return {
        "image_sha256": r.image_sha256,
        "image_name": r.image_name,
        "recognizer": r.recognizer,
        "embedding": base64.b64encode(r.embedding.astype("<f4").tobytes()).decode("ascii"),
        "face_px": r.face_px,
        "det_score": r.det_score,
        "blur": r.blur,
        "faces_in_image": r.faces_in_image,
        "thumbnail_jpeg": base64.b64encode(r.thumbnail).decode("ascii") if r.thumbnail else None,
    }


# -- reading an export: every value checked, the first bad one named --------------------------------

SHA256_PATTERN = re.compile(r"^[0-9a-f]{64}$")
HEX_DIGITS = re.compile(r"^[0-9a-fA-F]+$")
SHORTEST_SHA256_PREFIX = 16  # `footage remove` takes a sha256 as `footage list` shows it, or whole


def is_short_hex(text: str) -> bool:
    """Hex digits too few to name a sha256 (`footage remove` says how many it takes)."""
    return bool(HEX_DIGITS.match(text)) and len(text) < SHORTEST_SHA256_PREFIX


# The tool writes unit-length float32 embeddings (norm 1 within ~1e-6); a forged length would scale similarities.
NORM_TOLERANCE = 1e-3
JPEG_START = b"\xff\xd8"
# A reference thumbnail is a 160-px JPEG of quality 88 (gallery/enrol.py), some kB: a 256 KiB one is no thumbnail.
MAX_THUMBNAIL_BYTES = 256 * 1024
# Upper bounds far above anything the tool writes: a larger value is a forgery, and Python's unbounded integers
# would otherwise reach SQLite (which stores at most 64 bits) or float() and fail there as an internal error.
MAX_NUMBER = 1e9  # pixels, seconds, frames a second, sharpness
MAX_FACES_IN_IMAGE = 10_000
# Text fields (a photo's or video's file name, a recognizer): a file name is at most 255 bytes, shown with its bytes
# that are not UTF-8 as \xNN up to 1020 characters. Unbounded, a 100 MB name was stored, and `gallery show` printed it.
MAX_TEXT_CHARS = 1024
# The keys each object of an export may hold: import is strict, so a misspelt or foreign key is refused rather
# than its value silently dropped.
EXPORT_KEYS = frozenset({"format", "version", "recognizer", "persons"})
PERSON_KEYS = frozenset({"name", "aliases", "references", "authorizations", "footage"})
REFERENCE_KEYS = frozenset(
    {"image_sha256", "image_name", "recognizer", "embedding", "face_px", "det_score", "blur", "faces_in_image"}
    | {"thumbnail_jpeg"}
)
AUTHORIZATION_KEYS = frozenset({"room", "valid_from", "valid_to", "ai_allowed"})
FOOTAGE_KEYS = frozenset({"name", "sha256", "method", "fps", "duration_s", "times_s", "fingerprints"})


@dataclass(frozen=True)
class ImportedPerson:
    """One person of an export, every value checked."""

    name: str
    aliases: list[str]
    references: list[ReferenceFace]
    authorizations: list[Authorization]
    footage: list[tuple[FootageVideo, list[tuple[float, bytes]]]]


def parse_export(document: object) -> tuple[str | None, list[ImportedPerson]]:
    """The recognizer and people of a `gallery export` document, or a GalleryError naming the first bad value."""
    if not isinstance(document, dict) or document.get("format") != EXPORT_FORMAT:
        raise GalleryError("not an impersonation-cli gallery export (format field missing or different)")
    version = document.get("version")
    if type(version) is not int or version != EXPORT_VERSION:  # not 1.0 nor true, which equal 1 in Python
        raise GalleryError(f"gallery export version {version!r} is not one this tool reads ({EXPORT_VERSION})")
    _only_keys(document, EXPORT_KEYS, "the export")
    recognizer = document.get("recognizer")
    if recognizer is not None:
        recognizer = _text(document, "recognizer", "the export")
    people = [
        _person_from_json(p, f"persons[{n}]", recognizer)
        for n, p in enumerate(_list(document, "persons", "the export", required=True))
    ]
    _refuse_people_named_twice(people)
    return recognizer if recognizer is not None else _one_recognizer(people), people


def _one_recognizer(people: list[ImportedPerson]) -> str | None:
    """The recognizer of every reference of an export without a top-level one (hand-made, or merged by hand).
    Mixed ones were refused only while being written, as if 'the pack in use' had the second, and a gallery that
    did not exist was left behind empty."""
    found = None
    for n, person in enumerate(people):
        for m, reference in enumerate(person.references):
            found = found or reference.recognizer
            if reference.recognizer != found:
                raise GalleryError(
                    f"persons[{n}] ({person.name!r}).references[{m}].recognizer {reference.recognizer!r} is not "
                    f"{found!r}, the first reference's: one export holds one recognizer's embeddings"
                )
    return found


def _refuse_people_named_twice(people: list[ImportedPerson]) -> None:
    """A name or alias may stand for one person of the file: importing two would merge them into one gallery
    person (or give an alias to both), which the file did not say."""
    owners: dict[str, int] = {}
    for n, person in enumerate(people):
        for key, name in {name_key(name): name for name in (person.name, *person.aliases)}.items():
            first = owners.setdefault(key, n)
            if first != n:
                raise GalleryError(
                    f"persons[{n}] ({person.name!r}): {name!r} already names persons[{first}] "
                    f"({people[first].name!r}); list each person once, with all their references"
                )


def _person_from_json(raw: object, where: str, recognizer: str | None) -> ImportedPerson:
    name = _checked(f"{where}.name", validate_name, _field(raw, "name", where), "person name", True)
    where = f"{where} ({name!r})"
    _only_keys(raw, PERSON_KEYS, where)
    aliases = [
        _checked(f"{where}.aliases[{n}]", validate_name, a, "alias", True)
        for n, a in enumerate(_list(raw, "aliases", where))
    ]
    references = [
        _reference_from_json(r, f"{where}.references[{n}]", recognizer)
        for n, r in enumerate(_list(raw, "references", where, required=True))
    ]
    if not references:
        raise GalleryError(f"{where} has no references")
    authorizations = [
        _authorization_from_json(a, name, f"{where}.authorizations[{n}]")
        for n, a in enumerate(_list(raw, "authorizations", where))
    ]
    rooms = [a.room for a in authorizations]
    if twice := next((room for n, room in enumerate(rooms) if room in rooms[:n]), None):
        raise GalleryError(
            f"{where}.authorizations grants {twice} twice (a gallery holds one grant per person and room; an older "
            "one may hold it spelt two ways, Douyin:1 and douyin:1): give it one grant, in the file or with "
            "`gallery authorize` in the gallery exported, and export again"
        )
    footage = [_footage_from_json(name, v, f"{where}.footage[{n}]") for n, v in enumerate(_list(raw, "footage", where))]
    return ImportedPerson(name, aliases, references, authorizations, footage)


def _reference_from_json(raw: object, where: str, recognizer: str | None) -> ReferenceFace:
    _only_keys(raw, REFERENCE_KEYS, where)
    data = _base64(raw, "embedding", where)
    if len(data) % 4:  # frombuffer fails (an internal error) on it; a whole count check_embedding names
        raise GalleryError(f"{where}.embedding has {len(data)} bytes, expected {EMBEDDING_DIM} float32 values")
    embedding = np.frombuffer(data, dtype="<f4").astype(np.float32)
    check_embedding(embedding, f"{where}.embedding")
    reference_recognizer = _text(raw, "recognizer", where)
    if recognizer is not None and reference_recognizer != recognizer:
        raise GalleryError(f"{where}.recognizer {reference_recognizer!r} is not the export's {recognizer!r}")
    thumbnail = _base64(raw, "thumbnail_jpeg", where) if _field(raw, "thumbnail_jpeg", where, None) else None
    if thumbnail is not None and not thumbnail.startswith(JPEG_START):
        raise GalleryError(f"{where}.thumbnail_jpeg is not a JPEG picture")
    if thumbnail is not None and len(thumbnail) > MAX_THUMBNAIL_BYTES:  # 40 MB of zeros behind a JPEG marker was stored
        raise GalleryError(
            f"{where}.thumbnail_jpeg has {len(thumbnail)} bytes; a reference thumbnail is at most {MAX_THUMBNAIL_BYTES}"
        )
    return ReferenceFace(
        image_sha256=_text(raw, "image_sha256", where, SHA256_PATTERN),
        image_name=_text(raw, "image_name", where),
        recognizer=reference_recognizer,
        embedding=embedding,
        face_px=_number(raw, "face_px", where),
        det_score=_number(raw, "det_score", where, highest=1.0),
        blur=_number(raw, "blur", where),
        faces_in_image=_count(raw, "faces_in_image", where),
        thumbnail=thumbnail,
    )


def check_embedding(embedding: np.ndarray, where: str) -> None:
    """A stored embedding must be EMBEDDING_DIM finite values of unit length: anything else forges similarities
    (512 x 1e30 matches every face) or hides a person (NaN matches none)."""
    if embedding.shape != (EMBEDDING_DIM,):
        raise GalleryError(f"{where} has {embedding.size} values, expected {EMBEDDING_DIM}")
    if not np.isfinite(embedding).all():
        raise GalleryError(f"{where} holds values that are not finite numbers")
    norm = float(np.linalg.norm(embedding.astype(np.float64)))  # float32 squares of 1e30 overflow
    if abs(norm - 1.0) > NORM_TOLERANCE:
        raise GalleryError(f"{where} has length {norm:.6g}; embeddings are normalised to length 1")


def _authorization_from_json(raw: object, person: str, where: str) -> Authorization:
    room = _checked(f"{where}.room", validate_room, _field(raw, "room", where))
    _only_keys(raw, AUTHORIZATION_KEYS, where)
    # Every key, as an export writes them: {"room": ...} alone was taken as a grant for ever, AI allowed or not.
    bounds = [_field(raw, key, where) for key in ("valid_from", "valid_to")]
    # As this version exports them: an older version's export holds bounds it wrote as stored.
    bounds = [
        _exported_bound(b, end) if isinstance(b, str) else b for b, end in zip(bounds, (False, True), strict=True)
    ]
    valid_from, valid_to = (
        None if value is None else _checked(f"{where}.{key}", validate_date, value, key)
        for value, key in zip(bounds, ("valid_from", "valid_to"), strict=True)
    )
    _checked(where, check_period, valid_from, valid_to)
    ai_allowed = _field(raw, "ai_allowed", where)
    if not isinstance(ai_allowed, bool):
        raise GalleryError(f"{where}.ai_allowed must be true or false, not {ai_allowed!r}")
    return Authorization(person, room, valid_from, valid_to, ai_allowed)


def _footage_from_json(person: str, raw: object, where: str) -> tuple[FootageVideo, list[tuple[float, bytes]]]:
    method = _text(raw, "method", where)
    _only_keys(raw, FOOTAGE_KEYS, where)
    if method != FINGERPRINT_METHOD:
        raise GalleryError(
            f"{where}.method {method!r} is not a fingerprint method this tool knows ({FINGERPRINT_METHOD})"
        )
    video = FootageVideo(
        person,
        _text(raw, "name", where),
        _text(raw, "sha256", where, SHA256_PATTERN),
        method,
        _number(raw, "fps", where, positive=True),
        _number(raw, "duration_s", where),
    )
    _checked(f"{where}.fps", check_rate, video.fps, MAX_FOOTAGE_FPS, "fps")  # as `footage add --fps`
    times, fingerprints = _list(raw, "times_s", where, required=True), _list(raw, "fingerprints", where, required=True)
    if len(times) != len(fingerprints):
        raise GalleryError(f"{where} has {len(times)} times_s for {len(fingerprints)} fingerprints")
    if not fingerprints:  # `footage add` refuses such a video; stored, its sha256 made the real one 'already stored'
        raise GalleryError(f"{where} has no fingerprints; footage holds at least one fingerprinted frame")
    frames = []
    for n, (time_s, fingerprint) in enumerate(zip(times, fingerprints, strict=True)):
        data = _as_base64(fingerprint, f"{where}.fingerprints[{n}]")
        if len(data) != FINGERPRINT_GRID**2:
            raise GalleryError(f"{where}.fingerprints[{n}] has {len(data)} bytes, expected {FINGERPRINT_GRID**2}")
        if sorted(data) != list(range(FINGERPRINT_GRID**2)):  # the ranks of the grid's blocks (signals/replay.py)
            raise GalleryError(f"{where}.fingerprints[{n}] is not an {FINGERPRINT_METHOD} fingerprint (block ranks)")
        frames.append((_as_number(time_s, f"{where}.times_s[{n}]"), data))
    _check_frame_times([time_s for time_s, _ in frames], video.duration_s, where)
    return video, frames


def _check_frame_times(times: list[float], duration_s: float, where: str) -> None:
    """Frame times as fingerprinting gives them: rising, from 0, within the video (a frame's length past its end,
    at most 1 s, as the last frame's time and a container's duration may differ)."""
    for n, (before, after) in enumerate(itertools.pairwise([-math.inf, *times])):
        if not before < after or not 0 <= after <= duration_s + 1.0:
            raise GalleryError(
                f"{where}.times_s[{n}] {after!r} is not after the one before it and within the video's "
                f"{duration_s:g} s: the times fingerprinting gives rise from 0 to the video's end"
            )


_MISSING = object()


def _object(raw: object, where: str) -> dict:
    if not isinstance(raw, dict):
        raise GalleryError(f"{where} must be an object, not {_json_kind(raw)}")
    return raw


def _field(raw: object, key: str, where: str, default: Any = _MISSING) -> Any:
    fields = _object(raw, where)
    if key not in fields:
        if default is _MISSING:
            raise GalleryError(f"{where} has no '{key}'")
        return default
    return fields[key]


def _only_keys(raw: object, allowed: frozenset[str], where: str) -> None:
    unknown = unknown_keys(_object(raw, where), allowed)
    if unknown:
        raise GalleryError(f"{where} has unknown keys: {_shown(', '.join(unknown))}")


def _json_kind(value: object) -> str:
    kinds = {type(None): "null", bool: "true/false", int: "a number", float: "a number", str: "a string"}
    return kinds.get(type(value), "a list" if isinstance(value, list) else "an object")


def _shown(value: object) -> str:
    """A value as it sits in the export, cut short: a refusal stays one readable line."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _text(raw: object, key: str, where: str, pattern: re.Pattern[str] | None = None) -> str:
    value = _field(raw, key, where)
    if not isinstance(value, str) or not value or (pattern is not None and not pattern.match(value)):
        expected = f"a string matching {pattern.pattern}" if pattern is not None else "a non-empty string"
        raise GalleryError(f"{where}.{key} must be {expected}, not {_shown(value)}")
    if len(value) > MAX_TEXT_CHARS:
        raise GalleryError(f"{where}.{key} is {len(value)} characters long, over {MAX_TEXT_CHARS} (a file name's)")
    return value


def _number(raw: object, key: str, where: str, positive: bool = False, highest: float = MAX_NUMBER) -> float:
    return _as_number(_field(raw, key, where), f"{where}.{key}", positive, highest)


def _as_number(value: object, where: str, positive: bool = False, highest: float = MAX_NUMBER) -> float:
    # An int is compared before any float(): 10**400 is a JSON number that float() cannot hold.
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or (isinstance(value, float) and math.isnan(value))
    ):
        raise GalleryError(f"{where} must be a finite number, not {_shown(value)}")
    if not 0 <= value <= highest or (positive and value == 0):
        low = "above 0" if positive else "at least 0"
        raise GalleryError(f"{where} must be {low} and at most {highest:g}, not {_shown(value)}")
    return float(value)


def _count(raw: object, key: str, where: str, highest: int = MAX_FACES_IN_IMAGE) -> int:
    value = _field(raw, key, where)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= highest:
        raise GalleryError(f"{where}.{key} must be a whole number from 1 to {highest}, not {_shown(value)}")
    return value


def _list(raw: object, key: str, where: str, required: bool = False) -> list:
    value = _field(raw, key, where, _MISSING if required else [])
    if not isinstance(value, list):
        raise GalleryError(f"{where}.{key} must be a list, not {_json_kind(value)}")
    return value


def _base64(raw: object, key: str, where: str) -> bytes:
    return _as_base64(_field(raw, key, where), f"{where}.{key}")


def _as_base64(value: object, where: str) -> bytes:
    if isinstance(value, str):
        try:
            return base64.b64decode(value, validate=True)
        except binascii.Error as exc:
            raise GalleryError(f"{where} is not valid base64: {exc}") from exc
    raise GalleryError(f"{where} must be base64 text, not {_json_kind(value)}")


def _checked(where: str, check: Any, *args: Any) -> Any:
    """A CLI validator's result, its one-line refusal prefixed with where the value sits in the export."""
    try:
        return check(*args)
    except UserError as exc:
        raise GalleryError(f"{where}: {exc}") from exc


def read_export(path: Path) -> object:
    if is_device(path) or path.is_dir():  # a folder was "[Errno 21] Is a directory: '...'"
        kind = "a folder" if path.is_dir() else "a device"
        raise GalleryError(f"cannot read gallery export {path}: {kind}, not a file")
    try:
        # A byte-order mark, as Windows editors save, is read past; a key given twice in one object (a hand edit
        # beside the old value) is refused: json kept the last one without a word.
        return json.loads(path.read_text(encoding="utf-8-sig"), object_pairs_hook=unique_keys)
    except OSError as exc:
        raise GalleryError(f"cannot read gallery export {path}: {exc}") from exc
    except ValueError as exc:  # not JSON, not UTF-8, a key given twice, or an integer of over 4300 digits
        raise GalleryError(f"cannot read gallery export {path}: {parse_error(exc)}") from exc
    except RecursionError as exc:  # arrays nested thousands deep: no export looks like that
        raise GalleryError(f"cannot read gallery export {path}: nested too deeply") from exc


def export_to_file(gallery: Path, file: Path) -> int:
    """`gallery export`: write the whole gallery to `file` as JSON (atomically); the number of people written."""
    with Gallery(gallery, create=False, read_only=True) as store:
        document = store.export()
    write_text_atomic(file, json.dumps(document, indent=1))
    return len(document["persons"])


def revoke_in_file(gallery: Path, name: str, room: str) -> str:
    """`gallery revoke`: withdraw the person's grant of `room` in the gallery at `gallery`; returns the name the
    person is registered under (`name` may be an alias).

    Raises:
        UserError: the person had no grant of `room` (withdrawing what is not there is a mistake worth saying), a
            room not of the form platform:account, a person not in the gallery, a missing gallery.
    """
    with Gallery(gallery, create=False) as store:
        registered = store.canonical_name(name)
        if not store.revoke(registered, room):
            raise UserError(f"{room} had no authorization for {registered}")
        return registered


def import_from_file(gallery: Path, file: Path) -> tuple[int, int]:
    """`gallery import-file`: merge an export into `gallery` in one transaction, every value checked first (the
    first bad one refuses the whole file); (people in the file, new references)."""
    people, added = import_people_from_file(gallery, file)
    return len(people), added


def import_people_from_file(gallery: Path, file: Path) -> tuple[list[ImportedPerson], int]:
    """`import_from_file`, giving the people imported and the number of new references."""
    document = read_export(file)
    with _nothing_imported(file):
        recognizer, people = parse_export(document)
    # What only the gallery can refuse (its recognizer, a name it gives another) is a refusal of the file too.
    with Gallery(gallery) as store, _nothing_imported(file):
        return people, store.import_people(recognizer, people)


@contextmanager
def _nothing_imported(file: Path) -> Iterator[None]:
    """A refusal of an export's contents, named by the file and saying that none of it was imported."""
    try:
        yield
    except GalleryError as exc:
        raise GalleryError(f"{file}: {exc}; nothing imported") from exc
