"""How a long file is cut into slices and its tracks joined again, without a model (pipeline/slices.py); the slow
tier (tests/pipeline/test_slices.py) checks the whole on a real clip."""

from __future__ import annotations

import itertools
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from impersonation_cli.io import sources
from impersonation_cli.io.sources import DecodeStats, TimeWindow, sample_frames
from impersonation_cli.pipeline.slices import closing_order, continued_tracks, plan_slices
from impersonation_cli.pipeline.tracks import Observation, Track, TrackerSettings

from .small_clips import grey_ramp_clip

SETTINGS = TrackerSettings()  # a face unseen for more than 3 s ends its track


def face(direction: int, time_s: float, left: float = 100.0) -> Observation:
    embedding = np.zeros(512, dtype=np.float32)
    embedding[direction] = 1.0
    box = np.array([left, 100.0, left + 80.0, 180.0], dtype=np.float32)
    return Observation(0, time_s, box, 0.9, np.zeros((5, 2), np.float32), embedding)


def track(track_id: int, direction: int, times: list[float], left: float = 100.0) -> Track:
    return Track(track_id, "clip.mp4", [face(direction, t, left) for t in times])


@pytest.mark.parametrize("fps", [2.0, 3.0, 1.0])
def test_slices_cover_the_file_from_grid_points(fps: float) -> None:
    windows = plan_slices(3600.0, 600.0, fps)
    assert len(windows) == 6
    assert windows[0].start_s == 0.0 and windows[-1].end_s is None
    for before, after in itertools.pairwise(windows):
        assert before.end_s == after.start_s
        steps = after.start_s * fps
        assert abs(steps - round(steps)) < 1e-9  # a sample time of the whole file's grid
    assert plan_slices(64.2, 20.0, 2.0) == [
        TimeWindow(0.0, 16.0),
        TimeWindow(16.0, 32.0),
        TimeWindow(32.0, 48.0),
        TimeWindow(48.0),
    ]


def test_a_short_file_or_an_unknown_length_is_one_slice() -> None:
    for duration_s, slice_s in ((600.0, 600.0), (None, 600.0), (3600.0, 0.0)):
        assert plan_slices(duration_s, slice_s, 2.0) == [TimeWindow(0.0)]


def test_slices_cover_the_picture_of_a_file_whose_sound_begins_first() -> None:
    """A file whose sound began 700 s before its 9-s picture: planned from the file's start, the first slice
    (0 to 355 s) held no frame, and the file was called damaged, exit 3, where the local scan found it whole."""
    assert plan_slices(709.2, 600.0, 2.0, lead_s=700.0) == [TimeWindow(0.0)]
    assert plan_slices(64.2 + 700.0, 20.0, 2.0, lead_s=700.0) == [
        TimeWindow(0.0, 716.0),
        TimeWindow(716.0, 732.0),
        TimeWindow(732.0, 748.0),
        TimeWindow(748.0),
    ]
    # The edges keep to the grid of the picture's first frame, which the samples keep to (the Hamilton clip's
    # picture begins 0.844 s into the file).
    windows = plan_slices(64.2 + 0.844, 20.0, 2.0, lead_s=0.844)
    assert [w.start_s for w in windows] == pytest.approx([0.0, 16.844, 32.844, 48.844])


def test_no_slice_is_shorter_than_a_sample_interval() -> None:
    windows = plan_slices(100.0, 10.0, 0.05)  # one sample every 20 s: 10 slices of 10 s would hold none
    assert [(w.start_s, w.end_s) for w in windows] == [
        (0.0, 20.0),
        (20.0, 40.0),
        (40.0, 60.0),
        (60.0, 80.0),
        (80.0, None),
    ]


def test_each_frame_is_counted_by_exactly_one_slice() -> None:
    first, second = TimeWindow(0.0, 16.0), TimeWindow(16.0, None)
    for time_s in (15.96, 16.0 - 1e-7, 16.0, 16.04, 100.0):
        assert first.counts(time_s) != second.counts(time_s)
    assert first.ends_before(16.0 - 1e-7) and not first.ends_before(15.96)


def test_a_track_continues_across_a_boundary_as_the_tracker_would_link_it() -> None:
    # Slice 1 ends at 16 s; slice 2's tracks are numbered from 1 again.
    earlier = [
        track(1, 0, [14.0, 14.5, 15.5]),  # on screen at the boundary
        track(2, 1, [10.0, 11.0]),  # gone 5 s before slice 2's first face: closed by then
        track(3, 2, [15.0, 15.5], left=400.0),
    ]
    later = [
        track(1, 2, [16.0, 16.5], left=400.0),  # the third face, same place and look
        track(2, 0, [16.5, 17.0], left=300.0),  # the first face moved, but the same look: continues
        track(3, 1, [16.5, 17.0]),  # the second face's look, but its track closed 5 s before
        track(4, 3, [16.5], left=100.0),  # a new face where the first one was: the look differs
    ]
    links = continued_tracks(earlier, later, SETTINGS, SETTINGS.max_gap_s)
    assert {later_id: joined.track_id for later_id, joined in links.items()} == {1: 3, 2: 1}


def test_a_track_is_continued_once_and_by_the_best_link() -> None:
    earlier = [track(1, 0, [15.5])]
    # Both of slice 2's first faces may continue track 1: one in its place but less like it (similarity 0.3),
    # one moved away with its very look; identity outweighs overlap, and only one continues it.
    in_place = face(0, 16.0)
    in_place.embedding = in_place.embedding * 0.3 + np.eye(512, dtype=np.float32)[5] * np.sqrt(1 - 0.3**2)
    later = [Track(1, "clip.mp4", [in_place]), track(2, 0, [16.0], left=300.0)]
    assert {k: v.track_id for k, v in continued_tracks(earlier, later, SETTINGS, SETTINGS.max_gap_s).items()} == {2: 1}


def test_tracks_close_in_the_order_one_tracker_closes_them() -> None:
    samples = [n * 0.5 for n in range(41)]  # 0-20 s
    tracks = [
        track(1, 0, [0.0, 8.0]),  # closed at 11.5 s
        track(2, 1, [1.0, 5.0]),  # closed at 8.5 s
        track(3, 2, [2.0, 5.0]),  # closed at 8.5 s too: after track 2, which began first
        track(4, 3, [3.0, 19.0]),  # open at the end: last
    ]
    assert [t.track_id for t in closing_order(tracks, samples, SETTINGS.max_gap_s)] == [2, 3, 1, 4]


class LyingContainer:
    """A real PyAV container whose seeks land on the frame asked for, key frame or not: a container that marks
    frames as key frames which need earlier ones (the FF++ c23 clips) is seeked so."""

    def __init__(self, container: av.container.InputContainer) -> None:
        self._container = container

    def seek(self, offset: int, **options: object) -> None:
        self._container.seek(offset, any_frame=True, **options)

    def __getattr__(self, name: str) -> object:
        return getattr(self._container, name)

    def __enter__(self) -> LyingContainer:
        return self

    def __exit__(self, *exc: object) -> None:
        self._container.close()


def test_a_slice_decodes_as_the_whole_file_where_the_container_lies_about_key_frames(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Decoded from a "key frame" that needs earlier frames, a slice got garbage or nothing: in 10-s slices of
    FF++'s 519.mp4 (an I-frame every 10 s that does not decode alone) the faces of half the file were lost."""
    clip = tmp_path / "clip.mp4"
    with av.open(str(clip), "w") as output:
        stream = output.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 128, 96, "yuv420p"
        stream.options = {"g": "100", "bf": "0", "x264-params": "scenecut=0"}  # one key frame, at 0
        for number in range(40):
            image = np.full((96, 128, 3), number * 6, np.uint8)
            image[20:60, number * 2 : number * 2 + 28] = 255
            output.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        output.mux(stream.encode())
    whole = {frame.time_s: frame.image for frame in sample_frames(str(clip), 10.0)}
    monkeypatch.setattr(sources, "open_pyav", lambda path: LyingContainer(av.open(path)))
    sliced = list(sample_frames(str(clip), 10.0, window=TimeWindow(2.5, 3.0)))
    assert [frame.time_s for frame in sliced] == [2.5, 2.6, 2.7, 2.8, 2.9]
    assert all(np.array_equal(frame.image, whole[frame.time_s]) for frame in sliced)


def test_slices_take_the_frames_a_whole_file_pass_takes_after_a_gap_in_the_video(tmp_path: Path) -> None:
    """A capture that dropped out for 1.3 s (10 fps, nothing from 2.0 s to 3.3 s): after the gap the whole-file
    pass used to sample half an interval after the late frame, off the grid (3.3, 3.6, 4.1, ...), while the
    slice that begins at 3.5 samples on it (3.5, 4.0, ...): a Ray scan took other frames than a local scan."""
    clip = tmp_path / "dropout.mp4"
    times = [n / 10 for n in range(21)] + [3.3 + n / 10 for n in range(18)]
    with av.open(str(clip), "w") as output:
        stream = output.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        stream.options = {"bf": "0"}
        stream.codec_context.time_base = Fraction(1, 100)
        for time_s in times:
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), int(time_s * 50), np.uint8), format="rgb24")
            frame.pts, frame.time_base = round(time_s * 100), Fraction(1, 100)
            output.mux(stream.encode(frame))
        output.mux(stream.encode())
    whole = [frame.time_s for frame in sample_frames(str(clip), 2.0)]
    windows = [TimeWindow(0.0, 3.5), TimeWindow(3.5)]
    sliced = [frame.time_s for window in windows for frame in sample_frames(str(clip), 2.0, window=window)]
    assert whole == sliced
    # An MP4 gives a frame the time until the next: through the gap a player shows the 2.0-s picture, sampled at
    # 2.5 and 3.0 as shown (a held picture, sampling.takes); then the grid, where the 3.3-s frame was taken.
    after_the_gap = [t for t in whole if t > 2.0]
    assert after_the_gap == pytest.approx([2.5, 3.0, 3.5, 4.0, 4.5, 5.0])


def test_a_picture_held_on_screen_is_sampled_at_every_sample_time_it_is_shown(tmp_path: Path) -> None:
    """A variable-rate file (a slideshow, a screen recording, a GIF) holding a picture from 1 s to 4 s: taken once,
    as the first frame at or after 1.0 s, a face shown 3 s was one sample, under an appearance's two, and nobody
    was found (exit 0). A slice from 2.5 s takes what the whole-file pass takes there."""
    clip = tmp_path / "held.mp4"
    with av.open(str(clip), "w") as output:
        stream = output.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        stream.options = {"bf": "0"}
        stream.codec_context.time_base = Fraction(1, 100)
        for time_s, level in ((0.0, 0), (1.0, 200), (4.0, 0), (5.0, 0)):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), level, np.uint8), format="rgb24")
            frame.pts, frame.time_base = round(time_s * 100), Fraction(1, 100)
            output.mux(stream.encode(frame))
        output.mux(stream.encode())
    whole = {frame.time_s: int(frame.image.mean()) for frame in sample_frames(str(clip), 2.0)}
    held = [t for t, level in whole.items() if level > 100]
    assert held == pytest.approx([1.0, 1.5, 2.0, 2.5, 3.0, 3.5]), whole
    sliced = {frame.time_s: int(frame.image.mean()) for frame in sample_frames(str(clip), 2.0, window=TimeWindow(2.5))}
    assert sliced == {t: level for t, level in whole.items() if t >= 2.5}


def test_a_video_sampled_faster_than_its_rate_is_sampled_once_a_frame(tmp_path: Path) -> None:
    """--fps 50 of a 25-fps clip sampled each frame twice (a frame 'held' past the next sample time): twice the
    work, and frames_sampled over frames_decoded."""
    stats = DecodeStats()
    frames = list(sample_frames(str(grey_ramp_clip(tmp_path / "ramp.mp4", 1)), 50.0, stats))
    assert len(frames) == stats.frames_sampled == stats.frames_decoded == 25


def test_a_slice_of_an_mpeg_ts_takes_the_frames_before_its_first_key_frame(tmp_path: Path) -> None:
    """An MPEG-TS has no index: FFmpeg seeks it by its bytes and lands between key frames, where the decoder
    waits for the next one. A slice from 3 s of a TS with key frames every 2 s began at 4 s: the samples at 3 and
    3.5 s of a Ray scan were lost (a whole-file pass has them)."""
    clip = tmp_path / "clip.ts"
    with av.open(str(clip), "w", format="mpegts") as output:
        stream = output.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        stream.options = {"g": "50", "keyint_min": "50", "bf": "0", "sc_threshold": "0", "preset": "ultrafast"}
        for number in range(25 * 6):
            image = np.full((48, 64, 3), number % 256, np.uint8)
            output.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        output.mux(stream.encode())
    whole = {frame.time_s: frame.image for frame in sample_frames(str(clip), 2.0)}
    windows = [TimeWindow(0.0, 3.0), TimeWindow(3.0)]
    sliced = [frame for window in windows for frame in sample_frames(str(clip), 2.0, window=window)]
    assert [frame.time_s for frame in sliced] == list(whole)
    assert all(np.array_equal(frame.image, whole[frame.time_s]) for frame in sliced)
