"""The public Python API: load the models, settings and gallery once, then scan recordings or watch live rooms.

    from impersonation_cli import Scanner

    with Scanner.open(gallery="gallery.sqlite") as scanner:
        result = scanner.scan(["clip.mp4"], room="douyin:123456")
    print(result.to_json())

`Scanner.scan` returns the same `ScanResult` the CLI writes with `scan --json`, and `Scanner.watch` the summary
`watch --json` writes. The assembly that used to live in the CLI is here, so a library caller cannot get a
quietly worse scan by leaving a step out: the detector settings come from the config, the gallery must have
been enrolled with the pack's recognizer, the replay library (known footage) is loaded, and each model gets half
the cores, since a scan runs two busy stages at once (io/threads.py). The CLI's commands call these same
functions.
"""

from __future__ import annotations

import dataclasses
import os
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from collections.abc import Set as AbstractSet
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime
from pathlib import Path
from types import TracebackType, UnionType
from typing import TYPE_CHECKING

from impersonation_cli.config import Config, config_path, load_config
from impersonation_cli.errors import MAX_SCAN_FPS, MAX_WATCH_FPS, MIN_WATCH_FPS, UserError, check_rate, plain_number
from impersonation_cli.gallery.enrol import require_engine_recognizer
from impersonation_cli.gallery.store import GALLERY_ENV, Gallery, default_gallery_path
from impersonation_cli.io.live_reader import ReaderSettings
from impersonation_cli.io.rooms import Room, load_rooms, parse_duration, parse_time, validate_room
from impersonation_cli.io.sources import VIDEO_EXTENSIONS, is_stream_url, source_key
from impersonation_cli.io.threads import threads_or_default
from impersonation_cli.io.urls import redact_url, shown_source
from impersonation_cli.outputs.alerts import AlertSink, WatchEvent
from impersonation_cli.outputs.files import check_outputs
from impersonation_cli.pipeline.scan import ProgressCallback, ScanContext, scan_inputs
from impersonation_cli.pipeline.signals.detector import FORGERY_MODEL_ENV, forgery_model
from impersonation_cli.pipeline.signals.replay import FootageIndex
from impersonation_cli.pipeline.watch import Watcher, WatchSettings
from impersonation_cli.results import ScanResult
from impersonation_cli.runtime.engine import FaceEngine
from impersonation_cli.runtime.packs import load_pack, model_root

if TYPE_CHECKING:
    from impersonation_cli.distributed.ray_watch import RayWatcher

PathLike = str | Path
# How a batch of sources is scanned: pipeline.scan.scan_inputs in this process, or a distributed scan with the
# same signature (distributed.ray_scan.scan_on_ray with its options bound).
ScanRunner = Callable[[list[str], ScanContext, dict[str, Room]], ScanResult]
# Where a watch runs, when not in this process: called with (rooms, context, settings, alerts_path, webhook,
# on_alert, on_write_error), it gives a context manager holding a watcher with `Watcher`'s interface
# (distributed.ray_watch.RayWatcher with its options bound: the CLI's `watch --engine ray`).
WatchEngine = Callable[..., AbstractContextManager["RayWatcher"]]
EMPTY_GALLERY_NOTICE = "the gallery is empty; enrol people with `impersonation-cli gallery add`"
ROOMS_FILE_SUFFIXES = frozenset({".yaml", ".yml", ".toml", ".json"})


def _typed_arg(value: object, name: str, kinds: type | UnionType, described: str) -> None:
    """Refuse an argument of the wrong type by its name: room=123 was told it was a bad room (UserError).

    Raises:
        TypeError: neither None nor of `kinds`.
    """
    if value is not None and not isinstance(value, kinds):
        raise TypeError(f"{name} must be {described}, not {type(value).__name__}")


def _path_arg(value: object, name: str) -> None:
    """Refuse a path argument of the wrong type by its name (os.fspath would say only "expected str, bytes or
    os.PathLike object, not int", deep in the call).

    Raises:
        TypeError: neither None, a str nor an os.PathLike.
    """
    _typed_arg(value, name, str | os.PathLike, "a path (a str or os.PathLike)")


def _number_arg(value: object, name: str) -> None:
    """Refuse a number argument of the wrong type by its name: fps="2" was told "fps must be between 0 and 120",
    which sends the caller looking at the value, not its type. Called after plain_number (NumPy numbers pass).

    Raises:
        TypeError: neither None, an int nor a float (a bool is not a rate).
    """
    if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
        raise TypeError(f"{name} must be a number (an int or float), not {type(value).__name__}")


def _no_empty_paths(**paths: object) -> None:
    """Refuse '' (or blanks) for a path argument, as `pack` refuses an empty name: gallery='' said "no gallery
    at <the per-user default>", models='' and config='' quietly meant the defaults, evidence_dir='' the current
    folder. None is how the defaults are asked for.

    Raises:
        UserError: a path argument that is empty or blank, by its name.
    """
    for name, value in paths.items():
        if isinstance(value, str) and not value.strip():
            raise UserError(f"{name} is an empty path: give a path, or None")


def _callable_arg(value: object, name: str) -> None:
    """Refuse a callback that cannot be called before any work, not at its first call in the middle of it.

    Raises:
        TypeError: neither None nor callable.
    """
    if value is not None and not callable(value):
        raise TypeError(f"{name} must be callable, not {type(value).__name__}")


def load_engine(
    models: PathLike | None = None,
    pack: PathLike | None = None,
    device: str = "auto",
    config: PathLike | None = None,
    threads: int | None = None,
    on_notice: Callable[[str], None] | None = None,
) -> tuple[FaceEngine, Config]:
    """The settings (shipped defaults overlaid by `config`, else by the file the CLI would find: README,
    "Configuration") and a face engine built with the config's detector settings.

    Args:
        models: folder of model packs; None: $IMPERSONATION_MODELS, else the per-user data folder.
        pack: pack name or folder; None: $IMPERSONATION_PACK, else the best installed pack.
        device: ONNX Runtime device: auto, cpu, cuda, tensorrt, rocm, openvino, coreml or dml.
        config: a TOML file of settings overriding the defaults; None: $IMPERSONATION_CONFIG,
            ./impersonation-cli.toml, then the user's config folder.
        threads: CPU threads per model, at least 1; None lets ONNX Runtime use every core.
        on_notice: called with the engine's notice for the user (the detector fell back to float), if it has
            one, as soon as the engine is built; it is in `engine.notice` too.

    Raises:
        UserError: a config that cannot be read or holds unknown keys, a pack that is not installed, a forgery
            model named by $IMPERSONATION_FORGERY_MODEL that does not load.
        TypeError: `on_notice` is neither None nor callable.
    """
    _path_arg(models, "models")
    _path_arg(config, "config")
    _callable_arg(on_notice, "on_notice")
    settings = load_config(config)
    engine = FaceEngine(load_pack(pack, model_root(models)), device=device, detector=settings.detector, threads=threads)
    if os.environ.get(FORGERY_MODEL_ENV):
        forgery_model(engine)  # refused now (UserError), not in the middle of the first scan
    if engine.notice and on_notice is not None:
        on_notice(engine.notice)
    return engine, settings


def settings_files(gallery: PathLike | None = None, config: PathLike | None = None) -> list[Path]:
    """The gallery and config file a scan or watch reads besides its inputs, as `load_context` and `load_engine`
    will find them: an output named like one of them must be refused with the inputs (`scan --json
    gallery.sqlite` replaced the gallery).

    Args:
        gallery: as `load_context` takes it; None: $IMPERSONATION_GALLERY, else the per-user default.
        config: as `load_engine` takes it; None: the file the CLI would find, if there is one.
    """
    _path_arg(gallery, "gallery")
    _path_arg(config, "config")
    return [default_gallery_path(gallery), *([chosen] if (chosen := config_path(config)) else [])]


def load_context(
    engine: FaceEngine,
    config: Config,
    gallery: PathLike | None = None,
    evidence_dir: PathLike | None = None,
    fps: float | None = None,
) -> ScanContext:
    """What scans and watches match against: the gallery's people, authorizations and known footage, read once.

    A gallery named by `gallery` or $IMPERSONATION_GALLERY must exist (a mistyped path would otherwise scan
    against an empty gallery and find nobody); only the per-user default gallery may be missing: it reads as
    empty, and no file is made (a scan only reads the gallery).

    Raises:
        GalleryError: the gallery is missing, unreadable, or was enrolled with another recognizer than the
            engine's (embeddings of different recognizers cannot be compared).
        ModelPackError: that other recognizer is an installed pack's file that is not the published one
            (damaged).
    """
    _path_arg(gallery, "gallery")
    _path_arg(evidence_dir, "evidence_dir")
    named = gallery is not None or bool(os.environ.get(GALLERY_ENV))
    with Gallery(default_gallery_path(gallery), create=not named, read_only=True) as store, store.snapshot():
        require_engine_recognizer(store, engine)
        index, authorizations = store.index(), store.authorizations()
        footage = FootageIndex.from_gallery(store)
    return ScanContext(
        engine=engine,
        index=index,
        config=config,
        authorizations=authorizations,
        evidence_dir=Path(evidence_dir) if evidence_dir is not None else None,
        fps=fps,
        footage=footage,
    )


def room_assignments(
    inputs: PathLike | Sequence[PathLike],
    room: str | None = None,
    started_at: str | datetime | None = None,
    rooms_file: PathLike | None = None,
) -> tuple[list[str], dict[str, Room]]:
    """The inputs plus the sources a rooms file names, each mapped to its room and start time.

    `room` and `started_at` (ISO 8601 with a time zone, or an aware datetime) apply to every input; a folder's
    room passes to the files found in it. Entries of a rooms file (docs/watch.md) add their sources.

    Raises:
        UserError: a room not of the form platform:account, a time without a zone, an unreadable rooms file,
            `room` or `started_at` with no input beside them (they would apply to nothing).
    """
    inputs = input_list(inputs)
    _path_arg(rooms_file, "rooms_file")
    start = parse_time(started_at, "started_at")
    if room is not None:
        validate_room(room)
    if not inputs and (room is not None or start is not None):
        raise UserError("a room or start time applies to the inputs named with it; a rooms file gives its own")
    items = list(inputs)
    assignments = {item: Room(item, room, started_at=start) for item in items}
    if rooms_file is not None:
        given_with = " and ".join(
            what for what, value in (("a room", room), ("a start time", start)) if value is not None
        )
        _add_rooms_file(items, assignments, Path(rooms_file), given_with)
    return items, assignments


def _rooms_by_item(items: list[str], rooms: Mapping[str, Room | None]) -> dict[str, Room]:
    """`rooms` keyed by the items' own spellings: a key naming the same source as an item (by `source_key`:
    './clip.mp4' or its absolute path for 'clip.mp4') is that item's. A room keyed by another spelling was
    dropped without a word, and the clip judged with no room (unauthorized-likeness where it was authorized).

    A key inside a folder among the items (a file the scan will find there) is kept as it is.

    Raises:
        UserError: a key that names none of the items nor lies in one, or two keys naming one item with two
            rooms."""
    spelt: dict[str, str] = {}
    for item in reversed(items):  # the first of an item's spellings: the one a scan lists it by
        spelt[source_key(item)] = item
    keyed: dict[str, Room | None] = {}
    for source, room in rooms.items():
        named = spelt.get(source_key(source))
        if named is None and any(_nested(source, item) for item in items):
            named = source
        if named is None:
            raise UserError(f"rooms names {shown_source(source)}, which is not one of the inputs scanned")
        # Two spellings of one input with the same room (none: `scan a.mp4 ./a.mp4`, `scan dir dir/`) are one
        # source, scanned once (docs/reports.md); they were refused as two rooms for it.
        if named in keyed and not _same_room(keyed[named], room):
            raise UserError(f"rooms names {shown_source(named)} twice, by two spellings: give it one room")
        keyed.setdefault(named, room)
    return {item: room for item, room in keyed.items() if room is not None}


def _same_room(one: Room | None, other: Room | None) -> bool:
    """Whether two rooms given for spellings of one input are the same room, whatever spelling each names."""
    if one is None or other is None:
        return one is other
    return dataclasses.replace(one, url=other.url) == other


def _add_rooms_file(items: list[str], assignments: dict[str, Room], rooms_file: Path, given_with: str) -> None:
    """Add a rooms file's sources to `items` and their rooms to `assignments`. An input the file names too takes
    its entry's place there, with the file's room: named as 'clip.mp4' beside a rooms file's absolute path, it
    was scanned twice, once with no room. `given_with`: what was given with the inputs ('a room', 'a start time',
    both or ''), which refuses an input the file names."""
    given: dict[str, str] = {}
    for item in items:
        given.setdefault(source_key(item), item)  # the first of its names: the one a scan lists it by
    inputs = list(items)
    for entry in _rooms_once(rooms_file):
        named = given.get(source_key(entry.url))
        if named is not None and given_with:
            # Either the file's room and start or those given with the inputs would be dropped without a word.
            raise UserError(
                f"{entry.shown_url} has a room in the rooms file, and {given_with} given with it: give its room and "
                "start time in one place (a rooms file entry takes started_at)"
            )
        if given_with and (around := next((item for item in inputs if _nested(entry.url, item)), None)):
            # A file in a folder given with --room (or a folder holding a file given so) took one room and start
            # time and dropped the other without a word, as a file named in both places would.
            raise UserError(
                f"{entry.shown_url} has a room in the rooms file and lies in (or holds) {shown_source(around)}, "
                f"with {given_with} given with it: give their rooms and start times in one place"
            )
        if named is not None:
            items[items.index(named)] = entry.url
            del assignments[named]
        elif entry.url not in items:
            items.append(entry.url)
        assignments[entry.url] = entry


def _nested(first: str, second: str) -> bool:
    """Whether one of two local paths lies inside the other (as folders hold files; streams hold none)."""
    if is_stream_url(first) or is_stream_url(second):
        return False
    one, other = Path(os.path.abspath(first)), Path(os.path.abspath(second))
    return one in other.parents or other in one.parents


def _rooms_once(rooms_file: Path) -> list[Room]:
    """A rooms file's entries, each source named once: a recording was captured in one room (the later entry's
    room replaced the earlier one's without a word, and the earlier room's findings were lost)."""
    entries = load_rooms(rooms_file)
    keys = Counter(source_key(entry.url) for entry in entries)
    twice = sorted(redact_url(url) for url, count in keys.items() if count > 1)
    if twice:
        raise UserError(f"rooms file {rooms_file} names {', '.join(twice)} more than once: give each source one room")
    return entries


def input_list(paths: PathLike | Sequence[PathLike]) -> list[str]:
    """The inputs of a scan as `path_list` gives them, none of them empty.

    Raises:
        TypeError: neither a path nor a sequence of paths.
        UserError: an empty or blank input ('' is the current folder to pathlib: all of it, recursively).
    """
    listed = path_list(paths)
    if any(not item.strip() for item in listed):
        raise UserError("an empty input names nothing: give videos, images or folders")
    return listed


def path_list(paths: PathLike | Sequence[PathLike]) -> list[str]:
    """One path or several, as strings. Bytes are refused rather than read as a sequence of numbers.

    Raises:
        TypeError: neither a path nor a sequence of paths.
    """
    if isinstance(paths, str | os.PathLike):
        return [os.fspath(paths)]
    if isinstance(paths, bytes | Mapping | AbstractSet) or not isinstance(paths, Iterable):
        # A set's order is not fixed (nor its sources' numbers in the result), and a dict's values were dropped.
        raise TypeError(f"paths must be a path or a list of paths, not {type(paths).__name__}")
    listed = list(paths)
    for path in listed:
        if not isinstance(path, str | os.PathLike):
            raise TypeError(f"paths must be a path or a list of paths; one is {type(path).__name__}")
    return [os.fspath(path) for path in listed]


def room_specs(inputs: Sequence[str], room: str | None = None) -> list[Room]:
    """The rooms to watch: stream URLs, video files (played as live) and the entries of rooms files; `room`
    (platform:account) names a single bare URL's room.

    Raises:
        UserError: an input that is none of those, `room` with other than one bare URL, a room named twice.
    """
    specs: list[Room] = []
    for item in inputs:
        path = Path(item)
        if is_stream_url(item):
            specs.append(Room(item))
        elif path.suffix.lower() in ROOMS_FILE_SUFFIXES:
            specs.extend(load_rooms(path))
        elif path.suffix.lower() in VIDEO_EXTENSIONS and path.is_file():
            specs.append(Room(str(path)))
        elif path.suffix.lower() in VIDEO_EXTENSIONS and not path.exists():  # a typo: said as in a rooms file
            raise UserError(f"{item}: no such file")
        else:
            raise UserError(f"{redact_url(item)}: not a stream URL, a video file or a rooms file (.yaml, .toml, .json)")
    if room is not None:
        validate_room(room)
        bare = [s for s in specs if s.account is None]
        if len(bare) != 1:
            raise UserError("--room names one room: give it exactly one URL, or use a rooms file for several")
        specs = [dataclasses.replace(s, account=room) if s.account is None else s for s in specs]
    _refuse_twice(specs)
    return specs


def _refuse_twice(specs: Sequence[Room]) -> None:
    """A watch keeps each room's sightings and alerts under its name: two rooms of one name would be one. A
    video named two ways (`a.mp4`, `./clips/../a.mp4`, its absolute path, a link to it) without a room is one
    room too, and so is a bare URL or video that a room of its own also watches: watched as two, either raised
    a `concurrent` alert of everyone in it against itself. Rooms of their own may share a URL. Two bare URLs
    that differ only in their password or tokens are one room too: they name one stream, and alerts would show
    them alike (io/urls.py).

    Raises:
        UserError: a room or URL named twice.
    """
    names: dict[str, list[str]] = {}
    for spec in specs:
        names.setdefault(spec.account or _target(spec), []).append(spec.name)
    for spec in specs:
        if spec.account is not None and _target(spec) in names:
            names[_target(spec)].append(spec.name)
    twice = sorted(" and ".join(dict.fromkeys(given)) for given in names.values() if len(given) > 1)
    if twice:
        hidden = any(spec.url != spec.shown_url for spec in specs)
        why = " (URLs are compared without their passwords and tokens; give each its own room in a rooms file)"
        why = why if hidden else ""
        raise UserError(f"the same room or URL is named twice: {', '.join(twice)}{why}")


def _target(spec: Room) -> str:
    """What a room watches: its stream (RTMP://HOST/live/a is rtmp://host:1935/live/a; credentials aside), or the
    video file it names however it is spelt."""
    return source_key(spec.url) if is_stream_url(spec.url) else os.path.realpath(spec.url)


def watch_settings(
    fps: float | None = None,
    timeout: str | float = "10s",
    give_up: str | float = "60s",
    duration: str | float | None = None,
    window: str | float = "15s",
    cooldown: str | float = "10m",
) -> WatchSettings:
    """`WatchSettings` from the values `watch` takes, durations written as '30s', '10m', '2h' or plain seconds
    (a number is seconds).

    Args:
        fps: frames sampled per second per room; None: the config's `[scan] fps`.
        timeout: open and read timeout per connection.
        give_up: a room unreachable this long is over (ended or failed).
        duration: stop after this long; None: when every room has ended.
        window: the same person in two rooms this close in time is concurrent.
        cooldown: repeat an alert only after this long.

    Raises:
        UserError: an fps outside 0.001 to 30, a duration that cannot be read (named by its `watch` option).
        TypeError: an fps that is not a number, a duration that is neither text nor a number.
    """
    fps = plain_number(fps)  # type: ignore[assignment]
    _number_arg(fps, "fps")
    check_rate(fps, MAX_WATCH_FPS, lowest=MIN_WATCH_FPS)
    timeout_s = parse_duration(timeout, "--timeout")
    give_up_s = parse_duration(give_up, "--give-up")
    return WatchSettings(
        reader=ReaderSettings(fps=fps, open_timeout_s=timeout_s, read_timeout_s=timeout_s, give_up_s=give_up_s),
        duration_s=parse_duration(duration, "--duration") if duration is not None else None,
        concurrency_window_s=parse_duration(window, "--window"),
        cooldown_s=parse_duration(cooldown, "--cooldown"),
    )


def _room_list(rooms: Room | PathLike | Iterable[Room | PathLike]) -> list[Room]:
    """One room or several: Rooms, or URLs and video paths (str or os.PathLike) made into Rooms.

    Raises:
        TypeError: neither a Room, a URL or path, nor a sequence of them.
    """
    if isinstance(rooms, Room | str | os.PathLike):
        rooms = [rooms]
    elif isinstance(rooms, bytes) or not isinstance(rooms, Iterable):
        raise TypeError(f"rooms must be a Room, a URL or path, or a list of them, not {type(rooms).__name__}")
    specs: list[Room] = []
    for room in rooms:
        if isinstance(room, Room):
            specs.append(room)
        elif isinstance(room, str | os.PathLike):
            specs.append(Room(os.fspath(room)))
        else:
            raise TypeError(f"rooms must be Rooms, URLs or paths; one is {type(room).__name__}")
    return specs


class Scanner:
    """A face engine, the settings and a snapshot of the gallery, loaded once and used for many scans.

    Build one with `Scanner.open(...)`; use it as a context manager (or call `close()`) to release the models.
    The gallery is read when the scanner opens: people enrolled later are seen by a scanner opened later.
    """

    def __init__(self, context: ScanContext, notices: Sequence[str] = ()) -> None:
        """Wrap an assembled context (see `load_engine` and `load_context`); most callers want `Scanner.open`.

        Raises:
            TypeError: `context` is not a ScanContext (the first scan would fail deep in it), or `notices` is
                not a sequence of str (a str would be one notice per character).
        """
        if not isinstance(context, ScanContext):
            raise TypeError(f"context must be a ScanContext (see load_context), not {type(context).__name__}")
        listed = () if isinstance(notices, str) else tuple(notices)
        if isinstance(notices, str) or not all(isinstance(notice, str) for notice in listed):
            raise TypeError("notices must be a sequence of str")
        self._context: ScanContext | None = context
        self.notices: tuple[str, ...] = listed
        """Warnings for the user: the detector fell back to float, the gallery is empty."""

    @classmethod
    def open(
        cls,
        models: PathLike | None = None,
        pack: PathLike | None = None,
        gallery: PathLike | None = None,
        config: PathLike | None = None,
        device: str = "auto",
        threads: int | None = None,
        *,
        on_notice: Callable[[str], None] | None = None,
    ) -> Scanner:
        """Load the settings, the model pack and the gallery.

        Args:
            models: folder of model packs; None: $IMPERSONATION_MODELS, else the per-user data folder.
            pack: pack name or folder; None: $IMPERSONATION_PACK, else the best installed pack.
            gallery: the gallery SQLite file; None: $IMPERSONATION_GALLERY, else the per-user default.
            config: a TOML file of settings overriding the defaults; None: as the CLI finds one ($IMPERSONATION_CONFIG,
                ./impersonation-cli.toml, then the user's config folder: README, "Configuration").
            device: ONNX Runtime device: auto, cpu, cuda, tensorrt, rocm, openvino, coreml or dml.
            threads: CPU threads per model, at least 1; None: half the usable cores, as `scan` runs detection beside
                recognition (`io.threads.threads_per_stage`). A scanner used only to watch may take every core.
            on_notice: called with each of the scanner's `notices` as it arises: the engine's (the detector fell
                back to float) before the gallery is read, so that it is said even if the gallery then cannot be
                read; then that the gallery is empty.

        Raises:
            UserError: bad settings, threads below 1, a missing pack, a missing or incompatible gallery, an empty
                path (one-line messages).
            TypeError: `on_notice` is neither None nor callable.
        """
        _no_empty_paths(models=models, gallery=gallery, config=config)
        _callable_arg(on_notice, "on_notice")
        threads = plain_number(threads)  # type: ignore[assignment]
        notices: list[str] = []

        def notice(text: str) -> None:
            notices.append(text)
            if on_notice is not None:
                on_notice(text)

        engine, settings = load_engine(models, pack, device, config, threads_or_default(threads, "threads"), notice)
        context = load_context(engine, settings, gallery)
        if not len(context.index):
            notice(EMPTY_GALLERY_NOTICE)
        return cls(context, notices)

    @property
    def context(self) -> ScanContext:
        """The engine, settings and gallery snapshot every scan starts from."""
        if self._context is None:
            raise RuntimeError("this Scanner is closed")
        return self._context

    @property
    def engine(self) -> FaceEngine:
        """The loaded face engine: the pack's detector and recognizer on the chosen device."""
        return self.context.engine

    @property
    def config(self) -> Config:
        """The settings in force: the shipped defaults overlaid by the config file."""
        return self.context.config

    def scan(
        self,
        paths: PathLike | Sequence[PathLike],
        *,
        room: str | None = None,
        started_at: str | datetime | None = None,
        rooms_file: PathLike | None = None,
        fps: float | None = None,
        evidence_dir: PathLike | None = None,
        progress: ProgressCallback | None = None,
    ) -> ScanResult:
        """Scan videos, images and folders (searched recursively), as `impersonation-cli scan` does.

        Args:
            paths: one path or several; a path that cannot be read gets a SourceResult with status "unreadable"
                instead of stopping the others.
            room: platform:account the inputs were captured from (decides authorized vs unauthorized).
            started_at: wall-clock time of stream time 0 (ISO 8601 with a zone, or an aware datetime).
            rooms_file: YAML/TOML/JSON file mapping sources to rooms; its sources are scanned too.
            fps: frames sampled per second; None: the context's (`load_context`), else the config's `[scan] fps`.
            evidence_dir: save each appearance's best face crop here (with its sha256 in the result); None: the
                context's, if `load_context` was given one.
            progress: called with a `ScanProgress` (source, file_number of file_count, time_s and duration_s in
                that file, video_done_s over the batch) when each source is opened (with its duration, where its
                container knows it), after each sampled frame, and when it ends (only then for a source that cannot
                be opened; an input that is not there, or a folder with nothing to scan, is not told: the result
                lists it as unreadable). An exception it raises ends the scan and is raised from `scan` as it was.

        Returns:
            The result document: `result.to_json()` is what `scan --json` writes. A KeyboardInterrupt (Ctrl-C,
            or raised by `progress`) ends the scan early and is not raised: the result has status "interrupted"
            and holds the sources finished, the one in progress up to where it stopped, and the others unread.

        Raises:
            UserError: nothing to scan, an fps outside (0, 120], a bad room, time or rooms file, an evidence
                folder that is a file or cannot be made, an empty path.
            TypeError: an argument of the wrong type (a path that is not a str or os.PathLike, an fps that is not
                a number, a room or start that is not text, a progress that cannot be called), named in the message.
        """
        _no_empty_paths(rooms_file=rooms_file)  # evidence_dir: scan_sources, which every scan reaches
        _typed_arg(room, "room", str, "a str ('platform:account')")
        _typed_arg(started_at, "started_at", str | datetime, "an ISO 8601 str or a datetime")
        items, assignments = room_assignments(paths, room, started_at, rooms_file)
        if not items:
            raise UserError("nothing to scan: give videos, images or folders (or a rooms file)")
        return self.scan_sources(items, assignments, fps=fps, evidence_dir=evidence_dir, progress=progress)

    def scan_sources(
        self,
        items: PathLike | Sequence[PathLike],
        rooms: Mapping[str, Room] | None = None,
        *,
        fps: float | None = None,
        evidence_dir: PathLike | None = None,
        progress: ProgressCallback | None = None,
        runner: ScanRunner = scan_inputs,
    ) -> ScanResult:
        """Scan `items` with each source's room already resolved (`room_assignments` returns both); `runner`
        scans them, in this process by default (the CLI's `--engine ray` passes a Ray scan: docs/scale.md). The
        other arguments are `scan`'s.

        Raises:
            UserError: an fps outside (0, 120], an evidence folder that is a file or cannot be made, an empty
                path, a `rooms` key that names none of `items` (a key may spell an item otherwise: './clip.mp4'
                for 'clip.mp4') or two keys naming one, or what `runner` raises (a Ray cluster that cannot be
                used).
            TypeError: `rooms` not a mapping of source (str) to Room, or another argument of the wrong type.
        """
        items = input_list(items)  # a str would be scanned character by character, a Path would crash the scan
        if rooms is not None and not isinstance(rooms, Mapping):
            raise TypeError(f"rooms must be a mapping of source to Room, not {type(rooms).__name__}")
        for source, spec in (rooms or {}).items():
            if not isinstance(source, str) or not isinstance(spec, Room | None):
                # {'clip.mp4': 'douyin:1'} failed deep in the scan: 'str' object has no attribute 'account'
                raise TypeError(
                    f"rooms must map each source (a str) to a Room, not {type(source).__name__} to "
                    f"{type(spec).__name__}: Room(source, 'platform:account')"
                )
        by_item = _rooms_by_item(items, rooms or {})
        fps = plain_number(fps)  # type: ignore[assignment]
        _number_arg(fps, "fps")
        check_rate(fps, MAX_SCAN_FPS, "fps")
        _path_arg(evidence_dir, "evidence_dir")
        _no_empty_paths(evidence_dir=evidence_dir)  # here: scan() and a caller of scan_sources
        _callable_arg(progress, "progress")
        # Not given: the context's own (`load_context` takes both), which the scan's replaced without a word.
        evidence = Path(evidence_dir) if evidence_dir is not None else self.context.evidence_dir
        check_outputs({}, folders={"evidence_dir": evidence})  # as the CLI checks it: '-' is refused too
        fps = self.context.fps if fps is None else fps
        context = dataclasses.replace(self.context, fps=fps, evidence_dir=evidence, progress=progress)
        return runner(items, context, by_item)

    def watch(
        self,
        rooms: Room | PathLike | Sequence[Room | PathLike],
        settings: WatchSettings | None = None,
        *,
        alerts_path: PathLike | None = None,
        webhook: str | None = None,
        on_alert: Callable[[WatchEvent], None] | None = None,
        evidence_dir: PathLike | None = None,
        engine: WatchEngine | None = None,
    ) -> ScanResult:
        """Watch live rooms (stream URLs, or video files played as live) until `settings.duration_s` is up or
        every room has ended, as `impersonation-cli watch` does; return the summary `watch --json` writes.

        Args:
            rooms: Room(url, account, label) for each room, or bare URLs and video paths (str or Path).
            settings: frame rate, timeouts, concurrency window and alert cool-down; None: the defaults.
            alerts_path: append one JSON line per alert (and room event) here; "-": to stdout, as `watch --alerts -`.
            webhook: POST each alert (and room event) as JSON to this URL.
            on_alert: called with each alert (`AlertEvent`) and room event (`RoomEvent`: a room's stream
                interrupted, back or given up) as it is raised; tell them by `kind` or `isinstance`.
            evidence_dir: save each alert's face crop here.
            engine: where the rooms are watched (`WatchEngine`: a Ray cluster, docs/scale.md); None: here.

        Blocks the calling thread; to stop it early, or to show the rooms while they are watched, use `watcher`.

        Raises:
            UserError: nothing to watch, a room or URL named twice, an evidence folder that cannot be written, an
                alerts file that cannot be written or is a video a room plays or the evidence folder, a webhook
                that is not http(s), an empty path.
            TypeError: an argument of the wrong type (settings, rooms, a path, a callback), named in the message.
        """
        with self.watcher(
            rooms,
            settings,
            alerts_path=alerts_path,
            webhook=webhook,
            on_alert=on_alert,
            evidence_dir=evidence_dir,
            engine=engine,
        ) as watcher:
            watcher.run()
        return watcher.summary()

    @contextmanager
    def watcher(
        self,
        rooms: Room | PathLike | Sequence[Room | PathLike],
        settings: WatchSettings | None = None,
        *,
        alerts_path: PathLike | None = None,
        webhook: str | None = None,
        on_alert: Callable[[WatchEvent], None] | None = None,
        on_write_error: Callable[[str], None] | None = None,
        evidence_dir: PathLike | None = None,
        engine: WatchEngine | None = None,
    ) -> Iterator[Watcher | RayWatcher]:
        """The `Watcher` that `watch` runs, for a caller that runs it itself: `run(on_round)` calls `on_round`
        after each round, `stop()` ends it from another thread or a signal handler, `rooms` holds each room's
        state and `summary()` the result. The alerts file and the webhook are closed on leaving the block.

        The arguments are `watch`'s; `on_write_error` is called with a one-line message the first time an alert
        cannot be written to `alerts_path` (watching goes on). With `engine`, the rooms are watched where it
        says (`distributed.ray_watch.RayWatcher`: on a Ray cluster, with the same interface).
        """
        settings = settings or WatchSettings()
        if not isinstance(settings, WatchSettings):
            raise TypeError(f"settings must be a WatchSettings, not {type(settings).__name__}")
        specs = _room_list(rooms)
        if not specs:
            raise UserError("nothing to watch: give stream URLs or videos, or Rooms")
        _refuse_twice(specs)
        _path_arg(alerts_path, "alerts_path")
        _path_arg(evidence_dir, "evidence_dir")
        _no_empty_paths(alerts_path=alerts_path, evidence_dir=evidence_dir)  # here: watch() and a caller of watcher
        _callable_arg(on_alert, "on_alert")
        _callable_arg(on_write_error, "on_write_error")
        if webhook is not None and not isinstance(webhook, str):
            raise TypeError(f"webhook must be a URL (a str), not {type(webhook).__name__}")
        alerts = Path(alerts_path) if alerts_path is not None else None
        evidence = Path(evidence_dir) if evidence_dir is not None else None
        # As the CLI checks them: alerts_path=clip.mp4 appended the alerts to the video a room played.
        videos = [spec.url for spec in specs if not is_stream_url(spec.url)]
        check_outputs({"alerts_path": alerts}, videos, {"evidence_dir": evidence}, stdout={"alerts_path"})
        context = dataclasses.replace(self.context, evidence_dir=evidence)
        if engine is not None:
            with engine(specs, context, settings, alerts, webhook, on_alert, on_write_error) as distributed:
                yield distributed
            return
        sink = AlertSink(alerts, webhook, settings.cooldown_s, on_alert, on_write_error)
        try:
            yield Watcher(specs, context, settings, sink)
        finally:
            sink.close()

    def close(self) -> None:
        """Release the models; afterwards `scan`, `watch` and `watcher` raise RuntimeError (a program's mistake,
        not a user's). Closing twice is harmless."""
        self._context = None

    def __enter__(self) -> Scanner:
        self.context  # noqa: B018  # a closed Scanner is refused here, not at its first scan in the block
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()


__all__ = [
    "EMPTY_GALLERY_NOTICE",
    "Scanner",
    "load_context",
    "load_engine",
    "room_assignments",
    "room_specs",
    "settings_files",
    "watch_settings",
]
