"""Verdict rules: authorizations with dates and ai_allowed, manipulation flags from the trained detector only,
risk, user thresholds. Small fixtures, no models: the policy itself."""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path

import pytest

from impersonation_cli.config import load_config
from impersonation_cli.errors import UserError
from impersonation_cli.gallery.store import Authorization
from impersonation_cli.pipeline.scan import add_concurrency
from impersonation_cli.pipeline.signals import EFFECTS, SYNTHETIC, class_score
from impersonation_cli.pipeline.signals.detector import FACE_EFFECTS, FACE_FORGERY
from impersonation_cli.pipeline.signals.scoring import not_judged
from impersonation_cli.pipeline.verdicts import judge_appearance, judge_concurrency, live_concurrency
from impersonation_cli.results import Appearance, SignalScore, SourceResult, Verdict

from ..unit.cli_in_process import run_cli as run_cli_in_process

ROOM = "douyin:123"
# The thresholds a model's metadata would carry (the detector signal states its own).
MODEL_SYNTHETIC_THRESHOLD = 0.6
MODEL_EFFECTS_THRESHOLD = 0.7


def detector_score(name: str, probability: float | None, threshold: float) -> SignalScore:
    if probability is None:
        return not_judged(name, "no forgery model (test)")
    details = {"probability": probability, "threshold": threshold, "frames_judged": 6.0}
    return SignalScore(name, probability, f"trained detector: probability {probability:.2f}", details)


def signals(
    forgery: float | None = 0.0, face_effects: float | None = 0.0, cues: float = 0.0, replay: float | None = None
) -> dict[str, SignalScore]:
    """What the signals stage gives an appearance: the detector's two signals, their class scores, and
    hand-made cues all at `cues`."""
    found = {
        FACE_FORGERY: detector_score(FACE_FORGERY, forgery, MODEL_SYNTHETIC_THRESHOLD),
        FACE_EFFECTS: detector_score(FACE_EFFECTS, face_effects, MODEL_EFFECTS_THRESHOLD),
        "landmark_dynamics": SignalScore("landmark_dynamics", cues, "eyes never change openness"),
        "skin_flatness": SignalScore("skin_flatness", cues, "surroundings have 4x the fine texture of the cheeks"),
        "blend_seam": SignalScore("blend_seam", cues, "boundary edge energy 2x its sides"),
    }
    found[SYNTHETIC] = class_score(SYNTHETIC, found[FACE_FORGERY])
    found[EFFECTS] = class_score(EFFECTS, found[FACE_EFFECTS])
    if replay is not None:
        found["replay"] = SignalScore("replay", replay, "matches known footage at 12.0 s")
    return found


def appearance(**fields) -> Appearance:
    values = {
        "appearance_id": "s1-a1",
        "identity": "Barack Obama",
        "source": "clip.mp4",
        "start_s": 0.0,
        "end_s": 10.0,
        "frames": 20,
        "best_similarity": 0.7,
        "median_similarity": 0.6,
        "room": ROOM,
        "start_wallclock": "2026-11-20T20:00:00+08:00",
        "end_wallclock": "2026-11-20T20:00:10+08:00",
        "signals": signals(),
        **fields,
    }
    return Appearance(**values)


def grant(ai_allowed: bool = False, valid_from: str | None = None, valid_to: str | None = None) -> Authorization:
    return Authorization("barack obama", ROOM, valid_from, valid_to, ai_allowed)


def judged(found: Appearance, authorizations: list[Authorization], config_path: Path | None = None) -> Appearance:
    """The appearance with its judgement put in, as the pipeline does; the judge leaves its input as it was."""
    before = copy.deepcopy(found)
    judgement = judge_appearance(found, authorizations, load_config(config_path).verdicts)
    assert found == before
    return dataclasses.replace(found, verdicts=judgement.verdicts, reasons=judgement.reasons, risk=judgement.risk)


def test_authorization_applies_by_room_and_date() -> None:
    assert judged(appearance(), [grant()]).verdicts == [Verdict.AUTHORIZED]
    assert judged(appearance(), [grant(valid_to="2026-11-19")]).verdicts == [Verdict.UNAUTHORIZED]
    assert judged(appearance(), [grant(valid_from="2026-11-21")]).verdicts == [Verdict.UNAUTHORIZED]
    assert judged(appearance(), [grant(valid_from="2026-11-20", valid_to="2026-11-20")]).verdicts == [
        Verdict.AUTHORIZED
    ]
    other_room = judged(appearance(room="douyin:999"), [grant()])
    assert other_room.verdicts == [Verdict.UNAUTHORIZED] and "no authorization on record" in other_room.reasons[0]
    no_room = judged(appearance(room=None), [grant()])
    assert no_room.verdicts == [Verdict.UNAUTHORIZED] and "no room given" in no_room.reasons[0]


def test_ai_allowed_covers_a_synthetic_face_only_in_its_authorized_room() -> None:
    covered = judged(appearance(signals=signals(forgery=0.9)), [grant(ai_allowed=True)])
    assert covered.verdicts == [Verdict.AUTHORIZED]
    assert any("covered" in r for r in covered.reasons)
    flagged = judged(appearance(signals=signals(forgery=0.9, cues=0.8)), [grant(ai_allowed=False)])
    assert flagged.verdicts == [Verdict.AUTHORIZED, Verdict.SYNTHETIC]
    reason = next(r for r in flagged.reasons if r.startswith(Verdict.SYNTHETIC))
    assert f"{FACE_FORGERY} 0.90 >= 0.60" in reason
    assert "cues (explanation only): " in reason and "landmark_dynamics 0.80: eyes never change openness" in reason
    expired = judged(appearance(signals=signals(forgery=0.9)), [grant(ai_allowed=True, valid_to="2026-01-01")])
    assert expired.verdicts == [Verdict.UNAUTHORIZED, Verdict.SYNTHETIC]
    assert flagged.risk > covered.risk and expired.risk > flagged.risk


def test_hand_made_cues_alone_never_accuse_a_face() -> None:
    """Every cue at its maximum and the detector below its threshold: no likely-synthetic, no likely-effects
    (the issue's real group photo got likely-effects from skin flatness alone, a re-encoded real clip
    likely-synthetic from the cues)."""
    for authorizations in ([grant()], []):
        found = judged(appearance(signals=signals(forgery=0.59, face_effects=0.69, cues=1.0)), authorizations)
        assert Verdict.SYNTHETIC not in found.verdicts and Verdict.EFFECTS not in found.verdicts
    at_threshold = judged(appearance(signals=signals(forgery=0.6, face_effects=0.7)), [grant()])
    assert at_threshold.verdicts == [Verdict.AUTHORIZED, Verdict.SYNTHETIC, Verdict.EFFECTS]


def test_without_a_forgery_model_the_verdicts_say_not_judged() -> None:
    found = judged(appearance(signals=signals(forgery=None, face_effects=None, cues=1.0)), [grant()])
    assert found.verdicts == [Verdict.AUTHORIZED]
    assert any("not judged: no forgery model" in r for r in found.reasons)
    # Not judged is no evidence: it adds no risk beyond the authorization's.
    assert found.risk == judged(appearance(), [grant()]).risk


def test_effects_and_replay_are_their_own_labels() -> None:
    effects = judged(appearance(signals=signals(face_effects=0.8)), [])
    assert effects.verdicts == [Verdict.UNAUTHORIZED, Verdict.EFFECTS]
    assert any(r.startswith(f"{Verdict.EFFECTS}: {FACE_EFFECTS} 0.80 >= 0.70") for r in effects.reasons)
    replay = judged(appearance(signals=signals(replay=0.95)), [grant()])
    assert replay.verdicts == [Verdict.AUTHORIZED, Verdict.REPLAY]
    assert any("matches known footage" in r for r in replay.reasons)
    clean = judged(appearance(signals=signals(forgery=0.05, face_effects=0.05, replay=0.1)), [grant()])
    assert clean.verdicts == [Verdict.AUTHORIZED] and clean.risk < 0.2


def test_thresholds_and_weights_come_from_the_users_config(tmp_path: Path) -> None:
    default = judged(appearance(signals=signals(forgery=0.5)), [])
    assert Verdict.SYNTHETIC not in default.verdicts  # under the model's 0.6
    config = tmp_path / "mine.toml"
    config.write_text("[verdicts]\nsynthetic_probability = 0.45\nrisk_unauthorized = 0.2\n", encoding="utf-8")
    stricter = judged(appearance(signals=signals(forgery=0.5)), [], config)
    assert Verdict.SYNTHETIC in stricter.verdicts and "0.50 >= 0.45" in stricter.reasons[-1]
    assert judged(appearance(), [], config).risk == pytest.approx(0.2)
    for text, message in (
        ("[verdicts]\nsynthetic_treshold = 0.6\n", "unknown keys: synthetic_treshold"),
        ('[verdicts]\neffects_probability = "high"\n', 'effects_probability must be "model" or a probability'),
        ("[verdicts]\nsynthetic_probability = 1.5\n", "synthetic_probability must be"),
        ("[verdicts]\nsynthetic_threshold = 0.2\n", "synthetic_threshold is no longer used"),
        ("[signals]\neffects_weights = { skin_flatness = 1.0 }\n", "effects_weights is no longer used"),
        ("[signals]\nforgery_every = 0\n", "forgery_every must be at least 1, not 0"),
    ):
        config.write_text(text, encoding="utf-8")
        with pytest.raises(UserError, match=message.replace("(", r"\(")):
            judged(appearance(), [], config)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[signals]\nidentity_jiter = [0.1, 0.5]\n", "[signals] has unknown keys: identity_jiter"),
        ("[replay]\nrun_s = [5.0, 2.0]\n", "run_s must be [low, high] with low < high"),
        ("[signal]\nidentity_jitter = [0.1, 0.5]\n", "unknown sections: signal"),
    ],
)
def test_a_mistake_in_a_later_stage_section_stops_the_scan_at_once(
    cli_env: dict[str, str], tmp_path: Path, text: str, message: str
) -> None:
    config = tmp_path / "typo.toml"
    config.write_text(text, encoding="utf-8")
    sample = Path(__file__).resolve().parents[2] / "samples" / "clips" / "no_face.mp4"
    result = run_cli_in_process("scan", str(sample), "--config", str(config), env=cli_env)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and message in result.stderr


def test_one_person_in_two_rooms_at_once_is_concurrent() -> None:
    here = judged(appearance(), [grant()])
    there = judged(appearance(room="kuaishou:7", appearance_id="s2-a1", source="other.mp4"), [])
    later = judged(
        appearance(
            room="kuaishou:8",
            appearance_id="s3-a1",
            start_wallclock="2026-11-20T21:00:00+08:00",
            end_wallclock="2026-11-20T21:00:10+08:00",
        ),
        [],
    )
    found = judge_concurrency([here, there, later], load_config().verdicts)
    assert here.verdicts == [Verdict.AUTHORIZED]  # the judge returns its findings; the pipeline puts them in
    assert [f.places if f else None for f in found] == [[ROOM, "kuaishou:7"], [ROOM, "kuaishou:7"], None]
    # Each source as judge_source left it, before the batch was whole: its appearances' verdicts and risk.
    sources = [
        SourceResult(a.source, "video", "ok", room=a.room, verdicts=sorted(a.verdicts), risk=a.risk)
        for a in (here, there)
    ]
    add_concurrency(sources, [here, there, later], load_config())
    assert Verdict.CONCURRENT in here.verdicts and Verdict.CONCURRENT in there.verdicts
    assert Verdict.CONCURRENT not in later.verdicts
    # The sources carry it too (their `verdicts` and `risk` once left `concurrent` out).
    assert [Verdict.CONCURRENT in s.verdicts for s in sources] == [True, True]
    assert [s.risk for s in sources] == [here.risk, there.risk]
    assert (
        here.risk >= 0.9 and here.reasons[-1] == "Barack Obama is on screen in kuaishou:7 at the same time (within 1 s)"
    )


def test_live_concurrency_follows_the_same_rule_within_the_window() -> None:
    """The watcher's check is the batch's rule on single sightings: another room within the window counts."""
    settings = load_config().verdicts
    last_seen = {"douyin:1": 1000.0, "douyin:2": 1012.0, "douyin:3": 1030.0}
    found = live_concurrency("Barack Obama", "douyin:1", 1000.0, last_seen, 15.0, settings)
    assert found is not None and found.places == ["douyin:1", "douyin:2"]
    assert found.reason == "Barack Obama is live in 2 rooms within 15 s: douyin:1, douyin:2" and found.risk == 0.9
    assert live_concurrency("Barack Obama", "douyin:1", 1000.0, {"douyin:1": 1000.0}, 15.0, settings) is None
