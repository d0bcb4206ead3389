"""Rooms files: which live room (platform:account) each source or stream URL belongs to.

YAML, TOML or JSON, with a list under `rooms`:

    rooms:
      - url: rtmp://example/live/abc      # or a recording's path, relative to this file
        room: douyin:123456
        label: Main room                  # optional
        started_at: 2026-11-20T20:00:00+08:00   # optional: wall-clock time of stream time 0

In YAML every value is the text written (`room: 12:30` is not the number 750: TextLoader). Other keys are
refused (a misspelt key would otherwise be ignored), as are YAML anchors and aliases and files
over 1 MiB: a rooms file needs none of them, and a few nested aliases ("billion laughs") expand to 10^9 items.
"""

from __future__ import annotations

import json
import math
import os
import re
import tomllib
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, time, timezone
from pathlib import Path
from typing import Any, ClassVar

import yaml

from impersonation_cli.errors import MAX_SECONDS, UserError, has_control_characters, parse_error, read_settings_text
from impersonation_cli.io.sources import is_stream_url
from impersonation_cli.io.urls import shown_source

ROOM_PATTERN = re.compile(r"^[A-Za-z0-9_.-]+:[^\s]+$")
DATE_PATTERN = re.compile(r"^\d{4}-\d{2}-\d{2}($|T)")
DATE_LENGTH = len("2026-12-31")
ENTRY_KEYS = {"url", "source", "room", "label", "started_at"}


@dataclass(frozen=True)
class Room:
    """A room: where a recording was captured or a stream is live, what it is called and when it started.

    The one room type of the rooms file, scan's room of each source and watch's rooms."""

    url: str  # a stream URL, or a recording (a folder: every recording found in it)
    account: str | None = None  # platform:account (douyin:123456), what authorizations name; None: unknown
    label: str | None = None  # a name for people
    started_at: datetime | None = None  # the wall-clock time of stream time 0 (a live frame carries its own)

    def __post_init__(self) -> None:
        # Made in Python as well as read from files: an account that is not platform:account (or holds a
        # terminal escape) would reach appearances, reasons and alerts as it is. A Path is a recording's path;
        # other types would crash the scan or watch later, far from the mistake.
        if isinstance(self.url, os.PathLike):
            object.__setattr__(self, "url", os.fspath(self.url))
        if not isinstance(self.url, str):
            raise TypeError(f"url must be a stream URL or a path, not {type(self.url).__name__}")
        if not self.url.strip():  # '' is the current folder to pathlib: watched, it was "': a folder, not a file"
            raise UserError("a room's url is empty: give a stream URL or a video file")
        if self.label is not None and not isinstance(self.label, str):
            raise TypeError(f"label must be a str, not {type(self.label).__name__}")
        if self.started_at is not None and not isinstance(self.started_at, datetime):
            raise TypeError(f"started_at must be an aware datetime, not {type(self.started_at).__name__}")
        if self.account is not None:
            object.__setattr__(self, "account", validate_room(self.account))
        if self.started_at is not None and self.started_at.utcoffset() is None:
            raise UserError(f"{self.shown_url}: started_at needs a time zone (an aware datetime)")
        if self.started_at is not None:
            object.__setattr__(self, "started_at", at_fixed_offset(self.started_at))

    @property
    def shown_url(self) -> str:
        """The URL as alerts, summaries and messages show it: without its password or tokens (io/urls.py), a file
        name's bytes that are not UTF-8 as \\xNN (io/names.py). The room is read from `url`."""
        return shown_source(self.url)

    @property
    def name(self) -> str:
        """How alerts and summaries name the room: its account, else its URL as shown."""
        return self.account or self.shown_url


def validate_room(room: str) -> str:
    """`room` as every part of the tool spells it (`canonical_room`), refused unless it is platform:account."""
    if not isinstance(room, str) or not ROOM_PATTERN.match(room) or has_control_characters(room):
        raise UserError(f"room {room!r} is not of the form platform:account (for example douyin:123456)")
    if hidden := [c for c in room if unicodedata.category(c) == "Cf"]:
        # A soft hyphen or zero-width space pasted from a web page: a grant that looked like douyin:555 matched no
        # scan of douyin:555, and every message showed the two alike.
        raise UserError(f"room {room!r} holds an invisible character (U+{ord(hidden[0]):04X}); type it again")
    return canonical_room(room)


def canonical_room(room: str) -> str:
    """A room's one spelling: its platform (a site's name: Douyin:1 is douyin:1) in lower case, its account as given
    (case-sensitive on some platforms) in Unicode's composed form (NFC: 'café' typed with a combining accent, as
    macOS spells file names, is the same account). Unchecked: also for a room stored or recorded before rooms were
    spelt so."""
    platform, colon, account = unicodedata.normalize("NFC", room).partition(":")
    return f"{platform.lower()}{colon}{account}"


# An authorization's bound: at datetime's ends ('9999-12-31', a grant 'for ever') the day after a date and a bound
# turned into an appearance's zone leave its range, and every scan and report judging the room failed as an
# internal error (OverflowError, gallery/grants.py). A day or more inside them, any zone's arithmetic fits.
GRANT_YEARS = (1900, 9998)


def validate_date(text: str, what: str) -> str:
    """An authorization's bound as given: an ISO date (2026-12-31) or an ISO date-time with a zone offset
    (2026-12-31T20:00:00+08:00): a whole day, or that instant (gallery/grants.py), in the years GRANT_YEARS."""
    if isinstance(text, str) and DATE_PATTERN.match(text):
        try:
            day = date.fromisoformat(text[:DATE_LENGTH])
            if not has_time(text) or parse_time(text, what, start=False):
                if not GRANT_YEARS[0] <= day.year <= GRANT_YEARS[1]:
                    raise UserError(
                        f"{what} {text!r} is out of range: a date in the years {GRANT_YEARS[0]}-{GRANT_YEARS[1]} "
                        "(leave it out for no limit)"
                    )
                return text
        except ValueError:
            pass
    raise UserError(f"{what} {text!r} is not an ISO date (2026-12-31) or date-time (2026-12-31T20:00:00+08:00)")


def validate_grant(
    room: str, valid_from: str | None, valid_to: str | None, names: tuple[str, str] = ("valid from", "valid until")
) -> str:
    """An authorization's room (`validate_room`: returned as every part of the tool spells it) and bounds (each a
    `validate_date` or None, named in a refusal by `names`: the CLI's --from and --until). The bounds' order is
    `check_period`'s."""
    room = validate_room(room)
    for value, what in zip((valid_from, valid_to), names, strict=True):
        if value is not None:
            validate_date(value, what)
    return room


def has_time(bound: str) -> bool:
    """Whether an authorization's bound (a `validate_date`) is a date-time, an instant, rather than a whole day."""
    return len(bound) > DATE_LENGTH


def check_period(valid_from: str | None, valid_to: str | None) -> None:
    """An authorization's bounds (each already a `validate_date`) in order: a start after the end would authorize
    nothing, which no one means. Two date-times are compared as instants; a date with anything, by date (a date
    is a whole day: gallery/grants.py)."""
    if valid_from is None or valid_to is None:
        return
    both_times = has_time(valid_from) and has_time(valid_to)
    if (
        datetime.fromisoformat(valid_from) > datetime.fromisoformat(valid_to)
        if both_times
        else valid_from[:DATE_LENGTH] > valid_to[:DATE_LENGTH]
    ):
        raise UserError(f"valid from {valid_from} is after valid until {valid_to}; the start must not follow the end")


# A stream's start time: wall-clock times are this plus stream time, in UTC; at datetime's ends (year 1 or 9999)
# that leaves its range, which stopped the scan of each file as an internal error.
START_YEARS = (1900, 8999)


def parse_time(text: str | date | time | None, what: str, start: bool = True) -> datetime | None:
    """An ISO 8601 date-time with a zone offset (a YAML file gives a datetime or date already). `start`: the
    start time of a stream, whose year must lie within START_YEARS; an authorization's bound need not."""
    if text is None:
        return None
    shown = repr(text.isoformat() if isinstance(text, date | time) else text)  # not datetime.date(2026, 1, 1)
    try:
        parsed = text if isinstance(text, datetime) else datetime.fromisoformat(str(text))
    except ValueError as exc:
        raise UserError(f"{what} {shown} is not an ISO 8601 date-time (2026-11-20T20:00:00+08:00)") from exc
    if parsed.tzinfo is None:
        raise UserError(f"{what} {shown} needs a time zone offset, such as +08:00 or Z")
    if start and not START_YEARS[0] <= parsed.year <= START_YEARS[1]:
        raise UserError(f"{what} {shown} is out of range: a start time in the years {START_YEARS[0]}-{START_YEARS[1]}")
    return at_fixed_offset(parsed)


def at_fixed_offset(moment: datetime) -> datetime:
    """The same instant with its zone's offset at that instant as a fixed one. Python adds a timedelta to a
    datetime of a zone with daylight saving (zoneinfo) by the wall clock, and compares two of one zone by it: a
    stream started 01:59:58 New York time on the night the clocks go back ended, 7 s later, at 02:00:05 -05:00
    (an hour late), and a grant to 02:30 -04:00 was read as ending during it."""
    offset = moment.utcoffset()
    return moment if offset is None or isinstance(moment.tzinfo, timezone) else moment.replace(tzinfo=timezone(offset))


NULL_TAG = "tag:yaml.org,2002:null"


class TextLoader(yaml.SafeLoader):
    """Safe YAML whose plain values are the text written, and that refuses a key given twice in one mapping.

    Every value of a rooms file or an eval manifest is text (a start time is parsed from its text), but YAML 1.1
    types plain values by their look: `room: 12:30` was the number 750, `0777` 511, `yes` True and
    `name: 2024-01-01` a date. Only null (an empty value, `~`) keeps its meaning. PyYAML also keeps the last of a
    key given twice without a word: a rooms entry's second `room:` or a manifest's second `cases:` silently
    replaced the first."""

    yaml_implicit_resolvers: ClassVar[dict[str, list[tuple[str, re.Pattern[str]]]]] = {
        first: [(tag, pattern) for tag, pattern in resolvers if tag == NULL_TAG]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[str] = set()
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode):
                if key_node.value in seen:
                    problem = f"key {key_node.value!r} is given twice (line {key_node.start_mark.line + 1})"
                    raise yaml.constructor.ConstructorError(None, None, problem, key_node.start_mark)
                seen.add(key_node.value)
        return super().construct_mapping(node, deep)


def unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object whose keys are each given once (json's object_pairs_hook; json keeps the last silently)."""
    document: dict[str, Any] = {}
    for key, value in pairs:
        if key in document:
            raise ValueError(f"key {key!r} is given twice")
        document[key] = value
    return document


class NoAliasLoader(TextLoader):
    """Safe YAML that refuses anchors' aliases (*name): each is refused as it is met, before anything expands."""

    def compose_node(self, parent: yaml.Node | None, index: object) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            mark = self.peek_event().start_mark
            raise yaml.composer.ComposerError(None, None, "YAML aliases (*name) are not accepted here", mark)
        return super().compose_node(parent, index)


def _read_document(path: Path) -> object:
    text = read_settings_text(path, "rooms file")
    try:
        if path.suffix.lower() == ".toml":
            return tomllib.loads(text)
        if path.suffix.lower() == ".json":
            return json.loads(text, object_pairs_hook=unique_keys)
        return yaml.load(text, Loader=NoAliasLoader) or {}  # a SafeLoader without aliases
    except (ValueError, yaml.YAMLError) as exc:
        raise UserError(f"rooms file {path} cannot be parsed: {parse_error(exc)}") from exc
    except RecursionError as exc:
        raise UserError(f"rooms file {path} cannot be parsed: nested too deeply") from exc


def load_rooms(path: Path) -> list[Room]:
    document = _read_document(path)
    if not isinstance(document, dict) or not isinstance(items := document.get("rooms"), list) or not items:
        raise UserError(f"rooms file {path} needs a non-empty list under 'rooms'")
    unknown = set(document) - {"rooms"}
    if unknown:
        raise UserError(f"rooms file {path} has unknown keys: {', '.join(sorted(map(str, unknown)))}")
    return [_entry(path, number, item) for number, item in enumerate(items, start=1)]


def _entry(path: Path, number: int, item: object) -> Room:
    where = f"rooms file {path}: entry {number}"
    if not isinstance(item, dict) or not (item.get("url") or item.get("source")) or not item.get("room"):
        raise UserError(f"{where} needs 'url' (or 'source') and 'room'")
    unknown = set(item) - ENTRY_KEYS
    if unknown:
        raise UserError(f"{where} has unknown keys: {', '.join(sorted(map(str, unknown)))}")
    if "url" in item and "source" in item:  # one of the two was dropped without a word
        raise UserError(f"{where} has both 'url' and 'source': they name the same thing; give one")
    url, room, label = item.get("url") or item["source"], item["room"], item.get("label")  # one of them is set (above)
    for key, value in (("url", url), ("room", room), ("label", label)):
        if value is not None and not isinstance(value, str):
            raise UserError(f"{where}: {key} must be text in quotes, not {value!r}")
    if label is not None and has_control_characters(label):
        raise UserError(f"{where}: label {label!r} holds control characters")
    if not is_stream_url(url) and not Path(url).is_absolute():
        # Made absolute by its text alone, not resolve(): a symlink named here is the recording it was named as
        # (resolved, a link beside its target became the target, and one of the two entries was lost).
        url = os.path.abspath(path.parent / url)
    try:
        account = validate_room(room)
    except UserError as exc:  # said without the file and entry, a bad room in a file of hundreds was hard to find
        raise UserError(f"{where}: {exc}") from None
    return Room(
        url=url,
        account=account,
        label=label or None,
        started_at=parse_time(item.get("started_at"), f"{where} started_at"),
    )


DURATION_PATTERN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h)?\s*$", re.IGNORECASE)
DURATION_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(text: str | float, what: str) -> float:
    """Seconds in '30s', '10m', '2h' or plain seconds (a number, from Python, is seconds), up to MAX_SECONDS;
    `what` (an option's name) starts the error message.

    Raises:
        UserError: not a duration above 0, or one longer than ten years.
        TypeError: neither text nor a number.
    """
    if isinstance(text, int | float) and not isinstance(text, bool):
        # NaN and infinity given as such are no lengths of time; digits too many for a float are a long one.
        seconds = _seconds(text) if isinstance(text, int) or math.isfinite(text) else math.nan
    elif isinstance(text, str):
        found = DURATION_PATTERN.match(text)
        seconds = _seconds(found.group(1)) * DURATION_UNITS[(found.group(2) or "s").lower()] if found else math.nan
    else:
        raise TypeError(f"{what} must be a duration such as '30s', '10m' or '2h', not {type(text).__name__}")
    if not seconds > 0:  # NaN too
        # '0' is written as a duration: what is wrong with it is that it is none (was: 'not a duration such as').
        raise UserError(f"{what} {text!r} is not a duration above 0 such as 30s, 10m or 2h")
    if seconds > MAX_SECONDS:  # infinity too: float('1' * 400) is inf
        raise UserError(f"{what} {text!r} is longer than the limit of {MAX_SECONDS // 3600}h (ten years)")
    return seconds


def _seconds(number: str | float) -> float:
    """`number` as a float; one too large for a float (an int of 400 digits) is infinity, not an OverflowError."""
    try:
        return float(number)
    except OverflowError:
        return math.inf
