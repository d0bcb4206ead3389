"""Output files written whole or not at all.

Every document the tool writes (scan JSON and JSONL, HTML reports, notices, JUnit, eval JSON, gallery exports,
evidence crops) goes through here: the bytes go to a temporary file in the target's folder, reach the disk, and
only then are renamed over the target. A full disk, a crash or Ctrl-C leaves the previous file as it was (a
result.json used to become 4096 bytes of invalid JSON on a full disk) and no temporary file behind.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
import stat
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from impersonation_cli.errors import UserError
from impersonation_cli.io.names import shown_name

T = TypeVar("T")


def write_text_atomic(path: Path, text: str) -> None:
    write_bytes_atomic(path, text_bytes(text))


def text_bytes(text: str) -> bytes:
    """`text` as UTF-8, a file name's bytes that are not UTF-8 (held as surrogates) as the visible `\\xNN`
    (io/names.py). JSON text is made so before (results.shown_json): a `\\x` inside a JSON string is no escape."""
    return shown_name(text).encode("utf-8")


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Replace `path` with `data` in one step; an OSError names `path` (not the temporary file). A symbolic
    link is followed (its target file is replaced, the link stays); a device or pipe (/dev/null, /dev/stdout,
    a FIFO) is written into, as `>` would: renaming a file over it would put a file where the device was."""
    write_files_atomic({path: data})


def write_files_atomic(files: Mapping[Path, bytes]) -> None:
    """Several files as write_bytes_atomic writes one, all or none: each is staged in a temporary file beside
    its target, and the temporaries replace their targets only once every one is on disk, so a full disk on the
    last leaves the others as they were. A device or pipe is written into while staging (it cannot be taken
    back, but a failure there still replaces no file)."""
    staged: list[tuple[Path, Path]] = []
    made: list[Path] = []  # folders made for the files, taken away again (when empty) if the writing fails
    try:
        for path, data in files.items():
            # Asked of the path itself, which stat follows: /dev/stdout to a pipe reads as the pipe, whereas its
            # realpath, /proc/<pid>/fd/pipe:[...], names nothing (`scan --json /dev/stdout | jq` failed so).
            if (descriptor := descriptor_named(path)) is not None:
                _write_descriptor(path, descriptor, data)
            elif path.exists() and not path.is_file() and not path.is_dir():
                _write_into(path, data)
            else:
                target = Path(os.path.realpath(path)) if path.is_symlink() else path
                made += _missing_folders(target.parent)
                staged.append((_stage(target, data), target))
        for temporary, target in staged:
            _named(target, os.replace, temporary, target)
        made.clear()
    finally:
        for temporary, _ in staged:  # gone once renamed; left only by a failure
            _remove(temporary)
        for folder in reversed(made):  # a failed `report` left the folders of the documents it did not write
            with contextlib.suppress(OSError):
                folder.rmdir()


# Names of a process's own descriptors (Linux, macOS): /dev/stdout is /dev/fd/1, /proc/self/fd/1.
STANDARD_DESCRIPTORS = {"/dev/stdin": 0, "/dev/stdout": 1, "/dev/stderr": 2}
_DESCRIPTOR_NAME = re.compile(r"/dev/fd/(?P<fd>\d+)|/proc/(?:self|(?P<pid>\d+))/fd/(?P<proc_fd>\d+)")
STDOUT, STDERR = 1, 2


def descriptor_number(path: Path) -> int | None:
    """The descriptor of this process that `path` names (/dev/stdout, /dev/stderr, /dev/fd/N, /proc/self/fd/N),
    open or not; else None."""
    text = str(path)
    if text in STANDARD_DESCRIPTORS:
        return STANDARD_DESCRIPTORS[text]
    found = _DESCRIPTOR_NAME.fullmatch(text)
    if found is None or found["pid"] not in (None, str(os.getpid())):
        return None
    return int(found["fd"] or found["proc_fd"])


def descriptor_named(path: Path) -> int | None:
    """stdout or stderr where `path` names one (/dev/stdout, /dev/fd/1, /proc/self/fd/2), else None. Such an
    output is written into the descriptor as it is: opened again by its name, the file a shell redirected stdout
    to was replaced by a new one (`--jsonl /dev/stdout >> log` lost what the log held, and what the command printed
    after it went to the replaced file). Other descriptors are the shell's pipes (`>(jq .)`, written by name as a
    pipe is) or the tool's own files (`outputs.files.writable_file` refuses those)."""
    number = descriptor_number(path)
    return number if number in (STDOUT, STDERR) else None


def goes_to_stdout(path: Path | None) -> bool:
    """Whether an output named `path` is written to stdout: '-', or a name of descriptor 1 (/dev/stdout)."""
    return path is not None and (str(path) == "-" or descriptor_named(path) == STDOUT)


def _write_descriptor(path: Path, descriptor: int, data: bytes) -> None:
    """`data` written into stdout or stderr at its offset (a `>>` redirect's end), after what Python holds for
    them, so the lines keep their order. A reader that stopped reading is an error about the output, as for '-':
    as a plain broken pipe the CLI took it for its last printing and the scan that found someone ended 0."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(AttributeError, OSError, ValueError):
            stream.flush()
    try:
        _named(path, _write_all, descriptor, data)
    except BrokenPipeError:
        raise UserError(f"cannot write {path}: its reader stopped reading (broken pipe)") from None


def _write_all(descriptor: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(descriptor, view) :]


def write_stdout(data: bytes) -> None:
    """A machine output's bytes (UTF-8 JSON) on stdout as they are, whatever the locale's encoding: printed as
    text under a Latin-1 locale, a JSON line was written in Latin-1 and a CJK name failed the scan (exit 4).
    Raises OSError where stdout is closed (`>&-`: the result was dropped without a word) or cannot be written."""
    stream = sys.stdout
    if stream is None:
        raise OSError(errno.EBADF, "stdout is closed")
    stream.flush()
    binary = getattr(stream, "buffer", None)
    if binary is None:  # a text stream standing in for stdout (a caller's StringIO)
        stream.write(data.decode("utf-8"))
    else:
        binary.write(data)
        binary.flush()
    stream.flush()


def make_folder(folder: Path) -> None:
    """`mkdir -p folder`, through links: a link to a folder not made yet makes its target (output checks pass such a
    folder without making anything: `outputs.files._folder_problem`)."""
    Path(os.path.realpath(folder)).mkdir(parents=True, exist_ok=True)


def _missing_folders(folder: Path) -> list[Path]:
    """The folders `make_folder(folder)` would make, outermost first."""
    missing, current = [], Path(os.path.realpath(folder))
    while not current.exists() and current != current.parent:
        missing.append(current)
        current = current.parent
    return missing[::-1]


def _stage(path: Path, data: bytes) -> Path:
    """`data` in a new temporary file beside `path`, on disk, with the permissions of the file it will replace."""
    make_folder(path.parent)
    temporary = path.with_name(_temporary_name(path.name))
    try:
        mode = stat.S_IMODE(path.stat().st_mode) if path.is_file() else None
        _named(path, _write_new, temporary, data, mode)
    except BaseException:
        _remove(temporary)
        raise
    return temporary


# A file name's longest on Linux, macOS and Windows (bytes on the first two, UTF-16 units on the last).
NAME_MAX = 255


def _temporary_name(name: str) -> str:
    """A hidden name for `name`'s new contents, as long as a name may be at most: a legal 248-byte output name,
    staged under its own name plus 14 bytes, failed with 'File name too long' after the whole scan."""
    suffix = f".{secrets.token_hex(4)}.tmp"
    room = NAME_MAX - len(suffix) - 1
    return "." + os.fsdecode(os.fsencode(name)[:room]) + suffix


def _write_new(path: Path, data: bytes, mode: int | None = None) -> None:
    """`data` in a file made here (O_EXCL: never through a link someone planted), on disk when this returns. Its
    permissions are `mode`, those of the file it replaces (a private export rewritten became readable by all),
    else 0o666 less the umask, as for any new file; the bytes go in only once they are set."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600 if mode is not None else 0o666)
    if mode is not None:
        try:
            os.fchmod(descriptor, mode)
        except BaseException:
            os.close(descriptor)
            raise
    with os.fdopen(descriptor, "wb") as stream:
        stream.write(data)
        stream.flush()
        os.fsync(stream.fileno())


def _named(path: Path, call: Callable[..., T], *args: Any) -> T:
    """`call(*args)`, its OSError naming `path`, the file the user asked for, not a temporary one."""
    try:
        return call(*args)
    except OSError as exc:
        raise OSError(exc.errno, exc.strerror or str(exc), str(path)) from exc


def _write_into(path: Path, data: bytes) -> None:
    _named(path, path.write_bytes, data)  # the open, the write and the close: a full device fails in the last


def _remove(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink()
