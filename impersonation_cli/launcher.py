"""The `impersonation-cli` console script. The CLI is imported inside the handler: a Ctrl-C while Python loads
it (its libraries take a moment) is one line and exit 130, as it is once a command runs, not a traceback."""

from __future__ import annotations

import sys

EXIT_INTERRUPTED = 130  # as shells report a process ended by SIGINT (128 + 2)


def interrupted(exc: BaseException) -> bool:
    """A Ctrl-C, or an error raised because of one: a C extension interrupted while it loads (onnxruntime) says
    `ImportError: initialization failed`, caused by the KeyboardInterrupt."""
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        if isinstance(cause, KeyboardInterrupt):
            return True
        seen.add(id(cause))
        cause = cause.__cause__ or cause.__context__
    return False


def main() -> None:
    try:
        from impersonation_cli.cli import main as run
    except (KeyboardInterrupt, ImportError) as exc:
        if not interrupted(exc):
            raise
        sys.stderr.write("error: aborted\n")
        raise SystemExit(EXIT_INTERRUPTED) from None
    run()
