"""Verdicts stage: combine authorization and signals into labelled findings, each with its reasons."""

from __future__ import annotations

from datetime import date, datetime

from .config import Config
from .gallery import Authorization
from .results import Appearance, SignalScore, SourceResult

AUTHORIZED = "authorized"
UNAUTHORIZED = "unauthorized-likeness"


def _on_date(appearance: Appearance) -> date | None:
    if appearance.start_wallclock:
        return datetime.fromisoformat(appearance.start_wallclock).date()
    return None


def _valid(auth: Authorization, when: date | None) -> bool:
    if when is None:
        return True
    if auth.valid_from and when < date.fromisoformat(auth.valid_from[:10]):
        return False
    return not (auth.valid_to and when > date.fromisoformat(auth.valid_to[:10]))


def judge_appearance(appearance: Appearance, authorizations: list[Authorization], config: Config) -> None:
    if appearance.room is None:
        appearance.verdicts = [UNAUTHORIZED]
        appearance.reasons = ["no room given (--room or a rooms file), so no authorization can apply"]
    else:
        grants = [
            a
            for a in authorizations
            if a.person.casefold() == appearance.identity.casefold() and a.room == appearance.room
        ]
        valid = [a for a in grants if _valid(a, _on_date(appearance))]
        if valid:
            appearance.verdicts = [AUTHORIZED]
            appearance.reasons = [f"{appearance.room} is authorized to use {appearance.identity}'s likeness"]
        else:
            appearance.verdicts = [UNAUTHORIZED]
            why = "authorization expired or not yet valid" if grants else "no authorization on record"
            appearance.reasons = [f"{appearance.room}: {why} for {appearance.identity}"]
    appearance.risk = 0.0 if AUTHORIZED in appearance.verdicts else 0.5


def judge_source(
    result: SourceResult, appearances: list[Appearance], signals: dict[str, SignalScore], config: Config
) -> None:
    result.signals = signals
    result.verdicts = sorted({v for a in appearances for v in a.verdicts})
    result.risk = max((a.risk for a in appearances), default=0.0)


CONCURRENT = "concurrent"


def _interval(appearance: Appearance) -> tuple[float, float] | None:
    if not (appearance.start_wallclock and appearance.end_wallclock):
        return None
    return (
        datetime.fromisoformat(appearance.start_wallclock).timestamp(),
        datetime.fromisoformat(appearance.end_wallclock).timestamp(),
    )


def judge_concurrency(appearances: list[Appearance], config: Config, slack_s: float = 1.0) -> None:
    """One person live in two places at once: at most one of them can be real, so all are flagged."""
    timed = [(a, span) for a in appearances if (span := _interval(a)) is not None]
    for appearance, (start, end) in timed:
        place = appearance.room or appearance.source
        others = sorted(
            {
                other.room or other.source
                for other, (o_start, o_end) in timed
                if other is not appearance
                and other.identity == appearance.identity
                and (other.room or other.source) != place
                and o_start <= end + slack_s
                and start <= o_end + slack_s
            }
        )
        if others and CONCURRENT not in appearance.verdicts:
            appearance.verdicts.append(CONCURRENT)
            appearance.reasons.append(f"{appearance.identity} is on screen at the same time in {', '.join(others)}")
            appearance.risk = max(appearance.risk, 0.9)
