"""The result table for people, rendered with rich."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.table import Table
from rich.text import Text

from impersonation_cli.io.names import shown_name
from impersonation_cli.outputs.console import one_line
from impersonation_cli.outputs.findings import own_verdicts, read_sources, source_names, source_reasons
from impersonation_cli.results import ScanResult, Verdict

VERDICT_STYLES: dict[str, str] = {
    Verdict.AUTHORIZED: "green",
    Verdict.UNAUTHORIZED: "yellow",
    Verdict.SYNTHETIC: "bold red",
    Verdict.EFFECTS: "magenta",
    Verdict.REPLAY: "bold red",
    Verdict.CONCURRENT: "bold red",
}


def clock(seconds: float) -> str:
    # Rounded to the tenth shown before it is split: 59.96 s read '0:60.0' in tables, notices and the HTML.
    minutes, secs = divmod(round(max(seconds, 0.0), 1), 60)
    hours, minutes = divmod(int(minutes), 60)
    return f"{hours}:{minutes:02d}:{secs:04.1f}" if hours else f"{minutes:d}:{secs:04.1f}"


def appearance_table(result: ScanResult) -> Table:
    table = Table(title="Registered people found", title_justify="left", expand=False)
    # The room has its own column (when any appearance has one): the source column always names the file.
    with_rooms, names = any(a.room for a in result.appearances), source_names(result)
    for column in ("source", *(["room"] if with_rooms else []), "who", "on screen", "similarity", "verdicts", "risk"):
        table.add_column(column, overflow="fold")
    for a in result.appearances:
        verdicts = Text()
        for n, verdict in enumerate(a.verdicts):
            # Comma-separated, not one a line: off a terminal an appearance's row stays one line (README).
            verdicts.append(("" if n == 0 else ", ") + verdict, style=VERDICT_STYLES.get(verdict, ""))
        table.add_row(
            one_line(names[a.source]),
            *([one_line(a.room or "")] if with_rooms else []),
            one_line(a.identity, style="bold"),
            f"{clock(a.start_s)}-{clock(a.end_s)} ({a.frames} fr)",
            f"{a.median_similarity:.2f} (best {a.best_similarity:.2f})",
            verdicts,
            f"{a.risk:.2f}",
        )
    return table


def flagged_sources_table(result: ScanResult) -> Table | None:
    """Sources flagged on their own, beyond their appearances (a stream that loops itself), and why."""
    rows = [(s, own) for s in result.sources if (own := own_verdicts(s, result.appearances_of(s)))]
    if not rows:
        return None
    table = Table(title="Sources flagged on their own", title_justify="left")
    for column in ("source", "verdicts", "why"):
        table.add_column(column, overflow="fold")
    for source, own in rows:
        why = one_line("; ".join(source_reasons(source, own)))
        table.add_row(one_line(shown_name(source.source)), Text(", ".join(own), style="bold red"), why)
    return table


def problems_table(result: ScanResult) -> Table | None:
    problems = [s for s in result.sources if s.status != "ok"]
    if not problems:
        return None
    table = Table(title="Inputs with problems", title_justify="left")
    table.add_column("source", overflow="fold")
    table.add_column("status")
    table.add_column("why", overflow="fold")
    for s in problems:
        table.add_row(one_line(shown_name(s.source)), s.status, one_line(shown_name(s.error or "")))
    return table


def print_summary(result: ScanResult, console: Console) -> None:
    if result.appearances:
        console.print(appearance_table(result))
        evidence = [e for a in result.appearances for e in a.evidence_files]
        for folder in sorted({str(Path(e.path).parent) for e in evidence if e.path}):
            console.print(one_line(f"evidence crops and frames: {shown_name(folder)}"))
        if lost := sum(1 for e in evidence if not e.path):
            # Left out of the result without a word before: the pictures a takedown needs were simply not there.
            console.print(f"evidence pictures not saved: {lost} (a full disk, or a folder that cannot be written)")
    else:
        console.print("No registered person found.")
    for part in (flagged_sources_table(result), problems_table(result)):
        if part is not None:
            console.print(part)
    scanned = len(read_sources(result))
    rtf = f", {result.run.realtime_factor:.1f}x real time" if result.run.realtime_factor else ""
    console.print(
        f"{scanned} of {len(result.sources)} inputs scanned, {len(result.appearances)} appearances of "
        f"{len(result.identities)} registered people, in {result.run.elapsed_s:.1f} s{rtf} "
        f"(pack {result.settings['pack']}, {result.settings['provider']})"
    )
