"""`impersonation-cli watch ...`: watch live rooms, alert within seconds, flush a summary on exit."""

from __future__ import annotations

import re
import signal
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer
from rich.live import Live
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from impersonation_cli.cli.common import (
    ConfigOption,
    DeviceOption,
    GalleryOption,
    ModelsOption,
    PackOption,
    ThreadsOption,
    app,
    build_engine,
    scan_context,
    stderr,
    writable_file,
    writable_folder,
)
from impersonation_cli.cli.scan_cmd import exit_code, write_outputs
from impersonation_cli.errors import EXIT_FOUND, UserError
from impersonation_cli.io.live_reader import ReaderSettings
from impersonation_cli.io.rooms import load_rooms, validate_room
from impersonation_cli.io.sources import VIDEO_EXTENSIONS, is_stream_url
from impersonation_cli.outputs.alerts import AlertEvent, AlertSink, validate_webhook
from impersonation_cli.pipeline.watch import LiveRoom, RoomSpec, Watcher, WatchSettings
from impersonation_cli.results import ScanResult

ROOMS_FILE_SUFFIXES = frozenset({".yaml", ".yml", ".toml", ".json"})
DURATION_PATTERN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h)?\s*$", re.IGNORECASE)
DURATION_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(text: str, option: str) -> float:
    """'30s', '10m', '2h' or plain seconds."""
    found = DURATION_PATTERN.match(text)
    if not found or float(found.group(1)) <= 0:
        raise UserError(f"{option} {text!r} is not a duration such as 30s, 10m or 2h")
    return float(found.group(1)) * DURATION_UNITS[(found.group(2) or "s").lower()]


def room_specs(inputs: list[str], room: str | None) -> list[RoomSpec]:
    """Rooms from URLs, video files (played as live) and rooms files; --room names a single bare URL's room."""
    specs: list[RoomSpec] = []
    for item in inputs:
        path = Path(item)
        if is_stream_url(item):
            specs.append(RoomSpec(item))
        elif path.suffix.lower() in ROOMS_FILE_SUFFIXES:
            specs.extend(RoomSpec(e.url, e.room, e.label) for e in load_rooms(path))
        elif path.suffix.lower() in VIDEO_EXTENSIONS and path.is_file():
            specs.append(RoomSpec(str(path)))
        else:
            raise UserError(f"{item}: not a stream URL, a video file or a rooms file (.yaml, .toml, .json)")
    if room is not None:
        validate_room(room)
        bare = [s for s in specs if s.room is None]
        if len(bare) != 1:
            raise UserError("--room names one room: give it exactly one URL, or use a rooms file for several")
        specs = [RoomSpec(s.url, room, s.label) if s.room is None else s for s in specs]
    twice = sorted(name for name, count in Counter(s.name for s in specs).items() if count > 1)
    if twice:
        raise UserError(f"the same room or URL is named twice: {', '.join(twice)}")
    return specs


def delivery_line(sink: AlertSink) -> str:
    """Where the alerts went: the --alerts file and the webhook, with their failures."""
    done = sink.summary()
    parts = [f"{done['raised']} alerts"]
    if sink.path is not None:
        failed = (
            f", {done['write_failures']} not written ({done['last_write_error']})" if done["write_failures"] else ""
        )
        parts.append(f"{done['written']} written to {sink.path}{failed}")
    if done["webhook"] is not None:
        hook = done["webhook"]
        last = f" (last error: {hook['last_error']})" if hook["last_error"] else ""
        parts.append(f"webhook sent {hook['sent']}, failed {hook['failed']}{last}")
    return "; ".join(parts)


def room_table(watcher: Watcher) -> Table:
    table = Table(
        title=f"watching {len(watcher.rooms)} room(s), {watcher.elapsed_s:.0f} s",
        title_justify="left",
        caption=delivery_line(watcher.sink),
        caption_justify="left",
    )
    columns = ("room", "status", "fps", "frames", "dropped", "lag s", "reconnects", "alerts", "last finding / error")
    for column in columns:
        table.add_column(column, overflow="fold")
    for room in watcher.rooms:
        state = room.state
        note = room.last_finding or (state.last_error if state.status != "live" else "") or ""
        table.add_row(
            Text(room.spec.label or room.name),
            str(state.status),
            f"{state.fps:.1f}",
            str(state.frames_sampled),
            str(state.frames_dropped),
            f"{room.lag_s:.1f}",
            str(state.reconnects),
            str(room.alerts),
            Text(note),
        )
    return table


def alert_line(event: AlertEvent) -> str:
    return (
        f"ALERT {event.verdict}: {event.person} in {', '.join(event.rooms)} "
        f"(similarity {event.similarity:.2f}, stream {event.stream_time_s:.1f} s, seen {event.seen_at})"
    )


def print_alert(event: AlertEvent) -> None:
    stderr.print(escape(alert_line(event)), soft_wrap=True)


class StatusLog:
    """Plain log lines for a room whenever its status changes (when no terminal shows the dashboard)."""

    def __init__(self, rooms: list[LiveRoom]) -> None:
        self.rooms = rooms
        self._last: dict[int, str] = {}

    def __call__(self) -> None:
        for room in self.rooms:
            status = str(room.state.status)
            if self._last.get(room.number) != status:
                self._last[room.number] = status
                error = f" ({room.state.last_error})" if status != "live" and room.state.last_error else ""
                stderr.print(Text(f"room {room.name}: {status}{error}"), soft_wrap=True)


@contextmanager
def stop_on_signals(stop: Callable[[], None]) -> Iterator[None]:
    """SIGINT and SIGTERM end the watch cleanly (the summary is still written), not with a traceback."""

    def handler(signum: int, _frame: FrameType | None) -> None:
        stop()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def run_watcher(watcher: Watcher, dashboard: bool) -> None:
    if not dashboard:
        watcher.run(StatusLog(watcher.rooms))
        return
    with Live(console=stderr, get_renderable=lambda: room_table(watcher), refresh_per_second=2, transient=False):
        watcher.run()


def print_final(result: ScanResult, sink: AlertSink) -> None:
    for room in result.settings["rooms"]:
        stderr.print(
            Text(
                f"room {room['room']}: {room['status']}, {room['frames_sampled']} frames sampled, "
                f"{room['frames_dropped']} dropped, {room['reconnects']} reconnects, {room['alerts']} alerts"
                + (f"; last error: {room['last_error']}" if room["last_error"] and room["status"] != "live" else "")
            ),
            soft_wrap=True,
        )
    stderr.print(Text(delivery_line(sink)), soft_wrap=True)


def print_write_error(message: str) -> None:
    stderr.print(Text(f"warning: {message}; watching goes on, alerts still reach the screen, webhook and summary"))


@app.command()
def watch(
    inputs: Annotated[list[str], typer.Argument(help="Stream URLs (rtmp, http-flv, hls, rtsp), videos, rooms files")],
    fps: Annotated[float, typer.Option("--fps", help="Frames sampled per second per room")] = 1.0,
    alerts_path: Annotated[
        Path | None, typer.Option("--alerts", help="Append one JSON line per alert here ('-': stdout)")
    ] = None,
    webhook: Annotated[str | None, typer.Option("--webhook", help="POST each alert as JSON to this URL")] = None,
    duration: Annotated[str | None, typer.Option("--duration", help="Stop after this long: 30s, 10m, 2h")] = None,
    room: Annotated[str | None, typer.Option("--room", help="platform:account of a single URL")] = None,
    evidence_dir: Annotated[
        Path | None, typer.Option("--evidence-dir", help="Evidence crops (default: a folder next to the --alerts file)")
    ] = None,
    json_path: Annotated[Path | None, typer.Option("--json", help="Write the final summary here ('-': stdout)")] = None,
    timeout: Annotated[str, typer.Option("--timeout", help="Open and read timeout per connection")] = "10s",
    give_up: Annotated[
        str, typer.Option("--give-up", help="A room unreachable this long is over: ended or failed")
    ] = "60s",
    window: Annotated[str, typer.Option("--window", help="Same person in two rooms this close: concurrent")] = "15s",
    cooldown: Annotated[str, typer.Option("--cooldown", help="Repeat an alert only after this long")] = "10m",
    gallery: GalleryOption = None,
    models: ModelsOption = None,
    pack: PackOption = None,
    device: DeviceOption = "auto",
    config: ConfigOption = None,
    threads: ThreadsOption = None,
) -> None:
    """Watch live rooms; exit 0 nobody registered seen, 1 seen, 3 a room could not be read at all."""
    specs = room_specs(inputs, room)
    if not 0 < fps <= 30:
        raise UserError("--fps must be between 0 and 30")
    if webhook is not None:
        validate_webhook(webhook)
    timeout_s = parse_duration(timeout, "--timeout")
    settings = WatchSettings(
        reader=ReaderSettings(
            fps=fps, open_timeout_s=timeout_s, read_timeout_s=timeout_s, give_up_s=parse_duration(give_up, "--give-up")
        ),
        duration_s=parse_duration(duration, "--duration") if duration is not None else None,
        concurrency_window_s=parse_duration(window, "--window"),
        cooldown_s=parse_duration(cooldown, "--cooldown"),
    )
    if evidence_dir is None and alerts_path is not None and str(alerts_path) != "-":
        evidence_dir = alerts_path.with_name(alerts_path.stem + "-evidence")
    writable_file(alerts_path, "--alerts")
    writable_file(json_path, "--json")
    writable_folder(evidence_dir, "--evidence-dir")
    engine, config_settings = build_engine(models, pack, device, config, threads)
    context = scan_context(engine, config_settings, gallery, evidence_dir)
    dashboard = stderr.is_terminal
    sink = AlertSink(alerts_path, webhook, settings.cooldown_s, print_alert, print_write_error)
    watcher = Watcher(specs, context, settings, sink)
    try:
        with stop_on_signals(watcher.stop):
            run_watcher(watcher, dashboard)
    finally:
        sink.close()
    result = watcher.summary()
    write_outputs(result, json_path, None)
    print_final(result, sink)
    raise typer.Exit(EXIT_FOUND if sink.count else exit_code(result))
