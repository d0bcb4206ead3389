"""`impersonation-cli scan ...`: scan recordings, folders and images."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from impersonation_cli.api import room_assignments as api_room_assignments
from impersonation_cli.cli.common import (
    ConfigOption,
    DeviceOption,
    GalleryOption,
    ModelsOption,
    PackOption,
    ThreadsOption,
    app,
    build_engine,
    errors,
    scan_context,
    stderr,
    stdout,
    writable_file,
    writable_folder,
)
from impersonation_cli.distributed.ray_scan import engine_options, scan_on_ray
from impersonation_cli.errors import EXIT_FOUND, EXIT_OK, EXIT_UNREADABLE, UserError
from impersonation_cli.io.atomic_write import write_text_atomic
from impersonation_cli.io.rooms import parse_time
from impersonation_cli.io.sources import display_name
from impersonation_cli.io.threads import threads_per_stage
from impersonation_cli.outputs.findings import DEFAULT_FAIL_POLICY, FAIL_ON_CHOICES, FailPolicy, parse_fail_on
from impersonation_cli.outputs.table import print_summary
from impersonation_cli.pipeline.scan import RoomAssignment, ScanProgress, scan_inputs
from impersonation_cli.results import ScanResult, appearance_event

# Ctrl-C, as shells report a process ended by SIGINT (128 + 2).
EXIT_INTERRUPTED = 130

FailOnOption = Annotated[
    list[str] | None,
    typer.Option(
        "--fail-on",
        help=f"Verdicts that set exit code 1: {', '.join(FAIL_ON_CHOICES)} (repeatable or comma-separated) "
        "[default: any]",
        show_default=False,
    ),
]


def exit_code(result: ScanResult, policy: FailPolicy = DEFAULT_FAIL_POLICY) -> int:
    """0 nothing the fail policy selects was found, 1 it was (by default any registered identity; `--fail-on`
    picks verdicts), 3 an input was unreadable or truncated (and nothing selected was found)."""
    if any(policy.matches(a) for a in result.appearances):
        return EXIT_FOUND
    if result.unreadable:
        return EXIT_UNREADABLE
    return EXIT_OK


def room_assignments(
    inputs: list[str], room: str | None, started_at: str | None, rooms_file: Path | None
) -> tuple[list[str], dict[str, RoomAssignment]]:
    """Inputs plus the sources a rooms file names, each mapped to its room and start time (api.room_assignments,
    with the option's name in a bad time's message)."""
    return api_room_assignments(inputs, room, parse_time(started_at, "--started-at"), rooms_file)


def write_outputs(result: ScanResult, json_path: Path | None, jsonl_path: Path | None) -> None:
    if json_path is not None:
        text = result.to_json()
        if str(json_path) == "-":
            # As in the file: a non-UTF-8 file name's bytes as \udcXX escapes (printing them raw would fail).
            print(text.encode("utf-8", "backslashreplace").decode("utf-8"))
        else:
            write_text_atomic(json_path, text + "\n")
    if jsonl_path is not None:
        lines = "".join(json.dumps(appearance_event(a), ensure_ascii=False) + "\n" for a in result.appearances)
        write_text_atomic(jsonl_path, lines)


@app.command()
def scan(
    inputs: Annotated[list[str] | None, typer.Argument(help="Videos, images or folders (searched recursively)")] = None,
    fps: Annotated[float | None, typer.Option("--fps", help="Frames sampled per second [default: config, 2]")] = None,
    json_path: Annotated[
        Path | None, typer.Option("--json", help="Write the result document here ('-': stdout)")
    ] = None,
    jsonl_path: Annotated[Path | None, typer.Option("--jsonl", help="Write one JSON line per appearance")] = None,
    evidence_dir: Annotated[Path | None, typer.Option("--evidence-dir", help="Save evidence crops here")] = None,
    room: Annotated[str | None, typer.Option("--room", help="platform:account the inputs were captured from")] = None,
    started_at: Annotated[
        str | None, typer.Option("--started-at", help="Wall-clock time of stream time 0 (ISO)")
    ] = None,
    rooms_file: Annotated[
        Path | None, typer.Option("--rooms", help="YAML/TOML/JSON file mapping sources to rooms")
    ] = None,
    gallery: GalleryOption = None,
    models: ModelsOption = None,
    pack: PackOption = None,
    device: DeviceOption = "auto",
    config: ConfigOption = None,
    threads: ThreadsOption = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No table, no progress bar")] = False,
    fail_on: FailOnOption = None,
    engine_name: Annotated[
        str, typer.Option("--engine", help="local, or ray: spread the files over a Ray cluster (docs/scale.md)")
    ] = "local",
    address: Annotated[
        str | None,
        typer.Option("--address", help="With --engine ray: auto, local, HOST:PORT or ray://HOST:PORT [default: auto]"),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers", help="With --engine ray: actors to scan with [default: one per CPU (GPU) of the cluster]"
        ),
    ] = None,
) -> None:
    """Scan recordings for registered people; exit 0 none found, 1 found (or, with --fail-on, the chosen
    verdicts found), 3 an input was unreadable."""
    policy = parse_fail_on(fail_on)
    ray_options = engine_options(engine_name, address, workers, device, threads)
    items, assignments = room_assignments(list(inputs or []), room, started_at, rooms_file)
    if not items:
        raise UserError("nothing to scan: give videos, images or folders (or --rooms FILE)")
    if fps is not None and not 0 < fps <= 120:
        raise UserError("--fps must be between 0 and 120")
    writable_file(json_path, "--json")
    writable_file(jsonl_path, "--jsonl")
    writable_folder(evidence_dir, "--evidence-dir")
    engine, settings = build_engine(models, pack, device, config, threads or threads_per_stage())
    context = scan_context(engine, settings, gallery, evidence_dir, fps)
    console = stderr if str(json_path) == "-" else stdout
    # Progress only on a terminal: a pipe or a log file gets the results alone.
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[at]}"),
        TimeRemainingColumn(),
        console=stderr,
        transient=True,
        disable=quiet or not stderr.is_terminal,
    ) as progress:
        task = progress.add_task("scanning", total=None, at="")

        def on_progress(at: ScanProgress) -> None:
            progress.update(task, total=at.duration_s, completed=at.time_s, **progress_fields(at))

        context.progress = on_progress
        if ray_options is None:
            result = scan_inputs(items, context, assignments)
        else:
            result = scan_on_ray(items, context, assignments, ray_options)
    write_outputs(result, json_path, jsonl_path)
    if result.status == "interrupted":
        finished = sum(1 for s in result.sources if s.status != "interrupted")
        saved = ", ".join(str(p) for p in (json_path, jsonl_path) if p is not None and str(p) != "-")
        # On the errors' console: --quiet must not hide that the result is partial.
        errors.print(
            f"interrupted: {finished} of {len(result.sources)} inputs finished"
            + (f"; written to {display_name(saved)} with status interrupted" if saved else ""),
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(EXIT_INTERRUPTED)
    if quiet:
        # An input that could not be read is an error about the input: printed even with --quiet.
        for source in result.unreadable:
            errors.print(
                f"unreadable: {display_name(source.error or source.source)}",
                markup=False,
                highlight=False,
                soft_wrap=True,
            )
    else:
        print_summary(result, console)
    raise typer.Exit(exit_code(result, policy))


def progress_fields(at: ScanProgress) -> dict[str, str]:
    """The progress line's text: which file of how many, where in it, and the video done over the batch."""
    return {
        "description": f"file {at.file_number} of {at.file_count}: {display_name(Path(at.source).name)[:40]}",
        "at": f"{at.time_s:.0f} s; {at.video_done_s:.0f} s of video done",
    }
