"""Output files written whole or not at all.

Every document the tool writes (scan JSON and JSONL, HTML reports, notices, JUnit, eval JSON, gallery exports,
evidence crops) goes through here: the bytes go to a temporary file in the target's folder, reach the disk, and
only then are renamed over the target. A full disk, a crash or Ctrl-C leaves the previous file as it was (a
result.json used to become 4096 bytes of invalid JSON on a full disk) and no temporary file behind.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path


def write_text_atomic(path: Path, text: str) -> None:
    """`text` as UTF-8. A file name that is not UTF-8 (held as surrogates) is written as `\\udcXX` escapes: in a
    JSON string that is the escape JSON reads back, elsewhere a visible stand-in for the byte."""
    write_bytes_atomic(path, text.encode("utf-8", "backslashreplace"))


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Replace `path` with `data` in one step; an OSError names `path` (not the temporary file). A symbolic
    link is followed (its target file is replaced, the link stays); a device or pipe (/dev/null, /dev/stdout,
    a FIFO) is written into, as `>` would: renaming a file over it would put a file where the device was."""
    if path.is_symlink():
        path = Path(os.path.realpath(path))
    if path.exists() and not path.is_file() and not path.is_dir():
        _write_into(path, data)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        # O_EXCL: never through a link someone planted; mode 0o666 lets the umask decide, as for any new file.
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        with os.fdopen(descriptor, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except OSError as exc:
        _remove(temporary)
        raise OSError(exc.errno, exc.strerror or str(exc), str(path)) from exc
    except BaseException:
        _remove(temporary)
        raise


def _write_into(path: Path, data: bytes) -> None:
    try:
        with open(path, "wb") as stream:
            stream.write(data)
            stream.flush()
    except OSError as exc:
        raise OSError(exc.errno, exc.strerror or str(exc), str(path)) from exc


def _remove(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink()
