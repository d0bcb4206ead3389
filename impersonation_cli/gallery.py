"""The celebrity gallery: an SQLite file of people, their reference embeddings and their authorizations.

Every write is one transaction, so an interrupted import keeps everything committed before it and
nothing half-written.
"""

from __future__ import annotations

import base64
import json
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from .errors import GalleryError
from .types import EMBEDDING_DIM

GALLERY_ENV = "IMPERSONATION_GALLERY"
SCHEMA_VERSION = 1
EXPORT_FORMAT = "impersonation-cli/gallery-export"

SCHEMA = """
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
-- Known real footage of a person (the replay library): one row per video, one per fingerprinted frame.
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
CREATE INDEX IF NOT EXISTS footage_frames_by_video ON footage_frames (video_id);
"""


def default_gallery_path(option: str | Path | None = None) -> Path:
    if option:
        return Path(option).expanduser()
    if os.environ.get(GALLERY_ENV):
        return Path(os.environ[GALLERY_ENV]).expanduser()
    data_home = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data_home) / "impersonation-cli" / "gallery.sqlite"


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


def validate_name(name: str) -> str:
    cleaned = " ".join(name.split())
    if not cleaned or len(cleaned) > 200 or any(ord(c) < 32 for c in name):
        raise GalleryError(f"invalid person name {name!r}: 1-200 printable characters")
    return cleaned


class Gallery:
    def __init__(self, path: Path, create: bool = True) -> None:
        """Open the gallery at `path`; with `create=False` (commands that only read or remove) a missing file
        is an error instead of a new empty gallery, so a mistyped path is not mistaken for an empty one."""
        if not create and not path.is_file():
            raise GalleryError(f"no gallery at {path}: register people with `impersonation-cli gallery add` first")
        self.path = path
        self._depth = 0
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.db = sqlite3.connect(str(path), timeout=30, isolation_level=None)
            self.db.execute("PRAGMA foreign_keys = ON")
            self.db.execute("PRAGMA journal_mode = WAL")
            self.db.executescript(SCHEMA)
            self._check_schema()
        except sqlite3.DatabaseError as exc:
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
        self.db.execute("BEGIN IMMEDIATE" if self._depth == 1 else f"SAVEPOINT {name}")
        try:
            yield self.db
        except BaseException:
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

    def _check_schema(self) -> None:
        row = self.db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        if row is None:
            with self.transaction() as db:
                db.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
        elif int(row[0]) > SCHEMA_VERSION:
            raise GalleryError(f"gallery {self.path} has schema {row[0]}, newer than this tool's {SCHEMA_VERSION}")

    # -- metadata -------------------------------------------------------------------------------

    @property
    def recognizer(self) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = 'recognizer'").fetchone()
        return row[0] if row else None

    def require_recognizer(self, recognizer: str) -> None:
        """Embeddings of different recognizers live in different spaces: comparing them is meaningless."""
        stored = self.recognizer
        if stored is not None and stored != recognizer:
            raise GalleryError(
                f"gallery {self.path} was made with recognizer {stored}, but the pack in use has {recognizer}; "
                "use the same pack, or re-enrol into a new gallery"
            )

    # -- people ---------------------------------------------------------------------------------

    def _person_id(self, name: str) -> int | None:
        row = self.db.execute(
            "SELECT id FROM persons WHERE name = ? UNION SELECT person_id FROM aliases WHERE alias = ?",
            (name, name),
        ).fetchone()
        return int(row[0]) if row else None

    def person_id(self, name: str) -> int:
        person_id = self._person_id(name)
        if person_id is None:
            raise GalleryError(f"no person named '{name}' in the gallery {self.path}")
        return person_id

    def add_person(self, name: str, references: list[ReferenceFace], aliases: list[str] | tuple = ()) -> int:
        """Create or extend a person with references, in one transaction; returns how many were new."""
        name = validate_name(name)
        if not references:
            raise GalleryError(f"no usable reference face for '{name}'")
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
            for alias in aliases:
                alias = validate_name(alias)
                owner = self._person_id(alias)
                if owner not in (None, person_id):
                    raise GalleryError(f"alias '{alias}' already names another person")
                db.execute("INSERT OR IGNORE INTO aliases VALUES (?, ?)", (person_id, alias))
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

    def remove_person(self, name: str) -> None:
        with self.transaction() as db:
            db.execute("DELETE FROM persons WHERE id = ?", (self.person_id(name),))

    def persons(self) -> list[Person]:
        rows = self.db.execute(
            "SELECT p.id, p.name, (SELECT COUNT(*) FROM reference_faces r WHERE r.person_id = p.id),"
            " (SELECT group_concat(alias, char(31)) FROM aliases a WHERE a.person_id = p.id)"
            " FROM persons p ORDER BY p.name COLLATE NOCASE"
        ).fetchall()
        return [Person(r[0], r[1], tuple(sorted((r[3] or "").split("\x1f"))) if r[3] else (), r[2]) for r in rows]

    def canonical_name(self, name: str) -> str:
        return self.db.execute("SELECT name FROM persons WHERE id = ?", (self.person_id(name),)).fetchone()[0]

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
    ) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT INTO authorizations (person_id, room, valid_from, valid_to, ai_allowed, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (person_id, room) DO UPDATE SET"
                " valid_from = excluded.valid_from, valid_to = excluded.valid_to, ai_allowed = excluded.ai_allowed",
                (self.person_id(name), room, valid_from, valid_to, int(ai_allowed), now_iso()),
            )

    def revoke(self, name: str, room: str) -> bool:
        with self.transaction() as db:
            cursor = db.execute(
                "DELETE FROM authorizations WHERE person_id = ? AND room = ?", (self.person_id(name), room)
            )
            return cursor.rowcount > 0

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
        return [Authorization(r[0], r[1], r[2], r[3], bool(r[4])) for r in rows]

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
        """Remove all of a person's footage, or the videos with this file name or sha256; returns how many."""
        with self.transaction() as db:
            query, args = "DELETE FROM footage_videos WHERE person_id = ?", (self.person_id(name),)
            if video is not None:
                query, args = query + " AND (name = ? OR sha256 = ?)", (*args, video, video)
            return db.execute(query, args).rowcount

    def footage_frames(self, method: str) -> list[tuple[FootageVideo, list[tuple[float, bytes]]]]:
        """Every video fingerprinted by `method`, with its (time, fingerprint) rows in time order."""
        videos = self.db.execute(
            "SELECT v.id, p.name, v.name, v.sha256, v.method, v.fps, v.duration_s FROM footage_videos v"
            " JOIN persons p ON p.id = v.person_id WHERE v.method = ? ORDER BY v.id",
            (method,),
        ).fetchall()
        found = []
        for video_id, *fields in videos:
            frames = self._frames_of(video_id)
            found.append((FootageVideo(*fields, frames=len(frames)), frames))
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
        people = []
        for person in self.persons():
            people.append(
                {
                    "name": person.name,
                    "aliases": list(person.aliases),
                    "references": [_reference_to_json(r) for r in self.references(person.name)],
                    "authorizations": [
                        {"room": a.room, "valid_from": a.valid_from, "valid_to": a.valid_to, "ai_allowed": a.ai_allowed}
                        for a in self.authorizations(person.name)
                    ],
                    "footage": self._footage_to_json(person.name),
                }
            )
        return {"format": EXPORT_FORMAT, "version": 1, "recognizer": self.recognizer, "persons": people}

    def import_export(self, document: dict) -> int:
        """Merge an export into this gallery in one transaction; returns the number of new references."""
        if document.get("format") != EXPORT_FORMAT:
            raise GalleryError("not an impersonation-cli gallery export (format field missing or different)")
        if document.get("recognizer"):
            self.require_recognizer(document["recognizer"])
        added = 0
        with self.transaction():
            for person in document.get("persons", []):
                references = [_reference_from_json(r) for r in person.get("references", [])]
                added += self.add_person(person["name"], references, person.get("aliases", []))
                for a in person.get("authorizations", []):
                    self.db.execute(
                        "INSERT OR REPLACE INTO authorizations (person_id, room, valid_from, valid_to, ai_allowed,"
                        " created_at) VALUES (?, ?, ?, ?, ?, ?)",
                        (
                            self.person_id(person["name"]),
                            a["room"],
                            a.get("valid_from"),
                            a.get("valid_to"),
                            int(bool(a.get("ai_allowed"))),
                            now_iso(),
                        ),
                    )
                for video in person.get("footage", []):
                    self.add_footage(*_footage_from_json(person["name"], video))
        return added


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


def _reference_from_json(d: dict) -> ReferenceFace:
    try:
        embedding = np.frombuffer(base64.b64decode(d["embedding"]), dtype="<f4").astype(np.float32)
        if embedding.shape != (EMBEDDING_DIM,):
            raise ValueError(f"embedding has {embedding.size} values, expected {EMBEDDING_DIM}")
        thumbnail = base64.b64decode(d["thumbnail_jpeg"]) if d.get("thumbnail_jpeg") else None
        return ReferenceFace(
            d["image_sha256"],
            d["image_name"],
            d["recognizer"],
            embedding,
            float(d["face_px"]),
            float(d["det_score"]),
            float(d["blur"]),
            int(d["faces_in_image"]),
            thumbnail,
        )
    except (KeyError, ValueError, TypeError) as exc:
        raise GalleryError(f"bad reference in gallery export: {exc}") from exc


def _footage_from_json(person: str, d: dict) -> tuple[FootageVideo, list[tuple[float, bytes]]]:
    try:
        video = FootageVideo(person, d["name"], d["sha256"], d["method"], float(d["fps"]), float(d["duration_s"]))
        times, fingerprints = d["times_s"], d["fingerprints"]
        if len(times) != len(fingerprints):
            raise ValueError(f"{len(times)} times for {len(fingerprints)} fingerprints")
        return video, [(float(t), base64.b64decode(f, validate=True)) for t, f in zip(times, fingerprints, strict=True)]
    except (KeyError, ValueError, TypeError) as exc:
        raise GalleryError(f"bad footage in gallery export: {exc}") from exc


def read_export(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise GalleryError(f"cannot read gallery export {path}: {exc}") from exc
