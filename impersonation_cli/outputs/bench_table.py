"""What `bench` prints: the clip and settings, a row per measured path, the ratios, the recall and the load."""

from __future__ import annotations

from typing import Any

from rich import box
from rich.console import RenderableType
from rich.table import Table
from rich.text import Text

from impersonation_cli.outputs.console import one_line
from impersonation_cli.tools.bench import BenchReport

PATH_LABELS = {
    "decode_all": "(a) decode all",
    "decode_sampled": "sampler only",
    "naive": "(b) naive",
    "scan": "(c) our scan",
    "exhaustive": "every frame",
}


# What each column measured, under the table: "frames" are not the same frames on every row, "RSS MB" was
# ru_maxrss / 1024 (MiB, and the process's peak), and "wall s" leaves model loading out.
COLUMNS = (
    "frames: decoded by (a), sampled and analysed by the others; x real time: seconds of video per second of "
    "wall time; RSS MiB: each path's process at its peak (ru_maxrss); wall s: the measured run, model loading "
    "(setup_s in --json) left out"
)


def _number(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def paths_table(paths: dict[str, dict[str, Any]]) -> Table:
    # No vertical rules and no wrapping: the table fits an 80-column terminal with a row per path.
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
    for header in ("path", "frames", "frames/s", "faces", "faces/s", "x real time", "RSS MiB", "wall s"):
        table.add_column(header, no_wrap=True, justify="left" if header == "path" else "right")
    for name, run in paths.items():
        table.add_row(
            PATH_LABELS[name],
            str(run["frames"]),
            _number(run["frames_per_s"]),
            "-" if run["faces"] is None else str(run["faces"]),
            _number(run["faces_per_s"]),
            _number(run["realtime_factor"]),
            _number(run["peak_rss_mb"], 0),
            _number(run["wall_s"], 2),
        )
    return table


def bench_report(report: BenchReport) -> list[RenderableType]:
    document = report.to_dict()
    video, settings, ratios, recall = document["video"], document["settings"], document["ratios"], document["recall"]
    recall_text = "-" if recall["recall"] is None else f"{recall['recall']:.0%}"
    conditions = document["conditions"]
    return [
        one_line(  # the file's name may hold a newline, which would forge a line of the report
            f"{video['path']}: {video['width']}x{video['height']}, {_number(video['fps'], 2)} fps, "
            f"{_number(video['duration_s'])} s; sampling {settings['sample_fps']} fps, pack {settings['pack']} on "
            f"{settings['provider']} ({settings['detector_precision']} detector in the scan), "
            f"decoder {settings['decoder']}"
        ),
        paths_table(document["paths"]),
        Text(COLUMNS),
        Text(
            f"ratios of real-time factors: (c)/(a) {_number(ratios['scan_vs_decode_all'], 2)}   (c)/sampler "
            f"{_number(ratios['scan_vs_decode_sampled'], 2)}   (c)/(b) {_number(ratios['scan_vs_naive'], 2)}"
        ),
        Text(
            f"recall: {recall['found']}/{recall['expected']} exhaustive-path appearances of >= "
            f"{recall['min_appearance_s']} s found by the scan ({recall_text}); gallery: "
            f"{document['gallery']['source']}, {document['gallery']['identities']} identities"
        ),
        *(
            one_line(f"  missed: {missed['identity']} {missed['start_s']:.1f}-{missed['end_s']:.1f} s")
            for missed in recall["missed"]
        ),
        Text(
            f"machine: {conditions['cpu_count']} cores, 1-minute load average "
            f"{conditions['load_average_before'][0]} before, {conditions['load_average_after'][0]} after "
            "(numbers taken on a busy machine are noisy)"
        ),
    ]
