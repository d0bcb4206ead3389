"""The library checks what a Python caller gives it as the CLI checks its options: a notebook's mistakes are
one-line UserErrors (or TypeErrors for a wrong type) before any work, never a crash after it or a scan of the
wrong thing. Found by a QA pass: scan(b"clip.mp4") scanned sources "99", "108", ...; scan("") scanned the
current folder; watch("clip.mp4") watched 'c', 'l', 'i', ...; ReaderSettings(fps=0) watched a whole duration
and then divided by zero; a Room account with a terminal escape reached the alerts."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

from impersonation_cli.api import Scanner, load_context, path_list, room_assignments, watch_settings
from impersonation_cli.config import load_config
from impersonation_cli.errors import ModelPackError, UserError
from impersonation_cli.gallery.store import GalleryIndex
from impersonation_cli.io.live_reader import ReaderSettings
from impersonation_cli.io.rooms import Room
from impersonation_cli.pipeline.faces import EMBEDDING_DIM
from impersonation_cli.pipeline.scan import ScanContext, room_for
from impersonation_cli.pipeline.watch import WatchSettings
from impersonation_cli.results import ResultFormatError, ScanResult
from impersonation_cli.runtime.packs import load_pack


@pytest.fixture()
def scanner() -> Scanner:
    """A Scanner without models: every call below must refuse before it would need them."""
    nobody = GalleryIndex((), np.zeros(0, dtype=np.int64), np.zeros((0, EMBEDDING_DIM), np.float32), None)
    return Scanner(ScanContext(engine=None, index=nobody, config=load_config(None)))  # type: ignore[arg-type]


def test_paths_are_a_path_or_a_list_of_paths() -> None:
    assert path_list("clip.mp4") == ["clip.mp4"]
    assert path_list(Path("a.mp4")) == ["a.mp4"]
    assert path_list(["a.mp4", Path("b.mp4")]) == ["a.mp4", "b.mp4"]
    # A set (and a dict's keys) took no fixed order: the sources' numbers in the result changed from run to run.
    for wrong in (b"clip.mp4", None, 5, [b"clip.mp4"], {"a.mp4", "b.mp4"}, {"a.mp4": "douyin:1"}):
        with pytest.raises(TypeError, match="paths must be a path or a list of paths"):
            path_list(wrong)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda s: s.scan("clip.mp4", room=123), r"^room must be a str \('platform:account'\), not int$"),
        (lambda s: s.scan("clip.mp4", started_at=5), r"^started_at must be an ISO 8601 str or a datetime, not int$"),
    ],
)
def test_a_room_or_start_of_the_wrong_type_is_a_type_error(scanner: Scanner, call, message: str) -> None:
    """They were UserErrors about a bad room or time, where the docstring promises a TypeError for a wrong type."""
    with pytest.raises(TypeError, match=message):
        call(scanner)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda s, tmp: s.scan(""), "an empty input names nothing"),
        (lambda s, tmp: s.scan(["clip.mp4", " "]), "an empty input names nothing"),
        (lambda s, tmp: s.scan("clip.mp4", evidence_dir=tmp / "file.txt"), "is a file, not a folder"),
        (lambda s, tmp: s.watch([]), "nothing to watch"),
        (lambda s, tmp: s.watch("clip.mp4", evidence_dir=tmp / "file.txt"), "is a file, not a folder"),
    ],
)
def test_a_callers_mistake_is_refused_before_the_work(scanner: Scanner, tmp_path: Path, call, message: str) -> None:
    (tmp_path / "file.txt").write_text("not a folder", encoding="utf-8")
    with pytest.raises(UserError, match=message) as caught:
        call(scanner, tmp_path)
    assert "\n" not in str(caught.value)


def test_watch_settings_of_the_wrong_type_are_a_type_error(scanner: Scanner) -> None:
    with pytest.raises(TypeError, match="settings must be a WatchSettings, not dict"):
        scanner.watch(["clip.mp4"], {"duration_s": 2})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: ReaderSettings(fps=0), "fps must be between 0 and 30"),
        (lambda: ReaderSettings(fps=float("nan")), "fps must be between 0 and 30"),
        (lambda: ReaderSettings(give_up_s=-1), "give_up_s must be a number of seconds above 0"),
        (lambda: ReaderSettings(queue_size=0), "queue_size must be a whole number of at least 1"),
        (lambda: WatchSettings(duration_s=-1), "duration_s must be a number of seconds above 0"),
        (lambda: WatchSettings(cooldown_s=float("inf")), "cooldown_s must be a number of seconds above 0"),
        # As `watch --window 0` and `--cooldown 0` are refused (parse_duration): the library took both.
        (lambda: WatchSettings(concurrency_window_s=0), r"^concurrency_window_s must be .* above 0, not 0$"),
        (lambda: WatchSettings(cooldown_s=0.0), r"^cooldown_s must be a number of seconds above 0, not 0.0$"),
        (lambda: Room("clip.mp4", account="nocolon\x1b[31m"), "is not of the form platform:account"),
        (lambda: Room("clip.mp4", started_at=datetime(2026, 11, 20, 20)), "needs a time zone"),
    ],
)
def test_settings_and_rooms_are_checked_when_made(make, message: str) -> None:
    with pytest.raises(UserError, match=message):
        make()


def test_scan_sources_takes_one_path_or_paths_as_scan_does(scanner: Scanner) -> None:
    """scan_sources("clip.mp4") handed the runner 'c', 'l', 'i', ... (the first one, '/', the whole disk) and a
    Path crashed the scan with AttributeError."""
    given: list[list[str]] = []
    runner = lambda items, context, rooms: given.append(items)  # noqa: E731
    scanner.scan_sources("clip.mp4", runner=runner)  # type: ignore[arg-type]
    scanner.scan_sources([Path("a.mp4"), "b.mp4"], runner=runner)  # type: ignore[arg-type]
    assert given == [["clip.mp4"], ["a.mp4", "b.mp4"]]
    with pytest.raises(TypeError, match="paths must be a path or a list of paths"):
        scanner.scan_sources(b"clip.mp4", runner=runner)  # type: ignore[arg-type]


def test_watch_takes_paths_and_refuses_other_types(scanner: Scanner) -> None:
    """A Path (bare or in a list) crashed the watch with AttributeError ('PosixPath' object has no attribute
    'url'); an int said only "'int' object is not iterable"."""
    given: list[list[Room]] = []

    @contextmanager
    def engine(specs, *rest):  # type: ignore[no-untyped-def]
        given.append(specs)
        yield None

    for rooms in (Path("a.mp4"), [Path("a.mp4")], ["a.mp4"], Room(Path("a.mp4"))):
        with scanner.watcher(rooms, engine=engine):  # type: ignore[arg-type]
            pass
    assert given == [[Room("a.mp4")]] * 4
    for wrong, message in ((5, "rooms must be a Room, a URL or path, or a list of them, not int"), ([5], "one is int")):
        with pytest.raises(TypeError, match=message), scanner.watcher(wrong, engine=engine):  # type: ignore[arg-type]
            pass


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Room(5), "url must be a stream URL or a path, not int"),  # type: ignore[arg-type]
        (lambda: Room("a.mp4", label=3), "label must be a str, not int"),  # type: ignore[arg-type]
        (lambda: Room("a.mp4", started_at="2026-11-20T20:00:00Z"), "started_at must be an aware datetime, not str"),  # type: ignore[arg-type]
    ],
)
def test_a_room_of_the_wrong_type_is_a_type_error(make, message: str) -> None:
    """Room(started_at="...") raised AttributeError ('str' object has no attribute 'utcoffset'); Room(5) was
    made and crashed the scan later."""
    with pytest.raises(TypeError, match=message):
        make()


def test_a_pack_is_a_name_or_a_folder(tmp_path: Path) -> None:
    """Scanner.open(pack=3) raised AttributeError ('int' object has no attribute 'strip'), and so did a pack
    folder given as a Path."""
    with pytest.raises(TypeError, match="pack must be a pack name or a folder, not int"):
        load_pack(3, tmp_path)  # type: ignore[arg-type]
    with pytest.raises(ModelPackError, match="is neither a folder of ONNX files nor a pack installed"):
        load_pack(tmp_path / "nothing-here", tmp_path)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda s: Scanner.open(models=3), "models must be a path"),
        (lambda s: Scanner.open(config=3), "config must be a path"),
        (lambda s: load_context(None, load_config(None), gallery=3), "gallery must be a path"),
        (lambda s: s.scan("clip.mp4", rooms_file=5), "rooms_file must be a path"),
        (lambda s: s.scan("clip.mp4", evidence_dir=5), "evidence_dir must be a path"),
        (lambda s: s.scan("clip.mp4", progress=5), "progress must be callable, not int"),
        (lambda s: s.watch("clip.mp4", alerts_path=5), "alerts_path must be a path"),
        (lambda s: s.watch("clip.mp4", evidence_dir=5), "evidence_dir must be a path"),
        (lambda s: s.watch("clip.mp4", on_alert=5), "on_alert must be callable, not int"),
        (lambda s: s.watch("clip.mp4", webhook=5), "webhook must be a URL"),
        (lambda s: ScanResult.load(5), "path must be a path"),
    ],
)
def test_an_argument_of_the_wrong_type_is_named(scanner: Scanner, call, message: str) -> None:
    """Each said only "expected str, bytes or os.PathLike object, not int" (or "'int' object is not callable"
    once the scan had started; urlsplit's AttributeError for a webhook), naming no argument."""
    with pytest.raises(TypeError, match=message):
        call(scanner)


def test_watch_settings_take_durations_as_numbers_of_seconds() -> None:
    """The docstring promised 'plain seconds', but watch_settings(timeout=5) raised "expected string or
    bytes-like object, got 'int'" from the regular expression."""
    settings = watch_settings(timeout=5, duration=2.5, cooldown="1m")
    assert (settings.reader.open_timeout_s, settings.duration_s, settings.cooldown_s) == (5.0, 2.5, 60.0)
    for wrong in (0, -1, float("nan"), float("inf")):
        with pytest.raises(UserError, match=r"--timeout .* is not a duration"):
            watch_settings(timeout=wrong)
    with pytest.raises(TypeError, match="--window must be a duration such as '30s', '10m' or '2h', not list"):
        watch_settings(window=[15])  # type: ignore[arg-type]


def test_watch_refuses_a_room_named_twice_as_the_cli_does(scanner: Scanner) -> None:
    """The CLI refused a URL or room named twice (room_specs), but scanner.watch took it and kept both rooms'
    sightings and alerts under one name."""
    for rooms in (["rtmp://host/a", "rtmp://host/a"], [Room("rtmp://host/a", "douyin:1"), Room("b.mp4", "douyin:1")]):
        with pytest.raises(UserError, match="named twice"):
            scanner.watch(rooms)


def test_a_scanner_is_made_from_a_scan_context(scanner: Scanner) -> None:
    """Scanner("gallery.sqlite") was made, and its first scan said "replace() should be called on dataclass
    instances"; Scanner(context, notices="one") kept the notices 'o', 'n', 'e'."""
    with pytest.raises(TypeError, match="context must be a ScanContext"):
        Scanner("gallery.sqlite")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="notices must be a sequence of str"):
        Scanner(scanner.context, notices="one")
    assert Scanner(scanner.context, notices=(n for n in ["a notice"])).notices == ("a notice",)


@pytest.mark.parametrize("rooms", ["", " ", [Room("rtmp://host/a"), ""]])
def test_an_empty_room_names_nothing(scanner: Scanner, rooms) -> None:
    """watch("") (or Room("")) watched the current folder and reported it unreadable: ': a folder, not a file'."""
    with pytest.raises(UserError, match="a room's url is empty"):
        scanner.watch(rooms)


def test_numpy_numbers_are_numbers(scanner: Scanner) -> None:
    """A notebook's np.float32(2) or np.int64(2) fps was refused with 'fps must be between 0 and 120', and an
    np.int64 thread count with 'threads must be a whole number of at least 1, not np.int64(2)'."""
    given = []
    scanner.scan_sources(["clip.mp4"], fps=np.float32(2.5), runner=lambda items, context, rooms: given.append(context))
    assert given[0].fps == 2.5 and type(given[0].fps) is float
    assert type(watch_settings(fps=np.int64(2)).reader.fps) is int
    with pytest.raises(UserError, match=r"threads must be a whole number of at least 1, not 0$"):
        Scanner.open(threads=np.int64(0))
    with pytest.raises(TypeError, match="fps must be a number"):
        scanner.scan_sources(["clip.mp4"], fps=np.bool_(True), runner=lambda *args: None)


@pytest.mark.parametrize("fps", ["2", True, [2]])
def test_an_fps_that_is_not_a_number_is_a_type_error(scanner: Scanner, fps: object) -> None:
    """scan(fps="2") said 'fps must be between 0 and 120': the value looked right, its type was wrong."""
    with pytest.raises(TypeError, match=rf"^fps must be a number \(an int or float\), not {type(fps).__name__}$"):
        scanner.scan("clip.mp4", fps=fps)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=rf"^fps must be a number \(an int or float\), not {type(fps).__name__}$"):
        watch_settings(fps=fps)  # type: ignore[arg-type]


def test_scan_sources_rooms_map_sources_to_rooms(scanner: Scanner) -> None:
    """scan_sources(items, {'clip.mp4': 'douyin:1'}) failed deep in the scan ('str' object has no attribute
    'account'); a list said 'cannot convert dictionary update sequence element #0 to a sequence'."""
    given = []
    runner = lambda items, context, rooms: given.append(rooms)  # noqa: E731
    scanner.scan_sources(["clip.mp4"], {"clip.mp4": Room("clip.mp4", "douyin:1")}, runner=runner)
    assert given == [{"clip.mp4": Room("clip.mp4", "douyin:1")}]
    for wrong, message in (({"clip.mp4": "douyin:1"}, "not str to str"), ([1], "not list")):
        with pytest.raises(TypeError, match=f"rooms must .*{message}"):
            scanner.scan_sources(["clip.mp4"], wrong, runner=runner)  # type: ignore[arg-type]


def test_a_room_keyed_by_another_spelling_of_an_input_is_that_inputs(scanner: Scanner) -> None:
    """A room keyed './clip.mp4' or by the absolute path for the input 'clip.mp4' was dropped without a word: the
    clip was judged with no room, unauthorized-likeness in the room authorized for it. A key naming no input (a
    typo) was dropped the same way."""
    given = []
    runner = lambda items, context, rooms: given.append(rooms)  # noqa: E731
    clip, room = "clip.mp4", Room("clip.mp4", "douyin:1")
    for key in ("./clip.mp4", str(Path(clip).absolute())):
        scanner.scan_sources([clip], {key: room}, runner=runner)
    assert given == [{clip: room}, {clip: room}]
    with pytest.raises(UserError, match=r"rooms names clpi\.mp4, which is not one of the inputs scanned"):
        scanner.scan_sources([clip], {"clpi.mp4": room}, runner=runner)
    with pytest.raises(UserError, match=r"rooms names clip\.mp4 twice, by two spellings"):
        scanner.scan_sources([clip], {clip: room, "./clip.mp4": Room("./clip.mp4", "douyin:2")}, runner=runner)
    scanner.scan_sources([clip], {clip: room, "./clip.mp4": Room("./clip.mp4", "douyin:1")}, runner=runner)
    assert given[-1] == {clip: room}  # the same room by two spellings: one source, one room
    inside = {"./folder/a.mp4": room}  # a file the scan will find in a folder given: its room, as it is keyed
    scanner.scan_sources(["folder"], inside, runner=runner)
    assert given[-1] == inside
    assert room_for("folder/a.mp4", inside) == room_for("./folder/a.mp4", {"folder/a.mp4": room}) == room
    assert room_for("folder/b.mp4", inside) is None


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda s: Scanner.open(gallery=""), "gallery"),
        (lambda s: Scanner.open(models=" "), "models"),
        (lambda s: Scanner.open(config=""), "config"),
        (lambda s: s.scan("clip.mp4", evidence_dir=""), "evidence_dir"),
        (lambda s: s.scan("clip.mp4", rooms_file=""), "rooms_file"),
        (lambda s: s.watch("clip.mp4", alerts_path=""), "alerts_path"),
        (lambda s: s.watch("clip.mp4", evidence_dir=" "), "evidence_dir"),
        # The lower entries every scan and watch reach: checked there, not only in scan() and watch().
        (lambda s: s.scan_sources(["clip.mp4"], evidence_dir=""), "evidence_dir"),
        (lambda s: s.watcher("clip.mp4", alerts_path="").__enter__(), "alerts_path"),
    ],
)
def test_an_empty_path_is_refused_as_an_empty_pack_is(scanner: Scanner, call, name: str) -> None:
    """pack='' was refused, but gallery='' said 'no gallery at <the per-user default>', models='' and
    config='' quietly used the defaults, evidence_dir='' wrote crops into the current folder and watch's
    alerts_path='' wrote no alerts at all."""
    with pytest.raises(UserError, match=f"^{name} is an empty path"):
        call(scanner)


def test_watch_settings_read_numpy_numbers() -> None:
    """ReaderSettings(fps=np.float32(2)) said 'fps must be between 0 and 30' and WatchSettings(duration_s=
    np.float32(30)) 'must be a number of seconds above 0'."""
    reader = ReaderSettings(fps=np.float32(2), give_up_s=np.int64(30), queue_size=np.int64(3))
    settings = WatchSettings(reader=reader, duration_s=np.float32(30), provisional_frames=np.int64(2))
    assert (reader.fps, reader.give_up_s, reader.queue_size, settings.duration_s) == (2.0, 30, 3, 30.0)
    assert [type(v) for v in (reader.fps, reader.queue_size, settings.duration_s)] == [float, int, float]


def test_watch_refuses_an_output_that_is_an_input_or_another_output(scanner: Scanner, tmp_path: Path) -> None:
    """The CLI refused these before the work (check_outputs) and the API did not: watch(clip,
    alerts_path=clip) appended the alerts to the video watched."""
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"a video")
    with pytest.raises(UserError, match=r"^alerts_path .*clip\.mp4 is the input .*clip\.mp4: writing it would destroy"):
        scanner.watch(str(clip), alerts_path=tmp_path / "." / "clip.mp4")
    with pytest.raises(UserError, match=r"^alerts_path .*out is also the folder of evidence_dir"):
        scanner.watch(str(clip), alerts_path=tmp_path / "out", evidence_dir=tmp_path / "out")
    assert clip.read_bytes() == b"a video"


@pytest.mark.parametrize(
    "call", [lambda s: s.scan("clip.mp4", evidence_dir="-"), lambda s: s.watch("a.mp4", evidence_dir="-")]
)
def test_an_evidence_folder_named_dash_is_refused_as_the_cli_refuses_it(scanner: Scanner, call) -> None:  # type: ignore[no-untyped-def]
    """evidence_dir='-' made a folder named '-' where `--evidence-dir -` is refused."""
    with pytest.raises(UserError, match="evidence_dir -: this output is a folder; give a folder name"):
        call(scanner)


def test_an_evidence_folder_that_cannot_be_made_is_a_documented_user_error(scanner: Scanner, tmp_path: Path) -> None:
    """scan() and scan_sources() refuse an evidence folder that is a file, and an empty path, before any work; their
    docstrings (and docs/api.md, written from them) named neither among the UserErrors they raise."""
    a_file = tmp_path / "crops"
    a_file.write_bytes(b"")
    calls = [
        lambda: scanner.scan("clip.mp4", evidence_dir=a_file),
        lambda: scanner.scan_sources(["clip.mp4"], evidence_dir=a_file),
    ]
    for call in calls:
        with pytest.raises(UserError, match=r"evidence_dir: .*crops is a file, not a folder"):
            call()
    with pytest.raises(UserError, match="evidence_dir is an empty path"):
        scanner.scan("clip.mp4", evidence_dir="")
    for method in (Scanner.scan, Scanner.scan_sources):
        raises = (method.__doc__ or "").split("Raises:")[1]
        assert "evidence folder that is a file or cannot be made" in " ".join(raises.split()), method.__name__
        assert "an empty path" in " ".join(raises.split()), method.__name__


def test_scan_sources_refuses_an_empty_input_as_scan_does(scanner: Scanner) -> None:
    """scan_sources('') and scan_sources(['']) scanned the whole current folder (the evidence of earlier scans
    too), where scan('') refuses: '' is the current folder to pathlib."""
    runner = lambda items, context, rooms: pytest.fail("the runner was reached")  # noqa: E731
    for empty in ("", [""], ["clip.mp4", " "]):
        with pytest.raises(UserError, match=r"^an empty input names nothing"):
            scanner.scan_sources(empty, runner=runner)  # type: ignore[arg-type]


def test_room_assignments_takes_one_path_or_paths_as_scan_does() -> None:
    """room_assignments('b.mp4') gave 'b', '.', 'm', 'p', '4' (the '.' scanned the whole folder under the room), a
    name with a space was 'an empty input', and a Path crashed with TypeError or AttributeError."""
    items, rooms = room_assignments("b.mp4", room="douyin:9")
    assert items == ["b.mp4"] and rooms["b.mp4"].account == "douyin:9"
    assert room_assignments("my clip.mp4")[0] == ["my clip.mp4"]
    assert room_assignments(Path("b.mp4"))[0] == ["b.mp4"]
    assert room_assignments([Path("a.mp4"), "b.mp4"])[0] == ["a.mp4", "b.mp4"]
    with pytest.raises(TypeError, match="paths must be a path or a list of paths"):
        room_assignments(b"b.mp4")  # type: ignore[arg-type]


def test_an_empty_result_path_is_refused_by_its_name() -> None:
    """ScanResult.load('') said "'.: a folder, not a result file'"."""
    with pytest.raises(UserError, match=r"^path is an empty path"):
        ScanResult.load("")


def test_a_file_that_is_not_utf8_text_is_not_a_result(tmp_path: Path) -> None:
    """A video given as the result, or a UTF-16 file, raised a plain UserError with the codec's words ("'utf-8'
    codec can't decode byte 0xff in position 0"): `except ResultFormatError`, as docs/api.md says, let it by."""
    for name, data in (("clip.mp4", b"\x00\x00\x00\x18ftypmp42\xff\xfe"), ("utf16.json", "{}".encode("utf-16"))):
        (tmp_path / name).write_bytes(data)
        with pytest.raises(ResultFormatError, match=r"not a result file \(not UTF-8 text\)$"):
            ScanResult.load(tmp_path / name)


def test_a_closed_scanner_is_refused_when_entered_again(scanner: Scanner) -> None:
    """A closed Scanner was entered again with `with` without a word; its first scan in the block raised."""
    with scanner:
        pass
    with pytest.raises(RuntimeError, match="this Scanner is closed"), scanner:
        pytest.fail("the block ran")


def test_a_scan_without_fps_or_evidence_folder_takes_the_contexts(tmp_path: Path) -> None:
    """`load_context(..., evidence_dir=..., fps=0.5)` wrapped in `Scanner(context)` scanned at the config's 2 fps
    and saved no evidence crop, without a word: the scan's None replaced the context's values."""
    nobody = GalleryIndex((), np.zeros(0, dtype=np.int64), np.zeros((0, EMBEDDING_DIM), np.float32), None)
    config = load_config(None)
    scanner = Scanner(ScanContext(engine=None, index=nobody, config=config, fps=0.5, evidence_dir=tmp_path))  # type: ignore[arg-type]
    given: list[ScanContext] = []

    def runner(items: list[str], context: ScanContext, rooms: dict) -> None:
        given.append(context)

    scanner.scan_sources(["clip.mp4"], runner=runner)  # type: ignore[arg-type]
    scanner.scan_sources(["clip.mp4"], fps=3, evidence_dir=tmp_path / "e", runner=runner)  # type: ignore[arg-type]
    assert (given[0].fps, given[0].evidence_dir) == (0.5, tmp_path)
    assert (given[1].fps, given[1].evidence_dir) == (3, tmp_path / "e")


def test_a_webhook_refused_is_named_as_the_librarys_argument(scanner: Scanner) -> None:
    """It was named by the CLI's option: "--webhook 'ftp://x' must be an http:// or https:// URL"."""
    with pytest.raises(UserError, match=r"^webhook 'ftp://x' must be an http:// or https:// URL$"):
        scanner.watch("clip.mp4", webhook="ftp://x")
