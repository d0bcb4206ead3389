"""`impersonation-cli scan ...`: scan recordings, folders and images."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from impersonation_cli.api import Scanner, room_assignments, settings_files
from impersonation_cli.cli import options
from impersonation_cli.cli.common import app, errors, people_lines_off_stdout, stderr, stdout, warn
from impersonation_cli.distributed.ray_scan import engine_options, scan_runner
from impersonation_cli.errors import EXIT_INTERRUPTED, MAX_SCAN_FPS, UserError, check_rate
from impersonation_cli.io.rooms import parse_time
from impersonation_cli.io.sources import input_files
from impersonation_cli.outputs.dashboard import interrupted_line, progress_bar, unreadable_lines
from impersonation_cli.outputs.files import check_outputs, exit_code, write_outputs
from impersonation_cli.outputs.findings import parse_fail_on
from impersonation_cli.outputs.table import print_summary


@app.command()
def scan(
    inputs: Annotated[
        list[str] | None, typer.Argument(help="Videos, images, folders (searched recursively) or stream URLs")
    ] = None,
    fps: options.ScanFps = None,
    json_path: Annotated[
        Path | None, typer.Option("--json", help="Write the result document here ('-': stdout)")
    ] = None,
    jsonl_path: Annotated[
        Path | None, typer.Option("--jsonl", help="Write one JSON line per appearance ('-': stdout)")
    ] = None,
    evidence_dir: options.EvidenceDir = None,
    room: Annotated[str | None, typer.Option("--room", help="platform:account the inputs were captured from")] = None,
    started_at: Annotated[
        str | None,
        typer.Option(
            "--started-at",
            help="Wall-clock time of stream time 0 (ISO 8601 with its offset: 2026-11-20T20:00:00+08:00)",
        ),
    ] = None,
    rooms_file: Annotated[
        Path | None, typer.Option("--rooms", help="YAML/TOML/JSON file mapping sources to rooms")
    ] = None,
    gallery: options.Gallery = None,
    models: options.Models = None,
    pack: options.Pack = None,
    device: options.Device = "auto",
    config: options.Config = None,
    threads: options.Threads = None,
    quiet: Annotated[
        bool,
        typer.Option(
            "--quiet",
            "-q",
            help="Print only errors (an unreadable input is one) and the outputs asked for: no table, notes, progress",
        ),
    ] = False,
    fail_on: options.FailOn = None,
    engine_name: options.Engine = "local",
    address: options.Address = None,
    workers: options.Workers = None,
    slice_s: Annotated[
        float | None, typer.Option("--slice", help="With --engine ray: seconds per slice of a long file [default: 600]")
    ] = None,
) -> None:
    """Scan recordings for registered people; exit 0 none found, 1 found (or, with --fail-on, the chosen
    verdicts found), 3 an input was unreadable."""
    policy = parse_fail_on(fail_on)
    ray = engine_options(engine_name, address, workers, device, threads, slice_s)
    items, rooms = room_assignments(inputs or [], room, parse_time(started_at, "--started-at"), rooms_file)
    if not items:
        raise UserError("nothing to scan: give videos, images or folders (or --rooms FILE)")
    check_rate(fps, MAX_SCAN_FPS)
    outputs = {"--json": json_path, "--jsonl": jsonl_path}
    inputs_read: list[str | Path] = [*input_files(items), *filter(None, [rooms_file]), *settings_files(gallery, config)]
    check_outputs(outputs, inputs_read, {"--evidence-dir": evidence_dir}, stdout=outputs)
    people_lines_off_stdout(json_path, jsonl_path)
    scanner = Scanner.open(models, pack, gallery, config, device, threads, on_notice=warn)
    with progress_bar(stderr, show=not quiet) as progress:
        result = scanner.scan_sources(
            items,
            rooms,
            fps=fps,
            evidence_dir=evidence_dir,
            progress=progress,
            runner=scan_runner(ray),
        )
    write_outputs(result, json_path, jsonl_path)
    if result.status == "interrupted":
        # On the errors' console: --quiet must not hide that the result is partial.
        errors.print(interrupted_line(result, json_path, jsonl_path), soft_wrap=True)
        raise typer.Exit(EXIT_INTERRUPTED)
    if quiet:
        # An input that could not be read is an error about the input: printed even with --quiet.
        for line in unreadable_lines(result):
            errors.print(line, soft_wrap=True)
    else:
        print_summary(result, stdout)
    raise typer.Exit(exit_code(result, policy))
