"""A room's stream that drops is told as it happens: a room event (`kind` "room") when its frames stop, and one
when they come again or the room is given up, in the alerts file, to the webhook and on the screen, told apart
from the face alerts (`kind` "finding"). Before, the drop-outs were only in the final summary: an agency
watching the alerts learnt at the end that the watch had been blind for a while. No model, no server: a room's
reader state on a fake clock, looked at by the watcher as its loop does each round."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from impersonation_cli.cli import common, watch_cmd
from impersonation_cli.io import live_reader
from impersonation_cli.io.live_reader import ReaderSettings, ReaderState, RoomStatus, StreamClock, iso_time
from impersonation_cli.io.rooms import Room
from impersonation_cli.outputs.alerts import ALERT_SCHEMA_VERSION, AlertEvent, AlertSink, RoomEvent, WatchEvent
from impersonation_cli.outputs.dashboard import alert_line
from impersonation_cli.pipeline.watch import RoomWatch, Watcher, WatchSettings

START = 1_796_400_000.0  # a wall-clock time in 2026: the fake clock serves as both monotonic and wall clock
GAP_S = 3.0
URL = "rtmp://user:secret@127.0.0.1/live/a"
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture()
def clock(monkeypatch: pytest.MonkeyPatch) -> SimpleNamespace:
    fake = SimpleNamespace(now=START)
    monkeypatch.setattr(live_reader, "time", SimpleNamespace(monotonic=lambda: fake.now, time=lambda: fake.now))
    return fake


class Posted:
    """A webhook that keeps what it is sent, and answers every POST."""

    def __init__(self) -> None:
        self.documents: list[dict[str, Any]] = []
        self.failed, self.last_error = 0, None

    @property
    def sent(self) -> int:
        return len(self.documents)

    def send(self, document: dict[str, Any]) -> None:
        self.documents.append(document)

    def close(self, timeout_s: float, cut: threading.Event | None = None) -> None:
        """As WebhookSender.close, whose `cut` AlertSink.deliver_rest (and so close) passes on."""


class Watch:
    """One room, its reader state driven by hand, and the watcher's look at it after every step."""

    def __init__(self, tmp_path: Path) -> None:
        self.alerts = tmp_path / "alerts.jsonl"
        self.shown: list[WatchEvent] = []
        self.sink = AlertSink(self.alerts, None, 600.0, on_alert=self.shown.append)
        self.webhook = Posted()
        self.sink.webhook = self.webhook  # type: ignore[assignment]
        self.state = ReaderState(room="douyin:1", url=URL, status=RoomStatus.LIVE)
        reader = SimpleNamespace(state=self.state)
        self.room = RoomWatch(1, Room(URL, account="douyin:1", label="Room one"), reader, None, None, None)  # type: ignore[arg-type]
        # The watcher's room-event part uses only its settings and its sink: no models.
        self.watcher = object.__new__(Watcher)
        self.watcher.settings = WatchSettings(reader=ReaderSettings(fps=2, gap_s=GAP_S))
        self.watcher.sink = self.sink

    def look(self) -> list[str]:
        """The watcher's look at the room (each round); the events it raised."""
        before = len(self.shown)
        self.watcher._tell_interruptions(self.room)
        return [event.event for event in self.shown[before:] if isinstance(event, RoomEvent)]

    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.alerts.read_text(encoding="utf-8").splitlines()]


def frames(watch: Watch, clock: SimpleNamespace, seconds: float, every: float = 0.5) -> None:
    """Frames live as they arrive, `every` seconds for `seconds`, the watcher looking after each."""
    for _ in range(round(seconds / every)):
        clock.now += every
        watch.state.frame_live(clock.now, GAP_S)
        assert watch.look() == []


def test_a_stall_is_told_as_it_begins_and_as_it_ends_in_the_file_to_the_webhook_and_on_the_screen(
    clock: SimpleNamespace, tmp_path: Path
) -> None:
    """A publisher gone for 6 s on an open connection: what nginx-rtmp does when one is restarted within the
    player's --timeout. No status changes and no reconnect: before, nothing at all was said until the end."""
    watch = Watch(tmp_path)
    frames(watch, clock, 5.0)
    last_frame = clock.now
    clock.now += GAP_S - 0.5
    assert watch.look() == []  # slow frames are not a silence yet
    clock.now += 1.0
    assert watch.look() == ["interrupted"]
    clock.now += 2.5
    assert watch.look() == []  # told once
    watch.state.frame_live(clock.now, GAP_S)
    assert watch.look() == ["resumed"]
    frames(watch, clock, 2.0)
    watch.sink.close()

    [gap] = watch.state.interruptions
    start, end = iso_time(last_frame), iso_time(last_frame + 6.0)
    assert (gap.start, gap.end, gap.seconds, gap.cause) == (start, end, 6.0, "stalled")
    began, came_back = watch.lines()
    assert watch.webhook.documents == [began, came_back]
    for line in (began, came_back):
        assert (line["schema"], line["schema_version"], line["kind"]) == ("impersonation-cli/alert", "1.3", "room")
        assert "verdict" not in line  # a consumer filtering the alerts by verdict sees no room event
        assert (line["room"], line["label"], line["status"]) == ("douyin:1", "Room one", "live")
        assert line["url"] == "rtmp://user:***@127.0.0.1/live/a"
    assert began["event"] == "interrupted"
    assert began["interruption"] == {"start": start, "end": None, "seconds": None, "cause": "stalled", "error": None}
    assert came_back["event"] == "resumed"
    assert came_back["interruption"] == watch.state.as_dict()["interruptions"][0]  # as the summary records it
    assert came_back["emitted_at"] == iso_time(last_frame + 6.0)
    assert [alert_line(event).plain for event in watch.shown] == [
        f"room douyin:1: no frames since {start} (stalled)",
        f"room douyin:1: no frames for 6.0 s, {start} to {end} (stalled)",
    ]
    # Not alerts: no one was seen (the exit code), but every line is counted as written and sent.
    summary = watch.sink.summary()
    assert (watch.sink.count, summary["raised"], summary["room_events"], summary["written"]) == (0, 0, 2, 2)
    assert summary["webhook"]["sent"] == 2


def test_a_dropped_connection_is_told_at_once_and_a_room_given_up_is_told_so(
    clock: SimpleNamespace, tmp_path: Path
) -> None:
    watch = Watch(tmp_path)
    frames(watch, clock, 2.0)
    error = "the stream stopped sending frames (ended, dropped or read timeout)"
    watch.state.connection_lost(error)
    watch.state.status = RoomStatus.RECONNECTING
    assert watch.look() == ["interrupted"]  # no waiting for gap_s: the connection is gone
    clock.now += 60.0
    watch.state.status = RoomStatus.ENDED  # the reader gives up, then records the silence: a look in between
    assert watch.look() == []
    watch.state.reading_ended(GAP_S)
    assert watch.look() == ["given-up"]
    assert watch.look() == []
    began, given_up = watch.lines()
    assert (began["status"], began["interruption"]["cause"], began["interruption"]["error"]) == (
        "reconnecting",
        "dropped",
        error,
    )
    assert given_up["status"] == "ended"
    assert given_up["interruption"] == {**began["interruption"], "end": None, "seconds": None}
    assert alert_line(watch.shown[-1]).plain.startswith("room douyin:1: given up: no frames since ")


def test_a_drop_between_two_looks_is_told_whole_and_a_silence_at_the_stop_is_left_to_the_summary(
    clock: SimpleNamespace, tmp_path: Path
) -> None:
    watch = Watch(tmp_path)
    frames(watch, clock, 2.0)
    watch.state.connection_lost("closed by the server")
    clock.now += 0.3
    watch.state.frame_live(clock.now, GAP_S)  # a reconnect faster than the watcher's look
    assert watch.look() == ["interrupted", "resumed"]
    clock.now += GAP_S + 1.0
    assert watch.look() == ["interrupted"]
    watch.state.status = RoomStatus.STOPPED  # the watch ends with the room silent
    watch.state.reading_ended(GAP_S)
    assert watch.look() == []
    assert [line["interruption"]["start"] for line in watch.lines()] == [watch.state.interruptions[0].start] * 2 + [
        watch.state.interruptions[1].start
    ]


def test_a_video_file_played_to_its_end_raises_no_room_event(clock: SimpleNamespace, tmp_path: Path) -> None:
    """A video file played as live ends (status ended) with no silence recorded. Before, the watcher's next
    looks took its end for a stall: an 'interrupted' (cause stalled) gap_s later, never followed by a
    'resumed' or 'given-up', and absent from the summary's interruptions."""
    watch = Watch(tmp_path)
    frames(watch, clock, 5.0)
    watch.state.status = RoomStatus.ENDED  # the file's last frame read: the reader is done
    watch.state.reading_ended(GAP_S)
    for _ in range(4):
        clock.now += GAP_S
        assert watch.look() == []
    assert watch.state.interruptions == [] and watch.alerts.read_text(encoding="utf-8") == ""


def test_frames_a_segment_late_are_no_silence_and_late_frames_after_one_say_none_is_missing(
    clock: SimpleNamespace, tmp_path: Path
) -> None:
    """HLS delivers a 4-s segment at once, its frames live over the 4 s before: between two segments nothing
    arrives for 4 s, and that is no interruption (nor is it recorded as one)."""
    watch = Watch(tmp_path)
    live = clock.now
    for _ in range(4):
        clock.now += 4.0
        for _ in range(8):
            live += 0.5
            watch.state.frame_live(live, GAP_S)  # arrived now, live up to 4 s before
        clock.now += 3.9
        assert watch.look() == []
        clock.now -= 3.9
    clock.now += 9.0  # nothing for longer than a segment's lateness and gap_s together
    assert watch.look() == ["interrupted"]
    told = []
    for _ in range(10):  # then frames 9 s late, their timestamps running on
        live += 0.5
        clock.now += 0.5
        watch.state.frame_live(live, GAP_S)
        told += watch.look()
    # Once they have kept coming (the first alone could be a server's last segment served late, then nothing)
    assert told == ["resumed"]
    assert watch.state.interruptions == []
    assert watch.lines()[-1]["interruption"] is None
    assert (
        alert_line(watch.shown[-1]).plain == "room douyin:1: frames again, late but with none missing: no interruption"
    )


def hls(watch: Watch, clock: SimpleNamespace, live: float, segments: list[float], settle_s: float = 0.3) -> float:
    """An HLS room's segments of these lengths, each arriving at once `settle_s` after its last frame was live
    (its first frame a segment late), frames 0.25 s apart; the watcher looks every 0.25 s and is told nothing.
    Returns when the last frame was live."""
    for length in segments:
        while clock.now + 0.25 < live + length + settle_s:
            clock.now += 0.25
            assert watch.look() == [], (clock.now - live, watch.state._late_s)
        clock.now = live + length + settle_s
        for _ in range(round(length / 0.25)):
            live += 0.25
            watch.state.frame_live(live, GAP_S)
        assert watch.look() == []
    return live


def told_after(watch: Watch, clock: SimpleNamespace, last_live: float, within_s: float) -> float:
    """Seconds from the latest frame's live time to the room's `interrupted`, looking every 0.25 s."""
    while clock.now - last_live < within_s:
        clock.now += 0.25
        if watch.look():
            assert watch.shown[-1].event == "interrupted"  # type: ignore[union-attr]
            return clock.now - last_live
    raise AssertionError(f"no 'interrupted' within {within_s} s (allowed lateness {watch.state._late_s:.2f} s)")


@pytest.mark.parametrize(
    "segments", [[2.0] * 30, [6.0] * 12, [6, 2, 4, 2, 6, 2, 2, 3, 6, 2, 2, 2, 2, 2, 2, 2, 2, 6, 2, 5, 6, 2, 2, 2, 2, 6]]
)
def test_segments_of_2_to_6_s_arriving_a_segment_late_are_no_interruption(
    clock: SimpleNamespace, tmp_path: Path, segments: list[float]
) -> None:
    """How late the frames come is what they have been lately: a 6-s segment every 30 s keeps it 6 s."""
    watch = Watch(tmp_path)
    hls(watch, clock, clock.now, segments, settle_s=0.5)
    assert watch.state.interruptions == [] and watch.state.live_seconds == pytest.approx(sum(segments) - 0.25)


def last_segment_late(watch: Watch, clock: SimpleNamespace, live: float) -> float:
    """What nginx does with a killed HLS publisher: its last segment (frames live just after `live`, before the
    silence) is served 10.5 s late, as the next publisher comes, whose first frame follows 2 s later (its
    timestamps from 0: live as it arrives). Returns when that frame was live."""
    clock.now = max(clock.now, live + 11.0)
    for _ in range(2):
        live += 0.25
        watch.state.frame_live(live, GAP_S)
    clock.now += 2.0
    watch.state.frame_live(clock.now, GAP_S)
    return clock.now


def test_an_hls_publisher_killed_and_back_is_one_interrupted_and_one_resumed(
    clock: SimpleNamespace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before, the last segment's 10.5 s became how late the room's frames may come: the silence told was taken
    back ('resumed', late but with none missing), and told again after ('interrupted')."""
    watch = Watch(tmp_path)
    live = hls(watch, clock, clock.now, [2.0] * 15)
    assert told_after(watch, clock, live, 8) < GAP_S + 2.5  # a segment's lateness
    start = watch.shown[-1].interruption.start  # type: ignore[union-attr]
    looks: list[str] = []
    monkeypatch.setattr(watch.state, "frame_live", lambda *frame: (ReaderState.frame_live(watch.state, *frame),
                                                                    looks.extend(watch.look()))[0])  # fmt: skip
    last_segment_late(watch, clock, live)
    assert looks == ["resumed"]  # one look after each frame: the same silence until the new publisher's frame
    [gap] = watch.state.interruptions
    assert watch.shown[-1].interruption == gap  # type: ignore[union-attr]
    assert gap.start == iso_time(live + 0.5) > start  # from the last frame before it, come late
    assert gap.seconds == pytest.approx(clock.now - live - 0.5)


def test_an_hls_segment_served_late_once_does_not_delay_the_rooms_later_silences(
    clock: SimpleNamespace, tmp_path: Path
) -> None:
    """Before, every later silence of the room was told 13.5 s after it began (gap_s and the 10.5 s), not 5 s."""
    watch = Watch(tmp_path)
    live = hls(watch, clock, clock.now, [2.0] * 15)
    resumed = last_segment_late(watch, clock, live)
    assert watch.look() == ["interrupted", "resumed"]  # not looked at meanwhile: told at once
    live = hls(watch, clock, resumed, [2.0] * 15)
    assert told_after(watch, clock, live, 20) < GAP_S + 2.5  # the next silence, as soon as the first


def hls_from_its_first_segment(watch: Watch, clock: SimpleNamespace, segment_s: float, count: int) -> float:
    """An HLS room watched from its first segment, as the reader sees it: `count` segments of `segment_s`, each
    arriving at once 0.3 s after its last frame was live, frames 0.25 s apart, their live times made by the
    reader's `StreamClock` from arrival and presentation time (the first segment, with nothing earlier to anchor
    it, taken as live as it arrives); the watcher looks every 0.25 s and is told nothing. Returns when the last
    segment arrived (its last frame's live time)."""
    stream_clock, pts = StreamClock(), 0.0
    first = clock.now
    for n in range(count):
        while clock.now + 0.25 < first + n * segment_s:
            clock.now += 0.25
            assert watch.look() == [], (n, clock.now - first, watch.state.allowed_late_s)
        clock.now = first + n * segment_s
        for _ in range(round(segment_s / 0.25)):
            watch.state.frame_live(stream_clock.at(clock.now, pts), GAP_S)
            pts += 0.25
        assert watch.look() == []
    return clock.now


@pytest.mark.parametrize("segment_s", [2.0, 6.0, 10.0])
def test_an_hls_room_of_long_segments_is_not_interrupted_at_its_start_and_a_stop_is_told_a_segment_on(
    clock: SimpleNamespace, tmp_path: Path, segment_s: float
) -> None:
    """Before, its first segments, arriving at once, said nothing of how late its frames come: the wait for the
    next segment was taken for a silence, 6-s segments told 'interrupted' 3.25 s into the room and 'resumed'
    (none missing) as the second came. The reader tells the room its playlist's target duration (`segmented`)."""
    watch = Watch(tmp_path)
    watch.state.segmented(segment_s)
    last = hls_from_its_first_segment(watch, clock, segment_s, round(60 / segment_s))
    assert watch.state.interruptions == []
    # The publisher stops: told once no segment has come for gap_s more than a segment's length.
    assert GAP_S + segment_s - 0.25 <= told_after(watch, clock, last, 20) <= GAP_S + segment_s + 0.25


def test_an_hls_room_stopped_while_its_next_segment_is_due_was_not_silent(
    clock: SimpleNamespace, tmp_path: Path
) -> None:
    """Before, a watch ending more than gap_s after an HLS room's latest segment came recorded an interruption
    with no end (stalled) in the summary, every other watch of a room of 6-s segments."""
    watch = Watch(tmp_path)
    watch.state.segmented(6.0)
    hls_from_its_first_segment(watch, clock, 6.0, 5)
    clock.now += 5.0  # the next segment is due in a second
    watch.state.status = RoomStatus.STOPPED
    watch.state.reading_ended(GAP_S)
    assert watch.state.interruptions == []


def test_face_alerts_say_their_kind_in_the_versioned_format() -> None:
    alert = AlertEvent("unauthorized-likeness", "Eve", "douyin:1", ["douyin:1"], URL, None, 0.8, 0.5, 2, 1, 3.0,
                       "now", "now")  # fmt: skip
    document = alert.to_dict()
    assert list(document)[:4] == ["schema", "schema_version", "kind", "verdict"]
    assert (document["schema_version"], document["kind"]) == ("1.3", "finding") and ALERT_SCHEMA_VERSION == "1.3"
    guide = (REPO / "docs" / "watch.md").read_text(encoding="utf-8")
    assert guide.count('"schema": "impersonation-cli/alert", "schema_version": "1.3"') == 2  # an alert, a room event


def test_quiet_silences_a_room_events_line_as_it_does_the_other_notes(
    clock: SimpleNamespace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    watch = Watch(tmp_path)
    frames(watch, clock, 1.0)
    watch.state.connection_lost("closed by the server")
    watch.look()
    [event] = watch.shown
    watch_cmd.print_alert(event)
    assert capsys.readouterr().err.startswith("room douyin:1: no frames since ")
    monkeypatch.setattr(common.stderr, "quiet", True)  # what --quiet does
    watch_cmd.print_alert(event)
    assert capsys.readouterr().err == ""
    assert len(watch.lines()) == 1  # the alerts file still has it
