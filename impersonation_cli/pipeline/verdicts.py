"""Verdicts stage: combine authorization and signals into labelled findings, each with its reasons.

The labels, their thresholds and the risk weights are documented in docs/verdicts.md; the numbers live in
the `[verdicts]` section of the config. `likely-synthetic` and `likely-effects` are raised by the trained
detector's calibrated probabilities alone, at its own thresholds unless the config names others: a real face
must not be accused on hand-made cues, which only explain a finding.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from impersonation_cli.errors import UserError
from impersonation_cli.gallery.grants import Authorizing, Coverage, Span, appearance_span, authorizing, coverage
from impersonation_cli.gallery.store import Authorization
from impersonation_cli.pipeline.signals import CLASSES, EFFECTS, SYNTHETIC
from impersonation_cli.results import (
    SOURCE_SIGNALS,
    Appearance,
    PartialGrant,
    SignalScore,
    Verdict,
    WallclockSpan,
    configured_probability,
)

# The replay detector's signals: "replay" matches known footage, "loop" repeats the stream's own frames.
REPLAY_SIGNALS = SOURCE_SIGNALS[Verdict.REPLAY]


MODEL_THRESHOLD = "model"


@dataclass(frozen=True)
class VerdictSettings:
    """The `[verdicts]` section."""

    # "model": the detector's own threshold (from its metadata); or a probability that overrides it.
    synthetic_probability: str | float = MODEL_THRESHOLD
    effects_probability: str | float = MODEL_THRESHOLD
    replay_threshold: float = 0.6
    # Flag a source for synthetic/effects faces of people who matched nobody (used by `eval`).
    flag_unmatched_faces: bool = False
    concurrent_slack_s: float = 1.0
    # Risk = 1 - prod(1 - weight * strength) over these components (a noisy-OR).
    risk_unauthorized: float = 0.5
    risk_synthetic: float = 0.9
    risk_effects: float = 0.6
    risk_replay: float = 0.9
    risk_concurrent: float = 0.9

    def __post_init__(self) -> None:
        for key in ("synthetic_probability", "effects_probability"):
            value = getattr(self, key)
            if value != MODEL_THRESHOLD and configured_probability(value) is None:
                raise UserError(f'config [verdicts] {key} must be "model" or a probability in (0, 1], not {value!r}')

    def threshold(self, class_name: str, score: SignalScore) -> float:
        """The probability at which a class score earns its label: the configured one, else the detector's."""
        configured = self.synthetic_probability if class_name == SYNTHETIC else self.effects_probability
        probability = configured_probability(configured)  # None: "model" (any other value was refused when made)
        return float(score.details["threshold"]) if probability is None else probability


def noisy_or(components: dict[str, tuple[float, float]]) -> float:
    """1 - prod(1 - weight * strength): each component alone gives at most its weight; several add up."""
    remaining = 1.0
    for weight, strength in components.values():
        remaining *= 1.0 - max(0.0, min(1.0, weight * strength))
    return round(1.0 - remaining, 4)


def _authorization(appearance: Appearance, authorizations: list[Authorization]) -> tuple[Verdict, str, Authorizing]:
    """The authorization verdict and its reason, with what the room's grants say of this appearance: the grants
    that cover all of it (its room, from its start to its end), or else the one that covers part (gallery/grants.py)."""
    if appearance.room is None:
        reason = "no room given (--room or a rooms file), so no authorization can apply"
        return Verdict.UNAUTHORIZED, reason, Authorizing()
    grants = [
        a for a in authorizations if a.person.casefold() == appearance.identity.casefold() and a.room == appearance.room
    ]
    span = appearance_span(appearance.start_wallclock, appearance.end_wallclock)
    found = authorizing(grants, span)
    if found.grant is not None:
        reason = f"{appearance.room} is authorized to use {appearance.identity}'s likeness"
        if span is None and (found.grant.valid_from or found.grant.valid_to):
            # Counted as every grant is without a time (docs/verdicts.md), a grant that ended in 2020 read as a
            # plain authorization of a scan given no --started-at, and the report passed it without a word.
            reason += " (its grant's dates were not checked: the recording's start time is unknown, --started-at)"
        return Verdict.AUTHORIZED, reason, found
    if found.partial is not None:
        reason = (
            f"{appearance.room}: the authorization to use {appearance.identity}'s likeness {found.partial.describe()}"
        )
        return Verdict.UNAUTHORIZED, reason, found
    why = _outside_grants(grants, span) if grants else "no authorization on record"
    return Verdict.UNAUTHORIZED, f"{appearance.room}: {why} for {appearance.identity}", found


def _outside_grants(grants: list[Authorization], span: Span | None) -> str:
    """Why grants that cover none of an appearance do not: it came after they ended, before they began, or
    (several grants) either. 'Expired or not yet valid' was all a takedown draft could say of a grant that had
    plainly ended."""
    kinds = {"not yet valid" if part.before == span else "expired" for part in (coverage(g, span) for g in grants)}
    return f"authorization {' or '.join(sorted(kinds))}"


def _partial_grant(part: Coverage) -> PartialGrant:
    """A grant's partial coverage as the result document writes it."""
    assert part.covered is not None

    def written(span: Span) -> WallclockSpan:
        return WallclockSpan(span[0].isoformat(), span[1].isoformat())

    grant = part.grant
    return PartialGrant(
        grant.room,
        grant.valid_from,
        grant.valid_to,
        grant.ai_allowed,
        written(part.covered),
        [written(span) for span in part.uncovered],
    )


def _evidence(class_name: str, score: SignalScore, signals: dict[str, SignalScore], threshold: float) -> str:
    """The detector's probability against its threshold, then the strongest hand-made cues as explanation."""
    detector, cue_names = CLASSES[class_name]
    cues = sorted((signals[k] for k in cue_names if k in signals and signals[k].score > 0), key=lambda s: -s.score)
    explained = "; ".join(f"{s.name} {s.score:.2f}: {s.explanation}" for s in cues[:3])
    found = signals[detector].explanation if detector in signals else score.explanation
    text = f"{detector} {score.score:.2f} >= {threshold:.2f} ({found})"
    return f"{text}; cues (explanation only): {explained}" if explained else text


def _manipulation_flags(
    signals: dict[str, SignalScore], settings: VerdictSettings, ai_licensed: bool
) -> tuple[list[Verdict], list[str]]:
    """The synthetic/effects/replay labels these signals earn, with a reason each (and for a covered one).

    Only a judged class score (the trained detector's probability) at its threshold earns a label."""
    labels: list[Verdict] = []
    reasons: list[str] = []
    for class_name, label in ((SYNTHETIC, Verdict.SYNTHETIC), (EFFECTS, Verdict.EFFECTS)):
        score = signals.get(class_name)
        if score is None or not score.judged:
            continue
        threshold = settings.threshold(class_name, score)
        if score.score < threshold:
            continue
        evidence = _evidence(class_name, score, signals, threshold)
        if class_name == SYNTHETIC and ai_licensed:
            reasons.append(f"synthetic face ({evidence}) is covered: an AI likeness is licensed")
        else:
            labels.append(label)
            reasons.append(f"{label}: {evidence}")
    for name in REPLAY_SIGNALS:
        replay = signals.get(name)
        if replay is not None and replay.score >= settings.replay_threshold:
            if Verdict.REPLAY not in labels:
                labels.append(Verdict.REPLAY)
            reasons.append(f"{Verdict.REPLAY}: {name} {replay.score:.2f}: {replay.explanation}")
    return labels, reasons


def _unjudged(signals: dict[str, SignalScore]) -> list[str]:
    """Say so when the manipulation classes could not be judged (no model, a face too small or too poor)."""
    synthetic = signals.get(SYNTHETIC)
    if synthetic is None or synthetic.judged:
        return []
    return [f"likely-synthetic / likely-effects {synthetic.explanation}"]


def _risk(signals: dict[str, SignalScore], settings: VerdictSettings, unauthorized: bool, ai_licensed: bool) -> float:
    def strength(name: str) -> float:
        return signals[name].score if name in signals else 0.0

    return noisy_or(
        {
            "unauthorized": (settings.risk_unauthorized, float(unauthorized)),
            "synthetic": (settings.risk_synthetic, 0.0 if ai_licensed else strength(SYNTHETIC)),
            "effects": (settings.risk_effects, strength(EFFECTS)),
            "replay": (settings.risk_replay, max(strength(n) for n in REPLAY_SIGNALS)),
        }
    )


@dataclass(frozen=True)
class Judgement:
    """An appearance's verdicts with a reason each (and notes on what could not be judged), and its risk."""

    verdicts: list[str]  # Verdict members, as an Appearance holds them
    reasons: list[str]
    risk: float
    partial_grant: PartialGrant | None = None  # the room's grant that covers only part of the appearance


def judge_appearance(
    appearance: Appearance, authorizations: list[Authorization], settings: VerdictSettings
) -> Judgement:
    """Authorization first, then the manipulation flags; an `ai_allowed` grant covers a synthetic face only.
    Reads the appearance's person, room, start and end times and signals."""
    authorization, why, found = _authorization(appearance, authorizations)
    ai_licensed = found.ai_allowed
    labels, reasons = _manipulation_flags(appearance.signals, settings, ai_licensed)
    unauthorized = authorization == Verdict.UNAUTHORIZED
    return Judgement(
        verdicts=[authorization, *labels],
        reasons=[why, *reasons, *_unjudged(appearance.signals)],
        risk=_risk(appearance.signals, settings, unauthorized, ai_licensed),
        partial_grant=None if found.partial is None else _partial_grant(found.partial),
    )


@dataclass(frozen=True)
class SourceJudgement:
    verdicts: list[str]
    risk: float


def judge_source(
    appearances: list[Appearance], signals: dict[str, SignalScore], settings: VerdictSettings
) -> SourceJudgement:
    """A source carries its appearances' verdicts, plus replay/loop found in the stream itself and, with
    `flag_unmatched_faces`, the synthetic/effects flags of faces that matched nobody."""
    source_level = {k: s for k, s in signals.items() if k in REPLAY_SIGNALS or settings.flag_unmatched_faces}
    labels, _ = _manipulation_flags(source_level, settings, ai_licensed=False)
    own_risk = _risk(source_level, settings, unauthorized=False, ai_licensed=False)
    return SourceJudgement(
        verdicts=sorted({v for a in appearances for v in a.verdicts} | set(labels)),
        risk=max([own_risk, *(a.risk for a in appearances)]),
    )


def _intervals(appearance: Appearance) -> list[tuple[float, float]]:
    """When the person was on screen in the appearance, in wall-clock seconds: its tracks' stretches
    (`on_screen`), else (a document before 1.13) its whole span; none without a wall-clock time."""
    spans = [(span.start, span.end) for span in appearance.on_screen]
    if not spans and appearance.start_wallclock and appearance.end_wallclock:
        spans = [(appearance.start_wallclock, appearance.end_wallclock)]
    return [
        (datetime.fromisoformat(start).timestamp(), datetime.fromisoformat(end).timestamp()) for start, end in spans
    ]


def concurrent_places(
    place: str, span: tuple[float, float], sightings: Iterable[tuple[str, tuple[float, float]]], slack_s: float
) -> list[str]:
    """The other places (rooms, else sources) where the person is on screen within `slack_s` of `span`
    (wall-clock seconds): one person cannot be in two places at once. The one rule for scan and watch."""
    start, end = span
    return sorted(
        {
            other
            for other, (o_start, o_end) in sightings
            if other != place and o_start <= end + slack_s and start <= o_end + slack_s
        }
    )


@dataclass(frozen=True)
class Concurrency:
    """One person on screen in several places at once: at most one of them can be real, so all are flagged."""

    places: list[str]  # every place the person is in at that time, this one included
    reason: str
    risk: float


def judge_concurrency(
    appearances: list[Appearance], settings: VerdictSettings, slack_s: float | None = None, live: bool = False
) -> list[Concurrency | None]:
    """For each appearance (in order), its concurrency with the others, or None: the person is in one place.

    A place is a room. A live stream of no known room is a place of its own (`live`: a watch's URL is one
    broadcast); a recording of no known room is in none: it may have been captured from any of the others
    (two analysts recording one room, a folder scanned with one --started-at and no --room), and calling
    it a second place accused a room of being in two places at once."""
    slack = settings.concurrent_slack_s if slack_s is None else slack_s

    def place(appearance: Appearance) -> str | None:
        return appearance.room or (appearance.source if live else None)

    intervals = [_intervals(a) for a in appearances]  # each parsed once: every appearance is compared with all
    timed = [(a, place(a), span) for a, spans in zip(appearances, intervals, strict=True) for span in spans]
    judged: list[Concurrency | None] = []
    for appearance, spans in zip(appearances, intervals, strict=True):
        here = place(appearance)
        if here is None:
            judged.append(None)
            continue
        sightings = [(p, s) for o, p, s in timed if p is not None and o.identity == appearance.identity]
        others = sorted({other for span in spans for other in concurrent_places(here, span, sightings, slack)})
        if not others or Verdict.CONCURRENT in appearance.verdicts:
            judged.append(None)
            continue
        # 'Within': the slack lets two appearances seconds apart count (a watch's 15 s); a draft stated as fact an
        # overlap that did not happen.
        reason = f"{appearance.identity} is on screen in {', '.join(others)} at the same time (within {slack:g} s)"
        risk = noisy_or({"so_far": (1.0, appearance.risk), "concurrent": (settings.risk_concurrent, 1.0)})
        judged.append(Concurrency(sorted([here, *others]), reason, risk))
    return judged


def live_concurrency(
    identity: str, place: str, seen: float, sightings: dict[str, float], window_s: float, settings: VerdictSettings
) -> Concurrency | None:
    """A live sighting (wall-clock `seen` in room `place`) against when the person was last seen in each room."""
    others = concurrent_places(place, (seen, seen), [(room, (at, at)) for room, at in sightings.items()], window_s)
    if not others:
        return None
    together = sorted([place, *others])
    reason = f"{identity} is live in {len(together)} rooms within {window_s:.0f} s: {', '.join(together)}"
    risk = noisy_or({"concurrent": (settings.risk_concurrent, 1.0)})
    return Concurrency(together, reason, risk)
