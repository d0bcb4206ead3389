"""A room's frames that stop for a while are recorded as an interruption, with when and why (takedown evidence:
when a room was live and when it was not). A publisher that left and came back within --timeout left no
trace at all (the connection stayed open; status, reconnects and errors never changed), and its gap was
counted as live time. Real decoding of a small clip, on a fake clock; no model, no server."""

from __future__ import annotations

import threading
import time
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace

import av
import pytest

from impersonation_cli.errors import UnreadableInput
from impersonation_cli.io import live_reader
from impersonation_cli.io.live_reader import ReaderSettings, ReaderState, RoomReader, RoomStatus, iso_time
from impersonation_cli.outputs.dashboard import StatusLog
from impersonation_cli.pipeline import watch
from impersonation_cli.pipeline.watch import Watcher, WatchSettings

from .small_clips import grey_ramp_clip

START = 1_796_400_000.0  # a wall-clock time in 2026: the fake clock serves as both monotonic and wall clock
GAP_S = 5.0
FRAME_S = 0.04


def _at(text: str | None) -> float:
    assert text is not None
    return datetime.fromisoformat(text).timestamp()


@pytest.fixture()
def clock(monkeypatch: pytest.MonkeyPatch) -> SimpleNamespace:
    fake = SimpleNamespace(now=START)
    monkeypatch.setattr(live_reader, "time", SimpleNamespace(monotonic=lambda: fake.now, time=lambda: fake.now))
    return fake


def test_a_publisher_that_leaves_and_comes_back_on_the_same_connection_is_an_interruption(
    clock: SimpleNamespace, tmp_path: Path
) -> None:
    """What nginx-rtmp does when a publisher is killed and restarted within the player's read timeout: the
    connection stays open, sends nothing for a while, then the new publisher's frames, timestamps from 0."""
    clip = grey_ramp_clip(tmp_path / "room.mp4", 4)

    class Republished(RoomReader):
        def _packets(self, container, stream):  # type: ignore[no-untyped-def]
            packets = [packet for packet in container.demux(stream) if packet.size]
            yield from (p for p in packets if p.pts * p.time_base < 2.0)  # the first publisher: 2 s
            clock.now += GAP_S  # nobody publishing: the connection stays open and silent
            yield from packets  # the new publisher: the whole clip, its timestamps from 0 again

        def _pace(self, connected: float, packet_s: float) -> float:
            clock.now += FRAME_S
            return clock.now

    state = ReaderState(room="douyin:1", url=str(clip))
    assert Republished(state, ReaderSettings(fps=2, gap_s=3.0), threading.Event())._connect_and_read()

    [gap] = state.interruptions
    assert gap.cause == "stalled" and gap.error is None
    assert gap.seconds == pytest.approx(GAP_S + FRAME_S, abs=0.05)
    last_before = START + 50 * FRAME_S  # the 50th frame of the first publisher
    assert _at(gap.start) == pytest.approx(last_before) and _at(gap.end) == pytest.approx(last_before + GAP_S + FRAME_S)
    assert _at(state.first_frame_at) == pytest.approx(START + FRAME_S)
    assert state.last_frame_at == iso_time(clock.now)
    # Live time is the 6 s of frames, not the gap between them
    assert state.live_seconds == pytest.approx(6.0, abs=0.2)
    document = state.as_dict()
    assert document["interruptions"] == [
        {"start": gap.start, "end": gap.end, "seconds": gap.seconds, "cause": "stalled", "error": None}
    ]
    assert document["first_frame_at"] == state.first_frame_at and document["last_frame_at"] == state.last_frame_at
    assert not any(name.startswith("_") for name in document)


def test_frames_a_little_apart_are_no_interruption(clock: SimpleNamespace) -> None:
    state = ReaderState(room="r", url="rtmp://host/live/r")
    for n in range(20):  # a frame every 2.5 s: slow, but under gap_s
        clock.now = START + 2.5 * n
        assert state.frame_live(clock.now, gap_s=3.0) is None
    assert state.interruptions == [] and state.live_seconds == pytest.approx(47.5)
    state.reading_ended(gap_s=3.0)
    assert state.interruptions == []


def test_a_room_that_never_answers_is_given_up_at_give_up_not_a_back_off_later(
    clock: SimpleNamespace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Refused at once, retried with back-off 1, 2, 4, 8 s: at 15 s the 16-s --give-up is a second away. The
    next back-off (16 s, jitter at its most) used to be waited out whole: 'failed' at 31 s, nearly twice the
    --give-up the user set (a 12-s --give-up on loopback: failed after 27 s). Now the wait stops at --give-up,
    where the last attempt is made."""
    attempts: list[float] = []

    def open_live(url: str, open_timeout_s: float, read_timeout_s: float) -> av.container.InputContainer:
        attempts.append(clock.now - START)
        raise UnreadableInput(f"{url}: cannot open (not a video, damaged, or unreachable)")

    monkeypatch.setattr(live_reader, "open_live", open_live)
    monkeypatch.setattr(live_reader.random, "uniform", lambda low, high: high)
    settings = ReaderSettings(fps=2, backoff_initial_s=1.0, backoff_max_s=30.0, give_up_s=16.0)
    reader = RoomReader(ReaderState(room="douyin:1", url="rtmp://127.0.0.1:1/live/a"), settings, threading.Event())

    def wait(timeout_s: float) -> bool:
        clock.now += timeout_s
        return False

    monkeypatch.setattr(reader._stop_event, "wait", wait)
    reader.run()

    assert reader.state.status == RoomStatus.FAILED
    assert attempts == [0.0, 1.0, 3.0, 7.0, 15.0, 16.0]
    assert clock.now - START == pytest.approx(16.0)


def test_a_dropped_connection_is_an_interruption_until_frames_come_back_and_one_left_open_at_the_end(
    clock: SimpleNamespace, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Connection 1 delivers frames and ends (read timeout); a reconnect fails; connection 3 delivers again;
    then the room is unreachable until --give-up: one interruption that ended, one that never did."""
    clip = grey_ramp_clip(tmp_path / "room.mp4", 2)
    attempts: list[str] = []

    def open_live(url: str, open_timeout_s: float, read_timeout_s: float) -> av.container.InputContainer:
        attempts.append(url)
        if len(attempts) > 1:
            clock.now += 5.0  # each attempt after the first drop waits out the server
        if len(attempts) in (1, 3):
            return av.open(url)
        if len(attempts) > 3:
            clock.now += 100.0  # past --give-up
        raise UnreadableInput(f"{url}: cannot open (not a video, damaged, or unreachable)")

    monkeypatch.setattr(live_reader, "open_live", open_live)

    class Stream(RoomReader):
        def _pace(self, connected: float, packet_s: float) -> float:
            clock.now += FRAME_S
            return clock.now

    settings = ReaderSettings(fps=2, backoff_initial_s=0.001, backoff_max_s=0.001, give_up_s=60.0)
    state = ReaderState(room="douyin:1", url=str(clip))
    reader = Stream(state, settings, threading.Event())
    reader._read_once = False  # read as a stream: reconnected when it ends
    reader.run()

    assert state.status == RoomStatus.ENDED and state.connections == 2 and state.reconnects == 1
    dropped, unended = state.interruptions
    assert dropped.cause == unended.cause == "dropped"
    assert dropped.error == unended.error == "the stream stopped sending frames (ended, dropped or read timeout)"
    assert dropped.seconds == pytest.approx(10.0 + FRAME_S, abs=0.05)
    assert _at(dropped.start) == pytest.approx(START + 50 * FRAME_S)
    assert unended.end is None and unended.seconds is None and unended.start == state.last_frame_at
    assert state.live_seconds == pytest.approx(2 * 49 * FRAME_S, abs=0.05)  # two 2-s connections


def test_stopping_does_not_wait_for_a_reader_blocked_on_a_stalled_stream(monkeypatch: pytest.MonkeyPatch) -> None:
    """A reader blocked in a read returns only at its read timeout: the stop waited up to --timeout + 1 s. The
    room is stopped after the stop's short wait, its silence so far recorded as an interruption with no end."""
    monkeypatch.setattr(watch, "STOP_WAIT_S", 0.1)  # the wait for readers, 2 s, shortened: the fast tier waits it
    reading, released = threading.Event(), threading.Event()

    class Stalled(RoomReader):
        def _connect_and_read(self) -> bool:
            self.state.status = RoomStatus.LIVE
            self.state.frame_live(time.monotonic(), self.settings.gap_s)
            reading.set()
            released.wait(30)  # a read that ignores the stop, as FFmpeg's does until its timeout
            return True

    reader_settings = ReaderSettings(fps=2, read_timeout_s=30.0, gap_s=0.05)
    reader = Stalled(ReaderState(room="r", url="rtmp://127.0.0.1:1/live/r"), reader_settings, threading.Event())
    reader.start()
    assert reading.wait(5)
    time.sleep(0.1)  # past gap_s since its last frame: stalled
    stopped = time.monotonic()
    try:
        room = SimpleNamespace(reader=reader, state=reader.state)
        Watcher._stop_readers(SimpleNamespace(rooms=[room], settings=WatchSettings(reader=reader_settings)))  # type: ignore[arg-type]
        assert time.monotonic() - stopped < watch.STOP_WAIT_S + 1.0
        assert reader.state.status == RoomStatus.STOPPED
        [silence] = reader.state.interruptions
        assert silence.cause == "stalled" and silence.end is None
    finally:
        released.set()
        reader.join(5)
    assert not reader.is_alive() and len(reader.state.interruptions) == 1  # recorded once, not again at its end


def test_the_status_log_leaves_an_interruption_to_the_room_events(clock: SimpleNamespace) -> None:
    """An interruption that changes no status is said by its room events (tests/unit/test_room_events.py), on a
    terminal too: the status log said it a second time off one."""
    state = ReaderState(room="douyin:1", url="rtmp://host/live/r", status=RoomStatus.LIVE)
    room = SimpleNamespace(number=1, name="douyin:1", state=state)
    shown: list[str] = []
    log = StatusLog([room], lambda line: shown.append(line.plain))  # type: ignore[list-item]
    state.frame_live(clock.now, gap_s=3.0)
    log()
    clock.now += 6.0
    state.frame_live(clock.now, gap_s=3.0)
    log()
    assert len(state.interruptions) == 1 and shown == ["room douyin:1: live"]
