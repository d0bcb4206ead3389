"""`impersonation-cli report RESULT.json ...`: documents for people and CI from a scan result."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..errors import UserError
from ..reports.findings import is_flagged, parse_fail_on, read_report_input
from ..reports.html import write_html
from ..reports.junit import write_junit
from ..reports.notice import write_notices
from .common import app, stdout, writable_file, writable_folder
from .scan_cmd import FailOnOption, exit_code


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
            help="Gallery whose reference photos and authorizations to show (read only when given)",
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
    # Unlike scan, no default gallery: a report shows the photos of the gallery the analyst names, not of
    # whichever one happens to be configured here.
    report_input = read_report_input(result_path, gallery)
    writable_file(html_path, "--html")
    writable_folder(notice_dir, "--notice")
    writable_file(junit_path, "--junit")
    result = report_input.result
    if html_path is not None:
        write_html(report_input, html_path)
        stdout.print(f"HTML report: {html_path}", markup=False, highlight=False)
    if notice_dir is not None:
        written = write_notices(report_input, notice_dir)
        stdout.print(f"{len(written)} takedown-notice draft(s) in {notice_dir}", markup=False, highlight=False)
    if junit_path is not None:
        write_junit(result, junit_path, policy)
        stdout.print(f"JUnit XML: {junit_path}", markup=False, highlight=False)
    flagged = sum(1 for a in result.appearances if is_flagged(a))
    stdout.print(
        f"{flagged} flagged of {len(result.appearances)} appearances in {len(result.sources)} sources",
        markup=False,
        highlight=False,
    )
    raise typer.Exit(exit_code(result, policy))
