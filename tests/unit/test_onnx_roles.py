"""What an unknown ONNX file of a pack folder does, read from its shapes (runtime/packs.onnx_role). A zero-byte
file (an interrupted copy) parses as an empty model: `models list`, `models verify`, `doctor` and `scan` of a
folder holding one ended in an internal error, 'IndexError: list index out of range', exit 4. A model of six
outputs of any shape was taken for the detector, and every scan input was then 'unreadable'."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from impersonation_cli.runtime.packs import onnx_role

from .cli_in_process import run_cli
from .onnx_files import SCRFD_OUTPUTS, model_file


@pytest.mark.parametrize(
    ("outputs", "role"),
    [
        (SCRFD_OUTPUTS, "detection"),
        ([[None, 1]] * 3 + [[None, 4]] * 3, "detection"),  # SCRFD without keypoints
        ([[1]] * 6, None),
        ([None] * 6, None),
        ([], None),
    ],
)
def test_a_detector_is_told_by_its_outputs_shapes(tmp_path: Path, outputs: list, role: str | None) -> None:
    assert onnx_role(model_file(tmp_path / "m.onnx", [1, 3, None, None], outputs)) == role


def test_a_recognizer_and_a_landmark_model_are_told_by_their_sizes(tmp_path: Path) -> None:
    assert onnx_role(model_file(tmp_path / "r.onnx", [None, 3, 112, 112], [[1, 512]])) == "recognition"
    assert onnx_role(model_file(tmp_path / "l.onnx", [None, 3, 192, 192], [[1, 212]])) == "landmarks_106"


def test_a_zero_byte_onnx_file_has_no_role_and_the_pack_is_listed(tmp_path: Path) -> None:
    pack = tmp_path / "models" / "mypack"
    pack.mkdir(parents=True)
    (pack / "partial.onnx").write_bytes(b"")
    assert onnx_role(pack / "partial.onnx") is None
    listed = run_cli("models", "list", "--models", str(tmp_path / "models"))
    assert listed.returncode == 0 and "mypack" in listed.stdout, listed
    verified = run_cli("models", "verify", "mypack", "--models", str(tmp_path / "models"))
    assert verified.returncode == 1 and "internal error" not in verified.stderr, verified


def test_models_list_shows_a_pack_folder_named_with_control_characters_on_one_line(tmp_path: Path) -> None:
    """'ab<ESC>[31mcd<LF>ef' was listed as 'ab\\x1b[31m' on one row and 'ef' on the next, 'cd' lost."""
    pack = tmp_path / "models" / "ab\x1b[31mcd\nef"
    pack.mkdir(parents=True)
    model_file(pack / "det.onnx", [1, 3, None, None], SCRFD_OUTPUTS)
    model_file(pack / "rec.onnx", [None, 3, 112, 112], [[1, 512]])
    listed = run_cli("models", "list", "--models", str(tmp_path / "models"))
    assert listed.returncode == 0, listed
    assert "ab\\x1b[31mcd\\x0aef" in listed.stdout and "\x1b" not in listed.stdout, listed.stdout


def test_a_folder_named_as_a_known_pack_takes_its_files_by_their_shapes_where_names_give_no_role(
    tmp_path: Path,
) -> None:
    """A folder named buffalo_sc holding PyPI's copy of it (its detector scrfd_500m_bnkps.onnx, not det_500m.onnx)
    was refused 'has no detection model; reinstall it', reinstall being no remedy for a folder given by path."""
    from impersonation_cli.errors import ModelPackError
    from impersonation_cli.runtime.packs import load_pack

    root, pack = tmp_path / "models", tmp_path / "y" / "buffalo_sc"
    pack.mkdir(parents=True)
    detector = model_file(pack / "scrfd_500m_bnkps.onnx", [1, 3, None, None], SCRFD_OUTPUTS)
    recognizer = model_file(pack / "w600k_mbf.onnx", [None, 3, 112, 112], [[1, 512]])
    loaded = load_pack(str(pack), root)
    assert (loaded.detector, loaded.recognizer) == (detector, recognizer)
    detector.unlink()
    with pytest.raises(ModelPackError, match="has no detection model; give a folder holding a detector"):
        load_pack(str(pack), root)


def test_a_pack_given_as_a_folder_keeps_its_int8_copy_in_the_model_folder(tmp_path: Path) -> None:
    """A `--pack` folder (a Python package's, another user's) got an int8/ folder written into it by a scan."""
    from impersonation_cli.runtime.packs import INT8_CACHE, load_pack

    root, pack = tmp_path / "models", tmp_path / "mine"
    pack.mkdir()
    model_file(pack / "det.onnx", [1, 3, None, None], SCRFD_OUTPUTS)
    model_file(pack / "rec.onnx", [None, 3, 112, 112], [[1, 512]])
    given = load_pack(str(pack), root)
    assert given.int8_folder.parent == root / INT8_CACHE
    installed = root / "mine"
    shutil.copytree(pack, installed)
    assert load_pack("mine", root).int8_folder == installed / "int8"


def test_an_installed_pack_whose_files_do_not_verify_is_said_to_be_so(tmp_path: Path) -> None:
    """Scans and enrolment ran a damaged, replaced or removed pack file without a word (only doctor and models
    verify said so): a gallery made on a damaged recognizer was refused by every scan once the pack was mended."""
    from impersonation_cli.runtime.packs import damage_notice, load_pack

    root = tmp_path / "models"
    pack = root / "buffalo_sc"
    pack.mkdir(parents=True)
    model_file(pack / "det_500m.onnx", [1, 3, None, None], SCRFD_OUTPUTS)  # not the published bytes
    model_file(pack / "w600k_mbf.onnx", [None, 3, 112, 112], [[1, 512]])
    notice = damage_notice(load_pack("buffalo_sc", root))
    assert notice is not None and "det_500m.onnx mismatch, w600k_mbf.onnx mismatch" in notice
    assert "models install buffalo_sc" in notice
    assert damage_notice(load_pack(str(pack), tmp_path / "elsewhere")) is None  # a folder given: no published files


def test_a_pack_folder_of_two_detectors_is_refused_naming_both_and_still_listed(tmp_path: Path) -> None:
    """A folder holding det_2.5g.onnx and det_500m.onnx scanned with the last in name order (det_500m) without a
    word: the user who copied in the better detector got the worse one."""
    pack = tmp_path / "models" / "mine"
    pack.mkdir(parents=True)
    model_file(pack / "det_2.5g.onnx", [1, 3, None, None], SCRFD_OUTPUTS)
    model_file(pack / "det_500m.onnx", [1, 3, None, None], SCRFD_OUTPUTS)
    model_file(pack / "rec.onnx", [None, 3, 112, 112], [[1, 512]])
    scanned = run_cli("scan", "nothing.mp4", "--pack", str(pack), "--models", str(tmp_path / "models"))
    assert scanned.returncode == 2, scanned
    assert "holds 2 detection models (det_2.5g.onnx, det_500m.onnx); keep one" in scanned.stderr, scanned.stderr
    listed = run_cli("models", "list", "--models", str(tmp_path / "models"))
    assert listed.returncode == 0 and "mine" in listed.stdout and "keep one" in listed.stdout, listed
