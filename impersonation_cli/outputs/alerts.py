"""Alerts: one JSON line per new finding while watching, de-duplicated, optionally POSTed to a webhook; and
one per room event (a room's stream interrupted, back, or given up), the same way.

The line format is versioned (`schema`, `schema_version`, see docs/watch.md); `kind` tells a finding from a
room event. A finding repeats only after
its cool-down: the same person in the same room with the same verdict is one alert, not one per frame.
The webhook runs in its own thread with a bounded queue, a timeout and bounded retries, so a slow or dead
endpoint costs alerts there, never time in the watcher. Neither a failing webhook nor an alerts file that
cannot be written (a full disk) stops the watch: both are counted, and shown live and in the summary.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import queue
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, BinaryIO, ClassVar, NoReturn
from urllib.parse import urlsplit

from impersonation_cli.errors import UserError, is_device
from impersonation_cli.io.atomic_write import make_folder, write_stdout
from impersonation_cli.io.urls import authenticated_request, redact_url, redact_urls
from impersonation_cli.results import Evidence, json_line, plain_data

if TYPE_CHECKING:
    from impersonation_cli.io.live_reader import Interruption

ALERT_SCHEMA = "impersonation-cli/alert"
# Major changes break readers; minor ones only add fields or lines. Every version: docs/formats.md.
ALERT_SCHEMA_VERSION = "1.3"


@dataclass
class AlertEvent:
    """One finding in a live room (or, for `concurrent`, in several rooms at once)."""

    kind: ClassVar[str] = "finding"
    verdict: str
    person: str
    room: str
    rooms: list[str]  # every room the finding names: just `room`, or all of them for `concurrent`
    url: str
    label: str | None
    similarity: float  # the track's median cosine similarity to the person's references
    risk: float
    frames: int  # sampled frames of the track so far
    track_id: int
    stream_time_s: float  # seconds since watching of the room began, kept across reconnects
    seen_at: str  # wall-clock time of the frame that completed the finding
    emitted_at: str  # wall-clock time the alert line was written
    evidence: Evidence | None = None
    evidence_frame: Evidence | None = None  # the whole frame `evidence` was cut from
    reasons: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return alert_document(self)


class RoomChange(StrEnum):
    """What a room event says of the room's stream."""

    INTERRUPTED = "interrupted"  # no frames: the connection ended, or sent nothing for a while
    RESUMED = "resumed"  # frames again
    GIVEN_UP = "given-up"  # unreachable for --give-up: the room is no longer watched
    LOOPING = "looping"  # the stream repeats itself: a recording looped as if live (likely-replay)


@dataclass
class RoomEvent:
    """A room's stream stopped sending frames (`event` "interrupted"), sent them again ("resumed"), or was given
    up after `give_up_s` ("given-up"): the watch was blind there meanwhile. `interruption` is that stretch as the
    summary records it (docs/watch.md, "Room events")."""

    kind: ClassVar[str] = "room"
    event: str  # a RoomChange
    room: str
    url: str
    label: str | None
    status: str  # the room's status (docs/watch.md, "Room states") when the event was raised
    # The interruption as the summary records it (`settings.rooms[].interruptions`); `end` and `seconds` are None
    # until it ends. None for a `resumed` whose frames came back late but none missing: no interruption.
    interruption: Interruption | None
    emitted_at: str
    reasons: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return alert_document(self)


def room_reason(event: str, gap: Interruption | None) -> str:
    """A room event in words (its `reasons`, and its line on the screen after the room's name)."""
    if gap is None:
        return "frames again, late but with none missing: no interruption"
    why = f"{gap.cause}: {gap.error}" if gap.error else gap.cause
    if event == RoomChange.RESUMED:
        return f"no frames for {gap.seconds} s, {gap.start} to {gap.end} ({why})"
    return ("given up: " if event == RoomChange.GIVEN_UP else "") + f"no frames since {gap.start} ({why})"


# What the watch raises as it goes: findings (alerts) and room events.
WatchEvent = AlertEvent | RoomEvent


def alert_document(event: WatchEvent) -> dict[str, Any]:
    """An alert or room event as its line in the alerts file (and the webhook's body): format, kind, fields."""
    return {
        "schema": ALERT_SCHEMA,
        "schema_version": ALERT_SCHEMA_VERSION,
        "kind": event.kind,
        **plain_data(event),
    }


class Cooldown:
    """Remembers when findings were raised. A finding (verdict, person, rooms) is due unless one of the same
    verdict and person naming all its rooms was raised within the cool-down: a `concurrent` finding that lost a
    room (silent for the concurrency window) says nothing the alert naming them all did not. Gaining a room
    is new."""

    def __init__(self, cooldown_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.cooldown_s = cooldown_s
        self._clock = clock
        self._raised: dict[tuple[str, str], dict[frozenset[str], float]] = {}

    def due(self, verdict: str, person: str, rooms: Iterable[str]) -> bool:
        now, named = self._clock(), frozenset(rooms)
        raised = self._raised.get((verdict, person.casefold()), {})
        return not any(named <= told and now - at < self.cooldown_s for told, at in raised.items())

    def mark(self, event: AlertEvent) -> None:
        self._raised.setdefault((event.verdict, event.person.casefold()), {})[frozenset(event.rooms)] = self._clock()


def default_evidence_dir(alerts_path: Path | None) -> Path | None:
    """Where alerts' evidence crops go without `--evidence-dir`: a folder named after the alerts file
    (alerts.jsonl -> alerts-evidence/). None for alerts on stdout or into a device: `--alerts /dev/null` made
    /dev/null-evidence, or for a user who may not write in /dev refused to watch at all."""
    if alerts_path is None or str(alerts_path) == "-" or is_device(alerts_path):
        return None
    return alerts_path.with_name(alerts_path.stem + "-evidence")


def validate_webhook(url: str, given_as: str = "--webhook") -> str:
    """`url` if alerts can be posted to it, else a one-line UserError naming it as `given_as` (the library's
    argument is `webhook`). A malformed IPv6 host was an internal error; a port that is not a number from 0 to
    65535, white space or a control character anywhere, or a character that is not ASCII after the host (urllib
    sends the path as typed) failed only when the first alert was sent."""
    shown = f"{given_as} {redact_url(url)!r}"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  # read for its ValueError
    except ValueError as exc:
        if "@" in url and "@" not in urlsplit(url).netloc:  # the error quotes a password's first part ('as 'hun'')
            raise UserError(
                f"{shown} is not a valid URL: a user name or password must have its '#', '?', '/' and '@' "
                "percent-encoded (%23, %3F, %2F, %40)"
            ) from exc
        raise UserError(f"{shown} is not a valid URL: {exc}") from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UserError(f"{shown} must be an http:// or https:// URL")
    after_host = parts.path + parts.query + parts.fragment
    if any(c.isspace() or not c.isprintable() for c in url) or not after_host.isascii():
        raise UserError(f"{shown} holds white space, a control character or a non-ASCII path: percent-encode it")
    return url


class NoRedirects(urllib.request.HTTPRedirectHandler):
    """Follows no redirect of an alert's POST: the alert fails, naming the target without its credentials. urllib
    follows 301, 302 and 303 as a GET without the body, so the alert reached nobody and counted as sent (an http://
    webhook its server moves to https:// lost every alert), refuses 307 and 308 for a POST, and followed a redirect
    to ftp:// as well."""

    def http_error_302(
        self, req: urllib.request.Request, fp: IO[bytes], code: int, msg: str, headers: http.client.HTTPMessage
    ) -> NoReturn:
        # Answered here, before urllib reads the target: its own handling raised ValueError for a malformed one
        # ('http://[bad/x': the sending thread died, every later alert undelivered) and quoted a target of
        # another scheme whole, credentials and all ('smb://admin:secret@host/?token=...' is not allowed).
        target = headers.get("location") or headers.get("uri") or "(no Location)"
        try:
            shown = redact_url(urllib.parse.urljoin(req.full_url, target))  # a relative target, as the server means it
        except ValueError:
            shown = redact_urls(target)
        message = f"redirected to {shown}: post to that URL instead (--webhook)"
        raise urllib.error.HTTPError(req.full_url, code, message, headers, fp)

    http_error_301 = http_error_303 = http_error_307 = http_error_308 = http_error_302


WEBHOOK_OPENER = urllib.request.build_opener(NoRedirects)


@dataclass(frozen=True)
class WebhookSettings:
    timeout_s: float = 5.0
    retries: int = 3
    backoff_s: float = 1.0
    queue_size: int = 256


# The most of an answer's body the webhook reads (nothing in it is used): one streaming without end held the sending
# thread, every later alert undelivered, and grew the watch's memory by its data.
WEBHOOK_ANSWER_BYTES = 1 << 16
# How long the webhook is given, when the watch ends, to deliver what is queued; how often a wait checks its cut.
WEBHOOK_CLOSE_S = 5.0
CUT_POLL_S = 0.1


class WebhookSender(threading.Thread):
    """POSTs each alert as JSON; retries server errors and network failures, drops what cannot go out."""

    def __init__(self, url: str, settings: WebhookSettings | None = None) -> None:
        super().__init__(name="webhook", daemon=True)
        self.url = validate_webhook(url, "webhook")  # the CLI has checked its --webhook first
        self.settings = settings or WebhookSettings()
        self._queue: queue.Queue[dict[str, Any] | None] = queue.Queue(maxsize=self.settings.queue_size)
        self._closing = threading.Event()
        self._lock = threading.Lock()  # the counts, between the sending thread and close
        self._closed = False
        self._accepted = 0  # lines queued
        self._done = 0  # of those, the ones delivered or given up on by the sending thread
        self.sent = 0
        self.failed = 0
        self.last_error: str | None = None

    def send(self, document: dict[str, Any]) -> None:
        try:
            self._queue.put_nowait(document)
        except queue.Full:
            self.failed += 1
            self.last_error = "webhook queue full: the endpoint is slower than the alerts"
        else:
            self._accepted += 1

    def close(self, timeout_s: float, cut: threading.Event | None = None) -> None:
        """Deliver what is queued within `timeout_s` (or until `cut` is set), then give up on the rest: counted
        in `failed` (they were counted nowhere: 'sent 0, failed 0' of an alert that never reached a webhook that
        did not answer)."""
        if self._closed:
            return
        deadline = time.monotonic() + timeout_s
        with contextlib.suppress(queue.Full):  # the sending thread then ends after its current line, once closed
            self._queue.put(None, timeout=timeout_s)
        while self.is_alive() and not (cut is not None and cut.is_set()):
            left_s = deadline - time.monotonic()
            if left_s <= 0:
                break
            self.join(min(left_s, CUT_POLL_S))
        self._closing.set()  # cuts short any retry wait still going
        with self._lock:
            self._closed = True  # a line still being posted is counted here, not by the sending thread
            undelivered = self._accepted - self._done
            if undelivered:
                self.failed += undelivered
                self.last_error = self.last_error or "still undelivered when the watch ended"

    def run(self) -> None:
        while (document := self._queue.get()) is not None:
            delivered = self._post(document)
            with self._lock:
                if self._closed:
                    return
                self._done += 1
                if delivered:
                    self.sent += 1
                else:
                    self.failed += 1

    def _post(self, document: dict[str, Any]) -> bool:
        body = json_line(document).encode("utf-8")
        for attempt in range(self.settings.retries + 1):
            if attempt and self._closing.wait(self.settings.backoff_s * 2 ** (attempt - 1)):
                return False
            request = authenticated_request(
                self.url, data=body, method="POST", headers={"Content-Type": "application/json"}
            )
            try:
                with WEBHOOK_OPENER.open(request, timeout=self.settings.timeout_s) as response:
                    drain_answer(response, time.monotonic() + self.settings.timeout_s)
                return True
            except urllib.error.HTTPError as exc:
                refused = 300 <= exc.code < 400
                self.last_error = f"webhook {exc.msg}" if refused else f"webhook answered HTTP {exc.code}"
                if exc.code < 500 and exc.code != 429:  # the request itself is wrong: retrying cannot help
                    return False
            except (urllib.error.URLError, OSError) as exc:
                self.last_error = f"webhook unreachable: {getattr(exc, 'reason', exc)}"
            except http.client.HTTPException as exc:  # a bad status line, a body cut short: no OSError, and the
                # thread ended in a traceback with every later alert undelivered. Its text is the endpoint's bytes.
                self.last_error = f"webhook answered something that is not HTTP ({type(exc).__name__})"
        return False


def drain_answer(response: http.client.HTTPResponse, deadline: float) -> None:
    """Read what an accepting webhook answers, up to WEBHOOK_ANSWER_BYTES and until `deadline` (a monotonic time):
    the alert is delivered whatever follows. The timeout of each read alone let an answer trickling a byte every
    2 s hold the sending thread for the whole watch (one alert delivered of 14), and an answer with no length on a
    connection kept open counted a delivered alert failed ('timed out')."""
    left = WEBHOOK_ANSWER_BYTES
    with contextlib.suppress(OSError, http.client.HTTPException):
        while left > 0 and time.monotonic() < deadline:
            chunk = response.read1(min(left, 1 << 13))
            if not chunk:
                return
            left -= len(chunk)


class AlertSink:
    """Where alerts go: a JSONL file (or '-' for stdout), a webhook, and a callback for the dashboard."""

    def __init__(
        self,
        path: Path | None,
        webhook: str | None,
        cooldown_s: float,
        on_alert: Callable[[WatchEvent], None] | None = None,
        on_write_error: Callable[[str], None] | None = None,
    ) -> None:
        self.cooldown = Cooldown(cooldown_s)
        self.on_alert = on_alert  # called with each alert and room event
        self.on_write_error = on_write_error  # called on the first failed write of the alerts file
        self.count = 0
        self.room_events = 0
        self.path = path
        self.written = 0
        self.write_failures = 0
        self.last_write_error: str | None = None
        self._to_stdout = path is not None and str(path) == "-"
        # Unbuffered: a line that fails to go out (a full disk) is not kept to be retried with the next one.
        self._file: BinaryIO | None = None
        # The file's last line has no newline yet: a line cut short (a full disk), or a file that ended without one.
        self._unfinished = False
        if path is not None and not self._to_stdout:
            try:
                make_folder(path.parent)
                self._unfinished = _ends_unfinished(path)
                self._file = path.open("ab", buffering=0)
            except OSError as exc:
                raise UserError(f"cannot write alerts to {path}: {exc.strerror}") from exc
        self.webhook = WebhookSender(webhook) if webhook else None
        if self.webhook is not None:
            self.webhook.start()

    def due(self, verdict: str, person: str, rooms: Iterable[str]) -> bool:
        """Whether a finding is new (`Cooldown.due`)."""
        return self.cooldown.due(verdict, person, rooms)

    def emit(self, event: AlertEvent) -> None:
        """Write a finding that is due (check `due` first: building the evidence costs a file write)."""
        self.cooldown.mark(event)
        self.count += 1
        self._deliver(event)

    def note(self, event: RoomEvent) -> None:
        """Write a room event: no cool-down (a room's interruption is told as it begins and as it ends), and not
        counted as an alert (the exit code and `raised` are about people seen)."""
        self.room_events += 1
        self._deliver(event)

    def _deliver(self, event: WatchEvent) -> None:
        document = event.to_dict()
        self._write_line(json_line(document))
        if self.webhook is not None:
            self.webhook.send(document)
        if self.on_alert is not None:
            self.on_alert(event)

    def _write_line(self, line: str) -> None:
        """One write per line (a reader tailing the file never sees half an alert); a failure is counted and
        reported once, and the watch goes on: the webhook, the dashboard and the summary still have the alert."""
        if self._file is None and not self._to_stdout:
            return
        try:
            if self._file is not None:
                self._write_whole(self._file, line.encode("utf-8"))
            else:
                write_stdout(line.encode("utf-8"))
        except OSError as exc:
            self.write_failures += 1
            first = self.last_write_error is None
            self.last_write_error = f"cannot write alerts to {self.path}: {exc.strerror or exc}"
            if first and self.on_write_error is not None:
                self.on_write_error(self.last_write_error)
        else:
            self.written += 1

    def _write_whole(self, file: BinaryIO, line: bytes) -> None:
        """`line` after a newline when the file's last line is unfinished: glued to that line, the alert was lost
        to every JSONL reader (the line no longer parsed)."""
        data = (b"\n" if self._unfinished else b"") + line
        rest = memoryview(data)
        try:
            while rest:  # a raw file may take part of a line (a disk filling up mid-write)
                rest = rest[file.write(rest) :]
        finally:
            if written := len(data) - len(rest):
                self._unfinished = data[written - 1] != ord("\n")

    def summary(self) -> dict[str, Any]:
        """What became of the alerts: raised, written to --alerts (or not), sent to the webhook (or not)."""
        webhook = self.webhook
        return {
            "raised": self.count,
            "room_events": self.room_events,
            "written": self.written,
            "write_failures": self.write_failures,
            "last_write_error": self.last_write_error,
            "webhook": None
            if webhook is None
            else {"sent": webhook.sent, "failed": webhook.failed, "last_error": webhook.last_error},
        }

    def deliver_rest(self, cut: threading.Event | None = None, webhook_timeout_s: float = WEBHOOK_CLOSE_S) -> None:
        """Give the webhook `webhook_timeout_s` to deliver what is queued, less if `cut` is set meanwhile; what is
        left is counted failed. Nothing more is sent after it."""
        if self.webhook is not None:
            self.webhook.close(webhook_timeout_s, cut)

    def close(self, webhook_timeout_s: float = WEBHOOK_CLOSE_S) -> None:
        """`deliver_rest` (at once when the watch has already given the webhook its time), then close the file."""
        self.deliver_rest(webhook_timeout_s=webhook_timeout_s)
        if self._file is not None:
            self._file.close()


def _ends_unfinished(path: Path) -> bool:
    """Whether an existing alerts file ends inside a line (an earlier watch cut short by a full disk, a hand
    edit); not a device or pipe, which has no end to read."""
    try:
        if not path.is_file() or path.stat().st_size == 0:
            return False
        with path.open("rb") as existing:
            existing.seek(-1, os.SEEK_END)
            return existing.read(1) != b"\n"
    except OSError:
        return False
