"""`impersonation-cli report RESULT.json ...`: documents for people and CI from a scan result."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from impersonation_cli.cli.common import app, is_quiet, stdout, writable_file, writable_folder
from impersonation_cli.cli.scan_cmd import FailOnOption, exit_code
from impersonation_cli.errors import UserError
from impersonation_cli.gallery.store import GALLERY_ENV
from impersonation_cli.outputs.findings import FailPolicy, is_flagged, parse_fail_on, read_report_input
from impersonation_cli.outputs.html import write_html
from impersonation_cli.outputs.junit import write_junit
from impersonation_cli.outputs.notice import write_notices
from impersonation_cli.results import ScanResult


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
    fail_on: FailOnOption = None,
) -> None:
    """Write an HTML report, takedown-notice drafts and JUnit XML from a scan result. Exits like `scan`:
    0 nothing selected found, 1 found (any registered identity, or the --fail-on verdicts), 3 an input of the
    scan was unreadable."""
    policy = parse_fail_on(fail_on)
    if html_path is None and notice_dir is None and junit_path is None:
        raise UserError("nothing to write: give --html FILE, --notice DIR and/or --junit FILE")
    # The gallery the analyst names, with --gallery or $IMPERSONATION_GALLERY as every other command reads it;
    # not the per-user default: a report shows that gallery's photos, not whichever one is configured here.
    if gallery is None and os.environ.get(GALLERY_ENV):
        gallery = Path(os.environ[GALLERY_ENV])
        # Named for other commands (a new user's, not made yet): the report goes without photos and says so.
        gallery = gallery if gallery.is_file() else None
    try:
        flagged, result = write_reports(result_path, gallery, html_path, notice_dir, junit_path, policy)
    except RecursionError:  # '[[[[...' thousands deep runs Python out of stack while parsing or printing it
        raise UserError(f"{result_path}: not a scan result: its JSON is nested too deeply") from None
    note(f"{flagged} flagged of {len(result.appearances)} appearances in {len(result.sources)} sources")
    raise typer.Exit(exit_code(result, policy))


def write_reports(
    result_path: Path,
    gallery: Path | None,
    html_path: Path | None,
    notice_dir: Path | None,
    junit_path: Path | None,
    policy: FailPolicy,
) -> tuple[int, ScanResult]:
    """Write the documents asked for; (how many appearances are flagged, the result)."""
    report_input = read_report_input(result_path, gallery)
    writable_file(html_path, "--html")
    writable_folder(notice_dir, "--notice")
    writable_file(junit_path, "--junit")
    result = report_input.result
    if html_path is not None:
        write_html(report_input, html_path)
        note(f"HTML report: {html_path}")
    if notice_dir is not None:
        written = write_notices(report_input, notice_dir)
        note(f"{len(written)} takedown-notice draft(s) in {notice_dir}")
    if junit_path is not None:
        write_junit(result, junit_path, policy)
        note(f"JUnit XML: {junit_path}")
    return sum(1 for a in result.appearances if is_flagged(a)), result


def note(text: str) -> None:
    """What was written, on stdout (the documents themselves are the requested output: --quiet drops this)."""
    if not is_quiet():
        stdout.print(text, markup=False, highlight=False)
