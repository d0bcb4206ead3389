"""Evidence files: the best crop of each appearance and the whole frame it was cut from, saved with safe names and
their sha256."""

from __future__ import annotations

import dataclasses
import hashlib
import unicodedata
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

from impersonation_cli.io.atomic_write import write_bytes_atomic
from impersonation_cli.io.urls import redact_url
from impersonation_cli.results import Evidence

if TYPE_CHECKING:
    from impersonation_cli.pipeline.tracks import BestView

# An appearance's evidence: the face crop, and the whole frame when it was kept; (None, None) where none is saved.
SavedView = tuple[Evidence | None, Evidence | None]
NOT_SAVED: SavedView = (None, None)


def slug(text: str, limit: int = 40) -> str:
    """A file-name-safe rendering of untrusted text (names, URLs), at most `limit` bytes of UTF-8: the letters, marks
    and digits of any script (a Chinese room reads as itself), '-' and '_'; each run of anything else (separators,
    controls, bidi and zero-width characters, punctuation, symbols, spaces) is one '_'. Never a leading '-'."""
    kept = "".join(
        c if c in "-_" or unicodedata.category(c)[0] in "LMN" else " " for c in unicodedata.normalize("NFC", text)
    )
    cleaned = "_".join(kept.split()).strip("_-").encode()[:limit].decode(errors="ignore")  # no character cut in half
    return cleaned or "x"


def source_slug(source: str) -> str:
    # The hash keeps two sources with the same file name (in different folders) apart. A URL is named as it is
    # shown, without its password or tokens (io/urls.py): file names are handed on with the evidence.
    source = redact_url(source)
    # surrogateescape: a file name that is not UTF-8 hashes as its bytes. Other lone surrogates (JSON's '\ud800'
    # in a hand-edited result) are no file's bytes: surrogatepass hashes them (naming a notice raised an error).
    try:
        encoded = source.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        encoded = source.encode("utf-8", "surrogatepass")
    digest = hashlib.sha256(encoded).hexdigest()[:8]
    return f"{slug(Path(source).stem or source)}-{digest}"


def save_view(folder: Path, source: str, appearance_id: str, identity: str, view: BestView) -> SavedView:
    """A track's best view saved under `folder` as evidence: the face crop, and the whole frame when the tracker
    kept it (else None)."""
    crop = save_evidence(folder, source, appearance_id, identity, view.crop, view.time_s, view.box)
    if view.frame_jpeg is None:
        return crop, None
    path = evidence_path(folder, source, appearance_id, identity, view.time_s, view.frame_jpeg, "_frame")
    return crop, write_evidence(path, view.frame_jpeg, _not_saved(view.time_s, view.box))


def save_evidence(
    folder: Path, source: str, appearance_id: str, identity: str, crop: np.ndarray, time_s: float, box: np.ndarray
) -> Evidence:
    """The crop saved under `folder`; one that cannot be encoded or written (a full disk, a file where its
    folder should be) is not saved (path and sha256 None): the appearance is kept, as the scan found it. An
    OSError here used to cost the whole source, reported 'unreadable' as an internal error."""
    ok, data = cv2.imencode(".jpg", crop, [cv2.IMWRITE_JPEG_QUALITY, 92])
    not_saved = _not_saved(time_s, box)
    if not ok:
        return not_saved
    payload = data.tobytes()
    return write_evidence(evidence_path(folder, source, appearance_id, identity, time_s, payload), payload, not_saved)


def evidence_path(
    folder: Path, source: str, appearance_id: str, identity: str, time_s: float, payload: bytes, suffix: str = ""
) -> Path:
    """Where an appearance's evidence picture goes: one folder per source, the file named by the appearance, the
    person, the time and the start of the picture's sha256 (`suffix` "_frame" for the whole frame beside the
    crop). The hash keeps a crop once cited from being replaced: another scan of the same file into the same
    folder (at another --fps, another pack) found the same appearance at the same time with another box, and
    wrote its crop over the first one's, which that result's report then called changed."""
    digest = hashlib.sha256(payload).hexdigest()[:8]
    return folder / source_slug(source) / f"{appearance_id}_{slug(identity)}_{time_s:08.2f}s_{digest}{suffix}.jpg"


def _not_saved(time_s: float, box: np.ndarray) -> Evidence:
    return Evidence(path=None, sha256=None, time_s=round(time_s, 3), box=[round(float(v), 1) for v in box])


def write_evidence(path: Path, payload: bytes, evidence: Evidence) -> Evidence:
    """`evidence` as the crop `payload` written at `path` (made with its folder), or with path and sha256 None
    where it cannot be written: a scan's appearances are kept either way, whether the crop was encoded here or
    by a Ray actor (the driver's OSError there ended the whole scan, exit 2 and no result)."""
    try:
        write_bytes_atomic(path, payload)
    except OSError:
        return dataclasses.replace(evidence, path=None, sha256=None)
    return dataclasses.replace(evidence, path=str(path), sha256=hashlib.sha256(payload).hexdigest())
