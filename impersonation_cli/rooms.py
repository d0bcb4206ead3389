"""Rooms files: which live room (platform:account) each source or stream URL belongs to.

YAML, TOML or JSON, with a list under `rooms`:

    rooms:
      - url: rtmp://example/live/abc      # or a recording's path, relative to this file
        room: douyin:123456
        label: Main room                  # optional
        started_at: 2026-11-20T20:00:00+08:00   # optional: wall-clock time of stream time 0
"""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import yaml

from .errors import UserError
from .sources import is_stream_url

ROOM_PATTERN = re.compile(r"^[A-Za-z0-9_.-]+:[^\s]+$")


@dataclass(frozen=True)
class RoomEntry:
    url: str
    room: str
    label: str | None = None
    started_at: datetime | None = None


def validate_room(room: str) -> str:
    if not ROOM_PATTERN.match(room):
        raise UserError(f"room {room!r} is not of the form platform:account (for example douyin:123456)")
    return room


def parse_time(text: str | datetime | None, what: str) -> datetime | None:
    if text is None or isinstance(text, datetime):
        return text
    try:
        parsed = datetime.fromisoformat(str(text))
    except ValueError as exc:
        raise UserError(f"{what} {text!r} is not an ISO 8601 date-time (2026-11-20T20:00:00+08:00)") from exc
    if parsed.tzinfo is None:
        raise UserError(f"{what} {text!r} needs a time zone offset, such as +08:00 or Z")
    return parsed


def _read_document(path: Path) -> dict:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UserError(f"cannot read rooms file {path}: {exc.strerror}") from exc
    try:
        if path.suffix.lower() == ".toml":
            return tomllib.loads(text)
        if path.suffix.lower() == ".json":
            return json.loads(text)
        return yaml.safe_load(text) or {}
    except (ValueError, yaml.YAMLError) as exc:
        raise UserError(f"rooms file {path} cannot be parsed: {str(exc).splitlines()[0]}") from exc


def load_rooms(path: Path) -> list[RoomEntry]:
    document = _read_document(path)
    items = document.get("rooms") if isinstance(document, dict) else None
    if not isinstance(items, list) or not items:
        raise UserError(f"rooms file {path} needs a non-empty list under 'rooms'")
    entries = []
    for number, item in enumerate(items, start=1):
        if not isinstance(item, dict) or not (item.get("url") or item.get("source")) or not item.get("room"):
            raise UserError(f"rooms file {path}: entry {number} needs 'url' (or 'source') and 'room'")
        url = str(item.get("url") or item.get("source"))
        if not is_stream_url(url) and not Path(url).is_absolute():
            url = str((path.parent / url).resolve())
        entries.append(
            RoomEntry(
                url=url,
                room=validate_room(str(item["room"])),
                label=str(item["label"]) if item.get("label") else None,
                started_at=parse_time(item.get("started_at"), f"rooms file {path}: entry {number} started_at"),
            )
        )
    return entries
