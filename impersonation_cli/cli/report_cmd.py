"""`impersonation-cli report RESULT.json ...`: documents for people and CI from a scan result."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from impersonation_cli.cli import options
from impersonation_cli.cli.common import app, done, people_lines_off_stdout, warn
from impersonation_cli.errors import UserError
from impersonation_cli.gallery.store import GALLERY_ENV
from impersonation_cli.outputs.files import exit_code, report_gallery, write_reports
from impersonation_cli.outputs.findings import parse_fail_on


@app.command()
def report(
    result_path: Annotated[Path, typer.Argument(help="A result file written by `scan --json`", show_default=False)],
    html_path: Annotated[
        Path | None, typer.Option("--html", help="Write a self-contained HTML report here", show_default=False)
    ] = None,
    notice_dir: Annotated[
        Path | None,
        typer.Option("--notice", help="Write a takedown-notice draft per flagged source into this folder"),
    ] = None,
    junit_path: Annotated[
        Path | None, typer.Option("--junit", help="Write JUnit XML (a test case per source) here")
    ] = None,
    gallery: Annotated[
        Path | None,
        typer.Option(
            "--gallery",
            help=f"Gallery whose reference photos and authorizations to show [env {GALLERY_ENV}; read only when given]",
            show_default=False,
        ),
    ] = None,
    fail_on: options.FailOn = None,
) -> None:
    """Write an HTML report, takedown-notice drafts and JUnit XML from a scan result. Exits like `scan`:
    0 nothing selected found, 1 found (any registered identity, or the --fail-on verdicts), 3 an input of the
    scan was unreadable."""
    policy = parse_fail_on(fail_on)
    if html_path is None and notice_dir is None and junit_path is None:
        raise UserError("nothing to write: give --html FILE, --notice DIR and/or --junit FILE")
    documents = (html_path, notice_dir, junit_path)
    people_lines_off_stdout(html_path, junit_path)
    shown_gallery, unshown = report_gallery(gallery)
    flagged, result = write_reports(result_path, shown_gallery, *documents, policy, done)
    if unshown:
        warn(unshown)
    done(f"{flagged} flagged of {len(result.appearances)} appearances in {len(result.sources)} sources")
    raise typer.Exit(exit_code(result, policy))
