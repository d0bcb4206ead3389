"""`eval MANIFEST` on real clips and `gallery calibrate` on a real gallery, through the real CLI."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import cv2
import numpy as np
import pytest

from impersonation_cli.config import load_config
from impersonation_cli.evaluation import reference_pairs, roc
from impersonation_cli.gallery import Gallery

from .conftest import run_cli


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
    label: relative path, as in eval/real_deepfakes.yaml
  - source: {media / "ffpp_pair_cyshih704" / "real.mp4"}
    expected_identities: []
    expected_flags: []
  - source: {media / "ai_digital_human_MuseTalk" / "sun.mp4"}
    expected_identities: []
    expected_flags: [likely-synthetic]
  - source: {media / "face_recognition" / "short_hamilton_clip.mp4"}
    room: douyin:2
    started_at: 2026-11-20T20:00:00+08:00
    expected_identities: [Lin-Manuel Miranda]
    expected_flags: [unauthorized-likeness]
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
    assert all(0.0 <= a["auc"] <= 1.0 for a in document["auc"])
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
        done = run_cli(["eval", str(manifest)], cli_env, timeout=120)
        assert done.returncode == 2, done.stderr
        assert message in done.stderr and "Traceback" not in done.stderr
        assert len(done.stderr.strip().splitlines()) == 1


def test_roc_auc_counts_ties_as_half() -> None:
    auc, curve = roc(np.array([0.9, 0.5, 0.5, 0.1]), np.array([True, True, False, False]))
    assert auc == pytest.approx((1 + 1 + 0.5 + 1) / 4)
    assert tuple(curve[0]) == (0.0, 0.0) and tuple(curve[-1]) == (1.0, 1.0)


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
        impostor, genuine = reference_pairs(gallery.index())
    assert len(impostor) > 10_000
    assert np.mean(impostor >= threshold) <= 0.001
    # The lowest such threshold (to the 4 decimals written): a step lower lets more impostors through.
    assert np.mean(impostor >= threshold - 2e-4) > 0.001 or threshold - 2e-4 < impostor.min()
    assert np.mean(genuine >= threshold) > 0.5
