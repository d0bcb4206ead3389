"""`impersonation-cli bench [VIDEO]`: scan speed against the decoder's limit and a naive loop, plus recall."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich import box
from rich.table import Table

from impersonation_cli.cli.common import (
    ConfigOption,
    DeviceOption,
    ModelsOption,
    PackOption,
    ThreadsOption,
    app,
    stderr,
    stdout,
)
from impersonation_cli.errors import UserError
from impersonation_cli.runtime.packs import load_pack, model_root
from impersonation_cli.tools.bench import BenchJob, BenchReport, run_bench

SAMPLE_CLIP = Path(__file__).resolve().parents[2] / "samples" / "clips" / "astronaut_live.mp4"
PATH_LABELS = {
    "decode_all": "(a) decode all",
    "decode_sampled": "sampler only",
    "naive": "(b) naive",
    "scan": "(c) our scan",
    "exhaustive": "every frame",
}


def _number(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def print_report(report: BenchReport) -> None:
    document = report.to_dict()
    video, settings = document["video"], document["settings"]
    stdout.print(
        f"{video['path']}: {video['width']}x{video['height']}, {_number(video['fps'], 2)} fps, "
        f"{_number(video['duration_s'])} s; sampling {settings['sample_fps']} fps, pack {settings['pack']} on "
        f"{settings['provider']} ({settings['detector_precision']} detector in the scan), "
        f"decoder {settings['decoder']}",
        markup=False,
        highlight=False,
    )
    # No vertical rules and no wrapping: the table fits an 80-column terminal with a row per path.
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
    for header in ("path", "frames", "frames/s", "faces", "faces/s", "x real time", "RSS MB", "wall s"):
        table.add_column(header, no_wrap=True, justify="left" if header == "path" else "right")
    for name, run in document["paths"].items():
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
    stdout.print(table)
    ratios, recall = document["ratios"], document["recall"]
    stdout.print(
        f"ratios of real-time factors: (c)/(a) {_number(ratios['scan_vs_decode_all'], 2)}   (c)/sampler "
        f"{_number(ratios['scan_vs_decode_sampled'], 2)}   (c)/(b) {_number(ratios['scan_vs_naive'], 2)}",
        highlight=False,
    )
    recall_text = "-" if recall["recall"] is None else f"{recall['recall']:.0%}"
    stdout.print(
        f"recall: {recall['found']}/{recall['expected']} exhaustive-path appearances of >= "
        f"{recall['min_appearance_s']} s found by the scan ({recall_text}); gallery: {document['gallery']['source']}, "
        f"{document['gallery']['identities']} identities",
        markup=False,
        highlight=False,
    )
    for missed in recall["missed"]:
        stdout.print(f"  missed: {missed['identity']} {missed['start_s']:.1f}-{missed['end_s']:.1f} s", markup=False)
    conditions = document["conditions"]
    stdout.print(
        f"machine: {conditions['cpu_count']} cores, load average {conditions['load_average_before'][0]} before, "
        f"{conditions['load_average_after'][0]} after (numbers taken on a busy machine are noisy)",
        highlight=False,
    )


@app.command()
def bench(
    video: Annotated[
        Path | None, typer.Argument(help="Video to measure [default: samples/clips/astronaut_live.mp4]")
    ] = None,
    fps: Annotated[float, typer.Option("--fps", help="Frames sampled per second, as `scan --fps`")] = 2.0,
    gallery: Annotated[
        Path | None,
        typer.Option("--gallery", help="Gallery for the recall check [default: auto-enrol everyone the clip shows]"),
    ] = None,
    min_appearance_s: Annotated[
        float, typer.Option("--min-appearance", help="Appearances at least this long count for recall (seconds)")
    ] = 2.0,
    json_output: Annotated[bool, typer.Option("--json", help="Print one JSON document instead of the table")] = False,
    models: ModelsOption = None,
    pack: PackOption = None,
    device: DeviceOption = "cpu",
    config: ConfigOption = None,
    threads: ThreadsOption = None,
) -> None:
    """Measure decode-only, a naive InsightFace loop and our scan on one clip, each in its own process."""
    clip = video or SAMPLE_CLIP
    if not clip.is_file():
        hint = "" if video else " (the project's sample clip; make it with the samples script or give VIDEO)"
        raise UserError(f"{clip}: no such video{hint}")
    if not 0 < fps <= 120:
        raise UserError("--fps must be between 0 and 120")
    if gallery is not None and not gallery.is_file():
        raise UserError(f"{gallery}: no such gallery file")
    root = model_root(models)
    job = BenchJob(
        path="",
        video=str(clip),
        fps=fps,
        pack=load_pack(pack, root).name,
        models=str(root),
        device=device,
        threads=threads,
        config=str(config) if config else None,
        gallery=str(gallery) if gallery else None,
        min_appearance_s=min_appearance_s,
    )
    if not json_output:
        stderr.print("measuring five paths, each in its own process (the exhaustive one takes longest)...")
    report = run_bench(job)
    if json_output:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        print_report(report)
