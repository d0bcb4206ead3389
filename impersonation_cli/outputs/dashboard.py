"""What `scan` and `watch` show while they run and when they end: scan's progress line and interrupted note;
watch's rooms table (a terminal's live dashboard), a log line per status change (off a terminal), alert and
room event lines, and the final per-room summary."""

from __future__ import annotations

import functools
import signal
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, TypedDict

from rich.console import Console
from rich.live import Live
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from impersonation_cli.io.names import shown_name
from impersonation_cli.outputs.alerts import AlertSink, RoomEvent, WatchEvent
from impersonation_cli.outputs.console import one_line, printable
from impersonation_cli.pipeline.scan import ProgressCallback, ScanProgress
from impersonation_cli.pipeline.watch import RoomWatch, Watcher
from impersonation_cli.results import ScanResult, SourceResult

if TYPE_CHECKING:
    from impersonation_cli.distributed.ray_watch import RayWatcher, RoomView, SinkView


class ProgressFields(TypedDict):
    """The progress bar's own fields: the line's text."""

    description: str
    at: str


def progress_fields(at: ScanProgress) -> ProgressFields:
    """The progress line's text: which file of how many, where in it, and the video done over the batch."""
    name = printable(shown_name(Path(at.source).name))[:40]
    return {
        "description": f"file {at.file_number} of {at.file_count}: {name}",
        "at": f"{at.time_s:.0f} s; {at.video_done_s:.0f} s of video done",
    }


@contextmanager
def progress_bar(console: Console, show: bool = True) -> Iterator[ProgressCallback]:
    """Scan's progress bar on `console`, shown only when `show` and on a terminal (a pipe or a log file gets the
    results alone); yields the `progress` callback `Scanner.scan` takes."""
    # markup=False: the description holds a file name, whose '[' rich would read as a style tag.
    text = functools.partial(TextColumn, markup=False)
    columns = (text("{task.description}"), BarColumn(), text("{task.fields[at]}"), TimeRemainingColumn())
    with Progress(*columns, console=console, transient=True, disable=not show or not console.is_terminal) as bar:
        task = bar.add_task("scanning", total=None, at="")
        yield lambda at: bar.update(task, total=at.duration_s, completed=at.time_s, **progress_fields(at))


def interrupted_line(result: ScanResult, *written: Path | None) -> Text:
    """What an interrupted scan finished, and where its partial result was written ('-' is stdout: not named)."""
    finished = sum(1 for s in result.sources if s.status != "interrupted")
    saved = ", ".join(str(p) for p in written if p is not None and str(p) != "-")
    return one_line(
        f"interrupted: {finished} of {len(result.sources)} inputs finished"
        + (f"; written to {shown_name(saved)} with status interrupted" if saved else "")
    )


def unreadable_lines(result: ScanResult) -> list[Text]:
    """A line per input or room that could not be read, wholly or in part: what `--quiet` still says (an error
    about an input is not a note). Each starts with the source's status: `truncated` was read in part."""
    return problem_lines(result.unreadable)


def problem_lines(sources: Iterable[SourceResult]) -> list[Text]:
    """A line per source not read in full, starting with its status (`eval`'s cases too): `unreadable: why`."""
    return [one_line(f"{s.status}: {shown_name(s.error or s.source)}") for s in sources]


ROOM_COLUMNS = ("room", "status", "fps", "frames", "dropped", "lag s", "reconnects", "alerts", "last finding / error")


def delivery_line(sink: AlertSink | SinkView) -> str:
    """Where the alerts went: the --alerts file and the webhook, with their failures."""
    done = sink.summary()
    parts = [f"{done['raised']} alerts" + (f", {done['room_events']} room events" if done["room_events"] else "")]
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


def share_line(share: Mapping[str, Any]) -> str:
    """The sampling rate every room gets, and, when it is under the target, how many rooms the machine holds."""
    line = f"sampling {share['fps']:.2g} fps per room (target {share['target_fps']:g})"
    if share["lowest_fps"] < share["target_fps"]:
        line += f", lowest {share['lowest_fps']:.2g}: past capacity, this machine holds about "
        line += f"{share['rooms_at_target']} room(s) at {share['target_fps']:g} fps"
    return line


def room_table(watcher: Watcher | RayWatcher) -> Table:
    table = Table(
        title=f"watching {len(watcher.rooms)} room(s), {watcher.elapsed_s:.0f} s; "
        + share_line(watcher.share.as_dict()),
        title_justify="left",
        caption=one_line(delivery_line(watcher.sink)),
        caption_justify="left",
    )
    for column in ROOM_COLUMNS:
        table.add_column(column, overflow="fold")
    for room in watcher.rooms:
        state = room.state
        note = room.last_finding or (state.last_error if state.status != "live" else "") or ""
        table.add_row(
            one_line(room.room.label or room.name),
            str(state.status),
            f"{state.fps:.1f}",
            str(state.frames_sampled),
            str(state.frames_dropped),
            f"{room.lag_s:.1f}",
            str(state.reconnects),
            str(room.alerts),
            one_line(note),
        )
    return table


def alert_line(event: WatchEvent) -> Text:
    """An alert, or a room event (`room douyin:1: no frames since ...`), as a line on the screen."""
    if isinstance(event, RoomEvent):
        return one_line(f"room {event.room}: {event.reasons[0]}")
    return one_line(
        f"ALERT {event.verdict}: {event.person} in {', '.join(event.rooms)} "
        f"(similarity {event.similarity:.2f}, stream {event.stream_time_s:.1f} s, seen {event.seen_at})"
    )


class StatusLog:
    """Plain log lines for a room whenever its status changes (when no terminal shows the dashboard). A room's
    interruptions, which may change no status, are room events: their lines come with the alerts'."""

    def __init__(self, rooms: Sequence[RoomWatch | RoomView], show: Callable[[Text], None]) -> None:
        self.rooms = rooms
        self.show = show
        self._last: dict[int, str] = {}

    def __call__(self) -> None:
        for room in self.rooms:
            status = str(room.state.status)
            if self._last.get(room.number) != status:
                self._last[room.number] = status
                error = f" ({room.state.last_error})" if status != "live" and room.state.last_error else ""
                self.show(one_line(f"room {room.name}: {status}{error}"))


def final_lines(result: ScanResult, sink: AlertSink | SinkView) -> list[Text]:
    """Each room's totals from the watch summary, then where the alerts went."""
    lines = [
        one_line(
            f"room {room['room']}: {room['status']}, {room['frames_sampled']} frames sampled, "
            f"{room['frames_dropped']} dropped, {room['reconnects']} reconnects, "
            f"{len(room.get('interruptions', []))} interruptions, {room['alerts']} alerts"
            + (f"; last error: {room['last_error']}" if room["last_error"] and room["status"] != "live" else "")
        )
        for room in result.settings["rooms"]
    ]
    return [*lines, one_line(share_line(result.settings["recognition"])), one_line(delivery_line(sink))]


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


def run_with_dashboard(watcher: Watcher | RayWatcher, console: Console) -> None:
    """Run `watcher` until it ends or a signal stops it, showing it on `console`: a live rooms table on a
    terminal, otherwise a log line per room status change."""
    with stop_on_signals(watcher.stop):
        if not console.is_terminal:
            watcher.run(StatusLog(watcher.rooms, lambda line: console.print(line, soft_wrap=True)))
            return
        with Live(console=console, get_renderable=lambda: room_table(watcher), refresh_per_second=2, transient=False):
            watcher.run()
