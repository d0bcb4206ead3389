"""Alerts: one JSON line per new finding while watching, de-duplicated, optionally POSTed to a webhook.

The line format is versioned (`schema`, `schema_version`, see docs/watch.md). A finding repeats only after
its cool-down: the same person in the same room with the same verdict is one alert, not one per frame.
The webhook runs in its own thread with a bounded queue, a timeout and bounded retries, so a slow or dead
endpoint costs alerts there, never time in the watcher.
"""

from __future__ import annotations

import dataclasses
import json
import queue
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

from .errors import UserError
from .results import SCHEMA_VERSION, Evidence

ALERT_SCHEMA = "impersonation-cli/alert"


@dataclass
class AlertEvent:
    """One finding in a live room (or, for `concurrent`, in several rooms at once)."""

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
    reasons: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"schema": ALERT_SCHEMA, "schema_version": SCHEMA_VERSION, **dataclasses.asdict(self)}


class Cooldown:
    """Remembers when each finding was last raised; a finding is due again once its cool-down has passed."""

    def __init__(self, cooldown_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.cooldown_s = cooldown_s
        self._clock = clock
        self._raised: dict[Hashable, float] = {}

    def due(self, key: Hashable) -> bool:
        last = self._raised.get(key)
        return last is None or self._clock() - last >= self.cooldown_s

    def mark(self, key: Hashable) -> None:
        self._raised[key] = self._clock()


def validate_webhook(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise UserError(f"--webhook {url!r} must be an http:// or https:// URL")
    return url


@dataclass(frozen=True)
class WebhookSettings:
    timeout_s: float = 5.0
    retries: int = 3
    backoff_s: float = 1.0
    queue_size: int = 256


class WebhookSender(threading.Thread):
    """POSTs each alert as JSON; retries server errors and network failures, drops what cannot go out."""

    def __init__(self, url: str, settings: WebhookSettings | None = None) -> None:
        super().__init__(name="webhook", daemon=True)
        self.url = validate_webhook(url)
        self.settings = settings or WebhookSettings()
        self._queue: queue.Queue[dict[str, Any] | None] = queue.Queue(maxsize=self.settings.queue_size)
        self._closing = threading.Event()
        self.sent = 0
        self.failed = 0
        self.last_error: str | None = None

    def send(self, document: dict[str, Any]) -> None:
        try:
            self._queue.put_nowait(document)
        except queue.Full:
            self.failed += 1
            self.last_error = "webhook queue full: the endpoint is slower than the alerts"

    def close(self, timeout_s: float) -> None:
        """Deliver what is queued within `timeout_s`, then give up on the rest."""
        self._queue.put(None)
        self.join(timeout_s)
        self._closing.set()  # cuts short any retry wait still going

    def run(self) -> None:
        while (document := self._queue.get()) is not None:
            if self._post(document):
                self.sent += 1
            else:
                self.failed += 1

    def _post(self, document: dict[str, Any]) -> bool:
        body = json.dumps(document, ensure_ascii=False).encode("utf-8")
        for attempt in range(self.settings.retries + 1):
            if attempt and self._closing.wait(self.settings.backoff_s * 2 ** (attempt - 1)):
                return False
            request = urllib.request.Request(
                self.url, data=body, method="POST", headers={"Content-Type": "application/json"}
            )
            try:
                with urllib.request.urlopen(request, timeout=self.settings.timeout_s) as response:
                    response.read()
                return True
            except urllib.error.HTTPError as exc:
                self.last_error = f"webhook answered HTTP {exc.code}"
                if exc.code < 500 and exc.code != 429:  # the request itself is wrong: retrying cannot help
                    return False
            except (urllib.error.URLError, OSError) as exc:
                self.last_error = f"webhook unreachable: {getattr(exc, 'reason', exc)}"
        return False


class AlertSink:
    """Where alerts go: a JSONL file (or '-' for stdout), a webhook, and a callback for the dashboard."""

    def __init__(
        self,
        path: Path | None,
        webhook: str | None,
        cooldown_s: float,
        on_alert: Callable[[AlertEvent], None] | None = None,
    ) -> None:
        self.cooldown = Cooldown(cooldown_s)
        self.on_alert = on_alert
        self.count = 0
        self._stream: IO[str] | None = None
        if path is not None and str(path) == "-":
            self._stream = sys.stdout
        elif path is not None:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                self._stream = path.open("a", encoding="utf-8")
            except OSError as exc:
                raise UserError(f"cannot write alerts to {path}: {exc.strerror}") from exc
        self.webhook = WebhookSender(webhook) if webhook else None
        if self.webhook is not None:
            self.webhook.start()

    def due(self, key: Hashable) -> bool:
        return self.cooldown.due(key)

    def emit(self, key: Hashable, event: AlertEvent) -> None:
        """Write a finding that is due (check `due` first: building the evidence costs a file write)."""
        self.cooldown.mark(key)
        self.count += 1
        document = event.to_dict()
        if self._stream is not None:
            # One write and a flush per line: a reader tailing the file never sees half an alert.
            self._stream.write(json.dumps(document, ensure_ascii=False) + "\n")
            self._stream.flush()
        if self.webhook is not None:
            self.webhook.send(document)
        if self.on_alert is not None:
            self.on_alert(event)

    def close(self, webhook_timeout_s: float = 5.0) -> None:
        if self.webhook is not None:
            self.webhook.close(webhook_timeout_s)
        if self._stream is not None and self._stream is not sys.stdout:
            self._stream.close()
