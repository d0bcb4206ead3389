"""The project's own samples: runs everywhere, with models from ../shared or the PyPI carrier."""

from __future__ import annotations

import json
from pathlib import Path

from ..conftest import SAMPLES, run_cli


def test_demo_job_on_the_samples(cli_env: dict[str, str], tmp_path: Path) -> None:
    """What scripts/demo.sh does: enrol samples/references, scan samples/clips, read the JSON."""
    enrolled = run_cli(["gallery", "import", str(SAMPLES / "references")], cli_env)
    assert enrolled.returncode == 0, enrolled.stderr
    assert "Eileen Collins: 2 new reference face(s)" in enrolled.stdout
    result_path = tmp_path / "result.json"
    scanned = run_cli(
        ["scan", str(SAMPLES / "clips"), "--json", str(result_path), "--evidence-dir", str(tmp_path / "ev"), "-q"],
        cli_env,
    )
    assert scanned.returncode == 1, scanned.stderr
    document = json.loads(result_path.read_text())
    by_clip = {Path(s["source"]).name: s for s in document["sources"]}
    assert set(by_clip) == {"astronaut_live.mp4", "no_face.mp4"}
    assert all(s["status"] == "ok" for s in by_clip.values())
    assert by_clip["no_face.mp4"]["faces_detected"] == 0
    (appearance,) = document["appearances"]
    # The astronaut is on screen from 2 s to 6.5 s of the clip (samples/make_samples.py).
    assert appearance["identity"] == "Eileen Collins"
    assert Path(appearance["source"]).name == "astronaut_live.mp4"
    assert 1.5 <= appearance["start_s"] <= 2.6 and 6.0 <= appearance["end_s"] <= 7.0
    assert Path(appearance["evidence"]["path"]).is_file()
