"""Source stage: turn user inputs (files, folders, images, stream URLs) into timed frames."""

from __future__ import annotations

import contextlib
import math
import os
import struct
import threading
import urllib.parse
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from fractions import Fraction
from itertools import chain
from pathlib import Path
from typing import Any

import av
import av.video.reformatter
import cv2
import numpy as np

from impersonation_cli.errors import UnreadableInput
from impersonation_cli.io.threads import threads_per_stage
from impersonation_cli.io.timestamps import FILE_OPTIONS, TimestampRebase
from impersonation_cli.io.urls import redact_url, redact_urls
from impersonation_cli.pipeline.faces import Frame

VIDEO_EXTENSIONS = frozenset(
    [
        ".mp4",
        ".avi",
        ".mkv",
        ".mov",
        ".flv",
        ".webm",
        ".ts",
        ".m4v",
        ".wmv",
        ".mpg",
        ".mpeg",
        ".3gp",
        ".gif",
        ".m2ts",
        ".mts",
    ]
)
# .jfif and .jpe are JPEG's other names (a Windows download's photo is often .jfif): read when named, they were
# left out of a folder's search without a word.
IMAGE_EXTENSIONS = frozenset([".jpg", ".jpeg", ".jfif", ".jpe", ".png", ".bmp", ".webp", ".tif", ".tiff"])
# How the picture formats read here begin (PNG, JPEG, BMP, TIFF; WebP is RIFF....WEBP).
IMAGE_SIGNATURES = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8", b"BM", b"II*\x00", b"MM\x00*")
STREAM_SCHEMES = ("rtmp://", "rtmps://", "rtsp://", "rtsps://", "http://", "https://", "srt://", "udp://")
# The largest picture or video frame decoded, in pixels (docs/reports.md): checked from the file's header
# before decoding, because a PNG of under a megabyte can decode to gigabytes (docs/benchmark.md).
MAX_PIXELS = 100_000_000


def is_stream_url(text: str) -> bool:
    return text.lower().startswith(STREAM_SCHEMES)


# The port a stream URL means when it names none: `rtmp://host/a` and `rtmp://host:1935/a` are one stream.
DEFAULT_PORTS = {"rtmp": 1935, "rtmps": 443, "rtsp": 554, "rtsps": 322, "http": 80, "https": 443}


def stream_identity(url: str) -> str:
    """The same text for spellings of a stream URL that name one stream: scheme and host lower-cased (neither
    tells streams apart) and a default port made explicit. The path and query are kept as given: a server may
    tell `live/A` from `live/a`."""
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port or DEFAULT_PORTS.get(parts.scheme.lower())
    except ValueError:  # a port that is not a number, a malformed IPv6 host: the reader refuses it; named as given
        return url
    host = parts.hostname or ""
    user, at, _ = parts.netloc.rpartition("@")
    netloc = f"{user}{at}{f'[{host}]' if ':' in host else host}{f':{port}' if port else ''}"
    return urllib.parse.urlunsplit(parts._replace(scheme=parts.scheme.lower(), netloc=netloc))


def is_image(path: Path) -> bool:
    """An image by its name, or by its content (a photo renamed .mp4 is still read as a photo)."""
    if path.suffix.lower() in IMAGE_EXTENSIONS:
        return True
    try:
        with path.open("rb") as file:
            head = file.read(16)
    except OSError:
        return False
    return head.startswith(IMAGE_SIGNATURES) or (head[:4] == b"RIFF" and head[8:12] == b"WEBP")


@dataclass(frozen=True)
class InputProblem:
    """An input that was named but cannot be scanned (kept so the batch reports it and goes on)."""

    source: str
    message: str


def expand_inputs(inputs: list[str], skip: Sequence[Path] = ()) -> tuple[list[str], list[InputProblem]]:
    """Files as given, folders searched recursively for known video and image extensions, URLs as is.

    A source reached twice is listed once: a file named twice, a folder given twice or beside one inside it, or
    a file named beside the folder holding it (listed where it is named, so it keeps its own room). Scanned
    twice, it was reported twice. A symlink is a source of its own (a link can be a second room's capture).
    A folder search leaves out the folders in `skip` found inside it (the scan's evidence folder: `scan .
    --evidence-dir evidence` run again scanned the first run's crops as new findings); a file named is scanned
    wherever it is.
    """
    kinds = {item: "stream" if is_stream_url(item) else _kind(Path(item)) for item in inputs}
    named = {source_key(item) for item, kind in kinds.items() if kind == "file"}
    skipped = [os.path.realpath(folder) for folder in skip]
    seen: set[str] = set()
    sources: list[str] = []
    problems: list[InputProblem] = []
    for item in inputs:
        if kinds[item] in ("stream", "file"):
            sources.extend(_unseen([item], seen))
        elif kinds[item] == "folder":
            # Not a folder that holds the one searched (`scan recordings --evidence-dir recordings` scans them).
            left_out = [folder for folder in skipped if not _inside(item, [folder])]
            listed, unlisted = _media_files(Path(item))
            found = [f for f in listed if not _inside(f, left_out)]
            problems.extend(unlisted)
            if not found and not unlisted:
                problems.append(
                    InputProblem(item, "folder has no file with a video or image extension (docs/reports.md)")
                )
            sources.extend(_unseen([f for f in found if source_key(f) not in named], seen))
        else:
            problems.append(InputProblem(item, _missing(item, Path(item))))
    return sources, problems


def _inside(path: str, folders: list[str]) -> bool:
    """Whether `path` is in one of `folders` (real paths) or below it."""
    real = os.path.realpath(path)
    return any(os.path.commonpath([real, folder]) == folder for folder in folders)


def input_files(inputs: list[str]) -> list[str]:
    """The files a scan of `inputs` reads, folders searched as `expand_inputs` searches them (URLs left out): an
    output must be none of them (`scan DIR --json DIR/clip.mp4` replaced a video found in DIR with the JSON)."""
    return [source for source in expand_inputs(inputs)[0] if not is_stream_url(source)]


def _kind(path: Path) -> str | None:
    """'file', 'folder', or None for anything else, a name the system cannot look up included: a name too long
    for it (ENAMETOOLONG) raised out of the batch, and the scan of the other inputs ended with exit 2."""
    try:
        return "file" if path.is_file() else "folder" if path.is_dir() else None
    except OSError:
        return None


def _missing(item: str, path: Path) -> str:
    """Why an input that is neither a file nor a folder cannot be scanned. '-' is stdin to most tools, which a
    scan does not read (it seeks in files): "-: no such file or folder" left the reader guessing."""
    try:
        os.stat(path)
        exists = True
    except (FileNotFoundError, NotADirectoryError):
        exists = False
    except OSError as exc:  # a link that loops was 'no such file or folder' (Path.exists says False of it)
        return f"cannot be looked up ({exc.strerror or exc})"
    if exists:
        return not_a_file(path) or "not a regular file"
    if item == "-":
        return "standard input is not read: save the recording to a file and name that"
    return "no such file or folder"


def _media_files(folder: Path) -> tuple[list[str], list[InputProblem]]:
    """The videos and images in `folder` and below it, by their known extensions, sorted, and what there cannot be
    scanned: what is named as a video or image but is no file (a link to nothing, a FIFO), said as when named, and
    the folders that could not be listed. Left out without a word, the scan said nothing of them and exited 0.
    Links to folders are not followed (one to a folder above never ends)."""
    extensions = VIDEO_EXTENSIONS | IMAGE_EXTENSIONS
    found: list[str] = []
    unlisted: list[InputProblem] = []

    def refused(error: OSError) -> None:
        unlisted.append(InputProblem(str(error.filename), f"cannot list this folder ({error.strerror or error})"))

    found += [str(path) for path in files_below(folder, refused) if path.suffix.lower() in extensions]
    unread = [InputProblem(path, _missing(path, Path(path))) for path in found if _kind(Path(path)) != "file"]
    unread_paths = {problem.source for problem in unread}
    return sorted(p for p in found if p not in unread_paths), sorted([*unlisted, *unread], key=lambda p: p.source)


def files_below(folder: Path, refused: Callable[[OSError], None]) -> Iterator[Path]:
    """Every entry below `folder` that is no folder (links to folders are neither followed nor given; a link to
    nothing is given), one folder at a time without recursion: os.walk and Path.rglob recurse, and a tree 980
    folders deep ended the scan, with every other input, in a RecursionError (exit 4). `refused` is told of each
    folder that cannot be listed. A link that loops, or whose target cannot be looked up, is given: it ended the
    listing of its folder, whose other files were left out without a word."""
    pending = [folder]
    while pending:
        current = pending.pop()
        try:
            with os.scandir(current) as entries:
                for entry in entries:
                    try:
                        below, given = entry.is_dir(follow_symlinks=False), not entry.is_dir()
                    except OSError:  # a link that loops, or whose target cannot be looked up: given, to be said so
                        below, given = False, True
                    if below:
                        pending.append(Path(entry.path))
                    elif given:
                        yield Path(entry.path)
        except OSError as error:
            refused(error)


def source_key(source: str) -> str:
    """A source as one name: a stream as the stream it names (`stream_identity`: RTMP://HOST/live/a is
    rtmp://host:1935/live/a) with its password and tokens masked (`redact_url`: two spellings that differ only
    in them name one stream, and outputs show them alike), a file as its absolute path (a rooms file makes its
    relative entries absolute alike, io.rooms). Symlinks are not followed: a link is the recording it was named
    as, so a link beside its target can be a second room's capture. What scan and watch tell sources apart by."""
    return redact_url(stream_identity(source)) if is_stream_url(source) else os.path.abspath(source)


def _unseen(sources: list[str], seen: set[str]) -> list[str]:
    """The `sources` not in `seen` (by `source_key`), which joins them to it."""
    kept = []
    for source in sources:
        key = source_key(source)
        if key not in seen:
            seen.add(key)
            kept.append(source)
    return kept


def not_a_file(path: Path) -> str | None:
    """Why `path` is not a file to read (None when it is one): a device, pipe or socket (/dev/zero, a FIFO) is
    refused for what it is, not reported missing; a FIFO would block a decoder forever."""
    if path.is_file():
        return None
    if path.is_dir():
        return "a folder, not a file"
    if path.exists():
        return "not a regular file (a device, pipe or socket)"
    return "no such file"


@dataclass(frozen=True)
class SourceInfo:
    """What a source says about itself before decoding."""

    source: str
    kind: str  # "video", "image" or "stream"
    width: int
    height: int
    fps: float | None
    duration_s: float | None  # a file's from its start to its video's end (`file_span`)
    frame_count: int | None


def check_file(source: str) -> None:
    path = Path(source)
    if problem := not_a_file(path):
        raise UnreadableInput(f"{source}: {problem}")
    if path.stat().st_size == 0:
        raise UnreadableInput(f"{source}: empty file (0 bytes)")


def open_capture(source: str, open_timeout_s: float = 10.0, read_timeout_s: float = 10.0) -> cv2.VideoCapture:
    if not is_stream_url(source):
        check_file(source)
    params = [
        cv2.CAP_PROP_OPEN_TIMEOUT_MSEC,
        int(open_timeout_s * 1000),
        cv2.CAP_PROP_READ_TIMEOUT_MSEC,
        int(read_timeout_s * 1000),
    ]
    capture = _opencv_capture(source, params)
    if not capture.isOpened():
        raise UnreadableInput(f"{source}: {why_unopened(source)}")
    return capture


# FFmpeg probes a live stream for 5 s by default before the first frame; one second is enough to find the video.
# RTSP: RTP inside the RTSP connection (TCP) first, UDP only as the fallback, since NAT and firewalls between a
# monitoring box and a camera or restreamer often drop UDP.
# A user's $OPENCV_FFMPEG_CAPTURE_OPTIONS ("key;value|key;value", the variable OpenCV reads) replaces these.
LIVE_OPTIONS = {"analyzeduration": "1000000", "rtsp_flags": "prefer_tcp"}
OPTIONS_ENV = "OPENCV_FFMPEG_CAPTURE_OPTIONS"


def live_options() -> dict[str, str]:
    text = os.environ.get(OPTIONS_ENV)
    if not text:
        return dict(LIVE_OPTIONS)
    return dict(item.split(";", 1) for item in text.split("|") if ";" in item)


def open_video(source: str, open_timeout_s: float = 10.0, read_timeout_s: float = 10.0) -> av.container.InputContainer:
    """A stream URL (with the live options and open and read timeouts) or a video file opened by PyAV, for
    watch's rooms and scan's streams; UnreadableInput, saying why, if it cannot be or holds no video."""
    try:
        if is_stream_url(source):
            container = av.open(source, options=live_options(), timeout=(open_timeout_s, read_timeout_s))
        else:
            check_file(source)
            with ffmpeg_name(source) as name:
                container = av.open(name, container_options=FILE_OPTIONS)
    except (av.FFmpegError, OSError, ValueError, UnicodeError) as exc:
        raise UnreadableInput(f"{source}: {why_unopened(source, exc)}") from exc
    if not container.streams.video:
        reason = no_video(container)
        container.close()
        raise UnreadableInput(f"{source}: {reason}")
    return container


def local_file(path: str) -> str:
    """A local file's name as FFmpeg (through PyAV or OpenCV) must be handed it: absolute. FFmpeg reads a name that
    begins like a protocol as one, so a file named 'tcp:HOST:PORT.mp4' (or 'concat:', 'subfile:', 'ftp:') in the
    folder scanned made the scan connect to HOST instead of reading the file."""
    return os.path.abspath(path)


@contextmanager
def ffmpeg_name(path: str) -> Iterator[str]:
    """The name to open a local file by in FFmpeg (through PyAV or OpenCV) while the block runs: `local_file`'s,
    or for a name that is not UTF-8 (OpenCV crashed the process on one, SIGSEGV) /dev/fd/N of a descriptor held
    until the block ends, as FFmpeg opens its own. Such a file was once handed to PyAV as a Python
    file object, which the container never closes: left open until garbage-collected, the more so where PyAV
    failed to open it (a ResourceWarning each, two for an unreadable one: `why_unopened` opens it again)."""
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        descriptor = os.open(path, os.O_RDONLY)
        try:
            yield f"/dev/fd/{descriptor}"
        finally:
            os.close(descriptor)
        return
    yield local_file(path)


def why_unopened(source: str, error: BaseException | None = None) -> str:
    """Why a source FFmpeg cannot open or finds no video in cannot be read, for scan and watch alike: a file that
    holds no video track (a sound recording), an MP4 cut off before its index was written (a phone or OBS
    recording that stopped mid-way), or anything else it could not open. A stream URL's `error` (FFmpeg's, as
    PyAV raised it) is said: a wrong password, a 404, a refused port and a stalled server all read 'not a video,
    damaged, or unreachable'. Its `strerror` only: the whole message quotes the URL, password and all."""
    said = getattr(error, "strerror", None)
    if is_stream_url(source) and isinstance(said, str) and said.strip():
        return f"cannot open ({' '.join(redact_urls(said).split())})"
    if not is_stream_url(source):
        if (refused := _unopenable(source)) is not None:
            return refused
        try:
            with ffmpeg_name(source) as name, av.open(name, metadata_errors="ignore") as container:
                if not container.streams.video:
                    return no_video(container)
        except (av.FFmpegError, UnicodeError, ValueError, OSError):
            if _unfinished_mp4(source):
                return "an unfinished MP4: its index (moov) is missing, as when a recording stops before it is closed"
    return "cannot open (not a video, damaged, or unreachable)"


def _unopenable(path: str) -> str | None:
    """Why the system will not open `path` for reading (None: it will): a video the user may not read was 'not
    a video, damaged, or unreachable', a healthy file blamed. Opened without waiting, as a FIFO would be."""
    try:
        os.close(os.open(path, os.O_RDONLY | os.O_NONBLOCK))
    except OSError as exc:
        return f"cannot read ({exc.strerror or exc})"
    return None


def no_video(container: av.container.InputContainer) -> str:
    """That `container` holds no video track, and what it holds instead."""
    kinds = sorted({stream.type for stream in container.streams})
    return "no video track" + (f" ({' and '.join(kinds)} only)" if kinds else " (no tracks at all)")


def _unfinished_mp4(source: str) -> bool:
    """Whether `source` is an MP4 or MOV (an ftyp box first) whose boxes hold media data (mdat) but no index."""
    boxes = set()
    try:
        with open(source, "rb") as file:
            while (header := file.read(8)) and len(header) == 8:
                size, kind = struct.unpack(">I4s", header)
                boxes.add(kind)
                if size == 1:  # a 64-bit size follows the type
                    size = struct.unpack(">Q", file.read(8))[0] - 8
                if size == 0 or size < 8:  # to the end of the file, or not a box
                    break
                file.seek(size - 8, os.SEEK_CUR)
    except (OSError, struct.error):
        return False
    return b"ftyp" in boxes and b"mdat" in boxes and b"moov" not in boxes


def _opencv_capture(source: str, params: list[int]) -> cv2.VideoCapture:
    if is_stream_url(source):
        return cv2.VideoCapture(source, cv2.CAP_FFMPEG, params)
    with ffmpeg_name(source) as name:
        return cv2.VideoCapture(name, cv2.CAP_FFMPEG, params)


def probe(source: str, max_pixels: int = MAX_PIXELS) -> SourceInfo:
    if not is_stream_url(source) and is_image(Path(source)):
        width, height = image_size(_read_bytes(source), source, max_pixels)
        return SourceInfo(source, "image", width, height, None, None, 1)
    capture = open_capture(source)
    try:
        info = _capture_info(source, capture)
    finally:
        capture.release()
    if info.kind != "stream":
        info = _of_main_track(info, max_pixels)
    check_pixels(source, info.width, info.height, max_pixels)
    return info if info.kind == "stream" else replace(info, duration_s=file_span(source) or info.duration_s)


def _of_main_track(info: SourceInfo, max_pixels: int) -> SourceInfo:
    """`info` with the size and rate of the track a scan reads (`main_video`) where OpenCV, which reads a file's
    first video track, read another: a cover picture's or a thumbnail's 1480x832 at 25 fps was the size the
    boxes were said to be in, and a 10240x10240 cover refused the whole file as over the pixel limit. Or where
    OpenCV read no size: a TS whose video starts 20 s after its audio, past OpenCV's probe, was 0x0 at no rate
    (and passed the pixel limit untested)."""
    container = open_pyav(info.source)
    if container is None:
        return info
    with container:
        stream = main_video(container)
        if stream is container.streams.video[0] and info.width and info.height:
            return info
        check_pixels(info.source, stream.codec_context.width, stream.codec_context.height, max_pixels)
        for packet in container.demux(stream):
            for decoded in packet.decode():  # its first frame as shown: turned, unsqueezed
                height, width = shown(decoded, pixel_aspect(stream.codec_context)).shape[:2]
                # The decoder's rate once a frame is out: a TS may declare none before (its guess, 90000).
                rate = stream.average_rate or stream.codec_context.framerate or stream.guessed_rate
                fps = float(rate) if rate and 0 < float(rate) < 1000 else info.fps
                return replace(info, width=width, height=height, fps=fps, frame_count=stream.frames or None)
    return info


def check_pixels(source: str, width: int, height: int, max_pixels: int = MAX_PIXELS) -> None:
    if width * height > max_pixels:
        raise UnreadableInput(
            f"{source}: {width}x{height} pixels is over the limit of {max_pixels / 1e6:g} megapixels; not decoded"
        )


def _capture_info(source: str, capture: cv2.VideoCapture) -> SourceInfo:
    reported_fps = capture.get(cv2.CAP_PROP_FPS)
    fps = reported_fps if math.isfinite(reported_fps) and 0 < reported_fps < 1000 else None
    reported_count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    count = reported_count if reported_count > 0 else None
    duration = count / fps if (count and fps) else None
    kind = "stream" if is_stream_url(source) else "video"
    stored = int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)), int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
    return SourceInfo(
        source,
        kind,
        *display_size(*stored, capture_pixel_aspect(capture)),
        fps,
        duration,
        count,
    )


def read_image(source: str | Path, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """A JPEG, PNG, BMP, WebP or TIFF picture as BGR, for scans and enrolment alike.

    The bytes are read here and decoded from memory (OpenCV's imread crashes on a file name that is not UTF-8),
    and only after the header's size passed `max_pixels`.
    """
    data = _read_bytes(str(source))
    image_size(data, str(source), max_pixels)
    try:
        image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)
    except cv2.error as exc:
        raise UnreadableInput(f"{source}: not a readable image ({_first_line(exc)})") from exc
    if image is None:
        raise UnreadableInput(f"{source}: not a readable image (damaged)")
    return image


def picture_frames(source: str) -> int:
    """How many frames a picture holds: an animated WebP's or PNG's, a multi-page TIFF's pages (1 where OpenCV
    cannot say: a name it cannot take, a format it counts nothing in)."""
    try:
        source.encode("utf-8")  # a name that is not UTF-8: OpenCV's functions of a path crash on it (SIGSEGV)
        return max(1, int(cv2.imcount(source)))
    except (cv2.error, UnicodeError, SystemError, ValueError):
        return 1


def _read_bytes(source: str) -> bytes:
    check_file(source)
    try:
        return Path(source).read_bytes()
    except OSError as exc:
        raise UnreadableInput(f"{source}: cannot read ({exc.strerror})") from exc


# What reading one source may raise besides UnreadableInput: the system's, the decoders' and memory errors. A
# batch reports such a source (unreadable, or truncated where frames were read) and goes on with the others.
SOURCE_ERRORS: tuple[type[Exception], ...] = (UnreadableInput, OSError, MemoryError, cv2.error, av.FFmpegError)


def failure_reason(source: str, exc: BaseException) -> str:
    """One line naming the source and what went wrong (an UnreadableInput names its source already)."""
    if isinstance(exc, UnreadableInput):
        return str(exc)
    if out_of_memory(exc):
        # The machine's, not the file's: an intact recording scanned under a memory cap was left 'truncated' with
        # OpenCV's words only, as if the file were damaged.
        return (
            f"{source}: this machine ran out of memory while scanning it ({type(exc).__name__}: {_first_line(exc)});"
            " the file may be whole: scan it again with more memory free"
        )
    return f"{source}: {type(exc).__name__}: {_first_line(exc)}"


def out_of_memory(exc: BaseException) -> bool:
    """Python's MemoryError, or OpenCV's (its code StsNoMem: 'Insufficient memory')."""
    return isinstance(exc, MemoryError) or (
        isinstance(exc, cv2.error) and getattr(exc, "code", None) == cv2.Error.StsNoMem
    )


def _first_line(exc: BaseException) -> str:
    # OpenCV's errors span lines, the last of which says what failed.
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[-1] if lines else type(exc).__name__


def image_size(data: bytes, source: str, max_pixels: int = MAX_PIXELS) -> tuple[int, int]:
    """(width, height) from a picture's header, refused when it is over `max_pixels` or not a known format."""
    size = _header_size(data)
    if size is None:
        raise UnreadableInput(f"{source}: not a readable image (not JPEG, PNG, BMP, WebP or TIFF, or damaged)")
    check_pixels(source, *size, max_pixels)
    return size


def _header_size(data: bytes) -> tuple[int, int] | None:
    try:
        if data.startswith(b"\x89PNG\r\n\x1a\n") and data[12:16] == b"IHDR":
            return struct.unpack(">II", data[16:24])
        if data.startswith(b"\xff\xd8"):
            return _jpeg_size(data)
        if data.startswith(b"BM"):
            return _bmp_size(data)
        if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
            return _webp_size(data)
        if data[:4] in (b"II*\x00", b"MM\x00*"):
            return _tiff_size(data)
    except (struct.error, IndexError):
        return None  # a header cut short
    return None


# JPEG start-of-frame markers (all but DHT C4, JPG C8 and DAC CC in C0..CF) carry the picture's size.
_JPEG_FRAME_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    position = 2
    while position + 4 <= len(data):
        if data[position] != 0xFF:
            return None
        marker = data[position + 1]
        if marker == 0xFF:  # fill byte
            position += 1
            continue
        if marker == 0x01 or 0xD0 <= marker <= 0xD8:  # markers without a length
            position += 2
            continue
        (length,) = struct.unpack(">H", data[position + 2 : position + 4])
        if marker in _JPEG_FRAME_MARKERS:
            height, width = struct.unpack(">HH", data[position + 5 : position + 9])
            return width, height
        position += 2 + length
    return None


def _bmp_size(data: bytes) -> tuple[int, int]:
    (header_size,) = struct.unpack("<I", data[14:18])
    if header_size == 12:  # OS/2 BITMAPCOREHEADER: 16-bit sizes
        return struct.unpack("<HH", data[18:22])
    width, height = struct.unpack("<ii", data[18:26])
    return abs(width), abs(height)  # a negative height means rows stored top-down


def _webp_size(data: bytes) -> tuple[int, int] | None:
    chunk = data[12:16]
    if chunk == b"VP8 ":
        width, height = struct.unpack("<HH", data[26:30])
        return width & 0x3FFF, height & 0x3FFF
    if chunk == b"VP8L":
        (bits,) = struct.unpack("<I", data[21:25])
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8X":
        return int.from_bytes(data[24:27], "little") + 1, int.from_bytes(data[27:30], "little") + 1
    return None


def _tiff_size(data: bytes) -> tuple[int, int] | None:
    order = "<" if data[:2] == b"II" else ">"
    (offset,) = struct.unpack(order + "I", data[4:8])
    (count,) = struct.unpack(order + "H", data[offset : offset + 2])
    tags: dict[int, int] = {}
    for entry in range(offset + 2, offset + 2 + 12 * count, 12):
        tag, kind = struct.unpack(order + "HH", data[entry : entry + 4])
        if tag in (256, 257):  # ImageWidth, ImageLength: SHORT (3) or LONG (4)
            value_format = order + ("H" if kind == 3 else "I")
            tags[tag] = struct.unpack(value_format, data[entry + 8 : entry + 8 + struct.calcsize(value_format)])[0]
    return (tags[256], tags[257]) if 256 in tags and 257 in tags else None


@dataclass
class DecodeStats:
    """How decoding went, for the report: frames read and sampled, and whether it ended early."""

    frames_decoded: int = 0
    frames_sampled: int = 0
    last_time_s: float = 0.0
    truncated: bool = False
    # Frames read from the container but never decoded: non-reference frames far from any sample time.
    frames_skipped: int = 0
    # "pyav" (decodes only what sampling needs) or "opencv" (the fallback; decodes every frame).
    decoder: str = "opencv"
    # A picture's (width, height) as decoded: turned upright by its EXIF orientation (a phone's portrait photo is
    # stored sideways), which the size in its header is not. The faces' boxes are in this frame.
    image_size: tuple[int, int] | None = None
    # A file whose data ends clearly short of the length its header declares (a partial download, a copy cut off):
    # (seconds of video there, seconds declared), both from the file's start (`origin_of`); None otherwise.
    shortfall: tuple[float, float] | None = None
    # Why only part of a source was read where no decoding stopped: an animated or multi-page picture's first frame.
    partly_read: str | None = None
    # Stretches (from, to: the samples on either side) whose damaged data cost samples: a file read to its end
    # with a hole in it (`DamageWatch`).
    damaged: list[tuple[float, float]] = field(default_factory=list)
    # How often the video's timestamps restarted (`TimestampRebase`): its times go on from before each restart.
    restarts: int = 0


@dataclass(frozen=True)
class TimeWindow:
    """A slice [start_s, end_s) of a file (end_s None: to its end), `start_s` on the sampling grid: the slice's
    samples are those the whole file's sampling takes in it (`sample_frames`)."""

    start_s: float
    end_s: float | None = None

    def ends_before(self, time_s: float) -> bool:
        """Whether a frame at `time_s` is the next slice's (within the sampler's tolerance)."""
        return self.end_s is not None and time_s + SAMPLE_TOLERANCE_S >= self.end_s

    def counts(self, time_s: float) -> bool:
        """Whether a frame decoded at `time_s` is this slice's to count: the frames from the key frame before the
        start are the slice before's (so the slices' counts add up to a whole-file pass's)."""
        return time_s + SAMPLE_TOLERANCE_S >= self.start_s and not self.ends_before(time_s)

    def shifted(self, by_s: float) -> TimeWindow:
        """The window `by_s` later (earlier where negative): its times counted from another origin."""
        return TimeWindow(self.start_s + by_s, None if self.end_s is None else self.end_s + by_s)


# A frame this close before a sample time is taken for it (timestamps rounded by the container).
SAMPLE_TOLERANCE_S = 1e-6
# A picture shown at least this long is a held one (a slideshow's, a GIF's, a screen recording's still), taken at
# every sample time it is shown (`SampleClock.takes`); a video's frames last a frame time, below it from 2 fps up.
HELD_S = 0.5


def sample_frames(
    source: str, fps: float, stats: DecodeStats | None = None, window: TimeWindow | None = None
) -> Iterator[Frame]:
    """Frames at `fps` by presentation time.

    Files and streams go through PyAV, which skips decoding non-reference frames that no sample needs (a stream
    as watch opens it, `open_video`); files PyAV cannot open go through OpenCV, where every other frame is
    grabbed but never converted. OpenCV scaled every frame of a stream to its first frame's size: a streamer
    turning from landscape to portrait was squeezed sideways (FF++ 004.mp4 so switched at 6 s: 20 faces found,
    29 through PyAV), and it neither deinterlaces nor says a frame is interlaced.
    With a `window`, a file is decoded from the key frame before its start (PyAV) and only the samples inside
    it are taken: the same frames as a whole-file pass takes there (both keep to the grid: `SampleClock.took`).
    """
    stats = stats if stats is not None else DecodeStats()
    if not is_stream_url(source) and is_image(Path(source)):
        image = read_image(source)  # first: a picture that does not decode was counted as decoded ("truncated")
        stats.frames_decoded = stats.frames_sampled = 1
        stats.image_size = (image.shape[1], image.shape[0])
        if (count := picture_frames(source)) > 1:  # the later frames went unread, and the source said 'ok'
            stats.truncated = True
            stats.partly_read = (
                f"{source}: an animated or multi-page picture of {count} frames, of which the first was read "
                "(to scan them all, make it a video: ffmpeg -i PICTURE VIDEO.mp4)"
            )
        yield Frame(source=source, index=0, time_s=0.0, image=image)
        return
    if is_stream_url(source):
        container: av.container.InputContainer | None = open_video(source)
    else:
        check_file(source)
        container = open_pyav(source)
    if container is not None:
        stats.decoder = "pyav"
        with container:
            lead_s = 0.0 if is_stream_url(source) else video_lead_of(container, main_video(container))
            yield from _timed_from_file_start(
                _sample_pyav(source, container, fps, stats, window and window.shifted(-lead_s)), stats, lead_s
            )
        return
    capture = open_capture(source)
    try:
        yield from _sample_capture(source, capture, fps, stats, window)
    finally:
        capture.release()


def _timed_from_file_start(frames: Iterator[Frame], stats: DecodeStats, lead_s: float) -> Iterator[Frame]:
    """`frames`, sampled on the grid of the picture's own first frame (as OpenCV's and a whole-file pass's
    samples are), timed from the file's start (`origin_of`: where a player and `ffmpeg -ss` count from), and
    `stats`' times with them, however the sampling ends. The picture's first frame `lead_s` after the file's
    start: the shared Hamilton clip's 0.85 s, every time of which was that much early."""
    if not lead_s:
        yield from frames
        return
    try:
        for frame in frames:
            yield replace(frame, time_s=frame.time_s + lead_s)
    finally:
        stats.last_time_s += lead_s
        stats.damaged = [(start + lead_s, end + lead_s) for start, end in stats.damaged]
        if stats.shortfall is not None:
            stats.shortfall = (stats.shortfall[0] + lead_s, stats.shortfall[1] + lead_s)


def _sample_capture(
    source: str, capture: cv2.VideoCapture, fps: float, stats: DecodeStats, window: TimeWindow | None = None
) -> Iterator[Frame]:
    info = _capture_info(source, capture)
    container_fps = info.fps or 25.0
    clock = SampleClock(1.0 / fps if fps > 0 else 0.0, stats, window)
    previous_time = -1.0
    index = -1
    while capture.grab():
        index += 1
        time_s = previous_time = _frame_time(capture, index, container_fps, previous_time)
        if clock.past_window(time_s):
            break
        if not clock.due(time_s):
            continue
        ok, image = capture.retrieve()
        if not ok or image is None:
            continue
        clock.took(time_s)
        yield Frame(source=source, index=index, time_s=time_s, image=unsqueezed(image, capture_pixel_aspect(capture)))
    _check_truncated(source, stats, stats.frames_decoded, None if window else info.frame_count)


def _frame_time(capture: cv2.VideoCapture, index: int, fps: float, previous: float) -> float:
    return _sane_time(capture.get(cv2.CAP_PROP_POS_MSEC) / 1000.0, index, fps, previous)


def _sane_time(container_s: float | None, index: int, fps: float, previous: float) -> float:
    # Presentation time from the container when it is sane; containers with broken timing (a wrong
    # frame rate, missing pts) fall back to counting frames.
    if container_s is not None and math.isfinite(container_s) and container_s > 0 and container_s > previous:
        return container_s
    return max(index / fps, previous + 1e-3)


class SampleClock:
    """When to take a frame, for either decoder: the first frame at or after each sample time (and, through
    PyAV, which gives frames their durations, a held picture at each sample time it is shown: `takes`), counting
    the frames decoded (inside `window`, when a slice is decoded) into `stats`."""

    def __init__(self, interval: float, stats: DecodeStats, window: TimeWindow | None = None) -> None:
        self.interval, self.stats, self.window = interval, stats, window
        self.next_time = window.start_s if window else 0.0

    def past_window(self, time_s: float) -> bool:
        """Record the frame at `time_s` as decoded; True once it lies past the window (the slice is done)."""
        self.stats.last_time_s = time_s
        if self.window and self.window.ends_before(time_s):
            return True
        if self.window is None or self.window.counts(time_s):
            self.stats.frames_decoded += 1
        return False

    def due(self, time_s: float) -> bool:
        return time_s + SAMPLE_TOLERANCE_S >= self.next_time

    def takes(self, time_s: float, shown_until_s: float) -> list[float]:
        """The sample times a frame shown from `time_s` to `shown_until_s` is taken at: its own time when it is
        due, then, when it stays on screen longer than an interval (a GIF's, a slideshow's or a variable-rate
        recording's held picture), every later sample time it is still shown at. Taken once, a face held 3 s was
        one sample, under an appearance's two: nobody found. An MP4 gives a frame the time until the next, so a
        capture's drop-out there is the picture a player freezes on, sampled as shown; where frames carry their
        own duration (MPEG-TS, Matroska), a drop-out is a gap, skipped over."""
        taken = [time_s] if self.due(time_s) else []
        if taken:
            self.took(time_s)
        # Held: on screen past the next sample time and for HELD_S at least. A video's frames are not held when
        # sampled faster than its rate (--fps 50 of a 25-fps clip sampled each frame twice, doubling the work).
        held = self.interval > 0 and shown_until_s - time_s > max(self.interval, HELD_S)
        while held and self.next_time + SAMPLE_TOLERANCE_S < shown_until_s and self.next_time > time_s:
            if self.window is not None and not self.window.counts(self.next_time):
                break
            taken.append(self.next_time)
            self.took(self.next_time)
        return taken

    def took(self, time_s: float) -> None:
        self.stats.frames_sampled += 1
        if self.interval > 0:
            # The first grid point after the frame just taken. Frames that merely fall between grid points keep
            # to the grid (a 10 fps clip asked at 8 fps, whose frames come up to 0.075 s after their sample
            # time, gives 8 in 10 frames), and after a gap in the video (no frame for an interval or more) the
            # sampling comes back to the grid instead of catching up on every point missed. Off the grid, as it
            # once went after a gap, every later sample of a whole-file pass moved with it, while a slice that
            # begins after the gap samples on the grid: a Ray scan of such a file (a capture's drop-out, a
            # `-c copy` join) took other frames than a local one.
            self.next_time = (math.floor((time_s + SAMPLE_TOLERANCE_S) / self.interval) + 1) * self.interval


def _check_truncated(source: str, stats: DecodeStats, frames_read: int, expected: int | None) -> None:
    if stats.frames_decoded == 0:
        raise UnreadableInput(f"{source}: no decodable video frames (damaged or not a video)")
    if expected and frames_read < 0.9 * expected and not is_stream_url(source):
        stats.truncated = True


# -- PyAV: decode only the frames sampling needs --------------------------------------------------


def open_pyav(source: str) -> av.container.InputContainer | None:
    """The file opened by PyAV, or None when PyAV cannot open it or finds no video (OpenCV then tries); its
    timestamps as the file holds them (`io.timestamps.FILE_OPTIONS`), for reading its frames in order."""
    return _opened(source, FILE_OPTIONS)


def _opened(source: str, options: dict[str, str]) -> av.container.InputContainer | None:
    try:
        container = av.open(local_file(source), metadata_errors="ignore", container_options=options)
    except (av.FFmpegError, UnicodeDecodeError, ValueError):
        return None
    if not container.streams.video:
        container.close()
        return None
    return container


def main_video(container: av.container.InputContainer) -> av.video.stream.VideoStream:
    """The container's main video stream, as FFmpeg picks it (av_find_best_stream): a cover picture or thumbnail
    track placed first (an MKV's one-frame MJPEG before its H.264) is not taken for the recording."""
    best = container.streams.best("video")
    assert isinstance(best, av.video.stream.VideoStream)  # the container holds video: open_video refuses one without
    return best


@dataclass(frozen=True)
class SampleGrid:
    """The sample times k * interval, and which frames near them must be decoded in full."""

    interval: float
    frame_s: float

    def needs(self, time_s: float | None, next_s: float | None = None) -> bool:
        """Whether the frame shown at `time_s` (until `next_s`, its successor's time, where known) may be the
        first at or after a sample time, or a held picture on screen at one (± half a frame for timestamp
        jitter). Unknown times are always decoded."""
        if time_s is None or self.interval <= 0:
            return True
        latest = max(time_s + 0.5 * self.frame_s, -math.inf if next_s is None else next_s - 0.5 * self.frame_s)
        grid_point = math.floor(latest / self.interval) * self.interval
        return grid_point > time_s - 1.5 * self.frame_s


@dataclass
class DamageWatch:
    """Where damaged data cost samples. A packet that cannot be decoded costs its frame, and the frames built on it
    come out broken or not at all until the next key frame: 1 MB zeroed in a 64-s recording lost 11 s of samples
    (the decoder's threads report no error), and the file was reported read whole ('ok', no error), the missing
    stretch as if it showed nobody. A stretch is two samples further apart than the sampling allows with, between
    them, packets read over a second or a sample interval (whichever is longer) and no frame decoded among them: a
    held picture has no packets there, and a healthy stream decodes its key and reference frames always (the
    non-reference frames left undecoded run a fraction of a second). Before the first sample nothing is counted:
    a cut made without re-encoding starts on frames whose references are gone."""

    interval: float
    last_sample_s: float | None = None
    # The times of the packets read and of the frames decoded that are not yet behind a sample: the decoder's
    # frames come out some packets late (a damaged stretch's last sample came out only with the first frame after
    # it), so they are kept by time, not by order.
    packets_s: list[float] = field(default_factory=list)
    frames_s: list[float] = field(default_factory=list)

    def packet(self, packet_s: float | None) -> None:
        if packet_s is not None:
            self.packets_s.append(packet_s)

    def decoded(self, time_s: float) -> None:
        self.frames_s.append(time_s)

    def sampled(self, time_s: float, stats: DecodeStats) -> None:
        last = self.last_sample_s
        if last is not None and time_s - last > 1.5 * self.interval and self._undecoded_run(last, time_s):
            stats.damaged.append((last, time_s))
        self.last_sample_s = time_s
        self.packets_s = [p for p in self.packets_s if p > time_s]
        self.frames_s = [f for f in self.frames_s if f > time_s]

    def ended(self, stats: DecodeStats) -> None:
        """The file's end: damage running to it has no sample after it to close its stretch."""
        last, end_s = self.last_sample_s, max(self.packets_s, default=None)
        if last is not None and end_s is not None and self._undecoded_run(last, end_s + self.interval):
            stats.damaged.append((last, end_s))

    def _undecoded_run(self, start_s: float, end_s: float) -> bool:
        """Whether packets between the two times run long enough with no frame decoded among them."""
        longest = max(1.0, self.interval)
        events = sorted([(t, 0) for t in self.frames_s] + [(t, 1) for t in self.packets_s if start_s < t < end_s])
        run_from: float | None = None
        for time_s, is_packet in events:
            run_from = (time_s if run_from is None else run_from) if is_packet else None
            if run_from is not None and time_s - run_from >= longest:
                return True
        return False


# H.264 and HEVC reorder at most 16 frames: a frame's successor in presentation order is among the 16 packets
# on either side of it in decode order.
REORDER_DEPTH = 16


def with_successors(
    packets: Iterable[tuple[av.Packet, float | None]], depth: int = REORDER_DEPTH
) -> Iterator[tuple[av.Packet, float | None, float | None]]:
    """Each (packet, time) with the time of its successor on screen, the next frame in presentation order (None:
    no time, or none within `depth` packets either side). In decode order a B-frame comes after frames shown later
    (0.0, 0.16, 0.08, ...), and a packet's `duration` is the gap to the next packet in that order: of a picture
    held 6 s, another frame carried the 6 s (and was repeated past the file's end), and the held B-frame itself,
    dropped undecoded as a frame no sample needed, left 6 s unsampled and read as damage."""
    pending: deque[tuple[av.Packet, float | None]] = deque()
    released: deque[float] = deque(maxlen=depth)

    def release() -> tuple[av.Packet, float | None, float | None]:
        packet, time_s = pending.popleft()
        if time_s is None:
            return packet, None, None
        around = chain(released, (t for _, t in pending if t is not None))
        successor = min((t for t in around if t > time_s), default=None)
        released.append(time_s)
        return packet, time_s, successor

    for item in packets:
        pending.append(item)
        if len(pending) > depth:
            yield release()
    while pending:
        yield release()


def shown_for_s(decoded: av.VideoFrame) -> float:
    """How long a decoded frame stays on screen, in seconds, as its container says (0 where it does not)."""
    duration = decoded.duration
    return float(duration * decoded.time_base) if duration and duration > 0 and decoded.time_base else 0.0


def _sample_pyav(
    source: str,
    container: av.container.InputContainer,
    fps: float,
    stats: DecodeStats,
    window: TimeWindow | None = None,
) -> Iterator[Frame]:
    stream = main_video(container)
    # The decoder is one stage of the scan (io/threads.py): its threads are its share of the cores, not all of
    # them. On two cores that is one thread: frame threads cost more CPU in all, which the inference stages
    # need (docs/benchmark.md, "One thread per stage").
    stream.thread_type = "AUTO"
    stream.thread_count = threads_per_stage()
    codec = pixel_limited(stream)
    rate = stream.average_rate or stream.guessed_rate
    container_fps = float(rate) if rate and 0 < float(rate) < 1000 else 25.0
    start_s = start_of(stream)
    grid = SampleGrid(1.0 / fps if fps > 0 else 0.0, 1.0 / container_fps)
    clock = SampleClock(grid.interval, stats, window)
    damage = DamageWatch(grid.interval)
    timestamp = BestEffortTimestamp()
    previous_time, packets = -1.0, 0
    data_end_s: float | None = None  # where the packets read end, in the stream's timestamps' seconds
    if window and window.start_s > 0 and stream.time_base:  # no time base, no times to seek by
        _seek_to_window(source, container, stream, window.start_s + start_s)
    rebase = TimestampRebase.of(container, stream, close_gaps=is_stream_url(source))
    demuxed = rebase.packets(_demux_until_damaged(source, container, stream, stats))
    successors: dict[float, float] = {}  # of the packets whose frames are not yet out of the decoder, by time
    for packet, packet_s, next_s in with_successors((p, seconds(p.pts, p.time_base, start_s)) for p in demuxed):
        packets += packet.size > 0
        if (end_s := packet_end_s(packet)) is not None:
            data_end_s = end_s if data_end_s is None else max(data_end_s, end_s)
        # Non-reference frames no other frame depends on are dropped undecoded unless a sample needs them;
        # key and reference frames are always decoded (later frames are built from them).
        codec.skip_frame = "DEFAULT" if grid.needs(packet_s, next_s) else "NONREF"
        damage.packet(packet_s)
        stats.restarts = rebase.restarts  # as it goes: a scan interrupted after a restart is timed as one
        if packet_s is not None and next_s is not None:
            successors[packet_s] = next_s
        for decoded in decode_packet(codec, packet, source):
            frame_time = seconds(timestamp(decoded.pts, decoded.dts), decoded.time_base, start_s)
            time_s = previous_time = _sane_time(frame_time, stats.frames_decoded, container_fps, previous_time)
            damage.decoded(time_s)
            if clock.past_window(time_s):
                break
            times = clock.takes(time_s, _shown_until(decoded, time_s, frame_time, successors))
            if not times:
                continue
            damage.sampled(times[0], stats)
            image = shown(decoded, pixel_aspect(codec))
            for repeat, sample_s in enumerate(times):  # a held picture's later samples get pictures of their own
                picture = image.copy() if repeat else image
                yield Frame(source=source, index=round(sample_s * container_fps), time_s=sample_s, image=picture)
        if window and window.ends_before(stats.last_time_s):
            break  # the frames from here on are the next slice's
    damage.ended(stats)
    stats.frames_skipped = max(0, packets - stats.frames_decoded)
    # Read to the file's end (the whole file, or its last slice) without a fault: is all it declares there?
    if not stats.truncated and stats.frames_decoded and not is_stream_url(source) and not (window and window.end_s):
        stats.shortfall = shortfall(container, stream, data_end_s, 1.0 / container_fps)
        stats.truncated = stats.shortfall is not None
    # A slice cannot tell a short file from the counts: how its frames compare with the container's whole count.
    # Nor is a count needed where the length was judged: an AVI's index counts the empty entries of frames a
    # capture skipped (30 of 180), and a whole file was 'truncated: decoding stopped at 6.0 s of 6.0 s'.
    judged = declares_length(container) and not is_stream_url(source)
    _check_truncated(source, stats, packets, None if window or judged else stream.frames or None)


def _shown_until(
    decoded: av.VideoFrame, time_s: float, frame_time: float | None, successors: dict[float, float]
) -> float:
    """Until when a decoded frame is on screen: its successor's time (`with_successors`), else, for the last frame
    or one whose time was not its own (`_sane_time`), the duration its container gives it. Frames leave the
    decoder in presentation order: the successors of frames before it, skipped undecoded, are dropped here."""
    for earlier in [t for t in successors if frame_time is None or t < frame_time]:
        del successors[earlier]
    next_s = successors.pop(frame_time, None) if frame_time == time_s else None
    return next_s if next_s is not None else time_s + shown_for_s(decoded)


def pixel_aspect(codec: av.video.codeccontext.VideoCodecContext) -> Fraction | None:
    """The shape of the pixels `codec` decodes now, width to height: the decoder's, which follows the video where
    it changes, the container's where only that sets one (`as_watched`)."""
    return as_watched(codec.name, codec.sample_aspect_ratio)


def as_watched(codec: str, aspect: Fraction | None) -> Fraction | None:
    """The pixel aspect a `codec` video is watched with: None for a GIF, whose aspect byte browsers (where GIFs
    are watched) ignore: a shared Deep-Live-Cam GIF says 63:64 and is shown 600x240 as stored."""
    return None if codec == "gif" else aspect


def shown(decoded: av.VideoFrame, aspect: Fraction | None) -> np.ndarray:
    """The frame as players show it: `deinterlaced`, stretched to its display aspect (`unsqueezed`, `aspect` from
    `pixel_aspect`), then turned upright. A phone stores a portrait recording sideways with a display rotation that
    OpenCV applies and PyAV does not: read as stored, faces lay on their side (fewer found, crops sideways)."""
    return upright(unsqueezed(deinterlaced(decoded), aspect), decoded.rotation, display_matrix(decoded))


def display_matrix(decoded: av.VideoFrame) -> tuple[int, ...] | None:
    """The frame's display matrix (FFmpeg's nine 32-bit values: a b u, c d v, x y w), None where it has none or
    its side data cannot be read: PyAV refuses the whole list where one kind is new to it (FFmpeg 8 gives a JPEG's
    EXIF as type 31, 'not a valid Type'), which made an MJPEG capture unreadable and killed a watched photo's room.
    The frame's `rotation` is read apart from it."""
    try:
        side_data: Any = decoded.side_data
    except ValueError:
        return None
    for item in side_data:
        # PyAV 18.1.0 iterates the SideData themselves, 18.1.1 their types, as a mapping's keys: read as the
        # latter, every frame of every video was 'AttributeError' (a fresh install found no face anywhere).
        data = item if hasattr(item, "type") else side_data[item]
        if data.type.name == "DISPLAYMATRIX" and len(bytes(data)) == 36:
            return struct.unpack("<9i", bytes(data))
    return None


def upright(image: np.ndarray, rotation: float, matrix: tuple[int, ...] | None) -> np.ndarray:
    """`image` turned and flipped as its display matrix says, as FFmpeg's own autorotation does (its rotation,
    `rotation`: counter-clockwise degrees, and where the matrix mirrors, a flip). A quarter turn's mirror image
    is a transpose; a mirror without a turn reads as 180 degrees with one axis flipped, or 0 with the other. A
    mirrored recording was read upside down (faces not found), and a turned and mirrored one left mirrored."""
    theta = round(-rotation / 90) * 90 % 360  # clockwise, to the nearest quarter turn
    turned = -1 if theta == 180 else 1  # without a matrix, a half turn is both axes flipped
    a, c, d = (matrix[0], matrix[3], matrix[4]) if matrix is not None else (turned, 0, turned)
    if theta == 90:
        return cv2.transpose(image) if c > 0 else cv2.rotate(image, cv2.ROTATE_90_CLOCKWISE)
    if theta == 270:
        return cv2.flip(cv2.transpose(image), -1) if c < 0 else cv2.rotate(image, cv2.ROTATE_90_COUNTERCLOCKWISE)
    if theta == 180:
        image = cv2.flip(image, 1) if a < 0 else image
        return cv2.flip(image, 0) if d < 0 else image
    return cv2.flip(image, 0) if d < 0 else image


# Each thread's converter to BGR, kept from frame to frame. `VideoFrame.to_ndarray` sets up a new one (an FFmpeg
# scaler, and its threads) for every frame it is called on: 0.5 ms a 160x120 frame on an idle machine where the
# conversion itself takes 0.05 ms, 2.5 ms on a busy one. A scaler is not shared between threads.
_converters = threading.local()


def bgr_pixels(decoded: av.VideoFrame) -> np.ndarray:
    """`decoded` as a BGR array (`to_ndarray(format="bgr24")`), through this thread's converter."""
    converter = getattr(_converters, "bgr", None)
    if converter is None:
        converter = _converters.bgr = av.video.reformatter.VideoReformatter()
    return converter.reformat(decoded, format="bgr24").to_ndarray()


def deinterlaced(decoded: av.VideoFrame) -> np.ndarray:
    """The frame as BGR, an interlaced one without combing: each line of its bottom field made the median of itself
    and the top field's lines around it. The two fields are a field apart in time, so a moving face is combed where
    they interleave; where they agree (a still background, or progressive pictures coded interlaced) the median is
    the line itself. Frame by frame, as sampling decodes (a temporal deinterlacer needs the frames around). The
    Hamilton clip interlaced (fields 1/30 s apart): Miranda was not found, now 8 frames (best similarity 0.613;
    the progressive file 11, 0.606); coded interlaced without combing, 12 frames and 0.623 against 11 and 0.624."""
    image = bgr_pixels(decoded)
    if not decoded.interlaced_frame:
        return image
    top, bottom = image[0::2], image[1::2]
    above, below = top[: len(bottom)], np.concatenate([top[1:], top[-1:]])[: len(bottom)]
    image[1::2] = np.maximum(np.minimum(above, bottom), np.minimum(np.maximum(above, bottom), below))
    return image


# The most a frame is stretched to its display aspect. Formats squeeze pixels up to 2:1 (an anamorphic lens;
# DV 64:45, HDV 4:3); a ratio past this is a broken header, and the frame is taken as stored.
MAX_STRETCH = 4


def display_size(width: int, height: int, aspect: Fraction | None) -> tuple[int, int]:
    """The size players show a `width` x `height` frame of pixels `aspect` wide to high in: the squeezed side
    stretched, so no pixel is lost (DV's 720x576 at 64:45 is 1024x576, NTSC's 720x480 at 8:9 is 720x540)."""
    if not aspect or aspect == 1 or not 1 / MAX_STRETCH <= aspect <= MAX_STRETCH:
        return width, height
    return (round(width * aspect), height) if aspect > 1 else (width, round(height / aspect))


def unsqueezed(image: np.ndarray, aspect: Fraction | None) -> np.ndarray:
    """`image` stretched to its display aspect (`display_size`). A squeezed encode (anamorphic DV, HDV, a
    streamer's 2:1) decodes to its stored pixels, faces narrowed: of the Hamilton clip stored at DV's 64:45, 32
    faces were found where the square encode has 41 and Obama not at all; at 2:1, 23 faces and neither person."""
    height, width = image.shape[:2]
    size = display_size(width, height, aspect)
    return image if size == (width, height) else cv2.resize(image, size, interpolation=cv2.INTER_CUBIC)


def capture_pixel_aspect(capture: cv2.VideoCapture) -> Fraction | None:
    """The shape of the pixels OpenCV hands out, width to height as they lie: OpenCV turns frames upright (a
    quarter turn swaps the sides the ratio is of) but leaves them squeezed."""
    numerator, denominator = int(capture.get(cv2.CAP_PROP_SAR_NUM)), int(capture.get(cv2.CAP_PROP_SAR_DEN))
    if numerator <= 0 or denominator <= 0:
        return None
    sideways = capture.get(cv2.CAP_PROP_ORIENTATION_AUTO) and round(capture.get(cv2.CAP_PROP_ORIENTATION_META)) % 180
    codec = int(capture.get(cv2.CAP_PROP_FOURCC)).to_bytes(4, "little").decode("latin-1").strip()
    return as_watched(codec, Fraction(denominator, numerator) if sideways else Fraction(numerator, denominator))


@dataclass
class BestEffortTimestamp:
    """A decoded frame's presentation time as FFmpeg guesses it (its best_effort_timestamp): the frame's pts,
    unless pts has gone backwards more often than dts, then its dts. An AVI with B-frames (DivX/Xvid captures) has
    no presentation times, and the decoder hands its frames, in presentation order, the decode-order times: read
    as they are, one frame in three fell a frame back and was dropped by a sampler at the clip's rate or above."""

    faulty_pts: int = 0
    faulty_dts: int = 0
    last_pts: int | None = None
    last_dts: int | None = None

    def __call__(self, pts: int | None, dts: int | None) -> int | None:
        if dts is not None:
            self.faulty_dts += self.last_dts is not None and dts <= self.last_dts
            self.last_dts = dts
        elif pts is not None:
            self.last_dts = pts
        if pts is not None:
            self.faulty_pts += self.last_pts is not None and pts <= self.last_pts
            self.last_pts = pts
        elif dts is not None:
            self.last_pts = dts
        return pts if pts is not None and (dts is None or self.faulty_pts <= self.faulty_dts) else dts


def seconds(pts: int | None, time_base: Fraction | None, origin_s: float = 0.0) -> float | None:
    return float(pts * time_base) - origin_s if pts is not None and time_base else None


def start_of(stream: av.video.stream.VideoStream) -> float:
    """When `stream`'s first frame is, in its own timestamps (0.0 unknown). A cut from a long recording (a TS
    capture of a broadcast or live room) starts hours in."""
    return seconds(stream.start_time, stream.time_base) or 0.0


# The most a file's sound (or another track) may start before its video and still be where its times count from;
# further, the timestamps are taken to be wrong and the times count from the video's first frame.
MAX_VIDEO_LEAD_S = 3600.0


def origin_of(container: av.container.InputContainer, stream: av.video.stream.VideoStream) -> float:
    """Where a file's times count from, in `stream`'s timestamps' seconds: the file's start, its earliest track's
    first timestamp (FFmpeg's start time), which is where a player's clock and `ffmpeg -ss` count from; the video's
    first frame where the container gives none. Counted from the video's first frame, a file whose picture begins
    after its sound put every time that much early: the shared Hamilton clip's video starts 0.85 s in, and a
    takedown draft named a moment 3 s before the frame its evidence showed in a file whose video was 3 s late."""
    video_s = start_of(stream)
    if container.start_time is None or not stream.time_base:
        return video_s
    file_s = container.start_time / av.time_base
    # FFmpeg gives the start to the microsecond: taken from the track that starts there, in its own timestamps. A
    # TS starting at 95430.0000011 s had every time 1.1e-7 s off the sampling grid, tracks 4 s apart read
    # 4.0000000000000005 s apart, over [scan] merge_gap_s, and one appearance was three.
    exact = [
        start_s
        for track in container.streams
        if (start_s := seconds(track.start_time, track.time_base)) is not None and abs(start_s - file_s) <= 1e-6
    ]
    file_s = min(exact, default=file_s)
    return file_s if 0.0 <= video_s - file_s <= MAX_VIDEO_LEAD_S else video_s


def video_lead_of(container: av.container.InputContainer, stream: av.video.stream.VideoStream) -> float:
    """Seconds from a file's start (`origin_of`) to its video's first frame: 0 where the picture starts with it."""
    return start_of(stream) - origin_of(container, stream)


def span_of(container: av.container.InputContainer, stream: av.video.stream.VideoStream) -> float | None:
    """Seconds from `stream`'s first frame (`start_of`) to the file's end (`picture_extent` adds the file's
    start before it, to make what a scan of it covers); None unknown. FFmpeg gives the stream's own duration, a span,
    where the file has one (an MP4's, MOV's or AVI's index; a TS's, MPEG-PS's or Ogg's timestamps, first to
    last). Otherwise only the container's: where the last frame ends counted from timestamp 0 in a Matroska,
    WebM or NUT file (and an FLV without metadata), but from the first frame in an FLV's metadata. A file whose
    timestamps start far from 0 (`ffmpeg -copyts`, `-output_ts_offset 3600`) said 3605 s for 5 s of video, and
    was planned in 361 slices; there the end is read from the last packets."""
    if stream.time_base and stream.duration and stream.duration > 0:
        return float(stream.duration * stream.time_base)
    if not container.duration or container.duration < 0:
        return None
    duration_s, start_s = container.duration / av.time_base, start_of(stream)
    if start_s <= 0 or duration_s <= start_s:  # counted from 0 either way; or a span (no end precedes the start)
        return duration_s
    end_s = _end_of(container, stream, duration_s)
    return end_s - start_s if end_s is not None and end_s > start_s else duration_s


def _end_of(container: av.container.InputContainer, stream: av.video.stream.VideoStream, near_s: float) -> float | None:
    """Where `stream`'s last frame ends, in its timestamps' seconds: read from the packets after the key frame
    before `near_s`, else (a seek there reads none: an FLV without an index) from its first frame. None where no
    packet is read (a damaged file), or where the stream has no time base (no timestamps)."""
    time_base = stream.time_base
    if not time_base:
        return None
    for target in (int(near_s / time_base), stream.start_time or 0):
        try:
            container.seek(target, stream=stream, backward=True)
            end_s = max(
                (
                    float((packet.pts + (packet.duration or 0)) * time_base)
                    for packet in container.demux(stream)
                    if packet.pts is not None
                ),
                default=None,
            )
        except av.FFmpegError:
            continue
        if end_s is not None:
            return end_s
    return None


# Container formats (FFmpeg's names) whose header declares how long the recording is: an MP4's or MOV's index, a
# Matroska or WebM segment's duration, an AVI's or ASF's header, an FLV's metadata, a NUT's. A TS's, MPEG-PS's,
# Ogg's or GIF's length is FFmpeg's reading of the timestamps that are there, which a cut file cannot fall short of.
DECLARING_FORMATS = frozenset({"mov", "mp4", "matroska", "webm", "avi", "asf", "flv", "nut"})
# How far short of its header's length a file's data may end and still be whole, besides its last frame (whose
# duration some files leave out): a header that rounds the length. The 76 shared videos end within 1 ms of
# their headers' (the video alone in an MP4, or the longest track, audio, up to 0.1 s after the video's end).
SHORTFALL_TOLERANCE_S = 1.0


def shortfall(
    container: av.container.InputContainer,
    stream: av.video.stream.VideoStream,
    data_end_s: float | None,
    frame_s: float,
) -> tuple[float, float] | None:
    """(seconds of video there, seconds its header declares), both from `stream`'s first frame (`start_of`), where
    the file, read to its end (its last packet ending at `data_end_s`), falls short of the length its header
    declares by more than SHORTFALL_TOLERANCE_S and a frame (`frame_s`): a partial download, or a copy cut off
    (`head -c`). None where it does not, or where the header declares nothing (not DECLARING_FORMATS).

    The length is the track's own where the header gives one: an MP4's index, an AVI's count of frames at its rate
    (FFmpeg cuts an AVI's duration down to the data there, not its count). Else the container's, its longest
    track's: a track running on after the video (audio) is read to its end too. The container's is taken as
    counted from timestamp 0, as a Matroska, WebM or NUT file's is; an FLV's metadata counts from its first frame,
    so its length is read up to that start shorter than declared, never longer."""
    if data_end_s is None or not declares_length(container):
        return None
    start_s = start_of(stream)
    slack_s = SHORTFALL_TOLERANCE_S + frame_s
    duration, time_base, rate = stream.duration, stream.time_base, stream.average_rate
    lengths = [float(duration * time_base)] if duration and duration > 0 and time_base else []
    # The count of frames at the rate, where the track's duration says less than the header: an AVI's (FFmpeg
    # cuts it down to the data there). An MP4's count takes in the frames its edit list hides (`-ss 3.3 -c copy`
    # keeps the key frame before, and its count said 6.4 s of a 5.1-s cut: 'the file ends early').
    if "avi" in container.format.name.split(",") or not lengths:
        lengths += [stream.frames / float(rate)] if stream.frames and rate else []
    if lengths:
        declared_s, there_s = start_s + max(lengths), data_end_s
    elif container.duration and container.duration > 0:
        declared_s, there_s = container.duration / av.time_base, data_end_s
        if there_s + slack_s < declared_s:
            there_s = max(there_s, _tracks_end(container, data_end_s) or there_s)
    else:
        return None
    return None if there_s + slack_s >= declared_s else (data_end_s - start_s, declared_s - start_s)


def declares_length(container: av.container.InputContainer) -> bool:
    """Whether the container's header declares how long the recording is (DECLARING_FORMATS): its data can then
    be judged against that length (`shortfall`)."""
    return not DECLARING_FORMATS.isdisjoint(container.format.name.split(","))


def packet_end_s(packet: av.Packet) -> float | None:
    """Where a packet's data ends, in seconds of its timestamps; None for one without a timestamp."""
    if packet.pts is None or not packet.time_base:
        return None
    return float((packet.pts + (packet.duration or 0)) * packet.time_base)


def _tracks_end(container: av.container.InputContainer, near_s: float) -> float | None:
    """Where the last packet of any of the container's tracks ends, in seconds of their timestamps: read from the
    key frame before `near_s` on. None where none is read."""
    try:
        container.seek(max(0, int((near_s - 1.0) * av.time_base)), backward=True)
        return max((end for packet in container.demux() if (end := packet_end_s(packet)) is not None), default=None)
    except av.FFmpegError:
        return None


def picture_extent(source: str) -> tuple[float, float | None] | None:
    """Where a file's picture begins and ends, in seconds from the file's start (`origin_of`, where its frames'
    times count from), by PyAV: the lead of the file's start before the main video track, and that plus the
    track's `span_of` (None unknown); None where PyAV cannot open the file."""
    container = _opened(source, {})  # measured as FFmpeg measures it: across a clock that wraps
    if container is None:
        return None
    with container:
        stream = main_video(container)
        lead_s, span_s = video_lead_of(container, stream), span_of(container, stream)
        return lead_s, None if span_s is None else lead_s + span_s


def timeline_breaks(source: str) -> bool:
    """Whether a file's video timestamps restart mid-file or leave a gap of over GAP_S (`TimestampRebase`), read
    through its packets without decoding them, in a format whose timestamps may restart; False for any other and
    where PyAV cannot open it."""
    container = open_pyav(source)
    if container is None:
        return False
    with container:
        stream = main_video(container)
        rebase = TimestampRebase.of(container, stream)
        if not rebase.active:  # no restarts in its format: its packets need no reading
            return False
        with contextlib.suppress(av.FFmpegError):  # read to where it breaks: the scan stops there too
            for _ in rebase.packets(container.demux(stream)):
                if rebase.restarts or rebase.gaps:
                    return True
        return False


def file_span(source: str) -> float | None:
    """Seconds from a file's start to its video's end (`picture_extent`); None unknown or unopenable."""
    extent = picture_extent(source)
    return None if extent is None else extent[1]


# Packets decoded after a seek to see the first frame there (the decoder's threads hold a few back).
SEEK_PROBE_PACKETS = 32
# How much earlier than a slice's start, in turn, a seek aims where the first frame decoded lies after the start.
# An MPEG-TS has no index: FFmpeg seeks it by its bytes and lands between key frames, and the decoder then waits
# for the next key frame; the last try falls back to the file's start.
SEEK_BACKOFF_S = (0.0, 2.0, 8.0, 32.0)
# A first frame this little after the start (its timestamp rounded where the start was turned into one) is the
# frame at the start.
SEEK_SLACK_S = 1e-3


def _seek_to_window(
    source: str, container: av.container.InputContainer, stream: av.video.stream.VideoStream, start_s: float
) -> None:
    """Seek to a key frame at or before `start_s` (seconds of the stream's timestamps), from which the frames
    decode as in a whole-file pass; or to the file's start where no seek finds one. Some containers mark frames as
    key frames that need earlier ones (the FF++ c23 clips, every 10 s): decoded from there, a slice's frames were
    grey-green garbage and its faces were lost (519.mp4 in 10-s slices: 30 faces, the whole file 61); the file's
    start is taken at once there. Where a seek lands after `start_s` (an MPEG-TS), it aims earlier
    (SEEK_BACKOFF_S)."""
    time_base, first_pts = stream.time_base, stream.start_time or 0
    assert time_base is not None  # the caller seeks only a stream with timestamps
    for backoff_s in SEEK_BACKOFF_S:
        target = max(first_pts, int((start_s - backoff_s) / time_base))
        container.seek(target, stream=stream, backward=True)
        landed_s = _first_clean_frame_s(source, container, stream)
        if landed_s is None:
            break
        if landed_s <= start_s + SEEK_SLACK_S:
            container.seek(target, stream=stream, backward=True)
            return
        if target == first_pts:
            break
    container.seek(first_pts, stream=stream, backward=True)


def _first_clean_frame_s(
    source: str, container: av.container.InputContainer, stream: av.video.stream.VideoStream
) -> float | None:
    """When the first frame decoded from here is shown (seconds of the stream's timestamps), where it is whole:
    not flagged corrupt, and not withheld (a decoder drops what it cannot build) for SEEK_PROBE_PACKETS packets.
    None where it is not; -inf for a whole frame without a timestamp."""
    codec = stream.codec_context
    codec.skip_frame = "DEFAULT"
    try:
        for number, packet in enumerate(container.demux(stream)):
            if number >= SEEK_PROBE_PACKETS:
                return None
            if frames := decode_packet(codec, packet, source):
                first = frames[0]
                if getattr(first, "is_corrupt", False):
                    return None
                if first.pts is None or first.time_base is None:
                    return -math.inf  # no time to check it by: taken as the frame sought, as before the check
                return float(first.pts * first.time_base)
    except av.FFmpegError:
        return None
    return None


def _demux_until_damaged(
    source: str, container: av.container.InputContainer, stream: av.video.stream.VideoStream, stats: DecodeStats
) -> Iterator[av.Packet]:
    # A container that breaks mid-file ends the source there; what was decoded so far still counts. A stream
    # that breaks off (a read timeout, a dropped connection) has ended: nothing says how long it was.
    try:
        yield from container.demux(stream)
    except av.FFmpegError:
        stats.truncated = not is_stream_url(source)


def pixel_limited(stream: av.video.stream.VideoStream) -> av.video.codeccontext.VideoCodecContext:
    """The stream's decoder, set to refuse a frame over MAX_PIXELS before it allocates it: the header's size is
    checked on opening, but a video may grow mid-way (320x240, then 10240x10240 frames took 2.2 GB)."""
    codec = stream.codec_context
    codec.options = {**codec.options, "max_pixels": str(MAX_PIXELS)}
    return codec


def decode_packet(
    codec: av.video.codeccontext.VideoCodecContext, packet: av.Packet | None, source: str
) -> list[av.VideoFrame]:
    """The frames `packet` completes (None: those the decoder still holds, at the end). A damaged packet costs
    that frame only, as with OpenCV, which skips what it cannot decode (`DamageWatch` tells where that cost
    samples); a frame over the pixel limit (`pixel_limited`) ends the source, UnreadableInput."""
    try:
        return codec.decode(packet)
    except av.error.InvalidDataError:
        check_pixels(source, codec.width, codec.height, MAX_PIXELS)
        return []
