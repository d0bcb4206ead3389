"""Finding an appearance's evidence file again and checking it is the one the scan saved.

A result file is not trusted: its evidence path could name any file on this machine. A report only embeds
bytes whose sha256 matches the one recorded at scan time and that are an image, so a crafted result cannot
smuggle, say, a key file into a report (to name a file's sha256 one must already know its content).
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from pathlib import Path

from impersonation_cli.io.names import name_from_shown
from impersonation_cli.results import Evidence

# Evidence crops are tens of kilobytes; a file far larger cannot be one (and is not read into memory).
MAX_EVIDENCE_BYTES = 20_000_000
# An evidence path's last parts tried beside a moved result: FOLDER/SOURCE-HASH/CROP.jpg and one folder above.
MOVED_PARTS = 4
# ...under the result file's folder and this many folders above it: a case folder holding out/r.json beside ev/
# was moved, and every crop read "missing".
MOVED_UP = 2
IMAGE_SIGNATURES = {b"\xff\xd8\xff": "image/jpeg", b"\x89PNG\r\n\x1a\n": "image/png"}

VERIFIED = "verified"
MISSING = "missing"
CHANGED = "changed"
NOT_SAVED = "not saved"
NOT_IMAGE = "not an image"
UNREADABLE = "unreadable"


@dataclass(frozen=True)
class EvidenceFile:
    status: str  # one of the constants above
    path: Path | None = None
    data: bytes | None = None


def image_type(data: bytes) -> str | None:
    """The MIME type of a JPEG or PNG by its first bytes, else None."""
    return next((mime for magic, mime in IMAGE_SIGNATURES.items() if data.startswith(magic)), None)


def data_uri(data: bytes) -> str | None:
    """An image as a data: URI (what the report's Content-Security-Policy allows), None if not an image."""
    mime = image_type(data)
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}" if mime else None


def locate(recorded: str, result_dir: Path) -> list[Path]:
    """The files the evidence may be: as recorded (relative paths from here), then relative to the result
    file's folder; each spelt as written, then with its `\\xNN` read back as the bytes they show (io/names.py).
    An evidence folder whose name is not UTF-8 is written so in the JSON, and a report looked for that spelling
    only: every crop was missing. The checksum tells the two spellings' files apart where both exist."""
    candidates: list[Path] = []
    for path in _spellings(recorded):
        candidates += [path] if path.is_absolute() else [path, result_dir / path]
    return [c for c in candidates if _is_file(c)]


def moved_along(recorded: str, result_dir: Path) -> list[Path]:
    """Where the evidence may be when the result's folder was not the folder the scan ran in: the recorded
    path's last parts (at most MOVED_PARTS, the crop's folder and the evidence folder's own name among them)
    under the result file's folder, then under the folders above it (MOVED_UP). `scan --json out/r.json
    --evidence-dir out/ev` records 'out/ev/...', which names nothing once the report runs from out/ or out/ is
    moved; 'ev/...' beside r.json is the crop. `--json out/r.json --evidence-dir ev` in a case folder moved
    whole: 'ev/...' beside out/. Only a file with the recorded sha256 counts (check_evidence), so no other file
    there is mistaken for it."""
    candidates: list[Path] = []
    for base in [result_dir, *list(result_dir.absolute().parents)[:MOVED_UP]]:
        for path in _spellings(recorded):
            parts = path.parts[1:] if path.is_absolute() else path.parts
            candidates += [base.joinpath(*parts[-k:]) for k in range(min(len(parts), MOVED_PARTS), 1, -1)]
    return [c for c in dict.fromkeys(candidates) if _is_file(c)]


def evidence_candidates(recorded: str, result_dir: Path) -> list[Path]:
    """Every file `check_evidence` may take for the evidence recorded as `recorded` (`locate`, then
    `moved_along`): the files a report reads, which none of its outputs may replace."""
    return [*locate(recorded, result_dir), *moved_along(recorded, result_dir)]


def _spellings(recorded: str) -> list[Path]:
    """A recorded evidence path as written, then with its `\\xNN` read back as bytes (io/names.py), if that differs."""
    return [Path(spelling) for spelling in dict.fromkeys((recorded, name_from_shown(recorded)))]


def _is_file(path: Path) -> bool:
    """Whether `path` is a file; a name too long for the system to look up is none."""
    try:
        return path.is_file()
    except OSError:  # is_file raises ENAMETOOLONG: a crafted evidence path stopped the whole report
        return False


def check_evidence(evidence: Evidence | None, result_dir: Path) -> EvidenceFile:
    """The evidence file and whether it is the crop the scan saved. A file at the recorded relative path here
    that is not it does not hide the one beside the result: a report of another folder's result found this
    folder's crop of the same name and called the evidence changed."""
    if evidence is None or not evidence.path or not evidence.sha256:
        return EvidenceFile(NOT_SAVED)
    checked = [_check_file(path, evidence.sha256) for path in locate(evidence.path, result_dir)]
    if not any(c.status in (VERIFIED, NOT_IMAGE) for c in checked):
        # Beside the result where the recorded path names nothing from here: the crop altered there was 'missing'
        # (report run from out/, or out/ moved), though the file that was the evidence stood where it was saved.
        checked += [_check_file(path, evidence.sha256) for path in moved_along(evidence.path, result_dir)]
    found = next((c for c in checked if c.status in (VERIFIED, NOT_IMAGE)), None)
    return found or (checked[0] if checked else EvidenceFile(MISSING))


def found_elsewhere(evidence: Evidence | None, checked: EvidenceFile) -> Path | None:
    """Where `check_evidence` found the crop, when that is not its recorded path (the result's folder moved, or the
    report run from another folder): the file the documents' checks were made on, which the recorded path, shown
    beside it, does not name from here."""
    if evidence is None or not evidence.path or checked.path is None:
        return None
    return None if checked.path in _spellings(evidence.path) else checked.path


def _check_file(path: Path, sha256: str) -> EvidenceFile:
    try:
        if path.stat().st_size > MAX_EVIDENCE_BYTES:
            return EvidenceFile(CHANGED, path)
        data = path.read_bytes()
    except OSError:  # not ours to read (permissions), or removed since: the report goes on without it
        return EvidenceFile(UNREADABLE, path)
    if hashlib.sha256(data).hexdigest() != sha256.lower():
        return EvidenceFile(CHANGED, path)
    if image_type(data) is None:
        return EvidenceFile(NOT_IMAGE, path)
    return EvidenceFile(VERIFIED, path, data)
