"""Pack names: one folder name under the model root. `models verify ..` once checked the root's parent, printed
nothing and exited 0; `--pack ''` quietly meant the default pack."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from impersonation_cli.errors import ModelPackError
from impersonation_cli.runtime.packs import (
    PACK_RECORD,
    _swap_in,
    install_pack,
    installed_pack_names,
    load_pack,
    model_root,
    verify_installed,
)

from .onnx_files import SCRFD_OUTPUTS, model_file


@pytest.fixture()
def root(tmp_path: Path) -> Path:
    """A model root with an empty folder and an unknown pack holding one (unreadable) ONNX file."""
    models = tmp_path / "models"
    (models / "empty").mkdir(parents=True)
    (models / "mine").mkdir()
    (models / "mine" / "det.onnx").write_bytes(b"not onnx")
    return models


@pytest.mark.parametrize("name", ["..", ".", "", "/tmp", "mine/", "../models/mine", "empty", "nosuch"])
def test_verify_refuses_what_is_not_an_installed_pack(root: Path, name: str) -> None:
    with pytest.raises(ModelPackError, match=f"pack {name!r} is not installed in "):
        verify_installed(name, root)


def test_verify_checks_an_installed_pack(root: Path) -> None:
    # No file has a role it can read: scans refuse such a pack, and so does verify (it listed nothing, exit 0).
    assert [(c.role, c.status) for c in verify_installed("mine", root)] == [
        ("detection", "missing"),
        ("recognition", "missing"),
    ]
    (root / "buffalo_sc").mkdir()
    (root / "buffalo_sc" / PACK_RECORD).write_text(json.dumps({"name": "buffalo_sc"}), encoding="utf-8")
    assert {c.status for c in verify_installed("buffalo_sc", root)} == {"missing"}  # a damaged install is reported


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "the pack name is empty"),
        ("  ", "the pack name is empty"),
        ("..", "is neither a folder of ONNX files nor a pack installed in"),
        ("../elsewhere", "is neither a folder of ONNX files nor a pack installed in"),
    ],
)
def test_pack_option_refuses_names_that_are_not_names(
    root: Path, name: str, message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A relative --pack is a folder path first: from a folder whose parent holds ONNX files, '..' is a pack.
    monkeypatch.chdir(root / "empty")
    with pytest.raises(ModelPackError, match=message):
        load_pack(name, root)


def test_only_folders_holding_a_pack_are_installed_packs(root: Path) -> None:
    # A models root set to a busy folder: its other folders are not packs, and never the "best installed" one.
    assert installed_pack_names(root) == ["mine"]
    (root / "mine" / "det.onnx").unlink()
    with pytest.raises(ModelPackError, match="no model pack is installed in"):
        load_pack(None, root)


def test_an_empty_source_is_refused_not_searched(tmp_path: Path) -> None:
    # `models install buffalo_sc --from ''` searched the whole current folder for ONNX files.
    with pytest.raises(ModelPackError, match="the source is empty"):
        install_pack("buffalo_sc", "", tmp_path / "models")
    assert not (tmp_path / "models").exists()


def test_a_swap_that_fails_halfway_puts_the_old_pack_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target, staged, aside = tmp_path / "pack", tmp_path / "staged", tmp_path / "work" / "previous"
    target.mkdir()
    (target / "old.onnx").write_bytes(b"old")
    staged.mkdir()
    aside.parent.mkdir()
    real_replace = os.replace

    def interrupted(source: Path, destination: Path) -> None:
        if Path(source) == staged:  # the second rename: the new pack into place
            raise KeyboardInterrupt
        real_replace(source, destination)

    monkeypatch.setattr(os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        _swap_in(staged, target, aside)
    assert (target / "old.onnx").read_bytes() == b"old"


def test_a_models_root_that_is_a_file_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # --models FILE said "FILE: File exists"; IMPERSONATION_MODELS=/etc/passwd "no pack installed in /etc/passwd".
    afile = tmp_path / "afile"
    afile.write_text("x", encoding="utf-8")
    with pytest.raises(ModelPackError, match="is a file, not a folder of model packs"):
        model_root(afile)
    monkeypatch.setenv("IMPERSONATION_MODELS", str(afile))
    with pytest.raises(ModelPackError, match="is a file, not a folder of model packs"):
        model_root(None)


def test_an_installed_packs_name_is_that_pack_whatever_the_current_folder_holds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """./mine holding only a recognizer made `--pack mine` refuse 'pack mine has no detection model', the installed
    pack intact; `./mine` still names that folder."""
    installed = tmp_path / "models" / "mine"
    installed.mkdir(parents=True)
    model_file(installed / "det.onnx", [1, 3, None, None], SCRFD_OUTPUTS)
    model_file(installed / "rec.onnx", [None, 3, 112, 112], [[1, 512]])
    work = tmp_path / "work"
    (work / "mine").mkdir(parents=True)
    model_file(work / "mine" / "rec.onnx", [None, 3, 112, 112], [[1, 512]])
    monkeypatch.chdir(work)
    assert load_pack("mine", tmp_path / "models").folder == installed
    with pytest.raises(ModelPackError, match="has no detection model"):
        load_pack("./mine", tmp_path / "models")


def test_the_work_folder_of_an_install_whose_process_is_gone_is_removed(tmp_path: Path) -> None:
    """`timeout 5 models install ... --from URL` (SIGTERM) left '.sc-2.5g-xxxx/source.zip', 15 MB, in the model
    folder, and each killed attempt another. The next install removes those of processes that are gone, not a
    running install's."""
    import subprocess
    import sys

    from impersonation_cli.runtime.packs import WORK_OWNER

    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    root = tmp_path / "models"
    abandoned, running, other = root / ".sc-2.5g-ab12", root / ".buffalo_l-cd34", root / ".cache-x"
    for folder, owner in ((abandoned, ended.stdout.strip()), (running, str(os.getppid()))):
        folder.mkdir(parents=True)
        (folder / WORK_OWNER).write_text(owner, encoding="ascii")
        (folder / "source.zip").write_bytes(b"part of a download")
    other.mkdir()
    with pytest.raises(ModelPackError, match="does not exist"):
        install_pack("sc-2.5g", str(tmp_path / "nowhere"), root)
    assert not abandoned.exists() and (running / "source.zip").exists() and other.exists()
    assert [p.name for p in root.iterdir() if p.name.startswith(".sc-2.5g")] == []  # its own, gone too


def test_a_pack_name_no_install_knows_is_not_offered_an_install(tmp_path: Path) -> None:
    """`--pack nonexist` said to run `models install nonexist`, which refuses a name it does not know."""
    from impersonation_cli.runtime.packs import load_pack

    with pytest.raises(ModelPackError, match=r"nor a folder of ONNX files; known packs: .*buffalo_l") as refused:
        load_pack("nonexist", tmp_path)
    assert "models install" not in str(refused.value)
    with pytest.raises(ModelPackError, match="models install buffalo_l --from"):
        load_pack("buffalo_l", tmp_path)


def test_an_install_killed_between_the_swaps_renames_leaves_the_old_pack_to_the_next(tmp_path: Path) -> None:
    """Killed after moving the old pack aside into its work folder and before moving the new one in, an install
    left no pack in place; the next install deleted the work folder and the old pack with it."""
    import subprocess
    import sys

    from impersonation_cli.runtime.packs import WORK_OWNER

    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    root = tmp_path / "models"
    work = root / ".sc-2.5g-ab12"
    (work / "previous").mkdir(parents=True)
    (work / WORK_OWNER).write_text(ended.stdout.strip(), encoding="ascii")
    (work / "previous" / "det_2.5g.onnx").write_bytes(b"the old pack's detector")
    with pytest.raises(ModelPackError, match="does not exist"):
        install_pack("sc-2.5g", str(tmp_path / "nowhere"), root)
    assert (root / "sc-2.5g" / "det_2.5g.onnx").read_bytes() == b"the old pack's detector"
    assert not work.exists()
