"""What a scan produces: appearances with their signals and verdicts, per-source outcomes, and the run's
settings. These dataclasses are the documented, versioned output format (docs/formats.md)."""

from __future__ import annotations

import dataclasses
import datetime
import functools
import json
import math
import os
import types
import typing
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from impersonation_cli import __version__
from impersonation_cli.errors import UserError, is_device, parse_error
from impersonation_cli.io.names import shown_json
from impersonation_cli.io.urls import redact_urls, shown_message, shown_source
from impersonation_cli.runtime.host import Host, this_host

SCAN_SCHEMA = "impersonation-cli/scan"
EVENT_SCHEMA = "impersonation-cli/appearance"
# MAJOR.MINOR: major changes break readers; minor ones only add fields. Every version and what it added:
# docs/formats.md (a unit test holds it to these).
SCHEMA_VERSION = "1.4"  # the appearance lines (`--jsonl`, EVENT_SCHEMA)
SCAN_SCHEMA_VERSION = "1.13"  # the scan document (SCAN_SCHEMA)
# JSON lines the tool writes beside a scan result, given to `report` in its place: what each is and who wrote it.
# How a signal that could not be measured begins its explanation ("not judged: 2 frame(s) of the face judged ...").
NOT_JUDGED = "not judged"
LINE_SCHEMAS = {
    EVENT_SCHEMA: "appearance lines (scan --jsonl)",
    "impersonation-cli/alert": "alert lines (watch --alerts)",
}


def configured_probability(value: object) -> float | None:
    """A `[verdicts] synthetic_probability`/`effects_probability` as the verdicts judge by it and the reports word
    it: a number, or text that is one ("0.05", quoted in the settings file, recorded as written), in (0, 1]; None
    for "model" (the detector's own threshold) or anything else."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = float(value)
    except (ValueError, OverflowError):
        return None
    return number if 0 < number <= 1 else None


def plain_data(instance: Any) -> dict[str, Any]:
    """A dataclass's fields as plain data: `dataclasses.asdict` kept each Verdict a Verdict member (a str only by
    subclass: yaml.safe_dump of a result refused it) and each tuple a tuple."""
    return _plain(dataclasses.asdict(instance))


def _plain(value: Any) -> Any:
    if isinstance(value, StrEnum):
        return value.value
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


ADDED_IN = "added_in"


def added_in(version: str) -> dict[str, str]:
    """A field's metadata saying which version of the scan format added it: a document of an earlier version
    lacks it, so it may be absent when a document is read (`_required`)."""
    return {ADDED_IN: version}


@dataclass
class SignalScore:
    """One impersonation signal for an appearance: 0 (no sign) to 1 (strong sign), and why."""

    name: str
    score: float
    explanation: str
    details: dict[str, float | str] = field(default_factory=dict)  # numbers, and names such as a footage file

    def __post_init__(self) -> None:
        # A result of an earlier version may quote a stream URL with its password (a room was named by its URL).
        if isinstance(self.explanation, str):
            self.explanation = redact_urls(self.explanation)
        self.details = {k: redact_urls(v) if isinstance(v, str) else v for k, v in self.details.items()}

    @property
    def judged(self) -> bool:
        """False where the signal could not be measured: its score is 0 and its explanation says why."""
        return not self.explanation.startswith(NOT_JUDGED)


@dataclass
class Evidence:
    """A picture of an appearance saved as a file with its sha256 for takedown notices: the best view of the face,
    cropped (`Appearance.evidence`), or the whole frame it was cut from (`Appearance.evidence_frame`)."""

    path: str | None
    sha256: str | None
    time_s: float
    box: list[float]


# The fields of an `Appearance` that name evidence pictures: the face crop, and the whole frame it was cut from.
EVIDENCE_FIELDS = ("evidence", "evidence_frame")


class Verdict(StrEnum):
    """The labels an appearance or a source can earn (docs/verdicts.md); a document holds their values.

    `Appearance.verdicts` and `SourceResult.verdicts` hold these members, whether the result comes from a scan or
    from a file (`ScanResult.load`); each is also its value as a str (`Verdict.SYNTHETIC == "likely-synthetic"`).
    A verdict of a newer version that this one does not know stays a plain str.
    """

    AUTHORIZED = "authorized"
    UNAUTHORIZED = "unauthorized-likeness"
    SYNTHETIC = "likely-synthetic"
    EFFECTS = "likely-effects"
    REPLAY = "likely-replay"
    CONCURRENT = "concurrent"


def known_verdicts(verdicts: list[str]) -> list[str]:
    """`verdicts` with each value this version knows as its `Verdict` member: a result read from a file held plain
    str where a scan's held members (both print and compare alike as values, but showed differently in a notebook
    and could not be told apart by type)."""
    if not isinstance(verdicts, list):
        return verdicts  # the reader names a wrong type (`_build`); a program's mistake is left for it to see
    return [Verdict(v) if isinstance(v, str) and v in _VERDICT_VALUES else v for v in verdicts]


_VERDICT_VALUES = frozenset(Verdict)

# The stream-level signals behind each verdict a source can have of its own, beyond its appearances'
# (pipeline/verdicts.py judge_source): replay of known footage or a loop of the stream, and, with
# `flag_unmatched_faces`, the trained detector's classes for faces that matched nobody.
SOURCE_SIGNALS: dict[str, tuple[str, ...]] = {
    Verdict.REPLAY: ("replay", "loop"),
    Verdict.SYNTHETIC: ("synthetic",),
    Verdict.EFFECTS: ("effects",),
}


@dataclass
class WallclockSpan:
    """A stretch of wall-clock time: ISO 8601 times with their offset."""

    start: str
    end: str


@dataclass
class PartialGrant:
    """The grant of an appearance's room that covers only part of it (docs/verdicts.md): its bounds as recorded,
    the part it covers, and the parts it does not (before it begins, after it ends), in the zone of the
    appearance's start time. Stretches meet at the grant's bound."""

    room: str
    valid_from: str | None
    valid_to: str | None
    ai_allowed: bool
    covered: WallclockSpan
    uncovered: list[WallclockSpan]


@dataclass
class Appearance:
    """One registered person on screen in one stretch of one source: when, how alike, where, and what was judged."""

    appearance_id: str
    identity: str
    source: str  # as shown: a URL's password and tokens ***, a name's bytes that are not UTF-8 \xNN (io/names.py)
    start_s: float
    end_s: float
    frames: int
    best_similarity: float
    median_similarity: float
    second_identity: str | None = None
    second_similarity: float | None = None
    room: str | None = None
    start_wallclock: str | None = None
    end_wallclock: str | None = None
    track_ids: list[int] = field(default_factory=list)
    evidence: Evidence | None = None
    # The whole frame of `evidence`: the room as a viewer saw it.
    evidence_frame: Evidence | None = field(default=None, metadata=added_in("1.11"))
    signals: dict[str, SignalScore] = field(default_factory=dict)
    # Verdict values; a document of a newer version may hold others, which readers show by name.
    verdicts: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    risk: float = 0.0
    # Unauthorized-likeness for a grant that covers only part of it.
    partial_grant: PartialGrant | None = field(default=None, metadata=added_in("1.8"))
    # The wall-clock stretches its tracks were on screen (each track's first to last sample, overlapping ones
    # joined): what `concurrent` compares. Empty without a wall-clock time, and in a document before 1.13.
    on_screen: list[WallclockSpan] = field(default_factory=list, metadata=added_in("1.13"))

    def __post_init__(self) -> None:
        # Written and shown, never opened: a stream URL without its password or token (io/urls.py), a file name's
        # bytes that are not UTF-8 as \xNN (io/names.py).
        if isinstance(self.source, str):
            self.source = shown_source(self.source)
        self.verdicts = known_verdicts(self.verdicts)
        # A `concurrent` reason of an earlier version named the rooms by their URLs, passwords and tokens included.
        self.reasons = [redact_urls(r) if isinstance(r, str) else r for r in self.reasons]

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s

    @property
    def evidence_files(self) -> list[Evidence]:
        """The evidence pictures recorded (`EVIDENCE_FIELDS`): the face crop, then the whole frame."""
        return [e for e in (getattr(self, name) for name in EVIDENCE_FIELDS) if e is not None]


@dataclass
class SourceResult:
    """One input of a scan (a file, a URL, a watched room): whether it was read, what it holds, its verdicts."""

    source: str  # as shown: a URL's password and tokens ***, a name's bytes that are not UTF-8 \xNN (io/names.py)
    kind: str
    status: str  # "ok", "truncated" (decoded part of it), "unreadable" or "interrupted" (not scanned: Ctrl-C)
    error: str | None = None
    room: str | None = None
    width: int | None = None
    height: int | None = None
    fps: float | None = None
    duration_s: float | None = None
    scanned_s: float = 0.0  # media time actually decoded (less than duration_s when truncated)
    frames_decoded: int = 0
    frames_sampled: int = 0
    faces_detected: int = 0
    tracks: int = 0
    risk: float = 0.0
    verdicts: list[str] = field(default_factory=list)
    signals: dict[str, SignalScore] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Written and shown, never opened: a stream URL without its password or token, here and in the reason
        # it could not be read (FFmpeg's messages quote the URL; io/urls.py), a file name's bytes that are not
        # UTF-8 as \xNN (io/names.py; the file was opened by its own path, which keeps them).
        if isinstance(self.source, str):
            shown = shown_source(self.source)
            if isinstance(self.error, str):
                self.error = shown_message(self.error.replace(self.source, shown))
            self.source = shown
        self.verdicts = known_verdicts(self.verdicts)


@dataclass
class RunInfo:
    """Timing and host facts: the only part of a result that differs between identical runs."""

    started_at: str
    elapsed_s: float
    video_seconds: float
    realtime_factor: float | None
    # The machine that made the result (a Ray run's driver); None before schema 1.10.
    host: Host | None = field(default=None, metadata=added_in("1.10"))

    @classmethod
    def measured(cls, started: datetime.datetime, elapsed_s: float, video_seconds: float, live: bool) -> RunInfo:
        """A run's record, rounded as written; a live watch has no real-time factor (it runs at the stream's pace)."""
        factor = round(video_seconds / elapsed_s, 2) if not live and elapsed_s > 0 and video_seconds else None
        return cls(
            started_at=started.replace(microsecond=0).isoformat(),
            elapsed_s=round(elapsed_s, 3),
            video_seconds=round(video_seconds, 3),
            realtime_factor=factor,
            host=this_host(),
        )


@dataclass
class ScanResult:
    """The document `scan --json` writes (docs/formats.md): the settings, every source, every appearance, the run."""

    settings: dict[str, Any]
    sources: list[SourceResult]
    appearances: list[Appearance]
    run: RunInfo
    schema: str = SCAN_SCHEMA
    schema_version: str = SCAN_SCHEMA_VERSION
    tool_version: str = __version__
    # Or "interrupted": the run was stopped and holds what finished before.
    status: str = field(default="complete", metadata=added_in("1.2"))

    @property
    def identities(self) -> list[str]:
        return sorted({a.identity for a in self.appearances}, key=str.casefold)

    def appearances_of(self, source: SourceResult | str) -> list[Appearance]:
        """The appearances found in `source` (one of `sources`), in the document's order: those of its input, and
        where other sources share that input, of its room too (`found_in`). Given an input's path as the result
        names it (`SourceResult.source`), those found in that input, in every room it was scanned for.

        Raises:
            TypeError: `source` is neither a SourceResult nor a str.
        """
        if isinstance(source, str):
            return [appearance for appearance in self.appearances if appearance.source == source]
        if not isinstance(source, SourceResult):
            raise TypeError(f"source must be one of the result's sources or a path (str), not {type(source).__name__}")
        shared = sum(1 for other in self.sources if other.source == source.source) > 1
        return [appearance for appearance in self.appearances if found_in(appearance, source, shared)]

    @property
    def unreadable(self) -> list[SourceResult]:
        """Sources that could not be read, wholly or in part (truncated), or were never reached (interrupted)."""
        return [s for s in self.sources if s.status != "ok"]

    def to_dict(self) -> dict[str, Any]:
        """The result as plain data (dicts, lists, str, numbers, None), as `to_json` writes it."""
        document = plain_data(self)
        # Readers look for the format first, then whether the run finished.
        return {"schema": self.schema, "schema_version": self.schema_version, "status": self.status, **document}

    def to_json(self) -> str:
        # Any text still holding a file name's bytes that are not UTF-8 (an evidence folder's) as \xNN: strict JSON.
        # NaN or infinity (a caller's edit: a mean of nothing) is refused here: written as the bare NaN, which is
        # no JSON, the file was refused by every reader, `report` and `ScanResult.load` among them.
        return shown_json(json.dumps(self.to_dict(), indent=2, ensure_ascii=False, sort_keys=False, allow_nan=False))

    @classmethod
    def from_dict(cls, document: Any) -> ScanResult:
        """The result a document (`to_dict`'s form) holds, every field checked.

        Raises:
            ResultFormatError: not a scan result, another major schema version, a field missing or of the
                wrong type (named by its dotted path).
        """
        if not isinstance(document, dict):
            raise ResultFormatError("not an impersonation-cli scan result (a JSON object is expected)")
        if document.get("schema") != SCAN_SCHEMA:
            raise ResultFormatError(_not_a_result(document.get("schema")))
        # The scan document's own version: the appearance events (SCHEMA_VERSION) are versioned apart.
        if "schema_version" not in document:
            raise ResultFormatError("schema_version is missing: not a complete scan result")
        version = str(document["schema_version"])
        readable = SCAN_SCHEMA_VERSION.split(".")[0]
        if version.split(".")[0] != readable:
            shown = version if len(version) <= 20 else version[:20] + "..."
            raise ResultFormatError(f"scan result schema {shown} is not readable by this version (reads {readable}.x)")
        try:
            result = _build(cls, document)
        except RecursionError:  # '[[[[...' thousands deep runs Python out of stack
            raise ResultFormatError("not a scan result: its JSON is nested too deeply") from None
        _refuse_unlisted_sources(result)
        _refuse_unknown_values(result)
        # Read into this version's fields. A newer minor version's extra ones are dropped: written again, it is this
        # version's document. An older one's are kept as they were, those added since null (or absent from
        # `settings`): it keeps its version. Re-saved, a 1.0 result claimed 1.11 without the settings 1.1 added.
        if not _minor(version) < _minor(SCAN_SCHEMA_VERSION):
            result.schema_version = SCAN_SCHEMA_VERSION
        return result

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> ScanResult:
        """Read a result file (`scan --json`, `watch --json`).

        Raises:
            UserError: the file is missing or cannot be read.
            ResultFormatError: it is not UTF-8 JSON or not a result this version reads (`from_dict`), or it holds
                the appearance or alert lines written beside a result; the message starts with the path.
            TypeError: `path` is not a str or os.PathLike.
        """
        if not isinstance(path, str | os.PathLike):
            raise TypeError(f"path must be a path (a str or os.PathLike), not {type(path).__name__}")
        if not os.fspath(path).strip():  # '' is the current folder to pathlib: "'.: a folder, not a result file'"
            raise UserError("path is an empty path: give a result file")
        path = Path(path)
        if is_device(path):
            raise UserError(f"{path}: a device, not a result file")
        if path.is_dir():  # was "cannot read it: [Errno 21] Is a directory: '...'"
            raise UserError(f"{path}: a folder, not a result file")
        try:
            text = path.read_text(encoding="utf-8-sig")  # a BOM (a file saved by a Windows editor) is no error
        except FileNotFoundError:
            raise UserError(f"{path}: no such result file") from None
        except UnicodeDecodeError:  # a video or a picture given as the result: a document of another kind
            raise ResultFormatError(f"{path}: not a result file (not UTF-8 text)") from None
        except OSError as exc:
            raise UserError(f"{path}: cannot read it: {exc.strerror or exc}") from None
        try:
            document = json.loads(text)
        except ValueError as exc:  # JSONDecodeError, or an integer of over 4300 digits (Python's limit)
            lines = _line_schema(text)  # `--jsonl` given for `--json`: "not JSON: Extra data: line 2 column 1"
            raise ResultFormatError(
                f"{path}: {_not_a_result(lines) if lines else f'not JSON: {parse_error(exc)}'}"
            ) from None
        except RecursionError:
            raise ResultFormatError(f"{path}: not a scan result: its JSON is nested too deeply") from None
        try:
            return cls.from_dict(document)
        except ResultFormatError as exc:
            raise ResultFormatError(f"{path}: {exc}") from None


# Characters str.splitlines() (and editors) take for line breaks that json.dumps(ensure_ascii=False) leaves raw
# inside strings: a file name holding U+2028 split one alert line into lines that did not parse.
_LINE_BREAKS = str.maketrans({"\x85": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"})


def json_line(document: Any) -> str:
    """`document` as one line of JSON lines (alerts, `--jsonl`, a webhook's body), ending in a newline; text stays
    readable UTF-8. A file name's bytes that are not UTF-8 (held as surrogates) are `\\xNN`, as in every JSON file
    the tool writes (io/names.py): left raw, the first alert naming one ended the watch (UnicodeEncodeError, exit
    4), and as `\\udcXX` escapes strict JSON parsers refused the line."""
    return shown_json(json.dumps(document, ensure_ascii=False, allow_nan=False).translate(_LINE_BREAKS)) + "\n"


def schema_minor(version: str) -> float:
    """A scan format version's minor number (`1.11`: 11); one that is not a number reads as the newest."""
    return _minor(version)


def _minor(version: str) -> float:
    """A schema version's minor number (`1.11`: 11); one that is not a number reads as the newest."""
    minor = version.partition(".")[2]
    return int(minor) if minor.isdigit() else math.inf


def appearance_event(appearance: Appearance) -> dict[str, Any]:
    """One JSONL line: an appearance with its format named, readable on its own."""
    return {"schema": EVENT_SCHEMA, "schema_version": SCHEMA_VERSION, **plain_data(appearance)}


@functools.cache
def type_hints(kind: type) -> dict[str, Any]:
    """A dataclass's resolved field types, once per class: resolving them for every object made loading a
    result of 20,000 appearances take minutes (a compile() per string annotation)."""
    return typing.get_type_hints(kind)


class ResultFormatError(UserError, ValueError):
    """A result document this version does not read: not a scan result, another major schema, a field missing
    or not of its type (a report formats numbers: a string score must be caught when the file is read)."""


def _build(kind: Any, value: Any, where: str = "") -> Any:
    """Rebuild nested dataclasses from plain JSON values, guided by the type hints, checking each value's type.
    `where` is the dotted path of the value, for the error."""
    origin, arguments = _shape(kind)
    if origin is _UNION:
        if value is None and type(None) in arguments:
            return None
        refusals = []
        for option in (a for a in arguments if a is not type(None)):  # the first type the value fits
            try:
                return _build(option, value, where)
            except ResultFormatError as refused:
                refusals.append(refused)
        raise refusals[0]
    if origin is _DATACLASS:
        _require(isinstance(value, dict), value, "an object", where)
        hints, required, absent_checked = arguments
        missing = [name for name in required if name not in value]
        if missing:
            raise ResultFormatError(f"{where}{missing[0]} is missing: not a complete scan result")
        built = kind(**{k: _checked(hints[k], v, where, k) for k, v in value.items() if k in hints})
        for name in absent_checked:  # the defaults of absent fields are checked too
            if name not in value:
                _build(hints[name], getattr(built, name), f"{where}{name}.")
        return built
    if origin is list:
        _require(isinstance(value, list), value, "a list", where)
        (item_kind,) = arguments
        return [_checked(item_kind, v, where, n) for n, v in enumerate(value)]
    if origin is dict:
        _require(isinstance(value, dict), value, "an object", where)
        _, item_kind = arguments
        return {k: _checked(item_kind, v, where, k) for k, v in value.items()}
    if kind is float:
        number = isinstance(value, int | float) and not isinstance(value, bool)
        _require(number and _finite(value), value, "a number", where)
    elif kind in (int, str, bool):
        _require(isinstance(value, kind) and (kind is bool or not isinstance(value, bool)), value, kind.__name__, where)
    return value


def _checked(kind: Any, value: Any, where: str, key: object) -> Any:
    """`_build` of the value at `where` + `key`, with the common case answered at once: a plain value of exactly
    a type its field takes (a finite float, a str, an int, a bool, a None), most of a result's two million."""
    held = type(value)
    if held in _taken_as_is(kind) and (held is not float or math.isfinite(value)):
        return value
    return _build(kind, value, f"{where}{key}.")


@functools.cache
def _taken_as_is(kind: Any) -> frozenset[type]:
    """The types of value `kind` takes unchanged: itself if plain, the plain members (and None) of a union."""
    origin, arguments = _shape(kind)
    members = arguments if origin is _UNION else (kind,)
    return frozenset(m for m in members if m in {float, str, int, bool, type(None)})


_UNION, _DATACLASS = object(), object()


@functools.cache
def _shape(kind: Any) -> tuple[Any, tuple[Any, ...]]:
    """What `_build` needs of a type, worked out once per type: a result of 20,000 appearances asks 2 million
    times. For a dataclass: its fields' types by name, the required ones, and all of them in order."""
    origin = typing.get_origin(kind)
    if origin in (typing.Union, types.UnionType):
        return _UNION, typing.get_args(kind)
    if isinstance(kind, type) and dataclasses.is_dataclass(kind):  # a dataclass, not an instance of one
        hints = type_hints(kind)
        fields = dataclasses.fields(kind)
        names = tuple(f.name for f in fields)
        return _DATACLASS, ({n: hints[n] for n in names}, tuple(f.name for f in fields if _required(f)), names)
    return origin, typing.get_args(kind)


def _not_a_result(schema: object) -> str:
    """Why a document of `schema` is no scan result; for the JSON lines written beside one, which they are."""
    if isinstance(schema, str) and schema in LINE_SCHEMAS:
        return f"holds {LINE_SCHEMAS[schema]}, not a scan result: give the file `scan --json` or `watch --json` wrote"
    return f"not an impersonation-cli scan result (schema {schema!r})"


def _line_schema(text: str) -> str | None:
    """The schema of the JSON lines `text` holds, by its first line, where that is one of `LINE_SCHEMAS`."""
    try:
        first = json.loads(text.lstrip().partition("\n")[0])
    except (ValueError, RecursionError):
        return None
    schema = first.get("schema") if isinstance(first, dict) else None
    return schema if isinstance(schema, str) and schema in LINE_SCHEMAS else None


def found_in(appearance: Appearance, source: SourceResult, shared: bool) -> bool:
    """Whether `appearance` was found in `source`: of its input, and where other sources share that input (`shared`:
    a watch's rooms playing one URL, each with its own room, docs/watch.md) of its room too. Matched by the input
    alone, each such room's takedown draft, JUnit test case and timeline held the other rooms' appearances too."""
    return appearance.source == source.source and (not shared or appearance.room == source.room)


def _refuse_unlisted_sources(result: ScanResult) -> None:
    """A scan lists every input it was given: an appearance of a source not listed (a hand edit) was flagged and set
    `report`'s exit code 1, but had no takedown notice and no JUnit test case; so was one of an input several
    sources share whose room is none of theirs (`found_in`)."""
    rooms: dict[str, list[str | None]] = {}
    for source in result.sources:
        rooms.setdefault(source.source, []).append(source.room)
    for number, found in enumerate(result.appearances):
        if found.source not in rooms:
            raise ResultFormatError(
                f"appearances.{number}.source {found.source!r:.60} is none of the sources: not a complete scan result"
            )
        if len(rooms[found.source]) > 1 and found.room not in rooms[found.source]:
            raise ResultFormatError(
                f"appearances.{number}.room {found.room!r:.60} is not the room of its source {found.source!r:.60}: "
                "not a complete scan result"
            )


RESULT_STATUSES = ("complete", "interrupted")
SOURCE_STATUSES = ("ok", "truncated", "unreadable", "interrupted")
# The settings the reports read and show, by their keys, and the type each holds (a scan writes every one).
REPORTED_SETTINGS: dict[tuple[str, ...], type] = {
    ("fps",): float,
    ("gallery_identities",): int,
    ("config", "match", "threshold"): float,
}
_ABSENT = object()


def nested_setting(settings: dict[str, Any], keys: Sequence[str], absent: Any = None) -> Any:
    """The value under `keys` in a result's settings, or `absent` where any level is missing or not a table."""
    value: Any = settings
    for key in keys:
        value = value.get(key, absent) if isinstance(value, dict) else absent
    return value


def _refuse_unknown_values(result: ScanResult) -> None:
    """Statuses the format does not have, and reported settings of the wrong type: a hand-edited `status` "maybe"
    or `settings.fps` "two" went into the report as they were ('frames sampled per second: two', 'threshold x')."""
    _require(result.status in RESULT_STATUSES, result.status, f"one of {', '.join(RESULT_STATUSES)}", "status")
    expected = f"one of {', '.join(SOURCE_STATUSES)}"
    for number, source in enumerate(result.sources):
        _require(source.status in SOURCE_STATUSES, source.status, expected, f"sources.{number}.status")
    for keys, kind in REPORTED_SETTINGS.items():
        if (value := nested_setting(result.settings, keys, _ABSENT)) is not _ABSENT:
            _build(kind, value, f"settings.{'.'.join(keys)}.")


def _finite(number: float) -> bool:
    """Finite and within a float's range: an integer of 400 digits is valid JSON but no float (OverflowError)."""
    try:
        return math.isfinite(number)
    except OverflowError:
        return False


def _required(item: dataclasses.Field[Any]) -> bool:
    """Whether a document must hold the field: every field but those added to the format since 1.0 (`added_in`),
    which an older document lacks. A field's default is for building a result in code; taken as optional, a
    result stripped of its appearances' verdicts was read, and `report` drafted a takedown of an authorized one."""
    return ADDED_IN not in item.metadata


def _require(ok: bool, value: Any, expected: str, where: str) -> None:
    if not ok:
        raise ResultFormatError(f"{where.rstrip('.')} should be {expected}, not {type(value).__name__} {value!r:.40}")
