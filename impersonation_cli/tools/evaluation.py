"""Measuring the tool on labelled cases (`eval MANIFEST`) and fitting the match threshold (`gallery calibrate`).

A manifest (YAML) lists cases (a source, its room and start time, the identities and verdict labels
expected on it, the dataset `group` it belongs to; or a folder, one such case per media file in it),
optionally people to enrol into a temporary gallery, known footage for the replay library, and a
`breakdown`: which groups of fakes are measured against which groups of real footage. `run_evaluation`
scans every case; `class_metrics`, `signal_aucs` and `group_aucs` turn the results into precision/recall
per verdict class, ROC AUC per manipulation signal and AUC per dataset, all per source, each AUC with a
bootstrap 95% interval.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import yaml

from impersonation_cli.config import BOUNDS, Config, config_path, write_match_threshold
from impersonation_cli.errors import (
    MAX_MANIFEST_BYTES,
    MAX_SCAN_FPS,
    UserError,
    check_rate,
    read_settings_text,
    unknown_keys,
)
from impersonation_cli.gallery.enrol import reference_from_image
from impersonation_cli.gallery.store import Gallery, GalleryIndex, name_key
from impersonation_cli.io.atomic_write import text_bytes, write_files_atomic
from impersonation_cli.io.names import shown_name
from impersonation_cli.io.rooms import NoAliasLoader, Room, parse_time, validate_room
from impersonation_cli.io.sources import expand_inputs, is_stream_url, source_key
from impersonation_cli.io.urls import redact_url
from impersonation_cli.outputs.files import check_outputs
from impersonation_cli.pipeline.scan import ScanContext, add_concurrency, models_in_use, scan_source
from impersonation_cli.pipeline.signals.replay import FootageIndex, add_footage
from impersonation_cli.results import Appearance, SourceResult, Verdict
from impersonation_cli.runtime.engine import FaceEngine
from impersonation_cli.runtime.host import this_host
from impersonation_cli.tools.pair_scores import GenuinePairs, ImpostorScores, score_pairs

MANIPULATION_CLASSES = (Verdict.SYNTHETIC, Verdict.EFFECTS, Verdict.REPLAY)
# The class score each manipulation verdict is raised on (the per-dataset breakdown ranks sources by it).
CLASS_SIGNALS: dict[str, str] = {Verdict.SYNTHETIC: "synthetic", Verdict.EFFECTS: "effects"}
# The bootstrap behind every AUC interval: sources resampled with replacement, fakes and reals separately.
BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP_SEED = 0
INTERVAL_LEVEL = 0.95

# -- calibration -------------------------------------------------------------------------------------


# The impostor scores' quantiles `gallery calibrate` shows.
SHOWN_QUANTILES = (0.5, 0.9, 0.99, 0.999)


@dataclass(frozen=True)
class Calibration:
    threshold: float
    target_fmr: float
    impostor: ImpostorScores  # cross-identity reference similarities, summarised
    genuine: GenuinePairs  # same-identity reference similarities, and whose
    impostor_quantiles: tuple[float, ...]  # at SHOWN_QUANTILES
    achieved_fmr: float  # the share of impostor pairs the threshold lets match

    @property
    def resolvable(self) -> bool:
        """Whether the gallery has enough impostor pairs to measure a rate as small as the target."""
        return self.impostor.count * self.target_fmr >= 1.0


# The smallest false-match rate asked for: measuring it takes a trillion impostor pairs, more than any gallery
# holds. 1e-320 ended in 'internal error: OverflowError' (1 / 1e-320 is infinite), 1e-300 printed a 301-digit count.
MIN_TARGET_FMR = 1e-12


def calibrate(index: GalleryIndex, target_fmr: float) -> Calibration:
    """The lowest threshold (4 decimals) at which at most `target_fmr` of impostor pairs match."""
    if len(index.names) < 2:
        raise UserError("calibration needs at least two people in the gallery (impostor pairs are cross-identity)")
    if not MIN_TARGET_FMR <= target_fmr < 1:
        raise UserError(f"--target-fmr must be at least {MIN_TARGET_FMR:g} and below 1 (for example 0.001)")
    impostor, genuine = score_pairs(index)
    if not impostor.count:
        raise UserError("calibration needs reference faces of at least two people (impostor pairs are cross-identity)")
    allowed = int(np.floor(target_fmr * impostor.count))
    # The highest impostor score that must not match (`allowed` of them may), and the quantiles shown, in one pass.
    must_not_match = impostor.ranked([impostor.count - 1 - allowed, *impostor.quantile_ranks(SHOWN_QUANTILES)])[0]
    # Just above it.
    threshold = float(np.ceil((must_not_match + 1e-6) * 10_000) / 10_000)
    achieved = impostor.at_least(threshold) / impostor.count
    quantiles = tuple(impostor.quantiles(SHOWN_QUANTILES))
    return Calibration(threshold, target_fmr, impostor, genuine, quantiles, achieved)


def calibrate_gallery(gallery: Path, target_fmr: float, write: Path | None = None) -> Calibration:
    """`calibrate` on the references of the gallery at `gallery` (which must exist), read-only.

    Args:
        gallery: the gallery SQLite file.
        target_fmr: share of different-person pairs allowed to match, between 0 and 1.
        write: the config file the threshold is to be written to (`write_calibration`, after showing the
            result): refused here, before any work, if it is the gallery.

    Raises:
        UserError: `write` names the gallery, a gallery that is missing or unreadable, fewer than two people in
            it, a target outside [MIN_TARGET_FMR, 1).
    """
    check_outputs({"--write": write}, [gallery])
    with Gallery(gallery, create=False, read_only=True) as store:
        index = store.index()
    return calibrate(index, target_fmr)


def rejected_genuine(result: Calibration) -> str | None:
    """Said when the threshold rejects most of their own reference pairs for most of the people who have such
    pairs: scans with it would miss most of them, so it is never written (`write_calibration`). A gallery of
    stranger-like references wrote one rejecting 99% of them, only printed as a share. Judged by people, not
    pairs: one person of 40 references has 780 pairs, more than 200 people of two references each."""
    pairs = result.genuine
    if not len(pairs.scores):
        return None
    owners, whose = np.unique(pairs.owners, return_inverse=True)
    rejected_share = np.bincount(whose, weights=pairs.scores < result.threshold) / np.bincount(whose)
    missed = int(np.sum(rejected_share > 0.5))
    if missed <= len(owners) / 2:
        return None
    return (
        f"threshold {result.threshold:.4f} rejects most of their own reference pairs for {missed} of the "
        f"{len(owners)} people with two or more references (best pair {pairs.scores.max():.3f}): scans would miss "
        "most of them; different people score as high as one person's own photos (lookalikes, mislabelled or poor "
        "photos)"
    )


def unusable_threshold(result: Calibration) -> str | None:
    """Why the calibrated threshold is not to be written: no config takes it (`config.BOUNDS`; written, every scan
    with that config stopped), it rejects most genuine pairs (`rejected_genuine`), or too few impostor pairs to
    measure the target rate (`Calibration.resolvable`); None when it is usable."""
    bounds, threshold = BOUNDS["match"]["threshold"], result.threshold
    if bounds.too_low(threshold) and result.achieved_fmr > 0:
        return (
            f"threshold {threshold:.4f} is not above {bounds.low:g}, as a [match] threshold must be: a rate of "
            f"{result.target_fmr:g} lets pairs of different people scoring down to it match; ask for a smaller "
            "--target-fmr"
        )
    if bounds.too_low(threshold):
        return (
            f"threshold {threshold:.4f} is not above {bounds.low:g}, as a [match] threshold must be: all "
            f"{result.impostor.count} impostor pairs (different people) score below it, too few or too unlike to "
            "calibrate on; enrol more people"
        )
    if bounds.too_high(threshold):
        return (
            f"threshold {threshold:.4f} is above {bounds.high:g}, the highest [match] threshold a config takes: two "
            f"different people's photos score {result.impostor.max:.3f}, the same face (one photo enrolled under "
            "two names?)"
        )
    if (rejected := rejected_genuine(result)) is not None:
        return rejected
    if not result.resolvable:
        # Six people's 41 pairs gave 0.1397 for 0.001, written: a stranger's face in a group photo then matched
        # (0.16) where the default 0.40 matched nobody.
        return (
            f"{result.impostor.count} impostor pairs (different people) cannot measure a rate of {result.target_fmr:g} "
            f"(at least {math.ceil(1 / result.target_fmr)} are needed): the threshold {result.threshold:.4f} only "
            "clears the pairs seen, and strangers may score above it; enrol more people, or ask for a larger rate"
        )
    return None


def write_calibration(path: Path, result: Calibration) -> None:
    """Set `[match] threshold` in the TOML file `path` to the calibrated threshold, or refuse (UserError) one that
    is unusable (`unusable_threshold`), leaving the file as it was."""
    if problem := unusable_threshold(result):
        raise UserError(f"{problem}; not written to {path}")
    write_match_threshold(path, result.threshold)


# -- manifest ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EvalPerson:
    name: str
    images: list[Path]
    authorized_rooms: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class EvalCase:
    source: str
    room: str | None
    started_at: datetime | None
    expected_identities: list[str]
    expected_flags: list[str]
    label: str
    group: str = ""


@dataclass(frozen=True)
class Breakdown:
    """One row of the per-dataset table: the sources of the `positives` groups ranked against those of the
    `negatives` groups by the class's score. A group pattern names a group or, ending in '/', every group
    under it; with no positives the row only counts the class's flags on the negatives."""

    name: str
    verdict_class: str
    positives: list[str]
    negatives: list[str]


@dataclass(frozen=True)
class Manifest:
    path: Path
    gallery: list[EvalPerson]
    footage: dict[str, list[Path]]
    cases: list[EvalCase]
    breakdown: list[Breakdown] = field(default_factory=list)

    @property
    def files(self) -> list[Path]:
        """Every file the manifest names (case sources, photos, footage): inputs an output must not overwrite."""
        sources = [Path(case.source) for case in self.cases]  # recordings only: _case refuses stream URLs
        photos = [image for person in self.gallery for image in person.images]
        return [*sources, *photos, *(video for videos in self.footage.values() for video in videos)]


# The keys each part of a manifest may hold: a misspelt key (`expected_flag:`) would otherwise be ignored and
# the case measured against labels nobody meant.
MANIFEST_KEYS = {"gallery", "footage", "cases", "breakdown"}
PERSON_KEYS = {"name", "images", "authorized_rooms"}
FOOTAGE_KEYS = {"name", "videos"}
CASE_KEYS = {"source", "folder", "room", "started_at", "expected_identities", "expected_flags", "label", "group"}
BREAKDOWN_KEYS = {"name", "class", "positives", "negatives"}


def _list_of_str(value: Any, where: str) -> list[str]:
    if value is None:
        return []
    # Every plain YAML value is read as text (`group: 2024` is the text 2024): what is not is a list or a mapping.
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise UserError(f"{where} must be a list of strings")
    return value


def _text(item: dict, key: str, where: str) -> str:
    """An optional text value of an entry ('' when absent or empty)."""
    value = item.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise UserError(f"{where} {key} must be a string, not {type(value).__name__}")
    return value


def _entry(item: Any, number: int, what: str, keys: set[str], *required: str) -> tuple[dict, str]:
    """One entry of a manifest list, with one of its `required` keys set and no key outside `keys`; (entry, where)."""
    where = f"{what} {number}"
    if not isinstance(item, dict) or not any(item.get(key) for key in required):
        keys_named = " or a ".join(f"'{key}'" for key in required)
        raise UserError(f"{where} needs a {keys_named}")
    _only_keys(item, keys, where)
    return item, where


def _only_keys(item: dict, keys: set[str], where: str) -> None:
    unknown = unknown_keys(item, keys)
    if unknown:
        raise UserError(f"{where} has unknown keys: {', '.join(unknown)} (known: {', '.join(sorted(keys))})")


def _entries(document: dict, key: str, path: Path) -> list:
    value = document.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise UserError(f"manifest {path}: '{key}' must be a list of entries, not {type(value).__name__}")
    return value


def _existing(folder: Path, name: str, where: str) -> Path:
    """A file the manifest names, relative to its folder. A URL (io.sources.is_stream_url) is refused: it was read as
    a path, "<folder>/rtmp:/user:secret@host/live does not exist", its password shown; eval measures recordings."""
    if is_stream_url(name):
        raise UserError(f"{where}: {redact_url(name)} is a URL; eval reads files, relative to the manifest")
    # Made absolute by its text, not resolve(): a symlink is the file it was named as (followed, two cases naming
    # links to one clip were both written and shown as its target), as in rooms files and scans.
    path = Path(name) if Path(name).is_absolute() else Path(os.path.abspath(folder / name))
    if not path.exists():
        raise UserError(f"{where}: {path} does not exist")
    return path


@dataclass(frozen=True)
class CaseEntry:
    """One entry of a manifest's `cases`: a case (`source`), or a `folder` and the case each of its media files
    makes, `case` then holding the entry's keys with the folder as its source."""

    number: int
    case: EvalCase
    files: list[str] | None = None  # a folder entry's media files, as `scan FOLDER` finds them

    def cases(self) -> list[EvalCase]:
        """The entry's cases: a folder's file is labelled, unless the entry gives a label, by its path in the folder."""
        if self.files is None:
            return [self.case]
        return [
            dataclasses.replace(self.case, source=f, label=self.case.label or os.path.relpath(f, self.case.source))
            for f in self.files
        ]


def _case(folder: Path, raw: Any, number: int) -> CaseEntry:
    item, where = _entry(raw, number, "case", CASE_KEYS, "source", "folder")
    if "source" in item and "folder" in item:
        raise UserError(f"{where} has both a 'source' and a 'folder': a case is one file, or one per file in a folder")
    flags = _list_of_str(item.get("expected_flags"), f"{where} expected_flags")
    unknown = sorted(set(flags) - set(Verdict))
    if unknown:
        raise UserError(f"{where}: unknown expected flag(s) {', '.join(unknown)} (known: {', '.join(Verdict)})")
    room = _text(item, "room", where)
    key = "folder" if "folder" in item else "source"
    path = _existing(folder, _text(item, key, where), where)
    case = EvalCase(
        source=str(path),
        room=validate_room(room) if room else None,
        started_at=parse_time(item.get("started_at"), f"{where} started_at"),
        expected_identities=_list_of_str(item.get("expected_identities"), f"{where} expected_identities"),
        expected_flags=flags,
        label=_text(item, "label", where),
        group=_text(item, "group", where),
    )
    if key == "source":
        if path.is_dir():  # scanned, it was an unread case scored 0 in the figures
            raise UserError(f"{where}: {path} is a folder: name it as the 'folder' of a case")
        return CaseEntry(number, case)
    if path.is_file():
        raise UserError(f"{where}: {path} is a file: name it as the 'source' of a case")
    files, problems = expand_inputs([str(path)])  # recursively, by scan's extensions, sorted
    if problems:
        raise UserError(f"{where}: {path}: {problems[0].message}")
    return CaseEntry(number, case, files)


def _cases(entries: list[CaseEntry]) -> list[EvalCase]:
    """The manifest's cases in its order, a folder entry's where it stands. A file a `source` case names is that
    case only, not also one of its folder's (as `scan FOLDER FILE` lists it where it is named); a file two folder
    entries reach, and no case names, is refused: which entry's labels it takes would be a guess."""
    named: dict[str, int] = {}
    for entry in (e for e in entries if e.files is None):
        first = named.setdefault(source_key(entry.case.source), entry.number)
        if first != entry.number:  # counted twice, and as a fake and a real at once where the labels differ
            raise UserError(f"case {entry.number}: {entry.case.source} is case {first}'s file too; name it once")
    reached: dict[str, int] = {}
    cases = []
    for entry in entries:
        for case in entry.cases():
            key = source_key(case.source)
            if entry.files is not None:
                if key in named:
                    continue
                if reached.setdefault(key, entry.number) != entry.number:
                    raise UserError(
                        f"case {entry.number}: {case.source} is also in case {reached[key]}'s folder; name it in a "
                        "case of its own (that case is the file's)"
                    )
            cases.append(case)
    return cases


def _check_names(people: list[EvalPerson], footage: dict[str, list[Path]], entries: list[CaseEntry]) -> None:
    """Every person a case expects or footage belongs to is one of the manifest's gallery, the only people eval
    registers: a misspelt expected identity was a miss counted against recall, and footage of someone not there
    was refused naming a temporary gallery's path."""
    known = {name_key(p.name): p.name for p in people}
    registered = f"the manifest's gallery has {', '.join(map(repr, known.values()))}" if known else "it has no gallery"
    for entry in entries:
        for name in entry.case.expected_identities:
            if name_key(name) not in known:  # as identity_metric compares them
                raise UserError(f"case {entry.number} expects {name!r}, who can never be found: {registered}")
    for name in footage:
        if name_key(name) not in known:
            raise UserError(f"footage of {name!r}, who is not registered: {registered}")


def in_group(group: str, pattern: str) -> bool:
    """A group pattern names one group, or every group under it when it ends in '/'."""
    return group.startswith(pattern) if pattern.endswith("/") else group == pattern


def _breakdown(raw: Any, number: int, groups: set[str]) -> Breakdown:
    item, where = _entry(raw, number, "breakdown entry", BREAKDOWN_KEYS, "name")
    verdict_class = _text(item, "class", where) or Verdict.SYNTHETIC
    if verdict_class not in CLASS_SIGNALS:
        raise UserError(f"{where}: class must be one of {', '.join(CLASS_SIGNALS)}")
    patterns = {k: _list_of_str(item.get(k), f"{where} {k}") for k in ("positives", "negatives")}
    if not patterns["negatives"]:
        raise UserError(f"{where} needs 'negatives' (groups of real footage)")
    for pattern in patterns["positives"] + patterns["negatives"]:
        if not any(in_group(g, pattern) for g in groups):
            raise UserError(f"{where}: no case is in group {pattern!r}")
    return Breakdown(_text(item, "name", where), verdict_class, patterns["positives"], patterns["negatives"])


def _person(folder: Path, raw: Any, number: int) -> EvalPerson:
    item, where = _entry(raw, number, "gallery entry", PERSON_KEYS, "name")
    images = [_existing(folder, p, where) for p in _list_of_str(item.get("images"), f"{where} images")]
    rooms = [validate_room(r) for r in _list_of_str(item.get("authorized_rooms"), f"{where} authorized_rooms")]
    return EvalPerson(_text(item, "name", where), images, rooms)


def _footage(folder: Path, entries: list) -> dict[str, list[Path]]:
    footage: dict[str, list[Path]] = {}
    for number, raw in enumerate(entries, start=1):
        item, where = _entry(raw, number, "footage entry", FOOTAGE_KEYS, "name")
        videos = _list_of_str(item.get("videos"), f"{where} videos")
        footage.setdefault(_text(item, "name", where), []).extend(_existing(folder, v, where) for v in videos)
    return footage


def load_manifest(path: Path) -> Manifest:
    """Read and check an `eval` manifest: every mistake is a one-line UserError naming the entry and key."""
    try:
        # Safe YAML read as the text written, a key given twice in one mapping refused (rooms.TextLoader), aliases
        # (*name) refused: a list of names reused by every case made the name checks' work grow with its square.
        document = yaml.load(read_settings_text(path, "manifest", MAX_MANIFEST_BYTES), Loader=NoAliasLoader)
    except yaml.YAMLError as exc:
        raise UserError(f"manifest {path} is not valid YAML: {str(exc).splitlines()[0]}") from exc
    except RecursionError as exc:  # as a config or rooms file: was an internal error (exit 4)
        raise UserError(f"manifest {path} is not valid YAML: nested too deeply") from exc
    if not isinstance(document, dict) or not isinstance(document.get("cases"), list) or not document["cases"]:
        raise UserError(f"manifest {path} needs a non-empty list under 'cases'")
    _only_keys(document, MANIFEST_KEYS, f"manifest {path}")
    folder = path.resolve().parent
    people = [_person(folder, item, n) for n, item in enumerate(_entries(document, "gallery", path), start=1)]
    footage = _footage(folder, _entries(document, "footage", path))
    entries = [_case(folder, item, n) for n, item in enumerate(document["cases"], start=1)]
    _check_names(people, footage, entries)
    cases = _cases(entries)
    groups = {c.group for c in cases}
    rows = [_breakdown(item, n, groups) for n, item in enumerate(_entries(document, "breakdown", path), start=1)]
    return Manifest(path, people, footage, cases, rows)


# -- running -----------------------------------------------------------------------------------------


@dataclass
class CaseOutcome:
    case: EvalCase
    result: SourceResult
    appearances: list[Appearance]

    @property
    def found_identities(self) -> set[str]:
        return {a.identity for a in self.appearances}

    @property
    def measured(self) -> list[SourceResult | Appearance]:
        """The source and its appearances: each carries signals."""
        return [self.result, *self.appearances]

    @property
    def verdicts(self) -> set[str]:
        """The source's verdicts and every verdict of its appearances (concurrency is judged after the source)."""
        return set(self.result.verdicts) | {v for a in self.appearances for v in a.verdicts}

    def score(self, signal: str) -> float:
        """The strongest value of a signal over the source and its appearances (0 when never measured)."""
        values = [s.signals[signal].score for s in self.measured if signal in s.signals]
        return max(values, default=0.0)

    def judged(self, signal: str) -> bool:
        """Whether any face of the source could be judged on the signal (a face too small, or no model, cannot)."""
        return any(s.signals[signal].judged for s in self.measured if signal in s.signals)


def _enrol(store: Gallery, engine: FaceEngine, people: list[EvalPerson]) -> None:
    for person in people:
        outcomes = [reference_from_image(engine, image) for image in person.images]
        references = [o.reference for o in outcomes if o.reference is not None]
        if not references:
            raise UserError(f"manifest gallery: no face found in any image of {person.name}")
        store.add_person(person.name, references)
        for room in person.authorized_rooms:
            store.authorize(person.name, room)


def _add_footage(store: Gallery, footage: dict[str, list[Path]], config: Config) -> None:
    """Fingerprint each person's known footage into the temporary gallery's replay library."""
    fps = config.replay.footage_fps
    for name, videos in footage.items():
        for video in videos:
            add_footage(store, name, video, fps)


def run_evaluation(
    manifest: Manifest,
    engine: FaceEngine,
    config: Config,
    fps: float | None = None,
    score_unmatched: bool = False,
    progress: Callable[[int, EvalCase], None] | None = None,
) -> list[CaseOutcome]:
    """Scan every case against a temporary gallery of the manifest's people and footage; judge concurrency
    across cases."""
    if score_unmatched:
        verdicts = dataclasses.replace(config.verdicts, flag_unmatched_faces=True)
        config = dataclasses.replace(config, verdicts=verdicts)
    with (
        tempfile.TemporaryDirectory(prefix="impersonation-eval-") as folder,
        Gallery(Path(folder) / "gallery.sqlite") as store,
    ):
        _enrol(store, engine, manifest.gallery)
        _add_footage(store, manifest.footage, config)
        context = ScanContext(
            engine=engine,
            index=store.index(),
            config=config,
            authorizations=store.authorizations(),
            fps=fps,
            footage=FootageIndex.from_gallery(store),
        )
        outcomes = []
        for number, case in enumerate(manifest.cases, start=1):
            if progress:
                progress(number, case)
            room = Room(case.source, case.room, started_at=case.started_at)
            result, appearances = scan_source(case.source, number, context, room)
            outcomes.append(CaseOutcome(case, result, appearances))
    add_concurrency([o.result for o in outcomes], [a for o in outcomes for a in o.appearances], config)
    return outcomes


# -- scoring -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClassMetric:
    name: str
    true_positives: int
    false_positives: int
    false_negatives: int

    @property
    def precision(self) -> float | None:
        flagged = self.true_positives + self.false_positives
        return self.true_positives / flagged if flagged else None

    @property
    def recall(self) -> float | None:
        expected = self.true_positives + self.false_negatives
        return self.true_positives / expected if expected else None


Interval = tuple[float, float]


@dataclass(frozen=True)
class SignalAuc:
    signal: str
    verdict_class: str
    auc: float
    interval: Interval  # bootstrap 95% interval
    positives: int
    negatives: int
    curve: np.ndarray  # (points, 2): false positive rate, true positive rate


@dataclass(frozen=True)
class GroupAuc:
    """One row of the per-dataset breakdown."""

    name: str
    verdict_class: str
    signal: str
    auc: float | None  # None without positives
    interval: Interval | None
    positives: int
    negatives: int
    flagged_positives: int  # sources given the class's verdict
    flagged_negatives: int
    not_judged: int  # sources none of whose faces the signal could judge (scored 0)


def class_metrics(outcomes: list[CaseOutcome]) -> list[ClassMetric]:
    """Per verdict class, per source: positive when the source or any of its appearances has the verdict."""
    metrics = []
    for name in Verdict:
        expected = [name in o.case.expected_flags for o in outcomes]
        found = [name in o.verdicts for o in outcomes]
        if not any(expected) and not any(found):
            continue
        pairs = list(zip(expected, found, strict=True))
        metrics.append(
            ClassMetric(name, pairs.count((True, True)), pairs.count((False, True)), pairs.count((True, False)))
        )
    return metrics


def identity_metric(outcomes: list[CaseOutcome]) -> ClassMetric:
    """Identities per source: each (source, person) pair found and expected is a true positive."""
    hits = misses = extras = 0
    for o in outcomes:
        expected = {name_key(n) for n in o.case.expected_identities}
        found = {name_key(n) for n in o.found_identities}
        hits += len(expected & found)
        misses += len(expected - found)
        extras += len(found - expected)
    return ClassMetric("identity", hits, extras, misses)


def _wins(scores: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """(positives, negatives): 1 where the positive scores higher, 0.5 for a tie (Mann-Whitney)."""
    positives, negatives = scores[labels], scores[~labels]
    return (positives[:, None] > negatives[None, :]) + 0.5 * (positives[:, None] == negatives[None, :])


def roc(scores: np.ndarray, labels: np.ndarray) -> tuple[float, np.ndarray]:
    """ROC AUC (Mann-Whitney: ties count half) and the curve's points from the strictest threshold down."""
    positives, negatives = scores[labels], scores[~labels]
    auc = float(_wins(scores, labels).mean())
    thresholds = np.unique(scores)[::-1]
    points = [(0.0, 0.0)] + [(float(np.mean(negatives >= t)), float(np.mean(positives >= t))) for t in thresholds]
    return auc, np.array([*points, (1.0, 1.0)])


def resampled_aucs(wins: np.ndarray, positive_counts: np.ndarray, negative_counts: np.ndarray) -> np.ndarray:
    """The AUC of each resample, given how often each positive and negative was drawn ((resamples, n) counts):
    the same as the AUC of the drawn sources listed out, without listing them."""
    pairs = positive_counts.sum(axis=1) * negative_counts.sum(axis=1)
    return np.einsum("bp,pn,bn->b", positive_counts, wins, negative_counts) / pairs


def auc_interval(
    scores: np.ndarray, labels: np.ndarray, resamples: int = BOOTSTRAP_RESAMPLES, seed: int = BOOTSTRAP_SEED
) -> Interval:
    """Percentile bootstrap interval (INTERVAL_LEVEL) of the AUC: fakes and reals resampled separately, with
    replacement, so every resample keeps both (a stratified bootstrap over sources)."""
    wins = _wins(scores, labels)
    rng = np.random.default_rng(seed)
    draw = [rng.multinomial(n, np.full(n, 1.0 / n), size=resamples) for n in wins.shape]
    aucs = resampled_aucs(wins, draw[0], draw[1])
    tail = (1.0 - INTERVAL_LEVEL) / 2
    low, high = np.quantile(aucs, [tail, 1.0 - tail])
    return round(float(low), 4), round(float(high), 4)


def signal_aucs(outcomes: list[CaseOutcome]) -> list[SignalAuc]:
    """Every manipulation signal against every manipulation class with both positive and negative sources."""
    names = sorted({k for o in outcomes for s in o.measured for k in s.signals})
    found = []
    for verdict_class in MANIPULATION_CLASSES:
        labels = np.array([verdict_class in o.case.expected_flags for o in outcomes])
        if labels.all() or not labels.any():
            continue
        for name in names:
            scores = np.array([o.score(name) for o in outcomes])
            auc, curve = roc(scores, labels)
            interval = auc_interval(scores, labels)
            found.append(SignalAuc(name, verdict_class, auc, interval, int(labels.sum()), int((~labels).sum()), curve))
    return found


def default_breakdown(outcomes: list[CaseOutcome]) -> list[Breakdown]:
    """Without a manifest breakdown: per group and class, its fakes against every source expected not to carry
    the class; for a group without such fakes, the class's flags on its own sources."""
    groups = sorted({o.case.group for o in outcomes})
    rows = []
    for verdict_class in CLASS_SIGNALS:
        for group in groups:
            members = [o for o in outcomes if o.case.group == group]
            if any(verdict_class in o.case.expected_flags for o in members):
                rows.append(Breakdown(group or "(no group)", verdict_class, [group], groups))
            else:
                rows.append(Breakdown(group or "(no group)", verdict_class, [], [group]))
    return rows


def _member(outcome: CaseOutcome, patterns: list[str]) -> bool:
    return any(in_group(outcome.case.group, p) for p in patterns)


def group_aucs(outcomes: list[CaseOutcome], breakdown: list[Breakdown]) -> list[GroupAuc]:
    """Each breakdown row: AUC of the class score with its interval, and the class's flags on either side.
    Positives are the rows' groups' sources expected to carry the class, negatives those expected not to."""
    rows = []
    for row in breakdown:
        signal = CLASS_SIGNALS[row.verdict_class]
        expected = [row.verdict_class in o.case.expected_flags for o in outcomes]
        positives = [o for o, e in zip(outcomes, expected, strict=True) if e and _member(o, row.positives)]
        negatives = [o for o, e in zip(outcomes, expected, strict=True) if not e and _member(o, row.negatives)]
        auc = interval = None
        if positives and negatives:
            scores = np.array([o.score(signal) for o in positives + negatives])
            labels = np.arange(len(scores)) < len(positives)
            auc = round(roc(scores, labels)[0], 4)
            interval = auc_interval(scores, labels)
        rows.append(
            GroupAuc(
                name=row.name,
                verdict_class=row.verdict_class,
                signal=signal,
                auc=auc,
                interval=interval,
                positives=len(positives),
                negatives=len(negatives),
                flagged_positives=sum(row.verdict_class in o.verdicts for o in positives),
                flagged_negatives=sum(row.verdict_class in o.verdicts for o in negatives),
                not_judged=sum(not o.judged(signal) for o in positives + negatives),
            )
        )
    return rows


# -- ROC plot ----------------------------------------------------------------------------------------

PANEL = 480
MARGIN = 50
COLOURS = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189), (140, 86, 75),
           (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207)]  # fmt: skip


def _panel(aucs: list[SignalAuc], title: str) -> np.ndarray:
    size = PANEL + 2 * MARGIN
    canvas = np.full((size, size + 220, 3), 255, dtype=np.uint8)

    def at(fpr: float, tpr: float) -> tuple[int, int]:
        return int(MARGIN + fpr * PANEL), int(MARGIN + (1 - tpr) * PANEL)

    for tick in np.linspace(0, 1, 6):
        cv2.line(canvas, at(tick, 0), at(tick, 1), (230, 230, 230), 1)
        cv2.line(canvas, at(0, tick), at(1, tick), (230, 230, 230), 1)
        cv2.putText(canvas, f"{tick:.1f}", (at(tick, 0)[0] - 10, size - MARGIN + 18), 0, 0.4, (0, 0, 0), 1)
        cv2.putText(canvas, f"{tick:.1f}", (MARGIN - 32, at(0, tick)[1] + 4), 0, 0.4, (0, 0, 0), 1)
    cv2.rectangle(canvas, at(0, 1), at(1, 0), (0, 0, 0), 1)
    cv2.line(canvas, at(0, 0), at(1, 1), (160, 160, 160), 1, cv2.LINE_AA)
    cv2.putText(canvas, title, (MARGIN, 30), 0, 0.55, (0, 0, 0), 1, cv2.LINE_AA)
    cv2.putText(canvas, "false positive rate", (MARGIN + PANEL // 2 - 70, size - 10), 0, 0.45, (0, 0, 0), 1)
    cv2.putText(canvas, "true positive rate", (4, MARGIN - 10), 0, 0.45, (0, 0, 0), 1)
    for n, item in enumerate(aucs):
        colour = COLOURS[n % len(COLOURS)][::-1]
        points = np.array([at(f, t) for f, t in item.curve], dtype=np.int32)
        cv2.polylines(canvas, [points], False, colour, 2, cv2.LINE_AA)
        label = f"{item.signal} {item.auc:.2f}"
        cv2.putText(canvas, label, (size + 5, MARGIN + 20 * n + 10), 0, 0.45, colour, 1, cv2.LINE_AA)
    return canvas


@dataclass(frozen=True)
class EvalReport:
    """An evaluation's figures: precision/recall per verdict class (and identities), ROC AUC per signal and
    per dataset group, and every case's outcome."""

    outcomes: list[CaseOutcome]
    metrics: list[ClassMetric]
    aucs: list[SignalAuc]
    groups: list[GroupAuc]
    # The models that computed the scores: on CPU the detector is the int8 copy only where that is faster, and the
    # two score the same clips differently (docs/forgery_model.md).
    models: dict[str, str | None]

    @property
    def unread(self) -> list[SourceResult]:
        """Cases whose source could not be read, wholly or in part: the figures count them as scanned (an unread
        fake as a miss, an unread real as a clean pass), so `eval` names them and exits 3."""
        return [o.result for o in self.outcomes if o.result.status != "ok"]

    def to_dict(self) -> dict[str, Any]:
        return report_document(self.outcomes, self.metrics, self.aucs, self.groups, self.models)


def evaluation_report(
    manifest: Manifest,
    engine: FaceEngine,
    config: Config,
    fps: float | None,
    score_unmatched: bool,
    on_case: Callable[[int, EvalCase], None] | None = None,
) -> EvalReport:
    """Scan every case of `manifest` (`run_evaluation`) and compute the figures `eval` prints; the manifest's
    breakdown of groups, else `default_breakdown`."""
    outcomes = run_evaluation(manifest, engine, config, fps, score_unmatched, on_case)
    breakdown = manifest.breakdown or default_breakdown(outcomes)
    metrics = [*class_metrics(outcomes), identity_metric(outcomes)]
    groups = group_aucs(outcomes, breakdown)
    return EvalReport(outcomes, metrics, signal_aucs(outcomes), groups, models_in_use(engine))


def check_roc_path(path: Path) -> None:
    """A --roc name OpenCV can encode (by its suffix: .png, .jpg...), checked before any case is scanned: the
    refusal came after the whole evaluation, whose plot was then lost."""
    if not cv2.haveImageWriter(path.name):
        raise UserError(f"cannot write the ROC plot to {path} (use a .png name)")


def checked_manifest(
    manifest_path: Path,
    fps: float | None = None,
    roc_path: Path | None = None,
    json_path: Path | None = None,
    config: Path | None = None,
) -> Manifest:
    """`eval`'s manifest (`load_manifest`), with the rest of what `eval` refuses before it loads the models.

    Args:
        manifest_path: the manifest file.
        fps: frames sampled per second, or None for the config's.
        roc_path: `eval --roc`, the ROC picture to write, or None.
        json_path: `eval --json`, the document to write, or None.
        config: the config file as given, or None for the one the CLI would find.

    Raises:
        UserError: a rate outside (0, MAX_SCAN_FPS]; a manifest that cannot be read or has a mistake; an output
            named as an input (the manifest, a file it names, the config file in force) or as the other output;
            a --roc name no picture can be written to (one-line messages).
    """
    check_rate(fps, MAX_SCAN_FPS)
    manifest = load_manifest(manifest_path)
    # Every file the manifest names is an input too (`--json clip.mp4` replaced a case's clip), and the config.
    named = [*manifest.files, *([chosen] if (chosen := config_path(config)) else [])]
    check_outputs({"--roc": roc_path, "--json": json_path}, [manifest_path, *named])
    if roc_path is not None:
        check_roc_path(roc_path)
    return manifest


def write_eval_outputs(report: EvalReport, roc_path: Path | None, json_path: Path | None) -> bool:
    """`eval`'s --roc picture and --json document, written all or none (a full disk at the JSON left the plot
    of the run written beside an earlier run's JSON). Returns whether a plot was written: none is without a
    manipulation class that has both positive and negative cases."""
    files: dict[Path, bytes] = {}
    if roc_path is not None and report.aucs:
        files[roc_path] = roc_picture(report.aucs, roc_path)
    if json_path is not None:
        files[json_path] = text_bytes(json.dumps(report.to_dict(), indent=2) + "\n")
    write_files_atomic(files)
    return roc_path in files


def roc_picture(aucs: list[SignalAuc], path: Path) -> bytes:
    """One panel per manipulation class: each signal's ROC curve, its AUC in the legend; encoded as `path`'s
    suffix says."""
    classes = [c for c in MANIPULATION_CLASSES if any(a.verdict_class == c for a in aucs)]
    if not classes:
        raise UserError("no ROC to draw: no manipulation class has both positive and negative cases")
    panels = []
    for verdict_class in classes:
        items = [a for a in aucs if a.verdict_class == verdict_class]
        title = f"{verdict_class}: {items[0].positives} positive / {items[0].negatives} negative sources"
        panels.append(_panel(items, title))
    try:  # encoded here and written whole: imwrite would leave half a file on a full disk
        ok, picture = cv2.imencode(path.suffix, np.hstack(panels))
    except cv2.error:
        ok = False
    if not ok:
        raise UserError(f"cannot write the ROC plot to {path} (use a .png name)")
    return picture.tobytes()


# Every version and what it added: docs/formats.md.
EVAL_SCHEMA_VERSION = "1.4"


def report_document(
    outcomes: list[CaseOutcome],
    metrics: list[ClassMetric],
    aucs: list[SignalAuc],
    groups: list[GroupAuc],
    models: dict[str, str | None],
) -> dict[str, Any]:
    """The evaluation as JSON: per case what was expected and found, per class, signal and dataset the figures."""
    return {
        "schema": "impersonation-cli/eval",
        "schema_version": EVAL_SCHEMA_VERSION,
        "bootstrap": {"resamples": BOOTSTRAP_RESAMPLES, "seed": BOOTSTRAP_SEED, "level": INTERVAL_LEVEL},
        "host": dataclasses.asdict(this_host()),  # scores differ in the second decimal between CPUs
        "models": models,
        "cases": [
            {
                "source": shown_name(o.case.source),  # a name's bytes that are not UTF-8 as \xNN (io/names.py)
                "label": shown_name(o.case.label),
                "group": o.case.group,
                "status": o.result.status,
                "error": o.result.error,  # why a case was not read (or read in part); None when it was
                "expected_identities": o.case.expected_identities,
                "found_identities": sorted(o.found_identities),
                "expected_flags": o.case.expected_flags,
                "verdicts": sorted(o.verdicts),
                "risk": max([o.result.risk, *(a.risk for a in o.appearances)]),
                "scores": {k: o.score(k) for k in sorted({k for s in o.measured for k in s.signals})},
                "not_judged": sorted(k for k in CLASS_SIGNALS.values() if not o.judged(k)),
            }
            for o in outcomes
        ],
        "classes": [
            {
                "class": m.name,
                "true_positives": m.true_positives,
                "false_positives": m.false_positives,
                "false_negatives": m.false_negatives,
                "precision": m.precision,
                "recall": m.recall,
            }
            for m in metrics
        ],
        "auc": [
            {
                "signal": a.signal,
                "class": a.verdict_class,
                "auc": round(a.auc, 4),
                "ci95": list(a.interval),
                "positives": a.positives,
                "negatives": a.negatives,
            }
            for a in aucs
        ],
        "groups": [
            {
                "name": g.name,
                "class": g.verdict_class,
                "signal": g.signal,
                "auc": g.auc,
                "ci95": list(g.interval) if g.interval else None,
                "positives": g.positives,
                "negatives": g.negatives,
                "flagged_positives": g.flagged_positives,
                "flagged_negatives": g.flagged_negatives,
                "not_judged": g.not_judged,
            }
            for g in groups
        ],
    }
