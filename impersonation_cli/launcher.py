"""The `impersonation-cli` console script. The CLI is imported inside the handler: a Ctrl-C while Python loads
it (its libraries take a moment) is one line and exit 130, as it is once a command runs, not a traceback."""

from __future__ import annotations

import sys

from impersonation_cli.errors import EXIT_INTERRUPTED, interrupted


def main() -> None:
    try:
        from impersonation_cli.cli import main as run
    except (KeyboardInterrupt, ImportError) as exc:
        if not interrupted(exc):
            raise
        sys.stderr.write("error: aborted\n")
        raise SystemExit(EXIT_INTERRUPTED) from None
    run()
