"""How a live room is sampled without a model: which packets are decoded (DecodePlan) and the rate every room
gets when recognition cannot keep up (RecognitionShare)."""

from __future__ import annotations

import functools
import itertools
import threading
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from types import SimpleNamespace

import av
import numpy as np
import pytest

from impersonation_cli.errors import UnreadableInput
from impersonation_cli.io import live_reader, sources
from impersonation_cli.io.live_reader import DecodePlan, ReaderSettings, ReaderState, RoomReader
from impersonation_cli.outputs.dashboard import share_line
from impersonation_cli.pipeline.fair_share import RecognitionShare

FRAME_S = 0.04  # 25 fps


@dataclass
class Packet:
    is_keyframe: bool


def decoded_times(
    key_every: int, fps: float, seconds: float, first_due: float = 0.0
) -> tuple[list[float], list[float]]:
    """The frames a plan decodes and the ones sampled, for a stream of 25 fps with a key frame every
    `key_every` frames, sampled as the reader samples (the first decoded frame at or after each due time, or a
    key frame standing in for it)."""
    plan = DecodePlan()
    decoded, sampled = [], []
    next_sample, interval = first_due, 1.0 / fps
    for n in range(round(seconds / FRAME_S)):
        time_s = n * FRAME_S
        packet = Packet(is_keyframe=n % key_every == 0)
        if not plan.decodes(packet, time_s, next_sample, interval):  # type: ignore[arg-type]
            continue
        decoded.append(time_s)
        if time_s >= next_sample or plan.key_frame_stands_in(packet, time_s, next_sample, interval):  # type: ignore[arg-type]
            sampled.append(time_s)
            next_sample = max(next_sample + interval, time_s + 0.5 * interval)
    return decoded, sampled


def test_nothing_is_decoded_before_the_first_key_frame() -> None:
    plan = DecodePlan()
    assert not plan.decodes(Packet(False), 0.0, 0.0, 1.0)  # type: ignore[arg-type]
    assert plan.decodes(Packet(True), 0.04, 0.0, 1.0)  # type: ignore[arg-type]
    assert plan.decodes(Packet(False), 0.08, 0.0, 1.0)  # type: ignore[arg-type]


@pytest.mark.parametrize("first_due", [0.0, 0.9])
def test_long_groups_of_pictures_decode_up_to_each_sample_and_rest_after_the_last(first_due: float) -> None:
    # Key frames every 2 s, 1 sample a second: each group is decoded up to its second sample, then the decoder
    # rests until the next key frame (once it has learnt the key-frame interval from the first two). With the
    # samples due 0.1 s before each key frame (first_due 0.9), the key frame is taken 0.1 s late instead of
    # decoding the whole group to reach the due time.
    decoded, sampled = decoded_times(key_every=50, fps=1.0, seconds=20.0, first_due=first_due)
    assert len(sampled) == pytest.approx(20 - first_due, abs=1)
    gaps = [b - a for a, b in itertools.pairwise(sampled)]
    assert all(0.75 <= gap <= 1.25 for gap in gaps)
    later = [t for t in decoded if t >= 4.0]
    assert 0.45 * 400 <= len(later) <= 0.55 * 400  # half of the 400 frames from 4 s on


def test_short_groups_of_pictures_are_sampled_on_key_frames_alone() -> None:
    # Key frames every 0.48 s, 1 sample a second: the key frame before each due time stands in for it.
    decoded, sampled = decoded_times(key_every=12, fps=1.0, seconds=20.0)
    later = [t for t in decoded if t >= 2.0]
    assert all(round(t / FRAME_S) % 12 == 0 for t in later)
    assert len(sampled) == pytest.approx(20, abs=1)
    gaps = [b - a for a, b in itertools.pairwise(sampled)]
    assert all(0.5 <= gap <= 1.5 for gap in gaps)


def test_b_frames_are_dropped_by_the_decoder_unless_a_sample_is_due() -> None:
    plan = DecodePlan()
    assert plan.skip_frame(1.0, 2.0, FRAME_S) == "NONREF"
    assert plan.skip_frame(1.95, 2.0, FRAME_S) == "DEFAULT"


def grey_steps_clip(path: Path, rate: int, frames: int, step: int, options: dict[str, str]) -> Path:
    """An H.264 clip of 160x120 at `rate` fps, frame n a flat grey of level `step` * n, x264 set by `options`."""
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=rate)
        stream.width, stream.height, stream.pix_fmt = 160, 120, "yuv420p"
        stream.options = options
        for n in range(frames):
            picture = np.full((120, 160, 3), step * n % 256, dtype=np.uint8)
            out.mux(stream.encode(av.VideoFrame.from_ndarray(picture, format="rgb24")))
        out.mux(stream.encode())
    return path


def played_at_once(
    clip: Path, fps: float, monkeypatch: pytest.MonkeyPatch
) -> tuple[list[tuple[float, float]], ReaderState]:
    """A file read by a room reader at its own pace on a fake clock (no waiting): for each sample, when it was
    due and the time of the picture it holds, both from the start of the connection (and the sample's stream
    time checked to be its picture's); and the room's state after."""
    clock = SimpleNamespace(now=1000.0)
    monkeypatch.setattr(live_reader, "time", SimpleNamespace(monotonic=lambda: clock.now, time=lambda: clock.now))
    taken: list[tuple[float, float]] = []

    class PlayedAtOnce(RoomReader):
        def _pace(self, connected: float, packet_s: float) -> float:
            clock.now = max(clock.now, connected + packet_s)
            return clock.now

        def _sample(self, decoded, aspect: Fraction | None, now: float) -> None:  # type: ignore[no-untyped-def]
            picture_s = float(decoded.pts * decoded.time_base)
            assert now - self.origin == pytest.approx(picture_s, abs=1e-6)
            taken.append((self._next_sample - self.origin, picture_s))
            super()._sample(decoded, aspect, now)

    reader = PlayedAtOnce(ReaderState(room="r", url=str(clip)), ReaderSettings(fps=fps), threading.Event())
    assert reader._connect_and_read()
    return taken, reader.state


def test_a_sample_after_the_decoder_rested_is_the_frame_due_not_one_it_held_from_before(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The sample clip (the project's own, no model needed): key frames every second and B-frames, so the decoder
    # holds two pictures back to reorder them. At 1 fps the reader rests between a group's sample and the next
    # key frame; fed that key frame, the decoder handed out a picture from two groups before (2 s old: the empty
    # scene before a face walked in), sampled as if it were now.
    clip = Path(__file__).resolve().parents[2] / "samples" / "clips" / "astronaut_live.mp4"
    taken, _ = played_at_once(clip, 1.0, monkeypatch)
    assert len(taken) >= 7
    assert all(due - 0.5 <= frame_s for due, frame_s in taken), taken


def test_key_frames_standing_in_still_come_out_of_a_decoder_that_reorders(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Key frames every 0.48 s with B-frames: at 1 fps only key frames are needed, and each comes out of the
    # decoder only after a few more frames; the flush before each key frame must not starve the room.
    options = {"g": "12", "keyint_min": "12", "bf": "3", "sc_threshold": "0"}
    clip = grey_steps_clip(tmp_path / "short_groups.mp4", 25, 150, 1, options)  # 6 s
    taken, _ = played_at_once(clip, 1.0, monkeypatch)
    assert len(taken) >= 5
    assert all(due - 0.5 <= frame_s for due, frame_s in taken), taken


def test_a_slideshow_with_b_frames_is_sampled_at_its_pictures_times_without_stalls(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # 1 fps with x264's B-frames: packets come 0, 4, 2, 1, 3 s. Paced by presentation time the reader waited 4 s
    # for the second ('stalled', over the 3-s gap), then sampled the three before it late or not at all: 4 samples
    # of 15 s at 2 fps, and the face on screen from 5 s to 10 s missed.
    # preset medium: x264's B-pyramid, as its defaults
    clip = grey_steps_clip(tmp_path / "slides.mp4", 1, 15, 10, {"bf": "3", "preset": "medium"})
    taken, state = played_at_once(clip, 2.0, monkeypatch)
    assert state.interruptions == []
    assert sorted({frame_s for _, frame_s in taken}) == [float(n) for n in range(15)]


def test_the_rate_stays_at_the_target_while_recognition_keeps_up() -> None:
    share = RecognitionShare(target_fps=2.0)
    share.update(0.0, live_rooms=4)
    share.recognised(frames=24, busy_s=1.0)  # 4 rooms x 2 fps for 3 s, done in a third of the time
    assert not share.update(3.0, live_rooms=4)
    assert share.fps == 2.0
    assert share.rooms_at_target == 10  # 0.85 x 24 / 2


def test_past_capacity_every_room_gets_the_same_share_and_it_recovers() -> None:
    share = RecognitionShare(target_fps=1.0)
    share.update(0.0, live_rooms=32)
    share.recognised(frames=45, busy_s=3.0)  # saturated: 15 frames a second for 32 rooms
    assert share.update(3.0, live_rooms=32)
    assert share.fps == pytest.approx(0.85 * 15 / 32)
    share.recognised(frames=20, busy_s=1.0)  # decoding less, the loop idles two thirds of the time
    assert share.update(6.0, live_rooms=32)
    assert share.fps == pytest.approx(1.5 * 0.85 * 15 / 32)  # up by half, the most one window allows
    share.recognised(frames=20, busy_s=2.4)  # busy 0.8: between spare and saturated, the rate holds
    assert not share.update(9.0, live_rooms=32)
    for window_end in (12.0, 15.0):
        share.recognised(frames=20, busy_s=0.3)
        assert share.update(window_end, live_rooms=32)
    assert share.fps == 1.0  # never above the target
    assert share.lowest_fps == pytest.approx(0.85 * 15 / 32)


def test_a_rate_just_under_the_target_climbs_to_it() -> None:
    """Changes under 5% are not made (no wobble), except the last step to the target: it would stay under it."""
    share = RecognitionShare(target_fps=1.0)
    share.update(0.0, live_rooms=12)
    share.recognised(frames=30, busy_s=3.0)  # saturated: 0.85 x 10 / 12 = 0.708 fps each
    assert share.update(3.0, live_rooms=12)
    share.recognised(frames=20, busy_s=1.8433)  # busy 0.614: up by 0.85 / 0.614, to 0.98
    assert share.update(6.0, live_rooms=12)
    assert share.fps == pytest.approx(0.98, abs=1e-3)
    share.recognised(frames=12, busy_s=0.5)  # then mostly idle: the target, 2% higher
    assert share.update(9.0, live_rooms=12)
    assert share.fps == 1.0


def test_the_rate_is_not_changed_between_windows_or_without_work() -> None:
    share = RecognitionShare(target_fps=1.0)
    share.update(0.0, live_rooms=2)
    share.recognised(frames=1, busy_s=1.0)
    assert not share.update(1.0, live_rooms=2)  # the window (3 s) is not over
    idle = RecognitionShare(target_fps=1.0)
    idle.update(0.0, live_rooms=2)
    assert not idle.update(10.0, live_rooms=2)  # nothing recognised: nothing to measure
    assert idle.as_dict()["frames_per_busy_s"] is None


@pytest.mark.parametrize("target", [0.0124, 1e-7, 2.0])
def test_a_rate_at_its_target_is_shown_at_it_not_past_capacity(target: float) -> None:
    """Rates were rounded to 3 decimals and the target was not: `--fps 0.0124` read 'sampling 0.012 fps per room
    (target 0.0124), lowest 0.012: past capacity' with one room and the loop mostly idle."""
    share = RecognitionShare(target_fps=target)
    share.update(0.0, live_rooms=1)
    share.recognised(frames=1, busy_s=0.01)
    share.update(3.0, live_rooms=1)
    shown = share.as_dict()
    assert shown["fps"] == shown["lowest_fps"] == target
    assert "past capacity" not in share_line(shown)


def test_a_room_over_the_pixel_limit_is_refused_as_scan_refuses_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """`scan` refuses frames over 100 megapixels, but a watch decoded them: one 11000x10000 frame took 1.6 GB.
    (The limit is lowered here to 0.01 megapixels so that a small clip stands for a huge one.)"""
    clip = tmp_path / "huge.mp4"
    with av.open(str(clip), "w") as out:
        stream = out.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 160, 120, "yuv420p"
        out.mux(stream.encode(av.VideoFrame.from_ndarray(np.zeros((120, 160, 3), np.uint8), format="rgb24")))
        out.mux(stream.encode())
    monkeypatch.setattr(live_reader, "check_pixels", functools.partial(sources.check_pixels, max_pixels=10_000))
    with pytest.raises(UnreadableInput, match=r"160x120 pixels is over the limit of 0\.01 megapixels; not decoded"):
        live_reader.open_live(str(clip), 1.0, 1.0)
