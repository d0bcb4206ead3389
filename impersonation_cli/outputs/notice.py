"""Takedown-notice drafts: one Markdown file per flagged source, for an analyst to check, fill in and send.

Untrusted text (names, rooms, file names, explanations) must stay text when the Markdown is rendered: prose
goes through `md_text` (every character Markdown could read as syntax is backslash-escaped, so a name with
`](javascript:` or `<script>` in it is shown, not obeyed) and paths and hashes through `md_code` (a code
span, whose content Markdown never interprets).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from impersonation_cli import __version__
from impersonation_cli.errors import BIDI_REORDERING
from impersonation_cli.gallery.grants import Authorizing, appearance_span, authorizing
from impersonation_cli.gallery.store import Authorization, name_key
from impersonation_cli.io.atomic_write import text_bytes, write_files_atomic
from impersonation_cli.io.names import name_from_shown
from impersonation_cli.outputs.evidence import slug, source_slug
from impersonation_cli.outputs.evidence_files import check_evidence, found_elsewhere
from impersonation_cli.outputs.findings import (
    ObservedLive,
    ReportInput,
    observed_live,
    own_verdicts,
    setting,
    signal_words,
    source_reasons,
    takedown_by_source,
    verdict_meaning,
    verdicts_against_room,
    wallclock_text,
)
from impersonation_cli.outputs.table import clock
from impersonation_cli.results import Appearance, Evidence, SourceResult, Verdict

# What Markdown (CommonMark and GitHub's extensions) could turn into a link, image, HTML, entity or emphasis
# mid-line: brackets, angle brackets, '&', backticks, '*', '~', '#', '_' at a word's edge, and the parts of
# automatic links ('://', 'www.', '@'). Everything else stays as it is, so the draft reads well as plain
# text too (platform forms are often plain text). Untrusted text never starts a line, so line-start syntax
# ('-', '1.', '>') cannot arise.
MARKDOWN_SPECIAL = re.compile(r"[\\`*\[\]<>&~#@]|(?<![^\W_])_|_(?![^\W_])|:(?=//)|(?<=www)\.", re.IGNORECASE)
# Control characters, and the bidi embeddings, overrides and isolates that reorder what follows them:
# 'x\u202egpj.exe' reads as 'xexe.jpg' in a form or a rendered draft. (Zero-width joiners and the marks LRM/RLM
# stay: names in Persian, Hindi or Arabic need them.)
CONTROL = re.compile(f"[\x00-\x1f\x7f-\x9f{BIDI_REORDERING}]")
# In a code span, those and the line and paragraph separators (a line break to editors and forms): a path's other
# characters, its spaces included, are its own.
NOT_IN_CODE = re.compile(f"[\x00-\x1f\x7f-\x9f\u2028\u2029{BIDI_REORDERING}]")
PLACEHOLDER_NOTE = "Every `{{...}}` is a placeholder to fill in before sending."
# Appearances a draft sets out in full (the highest-risk ones), the others one line each: 1,500 appearances of
# one person made a 3 MB draft nobody could paste into a platform's form.
MAX_DETAILED = 50


def one_line(value: object) -> str:
    """Text on one line, without control or bidi-override characters (a terminal showing the file would obey
    the first, any reader the second)."""
    return CONTROL.sub("\ufffd", " ".join(str(value).split()))


def md_text(value: object) -> str:
    """Untrusted text as literal Markdown prose, on one line."""
    return MARKDOWN_SPECIAL.sub(lambda match: "\\" + match.group(0), one_line(value))


def md_code(value: object) -> str:
    """Untrusted text as a literal Markdown code span, on one line: as it is but for control characters (a newline
    among them), line separators and bidi overrides, each U+FFFD. Not joined as prose is: the draft named the file
    `in/line\nbreak.mp4` as `in/line break.mp4` and `a  b.mp4` as `a b.mp4`, files that are not there."""
    text = NOT_IN_CODE.sub("\ufffd", str(value))
    fence = "`" * (max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    # CommonMark takes one space off each end of a span that begins and ends with one: pad it, as for a backtick.
    spaced = text.startswith(" ") and text.endswith(" ") and text.strip(" ") != ""
    pad = " " if text.startswith("`") or text.endswith("`") or spaced else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def notice_file_name(source: SourceResult) -> str:
    """A safe, unique file name: the room (if any) for people, the source's slug and hash for uniqueness, as its
    evidence folder is named. A file name that is not UTF-8 is read back from the result's `\\xNN` to the name the
    scan read: named from that text, the draft was 'takedown-bad_xff-cdce7db8.md' beside crops in 'bad-46823c3d'."""
    room = f"{slug(source.room)}-" if source.room else ""
    return f"takedown-{room}{source_slug(name_from_shown(source.source))}.md"


def write_notices(report: ReportInput, folder: Path, generated_at: datetime | None = None) -> list[Path]:
    """The drafts of `notice_documents` written into `folder`, all or none; returns the files written."""
    documents = notice_documents(report, folder, generated_at)
    write_files_atomic({path: text_bytes(text) for path, text in documents.items()})
    return list(documents)


def notice_documents(report: ReportInput, folder: Path, generated_at: datetime | None = None) -> dict[Path, str]:
    """One draft per flagged source, by the file it goes to in `folder` (none when nothing is flagged), but
    for an authorized room whose only finding is that the person is live elsewhere too (`takedown_grounds`)."""
    return {
        folder / notice_file_name(source): render_notice(report, source, appearances, generated_at)
        for source, appearances in takedown_by_source(report.result)
    }


def render_notice(
    report: ReportInput, source: SourceResult, appearances: list[Appearance], generated_at: datetime | None = None
) -> str:
    generated = (generated_at or datetime.now(UTC)).replace(microsecond=0).isoformat()
    people = sorted({a.identity for a in appearances}, key=str.casefold)
    names = _names(people)
    own = own_verdicts(source, report.result.appearances_of(source))
    detailed = _detailed(appearances)
    sections = [
        f"# Takedown request: suspected impersonation of {names}",
        f"> **Draft** made by impersonation-cli {md_text(__version__)} on {md_text(generated)} from "
        f"{md_code(report.result_path.name)}. Check every fact against the evidence. {PLACEHOLDER_NOTE} "
        f"{md_text(report.caveat) + '. ' if report.caveat else ''}Delete this note before sending.",
        "**To:** {{PLATFORM TRUST & SAFETY / IP COMPLAINTS CONTACT}}  \n"
        "**From:** {{SENDER NAME}}, {{ORGANISATION}}, acting for {{RIGHTS HOLDER}}  \n"
        "**Contact:** {{EMAIL}} · {{PHONE}}  \n"
        "**Date:** {{DATE SENT}}",
        _account(source, observed_live(report.result, source)),
        _summary(people, appearances, own),
        *(_appearance(report, n, a) for n, a in enumerate(appearances, start=1) if n in detailed),
        *_others(appearances, detailed),
        *([_stream(source, own)] if own else []),
        _evidence(report, [a for n, a in enumerate(appearances, start=1) if n in detailed], len(appearances)),
        _request(*_people_by_authorization(report, appearances)),
    ]
    return "\n\n".join(sections) + "\n"


def _detailed(appearances: list[Appearance]) -> set[int]:
    """The numbers (from 1, in the draft's order) of the MAX_DETAILED appearances of highest risk."""
    ranked = sorted(range(len(appearances)), key=lambda n: (-appearances[n].risk, n))
    return {n + 1 for n in ranked[:MAX_DETAILED]}


def _verdicts_text(appearance: Appearance, bold: bool) -> str:
    """An appearance's verdicts as a draft puts them to the platform (`verdicts_against_room`), and, of an
    authorized one, why the others are not put: a loop's draft listed **authorized** and **concurrent** among
    the findings its request said the authorization did not cover."""
    against = verdicts_against_room(appearance)
    listed = ", ".join(f"**{md_text(v)}**" if bold else md_text(v) for v in against)
    if len(against) == len(appearance.verdicts):
        return listed or ("none recorded" if bold else "no verdict")
    aside = "authorized in this room" + (
        "; live in other rooms at once, grounds against those" if Verdict.CONCURRENT in appearance.verdicts else ""
    )
    return f"{listed or 'none against this room'} ({aside})"


def _others(appearances: list[Appearance], detailed: set[int]) -> list[str]:
    """The appearances not set out in full, one line each."""
    lines = [
        f"- {n}. {md_text(a.identity)}, {clock(a.start_s)} to {clock(a.end_s)}: "
        f"{_verdicts_text(a, bold=False)}, risk {a.risk:.2f}"
        for n, a in enumerate(appearances, start=1)
        if n not in detailed
    ]
    if not lines:
        return []
    heading = (
        f"### The other {len(lines)} appearances, in brief\n\nThe {len(detailed)} of highest risk are set out above; "
        "these are in the scan result with their reasons, signals and evidence files."
    )
    return [heading + "\n\n" + "\n".join(lines)]


def _account(source: SourceResult, live: ObservedLive | None) -> str:
    room = md_code(source.room) if source.room else "not recorded by the scan: {{PLATFORM AND ACCOUNT / ROOM URL}}"
    return (
        "## The account\n\n"
        f"- Platform and account (room): {room}\n"
        f"- Recording examined: {md_code(source.source)}"
        + _length(source)
        + "".join(f"\n{line}" for line in _observed(live))
        + "\n- Link to the live room or video: {{URL}}"
    )


def _length(source: SourceResult) -> str:
    """The recording's length; for one read only in part (`truncated`: decoding stopped, a slice lost), that it
    was, and why: a draft said '(40 s of video)' of a file whose last 21 s nobody examined. Long, not 'of video':
    the length counts from the file's start, and a file whose sound began 700 s before its 9-s picture was
    '710 s of video'."""
    if source.status == "ok":
        return f" ({source.duration_s:.0f} s long)" if source.duration_s else ""
    length = f"{source.duration_s:.0f} s long by its header, " if source.duration_s else ""
    why = f": {md_text(source.error)}" if source.error else ""
    return f" ({length}read only in part{why})"


def _observed(live: ObservedLive | None) -> list[str]:
    """When a watched room was live, and each stretch it sent no frames (none for a scan of files)."""
    if live is None:
        return []
    lines = [
        f"- Observed live: from {md_code(live.first)} to {md_code(live.last)} (its first and last frame received), "
        f"with {live.counted}{' (no frames received):' if live.interruptions else ''}"
    ]
    for gap in live.interruptions:
        if gap.end is None:
            when = f"from {md_code(gap.start)}, no frames until the watch stopped reading the room"
        else:
            when = f"{md_code(gap.start)} to {md_code(gap.end)}" + (f" ({gap.duration})" if gap.duration else "")
        lines.append(f"  - {when}: {md_text(gap.why)}")
    return lines


def _summary(people: list[str], appearances: list[Appearance], own: list[str]) -> str:
    verdicts = sorted({v for a in appearances for v in verdicts_against_room(a)} | set(own))
    findings = "\n".join(f"- **{md_text(v)}**: {md_text(verdict_meaning(v))}" for v in verdicts)
    return (
        "## What we found\n\n"
        f"The recording above shows {'a face' if len(people) == 1 else 'faces'} matching "
        f"{', '.join(md_text(p) for p in people)}, whose likeness we represent for {{{{RIGHTS HOLDER}}}}. "
        f"Our automated scan recorded these findings:\n\n{findings}"
    )


def _stream(source: SourceResult, own: list[str]) -> str:
    """What the stream itself shows beyond any one appearance: it loops, or replays known footage."""
    lines = "\n".join(f"- {md_text(reason)}" for reason in source_reasons(source, own))
    return f"## The stream itself\n\nFlagged {md_text(', '.join(own))} on its own:\n\n{lines}"


def _appearance(report: ReportInput, number: int, appearance: Appearance) -> str:
    threshold = setting(report.result.settings, "config", "match", "threshold")
    wallclock = wallclock_text(appearance.start_wallclock)
    lines = [
        f"### {number}. {md_text(appearance.identity)}, {clock(appearance.start_s)} to {clock(appearance.end_s)} "
        "stream time",
        "",
        f"- When: {clock(appearance.start_s)} to {clock(appearance.end_s)} into the recording"
        + (
            f"; wall-clock {md_code(wallclock)} to {md_code(wallclock_text(appearance.end_wallclock) or '?')}"
            if wallclock
            else "; wall-clock time not known ({{ADD IF KNOWN}})"
        ),
        f"- Verdicts: {_verdicts_text(appearance, bold=True)}",
        f"- Face match: similarity {appearance.median_similarity:.2f} (best frame {appearance.best_similarity:.2f}) "
        "to the registered reference photos, where 1.0 would be the same picture; the scan counts a face as a "
        f"registered person from {_number(threshold)} up, and only when no other registered person comes close.",
        f"- Authorization status: {_authorization_status(report.authorizations, appearance)}",
    ]
    lines += [f"- Scan's reason: {md_text(reason)}" for reason in appearance.reasons]
    lines += _signal_lines(appearance, report.result.settings)
    return "\n".join(lines)


def _number(value: object) -> str:
    """A setting from the result (not type-checked: any JSON) as a number where it is one that a float holds
    (an integer of 400 digits raised OverflowError), else as code."""
    if isinstance(value, int | float) and not isinstance(value, bool) and abs(value) < 1e300:
        return f"{value:.2f}"
    return md_code(value)


def _people_by_authorization(report: ReportInput, appearances: list[Appearance]) -> tuple[list[str], list[str]]:
    """The people shown whose appearances the room is authorized for (`_authorized`), and the others."""
    split: tuple[set[str], set[str]] = (set(), set())
    for appearance in appearances:
        split[0 if _authorized(report.authorizations, appearance) else 1].add(appearance.identity)
    return sorted(split[0], key=str.casefold), sorted(split[1], key=str.casefold)


def _names(people: list[str]) -> str:
    return ", ".join(md_text(person) for person in people)


def _grants(authorizations: list[Authorization], appearance: Appearance) -> list[Authorization]:
    return [a for a in authorizations if name_key(a.person) == name_key(appearance.identity)]


def _authorizing(authorizations: list[Authorization], appearance: Appearance) -> Authorizing:
    """How the gallery's grants of the appearance's room cover it, by the verdicts' rule (gallery/grants.py): a
    grant that does not cover all of the appearance authorizes none of it."""
    here = [a for a in _grants(authorizations, appearance) if a.room == appearance.room]
    return authorizing(here, appearance_span(appearance.start_wallclock, appearance.end_wallclock))


def _authorized(authorizations: list[Authorization] | None, appearance: Appearance) -> bool:
    """Authorized by the scan's verdict or by the gallery the report reads (a grant recorded after the scan): the
    draft then does not state in good faith that the use is unauthorized, which its own status line contradicted."""
    on_record = authorizations is not None and _authorizing(authorizations, appearance).grant is not None
    return Verdict.AUTHORIZED in appearance.verdicts or on_record


def _authorization_status(authorizations: list[Authorization] | None, appearance: Appearance) -> str:
    if authorizations is None:
        return "as judged at scan time (see the reasons below); {{CONFIRM AGAINST THE AUTHORIZATION REGISTRY}}"
    rooms = _grants(authorizations, appearance)
    if not rooms:
        return f"no room is authorized to use {md_text(appearance.identity)}'s likeness."
    listed = "; ".join(
        md_code(a.room)
        + (f" from {md_text(a.valid_from)}" if a.valid_from else "")
        + (f" until {md_text(a.valid_to)}" if a.valid_to else "")
        + (" (AI digital human licensed)" if a.ai_allowed else "")
        for a in rooms
    )
    here = any(a.room == appearance.room for a in rooms)
    found = _authorizing(authorizations, appearance)
    if found.grant is not None and Verdict.UNAUTHORIZED in appearance.verdicts:
        return (
            f"this room is among the authorized ones on record: {listed}. The scan found no authorization for it "
            "(the grant may have been recorded since): {{CONFIRM WHICH HOLDS, OR DO NOT SEND}}"
        )
    if found.grant is not None and found.grant.ai_allowed and Verdict.SYNTHETIC in appearance.verdicts:
        # A licence covers a synthetic face (docs/verdicts.md); the scan judged none on record then.
        return (
            f"this room is among the authorized ones on record: {listed}, its grant covering an AI digital human. "
            "The scan found no AI licence for it (it may have been recorded since), and its synthetic face is "
            "among the findings: {{CONFIRM WHICH HOLDS, OR DO NOT SEND}}"
        )
    if not here or found.grant is not None:
        return f"this room {'is' if here else 'is not'} among the authorized ones on record: {listed}."
    if (part := found.partial) is not None:
        said = part.describe(lambda moment: md_text(wallclock_text(moment.isoformat())))
        return f"this room's authorization {said}; on record: {listed}."
    when = md_text(wallclock_text(appearance.start_wallclock) or "")
    return f"this room's authorization on record does not cover {when}, when this appearance starts: {listed}."


def _signal_lines(appearance: Appearance, settings: dict[str, Any]) -> list[str]:
    """Each signal against the threshold in force (the result's `[verdicts]`, else the detector's own)."""
    if not appearance.signals:
        return []
    lines = ["- Manipulation signals (0 = no sign, 1 = strong sign):"]
    for name, signal in appearance.signals.items():
        if not signal.judged:  # its 0 is no measurement: 'no clear sign' stated a finding never made
            lines.append(f"  - {md_text(name)}: {md_text(signal.explanation)}")
            continue
        words = signal_words(signal, settings)
        lines.append(f"  - {md_text(name)}: {signal.score:.2f}, {words}; {md_text(signal.explanation)}")
    return lines


def _evidence(report: ReportInput, appearances: list[Appearance], total: int) -> str:
    """The evidence files of `appearances` (those set out in full, of `total`)."""
    left = total - len(appearances)
    others = f" Those of the other {left} appearances are listed in the scan result." if left else ""
    lines = [
        "## Evidence files",
        "",
        "Saved by the scan: each face crop, and the whole frame it was cut from (the room as a viewer saw it). The "
        f"sha256 lets you check that a file is exactly the one recorded.{others}",
        "",
    ]
    for appearance in appearances:
        # Each picture on its own: a frame saved where its crop could not be is still the room as a viewer saw it.
        pictures = {"crop": appearance.evidence, "whole frame": appearance.evidence_frame}
        saved = {what: evidence for what, evidence in pictures.items() if evidence is not None and evidence.path}
        if "crop" not in saved:
            screenshot = "" if saved else " ({{ATTACH A SCREENSHOT}})"
            lines.append(f"- {md_text(appearance.identity)}: no crop saved{screenshot}")
        lines.extend(_evidence_line(report, appearance.identity, e, what) for what, e in saved.items())
    return "\n".join(lines)


def _evidence_line(report: ReportInput, identity: str, evidence: Evidence, what: str) -> str:
    checked = check_evidence(evidence, report.result_dir)
    elsewhere = found_elsewhere(evidence, checked)
    at = f" at {md_code(elsewhere)}" if elsewhere is not None else ""
    return (
        f"- {md_code(evidence.path or '')}: {md_text(identity)} at {clock(evidence.time_s)}, {what}, "
        f"sha256 {md_code(evidence.sha256 or '')} (file {md_text(checked.status)}{at} when this draft was made)"
    )


def _request(authorized: list[str], unauthorized: list[str]) -> str:
    """What is asked, and the good-faith statement, for the people the draft shows in a room that is authorized
    for them and those it is not. A room authorized for everyone its draft shows is drafted for what it does with
    the likeness (a manipulated face, a replay or loop presented as live): it is not said to use the likeness
    without authorization, which the draft itself finds it has. Where it holds a grant for some of them only,
    each is named with the statement true of them (one statement for all was false of one of the two)."""
    if not unauthorized:
        ask = (
            "This account is on record as authorized to use {{RIGHTS HOLDER}}'s likeness; the findings above are "
            "not covered by that authorization. {{CONFIRM THE TERMS OF THE AUTHORIZATION}} We ask you to remove "
            "or disable the content above."
        )
        statement = "I state in good faith that the use described above is not within the authorization given"
    elif not authorized:
        ask = (
            "We ask you to remove or disable the content above and to stop this account from using "
            "{{RIGHTS HOLDER}}'s likeness without authorization."
        )
        statement = "I state in good faith that this use is not authorized by the rights holder, its agent or the law"
    else:
        without, within = _names(unauthorized), _names(authorized)
        ask = (
            f"This account is on record as authorized to use the likeness of {within}, and the findings above of "
            f"them are not covered by that authorization {{{{CONFIRM THE TERMS OF THE AUTHORIZATION}}}}; it is "
            f"not authorized to use the likeness of {without}. We ask you to remove or disable the content above "
            f"and to stop this account from using the likeness of {without} without authorization."
        )
        statement = (
            f"I state in good faith that the use of the likeness of {without} is not authorized by the rights "
            f"holder, its agent or the law, that the use of the likeness of {within} described above is not within "
            "the authorization given"
        )
    return (
        f"## Request\n\n{ask} {{{{ADJUST TO THE PLATFORM'S POLICY AND FORM}}}}\n\n"
        f"{statement}, and that the information in this notice is accurate. "
        "{{CHECK THE WORDING THE PLATFORM REQUIRES}}\n\n"
        "{{SIGNATURE}}  \n{{SENDER NAME}}, {{TITLE}}"
    )
