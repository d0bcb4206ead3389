"""What `bench` prints names the unit and the measure of every figure: its memory column said "RSS MB" of
ru_maxrss / 1024 (MiB, and the process's peak), and nothing said which frames a row counts or that wall time
leaves model loading out."""

from __future__ import annotations

from rich.console import Console

from impersonation_cli.outputs.bench_table import bench_report
from impersonation_cli.tools.bench import PATHS, BenchReport, PathRun, Recall


def report() -> BenchReport:
    runs = {name: PathRun(name, 1.0, 0.5, 16, 8.0, 300.0, None if "decode" in name else 8) for name in PATHS}
    return BenchReport(
        video={"path": "clip.mp4", "width": 1280, "height": 720, "fps": 25.0, "duration_s": 8.0},
        settings={"sample_fps": 2.0, "pack": "p", "provider": "CPU", "detector_precision": "int8", "decoder": "pyav"},
        conditions={"cpu_count": 2, "load_average_before": [1.0, 1.0, 1.0], "load_average_after": [2.0, 2.0, 2.0]},
        runs=runs,
        recall=Recall(2.0, [], []),
        gallery={"source": "auto", "identities": 0},
    )


def test_bench_figures_are_labelled_with_units_and_what_was_measured() -> None:
    console = Console(width=80, record=True, color_system=None)
    for part in bench_report(report()):
        console.print(part)
    text = console.export_text()
    header = next(line for line in text.splitlines() if line.lstrip().startswith("path"))
    assert "RSS MiB" in header and "RSS MB" not in header and len(header) <= 80
    assert "frames: decoded by (a), sampled and analysed by the others" in " ".join(text.split())
    assert "RSS MiB: each path's process at its peak (ru_maxrss)" in " ".join(text.split())
    assert "model loading (setup_s in --json) left out" in " ".join(text.split())
    assert "1-minute load average 1.0 before, 2.0 after" in " ".join(text.split())


def test_a_file_name_holding_a_newline_cannot_forge_a_line_of_the_report() -> None:
    """`bench "$(printf 'clip\\nFAKE LINE.mp4')"` printed its header over two lines, the second the name's."""
    forged = report()
    forged.video["path"] = "clip\nFAKE LINE.mp4"
    console = Console(width=400, record=True, color_system=None)
    for part in bench_report(forged):
        console.print(part)
    lines = console.export_text().splitlines()
    assert not any(line.startswith("FAKE LINE") for line in lines)
    assert lines[0].startswith("clip\\x0aFAKE LINE.mp4: 1280x720")
