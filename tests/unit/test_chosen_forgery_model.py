"""`$IMPERSONATION_FORGERY_MODEL` naming a model that does not load (missing, a folder, a damaged file) is refused:
scans ran without any manipulation detector, raising no likely-synthetic or likely-effects, exit 0 or 1 and not a
word on stderr (only each appearance's 'not judged: no forgery model'); `doctor` said all was well."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from impersonation_cli.errors import UserError
from impersonation_cli.pipeline.signals.detector import FORGERY_MODEL_ENV, load_forgery_model
from impersonation_cli.tools.installation import OK, PROBLEM, check_forgery_model

from ..conftest import REPO

SHIPPED = REPO / "impersonation_cli" / "data" / "forgery" / "face_forgery.onnx"
CPU = ["CPUExecutionProvider"]


def _damaged(folder: Path) -> Path:
    shutil.copy(SHIPPED.with_suffix(".json"), folder / "m.json")
    (folder / "m.onnx").write_bytes(SHIPPED.read_bytes()[:5000])
    return folder / "m.onnx"


@pytest.mark.parametrize("named", ["missing", "folder", "damaged"])
def test_a_chosen_model_that_does_not_load_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, named: str
) -> None:
    path = {"missing": tmp_path / "nope.onnx", "folder": tmp_path, "damaged": _damaged(tmp_path)}[named]
    monkeypatch.setenv(FORGERY_MODEL_ENV, str(path))
    with pytest.raises(UserError, match=rf"^\$IMPERSONATION_FORGERY_MODEL names {path}, which does not load: "):
        load_forgery_model(CPU)
    check = check_forgery_model()
    assert check.status == PROBLEM and str(path) in check.detail


def test_the_shipped_model_loads_and_doctor_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(FORGERY_MODEL_ENV, raising=False)
    model = load_forgery_model(CPU)
    assert model.detector is not None and model.problem is None
    assert check_forgery_model() == check_forgery_model().__class__(OK, "forgery model", model.detector.model_id)
