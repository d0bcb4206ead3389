"""`impersonation-cli watch ...`: watch live rooms, alert within seconds, flush a summary on exit."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from impersonation_cli.api import Scanner, room_specs, settings_files, watch_settings
from impersonation_cli.cli import options
from impersonation_cli.cli.common import app, errors, is_quiet, stderr, warn
from impersonation_cli.distributed.ray_scan import engine_options
from impersonation_cli.distributed.ray_watch import SinkView, watch_engine
from impersonation_cli.io.threads import usable_cores
from impersonation_cli.outputs.alerts import AlertSink, WatchEvent, default_evidence_dir, validate_webhook
from impersonation_cli.outputs.console import one_line
from impersonation_cli.outputs.dashboard import alert_line, final_lines, run_with_dashboard, unreadable_lines
from impersonation_cli.outputs.files import check_outputs, watch_exit_code, write_outputs
from impersonation_cli.results import ScanResult


def print_alert(event: WatchEvent) -> None:
    stderr.print(alert_line(event), soft_wrap=True)


def print_write_error(message: str) -> None:
    stderr.print(
        one_line(f"warning: {message}; watching goes on, alerts still reach the screen, webhook and summary"),
        soft_wrap=True,
    )


def print_summary_lines(result: ScanResult, sink: AlertSink | SinkView) -> None:
    """Each room's totals on stderr; with --quiet (which silences stderr) the rooms that could not be read are
    still said, on the errors' console: exit 3 with nothing on the screen left no way to tell why."""
    for line in final_lines(result, sink):
        stderr.print(line, soft_wrap=True)
    if is_quiet():
        for line in unreadable_lines(result):
            errors.print(line, soft_wrap=True)


@app.command()
def watch(
    inputs: Annotated[list[str], typer.Argument(help="Stream URLs (rtmp, http-flv, hls, rtsp), videos, rooms files")],
    fps: Annotated[
        float | None, typer.Option("--fps", help="Frames sampled per second per room [default: config [scan] fps, 2]")
    ] = None,
    alerts_path: Annotated[
        Path | None,
        typer.Option("--alerts", help="Append one JSON line per alert here ('-': stdout), evidence crops beside it"),
    ] = None,
    webhook: Annotated[str | None, typer.Option("--webhook", help="POST each alert as JSON to this URL")] = None,
    duration: Annotated[str | None, typer.Option("--duration", help="Stop after this long: 30s, 10m, 2h")] = None,
    room: Annotated[str | None, typer.Option("--room", help="platform:account of a single URL")] = None,
    evidence_dir: options.EvidenceDir = None,
    json_path: Annotated[Path | None, typer.Option("--json", help="Write the final summary here ('-': stdout)")] = None,
    timeout: Annotated[str, typer.Option("--timeout", help="Open and read timeout per connection")] = "10s",
    give_up: Annotated[
        str, typer.Option("--give-up", help="A room unreachable this long is over: ended or failed")
    ] = "60s",
    window: Annotated[str, typer.Option("--window", help="Same person in two rooms this close: concurrent")] = "15s",
    cooldown: Annotated[str, typer.Option("--cooldown", help="Repeat an alert only after this long")] = "10m",
    gallery: options.Gallery = None,
    models: options.Models = None,
    pack: options.Pack = None,
    device: options.Device = "auto",
    config: options.Config = None,
    threads: options.Threads = None,
    engine_name: options.Engine = "local",
    address: options.Address = None,
    workers: options.Workers = None,
) -> None:
    """Watch live rooms; exit 0 nobody registered seen, 1 seen, 3 a room could not be read at all."""
    ray = engine_options(engine_name, address, workers, device, threads)
    specs = room_specs(inputs, room)
    if webhook is not None:
        validate_webhook(webhook)
    settings = watch_settings(fps, timeout, give_up, duration, window, cooldown)
    evidence_dir = evidence_dir or default_evidence_dir(alerts_path)
    outputs = {"--alerts": alerts_path, "--json": json_path}
    # The videos a rooms file names are read too: `--json capture.mp4` replaced one with the summary.
    files_read: list[str | Path] = [*inputs, *(spec.url for spec in specs), *settings_files(gallery, config)]
    check_outputs(outputs, files_read, {"--evidence-dir": evidence_dir}, stdout=outputs)
    scanner = Scanner.open(models, pack, gallery, config, device, threads or usable_cores(), on_notice=warn)
    with scanner.watcher(
        specs,
        settings,
        alerts_path=alerts_path,
        webhook=webhook,
        on_alert=print_alert,
        on_write_error=print_write_error,
        evidence_dir=evidence_dir,
        engine=watch_engine(ray),
    ) as watcher:
        run_with_dashboard(watcher, stderr)
    result = watcher.summary()
    write_outputs(result, json_path, None)
    print_summary_lines(result, watcher.sink)
    raise typer.Exit(watch_exit_code(result, watcher.sink.count))
