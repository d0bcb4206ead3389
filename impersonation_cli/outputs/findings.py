"""What the documents built from a scan result share: reading a result file safely, which appearances are
flagged, which verdicts set exit code 1 (`--fail-on`), and plain words for verdicts and scores."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from impersonation_cli.errors import GalleryError, UserError
from impersonation_cli.gallery.store import Authorization, Gallery
from impersonation_cli.io.rooms import canonical_room
from impersonation_cli.io.urls import shown_message, shown_source
from impersonation_cli.results import (
    SOURCE_SIGNALS,
    Appearance,
    ScanResult,
    SignalScore,
    SourceResult,
    Verdict,
    configured_probability,
    nested_setting,
    schema_minor,
)

# `--fail-on` words and the verdicts they stand for; the full verdict names are accepted too.
FAIL_ON_VERDICTS = {
    "authorized": Verdict.AUTHORIZED,
    "unauthorized": Verdict.UNAUTHORIZED,
    "synthetic": Verdict.SYNTHETIC,
    "effects": Verdict.EFFECTS,
    "replay": Verdict.REPLAY,
    "concurrent": Verdict.CONCURRENT,
}
FAIL_ON_ANY = "any"
FAIL_ON_NONE = "none"
FAIL_ON_CHOICES = (*FAIL_ON_VERDICTS, FAIL_ON_ANY, FAIL_ON_NONE)

# Plain words for the verdicts this tool knows; a verdict it does not know is shown by its name alone.
VERDICT_MEANINGS: dict[str, str] = {
    Verdict.AUTHORIZED: "the room is on record as allowed to use this person's likeness",
    Verdict.UNAUTHORIZED: "a registered person's face is used in a room with no valid authorization",
    Verdict.SYNTHETIC: "the face shows signs of being AI-generated (face swap or AI digital human)",
    Verdict.EFFECTS: "the face shows signs of a beauty filter, face sticker or pasted photo",
    Verdict.REPLAY: (
        "earlier video is presented as live: known past footage of this person re-broadcast, or the stream "
        "repeating its own earlier part (a loop)"
    ),
    Verdict.CONCURRENT: (
        "the same person is on screen in another room at the same time (within seconds), so at most one can be real"
    ),
}


# Why a watched room sent no frames for a while (settings.rooms[].interruptions[].cause, docs/watch.md), in words;
# a cause this version does not know is shown by its name alone.
INTERRUPTION_CAUSES = {
    "stalled": "the connection stayed open but sent no frames",
    "dropped": "the connection ended",
}


@dataclass(frozen=True)
class FailPolicy:
    """Which appearances make a scan 'fail' (exit code 1, a JUnit failure)."""

    verdicts: frozenset[str]
    any_identity: bool

    def matches(self, appearance: Appearance) -> bool:
        return self.any_identity or bool(self.verdicts.intersection(appearance.verdicts))

    def selects_source(self, source: SourceResult) -> bool:
        """A source's own verdicts chosen by --fail-on (a stream that loops itself is `likely-replay` with no
        appearance of it: any identity is a matter for the appearances)."""
        return bool(self.verdicts.intersection(source.verdicts))

    def describe(self) -> str:
        if self.any_identity:
            return FAIL_ON_ANY
        return ",".join(sorted(self.verdicts)) or FAIL_ON_NONE


# Today's behaviour: any registered identity found fails.
DEFAULT_FAIL_POLICY = FailPolicy(frozenset(), any_identity=True)


def parse_fail_on(values: list[str] | None) -> FailPolicy:
    """`--fail-on` values, repeatable and comma-separated, into a policy; no values keeps the default. An empty
    value or item is refused: `--fail-on "$UNSET"` read as the default, `any`, without a word."""
    choices = ", ".join(FAIL_ON_CHOICES)
    words: list[str] = []
    for value in values or []:
        items = [w.strip().lower() for w in value.split(",")]
        if "" in items:
            raise UserError(f"--fail-on: an empty choice in {value!r}; choose from {choices}")
        words += items
    if not words:
        return DEFAULT_FAIL_POLICY
    known = set(FAIL_ON_CHOICES) | set(FAIL_ON_VERDICTS.values())
    unknown = [w for w in words if w not in known]
    if unknown:
        raise UserError(f"--fail-on: unknown choice {unknown[0]!r}; choose from {choices}")
    if FAIL_ON_NONE in words and len(set(words)) > 1:
        raise UserError("--fail-on: 'none' cannot be combined with other choices")
    verdicts = frozenset(FAIL_ON_VERDICTS.get(w, w) for w in words if w not in (FAIL_ON_ANY, FAIL_ON_NONE))
    return FailPolicy(verdicts, any_identity=FAIL_ON_ANY in words)


@dataclass(frozen=True)
class ReportInput:
    """A scan result with what the documents add from elsewhere: the gallery's reference photos and
    authorizations (None when no gallery was given)."""

    result: ScanResult
    result_path: Path
    references: dict[str, bytes] = dataclasses.field(default_factory=dict)
    authorizations: list[Authorization] | None = None
    caveat: str | None = None  # what the documents must say of the result as a whole (`withdraw_retired_verdicts`)

    @property
    def result_dir(self) -> Path:
        return self.result_path.parent


def read_report_input(result_path: Path, gallery_path: Path | None) -> ReportInput:
    """The result file, plus reference photos and authorizations of the people in it from the gallery. Rooms are
    spelt as the gallery's (io/rooms.py canonical_room): a result written before may hold Douyin:1."""
    result = ScanResult.load(result_path)
    caveat = withdraw_retired_verdicts(result, result_path.name)
    items: list[SourceResult | Appearance] = [*result.sources, *result.appearances]
    for item in items:
        item.room = item.room if item.room is None else canonical_room(item.room)
    if gallery_path is None:
        return ReportInput(result, result_path, caveat=caveat)
    if not gallery_path.exists():  # a folder or a device: Gallery says which (both were "no such gallery file")
        raise UserError(f"{gallery_path}: no such gallery file")
    # One snapshot: a grant or removal committed between the photos and the grants is in the report whole or not.
    with Gallery(gallery_path, create=False, read_only=True) as gallery, gallery.snapshot():
        references = {name: photo for name in result.identities if (photo := _reference_photo(gallery, name))}
        grants = [grant for name in result.identities for grant in _grants_of(gallery, name)]
        return ReportInput(result, result_path, references, grants, caveat)


# Scan format 1.3 brought the trained face-forgery model; before it, these verdicts were raised by hand-made cues
# (landmark dynamics, skin flatness) that accused real footage, an authorized seller's room among them, and were
# withdrawn (docs/verdicts.md).
RETIRED_VERDICTS = (Verdict.SYNTHETIC, Verdict.EFFECTS)
FORGERY_MODEL_SCHEMA = "1.3"


def withdraw_retired_verdicts(result: ScanResult, name: str) -> str | None:
    """Take out of a result of scan format 1.0-1.2 (named `name`) the verdicts raised by rules since withdrawn
    (RETIRED_VERDICTS), with their reasons; what the documents must say of it, or None where none were there. A
    report of such a result drafted takedowns of an authorized room for 'likely-synthetic ... landmark_dynamics',
    which a scan now does not raise."""
    if schema_minor(result.schema_version) >= schema_minor(FORGERY_MODEL_SCHEMA):
        return None
    retired = set(RETIRED_VERDICTS)
    # Counted by appearance, and by source only for what none of its appearances carried: a source's verdicts
    # repeat its appearances', and counted both, one verdict was 'its 2'.
    appearances = [a for a in result.appearances if retired & set(a.verdicts)]
    sources = [s for s in result.sources if retired & set(own_verdicts(s, result.appearances_of(s)))]
    prefixes = tuple(f"{verdict}:" for verdict in RETIRED_VERDICTS)
    judged: list[SourceResult | Appearance] = [*result.sources, *result.appearances]
    for item in judged:
        item.verdicts = [verdict for verdict in item.verdicts if verdict not in retired]
    for appearance in result.appearances:
        appearance.reasons = [reason for reason in appearance.reasons if not reason.startswith(prefixes)]
    if not appearances and not sources:
        return None
    whose = f"{len(appearances)} appearance(s)" + (f" and {len(sources)} source(s) on their own" if sources else "")
    return (
        f"{name} was written by scan format {result.schema_version}: the likely-synthetic and likely-effects "
        f"verdicts of its {whose} rested on hand-made cues withdrawn in format {FORGERY_MODEL_SCHEMA} for "
        "accusing real footage, and are left out (scan the recordings again to judge manipulation)"
    )


def _grants_of(gallery: Gallery, name: str) -> list[Authorization]:
    """The grants of the person a result names `name`, under that name: a result may name them by an alias (a
    grant stored under the registered name was not found, and the draft said no room was authorized)."""
    try:
        return [dataclasses.replace(grant, person=name) for grant in gallery.authorizations(name)]
    except (GalleryError, UnicodeEncodeError):  # not in this gallery; a lone surrogate no gallery name holds
        return []


def _reference_photo(gallery: Gallery, name: str) -> bytes | None:
    try:
        return gallery.best_thumbnail(name)
    except GalleryError:  # found by a scan against another gallery: no photo to show
        return None
    except UnicodeEncodeError:  # a lone surrogate ('\ud800', hand-edited): no gallery name holds one
        return None


def source_names(result: ScanResult) -> dict[str, str]:
    """Each source as tables and timelines name it: its file name, or as many of its last path parts as tell it
    from the other sources of that name (`roomA/clip.jpg`, `roomB/clip.jpg`: both rows read `clip.jpg`)."""
    sources = dict.fromkeys([*(s.source for s in result.sources), *(a.source for a in result.appearances)])
    # Split as shown: a stream's password or token never reaches a name (io/urls.py).
    paths = {source: Path(shown_source(source)).parts or (source,) for source in sources}
    depth = dict.fromkeys(paths, 1)
    while True:
        shown = {source: Path(*parts[-depth[source] :]).as_posix() for source, parts in paths.items()}
        sharing: dict[str, list[str]] = {}
        for source, name in shown.items():
            sharing.setdefault(name, []).append(source)
        deeper = [s for group in sharing.values() if len(group) > 1 for s in group if depth[s] < len(paths[s])]
        if not deeper:
            return shown
        for source in deeper:
            depth[source] += 1


def read_sources(result: ScanResult) -> list[SourceResult]:
    """The sources the scan read, wholly or in part: those a summary counts as scanned and shows a timeline of
    ('No registered person seen' of a source nobody looked at would be false). Not read: one that could not be
    opened, and one an interrupted scan never reached. One it stopped in keeps what was read of it (schema 1.9):
    its panel was left out, and with it the bars and the loop that its findings and risk were about."""
    return [s for s in result.sources if s.status != "unreadable" and not _never_reached(s)]


def _never_reached(source: SourceResult) -> bool:
    return source.status == "interrupted" and source.frames_sampled == 0


def is_flagged(appearance: Appearance) -> bool:
    """Worth an analyst's attention: anything but a plain authorized appearance (unjudged ones included)."""
    return not appearance.verdicts or any(v != Verdict.AUTHORIZED for v in appearance.verdicts)


def flagged_by_source(result: ScanResult) -> list[tuple[SourceResult, list[Appearance]]]:
    """Each source with flagged appearances, in scan order, with those appearances in time order; a source
    flagged on its own (`own_verdicts`: a stream that loops itself) with all its appearances."""
    groups = []
    for source in result.sources:
        found = sorted(result.appearances_of(source), key=lambda a: a.start_s)
        flagged = [a for a in found if is_flagged(a)] or (found if own_verdicts(source, found) else [])
        if flagged:
            groups.append((source, flagged))
    return groups


def takedown_grounds(appearance: Appearance) -> bool:
    """Whether a flagged appearance is grounds for a takedown of its own room. `concurrent` flags every room
    the person is in at once, the authorized one too; there, with nothing else found, the person may well be
    live, and a notice would ask the platform to take down the rights holder's own broadcast."""
    verdicts = set(appearance.verdicts)
    only_elsewhere = Verdict.AUTHORIZED in verdicts and verdicts <= {Verdict.AUTHORIZED, Verdict.CONCURRENT}
    return is_flagged(appearance) and not only_elsewhere


def verdicts_against_room(appearance: Appearance) -> list[str]:
    """The verdicts of an appearance a draft to its room puts to the platform: of an authorized appearance,
    neither `authorized` nor `concurrent` (grounds against the other rooms). A draft to an authorized room
    flagged for a loop listed both as its findings, and asked that they be taken down as not covered by the
    authorization."""
    if Verdict.AUTHORIZED not in appearance.verdicts:
        return list(appearance.verdicts)
    return [v for v in appearance.verdicts if v not in (Verdict.AUTHORIZED, Verdict.CONCURRENT)]


def takedown_by_source(result: ScanResult) -> list[tuple[SourceResult, list[Appearance]]]:
    """`flagged_by_source` less the appearances that are no grounds for a takedown of their room; a source
    left with none is dropped, unless it is flagged on its own (a loop), which is a finding about the room."""
    groups = []
    for source, flagged in flagged_by_source(result):
        grounds = [a for a in flagged if takedown_grounds(a)]
        if grounds or own_verdicts(source, result.appearances_of(source)):
            groups.append((source, grounds or flagged))
    return groups


def own_verdicts(source: SourceResult, appearances: list[Appearance]) -> list[str]:
    """The verdicts a source has of its own, beyond its appearances': replay or loop found in the stream
    itself, and (with `flag_unmatched_faces`) manipulated faces of people who matched nobody."""
    carried = {v for a in appearances if a.source == source.source for v in a.verdicts}
    return [v for v in source.verdicts if v not in carried]


def source_reasons(source: SourceResult, own: list[str]) -> list[str]:
    """Why a source is flagged on its own (`own`, from `own_verdicts`): the stream-level signals behind those
    verdicts that found something, explained. Its other signals (the cues of its strongest faces) are no reason."""
    behind = {name for verdict in own for name in SOURCE_SIGNALS.get(verdict, ())}
    return [
        f"{name} {signal.score:.2f}: {signal.explanation}"
        for name, signal in source.signals.items()
        if name in behind and signal.score
    ]


def score_words(score: float) -> str:
    """How strong a 0..1 signal score is, in words a reader of a notice understands."""
    if score >= 0.8:
        return "strong sign"
    if score >= 0.5:
        return "moderate sign"
    if score >= 0.2:
        return "weak sign"
    return "no clear sign"


# The `[verdicts]` setting that overrides a trained-detector signal's own threshold, by signal.
CONFIGURED_THRESHOLDS = {
    "synthetic": "synthetic_probability",
    "face_forgery": "synthetic_probability",
    "effects": "effects_probability",
    "face_effects": "effects_probability",
}


def signal_words(signal: SignalScore, settings: dict[str, Any] | None = None) -> str:
    """`score_words`, but against the signal's own threshold where it has one (the trained detector's): its
    thresholds sit above every real face measured, so 0.68 on a real press photo is no "moderate sign". Where
    the result's `[verdicts]` set another (`settings`, the result's), that one: a face flagged at 0.11 by a
    configured 0.10 was worded 'below the detector's threshold 0.96, a range real faces score in too'."""
    threshold = signal.details.get("threshold")
    if not isinstance(threshold, int | float) or isinstance(threshold, bool) or not abs(threshold) < 1e300:
        return score_words(signal.score)
    key = CONFIGURED_THRESHOLDS.get(signal.name, "")
    configured = configured_probability(setting(settings or {}, "config", "verdicts", key))
    if configured is not None:
        side = "at or above" if signal.score >= configured else "below"
        return f"{side} the threshold set in force, {configured:.2f} (the detector's own: {threshold:.2f})"
    if signal.score >= threshold:
        return f"at or above the detector's threshold {threshold:.2f}"
    return f"below the detector's threshold {threshold:.2f}, a range real faces score in too"


def verdict_meaning(verdict: str) -> str:
    return VERDICT_MEANINGS.get(verdict, "a finding recorded by the scan")


def setting(settings: dict[str, Any], *keys: str) -> Any:
    """A value nested in a result's settings, or None where any level is missing or not a table."""
    return nested_setting(settings, keys)


def wallclock_text(value: str | None) -> str | None:
    """An ISO time as 'YYYY-MM-DD HH:MM:SS.ss +HHMM' for people (hundredths only where the time has a fraction:
    cut to whole seconds, an appearance of 02.51-04.01 read as 2 s beside its stream times' 1.5, and a grant's
    covered stretch read '20:00:03 to 20:00:03'); text that does not parse is shown as it is."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    hundredths = moment.microsecond // 10_000
    fraction = f".{hundredths:02d}" if hundredths else ""
    return f"{moment.strftime('%Y-%m-%d %H:%M:%S')}{fraction} {moment.strftime('%z')}".strip()


@dataclass(frozen=True)
class Silence:
    """A stretch in which a watched room sent no frames, as people read it (times by `wallclock_text`)."""

    start: str  # '?' where the result records none
    end: str | None  # None: the room was still silent when its reading ended (the watch stopped or gave it up)
    seconds: float | None
    cause: str
    error: str | None

    @property
    def duration(self) -> str:
        """'4.31 s'; '' where the result records no number."""
        return f"{self.seconds:.2f} s" if self.seconds is not None else ""

    @property
    def why(self) -> str:
        """'stalled (the connection stayed open but sent no frames)', 'dropped (the connection ended: its error)'."""
        words = ": ".join(w for w in (INTERRUPTION_CAUSES.get(self.cause), self.error) if w)
        return f"{self.cause} ({words})" if words else self.cause


@dataclass(frozen=True)
class ObservedLive:
    """When a watched room was live: its first and last frame, and the interruptions between them."""

    first: str
    last: str
    interruptions: list[Silence]

    @property
    def counted(self) -> str:
        """'no interruptions', '1 interruption', '3 interruptions'."""
        count = len(self.interruptions)
        return "no interruptions" if not count else f"{count} interruption{'s' if count > 1 else ''}"


def observed_live(result: ScanResult, source: SourceResult) -> ObservedLive | None:
    """When a watched room (`source`) was live, from its record in the watch summary's `settings.rooms` (schema
    1.5: `first_frame_at`, `last_frame_at`, `interruptions`; docs/watch.md). None for a scan of files, for a
    result of an earlier version, and for a room that never sent a frame. The record is untrusted JSON like the
    rest: values of another type are shown as not recorded, never guessed."""
    rooms = setting(result.settings, "rooms")
    if setting(result.settings, "mode") != "watch" or not isinstance(rooms, list):
        return None
    for record in rooms:
        if not isinstance(record, dict) or _shown_url(record.get("url")) != source.source:
            continue
        if canonical_room(_shown_url(record.get("room")) or "") != canonical_room(source.room or source.source):
            continue
        first, gaps = _time(record.get("first_frame_at")), record.get("interruptions")
        if first is None or not isinstance(gaps, list):
            return None
        silences = [_silence(gap if isinstance(gap, dict) else {}) for gap in gaps]
        return ObservedLive(first, _time(record.get("last_frame_at")) or "?", silences)
    return None


def _shown_url(value: Any) -> str | None:
    """A URL (or room) of a settings record as the result's sources show it (an earlier version wrote it in full)."""
    return shown_source(value) if isinstance(value, str) else None


def _time(value: Any) -> str | None:
    return wallclock_text(value) if isinstance(value, str) else None


def _silence(gap: dict[str, Any]) -> Silence:
    seconds = gap.get("seconds")
    if not isinstance(seconds, int | float) or isinstance(seconds, bool) or not abs(seconds) < 1e300:
        seconds = None
    cause, error = gap.get("cause"), gap.get("error")
    return Silence(
        start=_time(gap.get("start")) or "?",
        end=_time(gap.get("end")),
        seconds=None if seconds is None else float(seconds),
        cause=cause if isinstance(cause, str) else "not recorded",
        error=shown_message(error) if isinstance(error, str) and error else None,
    )
