"""The `impersonation-cli` command: a thin Typer layer over the library.

Each command group lives in its own module and registers itself on `app`.
"""

from __future__ import annotations

from impersonation_cli.cli.common import app, run_app, with_conventions

# Importing a command module registers its commands on `app`, listed in `--help` in this order.
from impersonation_cli.cli import gallery_cmd, models_cmd, scan_cmd, bench_cmd, watch_cmd  # noqa: F401  isort: skip
from impersonation_cli.cli import report_cmd, eval_cmd, footage_cmd, doctor_cmd  # noqa: F401  isort: skip

with_conventions(app)


def main() -> None:
    run_app()


__all__ = ["app", "main"]
