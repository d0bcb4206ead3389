"""A damaged recognizer file of an installed pack reads as another recognizer: the scan said the gallery 'was
made with recognizer w600k_mbf.onnx:9cc6e4a75f0e2bf0, but the pack in use has w600k_mbf.onnx:1e53738f834fd7ad;
use the same pack, or re-enrol into a new gallery', and following that built a gallery on the damaged file."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from impersonation_cli.errors import GalleryError, ModelPackError
from impersonation_cli.gallery.enrol import require_engine_recognizer
from impersonation_cli.gallery.store import Gallery
from impersonation_cli.runtime.packs import ModelPack

from .test_gallery_snapshot import reference


def engine_of(folder: Path, pack_name: str) -> SimpleNamespace:
    folder.mkdir()
    (folder / "w600k_mbf.onnx").write_bytes(b"a recognizer cut short")
    pack = ModelPack(name=pack_name, folder=folder, files={"recognition": folder / "w600k_mbf.onnx"})
    return SimpleNamespace(recognizer_id="w600k_mbf.onnx:1e53738f834fd7ad", pack=pack)


def test_a_damaged_recognizer_of_a_known_pack_is_named_not_called_another_recognizer(tmp_path: Path) -> None:
    with Gallery(tmp_path / "g.sqlite") as store:
        store.add_person("Ann", [reference(1)])
        with pytest.raises(ModelPackError) as refused:
            require_engine_recognizer(store, engine_of(tmp_path / "buffalo_sc", "buffalo_sc"))  # type: ignore[arg-type]
    message = str(refused.value)
    assert "the pack's w600k_mbf.onnx is not the published file (sha256 " in message
    assert "`impersonation-cli models verify buffalo_sc` checks it" in message and "re-enrol" not in message


def test_a_folder_pack_of_another_recognizer_is_still_another_recognizer(tmp_path: Path) -> None:
    with Gallery(tmp_path / "g.sqlite") as store:
        store.add_person("Ann", [reference(1)])
        with pytest.raises(GalleryError, match="use the same pack, or re-enrol into a new gallery"):
            require_engine_recognizer(store, engine_of(tmp_path / "mine", "mine"))  # type: ignore[arg-type]
