"""`report` with $IMPERSONATION_GALLERY naming no file (a typo, or a gallery not made yet) wrote its documents
without the reference photos and the authorization check, and said nothing of it; it now warns."""

from __future__ import annotations

from pathlib import Path

from .builders import appearance, scan_result
from .cli_in_process import run_cli


def test_a_report_says_the_gallery_its_environment_names_is_not_there(tmp_path: Path) -> None:
    (tmp_path / "result.json").write_text(scan_result([appearance("Eve", "a.mp4")]).to_json(), encoding="utf-8")
    env = {"IMPERSONATION_GALLERY": str(tmp_path / "typo.sqlite"), "PATH": "/usr/bin:/bin"}
    done = run_cli("report", "result.json", "--junit", "j.xml", cwd=tmp_path, env=env)
    assert done.returncode == 1 and (tmp_path / "j.xml").is_file()
    typo = tmp_path / "typo.sqlite"
    assert (
        f"warning: $IMPERSONATION_GALLERY names {typo}, which is not a file: the report shows no reference photos"
        in done.stderr
    )
