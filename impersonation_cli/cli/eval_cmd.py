"""`impersonation-cli eval MANIFEST`: precision/recall per verdict class, ROC AUC per signal and per dataset (each
with a bootstrap 95% interval) on labelled cases."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from impersonation_cli.api import load_engine
from impersonation_cli.cli import options
from impersonation_cli.cli.common import app, done, errors, people_lines_off_stdout, stderr, stdout, warn
from impersonation_cli.errors import EXIT_OK, EXIT_UNREADABLE
from impersonation_cli.io.threads import threads_or_default
from impersonation_cli.outputs.console import one_line
from impersonation_cli.outputs.dashboard import problem_lines
from impersonation_cli.outputs.eval_tables import auc_table, class_table, few_cases_note, group_table
from impersonation_cli.tools.evaluation import EvalCase, checked_manifest, evaluation_report, write_eval_outputs


@app.command("eval")
def evaluate(
    manifest_path: Annotated[
        Path,
        typer.Argument(
            metavar="MANIFEST", help="YAML file: labelled cases under 'cases' (and gallery, footage, breakdown)"
        ),
    ],
    roc_path: Annotated[Path | None, typer.Option("--roc", help="Write the ROC curves as a PNG here")] = None,
    json_path: Annotated[Path | None, typer.Option("--json", help="Write every case and figure as JSON here")] = None,
    fps: options.ScanFps = None,
    score_unmatched: Annotated[
        bool,
        typer.Option(
            "--score-unmatched", help="Flag sources for manipulated faces of people who match nobody in the gallery"
        ),
    ] = False,
    models: options.Models = None,
    pack: options.Pack = None,
    device: options.Device = "auto",
    config: options.Config = None,
    threads: options.Threads = None,
) -> None:
    """Scan labelled cases; print precision/recall per verdict class and ROC AUC per manipulation signal and per
    dataset group, each AUC with a bootstrap 95% interval."""
    manifest = checked_manifest(manifest_path, fps, roc_path, json_path, config)
    people_lines_off_stdout(roc_path, json_path)
    engine, settings = load_engine(models, pack, device, config, threads_or_default(threads), warn)

    def on_case(number: int, case: EvalCase) -> None:
        stderr.print(one_line(f"[{number}/{len(manifest.cases)}] {Path(case.source).name}"), highlight=False)

    report = evaluation_report(manifest, engine, settings, fps, score_unmatched, on_case)
    wrote_roc = write_eval_outputs(report, roc_path, json_path)  # first: the cases scanned outlast a closed stdout
    stdout.print(class_table(report.metrics))
    all_unread = len(report.unread) == len(report.outcomes)
    no_auc = "no ROC AUC: " + (
        "no case could be read" if all_unread else "no manipulation class has both positive and negative cases"
    )
    stdout.print(auc_table(report.aucs) if report.aucs else no_auc)
    stdout.print(group_table(report.groups))
    if (note := few_cases_note(report.aucs, report.groups)) is not None:
        stdout.print(note)
    if wrote_roc:
        done(f"ROC plot written to {roc_path}")
    elif roc_path is not None:
        errors.print(one_line(f"no ROC plot written to {roc_path}: there is no curve to draw"))  # asked for
    for line in problem_lines(report.unread):  # an unread case counts in the figures: said, even where they go
        errors.print(line, soft_wrap=True)
    raise typer.Exit(EXIT_UNREADABLE if report.unread else EXIT_OK)
