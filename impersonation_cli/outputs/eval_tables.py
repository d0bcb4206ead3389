"""What `eval` and `gallery calibrate` print: precision/recall per class, ROC AUC per signal and per dataset,
and the impostor/genuine score distribution behind a calibrated threshold."""

from __future__ import annotations

import numpy as np
from rich.table import Table
from rich.text import Text

from impersonation_cli.outputs.console import one_line
from impersonation_cli.tools.evaluation import (
    BOOTSTRAP_RESAMPLES,
    BOOTSTRAP_SEED,
    Calibration,
    ClassMetric,
    GroupAuc,
    Interval,
    SignalAuc,
    unusable_threshold,
)


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _interval(interval: Interval | None) -> str:
    return "-" if interval is None else f"[{interval[0]:.2f}, {interval[1]:.2f}]"


def class_table(metrics: list[ClassMetric]) -> Table:
    table = Table(title="Per source: verdict classes (and identities)", title_justify="left")
    for column in ("class", "TP", "FP", "FN", "precision", "recall"):
        table.add_column(column, justify="left" if column == "class" else "right")
    for m in metrics:
        counts = (m.true_positives, m.false_positives, m.false_negatives)
        table.add_row(one_line(m.name), *(str(c) for c in counts), _rate(m.precision), _rate(m.recall))
    return table


def auc_table(aucs: list[SignalAuc]) -> Table:
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


def group_table(groups: list[GroupAuc]) -> Table:
    table = Table(title="Per dataset: fakes against real footage (class score, flags given)", title_justify="left")
    for column in ("dataset", "class", "AUC", "95% interval", "fakes", "flagged", "reals", "flagged", "not judged"):
        table.add_column(column, justify="left" if column in ("dataset", "class") else "right")
    for g in groups:
        auc = "-" if g.auc is None else f"{g.auc:.3f}"
        counts = (g.positives, g.flagged_positives, g.negatives, g.flagged_negatives, g.not_judged)
        table.add_row(one_line(g.name), g.verdict_class, auc, _interval(g.interval), *(str(c) for c in counts))
    return table


# Below this many fakes or reals a percentile bootstrap interval is narrower than the uncertainty: a perfect
# split of 1 fake against 1 real resamples to AUC 1 every time, "[1.00, 1.00]".
FEW_CASES = 10


def few_cases_note(aucs: list[SignalAuc], groups: list[GroupAuc]) -> Text | None:
    """A caveat under the tables when an interval rests on fewer than FEW_CASES fakes or reals."""
    counts = [(a.positives, a.negatives) for a in aucs]
    counts += [(g.positives, g.negatives) for g in groups if g.auc is not None]
    if not any(min(pair) < FEW_CASES for pair in counts):
        return None
    return one_line(
        f"note: an interval over fewer than {FEW_CASES} fakes or reals is narrower than the uncertainty (1 fake "
        "ranked above 1 real gives [1.00, 1.00]); read such rows as their counts, not their intervals"
    )


def calibration_lines(result: Calibration) -> list[str]:
    """The impostor pairs' distribution, the genuine pairs' (when any), and the threshold with the rate it gets."""
    impostor, genuine = result.impostor, result.genuine.scores
    p50, p90, p99, p999 = result.impostor_quantiles
    lines = [
        f"impostor pairs (different people): {impostor.count}; mean {impostor.mean:.3f}, sd {impostor.sd:.3f}, "
        f"p50 {p50:.3f}, p90 {p90:.3f}, p99 {p99:.3f}, p99.9 {p999:.3f}, max {impostor.max:.3f}"
    ]
    if len(genuine):
        lines.append(
            f"genuine pairs (same person): {len(genuine)}; mean {genuine.mean():.3f}, min {genuine.min():.3f}; "
            f"{np.mean(genuine < result.threshold):.1%} of them fall below the threshold"
        )
    lines.append(
        f"threshold {result.threshold:.4f}: {result.achieved_fmr:.4%} of impostor pairs match "
        f"(target {result.target_fmr:.4%})"
    )
    return lines


def calibration_warnings(result: Calibration, writing: bool) -> list[str]:
    """The warning on a calibration not being written: why it would not be (`unusable_threshold`: writing it is
    refused with that reason)."""
    problem = None if writing else unusable_threshold(result)
    return [] if problem is None else [f"warning: {problem}"]
