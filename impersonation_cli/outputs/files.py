"""Where results go and what they exit with: output files checked before the work, the result document and its
JSON lines, the report documents, and the exit-code policy shared by `scan`, `watch` and `report`."""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable, Collection, Iterable, Mapping
from pathlib import Path

from impersonation_cli.errors import EXIT_FOUND, EXIT_OK, EXIT_UNREADABLE, UserError
from impersonation_cli.gallery.store import GALLERY_ENV
from impersonation_cli.io.atomic_write import (
    descriptor_named,
    descriptor_number,
    goes_to_stdout,
    text_bytes,
    write_files_atomic,
    write_stdout,
)
from impersonation_cli.outputs.findings import DEFAULT_FAIL_POLICY, FailPolicy, is_flagged, read_report_input
from impersonation_cli.results import ScanResult, appearance_event, json_line


def writable_file(path: Path | None, option: str, *, stdout: bool = False) -> None:
    """Fail before the work, not after an hour of it, when `option`'s file could not be written: its folder must
    exist or be possible to make, and take files (it is made when the file is written). '-' is stdout where
    `stdout` allows it, and refused elsewhere (it used to become a file named '-')."""
    if path is None:
        return
    if str(path) == "-":
        if stdout:
            return
        raise UserError(f"{option} -: this output goes to a file only; give a file name")
    problem = "is a folder, not a file" if path.is_dir() else _descriptor_problem(path) or _folder_problem(path.parent)
    if problem:
        raise UserError(f"{option} {path}: {problem}")


def _descriptor_problem(path: Path) -> str | None:
    """Why an output named by a descriptor (/dev/fd/N) cannot be written: not open (found after an hour's scan),
    or a file's: written by name, /dev/fd/3 was the SQLite cache ONNX Runtime had opened, and the scan's JSON
    went over it. stdout and stderr are written into as they are (io.atomic_write.descriptor_named)."""
    number = descriptor_number(path)
    if number is None or descriptor_named(path) is not None:
        return None
    try:
        mode = os.fstat(number).st_mode
    except OSError:
        return f"descriptor {number} is not open"
    return f"descriptor {number} is a file's, not a pipe's: name the file" if stat.S_ISREG(mode) else None


def check_outputs(
    files: Mapping[str, Path | None],
    inputs: Iterable[str | Path] = (),
    folders: Mapping[str, Path | None] | None = None,
    stdout: Collection[str] = (),
    inside_allowed: bool = False,
) -> None:
    """Everything about a command's outputs that can be checked before its work: each file (by option) is none
    of the `inputs` and no other output's file (`distinct_files`), and can be written (`writable_file`, '-'
    meaning stdout for the options in `stdout`); each folder is not '-' and can be made and written
    (`writable_folder`), and holds no file output unless `inside_allowed` (`_files_outside_folders`)."""
    distinct_files(files, inputs)
    _files_outside_folders(files, folders or {}, inside_allowed)
    for option, path in files.items():
        writable_file(path, option, stdout=option in stdout)
    for option, folder in (folders or {}).items():
        if str(folder) == "-":  # as for a file option: it used to become a folder named '-'
            raise UserError(f"{option} -: this output is a folder; give a folder name")
        writable_folder(folder, option)


def distinct_files(outputs: Mapping[str, Path | None], inputs: Iterable[str | Path] = ()) -> None:
    """Refuse an output that is one of the command's input files, or the file of another output: writing it
    would destroy the input (a video replaced by the scan's JSON, a gallery by its own export) or the other
    output. Devices (/dev/null twice) and stdout are not files here."""
    named: dict[object, str] = {}
    for source in inputs:
        if Path(source).is_file():
            named.setdefault(_file_identity(Path(source)), f"the input {source}: writing it would destroy that input")
            for companion in _sqlite_companions(Path(source)):
                named.setdefault(
                    _file_identity(companion), f"the journal of the input {source}: writing it would destroy that input"
                )
    on_stdout = [option for option, path in outputs.items() if goes_to_stdout(path)]
    if len(on_stdout) > 1:
        raise UserError(f"{' and '.join(on_stdout)} cannot both go to stdout ('-')")
    for option, path in outputs.items():
        if path is None or str(path) == "-" or (path.exists() and not path.is_file()):
            continue
        identity = _file_identity(path)
        if identity in named:
            raise UserError(f"{option} {path} is {named[identity]}")
        named[identity] = f"also the file of {option}: give each output a file of its own"


SQLITE_MAGIC = b"SQLite format 3\x00"
# The files SQLite keeps beside a database: committed writes of a WAL gallery live in its -wal file until they are
# checkpointed, so `gallery export gallery.sqlite-wal` lost people another process had just added.
SQLITE_COMPANIONS = ("-wal", "-shm", "-journal")


def _sqlite_companions(path: Path) -> list[Path]:
    """The journal files beside `path` when it is an SQLite database (a gallery), whether or not they exist now."""
    try:
        with open(path, "rb") as stream:
            if stream.read(len(SQLITE_MAGIC)) != SQLITE_MAGIC:
                return []
    except OSError:
        return []
    return [path.with_name(path.name + suffix) for suffix in SQLITE_COMPANIONS]


def _files_outside_folders(
    files: Mapping[str, Path | None], folders: Mapping[str, Path | None], inside_allowed: bool
) -> None:
    """Refuse a file output named as a folder output: the folder is made during the work, so the file could only
    fail after it (`watch --json out --evidence-dir out` lost an hour's summary: 'out: Is a directory'). Refuse
    one in a sub-folder of a folder output too, unless `inside_allowed` (a report's drafts, each checked once
    named): evidence crops are named as people are found, one folder down, so `scan --json
    ev/clip-1a2b3c4d/s1-a1_Ann_00003.00s.jpg --evidence-dir ev` overwrote a crop whose sha256 the result records.
    A file at the folder's top is never a crop (`--evidence-dir out --json out/result.json` is a common layout).
    Refuse one a folder output is made in (`scan --json out --evidence-dir out/ev` lost the result the same way)."""
    named = [(option, folder) for option, folder in folders.items() if folder and str(folder) != "-"]
    made = {_file_identity(folder): (option, folder) for option, folder in named}
    above = {
        _file_identity(parent): (option, folder)
        for option, folder in named
        for parent in Path(os.path.realpath(folder)).parents
    }
    for option, path in files.items():
        if path is None or str(path) == "-":
            continue
        if found := made.get(_file_identity(path)):
            raise UserError(f"{option} {path} is also the folder of {found[0]}: give each output a path of its own")
        if found := above.get(_file_identity(path)):
            raise UserError(
                f"{option} {path} is a folder above {found[0]} {found[1]}, made before the work: give each output "
                "a path of its own"
            )
        holders = [] if inside_allowed else Path(os.path.realpath(path)).parents[1:]
        if found := next((made[i] for i in map(_file_identity, holders) if i in made), None):
            raise UserError(
                f"{option} {path} is in a sub-folder of {found[0]} {found[1]}, where evidence crops are written "
                "under names chosen as the work goes: give it a path outside that folder or at its top"
            )


def _file_identity(path: Path) -> object:
    """The same for two names of one file: device and inode when it exists, else its absolute real path (with
    '..' taken lexically where a folder before it does not exist yet, as the output's folder is made later)."""
    real = os.path.realpath(path)
    try:
        status = os.stat(real)
    except OSError:
        return real
    return (status.st_dev, status.st_ino)


def writable_folder(path: Path | None, option: str) -> None:
    """Fail in one line saying why `option`'s folder could not be made or written, if it could not."""
    problem = _folder_problem(path) if path is not None else None
    if problem:
        raise UserError(f"{option}: {problem}")


def _folder_problem(folder: Path) -> str | None:
    """Why `folder` could not be made and written, found without making it: the writers make their folders as they
    write, so a run refused later (an unreadable gallery, a bad config) leaves no empty folders behind."""
    if folder.exists() and not folder.is_dir():
        return f"{folder} is a file, not a folder"
    existing, missing = Path(os.path.realpath(folder)), list[str]()  # through links, as `make_folder` makes it
    while not os.path.lexists(existing) and existing != existing.parent:
        existing, missing = existing.parent, [existing.name, *missing]
    if not missing:
        return None if os.access(folder, os.W_OK | os.X_OK) else f"the folder {folder} is not writable"
    reason = _cannot_make(existing, missing)
    return f"cannot make the folder {folder}: {os.strerror(reason)}" if reason else None


def _cannot_make(existing: Path, missing: list[str]) -> int | None:
    """The error `mkdir -p` would meet making the folders `missing` in `existing` (None: it would meet none)."""
    if not existing.is_dir():  # a file, or a broken link, in the way
        return errno.ENOTDIR
    try:
        name_max = os.pathconf(existing, "PC_NAME_MAX")
    except OSError:  # a file system that does not say: mkdir will
        name_max = None
    if name_max is not None and any(len(os.fsencode(name)) > name_max for name in missing):
        return errno.ENAMETOOLONG
    return None if os.access(existing, os.W_OK | os.X_OK) else errno.EACCES


def write_outputs(result: ScanResult, json_path: Path | None, jsonl_path: Path | None) -> None:
    """The result document (`--json`) and one JSON line per appearance (`--jsonl`), the files written all or
    none; '-' is stdout (not for both: `distinct_files` refuses that)."""
    documents: dict[Path, bytes] = {}
    if json_path is not None:
        documents[json_path] = text_bytes(result.to_json() + "\n")
    if jsonl_path is not None:
        lines = "".join(json_line(appearance_event(a)) for a in result.appearances)
        documents[jsonl_path] = text_bytes(lines)
    if (printed := documents.pop(Path("-"), None)) is not None:
        try:
            write_stdout(printed)
        except OSError as exc:  # `--json - > /dev/full` said only '[Errno 28] No space left on device'
            raise UserError(f"cannot write the result to stdout ('-'): {exc.strerror or exc}") from exc
    write_files_atomic(documents)


def exit_code(result: ScanResult, policy: FailPolicy = DEFAULT_FAIL_POLICY) -> int:
    """0 nothing the fail policy selects was found, 1 it was (by default any registered identity; `--fail-on`
    picks verdicts), 3 an input was unreadable or truncated (and nothing selected was found)."""
    if any(policy.matches(a) for a in result.appearances) or any(policy.selects_source(s) for s in result.sources):
        return EXIT_FOUND
    if result.unreadable:
        return EXIT_UNREADABLE
    return EXIT_OK


def watch_exit_code(result: ScanResult, alerts_raised: int) -> int:
    """A watch that raised an alert found someone (1), whatever its summary holds; otherwise as a scan."""
    return EXIT_FOUND if alerts_raised else exit_code(result)


def report_gallery(gallery: Path | None) -> tuple[Path | None, str | None]:
    """The gallery a report shows photos from: the one named with --gallery or $IMPERSONATION_GALLERY, not the
    per-user default (a report shows that gallery's photos, not whichever one is configured here); and a warning
    to give once the documents are written, where $IMPERSONATION_GALLERY names no file."""
    if gallery is None and os.environ.get(GALLERY_ENV):
        named = Path(os.environ[GALLERY_ENV])
        if named.is_file():
            return named, None
        # Named for other commands (a new user's, not made yet): the report goes without photos, and says so
        # (a mistyped name lost the photos and the authorization check without a word).
        return None, f"${GALLERY_ENV} names {named}, which is not a file: the report shows no reference photos"
    return gallery, None


def write_reports(
    result_path: Path,
    gallery: Path | None,
    html_path: Path | None,
    notice_dir: Path | None,
    junit_path: Path | None,
    policy: FailPolicy,
    note: Callable[[str], None],
) -> tuple[int, ScanResult]:
    """Write the documents asked for, all or none of them, calling `note` with what was written; (how many
    appearances are flagged, the result)."""
    # Imported here: the HTML, notice and JUnit writers are needed only by `report`.
    from impersonation_cli.outputs.evidence_files import evidence_candidates
    from impersonation_cli.outputs.html import render_html
    from impersonation_cli.outputs.junit import junit_document
    from impersonation_cli.outputs.notice import notice_documents

    try:
        outputs = {"--html": html_path, "--junit": junit_path}
        inputs: list[Path] = [result_path, *([gallery] if gallery else [])]
        check_outputs(outputs, inputs, {"--notice": notice_dir}, inside_allowed=True)  # drafts: checked below
        report_input = read_report_input(result_path, gallery)
        result = report_input.result
        if report_input.caveat:
            note(report_input.caveat)
        # The evidence pictures the result names are inputs too (the report checks and embeds them): `--junit`
        # naming one replaced the crop a takedown rests on, its sha256 in the result, with XML.
        # Each picture once: a day's watch names the same few crops in thousands of appearances.
        pictures = dict.fromkeys(e.path for a in result.appearances for e in a.evidence_files if e.path)
        inputs += [path for picture in pictures for path in evidence_candidates(picture, report_input.result_dir)]
        distinct_files(outputs, inputs)
        notices = notice_documents(report_input, notice_dir) if notice_dir is not None else {}
        # The drafts' names are known once the result is read: none may be an input or another document
        # (`report notices/takedown-x.md --notice notices` replaced the result file with its own draft), or a
        # folder.
        for notice in notices:
            distinct_files({**outputs, "--notice": notice}, inputs)
            writable_file(notice, "--notice")
        documents = {path: text_bytes(text) for path, text in notices.items()}
        if html_path is not None:
            documents[html_path] = text_bytes(render_html(report_input))
        if junit_path is not None:
            documents[junit_path] = junit_document(result, policy)
        # One step for all: `--html k.html --junit /dev/full` replaced k.html, then failed.
        write_files_atomic(documents)
    except RecursionError:  # '[[[[...' thousands deep runs Python out of stack while parsing or printing it
        raise UserError(f"{result_path}: not a scan result: its JSON is nested too deeply") from None
    if html_path is not None:
        note(f"HTML report: {html_path}")
    if notice_dir is not None:
        notice_dir.mkdir(parents=True, exist_ok=True)  # made (and said) also when nothing is flagged
        note(f"{len(notices)} takedown-notice draft(s) in {notice_dir}")
        # Drafts of an earlier report (of another result, or of this source before its room was authorized) are
        # not this result's findings; removing a file the user may have edited is not the report's to do, but
        # "2 drafts in notices/" beside 4 files there let an outdated takedown be sent without a word.
        others = sorted(path.name for path in notice_dir.glob("takedown-*.md") if path not in notices)
        if others:
            named = ", ".join(others[:3]) + (f" and {len(others) - 3} more" if len(others) > 3 else "")
            note(
                f"{notice_dir} also holds {len(others)} draft(s) this result does not make, left as they were: {named}"
            )
    if junit_path is not None:
        note(f"JUnit XML: {junit_path}")
    return sum(1 for a in result.appearances if is_flagged(a)), result
