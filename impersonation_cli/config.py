"""Settings: shipped defaults (data/defaults.toml) overlaid by a user's TOML file, read once into each stage's
own typed settings.

The user's file is the first of: `--config FILE`, $IMPERSONATION_CONFIG, ./impersonation-cli.toml, and
config.toml in the user config folder ($XDG_CONFIG_HOME/impersonation-cli, else ~/.config/impersonation-cli).
Each stage owns its settings dataclass and takes only that; this module is the one place that knows the file,
so no stage imports it.
"""

from __future__ import annotations

import math
import os
import sys
import tomllib
from dataclasses import MISSING, asdict, dataclass, field, fields
from datetime import date, time
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeGuard, TypeVar

from impersonation_cli.errors import MAX_FOOTAGE_FPS, MAX_SCAN_FPS, UserError, parse_error, read_settings_text
from impersonation_cli.io.atomic_write import write_text_atomic
from impersonation_cli.io.user_dirs import config_folder, expand_user
from impersonation_cli.pipeline.matches import MatchSettings
from impersonation_cli.pipeline.signals.replay import RANK_CAP, ReplaySettings
from impersonation_cli.pipeline.signals.scoring import SignalSettings
from impersonation_cli.pipeline.tracks import TrackerSettings
from impersonation_cli.pipeline.verdicts import VerdictSettings
from impersonation_cli.results import Verdict
from impersonation_cli.runtime.engine import DetectorSettings, RecognitionSettings

CONFIG_ENV = "IMPERSONATION_CONFIG"
LOCAL_CONFIG_NAME = "impersonation-cli.toml"
DEFAULTS_PATH = Path(__file__).with_name("data") / "defaults.toml"
if TYPE_CHECKING:
    from _typeshed import DataclassInstance
T = TypeVar("T", bound="DataclassInstance")


@dataclass(frozen=True)
class ScanSettings:
    # Frames sampled per second of video: the one rate of `scan` and `watch` unless their --fps says otherwise.
    fps: float = 2.0
    merge_gap_s: float = 4.0
    min_appearance_frames: int = 2


@dataclass(frozen=True)
class Config:
    """Every section of the settings, each as its stage's typed settings."""

    scan: ScanSettings = field(default_factory=ScanSettings)
    detector: DetectorSettings = field(default_factory=DetectorSettings)
    recognition: RecognitionSettings = field(default_factory=RecognitionSettings)
    tracker: TrackerSettings = field(default_factory=TrackerSettings)
    match: MatchSettings = field(default_factory=MatchSettings)
    signals: SignalSettings = field(default_factory=SignalSettings)
    verdicts: VerdictSettings = field(default_factory=VerdictSettings)
    replay: ReplaySettings = field(default_factory=ReplaySettings)
    path: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """Every section as a table, for the record of a run: in the file's shapes ([low, high] pairs as lists),
        so a result read back from its JSON equals the one written."""
        tables = {name: asdict(getattr(self, name)) for name in SECTIONS}
        return {name: {k: list(v) if isinstance(v, tuple) else v for k, v in t.items()} for name, t in tables.items()}


# Each section of the file and the settings it becomes, in the order they are read and recorded.
SECTIONS: dict[str, type[DataclassInstance]] = {
    "scan": ScanSettings,
    "detector": DetectorSettings,
    "recognition": RecognitionSettings,
    "tracker": TrackerSettings,
    "match": MatchSettings,
    "signals": SignalSettings,
    "verdicts": VerdictSettings,
    "replay": ReplaySettings,
}
# Keys of earlier versions whose meaning is gone: named with what replaced them, never silently ignored.
_CUES_RETIRED = "the hand-made cues no longer add up to the {} score; the trained detector gives it"
_THRESHOLD_RETIRED = "it was a threshold on the hand-made cues; {} now comes from the trained detector, see {}"
RETIRED_KEYS: dict[str, dict[str, str]] = {
    "signals": {
        "synthetic_weights": _CUES_RETIRED.format("synthetic"),
        "effects_weights": _CUES_RETIRED.format("effects"),
    },
    "verdicts": {
        "synthetic_threshold": _THRESHOLD_RETIRED.format(Verdict.SYNTHETIC, "synthetic_probability"),
        "effects_threshold": _THRESHOLD_RETIRED.format(Verdict.EFFECTS, "effects_probability"),
    },
}


def _read_toml(path: Path) -> dict[str, Any]:
    return _parse_toml(read_settings_text(path, "config"), path)


def _parse_toml(text: str, path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except ValueError as exc:  # TOMLDecodeError, or an integer of over 4300 digits (Python's own limit)
        raise UserError(f"config {path} is not valid TOML: {parse_error(exc)}") from exc
    except RecursionError as exc:
        raise UserError(f"config {path} is not valid TOML: nested too deeply") from exc


def user_config_path() -> Path:
    return config_folder() / "config.toml"


def config_path(option: str | Path | None = None) -> Path | None:
    """The user's settings file: the option, else $IMPERSONATION_CONFIG, else ./impersonation-cli.toml, else
    config.toml in the user config folder; None when there is none (the shipped defaults apply)."""
    chosen = option or os.environ.get(CONFIG_ENV)
    if chosen:
        return expand_user(chosen, "config")
    # lexists, not is_file: a folder, a device or a dangling link of that name is refused when read, never passed
    # over in silence (a dotfiles repository moved away left the defaults in force without a word).
    return next((p for p in (Path(LOCAL_CONFIG_NAME), user_config_path()) if os.path.lexists(p)), None)


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        merged[key] = _merge(base[key], value) if isinstance(value, dict) and isinstance(base.get(key), dict) else value
    return merged


@dataclass(frozen=True)
class Bounds:
    """The values a numeric setting may take (inclusive unless `above_low`)."""

    low: float | None = None
    high: float | None = None
    above_low: bool = False
    multiple_of: int | None = None

    def too_low(self, value: float) -> bool:
        return self.low is not None and (value < self.low or (self.above_low and value == self.low))

    def too_high(self, value: float) -> bool:
        return self.high is not None and value > self.high

    def problem(self, value: float) -> str | None:
        if self.too_low(value):
            return f"must be {'above' if self.above_low else 'at least'} {self.low:g}"
        if self.too_high(value):
            return f"must be at most {self.high:g}"
        if self.multiple_of is not None and value % self.multiple_of:
            return f"must be a multiple of {self.multiple_of}"
        return None


UNIT = Bounds(0, 1)  # thresholds and weights in [0, 1]
SIMILARITY = Bounds(-1, 1)  # cosine similarities
NON_NEGATIVE = Bounds(0)  # durations, gaps, margins, sizes in pixels
# Counts of sampled frames (a track's, a run's, a face's judged ones, every n-th): past 100 (50 s at the default
# 2 fps) a face on screen for under a minute is never an appearance, a run or judged.
MAX_FRAMES = 100
FRAME_COUNT = Bounds(1, MAX_FRAMES)
MODEL_INPUT = Bounds(32, 4096, multiple_of=32)  # the detector's strides go up to 32
SCAN_FPS = Bounds(0, MAX_SCAN_FPS, above_low=True)  # as `scan --fps`
# Replay distances are mean capped rank differences, 0..RANK_CAP: past it a value only overflows float32 (a warning).
RANK_DISTANCE = Bounds(0, RANK_CAP)
# Outside these a scan runs but finds nobody (threshold 1.5), never ends (fps 0) or fails late: refused up front,
# naming the key. Every number must also be finite. Keys not listed (or not in their section) have no bounds; a
# [low, high] pair's bounds hold for both of its numbers.
BOUNDS: dict[str, dict[str, Bounds]] = {
    "scan": {"fps": SCAN_FPS, "merge_gap_s": NON_NEGATIVE, "min_appearance_frames": FRAME_COUNT},
    "detector": {
        "input_size": MODEL_INPUT,
        "small_input_size": MODEL_INPUT,
        # A detection score of 0 keeps every anchor: 533 "faces" on a 320x240 photo, 11 s for one picture.
        "threshold": Bounds(0, 1, above_low=True),
        "min_face_px": NON_NEGATIVE,
        "large_face_px": NON_NEGATIVE,
        "full_pass_every_s": NON_NEGATIVE,
        "region_margin": Bounds(0, 100),  # a share of a face's size: 1e300 widened its box to infinity (exit 3)
        # A face walking into an empty scene is found up to idle_every - 1 samples late: 4.5 s at 2 fps at 10
        # (at 1000, 500 s: nobody was found in a shorter clip).
        "idle_every": Bounds(1, 10),
    },
    "recognition": {
        "reuse_similarity": Bounds(-1),  # above 1: never reuse
        "refresh_every_s": NON_NEGATIVE,
        "fresh_first": Bounds(0, MAX_FRAMES),
        "same_face_similarity": SIMILARITY,
        "min_iou": UNIT,
    },
    "tracker": {
        "min_iou": UNIT,
        "min_similarity": SIMILARITY,
        "min_similarity_overlapping": SIMILARITY,
        "max_gap_s": NON_NEGATIVE,
        "max_gap_samples": NON_NEGATIVE,
    },
    # A cosine of 0 is no likeness at all: at threshold 0 a stranger's face matched whoever it was nearest.
    "match": {"threshold": Bounds(0, 1, above_low=True), "margin": Bounds(0, 2)},
    "signals": {
        "head_motion_min": NON_NEGATIVE,
        "mouth_motion_min": NON_NEGATIVE,
        "min_face_px": NON_NEGATIVE,
        "min_frames": FRAME_COUNT,
        **{f"forgery_{key}": FRAME_COUNT for key in ("first_frames", "every", "max_frames", "top_k", "min_frames")},
    },
    "verdicts": {
        "replay_threshold": UNIT,
        "concurrent_slack_s": NON_NEGATIVE,
        **{f"risk_{kind}": UNIT for kind in ("unauthorized", "synthetic", "effects", "replay", "concurrent")},
    },
    "replay": {
        "footage_fps": Bounds(0, MAX_FOOTAGE_FPS, above_low=True),  # as `footage add --fps`
        "match_distance": RANK_DISTANCE,
        # Each is scored under every crop/shift/mirror variant of a stream frame, a cost fixed however large the
        # library (ReplayIndex.nearest): 1000 is 30 times the default's.
        "candidates": Bounds(1, 1000),
        # The width of the offset bins a run is searched in: at 0 the search made no progress and a scan hung.
        "offset_tolerance_s": Bounds(0, above_low=True),
        "max_gap_s": NON_NEGATIVE,
        "min_run_frames": FRAME_COUNT,
        # A run's length in seconds: at [-5, -1] every run scored 1, the shortest chance match a likely-replay.
        "run_s": NON_NEGATIVE,
        "loop_min_lag_s": NON_NEGATIVE,
        "loop_distance": RANK_DISTANCE,
        "footage_margin": RANK_DISTANCE,
        "loop_margin": RANK_DISTANCE,
        "loop_ratio": UNIT,
        # The loop search's history: a frame is compared with the window before it, and kept about twice as long.
        # Under a minute no loop of a talking head repeats; past a week a room's history takes 100 MB and more.
        "loop_window_s": Bounds(60, 7 * 86400),
    },
}


def settings_from_table(kind: type[T], table: dict[str, Any], name: str) -> T:
    """A settings dataclass from a TOML table. Unknown and retired keys are an error; each value must have the
    type of its field's default (an integer does for a float) and lie within BOUNDS: [low, high] pairs become
    tuples (low < high), tables become name -> float maps."""
    if not isinstance(table, dict):
        raise UserError(f"config [{name}] must be a table of settings, not {table!r}")
    retired = RETIRED_KEYS.get(name, {})
    for key in sorted(set(table) & set(retired)):
        raise UserError(f"config [{name}] {key} is no longer used: {retired[key]} (docs/verdicts.md)")
    defaults = {f.name: f.default_factory() if f.default_factory is not MISSING else f.default for f in fields(kind)}
    unknown = set(table) - set(defaults)
    if unknown:
        raise UserError(f"config section [{name}] has unknown keys: {', '.join(sorted(unknown))}")
    values = {key: _setting(defaults[key], value, f"config [{name}] {key}") for key, value in table.items()}
    for key, value in values.items():
        bounds = BOUNDS.get(name, {}).get(key)
        numbers = value if isinstance(value, tuple) else (value,) if isinstance(value, int | float) else ()
        problem = next(filter(None, map(bounds.problem, numbers)), None) if bounds is not None else None
        if problem:
            raise UserError(f"config [{name}] {key} {problem}, not {_written(table[key])}")
    try:
        return kind(**values)
    except (TypeError, ValueError) as exc:
        raise UserError(f"config section [{name}]: {exc}") from exc


def _setting(default: object, value: object, where: str) -> Any:
    """`value` in the type of the setting's default, or a UserError naming the key."""
    if isinstance(default, tuple):
        if not (isinstance(value, list) and len(value) == 2 and all(_is_number(v) for v in value)):
            raise UserError(f"{where} must be [low, high], two finite numbers, not {_written(value)}")
        if not value[0] < value[1]:
            raise UserError(f"{where} must be [low, high] with low < high, not {value!r}")
        return (float(value[0]), float(value[1]))
    if isinstance(default, dict):
        if not isinstance(value, dict) or not all(_is_number(v) and v >= 0 for v in value.values()):
            raise UserError(f"{where} must be a table of numbers of at least 0, not {_written(value)}")
        return {str(k): float(v) for k, v in value.items()}
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise UserError(f"{where} must be true or false, not {_written(value)}")
        return value
    if isinstance(default, int):
        if isinstance(value, bool) or not isinstance(value, int):
            raise UserError(f"{where} must be a whole number, not {_written(value)}")
        return value
    if isinstance(default, float):
        if not _is_number(value):
            raise UserError(f"{where} must be a finite number, not {_written(value)}")
        return float(value)
    if isinstance(value, dict | list):
        raise UserError(f"{where} must be a single value, not {_written(value)}")
    if isinstance(default, str) and _is_number(value):
        return value  # a word or a number ("model" or a probability): kept as written, as the run records it
    return _written(value) if isinstance(value, bool) else str(value)  # a str setting; `true`, not "True"


def _written(value: object) -> str:
    """A value as the TOML file spells it, for a message: `fps = true` is named as true, not Python's True (a
    bool is an int to Python, so the checks above must see it first), `fps = 1979-05-27` as written, not as
    datetime.date(1979, 5, 27)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, date | time):  # a TOML date or time of day, unquoted as written
        return value.isoformat()
    if isinstance(value, list):
        return f"[{', '.join(map(_written, value))}]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {_written(v)}" for k, v in value.items()) + "}"
    return repr(value)


def _is_number(value: object) -> TypeGuard[int | float]:
    """A finite number a float holds: a whole number past 1.8e308 (TOML reads 1 and 400 zeros as one) was an
    internal error, 'int too large to convert to float', exit 4, doctor included."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return abs(value) <= sys.float_info.max if isinstance(value, int) else math.isfinite(value)


def config_origin(option: str | Path | None, chosen: Path) -> str | None:
    """How `chosen` came to be the settings file, for a message, when the user did not name it with --config:
    a mistake in ./impersonation-cli.toml or the user config folder was named by key alone, and the user, who had
    named no file, could not tell which file held it."""
    if option:
        return None
    if os.environ.get(CONFIG_ENV):
        return f"${CONFIG_ENV}={chosen}"
    if chosen == Path(LOCAL_CONFIG_NAME):
        return f"{LOCAL_CONFIG_NAME} in the working folder {Path.cwd()}"
    return f"the user settings file {chosen}"


def load_config(path: str | Path | None = None) -> Config:
    """The settings of every stage, read and checked once: a mistake anywhere is reported before any work (and,
    in a file found without --config, says which file)."""
    chosen = config_path(path)
    try:
        return _load(chosen)
    except UserError as exc:
        origin = config_origin(path, chosen) if chosen is not None else None
        if origin is None:
            raise
        raise type(exc)(f"{exc} (settings from {origin})") from exc


def _load(chosen: Path | None) -> Config:
    return _settings(_read_toml(chosen) if chosen is not None else {}, chosen)


def _settings(user: dict[str, Any], chosen: Path | None) -> Config:
    """The shipped defaults overlaid by a user file's parsed `user` table, every value checked."""
    document = _merge(_read_toml(DEFAULTS_PATH), user)
    unknown = set(document) - set(SECTIONS)
    if unknown:
        raise UserError(f"config has unknown sections: {', '.join(sorted(unknown))}")
    sections: dict[str, Any] = {
        name: settings_from_table(kind, document.get(name, {}), name) for name, kind in SECTIONS.items()
    }
    return Config(**sections, path=str(chosen) if chosen else None)


def write_match_threshold(path: Path, threshold: float) -> None:
    """Set `[match] threshold` in a user's TOML file, keeping everything else in it as written.

    Line-based on purpose: the file is the user's, with their comments; only one line changes or is added.
    """
    # Read as --config reads it (at most 1 MiB of UTF-8): read_text() of /dev/zero never ended, filling memory.
    original = read_settings_text(path, "config") if path.exists() else ""
    _parse_toml(original, path)  # refuse to edit a file that is not valid TOML
    lines = original.splitlines()
    setting = f"threshold = {threshold:.4f}  # set by `gallery calibrate`"
    section = next((n for n, line in enumerate(lines) if line.split("#")[0].strip() == "[match]"), None)
    if section is None:
        lines += ["", "[match]", setting] if lines else ["[match]", setting]
    else:
        end = next((n for n in range(section + 1, len(lines)) if lines[n].lstrip().startswith("[")), len(lines))
        existing = next((n for n in range(section + 1, end) if lines[n].split("=")[0].strip() == "threshold"), None)
        if existing is None:
            lines.insert(section + 1, setting)
        else:
            lines[existing] = setting
    # A file saved with Windows line ends keeps them: every line of it was rewritten with '\n'.
    newline = "\r\n" if "\r\n" in original else "\n"
    text = newline.join(lines) + newline
    try:  # checked before writing: a [match] table this line edit cannot see must not be doubled or missed
        edited = tomllib.loads(text)
    except ValueError:  # TOMLDecodeError, or an integer of over 4300 digits
        edited = {}
    match = edited.get("match")
    if not isinstance(match, dict) or match.get("threshold") != round(threshold, 4):
        raise UserError(
            f"cannot set [match] threshold in {path}: its [match] table is not written as a plain [match] "
            f"header with a `threshold = ...` line; file left as it was, set threshold = {threshold:.4f} by hand"
        )
    try:  # 'wrote' of a file every scan then refused ('unknown keys: match' of `[scan]` `match.threshold = 0.3`)
        _settings(edited, path)
    except UserError as exc:
        raise UserError(f"not written to {path}, which no scan would read: {exc}") from exc
    try:
        write_text_atomic(path, text)
    except OSError as exc:
        raise UserError(f"cannot write config {path}: {exc.strerror}") from exc
