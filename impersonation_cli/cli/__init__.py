"""The `impersonation-cli` command: a thin Typer layer over the library.

Each command group lives in its own module and registers itself on `app`.
"""

from __future__ import annotations

from impersonation_cli.cli.common import app, run_app, with_conventions

# Importing a command module registers its commands on `app`.
from impersonation_cli.cli import gallery_cmd, models_cmd, scan_cmd  # noqa: F401  isort: skip
from impersonation_cli.cli import bench_cmd  # noqa: F401  isort: skip
from impersonation_cli.cli import watch_cmd  # noqa: F401  isort: skip
from impersonation_cli.cli import report_cmd  # noqa: F401  isort: skip
from impersonation_cli.cli import eval_cmd  # noqa: F401  isort: skip
from impersonation_cli.cli import footage_cmd  # noqa: F401  isort: skip
from impersonation_cli.cli import doctor_cmd  # noqa: F401  isort: skip

with_conventions(app)


def main() -> None:
    run_app()


__all__ = ["app", "main"]
