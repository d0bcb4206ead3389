"""Live rooms: one reader thread per room that keeps a stream open and hands out sampled frames.

A reader grabs every frame the stream sends (so the connection never backs up on the server) but
converts only the frames due at the sampling rate, by when they were live (`StreamClock`), and keeps at most
`queue_size` of them: when recognition falls behind, the oldest frame is dropped, never queued forever. A dropped or
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
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import UTC, datetime
from enum import StrEnum
from fractions import Fraction
from typing import Any, Literal

import av

from impersonation_cli.errors import (
    MAX_WATCH_FPS,
    MIN_WATCH_FPS,
    UnreadableInput,
    check_count,
    check_rate,
    check_seconds,
    plain_numbers,
)
from impersonation_cli.io.hls import Playlist, read_playlist
from impersonation_cli.io.sources import (
    check_pixels,
    decode_packet,
    display_size,
    is_stream_url,
    main_video,
    open_video,
    origin_of,
    pixel_aspect,
    pixel_limited,
    seconds,
    shown,
    start_of,
)
from impersonation_cli.io.timestamps import TimestampRebase
from impersonation_cli.io.urls import redact_url, redact_urls
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
    """How a live room is read: the frame rate, the timeouts, reconnection back-off, when to give up, and how
    long a silence (`gap_s`) must last to be recorded as one of the room's `interruptions`."""

    # Frames sampled per second; None: the config's `[scan] fps`, filled in by the watcher (one rate for both).
    fps: float | None = None
    open_timeout_s: float = 10.0
    read_timeout_s: float = 10.0
    backoff_initial_s: float = 1.0
    backoff_max_s: float = 30.0
    # Unreachable this long (since the last frame, or since watching began): the room is over.
    give_up_s: float = 60.0
    queue_size: int = 2
    # No frame for longer than this (by when frames were live) is an interruption of the room (`Interruption`).
    gap_s: float = 3.0

    def __post_init__(self) -> None:
        # Checked when made, for the Python caller too: fps 0 watched a whole duration and then divided by it.
        plain_numbers(self)  # np.float32(2) is a rate too
        check_rate(self.fps, MAX_WATCH_FPS, "fps", MIN_WATCH_FPS)
        for name in ("open_timeout_s", "read_timeout_s", "backoff_initial_s", "backoff_max_s", "give_up_s", "gap_s"):
            check_seconds(getattr(self, name), name, zero=False)
        check_count(self.queue_size, "queue_size")


def iso_time(stamp: float | None) -> str:
    """A wall-clock time (now, for None) as an alert's ISO 8601 UTC time, local watch or Ray alike; a room's
    times too (`ReaderState`)."""
    # Always with microseconds (docs/watch.md): isoformat() leaves them out of a time on a whole second.
    when = datetime.fromtimestamp(stamp if stamp is not None else time.time(), tz=UTC)
    return when.isoformat(timespec="microseconds")


class Cause(StrEnum):
    """Why a room's frames stopped for a while."""

    STALLED = "stalled"  # the connection stayed open and sent nothing (a publisher that left and came back)
    DROPPED = "dropped"  # the connection ended (read timeout, closed, an error): frames came back on a new one


@dataclass(frozen=True)
class Interruption:
    """A stretch of a room with no frames: from the last frame before it to the first after it, by when those
    frames were live (wall clock, ISO 8601 UTC). `end` and `seconds` are None when the room was still silent
    when its reading ended (the watch stopped, or the room was given up)."""

    start: str
    end: str | None
    seconds: float | None
    cause: str
    error: str | None = None  # for `dropped`: why the connection ended


def _unended(last_live_wall: float, dropped: str | None) -> Interruption:
    """The silence since a room's latest frame (live at `last_live_wall`), as an interruption not ended yet."""
    cause = Cause.STALLED if dropped is None else Cause.DROPPED
    return Interruption(iso_time(last_live_wall), None, None, str(cause), dropped)


# The seconds of a room's frames before its latest that say how late its frames come (`ReaderState._late_s`).
LATE_WINDOW_S = 30.0


# The span a room's sampling rate is measured over (`ReaderState.rate`, `settings.rooms[].fps`).
RATE_WINDOW_S = 5.0


@dataclass
class ReaderState:
    """What a room's reader has seen so far; kept across reconnects. Written by the reader thread only, but for
    `reading_ended`, which the watcher calls for a reader it stops without waiting for it."""

    room: str  # the room's name as shown (io.rooms.Room.name)
    url: str  # what is opened; shown and written without its password or tokens (`as_dict`)
    label: str | None = None
    status: RoomStatus = RoomStatus.CONNECTING
    frames_received: int = 0  # frames the stream sent
    frames_decoded: int = 0  # of those, the ones decoded: what the next sample needed (io.live_reader.DecodePlan)
    frames_sampled: int = 0
    frames_dropped: int = 0
    connections: int = 0
    reconnects: int = 0  # connections that delivered frames again after the stream had been live
    last_error: str | None = None
    live_seconds: float = 0.0  # from the first frame to the latest, by when they were live, less the interruptions
    fps: float = 0.0  # sampled frames a second over the last RATE_WINDOW_S, as of the latest sample (`rate`)
    # The stretches without frames between the first and the latest (`first_frame_at`, `last_frame_at`).
    interruptions: list[Interruption] = field(default_factory=list)
    _sample_times: deque[float] = field(default_factory=lambda: deque(maxlen=256), repr=False)  # 30 fps for 5 s
    _first_live_wall: float | None = field(default=None, repr=False)
    _last_live: float | None = field(default=None, repr=False)  # monotonic
    _last_live_wall: float | None = field(default=None, repr=False)
    # How late the room's frames have come lately (HLS: about a segment), from the most late in each second of
    # arrival, and the frames that came during a silence, not counted yet (`_note_lateness`).
    _late_s: float = field(default=0.0, repr=False)
    _lateness: deque[list[float]] = field(default_factory=lambda: deque(maxlen=256), repr=False)
    _late_unsure: list[tuple[float, float, float]] = field(default_factory=list, repr=False)
    # How long the segments of an HLS room may be (its playlist's target duration; 0 for other streams): its
    # frames may come that late from the start, before they have shown it (`segmented`).
    _segment_s: float = field(default=0.0, repr=False)
    _dropped: str | None = field(default=None, repr=False)  # why the last connection that delivered frames ended
    _reading_over: bool = field(default=False, repr=False)
    _restarts: int = field(default=0, repr=False)  # of the stream's timestamps (`TimestampRebase`)

    @property
    def first_frame_at(self) -> str | None:
        """When the room's first frame was live (ISO 8601 UTC); None before one came."""
        return None if self._first_live_wall is None else iso_time(self._first_live_wall)

    @property
    def last_frame_at(self) -> str | None:
        """When the room's latest frame was live."""
        return None if self._last_live_wall is None else iso_time(self._last_live_wall)

    def segmented(self, target_s: float | None) -> None:
        """The room's frames come in segments of up to `target_s` seconds (an HLS playlist's target duration; None:
        not known), each at once, its first frame a segment late: they may come that late (`allowed_late_s`) before
        they have said so. A room's first segments arrive at once, anchoring the clock there (`StreamClock`), so
        the wait for the next was taken for a silence: 6-s segments were told 'interrupted' 3 s into the room and
        'resumed' (none missing) 3 s later. Never more than `MAX_CLOCK_LAG_S`, as late as a frame is ever taken."""
        if target_s is not None:
            self._segment_s = min(max(target_s, 0.0), MAX_CLOCK_LAG_S)

    @property
    def allowed_late_s(self) -> float:
        """How late the room's frames may come, by what they have shown lately (`_late_s`) and by how long its
        segments may be (`segmented`): no frame for `gap_s` more than this is a silence."""
        return max(self._late_s, self._segment_s)

    def frame_live(self, live: float, gap_s: float) -> Interruption | None:
        """A frame received that was live at `live` (monotonic clock); the interruption it ends, if any: the
        frame came after a dropped connection, or more than `gap_s` after the latest frame."""
        arrival = time.monotonic()
        late = arrival - live
        wall = time.time() - late
        came_silent = self._last_live is not None and arrival - self._last_live > gap_s + self.allowed_late_s
        ended = None
        if self._last_live is not None and self._last_live_wall is not None:
            silent = live - self._last_live
            if self._dropped is not None or silent > gap_s:
                ended = self._interrupted(max(wall, self._last_live_wall), max(silent, 0.0))
            elif silent > 0:  # the room's live time: from its first frame to its latest, less the interruptions
                self.live_seconds += silent
        self._dropped = None
        if self._last_live is None or live > self._last_live:
            self._last_live, self._last_live_wall = live, wall
        if self._first_live_wall is None:
            self._first_live_wall = wall
        self._note_lateness((arrival, live, late), gap_s, came_silent, ended is not None)
        return ended

    def _note_lateness(self, frame: tuple[float, float, float], gap_s: float, came_silent: bool, ended: bool) -> None:
        """`_late_s`: the most the room's frames have come late lately, over the seconds of arrival whose frames
        were live in the `LATE_WINDOW_S` before the latest frame (anchored there, it does not change during a
        silence). `frame`: its arrival, live time and lateness. A frame that `came_silent`, when the room was
        already silent (`silence`), counts only once frames running on from it arrive more than `gap_s` after
        it (the stream came back late, none missing), not if a frame `ended` the silence: an HLS server serves a
        killed publisher's last segment, live before the silence, only when the next publisher comes. Counted,
        its 10.5 s took back the silence told ('resumed'), which was then told again, and every later silence
        of the room was told 13.5 s after it began (it was the most any frame had been late since watching)."""
        unsure = self._late_unsure
        if ended:
            unsure.clear()  # those frames came during the silence this frame ends
        elif came_silent and not (unsure and frame[0] - unsure[0][0] > gap_s):
            unsure.append(frame)
            return
        for counted in [*unsure, frame]:
            self._count_lateness(*counted)
        unsure.clear()
        assert self._last_live is not None
        seconds = self._lateness
        while len(seconds) > 1 and seconds[0][1] < self._last_live - LATE_WINDOW_S:
            seconds.popleft()
        self._late_s = max(second[2] for second in seconds)

    def _count_lateness(self, arrival: float, live: float, late: float) -> None:
        """Keep the most late a frame arriving in this second was, and the latest such frame's live time."""
        seconds = self._lateness
        if seconds and seconds[-1][0] == int(arrival):
            seconds[-1][1:] = [max(seconds[-1][1], live), max(seconds[-1][2], late)]
        else:
            seconds.append([int(arrival), live, late])

    def connection_lost(self, error: str | None) -> None:
        """The connection that delivered frames ended: the room is interrupted until frames come again."""
        if self._last_live is not None and self._dropped is None:
            self._dropped = error or "the connection ended"

    def silence(self, gap_s: float) -> Interruption | None:
        """The interruption going on now (its `end` None), once it is sure to be recorded as one: the connection
        that delivered frames ended, or no frame has come for `gap_s` plus how late the room's frames may come
        (`allowed_late_s`; a frame arriving later than that was live too late to close the gap; an HLS room's
        frames come a segment late). None while frames come. The cause is the one so far: a silent open
        connection is `stalled` until it ends. None once the room is no longer read (`reading_ended`): a video
        file played to its end, or a room the watch stopped, is not silent, and what was interrupted then is
        recorded."""
        # Read in the reverse of the order frame_live writes them: a frame arriving meanwhile (on the reader's
        # thread) is seen whole or not at all, and the start is never that frame's.
        wall, last, dropped = self._last_live_wall, self._last_live, self._dropped
        if self._reading_over or wall is None or last is None:
            return None
        if dropped is None and time.monotonic() - last <= gap_s + self.allowed_late_s:
            return None
        return _unended(wall, dropped)

    def reading_ended(self, gap_s: float) -> None:
        """The room is no longer read: a silence still going on (as `silence` tells it: an HLS room waiting for
        its next segment is not silent) is an interruption with no end. Once only."""
        over, self._reading_over = self._reading_over, True
        if over or self._last_live is None or self._last_live_wall is None:
            return
        if self._dropped is not None or time.monotonic() - self._last_live > gap_s + self.allowed_late_s:
            self._interrupted(None, None)

    def _interrupted(self, end_wall: float | None, seconds: float | None) -> Interruption:
        """The interruption since the latest frame, ending at `end_wall` (None: it had not ended)."""
        assert self._last_live_wall is not None
        interruption = replace(
            _unended(self._last_live_wall, self._dropped),
            end=None if end_wall is None else iso_time(end_wall),
            seconds=None if seconds is None else round(seconds, 2),
        )
        self.interruptions.append(interruption)
        return interruption

    def sampled(self, now: float) -> None:
        self.frames_sampled += 1
        self._sample_times.append(now)
        self.fps = self.rate(now)

    def rate(self, now: float) -> float:
        """Frames sampled a second over the RATE_WINDOW_S before `now` (monotonic). Taken at the latest sample
        only, a room that had ended or gone silent kept its last rate for ever (1.1 fps, 30 s after it ended),
        and two samples of one burst read 4.7 fps at a target of 4."""
        recent = sum(1 for t in list(self._sample_times) if 0 <= now - t < RATE_WINDOW_S)
        return round(recent / RATE_WINDOW_S, 2)

    @property
    def timestamps_restarted(self) -> bool:
        """Whether the stream's timestamps restarted (`TimestampRebase`): a recording's header then measures one
        part of it."""
        return self._restarts > 0

    def as_dict(self) -> dict[str, Any]:
        # Field by field, not asdict(self): a reader still running may be changing its private fields meanwhile.
        document = {f.name: getattr(self, f.name) for f in fields(self) if not f.name.startswith("_")}
        document["fps"] = self.rate(time.monotonic())  # as of now: a room gone silent samples nothing
        document["interruptions"] = [asdict(interruption) for interruption in list(self.interruptions)]
        document["status"] = str(self.status)
        document["first_frame_at"], document["last_frame_at"] = self.first_frame_at, self.last_frame_at
        document["url"] = redact_url(self.url)  # written and shown: without its password or tokens
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


# Reader threads run this much nicer than the analysis thread: when the CPU is short, recognising the frames
# already sampled comes before decoding more of them.
READER_NICENESS = 19


def open_live(url: str, open_timeout_s: float, read_timeout_s: float) -> av.container.InputContainer:
    """A stream URL or a video file, opened by PyAV with open and read timeouts; UnreadableInput if it cannot be."""
    container = open_video(url, open_timeout_s, read_timeout_s)
    codec = main_video(container).codec_context
    try:  # as scan refuses them: one 11000x10000 frame took 1.6 GB, and a watcher holds many rooms
        check_pixels(url, *display_size(codec.width, codec.height, pixel_aspect(codec)))
    except UnreadableInput:
        container.close()
        raise
    return container


# How late a sample may be, as a share of the sample interval, when a key frame a little after its due time
# saves decoding the frames before it.
LATE_SHARE = 0.25
# How many of the latest gaps between key frames a room's decoder plans its rests on (`DecodePlan`), how many it
# needs, and how far apart they may be to count as steady: a share of the longest, or a frame or two.
KEY_GAPS_KEPT = 8
MIN_GAPS_TO_REST = 2
STEADY_SHARE = 0.1
STEADY_SLACK_S = 0.05


class DecodePlan:
    """Which packets of a live room are decoded: only what the next sample needs.

    Key frames are always decoded. A frame between two key frames is decoded only while a sample is due
    before the next key frame is expected (it is built from the frames before it, back to the key frame);
    past the room's last sample of a group of pictures the decoder rests until the next key frame, where key
    frames have come at a steady interval (`_expected_key_s`), else it decodes on. Frames no
    other frame refers to (B-frames) are dropped by the decoder unless a sample is due. When key frames come
    at least twice per sample interval, the key frame before a sample stands in for it (early by less than a
    key-frame interval), so only key frames are decoded.
    """

    def __init__(self) -> None:
        self.key_interval_s: float | None = None  # learnt from the stream: the smoothed gap between key frames
        # The latest gaps between key frames: the decoder rests only until the longest of them has passed. Planned
        # on the smoothed gap, a key frame that came later (x264 puts them at scene cuts) lost the samples due
        # meanwhile: 38 of 40 in 20 s at 2 fps, gaps to 1.3 s.
        self._gaps_s: deque[float] = deque(maxlen=KEY_GAPS_KEPT)
        self._last_key_s: float | None = None
        self._last_key_pts_s: float | None = None
        self._resting = True  # nothing decodes until the first key frame

    def decodes(
        self, packet: av.Packet, packet_s: float, next_sample_s: float, interval_s: float, pts_s: float | None = None
    ) -> bool:
        """`pts_s`, the packet's presentation time where known, is what the key-frame interval is learnt from:
        frames that arrive in a burst (the first HLS segments) are all due at once, but not key frames apart."""
        if packet.is_keyframe:
            self._key_frame(packet_s, packet_s if pts_s is None else pts_s)
            return True
        if self._resting:
            return False
        expected_key = self._expected_key_s()
        # A sample due shortly before the next key frame waits for it (late by at most a quarter interval)
        # rather than costing the decoding of the whole group of pictures up to it.
        if expected_key is not None and next_sample_s >= expected_key - LATE_SHARE * interval_s:
            self._resting = True
            return False
        return True

    def _expected_key_s(self) -> float | None:
        """When the next key frame is due, where the room's key frames have come at a steady interval (the latest
        gaps within a tenth, or a frame, of each other, two at least); else None: no rest, for a key frame later
        than any before costs every sample due until it comes. A recording with key frames at 0 and 1 s (a scene
        cut) and none after lost its next 4 s, the whole appearance, where a scan found it."""
        if len(self._gaps_s) < MIN_GAPS_TO_REST or self._last_key_s is None:
            return None
        longest, shortest = max(self._gaps_s), min(self._gaps_s)
        if longest - shortest > max(STEADY_SHARE * longest, STEADY_SLACK_S):
            return None
        return self._last_key_s + longest

    def key_frame_stands_in(self, packet: av.Packet, packet_s: float, next_sample_s: float, interval_s: float) -> bool:
        """Whether this key frame is taken as the sample due before the next key frame."""
        gap = self.key_interval_s
        return (
            bool(packet.is_keyframe) and gap is not None and gap <= 0.5 * interval_s and next_sample_s < packet_s + gap
        )

    def skip_frame(self, packet_s: float, next_sample_s: float, frame_s: float) -> Literal["DEFAULT", "NONREF"]:
        """The decoder's skip_frame for this packet: drop non-reference frames unless a sample is due."""
        return "DEFAULT" if packet_s + 1.5 * frame_s >= next_sample_s else "NONREF"

    def _key_frame(self, packet_s: float, pts_s: float) -> None:
        if self._last_key_pts_s is not None and pts_s > self._last_key_pts_s:
            gap = pts_s - self._last_key_pts_s
            self.key_interval_s = gap if self.key_interval_s is None else 0.7 * self.key_interval_s + 0.3 * gap
            self._gaps_s.append(gap)
        self._last_key_s, self._last_key_pts_s = packet_s, pts_s
        self._resting = False


# How far behind arrival a frame's time may fall: past it the stream's timestamps are taken to be wrong.
# Longer than the longest HLS segment in common use (10 s), whose frames all arrive a segment late.
MAX_CLOCK_LAG_S = 12.0
# Presentation times going back further than this (B-frames go back a few frames) start a new timeline.
REWIND_S = 1.0


class StreamClock:
    """When each frame of one connection was live, on the monotonic clock: its presentation time, anchored at
    the arrival of the frame that came least late. Sampling by arrival alone fails where frames come in
    bursts (HLS delivers a segment at once): every due time in a burst but the first landed on frames that
    had all arrived together, so a 2-fps room got one sample per 1-s segment."""

    def __init__(self) -> None:
        self._offset: float | None = None
        self._last_pts_s: float | None = None

    def at(self, arrival: float, pts_s: float | None) -> float:
        if pts_s is None:
            return arrival
        rewound = self._last_pts_s is not None and pts_s < self._last_pts_s - REWIND_S
        if self._offset is None or rewound:
            self._offset = arrival - pts_s
        self._offset = min(self._offset, arrival - pts_s)
        self._last_pts_s = pts_s
        return max(pts_s + self._offset, arrival - MAX_CLOCK_LAG_S)

    def shown(self, pts_s: float | None, now: float) -> float:
        """When a decoded picture of presentation time `pts_s` is live on the clock `at` keeps (fed decoding
        times); `now`, its packet's, where either is unknown or the picture lies further back than a lag allows."""
        if pts_s is None or self._offset is None:
            return now
        return max(pts_s + self._offset, now - MAX_CLOCK_LAG_S)


class RoomReader(threading.Thread):
    """Reads one room until stopped, ended or failed; frames come out of `slot`, its story in `state`.

    `fps` is the room's current sampling rate: the watcher lowers it for every room alike when recognition
    cannot keep up, and raises it back to the target when it can.
    """

    def __init__(
        self, state: ReaderState, settings: ReaderSettings, wake: threading.Event, origin: float | None = None
    ) -> None:
        super().__init__(name=f"room {state.room}", daemon=True)
        self.state = state
        self.settings = settings
        self.fps = settings.fps or 1.0
        self.slot = FrameSlot(settings.queue_size, wake)
        self._wake = wake
        self._stop_event = threading.Event()
        # Stream time of every frame counts from here, so it keeps rising across reconnects.
        self.origin = origin if origin is not None else time.monotonic()
        # Read once from its start, paced at its own time, then over: a video file, or a recording served as an HLS
        # playlist ending in #EXT-X-ENDLIST. Such a playlist arrived as fast as the network gave it, so its 33 s
        # were sampled 4 times as they came, and the room ended 'nobody registered seen' (exit 0).
        self._read_once = not is_stream_url(state.url)
        self._next_sample = self.origin
        # The segments an HLS room's playlist listed when its last connection ended: a server keeps serving the
        # playlist of a stream that ended, and each reconnect read its last segments again as live ('resumed'
        # every 7 s, for ever: --give-up never came, and the stale frames could raise alerts).
        self._segments_read: tuple[str, ...] = ()
        self._start_s: float | None = None  # where the connection's frames' times count from (`_sample`)

    def set_fps(self, fps: float) -> None:
        """Sample at `fps` (> 0) from now on: a higher rate takes effect at once, not after the old interval."""
        self._next_sample = min(self._next_sample, time.monotonic() + 1.0 / fps)
        self.fps = fps

    def stop(self) -> None:
        self._stop_event.set()

    @property
    def stopping(self) -> bool:
        return self._stop_event.is_set()

    def run(self) -> None:
        lower_own_priority(READER_NICENESS)
        try:
            self._watch()
        finally:
            self._wake.set()  # the orchestrator notices a room that is over without waiting for frames

    def _watch(self) -> None:
        state = self.state
        backoff = self.settings.backoff_initial_s
        last_alive = time.monotonic()
        try:
            while not self.stopping:
                if self._connect_and_read():
                    last_alive = time.monotonic()
                    backoff = self.settings.backoff_initial_s
                    if not self.stopping and not self._read_once:
                        state.connection_lost(state.last_error)
                if self.stopping:
                    break
                # A recording is read once; a stream gets its chances until give_up_s.
                if self._read_once or time.monotonic() - last_alive >= self.settings.give_up_s:
                    state.status = RoomStatus.ENDED if state.frames_received else RoomStatus.FAILED
                    return
                state.status = RoomStatus.RECONNECTING if state.frames_received else RoomStatus.CONNECTING
                # Equal jitter: rooms that dropped together (a server restart) do not all come back at once. Never
                # past give_up_s: the last attempt is made then (a 16-s back-off ended a 20-s --give-up at 31 s).
                remaining_s = self.settings.give_up_s - (time.monotonic() - last_alive)
                self._stop_event.wait(min(backoff / 2 + random.uniform(0, backoff / 2), remaining_s))
                backoff = min(backoff * 2, self.settings.backoff_max_s)
            state.status = RoomStatus.STOPPED
        except Exception as exc:  # a fault of this tool's reading: the room is over, saying why, not left 'live'
            state.last_error = redact_urls(f"internal error reading the room: {type(exc).__name__}: {exc}")
            state.status = RoomStatus.ENDED if state.frames_received else RoomStatus.FAILED
        finally:
            state.reading_ended(self.settings.gap_s)

    def _connect_and_read(self) -> bool:
        """One connection: True when it delivered at least one frame."""
        # An HLS room read before is read again only once its playlist lists other segments (a stream that goes
        # on, or came back); where the playlist cannot be read, the connection says why.
        playlist = read_playlist(self.state.url, self.settings.open_timeout_s) if self._segments_read else None
        if playlist is not None and playlist.segments in ((), self._segments_read):
            self.state.last_error = "its HLS playlist lists only segments already read (the stream ended?)"
            return False
        try:
            container = open_live(self.state.url, self.settings.open_timeout_s, self.settings.read_timeout_s)
        except UnreadableInput as exc:
            self.state.last_error = redact_urls(str(exc))  # it names the URL (FFmpeg's messages too): shown as such
            return False
        self.state.connections += 1
        frames_before = self.state.frames_decoded
        try:
            return self._read(container, playlist)
        except UnreadableInput as exc:  # a frame over the pixel limit, mid-stream: this connection is over
            self.state.last_error = redact_urls(str(exc))
            return self.state.frames_decoded > frames_before
        finally:
            container.close()

    def _read(self, container: av.container.InputContainer, playlist: Playlist | None) -> bool:
        """Read a connection's packets until it ends; `playlist`: the room's, where it was just read (HLS)."""
        stream = main_video(container)
        hls = is_hls(container)
        if hls:  # its frames come a segment at a time: how long one may be, before they say so
            playlist = playlist or read_playlist(self.state.url, self.settings.open_timeout_s)
            self.state.segmented(playlist.target_s if playlist else None)
            self._read_once = self._read_once or (playlist is not None and playlist.complete)
            if playlist is not None and playlist.stale() and not self._segments_read:
                # A stream that ended long before the watch began, its playlist still served (nginx-rtmp keeps it):
                # read as live on the first connection, its last segments raised 'live now' alerts.
                self.state.last_error = (
                    f"its HLS playlist has not changed for {playlist.age_s:.0f} s (the stream ended?)"
                )
                return False
        stream.thread_count = 1  # one thread per room: a watcher holds many rooms, each decoding a little
        codec = pixel_limited(stream)
        rate = stream.average_rate or stream.guessed_rate
        frame_s = 1.0 / float(rate) if rate and 0 < float(rate) < 1000 else 0.04
        # A file is played from its start as a player counts it (`origin_of`; its times then are scan's): one cut
        # from hours into a recording waited those hours first. A stream counts from its first frame.
        start_s = start_of(stream) if is_stream_url(self.state.url) else origin_of(container, stream)
        self._start_s = start_s
        plan = DecodePlan()
        live_at = StreamClock()

        def live_time(picture: av.VideoFrame, now: float) -> float:
            return live_at.shown(seconds(picture.pts, picture.time_base, start_s), now)

        connected = time.monotonic()
        packets = 0
        rested = False
        now, last_shown_s = connected, 0.0
        # Timestamps that restart (an HLS #EXT-X-DISCONTINUITY, a publisher starting again) go on from before: a
        # recording's a frame on, a live stream's by the time that passed as its packets arrived. Paced by them as
        # they were, a room waited for times already past, said 'stalled', and took 4 samples of 250 frames.
        rebase = TimestampRebase.of(
            container, stream, live=not self._read_once, close_gaps=is_stream_url(self.state.url)
        )
        restarts_before = self.state._restarts
        for packet in rebase.packets(self._packets(container, stream)):
            if restarts_before + rebase.restarts > self.state._restarts:
                # The decoder still holds pictures of the old timeline, held back to reorder B-frames: timed on the
                # new one, a publisher's restart dated one a session's length ahead, and the room sampled nothing
                # for that long (an hour, after an hour live).
                codec.flush_buffers()
                self.state._restarts = restarts_before + rebase.restarts
            packets += 1
            self._received(packets)
            packet_s = seconds(packet.pts, packet.time_base, start_s)
            last_shown_s = max(last_shown_s, packet_s or 0.0)
            # Packets come in decoding order, which B-frames take out of presentation order: at 1 fps x264's
            # defaults send the frames of 0, 4, 2, 1 and 3 s, and paced by presentation time a recording waited 4 s
            # for the second packet ('stalled'), then had the three before it late. Paced and clocked by decoding
            # time; a decoded picture is sampled by its own presentation time (`StreamClock.shown`).
            decode_s = seconds(packet.dts, packet.time_base, start_s) if packet.dts is not None else packet_s
            arrived = self._pace(connected, decode_s or 0.0)
            # Samples are due by when a frame was live, which is its arrival unless frames come in bursts.
            now = live_at.at(arrived, decode_s)
            self.state.frame_live(now, self.settings.gap_s)
            # Which packets are decoded is planned by when their pictures are shown.
            shown_s = live_at.shown(packet_s, now) - connected
            interval = 1.0 / self.fps
            if not plan.decodes(packet, shown_s, self._next_sample - connected, interval, packet_s):
                rested = True
                continue
            if rested:
                # The decoder still holds the pictures it was reordering (B-frames) from before the rest: fed
                # this key frame, it would hand out one of those, a group of pictures or more old, as the sample.
                codec.flush_buffers()
                rested = False
            next_sample_s = self._next_sample - connected
            codec.skip_frame = plan.skip_frame(shown_s, next_sample_s, frame_s)
            stand_in = plan.key_frame_stands_in(packet, shown_s, next_sample_s, interval)
            self._take(decode_packet(codec, packet, self.state.url), codec, live_time, now, stand_in)
        if packets and self._read_once and not self.stopping and not rested:
            # A recording's last pictures stay in the decoder, held to reorder B-frames, until it is told the end:
            # a 1-fps slideshow lost its last 2 s. They are taken when the last is due to be shown.
            self._pace(connected, last_shown_s)
            held = decode_packet(codec, None, self.state.url)
            for picture in held:  # handed out at the end without a time base of their own
                picture.time_base = picture.time_base or stream.time_base
            self._take(held, codec, live_time, now, False)
        if packets and not self.stopping and not self._read_once:
            self.state.last_error = "the stream stopped sending frames (ended, dropped or read timeout)"
        if hls and packets and not self.stopping:
            self._note_segments_read()
        return packets > 0

    def _take(
        self,
        pictures: list[av.VideoFrame],
        codec: av.video.codeccontext.VideoCodecContext,
        live_time: Callable[[av.VideoFrame, float], float],
        now: float,
        stand_in: bool,
    ) -> None:
        """Sample the pictures a packet completed, each by when it is live (`live_time`: by its own presentation
        time, `now` its packet's); a key frame standing in is taken whenever it comes."""
        for picture in pictures:
            self.state.frames_decoded += 1
            shown_at = live_time(picture, now)
            if shown_at >= self._next_sample or stand_in:
                self._sample(picture, pixel_aspect(codec), shown_at)
                stand_in = False

    def _note_segments_read(self) -> None:
        """The segments the playlist lists as this connection ends: read, whatever FFmpeg got of them."""
        playlist = read_playlist(self.state.url, self.settings.open_timeout_s)
        if playlist is not None:
            self._segments_read = playlist.segments

    def _packets(
        self, container: av.container.InputContainer, stream: av.video.stream.VideoStream
    ) -> Iterator[av.Packet]:
        # A stream that drops, times out or breaks mid-packet ends this connection; the reader reconnects. So does
        # one whose other streams go on without video for the read timeout: an HLS room of an audio-only publisher
        # (nginx declares an empty H.264 track) sent audio for ever, each read beat the timeout, and the room was
        # 'connecting' for the whole watch, never failed nor given up.
        video_at = time.monotonic()
        try:
            for packet in container.demux():
                if self.stopping:
                    return
                if packet.stream is stream:
                    video_at = time.monotonic()
                    if packet.size:
                        yield packet
                elif time.monotonic() - video_at > self.settings.read_timeout_s:
                    self.state.last_error = (
                        f"no video for {self.settings.read_timeout_s:g} s while its other streams went on (audio only?)"
                    )
                    return
        except (av.FFmpegError, OSError) as exc:
            self.state.last_error = redact_urls(f"{type(exc).__name__}: {exc}")

    def _received(self, packets: int) -> None:
        state = self.state
        state.frames_received += 1
        if packets == 1:
            if state.status == RoomStatus.RECONNECTING:
                state.reconnects += 1
            state.status = RoomStatus.LIVE
            state.last_error = None

    def _pace(self, connected: float, packet_s: float) -> float:
        """Now, after waiting for a recording's frame (`_read_once`) to be due at real-time pace."""
        if self._read_once:
            delay = connected + packet_s - time.monotonic()
            if delay > 0:
                self._stop_event.wait(delay)
        return time.monotonic()

    def _sample(self, decoded: av.VideoFrame, aspect: Fraction | None, now: float) -> None:
        interval = 1.0 / self.fps
        self._next_sample = max(self._next_sample + interval, now + interval * 0.5)
        # The wall clock of when it was live, as the room's times (`frame_live`) and its stream time (`now`) are
        # told: at its arrival, appearances of an HLS room ran on a segment or more past the room's last frame.
        arrived = time.time()
        # A recording's frames keep their own times, as scan gives them: on the live clock, anchored at its first
        # frame's arrival, each came 5-50 ms late (the file's opening, the first decode), so the evidence's
        # `time_s` was a frame or two past its picture (`ffmpeg -ss time_s` fetched another).
        own_s = seconds(decoded.pts, decoded.time_base, self._start_s or 0.0) if self._read_once else None
        frame = Frame(
            source=self.state.url,
            index=self.state.frames_sampled,
            time_s=now - self.origin if own_s is None else own_s,
            image=shown(decoded, aspect),
            wallclock=arrived - max(0.0, time.monotonic() - now),
            arrived=arrived,
        )
        self.state.sampled(now)
        if self.slot.put(frame):
            self.state.frames_dropped += 1


def is_hls(container: av.container.InputContainer) -> bool:
    """Whether FFmpeg reads this connection as HLS (a playlist of segments), whatever its URL says."""
    return "hls" in container.format.name.split(",")


def lower_own_priority(niceness: int) -> None:
    """Make the calling thread nicer (Linux schedules threads on their own); elsewhere a no-op."""
    try:
        thread = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, thread, os.getpriority(os.PRIO_PROCESS, thread) + niceness)
    except (AttributeError, OSError):
        pass
