"""The case generator on a reduced setting: its replay and loop cases are found by the replay detector."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

from impersonation_cli.config import load_config
from impersonation_cli.gallery.store import Gallery
from impersonation_cli.io.sources import sample_frames
from impersonation_cli.pipeline.signals.replay import FootageIndex, ReplayDetector, add_footage

from ..conftest import REPO


def signals_of(index: FootageIndex, video: Path) -> dict:
    detector = ReplayDetector(index, load_config().replay)
    for frame in sample_frames(str(video), 2.0):
        detector.observe(frame)
    return detector.source_signals()


def test_generated_replay_and_loop_cases_are_detected(media: Path, tmp_path: Path) -> None:
    out = tmp_path / "cases"
    script = REPO / "scripts" / "make_cases.py"
    made = subprocess.run(
        [sys.executable, str(script), str(out), "--only", "replay,loop", "--media", str(media)],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    manifest = yaml.safe_load((out / "cases.yaml").read_text())
    assert [c["expected_flags"] for c in manifest["cases"]] == [["unauthorized-likeness", "likely-replay"]] * 2
    (footage,) = manifest["footage"]
    with Gallery(tmp_path / "g.sqlite") as store:
        # Footage needs only the person's row; enrolling faces is another test's business.
        store.db.execute("INSERT INTO persons (name, created_at) VALUES (?, 'now')", (footage["name"],))
        add_footage(store, footage["name"], out / footage["videos"][0], 4.0)
        index = FootageIndex.from_gallery(store)
    replay = signals_of(index, out / manifest["cases"][0]["source"])["replay"]
    assert replay.score >= 0.6, replay.explanation
    # The replay starts 0.3 s into the footage: offset (stream - footage time) -0.3 s.
    assert abs(replay.details["offset_s"] + 0.3) <= 1.0
    loop = signals_of(index, out / manifest["cases"][1]["source"])
    assert loop["loop"].score >= 0.6 and loop["replay"].score == 0.0
