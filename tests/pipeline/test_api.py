"""The public Python API on real models: the same results as the CLI, and watch from Python."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest

from impersonation_cli import AlertEvent, ReaderSettings, Room, Scanner, UserError, WatchSettings
from impersonation_cli.api import EMPTY_GALLERY_NOTICE

from ..conftest import REPO, SAMPLES, run_cli

CLIPS = SAMPLES / "clips"
PERSON = "Eileen Collins"


def compare_scans() -> ModuleType:
    """scripts/compare_scans.py, whose comparison this test shares (the script is not a package module)."""
    spec = importlib.util.spec_from_file_location("compare_scans", REPO / "scripts" / "compare_scans.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture()
def enrolled(cli_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.delenv("IMPERSONATION_CONFIG", raising=False)
    added = run_cli(["gallery", "import", str(SAMPLES / "references")], cli_env)
    assert added.returncode == 0, added.stderr
    return cli_env


def open_scanner(env: dict[str, str], config: Path | None = None) -> Scanner:
    return Scanner.open(
        models=env["IMPERSONATION_MODELS"],
        pack=env["IMPERSONATION_PACK"],
        gallery=env["IMPERSONATION_GALLERY"],
        config=config,
    )


def test_a_scan_from_python_is_the_scan_the_cli_writes(enrolled: dict[str, str], tmp_path: Path) -> None:
    # Settings off the defaults, so that a scan that ignored the config (its detector part above all) differs.
    config = tmp_path / "settings.toml"
    config.write_text('[detector]\nprecision = "fp32"\n[scan]\nfps = 3\n', encoding="utf-8")
    room = ["--room", "douyin:123456", "--started-at", "2026-11-20T20:00:00+08:00", "--config", str(config)]
    written = run_cli(["scan", str(CLIPS), "--json", str(tmp_path / "cli.json"), "-q", *room], enrolled)
    assert written.returncode == 1, written.stderr
    cli = json.loads((tmp_path / "cli.json").read_text(encoding="utf-8"))
    assert ":fp32:" in cli["settings"]["detector"] and cli["settings"]["fps"] == 3
    with open_scanner(enrolled, config) as scanner:
        assert scanner.notices == ()
        result = scanner.scan(CLIPS, room="douyin:123456", started_at="2026-11-20T20:00:00+08:00")
    api = json.loads(result.to_json())
    assert [(a["identity"], a["room"]) for a in api["appearances"]] == [(PERSON, "douyin:123456")]
    assert api["appearances"][0]["start_wallclock"].startswith("2026-11-20T20:00:0")  # in --started-at's zone
    assert list(compare_scans().differences(cli, api)) == []


def test_a_closed_scanner_and_bad_arguments_are_refused(enrolled: dict[str, str], tmp_path: Path) -> None:
    with open_scanner(enrolled) as scanner:
        with pytest.raises(UserError, match="nothing to scan"):
            scanner.scan([])
        with pytest.raises(UserError, match="fps must be between 0 and 120"):
            scanner.scan(CLIPS, fps=0)
        unreadable = scanner.scan([tmp_path / "missing.mp4"])
        assert [s.status for s in unreadable.sources] == ["unreadable"] and not unreadable.appearances
    with pytest.raises(RuntimeError, match="closed"):
        scanner.scan(CLIPS)


def test_an_empty_default_gallery_is_a_notice_and_a_missing_named_one_an_error(
    cli_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    models, pack = cli_env["IMPERSONATION_MODELS"], cli_env["IMPERSONATION_PACK"]
    with pytest.raises(UserError, match="no gallery at"):
        Scanner.open(models=models, pack=pack, gallery=tmp_path / "typo.sqlite")
    # Only the per-user default gallery may be missing: empty, with a notice for the user, and not made on disk.
    monkeypatch.delenv("IMPERSONATION_GALLERY", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    said: list[str] = []
    with Scanner.open(models=models, pack=pack, on_notice=said.append) as scanner:
        assert scanner.notices == (EMPTY_GALLERY_NOTICE,) and said == [EMPTY_GALLERY_NOTICE]
    assert not (tmp_path / "data" / "impersonation-cli").exists()


def test_watch_from_python_alerts_and_returns_the_summary(enrolled: dict[str, str], tmp_path: Path) -> None:
    alerts: list[AlertEvent] = []
    settings = WatchSettings(reader=ReaderSettings(fps=2.0, give_up_s=3.0), duration_s=30.0)
    with open_scanner(enrolled) as scanner:
        summary = scanner.watch(
            [Room(str(CLIPS / "astronaut_live.mp4"), "douyin:1")],
            settings,
            alerts_path=tmp_path / "alerts.jsonl",
            on_alert=alerts.append,
        )
    assert alerts and {a.person for a in alerts} == {PERSON} and alerts[0].room == "douyin:1"
    lines = (tmp_path / "alerts.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == len(alerts)
    # Live frames are dropped when the machine is busy: a longer gap splits the person's time into two appearances.
    assert summary.appearances and {(a.identity, a.room) for a in summary.appearances} == {(PERSON, "douyin:1")}
    assert summary.settings["rooms"][0]["room"] == "douyin:1"


def test_the_readme_example_runs_as_written(
    enrolled: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The README's Python example, with only its gallery and clip names pointed at real files."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    example = readme.split("## Python API", 1)[1].split("```python\n", 1)[1].split("```", 1)[0]
    assert len(example.strip().splitlines()) <= 5 and '"gallery.sqlite"' in example and '"clip.mp4"' in example
    for name in ("IMPERSONATION_MODELS", "IMPERSONATION_PACK"):  # "as the CLI finds them": from the environment
        monkeypatch.setenv(name, enrolled[name])
    code = example.replace('"gallery.sqlite"', repr(enrolled["IMPERSONATION_GALLERY"]))
    exec(code.replace('"clip.mp4"', repr(str(CLIPS / "astronaut_live.mp4"))), {})
    identities = repr([PERSON])  # print(result.identities, result.to_json()): the list, a space, the document
    printed = capsys.readouterr().out
    assert printed.startswith(identities + " {"), printed[:200]
    document = json.loads(printed[len(identities) + 1 :])
    assert [(a["identity"], a["room"]) for a in document["appearances"]] == [(PERSON, "douyin:123456")]
