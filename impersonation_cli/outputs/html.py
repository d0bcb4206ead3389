"""The HTML report: one self-contained file an analyst can open, read and forward.

This module works out what the page shows (which appearances are flagged and in what order, where the
timelines' bars go); the Jinja2 template `templates/report.html.j2` says how it looks. Everything in a scan
result is untrusted text (names, file names, URLs, explanations): the template escapes every value it writes
(autoescape), so no field depends on remembering a call. Images are embedded as data: URIs, and a
Content-Security-Policy allows nothing else (no script, no network), so even text that slipped through
escaping could not run or call out.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jinja2
import markupsafe

from impersonation_cli import __version__
from impersonation_cli.errors import BIDI
from impersonation_cli.outputs.evidence_files import VERIFIED, check_evidence, data_uri, found_elsewhere
from impersonation_cli.outputs.findings import (
    ObservedLive,
    ReportInput,
    is_flagged,
    observed_live,
    own_verdicts,
    read_sources,
    setting,
    source_names,
    source_reasons,
    verdict_meaning,
    wallclock_text,
)
from impersonation_cli.outputs.table import clock
from impersonation_cli.results import Appearance, Evidence, ScanResult, SourceResult, Verdict

# Colours by verdict, most severe first: a timeline bar takes the colour of its most severe verdict.
VERDICT_COLOURS: dict[str, str] = {
    Verdict.SYNTHETIC: "#c62828",
    Verdict.REPLAY: "#d84315",
    Verdict.CONCURRENT: "#6a1b9a",
    Verdict.EFFECTS: "#ad1457",
    Verdict.UNAUTHORIZED: "#b26a00",
    Verdict.AUTHORIZED: "#2e7d32",
}
UNKNOWN_VERDICT_COLOUR = "#546e7a"

TIMELINE_WIDTH = 1000
TIMELINE_LABEL_WIDTH = 260
TIMELINE_LABEL_CHARS = 36  # lane labels longer than this are cut (the full name is the tooltip)
TIMELINE_LANE = 28
TIMELINE_AXIS = 26
TIMELINE_CHAR_PX = 7  # average width of a character of the bar labels, in viewBox units
# Flagged appearances shown as cards with their pictures, riskiest first; the rest are rows of a table. Every
# card embeds two pictures, so a page of tens of thousands of cards runs to gigabytes (docs/benchmark.md).
MAX_CARDS = 200
# Pictures embedded in one report, in bytes: a crop is tens of kilobytes, but a crafted result may point every card
# at one 20 MB image whose sha256 it records, which would make a gigabytes-large report (and hold it in memory).
MAX_PICTURE_BYTES = 50_000_000


def verdict_colour(verdict: str) -> str:
    return VERDICT_COLOURS.get(verdict, UNKNOWN_VERDICT_COLOUR)


def severity(verdict: str) -> float:
    """Rank by severity, 0 the most severe; a verdict this report does not know ranks just above 'authorized'."""
    order = list(VERDICT_COLOURS)
    return order.index(verdict) if verdict in order else order.index(Verdict.AUTHORIZED) - 0.5


def by_severity(verdicts: Iterable[str]) -> list[str]:
    return sorted(verdicts, key=severity)


def primary_verdict(verdicts: list[str]) -> str | None:
    """The most severe verdict: the one whose colour a timeline bar and a finding's border take."""
    return min(verdicts, key=severity, default=None)


def score_colour(score: float) -> str:
    """A signal's score bar: red for a strong sign down to grey for none (the notices' words, in colour)."""
    score = min(max(score, 0.0), 1.0)
    return "#c62828" if score >= 0.8 else "#ef6c00" if score >= 0.5 else "#f9a825" if score >= 0.2 else "#90a4ae"


# Control characters but the tab, which a file name's code element shows (white-space: pre-wrap). A newline in a
# file name is one too: shown, 'in/line1' and '# Injected heading' read as two lines of the page (the drafts show
# U+FFFD there, as here).
CONTROL_IN_PAGE = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f]")


def _without_bidi_overrides(value: Any) -> Any:
    # Bidi embeddings, overrides and isolates reorder the text after them: 'x\u202egpj.exe' reads as 'xexe.jpg'.
    # Escaping leaves them be; every value the page writes has them replaced (as the takedown drafts do), and so
    # has every control character: a name's ESC sequence reached the page as it was, and `cat report.html` or a
    # pager obeyed it (the terminal recoloured, cleared, retitled). An embedded picture is Markup (PictureBudget).
    # A macro's output is Markup whose values were finalized inside it; re.sub would return it as str (escaped again).
    if isinstance(value, str) and not isinstance(value, markupsafe.Markup):
        value = CONTROL_IN_PAGE.sub("\ufffd", value)
        return value if value.isascii() else BIDI.sub("\ufffd", value)
    return value


def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        finalize=_without_bidi_overrides,
        loader=jinja2.FileSystemLoader(Path(__file__).with_name("templates")),
        autoescape=True,  # every value is untrusted text: escaped unless the template says otherwise (it never does)
        undefined=jinja2.StrictUndefined,  # a misspelt name fails the render instead of leaving a blank
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    environment.filters.update(
        clock=clock,
        colour=verdict_colour,
        meaning=verdict_meaning,
        px=lambda value: f"{value:.1f}",
        percent=lambda score: f"{min(max(score, 0.0), 1.0) * 100:.0f}",
        score_colour=score_colour,
    )
    return environment


TEMPLATES = _environment()


@dataclass(frozen=True)
class Summary:
    scanned: int  # sources read, wholly or in part (findings.read_sources)
    risk: float  # the highest risk of any appearance or source
    # Appearances per verdict, plus the sources with it as their own (a looping stream), most severe first.
    verdict_counts: list[tuple[str, int]]


@dataclass(frozen=True)
class Figure:
    uri: str | None  # a data: URI, None when there is no picture to show
    caption: str
    missing: str  # shown in the picture's place when there is none


UNWRITTEN = "the scan could not write it: a full disk, or a folder it could not write"


@dataclass(frozen=True)
class ShownEvidence:
    """One evidence picture of a finding (the face crop, or the whole frame), embedded only if it is the file the
    scan saved, with its recorded path and sha256 and whether the file still matches."""

    figure: Figure
    file: str | None  # the path as the result records it, None when the scan saved none
    sha256: str | None
    status: str
    found: str | None  # where it was checked, when not at its recorded path (a moved folder)
    # Why no file is named: the scan saved none (no --evidence-dir), or it could not write the one it took.
    unsaved: str = "scan without --evidence-dir"

    @property
    def verified(self) -> bool:
        return self.status == VERIFIED


@dataclass(frozen=True)
class Finding:
    """A flagged appearance shown in full, with its pictures."""

    number: int  # its index in the result: the anchor its timeline bars link to
    appearance: Appearance
    accent: str
    reference: Figure
    evidence: ShownEvidence
    frame: ShownEvidence | None  # None when the result records no whole frame (a scan before schema 1.11)
    wallclock: str | None


@dataclass(frozen=True)
class LeftOut:
    """Flagged appearances beyond MAX_CARDS: listed as table rows, without pictures."""

    rows: list[tuple[int, Appearance]]
    folders: list[str]  # the folders holding their evidence crops


@dataclass(frozen=True)
class Tick:
    x: float
    label: str
    anchor: str


@dataclass(frozen=True)
class Bar:
    number: int
    left: float
    width: float
    colour: str
    tip: str
    words: str | None  # every verdict, written on the bar where it fits


@dataclass(frozen=True)
class Lane:
    top: int
    name: str
    label: str  # the name, cut to fit
    bars: list[Bar]


@dataclass(frozen=True)
class Timeline:
    height: int
    ticks: list[Tick]
    lanes: list[Lane]
    width: int = TIMELINE_WIDTH
    plot_left: int = TIMELINE_LABEL_WIDTH
    plot_width: int = TIMELINE_WIDTH - TIMELINE_LABEL_WIDTH - 10
    bar_height: int = TIMELINE_LANE - 8


@dataclass(frozen=True)
class SourcePanel:
    source: SourceResult
    still_image_people: list[str]  # a still image: who is in it
    timeline: Timeline | None  # a video with appearances: a lane per person
    own_verdicts: list[str]  # flagged on its own, beyond its appearances (a stream that loops itself)
    own_reasons: list[str]
    live: ObservedLive | None = None  # a watched room: when it was live, its interruptions


@dataclass(frozen=True)
class WallclockPanel:
    start: str
    timeline: Timeline


@dataclass(frozen=True)
class Timelines:
    legend: list[str]  # the verdicts that colour a bar, most severe first
    sources: list[SourcePanel]
    wallclock: WallclockPanel | None


@dataclass(frozen=True)
class SettingsShown:
    facts: list[tuple[str, Any]]  # the model pack and every threshold and margin
    config: list[tuple[str, Any]]  # every setting, by dotted name


def render_html(report: ReportInput, generated_at: datetime | None = None) -> str:
    result = report.result
    numbered = list(enumerate(result.appearances))
    flagged = sorted(
        ((n, a) for n, a in numbered if is_flagged(a)),
        key=lambda item: (-item[1].risk, item[1].source, item[1].start_s),
    )
    shown, listed = flagged[:MAX_CARDS], flagged[MAX_CARDS:]
    budget = PictureBudget()
    return TEMPLATES.get_template("report.html.j2").render(
        result=result,
        result_name=report.result_path.name,
        caveat=report.caveat,
        generated=(generated_at or datetime.now(UTC)).replace(microsecond=0).isoformat(),
        version=__version__,
        summary=_summary(result),
        flagged_count=len(flagged),
        timelines=_timelines(result),
        names=source_names(result),
        findings=_findings(report, shown, budget),
        threshold=setting(result.settings, "config", "match", "threshold"),
        left_out=_left_out(listed) if listed else None,
        max_cards=MAX_CARDS,
        others=[(n, a) for n, a in numbered if not is_flagged(a)],
        settings=_settings(result.settings),
    )


def _summary(result: ScanResult) -> Summary:
    """Counts and the highest risk over the appearances and the sources flagged on their own (a looping
    stream: its verdict and risk are its own, no appearance's)."""
    counts: dict[str, int] = {}
    own = [v for source in result.sources for v in own_verdicts(source, result.appearances_of(source))]
    for verdict in [*(v for a in result.appearances for v in a.verdicts), *own]:
        counts[verdict] = counts.get(verdict, 0) + 1
    return Summary(
        scanned=len(read_sources(result)),
        risk=max([*(a.risk for a in result.appearances), *(s.risk for s in result.sources)], default=0.0),
        verdict_counts=[(v, counts[v]) for v in by_severity(counts)],
    )


def _left_out(rows: list[tuple[int, Appearance]]) -> LeftOut:
    folders = sorted({str(Path(a.evidence.path).parent) for _, a in rows if a.evidence and a.evidence.path})
    return LeftOut(rows, folders)


@dataclass
class PictureBudget:
    """The bytes of pictures a report may still embed (MAX_PICTURE_BYTES in all)."""

    left: int = field(default_factory=lambda: MAX_PICTURE_BYTES)  # read when made: a test may lower it

    def figure(self, image: bytes | None, caption: str, missing: str) -> Figure:
        if image and len(image) > self.left:
            spent = f"{MAX_PICTURE_BYTES // 10**6} MB"
            return Figure(None, caption, f"not embedded: the report already holds {spent} of pictures")
        self.left -= len(image or b"")
        uri = data_uri(image) if image else None
        # Base64 after a known image type: nothing to escape, and megabytes no filter need scan (27 ms a 2.7-MB URI).
        return Figure(markupsafe.Markup(uri) if uri else None, caption, missing)


def _findings(report: ReportInput, shown: list[tuple[int, Appearance]], budget: PictureBudget) -> list[Finding]:
    """The cards, their whole frames last: a frame is context and a crop the evidence, so the frames take only
    what every card's crop and reference photo leave of the budget (a few 1080p frames would otherwise push
    the crops of the cards after them out)."""
    findings = [_finding(report, number, appearance, budget) for number, appearance in shown]
    return [_with_frame(report, finding, budget) for finding in findings]


def _with_frame(report: ReportInput, finding: Finding, budget: PictureBudget) -> Finding:
    frame = finding.appearance.evidence_frame
    return finding if frame is None else replace(finding, frame=_shown(report, frame, "whole frame", budget))


def _finding(report: ReportInput, number: int, appearance: Appearance, budget: PictureBudget) -> Finding:
    reference_missing = (
        "no reference photo: give the report --gallery"
        if report.authorizations is None
        else "no reference photo in the gallery"
    )
    return Finding(
        number=number,
        appearance=appearance,
        accent=verdict_colour(primary_verdict(appearance.verdicts) or ""),
        reference=budget.figure(report.references.get(appearance.identity), "registered reference", reference_missing),
        evidence=_shown(report, appearance.evidence, "evidence", budget),
        frame=None,  # `_with_frame`, once every card has its crop
        wallclock=_wallclock_span(appearance),
    )


def _shown(report: ReportInput, evidence: Evidence | None, caption: str, budget: PictureBudget) -> ShownEvidence:
    checked = check_evidence(evidence, report.result_dir)
    when = f" at {clock(evidence.time_s)}" if evidence else ""
    elsewhere = found_elsewhere(evidence, checked)
    return ShownEvidence(
        figure=budget.figure(checked.data, f"{caption}{when}", f"{caption} {checked.status}"),
        file=(evidence.path if evidence else None) or None,
        sha256=evidence.sha256 if evidence else None,
        status=checked.status,
        found=str(elsewhere) if elsewhere else None,
        # A picture taken and not written is recorded without a path: its folder was given.
        unsaved="scan without --evidence-dir" if evidence is None else UNWRITTEN,
    )


def _wallclock_span(appearance: Appearance) -> str | None:
    start, end = wallclock_text(appearance.start_wallclock), wallclock_text(appearance.end_wallclock)
    return f"{start} – {end}" if start and end else start


def _timelines(result: ScanResult) -> Timelines | None:
    readable = read_sources(result)
    if not readable:
        return None
    legend = by_severity({v for a in result.appearances if (v := primary_verdict(a.verdicts)) is not None})
    return Timelines(legend, [_source_panel(result, s) for s in readable], _wallclock_panel(result))


# The bars of a lane before they are placed: appearance number, appearance, start and end in the timeline's seconds.
Span = tuple[int, Appearance, float, float]


def _source_panel(result: ScanResult, source: SourceResult) -> SourcePanel:
    found = {id(a) for a in result.appearances_of(source)}
    numbered = [(n, a) for n, a in enumerate(result.appearances) if id(a) in found]
    own = own_verdicts(source, result.appearances_of(source))
    reasons = source_reasons(source, own)
    live = observed_live(result, source)
    if not numbered:
        return SourcePanel(source, [], None, own, reasons, live)
    if source.kind == "image":
        return SourcePanel(source, [a.identity for _, a in numbered], None, own, reasons, live)
    people = sorted({a.identity for _, a in numbered}, key=str.casefold)
    lanes = [(p, [(n, a, a.start_s, a.end_s) for n, a in numbered if a.identity == p]) for p in people]
    timeline = _timeline(lanes, _span(source, [a for _, a in numbered]), clock)
    return SourcePanel(source, [], timeline, own, reasons, live)


def _wallclock_panel(result: ScanResult) -> WallclockPanel | None:
    """Every room on one wall-clock axis, one lane per person and room: bars stacked above each other are the
    same person in several rooms at once (a `concurrent` verdict). Shown only when appearances from two or
    more rooms (or sources) carry wall-clock times."""
    placed = [
        (n, a, start, end)
        for n, a in enumerate(result.appearances)
        if (start := _moment(a.start_wallclock)) is not None and (end := _moment(a.end_wallclock)) is not None
    ]
    names = source_names(result)
    where_of = {id(a): a.room or names[a.source] for _, a, _, _ in placed}  # the lane's place: room, else file
    if len(set(where_of.values())) < 2:
        return None
    origin = min(start for _, _, start, _ in placed)
    lane_names = sorted({(a.identity, where_of[id(a)]) for _, a, _, _ in placed}, key=lambda k: (k[0].casefold(), k[1]))
    lanes = [
        (
            f"{person} · {where}",
            [
                (n, a, s - origin, e - origin)
                for n, a, s, e in placed
                if (a.identity, where_of[id(a)]) == (person, where)
            ],
        )
        for person, where in lane_names
    ]
    labels = [_person_and_place(person, where) for person, where in lane_names]
    span_s = max(max(end for _, _, _, end in placed) - origin, 1.0)
    # Rooms days apart: the axis said '12:00:00 20:00:00 04:00:00 ...', no day told from the next.
    days = datetime.fromtimestamp(origin, tz=UTC).date() != datetime.fromtimestamp(origin + span_s, tz=UTC).date()

    def tick(seconds: float) -> str:
        return datetime.fromtimestamp(origin + seconds, tz=UTC).strftime("%m-%d %H:%M" if days else "%H:%M:%S")

    def moment(seconds: float) -> str:  # a bar's tooltip: it gave the stream's time on the wall-clock axis
        return datetime.fromtimestamp(origin + seconds, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")

    start_text = datetime.fromtimestamp(origin, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return WallclockPanel(start_text, _timeline(lanes, span_s, tick, labels, moment))


def _cut(text: str, chars: int) -> str:
    return text if len(text) <= chars else text[: chars - 1] + "…"


def _person_and_place(person: str, where: str) -> str:
    """A wall-clock lane's label: the person's name is cut before the room is, since the same person's lanes
    differ only by their room (half the label at most goes to the room; the tooltip has both in full)."""
    place = _cut(where, TIMELINE_LABEL_CHARS // 2)
    return f"{_cut(person, TIMELINE_LABEL_CHARS - len(place) - 3)} · {place}"


# The start of the last day an axis label can name (see _moment).
LAST_MOMENT = datetime(9999, 12, 31, tzinfo=UTC).timestamp()


def _moment(value: str | None) -> float | None:
    """Seconds since the epoch; None for text that is no time, or a time whose UTC date is outside years 1 to
    9999 ('0001-01-01T00:00:00+14:00') or on the last day of 9999, which the axis labels could not be made from
    (the axis runs at least a second past its earliest start: '9999-12-31T23:59:59+00:00' labelled year 10000)."""
    try:
        moment = datetime.fromisoformat(value).astimezone(UTC).timestamp() if value else None
    except (ValueError, OverflowError):
        return None
    return moment if moment is None or moment < LAST_MOMENT else None


def _span(source: SourceResult, appearances: list[Appearance]) -> float:
    return max([source.duration_s or 0.0, source.scanned_s, *(a.end_s for a in appearances), 1.0])


def _timeline(
    lanes: list[tuple[str, list[Span]]],
    span_s: float,
    tick_label: Callable[[float], str],
    labels: list[str] | None = None,
    moment: Callable[[float], str] = clock,
) -> Timeline:
    """`labels`: each lane's label, where the name cut at TIMELINE_LABEL_CHARS is not the one to show; `moment`:
    a time of the axis as a bar's tooltip says it."""
    plot = TIMELINE_WIDTH - TIMELINE_LABEL_WIDTH - 10

    def x(seconds: float) -> float:
        return TIMELINE_LABEL_WIDTH + plot * (min(max(seconds, 0.0), span_s) / span_s)  # a share first: no overflow

    placed = [
        Lane(
            top=TIMELINE_AXIS + lane * TIMELINE_LANE,
            name=name,
            label=labels[lane] if labels is not None else _cut(name, TIMELINE_LABEL_CHARS),
            bars=[_bar(n, a, x(start), x(end), f"{moment(start)} – {moment(end)}") for n, a, start, end in spans],
        )
        for lane, (name, spans) in enumerate(lanes)
    ]
    return Timeline(TIMELINE_AXIS + TIMELINE_LANE * len(lanes), _ticks(span_s, x, tick_label), placed)


def _bar(number: int, appearance: Appearance, left: float, right: float, when: str) -> Bar:
    tip = f"{appearance.identity}: {when}, " + ", ".join(appearance.verdicts)
    width = max(right - left, 4)
    left = min(left, TIMELINE_WIDTH - 10 - width)  # a short bar at the axis's end drew past it
    words = ", ".join(appearance.verdicts)
    # Every verdict written on the bar where it fits; the colour alone shows only the most severe one.
    fits = width > TIMELINE_CHAR_PX * len(words) + 12
    return Bar(
        number, left, width, verdict_colour(primary_verdict(appearance.verdicts) or ""), tip, words if fits else None
    )


def _ticks(span_s: float, x: Callable[[float], float], tick_label: Callable[[float], str]) -> list[Tick]:
    steps = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200)
    # Beyond 20 hours, whole multiples of 2 hours: still about ten ticks (a duration of 1e300 s made 1e296).
    step = next((s for s in steps if span_s / s <= 10), 7200.0 * math.ceil(span_s / 72000))
    ticks = []
    for n in range(int(span_s // step) + 1):
        at = x(n * step)
        anchor = "end" if at > TIMELINE_WIDTH - 40 else "middle"  # the last label stays inside the picture
        ticks.append(Tick(at, tick_label(n * step), anchor))
    return ticks


def _settings(settings: dict[str, Any]) -> SettingsShown:
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
    return SettingsShown(facts + thresholds, config)


def _flatten(value: Any, prefix: str = "") -> list[tuple[str, Any]]:
    if not isinstance(value, dict):
        return [(prefix, value)]
    return [item for key, inner in value.items() for item in _flatten(inner, f"{prefix}.{key}" if prefix else key)]
