"""Frames carrying side data PyAV does not know: FFmpeg 8 gives a JPEG's EXIF as side data of type 31, and PyAV
refused the frame's whole side-data list ('31 is not a valid Type'). An MJPEG capture from a camera that writes
EXIF was unreadable ('an internal error: please report it'), and a watched photo's room reader died, the room
left 'live' with nothing sampled and the watch's exit 0."""

from __future__ import annotations

import struct
import threading
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from impersonation_cli.io import live_reader
from impersonation_cli.io.live_reader import ReaderSettings, ReaderState, RoomReader, RoomStatus
from impersonation_cli.io.sources import shown

# An APP1 segment of EXIF: a little-endian TIFF header and a first directory of one entry (orientation 1).
EXIF = b"Exif\x00\x00" + b"II*\x00" + struct.pack("<I", 8) + struct.pack("<HHHIHHI", 1, 0x0112, 3, 1, 1, 0, 0)


def exif_mjpeg(path: Path, frames: int = 3) -> Path:
    """`frames` JPEGs of a grey ramp, each with an EXIF segment after its start marker, one after another."""
    picture = np.tile(np.arange(64, dtype=np.uint8)[None, :, None], (48, 1, 3))
    jpeg = cv2.imencode(".jpg", picture)[1].tobytes()
    with_exif = jpeg[:2] + b"\xff\xe1" + struct.pack(">H", len(EXIF) + 2) + EXIF + jpeg[2:]
    path.write_bytes(with_exif * frames)
    return path


def test_a_frame_whose_side_data_pyav_cannot_read_is_shown_as_stored(tmp_path: Path) -> None:
    with av.open(str(exif_mjpeg(tmp_path / "cam.mjpeg")), format="mjpeg") as container:
        frame = next(container.decode(video=0))
        image = shown(frame, None)
    assert image.shape == (48, 64, 3) and image[:, 0].mean() < image[:, -1].mean()  # upright, as stored


def test_a_rooms_reader_that_fails_says_why_and_ends_the_room(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    clip = tmp_path / "room.mp4"
    clip.write_bytes(b"x")

    def fault(*_args: object) -> object:
        raise ValueError("31 is not a valid Type")

    monkeypatch.setattr(live_reader, "open_live", fault)
    state = ReaderState(room="douyin:1", url=str(clip))
    reader = RoomReader(state, ReaderSettings(fps=1, open_timeout_s=1.0, read_timeout_s=1.0), threading.Event())
    reader.start()
    reader.join(10)
    assert not reader.is_alive() and state.status == RoomStatus.FAILED
    assert state.last_error == "internal error reading the room: ValueError: 31 is not a valid Type"
