"""What ships: the wheel carries the package data, and the scripts survive a busy machine."""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "impersonation_cli" / "data"


def test_wheel_carries_calibration_pictures_defaults_packs_and_its_typing_marker(tmp_path: Path) -> None:
    built = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            str(ROOT),
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = tmp_path.glob("impersonation_cli-*.whl")
    inside = set(zipfile.ZipFile(wheel).namelist())
    expected = {f"impersonation_cli/data/{p.relative_to(DATA).as_posix()}" for p in DATA.rglob("*") if p.is_file()}
    pictures = {name for name in expected if name.startswith("impersonation_cli/data/calibration/")}
    assert len(pictures) >= 5
    assert {"impersonation_cli/data/defaults.toml", "impersonation_cli/data/packs.json"} <= expected
    assert expected <= inside, sorted(expected - inside)
    templates = ROOT / "impersonation_cli" / "outputs" / "templates"
    shipped = {f"impersonation_cli/outputs/templates/{p.name}" for p in templates.iterdir()}  # the HTML report's
    assert "impersonation_cli/outputs/templates/report.html.j2" in shipped
    assert shipped <= inside, sorted(shipped - inside)
    # PEP 561: without it, mypy reads every name of the installed library as Any ('missing py.typed marker').
    assert "impersonation_cli/py.typed" in inside


def test_every_apt_get_in_test_sh_waits_for_the_dpkg_lock() -> None:
    script = (ROOT / "scripts" / "test.sh").read_text()
    runs = [line for line in script.splitlines() if re.match(r"\s*(DEBIAN_FRONTEND=\S+\s+)?apt-get\b", line)]
    assert len(runs) == 2, "test.sh runs apt-get update and install: update this test if that changed"
    for line in runs:
        assert "-o DPkg::Lock::Timeout=300" in line, line
