"""A URL given where a file or folder is asked for is refused as a URL, its password and tokens masked: read as a
path it lost a slash and kept them ('error: rtsp:/u:pw@h/x: no such result file')."""

from __future__ import annotations

from pathlib import Path

import pytest

from .cli_in_process import run_cli


@pytest.mark.parametrize(
    "arguments",
    [
        ("report", "rtsp://u:pw@127.0.0.1/x", "--html", "{tmp}/x.html"),
        ("eval", "https://h/m.yaml?token=SECRET"),
        ("gallery", "list", "--gallery", "https://u:pw@h/g.sqlite"),
        ("bench", "rtmp://user:hunter2@127.0.0.1/live/a"),
    ],
)
def test_a_url_where_a_path_belongs_is_refused_masked(tmp_path: Path, arguments: tuple[str, ...]) -> None:
    finished = run_cli(*(a.replace("{tmp}", str(tmp_path)) for a in arguments))
    assert finished.returncode == 2
    assert finished.stderr.count("\n") == 1 and "URL" in finished.stderr
    assert "pw" not in finished.stderr and "SECRET" not in finished.stderr and "hunter2" not in finished.stderr
    assert "//" in finished.stderr  # named as given, not as a path made of it
