"""`footage add` of a video cut short says so: the scan calls such a file truncated, and footage stored from it
covers only the part that decoded (a replay of the rest is not recognised)."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from impersonation_cli.errors import UnreadableInput, UserError
from impersonation_cli.gallery.footage import add_footage_videos, added_line
from impersonation_cli.gallery.store import Gallery, ReferenceFace

from .cli_in_process import run_cli

PERSON = "Eileen Collins"


def write_clip(path: Path, frames: int = 40, fps: int = 10) -> Path:
    """A small MP4 with its index first (faststart), so that a copy cut short still opens and decodes."""
    with av.open(str(path), "w", options={"movflags": "faststart"}) as out:
        stream = out.add_stream("mpeg4", rate=fps)
        stream.width = stream.height = 64
        stream.pix_fmt = "yuv420p"
        for number in range(frames):
            image = np.random.default_rng(number).integers(0, 255, (64, 64, 3), dtype=np.uint8)
            out.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="bgr24")))
        out.mux(stream.encode())
    return path


def cut_short(clip: Path, path: Path, keep: float) -> Path:
    data = clip.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    return path


@pytest.fixture()
def gallery(tmp_path: Path) -> Path:
    """A gallery holding PERSON (footage needs a registered person, not a real face)."""
    path = tmp_path / "g.sqlite"
    reference = ReferenceFace("00" * 32, "ref.jpg", "test-recognizer", np.ones(512, np.float32) / 512**0.5,
                              120.0, 0.9, 100.0, 1)  # fmt: skip
    with Gallery(path) as store:
        store.add_person(PERSON, [reference])
    return path


def added(gallery: Path, video: Path) -> list[str]:
    warnings: list[str] = []
    for _ in add_footage_videos(gallery, PERSON, [video], 4.0, warn=warnings.append):
        pass
    return warnings


def test_footage_cut_short_is_stored_with_a_warning(gallery: Path, tmp_path: Path) -> None:
    whole = write_clip(tmp_path / "whole.mp4", frames=80)  # 8 s: the half that decodes is long enough to score
    assert added(gallery, whole) == []
    warnings = added(gallery, cut_short(whole, tmp_path / "cut.mp4", 0.5))
    assert len(warnings) == 1 and "\n" not in warnings[0], warnings
    assert warnings[0].startswith(f"warning: {tmp_path / 'cut.mp4'}: decoding stopped early, at "), warnings
    with Gallery(gallery, read_only=True) as store:
        stored = {v.name: v.duration_s for v in store.footage(PERSON)}
    assert stored["cut.mp4"] < 0.5 * stored["whole.mp4"], stored


def test_footage_of_which_nothing_decodes_is_refused(gallery: Path, tmp_path: Path) -> None:
    header_only = cut_short(write_clip(tmp_path / "whole.mp4"), tmp_path / "header.mp4", 0.02)
    with pytest.raises(UserError, match=r"header\.mp4"):
        added(gallery, header_only)
    with Gallery(gallery, read_only=True) as store:
        assert store.footage(PERSON) == []


def test_a_still_image_is_not_footage(tmp_path: Path) -> None:
    # `footage add NAME photo.jpg` stored "1 frames over 0.0 s", which can never make a replay run.
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(b"\xff\xd8 not really a jpeg")
    with pytest.raises(UserError, match="a still image; known footage is video"):
        list(add_footage_videos(tmp_path / "g.sqlite", "Anyone", [photo], None, warn=lambda _line: None))


def test_removing_footage_that_is_not_there_is_an_error(gallery: Path) -> None:
    # `footage remove NAME` with nothing stored said "removed 0 video(s)" and exit 0, as if it had done something.
    removed = run_cli("footage", "remove", PERSON, "--gallery", str(gallery))
    assert removed.returncode == 2, removed
    assert removed.stderr.strip() == f"error: '{PERSON}' has no footage (see `impersonation-cli footage list`)"
    assert "Traceback" not in removed.stderr


def test_a_still_image_under_a_video_name_is_not_footage(gallery: Path, tmp_path: Path) -> None:
    # A photo renamed photo.mp4 (by its content, as a scan reads it) was stored as "1 frames over 0.0 s".
    photo = tmp_path / "photo.mp4"
    photo.write_bytes(b"\x89PNG\r\n\x1a\n not really a png")
    with pytest.raises(UserError, match=r"photo\.mp4: a still image; known footage is video"):
        added(gallery, photo)
    with Gallery(gallery, read_only=True) as store:
        assert store.footage(PERSON) == []


def test_a_video_of_one_frame_is_not_footage(gallery: Path, tmp_path: Path) -> None:
    # A picture the decoder reads as a one-frame video (a still GIF, a format the sniffing does not know).
    single = write_clip(tmp_path / "single.mp4", frames=1)
    with pytest.raises(UserError, match=r"single\.mp4: only one frame decodes"):
        added(gallery, single)
    with Gallery(gallery, read_only=True) as store:
        assert store.footage(PERSON) == []


def test_a_video_already_stored_is_described_as_stored(gallery: Path, tmp_path: Path) -> None:
    # A copy under another name said "copy.mp4 already stored", a name `footage remove` did not know, and at
    # another --fps it gave the frames and seconds of a fingerprinting it had not stored (and said nothing of it).
    whole = write_clip(tmp_path / "whole.mp4")
    copy = tmp_path / "copy.mp4"
    copy.write_bytes(whole.read_bytes())
    [(_, stored, new)] = add_footage_videos(gallery, PERSON, [whole], 4.0, warn=lambda _line: None)
    assert new and added_line(whole, stored, new) == f"{PERSON}: whole.mp4 added (16 frames at 4 fps over 3.8 s)"
    warnings: list[str] = []
    [(path, again, new)] = add_footage_videos(gallery, PERSON, [copy], 2.0, warn=warnings.append)
    assert (path, again, new) == (copy, stored, False)
    assert (
        added_line(copy, again, new)
        == f"{PERSON}: copy.mp4 already stored as whole.mp4 (16 frames at 4 fps over 3.8 s)"
    )
    assert warnings == [
        f"warning: {copy}: kept as stored, fingerprinted at 4 fps, not 2: "
        "`impersonation-cli footage remove` it first to fingerprint it again"
    ]
    with Gallery(gallery, read_only=True) as store:
        assert store.footage(PERSON) == [stored]


def add_each(gallery: Path, videos: list[Path], stored: list[str]) -> None:
    """`footage add PERSON VIDEOS --fps 4`, the name of each video stored appended to `stored` as it is."""
    for path, _video, _new in add_footage_videos(gallery, PERSON, videos, 4.0, warn=print):
        stored.append(path.name)


def test_a_video_that_cannot_be_read_does_not_cost_the_others(gallery: Path, tmp_path: Path) -> None:
    """`footage add NAME a.mp4 broken.mp4 c.mp4` stored a.mp4, stopped at broken.mp4 (exit 3, naming it) and never
    read c.mp4, without a word of it: one bad input never ends a scan's batch, and here it ended the command."""
    first, last = write_clip(tmp_path / "a.mp4"), write_clip(tmp_path / "c.mp4", frames=30)
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"not a video at all")
    stored: list[str] = []
    with pytest.raises(UnreadableInput) as unread:
        add_each(gallery, [first, broken, last], stored)
    assert stored == ["a.mp4", "c.mp4"]
    assert str(unread.value).startswith(f"{broken}: cannot open")
    assert str(unread.value).endswith("(the other 2 of 3 videos are stored)") and unread.value.exit_code == 3
    with Gallery(gallery, read_only=True) as store:
        assert sorted(v.name for v in store.footage(PERSON)) == ["a.mp4", "c.mp4"]


def test_a_video_read_and_refused_does_not_cost_the_others(gallery: Path, tmp_path: Path) -> None:
    """A video that decodes to one frame (or nothing but blank frames) is refused after it is read: that ended
    the batch as the unreadable one did, the videos after it never read, an unreadable one before it unnamed."""
    first, last = write_clip(tmp_path / "a.mp4"), write_clip(tmp_path / "c.mp4", frames=30)
    single = write_clip(tmp_path / "single.mp4", frames=1)
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"not a video at all")
    stored: list[str] = []
    with pytest.raises(UnreadableInput) as unread:
        add_each(gallery, [broken, single, last], stored)
    assert stored == ["c.mp4"] and str(unread.value).startswith(f"{broken}: cannot open")
    assert f"; {single}: only one frame decodes" in str(unread.value) and unread.value.exit_code == 3
    with pytest.raises(UserError) as refused:  # read and refused, nothing unreadable: a usage error, exit 2
        add_each(gallery, [single, first], stored)
    assert stored == ["c.mp4", "a.mp4"] and not isinstance(refused.value, UnreadableInput)
    assert str(refused.value).endswith("(the other 1 of 2 videos are stored)") and refused.value.exit_code == 2


def test_footage_too_short_to_score_is_stored_and_said(gallery: Path, tmp_path: Path) -> None:
    """A 0.3-s clip was 'added (3 frames at 8 fps over 0.3 s)' without a word, though no run of it can score."""
    said: list[str] = []
    short = write_clip(tmp_path / "short.mp4", frames=4)
    ((_, video, new),) = add_footage_videos(gallery, PERSON, [short], 8.0, warn=said.append)
    assert new and video.duration_s < 2.0
    assert said == [
        f"warning: {short}: {video.duration_s:.1f} s of footage is shorter than a replay run scores from "
        "([replay] run_s starts at 2 s): a replay of it alone scores 0"
    ]
    said.clear()
    list(add_footage_videos(gallery, PERSON, [write_clip(tmp_path / "long.mp4", frames=40)], 8.0, warn=said.append))
    assert said == []


def test_a_short_sha256_prefix_is_told_how_long_it_must_be(gallery: Path, tmp_path: Path) -> None:
    from impersonation_cli.gallery.footage import remove_footage_videos

    list(add_footage_videos(gallery, PERSON, [write_clip(tmp_path / "long.mp4", frames=40)], 8.0, warn=print))
    with pytest.raises(UserError, match=r"no footage named 'f89' \(a sha256 is given whole or by its first 16 char"):
        remove_footage_videos(gallery, PERSON, "f89")
