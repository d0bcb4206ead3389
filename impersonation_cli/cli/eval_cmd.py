"""`impersonation-cli eval MANIFEST`: precision/recall per verdict class and ROC AUC per signal on labelled cases."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from ..errors import UserError
from ..evaluation import (
    ClassMetric,
    EvalCase,
    class_metrics,
    draw_roc,
    identity_metric,
    load_manifest,
    report_document,
    run_evaluation,
    signal_aucs,
)
from ..staging import threads_per_stage
from .common import (
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
    """Scan labelled cases; print precision/recall per verdict class and ROC AUC per manipulation signal."""
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
    stdout.print(_class_table(metrics))
    auc_table = Table(title="Per source: ROC AUC of each signal (max over the source's faces)", title_justify="left")
    for column in ("signal", "class", "AUC", "positives", "negatives"):
        auc_table.add_column(column, justify="left" if column in ("signal", "class") else "right")
    for a in aucs:
        auc_table.add_row(a.signal, a.verdict_class, f"{a.auc:.3f}", str(a.positives), str(a.negatives))
    stdout.print(auc_table if aucs else Text("no ROC AUC: no manipulation class has both positive and negative cases"))
    if roc_path is not None and aucs:
        draw_roc(aucs, roc_path)
        stdout.print(Text(f"ROC plot written to {roc_path}"))
    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(report_document(outcomes, metrics, aucs), indent=2) + "\n", encoding="utf-8")
