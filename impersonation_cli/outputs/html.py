"""The HTML report: one self-contained file an analyst can open, read and forward.

Everything in a scan result is untrusted text (names, file names, URLs, explanations): every piece goes
through `esc`. Images are embedded as data: URIs, and a Content-Security-Policy allows nothing else (no
script, no network), so even text that slipped through escaping could not run or call out.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from impersonation_cli import __version__
from impersonation_cli.io.atomic_write import write_text_atomic
from impersonation_cli.outputs.evidence_files import VERIFIED, check_evidence, data_uri
from impersonation_cli.outputs.findings import (
    AUTHORIZED,
    ReportInput,
    is_flagged,
    setting,
    verdict_meaning,
    wallclock_text,
)
from impersonation_cli.outputs.table import clock
from impersonation_cli.results import Appearance, ScanResult, SignalScore, SourceResult

CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"

# Colours by verdict, most severe first: a timeline bar takes the colour of its most severe verdict.
VERDICT_COLOURS = {
    "likely-synthetic": "#c62828",
    "likely-replay": "#d84315",
    "concurrent": "#6a1b9a",
    "likely-effects": "#ad1457",
    "unauthorized-likeness": "#b26a00",
    AUTHORIZED: "#2e7d32",
}
UNKNOWN_VERDICT_COLOUR = "#546e7a"

TIMELINE_WIDTH = 1000
TIMELINE_LABEL_WIDTH = 260
TIMELINE_LABEL_CHARS = 36  # lane labels longer than this are cut (the full name is the tooltip)
TIMELINE_LANE = 28
TIMELINE_AXIS = 26
TIMELINE_CHAR_PX = 7  # average width of a character of the bar labels, in viewBox units
# Flagged appearances shown as cards with their pictures, riskiest first; the rest are rows of a table. Every
# card embeds two pictures: 20,000 cards made a 1.46 GB page and took 8.9 GB of memory to write.
MAX_CARDS = 200

STYLE = """
:root { --ink: #1c2430; --muted: #5b6675; --line: #dfe3ea; --panel: #ffffff; --page: #f3f5f8; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--page); color: var(--ink);
  font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", sans-serif; }
main { max-width: 1180px; margin: 0 auto; padding: 28px 24px 48px; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 19px; margin: 34px 0 12px; }
h3 { font-size: 17px; margin: 0; overflow-wrap: anywhere; }
.sub, .muted { color: var(--muted); }
.sub { margin: 0 0 18px; font-size: 13px; overflow-wrap: anywhere; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(150px, 1fr)); gap: 12px; }
.card, .finding, .panel { background: var(--panel); border: 1px solid var(--line); border-radius: 10px; }
.card { padding: 12px 14px; }
.card strong { display: block; font-size: 24px; }
.card span { color: var(--muted); font-size: 13px; }
.card.alert strong { color: #c62828; }
.chips { display: flex; flex-wrap: wrap; gap: 6px; margin: 12px 0 0; }
.legend { align-items: center; font-size: 13px; margin-bottom: 12px; }
.chip { display: inline-block; padding: 2px 10px; border-radius: 999px; color: #fff; font-size: 12.5px;
  font-weight: 600; white-space: nowrap; }
.finding { padding: 16px 18px; margin: 0 0 16px; border-left: 6px solid var(--accent, #546e7a); }
.finding header { display: flex; flex-wrap: wrap; align-items: center; gap: 10px; margin-bottom: 12px; }
.finding header .chips { margin: 0; }
.risk { margin-left: auto; font-weight: 700; font-size: 14px; }
.body { display: grid; grid-template-columns: auto 1fr; gap: 18px; align-items: start; }
.faces { display: flex; gap: 12px; }
figure { margin: 0; width: 150px; }
figure img, .noimg { width: 150px; height: 180px; object-fit: contain; background: #0f1720; border-radius: 8px;
  display: block; }
.noimg { display: flex; align-items: center; justify-content: center; text-align: center; padding: 10px;
  color: #cfd6df; font-size: 12px; }
figcaption { font-size: 12px; color: var(--muted); margin-top: 4px; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 4px 14px; margin: 0; font-size: 14px; }
dt { color: var(--muted); }
dd { margin: 0; overflow-wrap: anywhere; }
code { font: 12.5px/1.4 ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; overflow-wrap: anywhere; }
.ok { color: #2e7d32; font-weight: 600; }
.bad { color: #c62828; font-weight: 600; }
ul.reasons { margin: 12px 0 0; padding-left: 20px; }
table { border-collapse: collapse; width: 100%; font-size: 14px; }
th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid var(--line); vertical-align: top;
  overflow-wrap: anywhere; }
th { color: var(--muted); font-weight: 600; font-size: 12.5px; text-transform: uppercase; letter-spacing: .03em; }
table.signals { margin-top: 12px; }
table.signals td:first-child { width: 190px; font-weight: 600; }
table.signals td:nth-child(2) { width: 170px; }
.bar { display: inline-block; vertical-align: middle; width: 90px; height: 8px; border-radius: 4px;
  background: #e6e9ef; margin-right: 8px; overflow: hidden; }
.bar i { display: block; height: 100%; border-radius: 4px; }
.details { color: var(--muted); font-size: 12px; }
.panel { padding: 14px 16px; margin-bottom: 14px; }
.panel h3 { margin-bottom: 8px; }
svg.timeline { width: 100%; height: auto; display: block; }
svg text { font: 13px system-ui, sans-serif; fill: var(--ink); }
svg .tick { font-size: 11px; fill: var(--muted); }
svg .on-bar { font-size: 12px; font-weight: 600; fill: #fff; pointer-events: none; }
details summary { cursor: pointer; color: var(--muted); margin-top: 10px; }
footer { margin-top: 36px; color: var(--muted); font-size: 12.5px; }
"""


def esc(value: object) -> str:
    """Untrusted text, safe in HTML element content and in quoted attributes."""
    return html.escape(str(value), quote=True)


def verdict_colour(verdict: str) -> str:
    return VERDICT_COLOURS.get(verdict, UNKNOWN_VERDICT_COLOUR)


def severity(verdict: str) -> float:
    """Rank by severity, 0 the most severe; a verdict this report does not know ranks just above 'authorized'."""
    order = list(VERDICT_COLOURS)
    return order.index(verdict) if verdict in order else order.index(AUTHORIZED) - 0.5


def by_severity(verdicts: Iterable[str]) -> list[str]:
    return sorted(verdicts, key=severity)


def primary_verdict(verdicts: list[str]) -> str | None:
    """The most severe verdict: the one whose colour a timeline bar and a finding's border take."""
    return min(verdicts, key=severity, default=None)


def render_html(report: ReportInput, generated_at: datetime | None = None) -> str:
    result = report.result
    generated = (generated_at or datetime.now(UTC)).replace(microsecond=0).isoformat()
    flagged = [(n, a) for n, a in enumerate(result.appearances) if is_flagged(a)]
    title = f"Impersonation report: {len(flagged)} flagged of {len(result.appearances)} appearances"
    body = "\n".join(
        [
            f"<h1>Impersonation scan report</h1>\n<p class='sub'>From {esc(report.result_path.name)} · scan started "
            f"{esc(result.run.started_at)} · report made {esc(generated)} · impersonation-cli {esc(__version__)}</p>",
            _summary(result, len(flagged)),
            _problems(result.unreadable),
            _timelines(result),
            _findings(report, flagged),
            _other_appearances(result, [n for n, a in enumerate(result.appearances) if not is_flagged(a)]),
            _settings(result.settings),
            "<footer>Generated by impersonation-cli. Scores are evidence for a person to weigh, not proof; the "
            "evidence files' sha256 let a recipient check they are the files the scan saved.</footer>",
        ]
    )
    return (
        "<!DOCTYPE html>\n<html lang='en'>\n<head>\n<meta charset='utf-8'>\n"
        f"<meta http-equiv='Content-Security-Policy' content=\"{CSP}\">\n"
        "<meta name='referrer' content='no-referrer'>\n"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>\n"
        f"<title>{esc(title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>\n{body}\n</main>\n</body>\n</html>\n"
    )


def write_html(report: ReportInput, path: Path) -> None:
    write_text_atomic(path, render_html(report))


def _chip(verdict: str, count: int | None = None) -> str:
    label = verdict if count is None else f"{verdict} × {count}"
    return (
        f"<span class='chip' style='background:{verdict_colour(verdict)}' title='{esc(verdict_meaning(verdict))}'>"
        f"{esc(label)}</span>"
    )


def _chips(verdicts: Iterable[str]) -> str:
    return "<div class='chips'>" + "".join(_chip(v) for v in verdicts) + "</div>"


def _card(value: object, label: str, alert: bool = False) -> str:
    return f"<div class='card{' alert' if alert else ''}'><strong>{esc(value)}</strong><span>{esc(label)}</span></div>"


def _summary(result: ScanResult, flagged: int) -> str:
    scanned = sum(1 for s in result.sources if s.status != "unreadable")
    risk = max((a.risk for a in result.appearances), default=0.0)
    counts: dict[str, int] = {}
    for appearance in result.appearances:
        for verdict in appearance.verdicts:
            counts[verdict] = counts.get(verdict, 0) + 1
    cards = [
        _card(f"{scanned} / {len(result.sources)}", "sources scanned", alert=scanned < len(result.sources)),
        _card(flagged, "flagged appearances", alert=flagged > 0),
        _card(len(result.appearances), "appearances in all"),
        _card(len(result.identities), "registered people seen"),
        _card(f"{risk:.2f}", "highest risk", alert=risk >= 0.5),
        _card(f"{result.run.video_seconds:.0f} s", "video scanned"),
    ]
    chips = "".join(_chip(v, counts[v]) for v in by_severity(counts))
    return f"<h2>Summary</h2>\n<div class='cards'>{''.join(cards)}</div>\n<div class='chips'>{chips}</div>"


def _problems(unreadable: list[SourceResult]) -> str:
    if not unreadable:
        return ""
    rows = "".join(
        f"<tr><td><code>{esc(s.source)}</code></td><td class='bad'>{esc(s.status)}</td><td>{esc(s.error or '')}</td>"
        "</tr>"
        for s in unreadable
    )
    return (
        "<h2>Inputs with problems</h2>\n<div class='panel'><table><tr><th>source</th><th>status</th><th>why</th>"
        f"</tr>{rows}</table></div>"
    )


def _findings(report: ReportInput, flagged: list[tuple[int, Appearance]]) -> str:
    if not flagged:
        return "<h2>Flagged appearances</h2>\n<p class='muted'>Nothing flagged.</p>"
    flagged = sorted(flagged, key=lambda item: (-item[1].risk, item[1].source, item[1].start_s))
    cards, rows = flagged[:MAX_CARDS], flagged[MAX_CARDS:]
    parts = ["<h2>Flagged appearances</h2>", *(_finding(report, n, a) for n, a in cards)]
    if rows:
        parts += [_left_out_note(report, len(cards), rows), _appearance_table([n for n, _ in rows], report.result)]
    return "\n".join(parts)


def _left_out_note(report: ReportInput, shown: int, rows: list[tuple[int, Appearance]]) -> str:
    folders = sorted({str(Path(a.evidence.path).parent) for _, a in rows if a.evidence and a.evidence.path})
    where = (
        f"their evidence crops are in <code>{esc(', '.join(folders[:3]))}</code>"
        + (f" and {len(folders) - 3} more folders" if len(folders) > 3 else "")
        + f" (relative to {esc(report.result_path.name)}'s folder)"
        if folders
        else "no evidence crops were saved for them"
    )
    return (
        f"<p class='panel' id='left-out'>{len(rows)} more flagged appearances are listed below without pictures: "
        f"this report shows the {shown} riskiest in full and embeds pictures for at most {MAX_CARDS}; {where}.</p>"
    )


def _finding(report: ReportInput, number: int, appearance: Appearance) -> str:
    accent = verdict_colour(primary_verdict(appearance.verdicts) or "")
    reasons = "".join(f"<li>{esc(reason)}</li>" for reason in appearance.reasons)
    return (
        f"<article class='finding' id='appearance-{number}' style='--accent:{accent}'>\n"
        f"<header><h3>{esc(appearance.identity)}</h3>{_chips(appearance.verdicts)}"
        f"<span class='risk'>risk {appearance.risk:.2f}</span></header>\n"
        f"<div class='body'>{_faces(report, appearance)}{_facts(report, appearance)}</div>\n"
        f"{f'<ul class=reasons>{reasons}</ul>' if reasons else ''}\n{_signals(appearance.signals)}\n</article>"
    )


def _figure(image: bytes | None, caption: str, missing: str) -> str:
    uri = data_uri(image) if image else None
    picture = f"<img src='{uri}' alt='{esc(caption)}'>" if uri else f"<div class='noimg'>{esc(missing)}</div>"
    return f"<figure>{picture}<figcaption>{esc(caption)}</figcaption></figure>"


def _faces(report: ReportInput, appearance: Appearance) -> str:
    evidence = check_evidence(appearance.evidence, report.result_dir)
    when = f" at {clock(appearance.evidence.time_s)}" if appearance.evidence else ""
    reference_missing = (
        "no reference photo: give the report --gallery"
        if report.authorizations is None
        else "no reference photo in the gallery"
    )
    return (
        "<div class='faces'>"
        + _figure(report.references.get(appearance.identity), "registered reference", reference_missing)
        + _figure(evidence.data, f"evidence{when}", f"evidence {evidence.status}")
        + "</div>"
    )


def _facts(report: ReportInput, appearance: Appearance) -> str:
    runner_up = (
        f"; runner-up {esc(appearance.second_identity)} {appearance.second_similarity:.2f}"
        if appearance.second_identity is not None and appearance.second_similarity is not None
        else ""
    )
    rows = [
        ("Source", f"<code>{esc(appearance.source)}</code>"),
        ("Room", esc(appearance.room or "not given")),
        ("Stream time", f"{clock(appearance.start_s)} – {clock(appearance.end_s)} ({appearance.frames} frames)"),
        ("Wall-clock", esc(_wallclock_span(appearance) or "not known (no start time given)")),
        (
            "Similarity",
            f"{appearance.median_similarity:.2f} median, {appearance.best_similarity:.2f} best "
            f"(threshold {esc(setting(report.result.settings, 'config', 'match', 'threshold'))}){runner_up}",
        ),
        ("Evidence", _evidence_facts(report, appearance)),
    ]
    return "<dl>" + "".join(f"<dt>{name}</dt><dd>{value}</dd>" for name, value in rows) + "</dl>"


def _wallclock_span(appearance: Appearance) -> str | None:
    start, end = wallclock_text(appearance.start_wallclock), wallclock_text(appearance.end_wallclock)
    return f"{start} – {end}" if start and end else start


def _evidence_facts(report: ReportInput, appearance: Appearance) -> str:
    evidence = appearance.evidence
    if evidence is None or not evidence.path:
        return "not saved (scan without --evidence-dir)"
    status = check_evidence(evidence, report.result_dir).status
    mark = "ok" if status == VERIFIED else "bad"
    return (
        f"<code>{esc(Path(evidence.path).name)}</code><br><span class='muted'>sha256</span> "
        f"<code>{esc(evidence.sha256 or '')}</code> <span class='{mark}'>{esc(status)}</span>"
    )


def _signals(signals: dict[str, SignalScore]) -> str:
    if not signals:
        return ""
    rows = "".join(_signal_row(name, signal) for name, signal in signals.items())
    return f"<table class='signals'><tr><th>signal</th><th>score</th><th>why</th></tr>{rows}</table>"


def _signal_row(name: str, signal: SignalScore) -> str:
    score = min(max(signal.score, 0.0), 1.0)
    colour = "#c62828" if score >= 0.8 else "#ef6c00" if score >= 0.5 else "#f9a825" if score >= 0.2 else "#90a4ae"
    # Details are numbers, and names such as the replayed footage's file (results.SignalScore).
    details = " · ".join(
        f"{esc(k)} {v:.3g}" if isinstance(v, int | float) else f"{esc(k)} {esc(v)}" for k, v in signal.details.items()
    )
    return (
        f"<tr><td>{esc(name)}</td><td><span class='bar'><i style='width:{score * 100:.0f}%;background:{colour}'>"
        f"</i></span>{signal.score:.2f}</td><td>{esc(signal.explanation)}"
        f"{f'<div class=details>{details}</div>' if details else ''}</td></tr>"
    )


def _other_appearances(result: ScanResult, numbers: list[int]) -> str:
    if not numbers:
        return ""
    return "<h2>Authorized appearances (not flagged)</h2>\n" + _appearance_table(numbers, result)


def _appearance_table(numbers: list[int], result: ScanResult) -> str:
    rows = "".join(
        f"<tr id='appearance-{n}'><td>{esc(a.identity)}</td><td>{esc(a.room or Path(a.source).name)}</td>"
        f"<td>{clock(a.start_s)} – {clock(a.end_s)}</td><td>{a.median_similarity:.2f}</td><td>{_chips(a.verdicts)}"
        "</td></tr>"
        for n, a in ((n, result.appearances[n]) for n in numbers)
    )
    return (
        "<div class='panel'><table><tr><th>who</th><th>where</th>"
        f"<th>stream time</th><th>similarity</th><th>verdicts</th></tr>{rows}</table></div>"
    )


def _timelines(result: ScanResult) -> str:
    readable = [s for s in result.sources if s.status != "unreadable"]
    if not readable:
        return ""
    panels = "\n".join([*(_timeline_panel(result, source) for source in readable), _wallclock_panel(result)])
    return f"<h2>Timelines</h2>\n{_legend(result)}\n{panels}"


def _legend(result: ScanResult) -> str:
    present = {primary_verdict(a.verdicts) for a in result.appearances} - {None}
    chips = "".join(_chip(v) for v in by_severity(present))
    caption = (
        "<span class='muted'>A bar takes the colour of its most severe verdict; it lists them all where it fits.</span>"
    )
    return f"<div class='chips legend'>{chips}{caption}</div>"


# A lane of a timeline: its label and its bars (appearance number, appearance, start and end in the
# timeline's seconds).
Lane = tuple[str, list[tuple[int, Appearance, float, float]]]


def _timeline_panel(result: ScanResult, source: SourceResult) -> str:
    numbered = [(n, a) for n, a in enumerate(result.appearances) if a.source == source.source]
    heading = f"{esc(source.room) + ' · ' if source.room else ''}<code>{esc(Path(source.source).name)}</code>"
    if not numbered:
        body = "<p class='muted'>No registered person seen.</p>"
    elif source.kind == "image":
        body = "<p>Still image: " + ", ".join(esc(a.identity) for _, a in numbered) + "</p>"
    else:
        people = sorted({a.identity for _, a in numbered}, key=str.casefold)
        lanes = [(p, [(n, a, a.start_s, a.end_s) for n, a in numbered if a.identity == p]) for p in people]
        body = _timeline_svg(lanes, _span(source, [a for _, a in numbered]), clock)
    return f"<div class='panel'><h3>{heading}</h3>{body}</div>"


def _wallclock_panel(result: ScanResult) -> str:
    """Every room on one wall-clock axis, one lane per person and room: bars stacked above each other are the
    same person in several rooms at once (a `concurrent` verdict). Shown only when appearances from two or
    more rooms (or sources) carry wall-clock times."""
    placed = [
        (n, a, start, end)
        for n, a in enumerate(result.appearances)
        if (start := _moment(a.start_wallclock)) is not None and (end := _moment(a.end_wallclock)) is not None
    ]
    if len({_where(a) for _, a, _, _ in placed}) < 2:
        return ""
    origin = min(start for _, _, start, _ in placed)
    lane_names = sorted({(a.identity, _where(a)) for _, a, _, _ in placed}, key=lambda k: (k[0].casefold(), k[1]))
    lanes = [
        (
            f"{person} · {where}",
            [(n, a, s - origin, e - origin) for n, a, s, e in placed if (a.identity, _where(a)) == (person, where)],
        )
        for person, where in lane_names
    ]
    span_s = max(max(end for _, _, _, end in placed) - origin, 1.0)

    def tick(seconds: float) -> str:
        return datetime.fromtimestamp(origin + seconds, tz=UTC).strftime("%H:%M:%S")

    start_text = datetime.fromtimestamp(origin, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    heading = f"All rooms by wall-clock time <span class='muted'>(UTC, from {esc(start_text)})</span>"
    return f"<div class='panel'><h3>{heading}</h3>{_timeline_svg(lanes, span_s, tick)}</div>"


def _where(appearance: Appearance) -> str:
    return appearance.room or Path(appearance.source).name


def _moment(value: str | None) -> float | None:
    try:
        return datetime.fromisoformat(value).timestamp() if value else None
    except ValueError:
        return None


def _span(source: SourceResult, appearances: list[Appearance]) -> float:
    return max([source.duration_s or 0.0, source.scanned_s, *(a.end_s for a in appearances), 1.0])


def _timeline_svg(lanes: list[Lane], span_s: float, tick_label: Callable[[float], str]) -> str:
    height = TIMELINE_AXIS + TIMELINE_LANE * len(lanes)
    plot = TIMELINE_WIDTH - TIMELINE_LABEL_WIDTH - 10

    def x(seconds: float) -> float:
        return TIMELINE_LABEL_WIDTH + plot * min(max(seconds, 0.0), span_s) / span_s

    parts = [_axis(span_s, x, height, tick_label)]
    for lane, (name, bars) in enumerate(lanes):
        y = TIMELINE_AXIS + lane * TIMELINE_LANE
        label = name if len(name) <= TIMELINE_LABEL_CHARS else name[: TIMELINE_LABEL_CHARS - 1] + "…"
        parts.append(f"<text x='0' y='{y + 18}'><title>{esc(name)}</title>{esc(label)}</text>")
        parts.append(
            f"<rect x='{TIMELINE_LABEL_WIDTH}' y='{y + 4}' width='{plot}' height='{TIMELINE_LANE - 8}' fill='#eef1f5'/>"
        )
        parts.extend(_segment(n, a, x(start), x(end), y) for n, a, start, end in bars)
    return (
        f"<svg class='timeline' viewBox='0 0 {TIMELINE_WIDTH} {height}' role='img' "
        f"xmlns='http://www.w3.org/2000/svg'>{''.join(parts)}</svg>"
    )


def _segment(number: int, appearance: Appearance, left: float, right: float, y: float) -> str:
    colour = verdict_colour(primary_verdict(appearance.verdicts) or "")
    tip = f"{appearance.identity}: {clock(appearance.start_s)} – {clock(appearance.end_s)}, " + ", ".join(
        appearance.verdicts
    )
    width = max(right - left, 4)
    words = ", ".join(appearance.verdicts)
    # Every verdict written on the bar where it fits; the colour alone shows only the most severe one.
    label = (
        f"<text x='{left + 6:.1f}' y='{y + 18}' class='on-bar'>{esc(words)}</text>"
        if width > TIMELINE_CHAR_PX * len(words) + 12
        else ""
    )
    return (
        f"<a href='#appearance-{number}'><rect x='{left:.1f}' y='{y + 4}' width='{width:.1f}' "
        f"height='{TIMELINE_LANE - 8}' rx='3' fill='{colour}'><title>{esc(tip)}</title></rect>{label}</a>"
    )


def _axis(span_s: float, x: Callable[[float], float], height: int, tick_label: Callable[[float], str]) -> str:
    step = next((s for s in (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600) if span_s / s <= 10), 7200)
    ticks = []
    for n in range(int(span_s // step) + 1):
        at = x(n * step)
        anchor = "end" if at > TIMELINE_WIDTH - 40 else "middle"  # the last label stays inside the picture
        ticks.append(
            f"<line x1='{at:.1f}' y1='16' x2='{at:.1f}' y2='{height}' stroke='#d5dae2'/>"
            f"<text class='tick' x='{at:.1f}' y='12' text-anchor='{anchor}'>{esc(tick_label(n * step))}</text>"
        )
    return "".join(ticks)


def _settings(settings: dict[str, Any]) -> str:
    facts = [
        ("model pack", settings.get("pack")),
        ("detector", settings.get("detector")),
        ("recognizer", settings.get("recognizer")),
        ("provider", settings.get("provider")),
        ("frames sampled per second", settings.get("fps")),
        ("people in the gallery", settings.get("gallery_identities")),
        ("config file", settings.get("config_path") or "defaults"),
    ]
    config = _flatten(setting(settings, "config") or {})
    thresholds = [(k, v) for k, v in config if "threshold" in k or "margin" in k]
    return (
        "<h2>Thresholds and model pack</h2>\n<div class='panel'><dl>"
        + "".join(f"<dt>{esc(name)}</dt><dd>{esc(value)}</dd>" for name, value in facts + thresholds)
        + "</dl><details><summary>All settings</summary><dl>"
        + "".join(f"<dt><code>{esc(k)}</code></dt><dd><code>{esc(v)}</code></dd>" for k, v in config)
        + "</dl></details></div>"
    )


def _flatten(value: Any, prefix: str = "") -> list[tuple[str, Any]]:
    if not isinstance(value, dict):
        return [(prefix, value)]
    return [item for key, inner in value.items() for item in _flatten(inner, f"{prefix}.{key}" if prefix else key)]
