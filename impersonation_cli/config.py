"""Settings: shipped defaults (data/defaults.toml) overlaid by a user's TOML file."""

from __future__ import annotations

import os
import tomllib
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path
from typing import Any, TypeVar

from .errors import UserError
from .faces import DetectorSettings, RecognitionSettings
from .matches import MatchSettings
from .tracks import TrackerSettings

CONFIG_ENV = "IMPERSONATION_CONFIG"
DEFAULTS_PATH = Path(__file__).with_name("data") / "defaults.toml"
T = TypeVar("T")


@dataclass(frozen=True)
class ScanSettings:
    fps: float = 2.0
    merge_gap_s: float = 4.0
    min_appearance_frames: int = 2


@dataclass(frozen=True)
class Config:
    scan: ScanSettings = field(default_factory=ScanSettings)
    detector: DetectorSettings = field(default_factory=DetectorSettings)
    recognition: RecognitionSettings = field(default_factory=RecognitionSettings)
    tracker: TrackerSettings = field(default_factory=TrackerSettings)
    match: MatchSettings = field(default_factory=MatchSettings)
    # Sections owned by later stages (signals, verdicts, replay), kept as plain tables.
    extra: dict[str, dict[str, Any]] = field(default_factory=dict)
    path: str | None = None

    def section(self, name: str) -> dict[str, Any]:
        return self.extra.get(name, {})

    def as_dict(self) -> dict[str, Any]:
        from dataclasses import asdict

        return {
            "scan": asdict(self.scan),
            "detector": asdict(self.detector),
            "recognition": asdict(self.recognition),
            "tracker": asdict(self.tracker),
            "match": asdict(self.match),
            **self.extra,
        }


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as stream:
            return tomllib.load(stream)
    except OSError as exc:
        raise UserError(f"cannot read config {path}: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"config {path} is not valid TOML: {exc}") from exc


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        merged[key] = _merge(base[key], value) if isinstance(value, dict) and isinstance(base.get(key), dict) else value
    return merged


def settings_from_table(kind: type[T], table: dict[str, Any], name: str) -> T:
    """A settings dataclass from a TOML table. Unknown keys are an error; each value takes the type of its
    field's default: [low, high] pairs become tuples (low < high), tables become name -> float maps."""
    defaults = {f.name: f.default if f.default is not MISSING else f.default_factory() for f in fields(kind)}
    unknown = set(table) - set(defaults)
    if unknown:
        raise UserError(f"config section [{name}] has unknown keys: {', '.join(sorted(unknown))}")
    values: dict[str, Any] = {}
    try:
        for key, value in table.items():
            default = defaults[key]
            if isinstance(default, tuple):
                if not (isinstance(value, list) and len(value) == 2 and value[0] < value[1]):
                    raise UserError(f"config [{name}] {key} must be [low, high] with low < high")
                values[key] = (float(value[0]), float(value[1]))
            elif isinstance(default, dict):
                values[key] = {str(k): float(v) for k, v in dict(value).items()}
            else:
                values[key] = type(default)(value)
        return kind(**values)
    except (TypeError, ValueError) as exc:
        raise UserError(f"config section [{name}]: {exc}") from exc


def load_config(path: str | Path | None = None) -> Config:
    document = _read_toml(DEFAULTS_PATH)
    chosen = path or os.environ.get(CONFIG_ENV)
    if chosen:
        document = _merge(document, _read_toml(Path(chosen)))
    typed = {
        "scan": ScanSettings,
        "detector": DetectorSettings,
        "recognition": RecognitionSettings,
        "tracker": TrackerSettings,
        "match": MatchSettings,
    }
    sections = {name: settings_from_table(kind, document.get(name, {}), name) for name, kind in typed.items()}
    extra = {k: v for k, v in document.items() if k not in typed}
    config = Config(**sections, extra=extra, path=str(chosen) if chosen else None)
    _check_stage_sections(config)
    return config


def _check_stage_sections(config: Config) -> None:
    """Read the later stages' sections once now, so a mistake in them is reported before any work starts."""
    from .signals.replay import ReplaySettings
    from .signals.scoring import SignalSettings
    from .verdicts import VerdictSettings

    unknown = set(config.extra) - {"signals", "verdicts", "replay"}
    if unknown:
        raise UserError(f"config has unknown sections: {', '.join(sorted(unknown))}")
    SignalSettings.from_table(config.section("signals"))
    VerdictSettings.from_config(config)
    ReplaySettings.from_config(config)


def write_match_threshold(path: Path, threshold: float) -> None:
    """Set `[match] threshold` in a user's TOML file, keeping everything else in it as written.

    Line-based on purpose: the file is the user's, with their comments; only one line changes or is added.
    """
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    if path.exists():
        _read_toml(path)  # refuse to edit a file that is not valid TOML
    setting = f"threshold = {threshold:.4f}  # set by `gallery calibrate`"
    section = next((n for n, line in enumerate(lines) if line.strip() == "[match]"), None)
    if section is None:
        lines += ["", "[match]", setting] if lines else ["[match]", setting]
    else:
        end = next((n for n in range(section + 1, len(lines)) if lines[n].lstrip().startswith("[")), len(lines))
        existing = next((n for n in range(section + 1, end) if lines[n].split("=")[0].strip() == "threshold"), None)
        if existing is None:
            lines.insert(section + 1, setting)
        else:
            lines[existing] = setting
    try:
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    except OSError as exc:
        raise UserError(f"cannot write config {path}: {exc.strerror}") from exc
    _read_toml(path)
