"""What this installation would run with, and what is missing: the checks `doctor` prints, one a line, and the
state of each model pack that `models list` shows."""

from __future__ import annotations

import os
import platform
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from rich.markup import escape

from impersonation_cli import __version__
from impersonation_cli.errors import ModelPackError, UserError
from impersonation_cli.outputs.console import printable

if TYPE_CHECKING:
    from impersonation_cli.runtime.quantize import Int8Detector

OK, WARNING, PROBLEM = "ok", "warning", "problem"
# System tools some features call: ffmpeg for the streaming tests and `watch` publishers, ffprobe beside it.
SYSTEM_TOOLS = ("ffmpeg", "ffprobe")


@dataclass(frozen=True)
class Check:
    status: str  # OK, WARNING or PROBLEM
    name: str
    detail: str


def check_models(models: Path | None, pack: str | None, config: Path | None = None) -> list[Check]:
    from impersonation_cli.runtime.packs import installed_pack_names, load_pack, model_root, verify_pack
    from impersonation_cli.runtime.quantize import made_int8_detector

    try:
        root = model_root(models)
    except UserError as exc:  # a file where the folder should be: a problem to report beside the other checks
        return [Check(PROBLEM, "models", str(exc))]
    installed = installed_pack_names(root)
    if not installed:
        return [Check(PROBLEM, "models", f"no pack installed in {root} (`impersonation-cli models install`)")]
    checks = [Check(OK, "models", f"{root}: {', '.join(installed)}")]
    try:
        chosen = load_pack(pack, root)
    except UserError as exc:
        return [*checks, Check(PROBLEM, "pack", str(exc))]
    bad = [f"{c.name} {c.status}" for c in verify_pack(chosen.folder) if c.status in ("missing", "mismatch")]
    checks.append(Check(PROBLEM if bad else OK, "pack", f"{chosen.name}" + (f": {', '.join(bad)}" if bad else "")))
    if (float_file := _float_detector_chosen(config)) is not None:
        # Said 'scans on CPU use it' of the int8 copy while the settings file kept every scan on the float one.
        return [*checks, Check(OK, "int8 detector", f'not used: [detector] precision = "fp32" in {float_file}')]
    made = made_int8_detector(chosen.detector, chosen.int8_folder)
    if made is not None:
        checks.append(Check(OK, "int8 detector", int8_detail(made)))
    elif not _can_make(chosen.int8_folder):  # said 'the first CPU scan makes it', which cannot make it there
        checks.append(
            Check(WARNING, "int8 detector", f"cannot be made in {chosen.int8_folder}: scans run the float detector")
        )
    else:
        checks.append(
            Check(WARNING, "int8 detector", "not made yet: the first CPU scan makes it (or `models install` again)")
        )
    return checks


def _float_detector_chosen(config: Path | None) -> str | None:
    """The settings file that keeps scans on the published float detector (`[detector] precision = "fp32"`), if
    one does; a file that cannot be read is `check_config`'s to report."""
    from impersonation_cli.config import load_config

    try:
        settings = load_config(config)
    except UserError:
        return None
    return settings.path if settings.detector.precision == "fp32" and settings.path is not None else None


def _can_make(folder: Path) -> bool:
    """Whether `folder` (made if missing, with its parents) could be written here."""
    existing = next(p for p in (folder, *folder.parents) if p.exists())
    return existing.is_dir() and os.access(existing, os.W_OK)


def int8_detail(made: Int8Detector) -> str:
    """Where the int8 copy is, what it was measured to cost, and whether scans on CPU run it (only when
    clearly faster: `doctor` once said "made" of a copy the scans did not use)."""
    timing = f"{made.int8_ms:.1f} ms a 640-px detection against {made.float_ms:.1f} ms for the published file here"
    if made.int8_share is not None:
        timing += f" on one thread ({made.int8_share:.2f} of its time, run for run)"
    verdict = "scans on CPU use it" if made.faster else "not clearly faster, so scans keep the published file"
    return f"int8 detector made ({made.path}): {timing}; {verdict}"


def check_provider(device: str) -> Check:
    import onnxruntime

    from impersonation_cli.runtime.sessions import resolve_providers

    try:
        chosen = resolve_providers(device)
    except UserError as exc:
        return Check(PROBLEM, "provider", str(exc))
    available = ", ".join(onnxruntime.get_available_providers())
    return Check(OK, "provider", f"--device {device} runs on {chosen[0]} (onnxruntime {onnxruntime.__version__}; "
                 f"available: {available})")  # fmt: skip


def check_config(config: Path | None) -> Check:
    """The settings file scans would read (--config, $IMPERSONATION_CONFIG, ./impersonation-cli.toml, the user's
    config.toml): one that every scan refuses (exit 2) was not looked at, and doctor said all was well."""
    from impersonation_cli.config import load_config

    try:
        chosen = load_config(config).path
    except UserError as exc:
        return Check(PROBLEM, "config", str(exc))
    return Check(OK, "config", chosen or "none found: the shipped defaults apply")


def check_forgery_model() -> Check:
    """The manipulation detector scans would run: a `$IMPERSONATION_FORGERY_MODEL` that does not load is refused by
    every scan; without the shipped file no likely-synthetic or likely-effects is ever raised."""
    from impersonation_cli.pipeline.signals.detector import load_forgery_model

    try:
        model = load_forgery_model(["CPUExecutionProvider"])
    except UserError as exc:
        return Check(PROBLEM, "forgery model", str(exc))
    if model.detector is None:
        return Check(WARNING, "forgery model", f"{model.problem}: scans raise no likely-synthetic or likely-effects")
    return Check(OK, "forgery model", model.detector.model_id)


def check_gallery(gallery: Path | None, recognizer: str | None = None) -> Check:
    """The gallery scans would open, checked as they check it: `recognizer` is that of the pack they would run
    (None: not known), and a gallery enrolled with another is refused by every scan."""
    from impersonation_cli.gallery.store import GALLERY_ENV, Gallery, default_gallery_path

    path = default_gallery_path(gallery)
    if not path.exists():  # a folder or a device is there: Gallery says what it is (it was "does not exist yet")
        # Only the per-user default starts empty; scans refuse a named gallery that is missing (a mistyped path).
        named = bool(gallery) or bool(os.environ.get(GALLERY_ENV))
        until = ": scans naming it stop with an error until then" if named else ""
        return Check(WARNING, "gallery", f"{path} does not exist yet{until} (`impersonation-cli gallery add` makes it)")
    try:
        with Gallery(path, create=False, read_only=True) as store:
            people, footage = len(store.persons()), len(store.footage())
            damage = store.db.execute("PRAGMA quick_check(1)").fetchone()[0]
            if recognizer is not None and damage == "ok":
                store.require_recognizer(recognizer)
    except (UserError, sqlite3.Error) as exc:
        return Check(PROBLEM, "gallery", f"{path}: {exc}")
    if damage != "ok":
        return Check(PROBLEM, "gallery", f"{path}: SQLite quick_check failed: {damage}")
    return Check(OK if people else WARNING, "gallery", f"{path}: {people} people, {footage} footage videos")


def _pack_recognizer(models: Path | None, pack: str | None) -> str | None:
    """The recognizer of the pack a scan would run, None when that pack does not load (`check_models` says why)."""
    from impersonation_cli.runtime.packs import load_pack, model_root, recognizer_id

    try:
        return recognizer_id(load_pack(pack, model_root(models)))
    except (UserError, OSError):
        return None


def check_tools() -> list[Check]:
    return [
        Check(OK, tool, found) if (found := shutil.which(tool)) else Check(WARNING, tool, "not found on PATH")
        for tool in SYSTEM_TOOLS
    ]


def installation_checks(
    models: Path | None, pack: str | None, device: str, gallery: Path | None, config: Path | None = None
) -> list[Check]:
    """Every check, in the order `doctor` prints them; a scan can run when none is a PROBLEM."""
    return [
        Check(OK, "impersonation-cli", f"{__version__} on Python {platform.python_version()} ({platform.platform()})"),
        *check_models(models, pack, config),
        check_provider(device),
        check_config(config),
        check_forgery_model(),
        check_gallery(gallery, _pack_recognizer(models, pack)),
        *check_tools(),
    ]


def pack_status(root: Path, name: str, installed: set[str]) -> str:
    """`models list`'s verified column (rich markup): yes, the files that fail, or not in the manifest."""
    from impersonation_cli.runtime.packs import verify_pack

    if name not in installed:
        return "-"
    try:
        checks = verify_pack(root / name)
    except ModelPackError as exc:  # a folder of two detectors: one pack unusable, the others still listed
        return f"[red]{escape(printable(str(exc)))}[/]"
    if checks and all(c.status == "unknown" for c in checks):
        return "[yellow]not in manifest[/]"
    bad = [c for c in checks if c.status in ("missing", "mismatch")]
    return "[green]yes[/]" if not bad else "[red]" + ", ".join(f"{c.name} {c.status}" for c in bad) + "[/]"


def make_int8_detector(name: str, root: Path) -> Check:
    """Make and time the int8 detector of an installed pack: OK with the timings, or WARNING saying why not."""
    from impersonation_cli.runtime.packs import load_pack
    from impersonation_cli.runtime.quantize import ensure_int8_detector

    try:
        installed = load_pack(name, root)
        made = ensure_int8_detector(installed.detector, installed.int8_folder)
    except ModelPackError as exc:
        return Check(WARNING, "int8 detector", f"warning: {exc}; scans will run the published float detector")
    return Check(OK, "int8 detector", int8_detail(made))
