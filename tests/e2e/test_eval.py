"""`eval MANIFEST` on real clips and `gallery calibrate` on a real gallery, through the real CLI."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import cv2
import numpy as np
import pytest

from impersonation_cli.config import load_config
from impersonation_cli.errors import UserError
from impersonation_cli.forgery import ForgeryDetector
from impersonation_cli.gallery.store import Gallery, GalleryIndex
from impersonation_cli.pipeline.signals.scoring import not_judged
from impersonation_cli.results import SignalScore, SourceResult
from impersonation_cli.tools.evaluation import (
    BOOTSTRAP_RESAMPLES,
    Breakdown,
    CaseOutcome,
    EvalCase,
    auc_interval,
    default_breakdown,
    group_aucs,
    load_manifest,
    resampled_aucs,
    roc,
)

from ..conftest import run_cli
from ..unit.cli_in_process import run_cli as run_cli_in_process


def write_manifest(folder: Path, media: Path) -> Path:
    manifest = folder / "small.yaml"
    relative = Path(*[".."] * (len(folder.parts) - 1)) / media.relative_to("/")
    manifest.write_text(
        f"""
gallery:
  - name: Lin-Manuel Miranda
    images: [{media / "face_recognition" / "lin-manuel-miranda.png"}]
    authorized_rooms: ["douyin:1"]
cases:
  - source: {relative / "ffpp_pair_cyshih704" / "fake.mp4"}
    expected_identities: []
    expected_flags: [likely-synthetic]
    label: relative path, as in eval/shared_labelled.yaml
    group: fake/ffpp
  - source: {media / "ffpp_pair_cyshih704" / "real.mp4"}
    expected_identities: []
    expected_flags: []
    group: real/ffpp
  - source: {media / "ai_digital_human_MuseTalk" / "sun.mp4"}
    expected_identities: []
    expected_flags: [likely-synthetic]
    group: fake/digital-human
  - source: {media / "face_recognition" / "short_hamilton_clip.mp4"}
    group: real/stage
    room: douyin:2
    started_at: 2026-11-20T20:00:00+08:00
    expected_identities: [Lin-Manuel Miranda]
    expected_flags: [unauthorized-likeness]
breakdown:
  - {{name: digital humans, positives: [fake/digital-human], negatives: [real/]}}
  - {{name: reals, positives: [], negatives: [real/]}}
""",
        encoding="utf-8",
    )
    return manifest


@pytest.mark.shared_media
def test_eval_prints_the_table_and_writes_the_roc_png_and_json(
    tmp_path: Path, media: Path, cli_env: dict[str, str]
) -> None:
    manifest = write_manifest(tmp_path, media)
    roc_png, report = tmp_path / "roc.png", tmp_path / "eval.json"
    args = ["eval", str(manifest), "--fps", "1", "--score-unmatched", "--roc", str(roc_png), "--json", str(report)]
    done = run_cli(args, cli_env, timeout=600)
    assert done.returncode == 0, done.stderr
    for heading in ("likely-synthetic", "unauthorized-likeness", "identity", "precision", "recall", "AUC"):
        assert heading in done.stdout
    assert "95% interval" in done.stdout and "2000 resamples, seed 0" in done.stdout
    assert "Per dataset" in done.stdout and "digital humans" in done.stdout
    image = cv2.imread(str(roc_png))
    assert image is not None and image.shape[0] >= 400 and image.shape[1] >= 600
    document = json.loads(report.read_text(encoding="utf-8"))
    assert [Path(c["source"]).name for c in document["cases"]] == [
        "fake.mp4",
        "real.mp4",
        "sun.mp4",
        "short_hamilton_clip.mp4",
    ]
    hamilton = document["cases"][3]
    assert hamilton["found_identities"] == ["Lin-Manuel Miranda"]
    assert "unauthorized-likeness" in hamilton["verdicts"]
    identity = next(c for c in document["classes"] if c["class"] == "identity")
    assert identity["recall"] == 1.0
    synthetic = {a["signal"]: a for a in document["auc"] if a["class"] == "likely-synthetic"}
    assert synthetic["synthetic"]["positives"] == 2 and synthetic["synthetic"]["negatives"] == 2
    assert all(0.0 <= a["ci95"][0] <= a["auc"] <= a["ci95"][1] <= 1.0 for a in document["auc"])
    assert document["bootstrap"] == {"resamples": 2000, "seed": 0, "level": 0.95}
    assert [c["group"] for c in document["cases"]] == ["fake/ffpp", "real/ffpp", "fake/digital-human", "real/stage"]
    humans, reals = document["groups"]
    assert (humans["name"], humans["positives"], humans["negatives"]) == ("digital humans", 1, 2)
    assert humans["ci95"][0] <= humans["auc"] <= humans["ci95"][1]
    assert (reals["auc"], reals["negatives"], reals["flagged_negatives"]) == (None, 2, 0)
    # The models that computed the scores: on CPU the int8 detector runs only where it is faster, and it moves them.
    models = document["models"]
    assert re.fullmatch(r"det_[\w.]+\.onnx:(int8|fp32):[0-9a-f]{16}", models["detector"]), models
    shipped = ForgeryDetector.load(providers=["CPUExecutionProvider"])
    assert models["forgery"] == shipped.model_id and models["recognizer"]
    # Every case was scored for the signals although none of the unknown people is in the gallery.
    assert all("synthetic" in c["scores"] for c in document["cases"])


def test_bad_manifests_are_one_line_errors(tmp_path: Path, cli_env: dict[str, str]) -> None:
    manifest = tmp_path / "bad.yaml"
    for text, message in (
        ("cases: []\n", "non-empty list under 'cases'"),
        ("cases:\n  - source: missing.mp4\n", "does not exist"),
        ("cases:\n  - {source: bad.yaml, expected_flags: [deepfake]}\n", "unknown expected flag(s) deepfake"),
        ("cases: [\n", "not valid YAML"),
    ):
        manifest.write_text(text, encoding="utf-8")
        done = run_cli_in_process("eval", str(manifest), env=cli_env)
        assert done.returncode == 2, done.stderr
        assert message in done.stderr and "Traceback" not in done.stderr
        assert len(done.stderr.strip().splitlines()) == 1


def test_an_eval_whose_cases_are_all_unreadable_says_so_even_quiet(tmp_path: Path, cli_env: dict[str, str]) -> None:
    """It said 'no manipulation class has both positive and negative cases' of a real and a fake case, and with
    --quiet nothing of the ROC plot asked for and not written (exit 0 then, as no case was unread)."""
    for name in ("real.mp4", "fake.mp4"):
        (tmp_path / name).write_text("not a video")
    manifest = tmp_path / "m.yaml"
    manifest.write_text(
        "cases:\n  - {source: real.mp4, expected_flags: []}\n"
        "  - {source: fake.mp4, expected_flags: [likely-synthetic]}\n"
    )
    done = run_cli_in_process("eval", str(manifest), "-q", "--roc", str(tmp_path / "roc.png"), env=cli_env)
    assert done.returncode == 3, done.stderr
    assert "no ROC AUC: no case could be read" in done.stdout
    assert "no ROC plot written to" in done.stderr and not (tmp_path / "roc.png").exists()


def outcome(
    group: str, synthetic: float | None, flags: tuple[str, ...] = (), verdicts: tuple[str, ...] = ()
) -> CaseOutcome:
    """A scanned case as eval sees it: its expected flags, its source's synthetic score (None: not judged)."""
    score = (
        not_judged("synthetic", "no forgery model") if synthetic is None else SignalScore("synthetic", synthetic, "")
    )
    result = SourceResult(source=f"{group}.mp4", kind="video", status="ok", verdicts=list(verdicts))
    result.signals = {"synthetic": score}
    return CaseOutcome(EvalCase(f"{group}.mp4", None, None, [], list(flags), "", group), result, [])


def test_resampled_aucs_are_the_aucs_of_the_drawn_sources_listed_out() -> None:
    rng = np.random.default_rng(7)
    scores = np.round(rng.random(12), 1)  # ties on purpose
    labels = np.arange(12) < 5
    wins = (scores[labels][:, None] > scores[~labels][None, :]) + 0.5 * (
        scores[labels][:, None] == scores[~labels][None, :]
    )
    positive_draw, negative_draw = rng.integers(0, 5, size=5), rng.integers(0, 7, size=7)
    counts = [np.bincount(positive_draw, minlength=5)[None, :], np.bincount(negative_draw, minlength=7)[None, :]]
    listed_scores = np.concatenate([scores[labels][positive_draw], scores[~labels][negative_draw]])
    listed_labels = np.arange(12) < 5
    assert resampled_aucs(wins, *counts)[0] == pytest.approx(roc(listed_scores, listed_labels)[0])


def test_the_auc_interval_is_seeded_and_brackets_the_auc() -> None:
    rng = np.random.default_rng(3)
    labels = np.arange(60) < 20
    scores = rng.normal(size=60) + labels  # overlapping: AUC about 0.75
    auc = roc(scores, labels)[0]
    low, high = auc_interval(scores, labels)
    assert low < auc < high and 0.1 < high - low < 0.4
    assert auc_interval(scores, labels) == (low, high)  # seeded: the same on every run
    assert auc_interval(scores, labels, seed=1) != (low, high)
    separated = np.where(labels, 1.0, 0.0)
    assert auc_interval(separated, labels) == (1.0, 1.0)
    # Fewer sources, wider interval.
    small_low, small_high = auc_interval(scores[::4], labels[::4], resamples=BOOTSTRAP_RESAMPLES)
    assert small_high - small_low > high - low


def test_the_breakdown_ranks_each_groups_fakes_against_its_reals_and_counts_flags() -> None:
    outcomes = [
        outcome("fake/ffpp/Deepfakes", 0.9, ("likely-synthetic",), ("likely-synthetic",)),
        outcome("fake/ffpp/FaceSwap", 0.3, ("likely-synthetic",)),
        outcome("fake/digital-human/EMO", None, ("likely-synthetic",)),
        outcome("real/video/ffpp", 0.2),
        outcome("real/video/ffpp", 0.5, (), ("likely-synthetic",)),
        outcome("real/video/talking-heads", 0.1),
    ]
    rows = [
        Breakdown("FF++", "likely-synthetic", ["fake/ffpp/"], ["real/video/"]),
        Breakdown("digital humans", "likely-synthetic", ["fake/digital-human/"], ["real/video/talking-heads"]),
        Breakdown("reals", "likely-synthetic", [], ["real/video/"]),
    ]
    ffpp, humans, reals = group_aucs(outcomes, rows)
    # 0.9 beats all three reals; 0.3 beats 0.2 and 0.1, loses to 0.5: 5 of 6 pairs.
    assert (ffpp.auc, ffpp.positives, ffpp.negatives) == (pytest.approx(5 / 6, abs=1e-4), 2, 3)
    assert (ffpp.flagged_positives, ffpp.flagged_negatives, ffpp.not_judged) == (1, 1, 0)
    assert ffpp.interval is not None and ffpp.interval[0] <= ffpp.auc <= ffpp.interval[1]
    # A fake the detector could not judge scores 0 (not flagged) and is counted as not judged.
    assert (humans.auc, humans.not_judged) == (0.0, 1)
    assert (reals.auc, reals.interval, reals.negatives, reals.flagged_negatives) == (None, None, 3, 1)
    defaults = default_breakdown(outcomes)
    assert ("fake/ffpp/Deepfakes", "likely-synthetic", ["fake/ffpp/Deepfakes"]) in [
        (b.name, b.verdict_class, b.positives) for b in defaults
    ]
    assert ("real/video/ffpp", "likely-effects", []) in [(b.name, b.verdict_class, b.positives) for b in defaults]


def test_a_breakdown_naming_a_group_no_case_has_is_a_one_line_error(tmp_path: Path) -> None:
    manifest = tmp_path / "m.yaml"
    manifest.write_text(
        f"""cases:
  - {{source: {manifest}, group: real/video/ffpp}}
breakdown:
  - {{name: typo, positives: [fake/fpp/], negatives: [real/video/]}}
""",
        encoding="utf-8",
    )
    with pytest.raises(UserError, match="breakdown entry 1: no case is in group 'fake/fpp/'"):
        load_manifest(manifest)


def test_roc_auc_counts_ties_as_half() -> None:
    auc, curve = roc(np.array([0.9, 0.5, 0.5, 0.1]), np.array([True, True, False, False]))
    assert auc == pytest.approx((1 + 1 + 0.5 + 1) / 4)
    assert tuple(curve[0]) == (0.0, 0.0) and tuple(curve[-1]) == (1.0, 1.0)


def every_pair(index: GalleryIndex) -> tuple[np.ndarray, np.ndarray]:
    """Every pair of reference faces scored at once, as calibrate did before it scored a block at a time:
    (different people's scores, the same person's)."""
    similarity = index.embeddings @ index.embeddings.T
    upper = np.triu(np.ones_like(similarity, dtype=bool), k=1)
    same = index.owners[:, None] == index.owners[None, :]
    return similarity[upper & ~same], similarity[upper & same]


@pytest.mark.shared_media
def test_calibrate_writes_a_threshold_that_meets_the_target_on_the_impostor_pairs(
    tmp_path: Path, media: Path, cli_env: dict[str, str]
) -> None:
    done = run_cli(["gallery", "import", str(media / "glint360k_celebs_ElisonSherton")], cli_env, timeout=600)
    assert done.returncode == 0, done.stderr
    config = tmp_path / "user.toml"
    config.write_text("# my settings\n[scan]\nfps = 1.0\n\n[match]\nmargin = 0.1\n", encoding="utf-8")
    done = run_cli(["gallery", "calibrate", "--target-fmr", "0.001", "--write", str(config)], cli_env)
    assert done.returncode == 0, done.stderr
    assert "impostor pairs" in done.stdout and "p99.9" in done.stdout
    written = tomllib.loads(config.read_text(encoding="utf-8"))
    assert written["scan"]["fps"] == 1.0 and written["match"]["margin"] == 0.1  # the user's settings stay
    threshold = written["match"]["threshold"]
    assert load_config(config).match.threshold == threshold
    with Gallery(Path(cli_env["IMPERSONATION_GALLERY"])) as gallery:
        impostor, genuine = every_pair(gallery.index())
    assert len(impostor) > 10_000
    assert np.mean(impostor >= threshold) <= 0.001
    # The lowest such threshold (to the 4 decimals written): a step lower lets more impostors through.
    assert np.mean(impostor >= threshold - 2e-4) > 0.001 or threshold - 2e-4 < impostor.min()
    assert np.mean(genuine >= threshold) > 0.5
