"""Hardening of `scan` (issue 13): rooms for folders, single-frame videos, odd file names, bad sources in a
batch, huge images, Ctrl-C, atomic outputs and progress across files."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from impersonation_cli.config import load_config
from impersonation_cli.enrollment import reference_from_image
from impersonation_cli.faces import FaceEngine
from impersonation_cli.gallery import Gallery, GalleryIndex
from impersonation_cli.scan import ScanContext, scan_inputs

from .conftest import run_cli

ROOM = "douyin:official"


@pytest.fixture(scope="module")
def miranda_gallery(engine: FaceEngine, media: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Lin-Manuel Miranda, enrolled from his reference photo and authorized for ROOM."""
    path = tmp_path_factory.mktemp("miranda") / "gallery.sqlite"
    outcome = reference_from_image(engine, media / "face_recognition" / "lin-manuel-miranda.png")
    assert outcome.reference is not None, outcome.message
    with Gallery(path) as gallery:
        gallery.add_person("Lin-Manuel Miranda", [outcome.reference])
        gallery.authorize("Lin-Manuel Miranda", ROOM)
    return path


def test_room_applies_to_every_file_of_a_folder(
    cli_env: dict[str, str], media: Path, miranda_gallery: Path, tmp_path: Path
) -> None:
    """A folder scanned with --room: its files are in that room, so an authorized person is `authorized` (it
    used to be a false `unauthorized-likeness`, the room filed under the folder and never found)."""
    folder = tmp_path / "captures"
    folder.mkdir()
    (folder / "stage.mp4").symlink_to(media / "face_recognition" / "short_hamilton_clip.mp4")
    env = {**cli_env, "IMPERSONATION_GALLERY": str(miranda_gallery)}
    result = run_cli(["scan", str(folder), "--room", ROOM, "--fps", "1", "--json", str(tmp_path / "r.json")], env)
    assert result.returncode == 1, result.stderr
    document = json.loads((tmp_path / "r.json").read_text())
    assert [s["room"] for s in document["sources"]] == [ROOM]
    (miranda,) = document["appearances"]
    assert miranda["identity"] == "Lin-Manuel Miranda" and miranda["room"] == ROOM
    assert "authorized" in miranda["verdicts"] and "unauthorized-likeness" not in miranda["verdicts"]
    # The table names the file in the source column, and the room beside it.
    row = next(line for line in result.stdout.splitlines() if "Lin-Manuel" in line)
    assert "stage.mp4" in row and ROOM in row, result.stdout


@pytest.fixture(scope="module")
def obama_index(engine: FaceEngine, media: Path, tmp_path_factory: pytest.TempPathFactory) -> GalleryIndex:
    outcome = reference_from_image(engine, media / "face_recognition" / "obama2.jpg")
    assert outcome.reference is not None, outcome.message
    with Gallery(tmp_path_factory.mktemp("obama") / "gallery.sqlite") as gallery:
        gallery.add_person("Barack Obama", [outcome.reference])
        return gallery.index()


def _one_frame_mp4(photo: Path, target: Path) -> None:
    """A real H.264 mp4 holding one frame: the photo."""
    image = cv2.imread(str(photo))
    height, width = (d - d % 2 for d in image.shape[:2])
    with av.open(str(target), "w") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image[:height, :width]), format="bgr24")
        container.mux(stream.encode(frame))
        container.mux(stream.encode(None))


def test_single_frame_videos_yield_their_appearance(
    engine: FaceEngine, media: Path, obama_index: GalleryIndex, tmp_path: Path
) -> None:
    """min_appearance_frames (2) cannot apply to a source that has one frame: a one-frame mp4 and a JPEG
    renamed .mp4 used to detect the face and report nobody."""
    photo = media / "face_recognition" / "obama.jpg"
    encoded, renamed = tmp_path / "one_frame.mp4", tmp_path / "photo_renamed.mp4"
    _one_frame_mp4(photo, encoded)
    shutil.copyfile(photo, renamed)
    context = ScanContext(engine=engine, index=obama_index, config=load_config(), fps=2.0)
    result = scan_inputs([str(encoded), str(renamed)], context)
    assert [(s.kind, s.status, s.frames_sampled) for s in result.sources] == [("video", "ok", 1)] * 2
    assert sorted((Path(a.source).name, a.identity, a.frames) for a in result.appearances) == [
        ("one_frame.mp4", "Barack Obama", 1),
        ("photo_renamed.mp4", "Barack Obama", 1),
    ]
