"""`impersonation-cli bench [VIDEO]`: scan speed against the decoder's limit and a naive loop, plus recall."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from impersonation_cli.cli import options
from impersonation_cli.cli.common import app, stderr, stdout
from impersonation_cli.outputs.bench_table import bench_report
from impersonation_cli.tools.bench import bench_job, run_bench


@app.command()
def bench(
    video: Annotated[
        str | None,
        typer.Argument(
            help="Video to measure [default: the project's samples/clips/astronaut_live.mp4, in a source checkout]"
        ),
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
    models: options.Models = None,
    pack: options.Pack = None,
    device: options.Device = "cpu",
    config: options.Config = None,
    threads: options.Threads = None,
) -> None:
    """Measure decode-only, a naive InsightFace loop and our scan on one clip, each in its own process."""
    job = bench_job(video, fps, gallery, min_appearance_s, models, pack, device, config, threads)
    if not json_output:
        stderr.print("measuring five paths, each in its own process (the exhaustive one takes longest)...")
    report = run_bench(job)
    if json_output:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        for part in bench_report(report):
            stdout.print(part)
