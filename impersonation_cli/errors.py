"""Errors a user can act on. The CLI prints them as one line and exits with `exit_code`."""

from __future__ import annotations

import numbers
import os
import re
import stat
import unicodedata
from collections.abc import Callable, Collection, Mapping
from pathlib import Path
from typing import Any

# Settings and rooms files are a few KB: a larger one is a mistake or an attack (/dev/zero, a huge generated file).
MAX_SETTINGS_BYTES = 1 << 20
# An eval manifest names a case in about 175 bytes: a file a case of a whole FF++ or DFDC split (6,000 and more)
# was refused at 1 MiB.
MAX_MANIFEST_BYTES = 64 << 20

EXIT_OK = 0
EXIT_FOUND = 1
EXIT_USAGE = 2
EXIT_UNREADABLE = 3
EXIT_INTERRUPTED = 130  # as shells report a process ended by SIGINT (128 + 2)

# The highest sampling rates, frames a second: a scan's (`--fps`, `[scan] fps`) and known footage's
# (`footage add --fps`, `[replay] footage_fps`). Above them a scan decodes every frame and gains nothing.
MAX_SCAN_FPS = 120
MAX_FOOTAGE_FPS = 30
# A live room's (`watch --fps`): every room decodes in real time beside the others.
MAX_WATCH_FPS = 30
# And its lowest, a frame every 1000 s: the watch shows rates to 3 decimals, and at --fps 5e-324 the rooms the
# machine holds at the target rate came to infinity (an OverflowError when the watch ended).
MIN_WATCH_FPS = 0.001
# The longest length of time a setting takes: ten years. Python's waits refuse a timeout past
# threading.TIMEOUT_MAX (292 years): `watch --timeout 99999999999h` ended in an OverflowError while stopping.
MAX_SECONDS = 10 * 365 * 24 * 3600


class UserError(Exception):
    """A problem with the user's input or set-up, explained in one line."""

    exit_code = EXIT_USAGE


class UnreadableInput(UserError):
    """A source that cannot be opened or decoded; a batch goes on with the others."""

    exit_code = EXIT_UNREADABLE


class ModelPackError(UserError):
    """A model pack that is missing, incomplete or fails verification."""


class InterruptedAfter(UserError):
    """A Ctrl-C (or SIGTERM) after the work asked for was done and kept: what was done, in one line, exit 130."""

    exit_code = EXIT_INTERRUPTED


class GalleryError(UserError):
    """A gallery file that is unreadable, incompatible, or an operation it refuses."""


def plain_number(value: object) -> object:
    """A NumPy scalar (np.int64(2), np.float32(2.0): what a notebook's arithmetic gives) as the Python number it
    holds, so the checks read it as a number and JSON can write it; anything else as it is."""
    if isinstance(value, numbers.Integral) and not isinstance(value, int):
        return int(value)
    if isinstance(value, numbers.Real) and not isinstance(value, int | float):
        return float(value)
    return value


def plain_numbers(settings: object) -> None:
    """A frozen dataclass's NumPy-scalar fields replaced by the Python numbers they hold (see plain_number)."""
    for name, value in vars(settings).items():
        if plain_number(value) is not value:
            object.__setattr__(settings, name, plain_number(value))


def check_rate(fps: float | None, highest: float, name: str = "--fps", lowest: float = 0.0) -> None:
    """A sampling rate in (0, `highest`] frames a second and at least `lowest`, or None (the default), else a
    UserError naming the option; NaN and infinity are outside."""
    number = isinstance(fps, int | float) and not isinstance(fps, bool)
    if fps is not None and not (number and 0 < fps <= highest and fps >= lowest):
        # The value said: ReaderSettings(fps="2") read 'must be between 0 and 30', where 2 is.
        least = f" (at least {lowest:g})" if lowest else ""
        raise UserError(f"{name} must be between 0 and {highest:g}{least}, not {fps!r:.40}")


# More threads per model than this is a typo: ONNX Runtime starts every one of them (--threads 99999 sat for
# minutes creating threads on a 2-core machine before doing anything).
MAX_THREADS = 1024


def check_threads(threads: int | None, name: str = "--threads") -> None:
    """A thread count from 1 to MAX_THREADS, or None (the default), else a UserError naming the option. Checked
    where a count enters, before `threads or default` reads 0 as the default and before ONNX Runtime is given -1."""
    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
        raise UserError(f"{name} must be a whole number of at least 1, not {threads!r}")
    if threads is not None and threads > MAX_THREADS:
        raise UserError(f"{name} must be at most {MAX_THREADS}, not {threads!r}")


def check_seconds(seconds: float, name: str, *, zero: bool = True) -> None:
    """A length of time of at least 0 seconds (above 0 without `zero`) and at most MAX_SECONDS, else a UserError
    naming the option; NaN, infinity and what is not a number are outside."""
    number = isinstance(seconds, int | float) and not isinstance(seconds, bool)
    if not (number and (seconds >= 0 if zero else seconds > 0) and seconds < float("inf")):
        least = "of at least 0" if zero else "above 0"
        raise UserError(f"{name} must be a number of seconds {least}, not {seconds!r}")
    if seconds > MAX_SECONDS:
        raise UserError(f"{name} must be at most {MAX_SECONDS} seconds (ten years), not {seconds!r}")


def unknown_keys(item: Mapping[Any, Any], allowed: Collection[str]) -> list[str]:
    """The keys of a file's object that its format does not have, sorted, as text: strict readers (gallery
    exports, eval manifests) refuse them rather than drop their values silently."""
    return sorted(str(key) for key in item if key not in allowed)


# Python refuses to read an integer of over 4300 digits (a ValueError, not the parser's own error) and says what a
# programmer may do about it: "...; use sys.set_int_max_str_digits() to increase the limit".
_DIGITS_LIMIT = re.compile(
    r"Exceeds the limit \((\d+) digits\) for integer string conversion(?:: value has (\d+) digits)?"
)


def parse_error(error: BaseException) -> str:
    """Why a TOML or JSON file did not parse, in one line for its user: the parser's message (its first line), and
    for Python's refusal of a huge integer the number it refused ("a number of 5001 digits; at most 4300 are read")."""
    text = str(error)
    if found := _DIGITS_LIMIT.search(text):
        limit, digits = found.groups()
        return (
            f"a number of {digits} digits; at most {limit} are read" if digits else f"a number of over {limit} digits"
        )
    return text.splitlines()[0] if text else type(error).__name__


def check_count(count: int, name: str) -> None:
    """A whole number of at least 1, else a UserError naming the setting."""
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise UserError(f"{name} must be a whole number of at least 1, not {count!r}")


# Bidi embeddings, overrides and isolates: they reorder the text after them ('x\u202egpj.exe' reads as 'xexe.jpg').
# A character-class fragment, for the reports that drop them while keeping other invisible characters, and the
# class itself (HTML and JUnit reports replace them; input refuses them).
BIDI_REORDERING = "\u202a-\u202e\u2066-\u2069"
BIDI = re.compile(f"[{BIDI_REORDERING}]")


def has_control_characters(text: str) -> bool:
    """C0 and C1 controls, ESC and DEL included: names and rooms holding them would drive the terminal that
    prints them (escape sequences), so input refuses them. Also surrogates: the bytes of a folder or argument
    that are not UTF-8, which SQLite cannot store. And the bidi controls that reorder text (BIDI_REORDERING): a
    name holding U+202E printed as another ('Eve\u202eenilloC' reads 'EveCollinE'), which no output undid."""
    return any(unicodedata.category(c) in ("Cc", "Cs") for c in text) or BIDI.search(text) is not None


def is_device(path: Path) -> bool:
    """Whether `path` is a character or block device (/dev/zero, /dev/urandom, a terminal): a document read whole
    from one never ends (read_text() of /dev/zero fills memory). A pipe is not one: `/dev/stdin` fed a file reads."""
    try:
        mode = path.stat().st_mode
    except (OSError, ValueError):
        return False  # the read that follows says what is wrong
    return stat.S_ISCHR(mode) or stat.S_ISBLK(mode)


URL_LIKE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")  # a scheme, then '//'


def path_parser(name: str, folder: bool = False) -> Callable[[str], Path]:
    """How the command line reads the path option or argument `name`: its text as a Path, '' (or blanks) refused.
    pathlib reads '' as the current folder: `--models ''` listed the working folder as the model folder,
    `--gallery "$UNSET"` said '.' was a folder, and `--evidence-dir ''` put the crops there without a word (the
    API refuses '' too: api._no_empty_paths). pathlib also drops a trailing '/', which says the user means a
    folder: a path to a file refuses one (`--json out/` wrote a file named `out`), a `folder` path keeps it."""

    def parse(text: str) -> Path:
        if not text.strip():
            raise UserError(f"{name} is an empty path: give a file or folder")
        if not folder and text.endswith(("/", os.sep)):
            raise UserError(f"{name} {text}: ends in '{text[-1]}', a folder; give a file")
        if URL_LIKE.match(text) and not os.path.lexists(text):
            # Read as a path, a URL lost a slash and kept its password: 'rtsp:/u:pw@h/x: no such result file'.
            from impersonation_cli.io.urls import redact_url

            raise UserError(f"{name} {redact_url(text)}: a URL; give a {'folder' if folder else 'file'} here")
        return Path(text)

    return parse


def read_settings_text(path: Path, what: str, limit: int = MAX_SETTINGS_BYTES) -> str:
    """A config, rooms or manifest file's text: at most `limit` bytes of UTF-8, or a one-line UserError naming it."""
    try:
        # Opened without waiting for a writer: a FIFO no program writes to hung scan, footage and doctor for ever.
        # A pipe with a writer (`--config <(...)`) is then read as usual, blocking again.
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        os.set_blocking(descriptor, True)
        with open(descriptor, "rb") as stream:
            piped = stat.S_ISFIFO(os.fstat(descriptor).st_mode)
            data = stream.read(limit + 1)
    except OSError as exc:
        raise UserError(f"cannot read {what} {path}: {exc.strerror or exc}") from exc
    if piped and not data:
        raise UserError(f"{what} {path} is a pipe that nothing was written to")
    if len(data) > limit:
        raise UserError(f"{what} {path} is over {limit >> 20} MiB; it cannot be a {what}")
    try:  # -sig: a byte-order mark (Windows editors write one) failed TOML and JSON at "line 1, column 1"
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UserError(f"{what} {path} is not UTF-8 text (byte {exc.start}); is it a binary file?") from exc


def interrupted(exc: BaseException) -> bool:
    """A Ctrl-C, or an error raised because of one: a C extension interrupted while it loads (onnxruntime) says
    `ImportError: initialization failed`, caused by the KeyboardInterrupt."""
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        if isinstance(cause, KeyboardInterrupt):
            return True
        seen.add(id(cause))
        cause = cause.__cause__ or cause.__context__
    return False
