"""`impersonation-cli doctor`: what this installation would run with, and what is missing, one check a line."""

from __future__ import annotations

import typer

from impersonation_cli.cli import options
from impersonation_cli.cli.common import app, stdout
from impersonation_cli.outputs.console import one_line
from impersonation_cli.tools.installation import PROBLEM, installation_checks


@app.command()
def doctor(
    models: options.Models = None,
    pack: options.Pack = None,
    device: options.Device = "auto",
    gallery: options.Gallery = None,
    config: options.Config = None,
) -> None:
    """Check the installation: models and pack, ONNX provider, int8 detector, settings file, forgery model,
    gallery, system tools. Exits 0 when the models can run (a gallery not made yet is a warning), 1 when
    something else a scan needs is missing or broken."""
    checks = installation_checks(models, pack, device, gallery, config)
    for check in checks:
        stdout.print(one_line(f"{check.status:8} {check.name:18} {check.detail}"))
    if any(c.status == PROBLEM for c in checks):
        raise typer.Exit(1)
