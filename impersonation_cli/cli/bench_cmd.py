"""`impersonation-cli bench [VIDEO]`: scan speed against the decoder's limit and a naive loop, plus recall."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from impersonation_cli.cli import options
from impersonation_cli.cli.common import app, stderr, stdout
from impersonation_cli.errors import UserError
from impersonation_cli.outputs.bench_table import bench_report
from impersonation_cli.runtime.packs import load_pack, model_root
from impersonation_cli.tools.bench import BenchJob, run_bench

SAMPLE_CLIP = Path(__file__).resolve().parents[2] / "samples" / "clips" / "astronaut_live.mp4"


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
    models: options.Models = None,
    pack: options.Pack = None,
    device: options.Device = "cpu",
    config: options.Config = None,
    threads: options.Threads = None,
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
        for part in bench_report(report):
            stdout.print(part)
