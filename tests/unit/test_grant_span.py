"""A grant authorizes an appearance only when it covers all of it, from its start to its end. Judged at its
start, a room authorized until 2026-12-05 showing the person from 23:55 that day to 00:30 the next was wholly
`authorized`, and one whose grant began while the person was on screen wholly unauthorized: the part outside
the grant, which a takedown analyst must see, was never flagged."""

from __future__ import annotations

import types
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from impersonation_cli.config import load_config
from impersonation_cli.gallery.grants import appearance_span, authorizing
from impersonation_cli.gallery.store import Authorization
from impersonation_cli.outputs.findings import ReportInput
from impersonation_cli.outputs.notice import notice_documents
from impersonation_cli.pipeline.matches import TrackMatch
from impersonation_cli.pipeline.scan import SourcePipeline
from impersonation_cli.pipeline.tracks import Observation, Track
from impersonation_cli.pipeline.verdicts import VerdictSettings, judge_appearance
from impersonation_cli.results import SCAN_SCHEMA_VERSION, PartialGrant, ScanResult, Verdict, WallclockSpan

from .builders import appearance, scan_result

ROOM = "douyin:555"
PERSON = "Eileen Collins"
# The person on screen from 23:55 on 2026-12-05 to 00:30 on the 6th, in Beijing.
ACROSS_MIDNIGHT = {"start_wallclock": "2026-12-05T23:55:00+08:00", "end_wallclock": "2026-12-06T00:30:00+08:00"}


def grant(valid_from: str | None = None, valid_to: str | None = None, ai_allowed: bool = False) -> Authorization:
    return Authorization(PERSON, ROOM, valid_from, valid_to, ai_allowed)


def judged(grants: list[Authorization], **times: str) -> tuple[list[str], list[str], PartialGrant | None]:
    found = appearance(PERSON, "room.mp4", room=ROOM, **times)
    judgement = judge_appearance(found, grants, VerdictSettings())
    return judgement.verdicts, judgement.reasons, judgement.partial_grant


def test_a_grant_that_ends_during_the_appearance_leaves_its_end_unauthorized() -> None:
    verdicts, reasons, part = judged([grant(valid_to="2026-12-05")], **ACROSS_MIDNIGHT)
    assert verdicts == [Verdict.UNAUTHORIZED]
    assert reasons[0] == (
        "douyin:555: the authorization to use Eileen Collins's likeness ended at 2026-12-06T00:00:00+08:00, during "
        "the appearance: covered 2026-12-05T23:55:00+08:00 to 2026-12-06T00:00:00+08:00, not covered "
        "2026-12-06T00:00:00+08:00 to 2026-12-06T00:30:00+08:00"
    )
    assert part == PartialGrant(
        ROOM,
        None,
        "2026-12-05",
        False,
        WallclockSpan("2026-12-05T23:55:00+08:00", "2026-12-06T00:00:00+08:00"),
        [WallclockSpan("2026-12-06T00:00:00+08:00", "2026-12-06T00:30:00+08:00")],
    )


def test_a_grant_that_begins_during_the_appearance_leaves_its_start_unauthorized() -> None:
    verdicts, reasons, part = judged([grant(valid_from="2026-12-06T00:10:00+08:00")], **ACROSS_MIDNIGHT)
    assert verdicts == [Verdict.UNAUTHORIZED]
    assert "likeness began at 2026-12-06T00:10:00+08:00, during the appearance" in reasons[0]
    assert part is not None and part.covered.start == "2026-12-06T00:10:00+08:00"
    assert part.uncovered == [WallclockSpan("2026-12-05T23:55:00+08:00", "2026-12-06T00:10:00+08:00")]
    # A grant of one day within a longer appearance leaves both ends out.
    _, reasons, part = judged(
        [grant("2026-12-06", "2026-12-06")], **{**ACROSS_MIDNIGHT, "end_wallclock": "2026-12-07T00:05:00+08:00"}
    )
    assert "began at 2026-12-06T00:00:00+08:00 and ended at 2026-12-07T00:00:00+08:00" in reasons[0]
    assert part is not None and len(part.uncovered) == 2


def test_an_ai_licence_that_ends_during_the_appearance_no_longer_covers_a_synthetic_face() -> None:
    verdicts, _, part = judged([grant(valid_to="2026-12-05", ai_allowed=True)], **ACROSS_MIDNIGHT)
    assert verdicts == [Verdict.UNAUTHORIZED] and part is not None and part.ai_allowed


def test_appearances_wholly_inside_or_outside_a_grant_are_judged_as_before() -> None:
    inside = judged([grant("2026-12-05", "2026-12-06")], **ACROSS_MIDNIGHT)
    assert inside == ([Verdict.AUTHORIZED], ["douyin:555 is authorized to use Eileen Collins's likeness"], None)
    # Said which: 'expired or not yet valid' was all a draft could say of a grant that had plainly ended.
    for outside, why in ((grant(valid_to="2026-12-04"), "expired"), (grant(valid_from="2026-12-07"), "not yet valid")):
        verdicts, reasons, part = judged([outside], **ACROSS_MIDNIGHT)
        assert (verdicts, reasons[0], part) == (
            [Verdict.UNAUTHORIZED],
            f"douyin:555: authorization {why} for Eileen Collins",
            None,
        )
    unknown = judged([grant(valid_to="2026-12-05")])  # no wall-clock time: every grant counts
    assert unknown[0] == [Verdict.AUTHORIZED] and unknown[2] is None
    # And the reason says its dates were not checked: a grant that ended in 2020 read as a plain authorization.
    assert unknown[1] == [
        "douyin:555 is authorized to use Eileen Collins's likeness (its grant's dates were not checked: the "
        "recording's start time is unknown, --started-at)"
    ]
    assert judged([grant()])[1] == ["douyin:555 is authorized to use Eileen Collins's likeness"]  # no dates
    # A date-time bound is included: an appearance ending on it is inside.
    last = judged([grant(valid_to="2026-12-06T00:30:00+08:00")], **ACROSS_MIDNIGHT)
    assert last[0] == [Verdict.AUTHORIZED]


def test_a_live_appearance_is_unauthorized_from_the_first_frame_past_the_grants_end() -> None:
    """watch judges a live track on each frame with its frames so far: the frame after the bound flags it."""
    bound = datetime.fromisoformat("2026-12-05T20:00:00+08:00")
    pipeline = SourcePipeline.__new__(SourcePipeline)
    pipeline.source, pipeline.account, pipeline.room, pipeline.number = "rtmp://cam/live", ROOM, None, 1
    pipeline.config = load_config()
    pipeline.context = types.SimpleNamespace(authorizations=[grant(valid_to=bound.isoformat())])
    pipeline._signals = types.SimpleNamespace(settings=types.SimpleNamespace(min_frames=1000))
    observations: list[Observation] = []
    verdicts = []
    for n, seconds in enumerate((-1.0, -0.5, 0.0, 0.5, 1.0)):  # a frame every 0.5 s around the bound
        arrived = (bound + timedelta(seconds=seconds)).astimezone(UTC).timestamp()
        observations.append(Observation(n, n * 0.5, np.zeros(4), 0.9, np.zeros((5, 2)), np.zeros(512), arrived))
        per_frame = np.full(len(observations), 0.6, np.float32)
        match = TrackMatch(Track(1, "rtmp://cam/live", list(observations)), PERSON, 0.6, 0.6, per_frame, None, -1.0)
        verdicts.append(pipeline.live_appearance(match, final=False).verdicts)
    assert verdicts == [[Verdict.AUTHORIZED]] * 3 + [[Verdict.UNAUTHORIZED]] * 2
    last = pipeline.live_appearance(match, final=False)
    assert last.partial_grant is not None and last.partial_grant.uncovered == [
        WallclockSpan("2026-12-05T12:00:00+00:00", "2026-12-05T12:00:01+00:00")
    ]
    assert "ended at 2026-12-05T12:00:00+00:00, during the appearance" in last.reasons[0]


def test_the_takedown_draft_says_when_the_authorization_ended_during_the_appearance(tmp_path: Path) -> None:
    found = appearance(PERSON, "room.mp4", room=ROOM, **ACROSS_MIDNIGHT)
    report = ReportInput(scan_result([found]), tmp_path / "r.json", authorizations=[grant(valid_to="2026-12-05")])
    (text,) = notice_documents(report, tmp_path).values()
    (line,) = [line for line in text.splitlines() if line.startswith("- Authorization status:")]
    assert line == (
        "- Authorization status: this room's authorization ended at 2026-12-06 00:00:00 +0800, during the "
        "appearance: covered 2026-12-05 23:55:00 +0800 to 2026-12-06 00:00:00 +0800, not covered 2026-12-06 "
        "00:00:00 +0800 to 2026-12-06 00:30:00 +0800; on record: `douyin:555` until 2026-12-05."
    )


def test_the_partial_grant_is_written_and_read_back_in_the_result_format() -> None:
    found = appearance(PERSON, "room.mp4", room=ROOM, **ACROSS_MIDNIGHT)
    found.partial_grant = judged([grant(valid_to="2026-12-05")], **ACROSS_MIDNIGHT)[2]
    document = scan_result([found]).to_dict()
    assert document["schema_version"] == SCAN_SCHEMA_VERSION == "1.13"
    assert document["appearances"][0]["partial_grant"]["uncovered"] == [
        {"start": "2026-12-06T00:00:00+08:00", "end": "2026-12-06T00:30:00+08:00"}
    ]
    assert ScanResult.from_dict(document).appearances[0].partial_grant == found.partial_grant


def test_an_ai_licence_is_found_where_an_older_gallery_holds_the_room_twice() -> None:
    """A gallery holds one grant per person and room (`gallery authorize` replaces it), but one written before
    rooms were spelt one way may hold Douyin:555 and douyin:555 for one person: read as one room, the grant that
    licenses an AI digital human is taken where both cover the appearance; one covering part of it authorizes none."""
    span = appearance_span(ACROSS_MIDNIGHT["start_wallclock"], ACROSS_MIDNIGHT["end_wallclock"])
    found = authorizing([grant(), grant(ai_allowed=True)], span)
    assert found.ai_allowed and found.grant == grant(ai_allowed=True)
    assert not authorizing([grant(), grant(valid_to="2026-12-05", ai_allowed=True)], span).ai_allowed
    partly = authorizing([grant(valid_to="2026-12-05"), grant(valid_from="2026-12-06")], span)
    assert partly.grant is None and not partly.ai_allowed and partly.partial is not None
