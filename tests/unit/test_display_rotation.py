"""Frames as players show them: a phone's portrait recording is stored sideways with a display rotation, a
thumbnail track may come before the recording, pixels may be stored squeezed (anamorphic DV, HDV), and a frame may
hold two fields a moment apart (interlaced). Both scan's and watch's decoders must see the recording upright,
unsqueezed and uncombed."""

from __future__ import annotations

import struct
import threading
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from impersonation_cli.io import sources
from impersonation_cli.io.live_reader import ReaderSettings, ReaderState, RoomReader
from impersonation_cli.io.sources import probe, sample_frames
from impersonation_cli.pipeline.faces import Frame

from .small_clips import FAST_ENCODING


def rotated_clip(path: Path, degrees: int, thumbnail_first: bool = False, aspect: Fraction = Fraction(1)) -> Path:
    """An H.264 clip shown 120 wide and 160 high, its left half white, with a display rotation of `degrees`
    counter-clockwise (as a phone writes it); with `thumbnail_first`, after a one-frame black MJPEG track. Its
    pixels are `aspect` wide to high: stored squeezed to 60x160 at 2:1, to 120x80 at 1:2."""
    width, height = round(120 / max(aspect, 1)), round(160 * min(aspect, 1))
    with av.open(str(path), "w") as out:
        # Every track is added before the first packet: the container's header is written with it.
        thumbnail = out.add_stream("mjpeg", rate=1) if thumbnail_first else None
        stream = out.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = FAST_ENCODING["libx264"]
        stream.codec_context.sample_aspect_ratio = aspect
        stream.set_display_rotation(degrees)
        if thumbnail is not None:
            thumbnail.width, thumbnail.height, thumbnail.pix_fmt = 64, 64, "yuvj420p"
            black = av.VideoFrame.from_ndarray(np.zeros((64, 64, 3), np.uint8), format="rgb24")
            out.mux(thumbnail.encode(black.reformat(format="yuvj420p")))
            out.mux(thumbnail.encode())
        picture = np.zeros((height, width, 3), dtype=np.uint8)
        picture[:, : width // 2] = 255
        for _ in range(25):
            out.mux(stream.encode(av.VideoFrame.from_ndarray(picture, format="rgb24")))
        out.mux(stream.encode())
    return path


@pytest.mark.parametrize(("degrees", "white_side"), [(90, "bottom"), (-90, "top"), (180, "right"), (0, "left")])
def test_frames_come_out_as_players_show_them(tmp_path: Path, degrees: int, white_side: str) -> None:
    clip = rotated_clip(tmp_path / f"phone{degrees}.mp4", degrees)
    reference = cv2.VideoCapture(str(clip))  # OpenCV applies the display rotation, as players do
    ok, shown = reference.read()
    reference.release()
    assert ok and shown.shape[:2] == ((160, 120) if degrees in (0, 180) else (120, 160))
    frames = [frame.image for frame in sample_frames(str(clip), 2.0)]
    assert len(frames) == 2
    for image in frames:
        assert_shown(image, shown.shape[:2], white_side)


def test_the_recording_is_read_not_a_thumbnail_track_before_it(tmp_path: Path) -> None:
    """An MKV whose first video track is a one-frame picture: scan read only that (1 frame sampled of a 1 s clip)."""
    clip = rotated_clip(tmp_path / "thumbnail_first.mkv", 90, thumbnail_first=True)
    frames = [frame.image for frame in sample_frames(str(clip), 4.0)]
    assert len(frames) == 4
    for image in frames:
        assert_shown(image, (120, 160), "bottom")


def test_a_watched_file_is_upright_too(tmp_path: Path) -> None:
    """`watch` reads files and streams with its own PyAV reader: the same rotation, the same main track."""
    clip = rotated_clip(tmp_path / "thumbnail_first.mkv", 90, thumbnail_first=True)
    for frame in watched_frames(clip):
        assert_shown(frame.image, (120, 160), "bottom")


def watched_frames(clip: Path) -> list[Frame]:
    """The frames `watch`'s reader hands out first for `clip`, played as a room."""
    wake = threading.Event()
    reader = RoomReader(ReaderState(room="douyin:1", url=str(clip)), ReaderSettings(fps=4.0), wake)
    reader.start()
    assert wake.wait(10.0)
    reader.stop()
    reader.join(10.0)
    frames = reader.slot.drain()
    assert frames
    return frames


SQUEEZED = [
    (Fraction(2), 0, (160, 120), "left"),
    (Fraction(1, 2), 0, (160, 120), "left"),
    (Fraction(2), 90, (120, 160), "bottom"),
]


@pytest.mark.parametrize(("aspect", "degrees", "shape", "white_side"), SQUEEZED)
@pytest.mark.parametrize("decoder", ["pyav", "opencv"])
def test_squeezed_pixels_are_stretched_to_the_display_aspect(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    decoder: str,
    aspect: Fraction,
    degrees: int,
    shape: tuple[int, int],
    white_side: str,
) -> None:
    """Pixels stored squeezed (DV's 720x576 is shown 1024x576) came out as stored from both of scan's decoders:
    faces narrowed, fewer found. OpenCV (streams, and files PyAV cannot open) turns frames but does not stretch."""
    clip = rotated_clip(tmp_path / "squeezed.mp4", degrees, aspect=aspect)
    if decoder == "opencv":
        monkeypatch.setattr(sources, "open_pyav", lambda source: None)
    frames = [frame.image for frame in sample_frames(str(clip), 2.0)]
    assert len(frames) == 2
    for image in frames:
        assert_shown(image, shape, white_side)
    assert (probe(str(clip)).height, probe(str(clip)).width) == shape


@pytest.mark.parametrize("decoder", ["pyav", "opencv"])
def test_a_gif_is_taken_as_stored_whatever_its_aspect_byte(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, decoder: str
) -> None:
    """Browsers, where GIFs are watched, ignore a GIF's pixel aspect byte: a 60x40 GIF saying 2:1 is shown 60x40."""
    clip = tmp_path / "clip.gif"
    with av.open(str(clip), "w") as out:
        stream = out.add_stream("gif", rate=10)
        stream.width, stream.height, stream.pix_fmt = 60, 40, "rgb8"
        stream.codec_context.sample_aspect_ratio = Fraction(2)
        for level in range(10):
            picture = av.VideoFrame.from_ndarray(np.full((40, 60, 3), 20 * level, np.uint8), format="rgb24")
            out.mux(stream.encode(picture.reformat(format="rgb8")))
        out.mux(stream.encode())
    if decoder == "opencv":
        monkeypatch.setattr(sources, "open_pyav", lambda source: None)
    assert [frame.image.shape for frame in sample_frames(str(clip), 2.0)] == [(40, 60, 3)] * 2
    assert (probe(str(clip)).width, probe(str(clip)).height) == (60, 40)


def test_a_watched_squeezed_file_is_stretched_too(tmp_path: Path) -> None:
    clip = rotated_clip(tmp_path / "squeezed.mkv", 90, thumbnail_first=True, aspect=Fraction(2))
    for frame in watched_frames(clip):
        assert_shown(frame.image, (120, 160), "bottom")


def combed_clip(path: Path) -> Path:
    """An interlaced H.264 clip of 160x120 whose top field shows a white left half and whose bottom field, a field
    later, a white right half: a moving object combed across the picture, as stored."""
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 160, 120, "yuv420p"
        stream.options = {"flags": "+ildct+ilme", "qp": "0"}
        picture = np.zeros((120, 160, 3), dtype=np.uint8)
        picture[0::2, :80] = picture[1::2, 80:] = 255
        for _ in range(25):
            out.mux(stream.encode(av.VideoFrame.from_ndarray(picture, format="rgb24")))
        out.mux(stream.encode())
    return path


def test_an_interlaced_frame_is_not_combed(tmp_path: Path) -> None:
    """Decoded as stored, every other line of a moving face belonged to the other field (the Hamilton clip interlaced
    lost Miranda); the bottom field's lines are made to agree with the top field's around them."""
    clip = combed_clip(tmp_path / "interlaced.mp4")
    scanned = [frame.image for frame in sample_frames(str(clip), 2.0)]
    assert len(scanned) == 2
    for image in [*scanned, *(frame.image for frame in watched_frames(clip))]:
        assert_shown(image, (120, 160), "left")


def assert_shown(picture: np.ndarray, shape: tuple[int, ...], white_side: str) -> None:
    """`picture` is `shape` (height, width) with the white half on `white_side`."""
    image = picture.mean(axis=2)
    assert image.shape == shape
    height, width = image.shape
    halves = {
        "top": (image[: height // 2], image[height // 2 :]),
        "bottom": (image[height // 2 :], image[: height // 2]),
        "left": (image[:, : width // 2], image[:, width // 2 :]),
        "right": (image[:, width // 2 :], image[:, : width // 2]),
    }
    white, dark = halves[white_side]
    assert white.mean() > 200 and dark.mean() < 50


# The eight display matrices a file can carry (a, b, c, d of FFmpeg's 16.16 matrix), each with the numpy view of
# the stored picture a player shows: the four turns, and their mirror images.
ORIENTATIONS = [
    ((1, 0, 0, 1), lambda p: p),
    ((-1, 0, 0, 1), lambda p: p[:, ::-1]),  # mirrored left to right
    ((1, 0, 0, -1), lambda p: p[::-1]),  # upside down
    ((-1, 0, 0, -1), lambda p: p[::-1, ::-1]),  # half a turn
    ((0, 1, -1, 0), lambda p: np.rot90(p, -1)),  # a quarter turn clockwise
    ((0, -1, 1, 0), lambda p: np.rot90(p, 1)),  # a quarter turn counter-clockwise
    ((0, 1, 1, 0), lambda p: p.transpose(1, 0, 2)),  # a quarter turn, mirrored
    ((0, -1, -1, 0), lambda p: p[::-1, ::-1].transpose(1, 0, 2)),  # three quarters, mirrored
]


def with_matrix(clip: Path, target: Path, matrix: tuple[int, int, int, int]) -> Path:
    """`clip` (an MP4) with its video track header's display matrix replaced (translation left at 0: players
    place the picture by its size)."""
    data = bytearray(clip.read_bytes())
    header = data.find(b"tkhd")
    version = data[header + 4]
    at = header + 4 + 4 + (32 if version == 1 else 20) + 16  # version/flags, times and ids, reserved/layer/volume
    a, b, c, d = matrix
    data[at : at + 36] = struct.pack(">9i", a << 16, b << 16, 0, c << 16, d << 16, 0, 0, 0, 1 << 30)
    target.write_bytes(bytes(data))
    return target


@pytest.mark.parametrize(("matrix", "view"), ORIENTATIONS)
def test_every_display_matrix_turns_and_mirrors_the_picture_as_players_do(
    tmp_path: Path, matrix: tuple[int, int, int, int], view: Callable[[np.ndarray], np.ndarray]
) -> None:
    """A display matrix that mirrors (a front camera's, an editor's flip) was taken for a half turn, and the picture
    read upside down: the Hamilton clip mirrored found no face, exit 0."""
    picture = np.zeros((48, 64, 3), np.uint8)
    picture[:16, :16] = 255  # a white corner, top left as stored
    plain = tmp_path / "plain.mp4"
    with av.open(str(plain), "w") as out:
        stream = out.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv444p"
        stream.options = {"qp": "0"} | FAST_ENCODING["libx264"]
        for _ in range(3):
            out.mux(stream.encode(av.VideoFrame.from_ndarray(picture, format="rgb24")))
        out.mux(stream.encode())
    clip = with_matrix(plain, tmp_path / "oriented.mp4", matrix)
    (frame, *_) = sample_frames(str(clip), 2.0)
    expected = view(picture)
    assert frame.image.shape == expected.shape
    assert np.abs(frame.image.astype(int) - expected.astype(int)).mean() < 8


def test_a_probe_names_the_size_and_rate_of_the_track_scanned_not_a_thumbnail_before_it(tmp_path: Path) -> None:
    """OpenCV reads a file's first video track: a thumbnail's (or a cover's) size and rate were the source's
    `width`, `height` and `fps`, though the faces' boxes are in the recording's frames, and a 10240x10240 cover
    before a clip refused the whole file as over the pixel limit."""
    clip = rotated_clip(tmp_path / "thumbnail_first.mkv", 0, thumbnail_first=True)
    info = probe(str(clip))
    assert (info.width, info.height, info.fps) == (120, 160, 25.0)
    (frame, *_) = sample_frames(str(clip), 2.0)
    assert frame.image.shape[:2] == (info.height, info.width)
