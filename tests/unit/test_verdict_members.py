"""Verdicts are one type however a result was made. A scan's appearances held `Verdict` members, which a notebook
shows as `<Verdict.UNAUTHORIZED: 'unauthorized-likeness'>`, a result read back with `ScanResult.load` plain str
(`'unauthorized-likeness'`), and the enum the scan used could not be imported from the public API to filter by."""

from __future__ import annotations

import json
from pathlib import Path

import impersonation_cli
from impersonation_cli import ScanResult, Verdict

from .builders import appearance, scan_result, source


def test_a_loaded_result_holds_verdict_members_as_a_scan_does(tmp_path: Path) -> None:
    found = appearance(verdicts=[Verdict.UNAUTHORIZED, Verdict.SYNTHETIC])
    made = scan_result([found], [source(verdicts=[Verdict.UNAUTHORIZED, Verdict.SYNTHETIC])])
    path = tmp_path / "result.json"
    path.write_text(made.to_json(), encoding="utf-8")
    loaded = ScanResult.load(path)
    for verdicts in (loaded.appearances[0].verdicts, loaded.sources[0].verdicts):
        assert verdicts == [Verdict.UNAUTHORIZED, Verdict.SYNTHETIC]
        assert all(type(v) is Verdict for v in verdicts)
    assert repr(loaded.appearances[0]) == repr(made.appearances[0])
    assert json.loads(loaded.to_json())["appearances"][0]["verdicts"] == ["unauthorized-likeness", "likely-synthetic"]


def test_a_verdict_this_version_does_not_know_stays_text() -> None:
    document = scan_result([appearance(verdicts=["likely-dragon", "concurrent"])]).to_dict()
    (found,) = ScanResult.from_dict(document).appearances
    assert found.verdicts == ["likely-dragon", Verdict.CONCURRENT]
    assert type(found.verdicts[0]) is str and type(found.verdicts[1]) is Verdict


def test_verdict_is_public_and_is_its_value() -> None:
    assert impersonation_cli.Verdict is Verdict and "Verdict" in impersonation_cli.__all__
    assert Verdict.SYNTHETIC == "likely-synthetic" and f"{Verdict.SYNTHETIC}" == "likely-synthetic"
