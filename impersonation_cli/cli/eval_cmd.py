"""`impersonation-cli eval MANIFEST`: precision/recall per verdict class, ROC AUC per signal and per dataset (each
with a bootstrap 95% interval) on labelled cases."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from impersonation_cli.cli.common import (
    ConfigOption,
    DeviceOption,
    ModelsOption,
    PackOption,
    ThreadsOption,
    app,
    build_engine,
    stderr,
    stdout,
    writable_file,
)
from impersonation_cli.errors import UserError
from impersonation_cli.io.atomic_write import write_text_atomic
from impersonation_cli.io.threads import threads_per_stage
from impersonation_cli.tools.evaluation import (
    BOOTSTRAP_RESAMPLES,
    BOOTSTRAP_SEED,
    ClassMetric,
    EvalCase,
    GroupAuc,
    Interval,
    SignalAuc,
    class_metrics,
    default_breakdown,
    draw_roc,
    group_aucs,
    identity_metric,
    load_manifest,
    report_document,
    run_evaluation,
    signal_aucs,
)


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _class_table(metrics: list[ClassMetric]) -> Table:
    table = Table(title="Per source: verdict classes (and identities)", title_justify="left")
    for column in ("class", "TP", "FP", "FN", "precision", "recall"):
        table.add_column(column, justify="left" if column == "class" else "right")
    for m in metrics:
        counts = (m.true_positives, m.false_positives, m.false_negatives)
        table.add_row(m.name, *(str(c) for c in counts), _rate(m.precision), _rate(m.recall))
    return table


def _interval(interval: Interval | None) -> str:
    return "-" if interval is None else f"[{interval[0]:.2f}, {interval[1]:.2f}]"


def _auc_table(aucs: list[SignalAuc]) -> Table:
    title = (
        "Per source: ROC AUC of each signal (max over the source's faces), 95% bootstrap interval "
        f"({BOOTSTRAP_RESAMPLES} resamples, seed {BOOTSTRAP_SEED})"
    )
    table = Table(title=title, title_justify="left")
    for column in ("signal", "class", "AUC", "95% interval", "positives", "negatives"):
        table.add_column(column, justify="left" if column in ("signal", "class") else "right")
    for a in aucs:
        table.add_row(
            a.signal, a.verdict_class, f"{a.auc:.3f}", _interval(a.interval), str(a.positives), str(a.negatives)
        )
    return table


def _group_table(groups: list[GroupAuc]) -> Table:
    table = Table(title="Per dataset: fakes against real footage (class score, flags given)", title_justify="left")
    for column in ("dataset", "class", "AUC", "95% interval", "fakes", "flagged", "reals", "flagged", "not judged"):
        table.add_column(column, justify="left" if column in ("dataset", "class") else "right")
    for g in groups:
        auc = "-" if g.auc is None else f"{g.auc:.3f}"
        counts = (g.positives, g.flagged_positives, g.negatives, g.flagged_negatives, g.not_judged)
        table.add_row(g.name, g.verdict_class, auc, _interval(g.interval), *(str(c) for c in counts))
    return table


@app.command("eval")
def evaluate(
    manifest_path: Annotated[Path, typer.Argument(metavar="MANIFEST", help="YAML list of labelled cases")],
    roc_path: Annotated[Path | None, typer.Option("--roc", help="Write the ROC curves as a PNG here")] = None,
    json_path: Annotated[Path | None, typer.Option("--json", help="Write every case and figure as JSON here")] = None,
    fps: Annotated[float | None, typer.Option("--fps", help="Frames sampled per second [default: config, 2]")] = None,
    score_unmatched: Annotated[
        bool,
        typer.Option(
            "--score-unmatched", help="Flag sources for manipulated faces of people who match nobody in the gallery"
        ),
    ] = False,
    models: ModelsOption = None,
    pack: PackOption = None,
    device: DeviceOption = "auto",
    config: ConfigOption = None,
    threads: ThreadsOption = None,
) -> None:
    """Scan labelled cases; print precision/recall per verdict class and ROC AUC per manipulation signal and per
    dataset group, each AUC with a bootstrap 95% interval."""
    if fps is not None and not 0 < fps <= 120:
        raise UserError("--fps must be between 0 and 120")
    manifest = load_manifest(manifest_path)
    writable_file(roc_path, "--roc")
    writable_file(json_path, "--json")
    engine, settings = build_engine(models, pack, device, config, threads or threads_per_stage())

    def on_case(number: int, case: EvalCase) -> None:
        stderr.print(Text(f"[{number}/{len(manifest.cases)}] {Path(case.source).name}"), highlight=False)

    outcomes = run_evaluation(manifest, engine, settings, fps, score_unmatched, on_case)
    metrics = [*class_metrics(outcomes), identity_metric(outcomes)]
    aucs = signal_aucs(outcomes)
    groups = group_aucs(outcomes, manifest.breakdown or default_breakdown(outcomes))
    stdout.print(_class_table(metrics))
    stdout.print(
        _auc_table(aucs) if aucs else Text("no ROC AUC: no manipulation class has both positive and negative cases")
    )
    stdout.print(_group_table(groups))
    if roc_path is not None and aucs:
        draw_roc(aucs, roc_path)
        stdout.print(Text(f"ROC plot written to {roc_path}"))
    if json_path is not None:
        document = report_document(outcomes, metrics, aucs, groups)
        write_text_atomic(json_path, json.dumps(document, indent=2) + "\n")
