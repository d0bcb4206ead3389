"""--quiet silences notes and progress, never an error: a room that could not be read is still said."""

from __future__ import annotations

import socket
from pathlib import Path

from impersonation_cli.gallery.store import Gallery

from ..conftest import run_cli


def closed_port() -> int:
    """A local port nothing listens on (bound, then closed)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_watch_quiet_says_which_room_could_not_be_read(cli_env: dict[str, str]) -> None:
    Gallery(Path(cli_env["IMPERSONATION_GALLERY"])).close()  # an empty one: no face is needed to fail to connect
    url = f"http://127.0.0.1:{closed_port()}/live/x.flv"
    result = run_cli(["watch", url, "--duration", "3s", "--give-up", "2s", "-q"], cli_env, timeout=120)
    assert result.returncode == 3, result.stderr
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"unreadable: {url}: cannot open"), result.stderr
