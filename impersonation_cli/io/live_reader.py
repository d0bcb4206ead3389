"""Live rooms: one reader thread per room that keeps a stream open and hands out sampled frames.

A reader grabs every frame the stream sends (so the connection never backs up on the server) but
converts only the frames due at the sampling rate, by arrival time, and keeps at most `queue_size` of
them: when recognition falls behind, the oldest frame is dropped, never queued forever. A dropped or
refused connection is retried with exponential backoff and jitter; a room that stays unreachable for
`give_up_s` is reported as ended (it was live) or failed (it never was). Local files are played as live,
paced by their presentation times, and end at their last frame.
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

import cv2

from impersonation_cli.errors import UnreadableInput
from impersonation_cli.io.sources import is_stream_url, open_capture
from impersonation_cli.pipeline.faces import Frame


class RoomStatus(StrEnum):
    CONNECTING = "connecting"
    LIVE = "live"
    RECONNECTING = "reconnecting"
    ENDED = "ended"
    FAILED = "failed"
    STOPPED = "stopped"


@dataclass(frozen=True)
class ReaderSettings:
    """How a live room is read: the frame rate, the timeouts, reconnection back-off, and when to give up."""

    # Frames sampled per second; None: the config's `[scan] fps`, filled in by the watcher (one rate for both).
    fps: float | None = None
    open_timeout_s: float = 10.0
    read_timeout_s: float = 10.0
    backoff_initial_s: float = 1.0
    backoff_max_s: float = 30.0
    # Unreachable this long (since the last frame, or since watching began): the room is over.
    give_up_s: float = 60.0
    queue_size: int = 2


@dataclass
class ReaderState:
    """What a room's reader has seen so far; kept across reconnects. Written by the reader thread only."""

    room: str
    url: str
    label: str | None = None
    status: RoomStatus = RoomStatus.CONNECTING
    frames_decoded: int = 0
    frames_sampled: int = 0
    frames_dropped: int = 0
    connections: int = 0
    reconnects: int = 0  # connections that delivered frames again after the stream had been live
    last_error: str | None = None
    live_seconds: float = 0.0
    fps: float = 0.0  # sampled frames a second over the last few seconds
    _sample_times: deque[float] = field(default_factory=lambda: deque(maxlen=64), repr=False)

    def sampled(self, now: float, window_s: float = 5.0) -> None:
        self.frames_sampled += 1
        self._sample_times.append(now)
        recent = [t for t in self._sample_times if now - t <= window_s]
        span = now - recent[0] if len(recent) > 1 else 0.0
        self.fps = round((len(recent) - 1) / span, 2) if span > 0 else 0.0

    def as_dict(self) -> dict[str, Any]:
        document = asdict(self)
        document.pop("_sample_times")
        document["status"] = str(self.status)
        document["live_seconds"] = round(self.live_seconds, 2)
        return document


class FrameSlot:
    """A bounded hand-over between one reader and the recognizer: the oldest frame goes when full."""

    def __init__(self, size: int, wake: threading.Event) -> None:
        self._frames: deque[Frame] = deque(maxlen=max(1, size))
        self._lock = threading.Lock()
        self._wake = wake

    def put(self, frame: Frame) -> bool:
        """Queue a frame; True when an older frame had to be dropped to make room."""
        with self._lock:
            dropped = len(self._frames) == self._frames.maxlen
            self._frames.append(frame)
        self._wake.set()
        return dropped

    def drain(self) -> list[Frame]:
        with self._lock:
            frames = list(self._frames)
            self._frames.clear()
        return frames


# FFmpeg probes a live stream for 5 s by default before the first frame; with an open timeout under that the
# probe is cut short and the connection dies on its first reads. One second is enough to find the video.
# Setting the variable at all drops OpenCV's own default for RTSP, RTP inside the RTSP connection (TCP), and
# FFmpeg would then send RTP over UDP, which NAT and firewalls between a monitoring box and a camera or
# restreamer often drop: prefer_tcp keeps TCP first and UDP as the fallback.
# (OpenCV reads this variable at every open; a value the user set is kept.)
LIVE_CAPTURE_OPTIONS = ("OPENCV_FFMPEG_CAPTURE_OPTIONS", "analyzeduration;1000000|rtsp_flags;prefer_tcp")


class RoomReader(threading.Thread):
    """Reads one room until stopped, ended or failed; frames come out of `slot`, its story in `state`."""

    def __init__(
        self, state: ReaderState, settings: ReaderSettings, wake: threading.Event, origin: float | None = None
    ) -> None:
        super().__init__(name=f"room {state.room}", daemon=True)
        os.environ.setdefault(*LIVE_CAPTURE_OPTIONS)
        self.state = state
        self.settings = settings
        self.slot = FrameSlot(settings.queue_size, wake)
        self._wake = wake
        self._stop_event = threading.Event()
        # Stream time of every frame counts from here, so it keeps rising across reconnects.
        self.origin = origin if origin is not None else time.monotonic()
        self._is_file = not is_stream_url(state.url)
        self._next_sample = self.origin

    def stop(self) -> None:
        self._stop_event.set()

    @property
    def stopping(self) -> bool:
        return self._stop_event.is_set()

    def run(self) -> None:
        try:
            self._watch()
        finally:
            self._wake.set()  # the orchestrator notices a room that is over without waiting for frames

    def _watch(self) -> None:
        state = self.state
        backoff = self.settings.backoff_initial_s
        last_alive = time.monotonic()
        while not self.stopping:
            if self._connect_and_read():
                last_alive = time.monotonic()
                backoff = self.settings.backoff_initial_s
            if self.stopping:
                break
            # A file is read once; a stream gets its chances until give_up_s.
            if self._is_file or time.monotonic() - last_alive >= self.settings.give_up_s:
                state.status = RoomStatus.ENDED if state.frames_decoded else RoomStatus.FAILED
                return
            state.status = RoomStatus.RECONNECTING if state.frames_decoded else RoomStatus.CONNECTING
            # Equal jitter: rooms that dropped together (a server restart) do not all come back at once.
            self._stop_event.wait(backoff / 2 + random.uniform(0, backoff / 2))
            backoff = min(backoff * 2, self.settings.backoff_max_s)
        state.status = RoomStatus.STOPPED

    def _connect_and_read(self) -> bool:
        """One connection: True when it delivered at least one frame."""
        try:
            capture = open_capture(self.state.url, self.settings.open_timeout_s, self.settings.read_timeout_s)
        except UnreadableInput as exc:
            self.state.last_error = str(exc)
            return False
        self.state.connections += 1
        try:
            return self._read(capture)
        finally:
            capture.release()

    def _read(self, capture: cv2.VideoCapture) -> bool:
        state = self.state
        connected = previous = time.monotonic()
        frames = 0
        while not self.stopping and capture.grab():
            frames += 1
            state.frames_decoded += 1
            if frames == 1:
                if state.status == RoomStatus.RECONNECTING:
                    state.reconnects += 1
                state.status = RoomStatus.LIVE
                state.last_error = None
            now = self._pace(capture, connected)
            state.live_seconds += now - previous
            previous = now
            if now >= self._next_sample:
                self._sample(capture, now)
        if frames and not self.stopping and not self._is_file:
            state.last_error = "the stream stopped sending frames (ended, dropped or read timeout)"
        return frames > 0

    def _pace(self, capture: cv2.VideoCapture, connected: float) -> float:
        """Now, after waiting for a local file's frame to be due at real-time pace."""
        if self._is_file:
            position_s = capture.get(cv2.CAP_PROP_POS_MSEC) / 1000.0
            delay = connected + position_s - time.monotonic()
            if delay > 0:
                self._stop_event.wait(delay)
        return time.monotonic()

    def _sample(self, capture: cv2.VideoCapture, now: float) -> None:
        ok, image = capture.retrieve()
        if not ok or image is None:
            return
        interval = 1.0 / self.settings.fps
        self._next_sample = max(self._next_sample + interval, now + interval * 0.5)
        frame = Frame(
            source=self.state.url,
            index=self.state.frames_sampled,
            time_s=now - self.origin,
            image=image,
            wallclock=time.time(),
        )
        self.state.sampled(now)
        if self.slot.put(frame):
            self.state.frames_dropped += 1
