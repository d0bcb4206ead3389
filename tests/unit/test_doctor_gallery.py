"""`doctor`'s gallery line: a missing gallery is only made by `gallery add`, and a scan naming it stops."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from impersonation_cli.gallery.store import GALLERY_ENV, Gallery, ReferenceFace
from impersonation_cli.runtime.packs import ModelPack, recognizer_id
from impersonation_cli.tools.installation import (
    OK,
    PROBLEM,
    WARNING,
    Check,
    check_config,
    check_gallery,
)


def test_a_named_gallery_that_is_missing_is_said_to_stop_scans(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(GALLERY_ENV, raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    named = check_gallery(tmp_path / "typo.sqlite")
    assert named.status == WARNING and "scans naming it stop with an error" in named.detail
    monkeypatch.setenv(GALLERY_ENV, str(tmp_path / "from-env.sqlite"))
    assert "scans naming it stop with an error" in check_gallery(None).detail
    monkeypatch.delenv(GALLERY_ENV)
    default = check_gallery(None)  # the per-user default: scans start with it empty, with a warning
    assert default.status == WARNING and "stop" not in default.detail and "does not exist yet" in default.detail


def test_reading_the_missing_default_gallery_leaves_no_file(tmp_path: Path) -> None:
    # A scan reads the gallery only, yet made an empty default gallery file (and its folders) on first use.
    missing = tmp_path / "data" / "impersonation-cli" / "gallery.sqlite"
    with Gallery(missing, read_only=True) as store:
        assert len(store.index()) == 0 and store.authorizations() == []
    assert not (tmp_path / "data").exists()


@pytest.mark.parametrize(
    ("kind", "words"), [("folder", "is a folder, not a gallery file"), ("device", "not a regular file")]
)
def test_a_gallery_path_that_is_no_file_is_a_problem_said_as_it_is(tmp_path: Path, kind: str, words: str) -> None:
    """A folder or /dev/null given as the gallery was reported as 'does not exist yet' (a warning)."""
    path = tmp_path if kind == "folder" else Path("/dev/null")
    check = check_gallery(path)
    assert check.status == PROBLEM and words in check.detail, check


def test_a_config_every_scan_refuses_is_a_problem(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """doctor said nothing of the settings file: with $IMPERSONATION_CONFIG misspelt or `fps = 0` in it, every
    line was ok and every scan then stopped with exit 2."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("IMPERSONATION_CONFIG", str(tmp_path / "missing.toml"))
    missing = check_config(None)
    assert missing.status == PROBLEM and "cannot read config" in missing.detail, missing
    bad = tmp_path / "bad.toml"
    bad.write_text("[scan]\nfps = 0\n", encoding="utf-8")
    assert check_config(bad).status == PROBLEM
    assert "[scan] fps must be above 0" in check_config(bad).detail
    monkeypatch.delenv("IMPERSONATION_CONFIG")
    assert check_config(None) == Check(OK, "config", "none found: the shipped defaults apply")


def test_a_gallery_made_by_another_recognizer_than_the_packs_is_a_problem(tmp_path: Path) -> None:
    """doctor said 'ok gallery g.sqlite: 1 people' of a gallery enrolled with w600k_r50 while its pack held
    w600k_mbf, and every scan then stopped (exit 2: 'was made with recognizer ...')."""
    path = tmp_path / "g.sqlite"
    embedding = np.ones(512, dtype=np.float32) / np.sqrt(512)
    with Gallery(path) as store:
        store.add_person(
            "Eileen Collins",
            [ReferenceFace("a" * 64, "ref.jpg", "w600k_r50.onnx:4c06", embedding, 120.0, 0.9, 80.0, 1)],
        )
    other = check_gallery(path, recognizer="w600k_mbf.onnx:9cc6")
    assert other.status == PROBLEM
    assert "was made with recognizer w600k_r50.onnx:4c06, but the pack in use has w600k_mbf.onnx:9cc6" in other.detail
    assert check_gallery(path, recognizer="w600k_r50.onnx:4c06") == Check(
        OK, "gallery", f"{path}: 1 people, 0 footage videos"
    )
    assert check_gallery(path).status == OK  # no pack to compare with (doctor says the pack's problem)
    with Gallery(tmp_path / "empty.sqlite") as store:  # nobody enrolled yet: any recognizer may start it
        pass
    assert check_gallery(tmp_path / "empty.sqlite", recognizer="w600k_mbf.onnx:9cc6").status == WARNING


def test_the_recognizer_id_names_the_file_and_its_sha256_prefix(tmp_path: Path) -> None:
    pack = tmp_path / "models" / "mine"
    pack.mkdir(parents=True)
    (pack / "w600k_mbf.onnx").write_bytes(b"recognizer")
    assert recognizer_id(ModelPack("mine", pack, {"recognition": pack / "w600k_mbf.onnx"})) == (
        f"w600k_mbf.onnx:{hashlib.sha256(b'recognizer').hexdigest()[:16]}"
    )


def test_a_models_path_that_is_a_file_is_a_problem_beside_the_other_checks(tmp_path: Path) -> None:
    """IMPERSONATION_MODELS naming a file ended doctor with that one error, exit 2, and no other check said."""
    from impersonation_cli.tools.installation import check_models

    (tmp_path / "models").write_text("x")
    (check,) = check_models(tmp_path / "models", None)
    assert check.status == PROBLEM and "is a file, not a folder of model packs" in check.detail, check


def test_an_int8_copy_that_cannot_be_made_there_is_not_promised_to_the_first_scan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In a read-only models folder doctor said 'not made yet: the first CPU scan makes it', which it cannot."""
    import os

    from impersonation_cli.tools.installation import check_models

    from .onnx_files import SCRFD_OUTPUTS, model_file

    pack = tmp_path / "models" / "mine"
    pack.mkdir(parents=True)
    model_file(pack / "det.onnx", [1, 3, None, None], SCRFD_OUTPUTS)
    model_file(pack / "rec.onnx", [None, 3, 112, 112], [[1, 512]])
    assert "the first CPU scan makes it" in check_models(tmp_path / "models", "mine")[-1].detail
    access = os.access
    monkeypatch.setattr(os, "access", lambda path, mode, **kw: False if mode & os.W_OK else access(path, mode, **kw))
    last = check_models(tmp_path / "models", "mine")[-1]
    assert last.status == WARNING and "cannot be made in" in last.detail and "float detector" in last.detail


def test_a_settings_file_that_keeps_scans_on_the_float_detector_is_said_so(tmp_path: Path) -> None:
    """With `[detector] precision = "fp32"` doctor still said of the int8 copy 'scans on CPU use it' (or that the
    first scan would make it), while every scan with that file ran the published float detector."""
    from impersonation_cli.tools.installation import check_models

    from .onnx_files import SCRFD_OUTPUTS, model_file

    pack = tmp_path / "models" / "mine"
    pack.mkdir(parents=True)
    model_file(pack / "det.onnx", [1, 3, None, None], SCRFD_OUTPUTS)
    model_file(pack / "rec.onnx", [None, 3, 112, 112], [[1, 512]])
    settings = tmp_path / "fp32.toml"
    settings.write_text('[detector]\nprecision = "fp32"\n', encoding="utf-8")
    last = check_models(tmp_path / "models", "mine", settings)[-1]
    assert last.status == OK and last.detail == f'not used: [detector] precision = "fp32" in {settings}', last
    settings.write_text('[detector]\nprecision = "int8"\n', encoding="utf-8")
    assert "the first CPU scan makes it" in check_models(tmp_path / "models", "mine", settings)[-1].detail
