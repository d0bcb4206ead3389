"""The Ray scan's driver where things go wrong, without Ray. A Ctrl-C while it joins (or starts) its cluster
left Ray's processes running with no parent, at times killed the driver with SIGSEGV, and ended the scan with
exit 130 and no result: it is now held until ray.init returns, then ends the scan as an interrupted one. A crop
the driver cannot write is left out as in a local scan."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest

from impersonation_cli.config import load_config
from impersonation_cli.distributed import ray_scan
from impersonation_cli.io.sources import DecodeStats, TimeWindow
from impersonation_cli.io.threads import sigint_deferred
from impersonation_cli.pipeline.slices import LostSlice, SliceScan
from impersonation_cli.results import Evidence

from .builders import appearance, scan_result, source
from .small_clips import grey_ramp_clip


def test_a_ctrl_c_inside_the_block_is_raised_after_it() -> None:
    # Python's own handler set first: a test run started in the background inherits SIGINT ignored, which the
    # block restores as faithfully (the first .ci/run of a background-launched clone failed on that).
    started_with = signal.signal(signal.SIGINT, signal.default_int_handler)
    finished = []
    try:
        with pytest.raises(KeyboardInterrupt), sigint_deferred():
            os.kill(os.getpid(), signal.SIGINT)
            finished.append(True)
        assert finished == [True]
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    finally:
        signal.signal(signal.SIGINT, started_with)


def test_a_ctrl_c_held_back_goes_to_the_programs_own_handler() -> None:
    """A library caller's scan that ignored SIGINT (a service), or had its own handler, was interrupted all the
    same: the held-back signal was raised as KeyboardInterrupt whatever the handler, which was never called."""
    started_with = signal.getsignal(signal.SIGINT)
    called: list[int] = []
    try:
        for handler in (signal.SIG_IGN, lambda number, frame: called.append(number)):
            signal.signal(signal.SIGINT, handler)
            with sigint_deferred():
                os.kill(os.getpid(), signal.SIGINT)
            assert signal.getsignal(signal.SIGINT) is handler
        assert called == [signal.SIGINT]
    finally:
        signal.signal(signal.SIGINT, started_with)


@pytest.fixture()
def ctrl_c_as_at_a_terminal() -> Iterator[None]:
    """Python's own SIGINT handler: a held-back Ctrl-C goes to the handler the program has, and a test worker's
    may ignore it (pytest-xdist's do)."""
    started_with = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, started_with)


@pytest.mark.usefixtures("ctrl_c_as_at_a_terminal")
def test_a_ctrl_c_while_joining_the_cluster_is_an_interrupted_scan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []

    def init(**settings: object) -> None:
        os.kill(os.getpid(), signal.SIGINT)  # as Ctrl-C arrives while Ray starts its processes
        calls.append("init finished")

    fake_ray = SimpleNamespace(
        init=init,
        shutdown=lambda: calls.append("shutdown"),
        is_initialized=lambda: "init finished" in calls,
        exceptions=SimpleNamespace(),
    )
    fake_ray.exceptions.RayError = RuntimeError
    monkeypatch.setattr(ray_scan, "import_ray", lambda: fake_ray)
    monkeypatch.setattr(ray_scan, "_drop_raylet_messages", lambda: None)
    local = scan_result([])
    local.sources = []  # what a local scan gives for no unreadable inputs
    monkeypatch.setattr(ray_scan, "scan_inputs", lambda *args: local)
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"x")
    context = SimpleNamespace(config=load_config(), evidence_dir=None)
    result = ray_scan.scan_on_ray([str(clip)], context, {}, ray_scan.RayOptions(address="local"))
    assert calls == ["init finished", "shutdown"]
    assert result.status == "interrupted"
    assert [(s.source, s.status) for s in result.sources] == [(str(clip), "interrupted")]


def test_a_crop_the_driver_cannot_write_is_left_out_as_locally(tmp_path: Path) -> None:
    # A full disk, or a file where the evidence folder should be: the driver's OSError ended the whole Ray scan
    # (exit 2, no result), where a local scan keeps the appearance with its evidence "not saved".
    crop = b"\xff\xd8 a crop"
    kept, blocked = appearance(number=1), appearance(number=2)
    kept.evidence = Evidence("clip-1/s1-a1.jpg", "ab" * 32, 3.0, [0.0, 0.0, 10.0, 10.0])
    blocked.evidence = Evidence("clip-2/s1-a2.jpg", "cd" * 32, 4.0, [0.0, 0.0, 10.0, 10.0])
    (tmp_path / "clip-2").write_bytes(b"a file where the folder should be")
    outcome = ray_scan.SourceOutcome(source(), [kept, blocked], {"clip-1/s1-a1.jpg": crop, "clip-2/s1-a2.jpg": crop})
    ray_scan.write_crops(outcome, tmp_path)
    written = tmp_path / "clip-1" / "s1-a1.jpg"
    assert (kept.evidence.path, written.read_bytes()) == (str(written), crop)
    assert (blocked.evidence.path, blocked.evidence.sha256, blocked.evidence.time_s) == (None, None, 4.0)


def test_a_second_ctrl_c_while_the_driver_leaves_the_cluster_keeps_the_interrupted_result(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C pressed twice (7 s into a Ray scan of 7 files, then 0.3 s later): the second came during
    ray.shutdown(), which takes seconds, and ended the scan 'error: aborted', exit 130, no --json written: the
    finished files lost, where a local scan given the same two keystrokes writes them."""
    started_with = signal.signal(signal.SIGINT, signal.default_int_handler)
    calls: list[str] = []

    def scan_sources(*args: object) -> None:
        raise KeyboardInterrupt  # the first Ctrl-C, while the actors scan

    def shutdown() -> None:
        os.kill(os.getpid(), signal.SIGINT)  # the second, while Ray stops its actors
        calls.append("shutdown finished")

    fake_ray = SimpleNamespace(
        init=lambda **settings: None, shutdown=shutdown, is_initialized=lambda: False, exceptions=SimpleNamespace()
    )
    fake_ray.exceptions.RayError = RuntimeError
    monkeypatch.setattr(ray_scan, "import_ray", lambda: fake_ray)
    monkeypatch.setattr(ray_scan, "_drop_raylet_messages", lambda: None)
    monkeypatch.setattr(ray_scan, "_scan_sources", scan_sources)
    local = scan_result([])
    local.sources = []
    monkeypatch.setattr(ray_scan, "scan_inputs", lambda *args: local)
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"x")
    context = SimpleNamespace(config=load_config(), evidence_dir=None)
    try:
        result = ray_scan.scan_on_ray([str(clip)], context, {}, ray_scan.RayOptions(address="local"))
        assert calls == ["shutdown finished"]
        assert result.status == "interrupted"
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    finally:
        signal.signal(signal.SIGINT, started_with)


def test_a_ctrl_c_keeps_the_slices_of_a_long_file_that_came_back(monkeypatch: pytest.MonkeyPatch) -> None:
    """A 30-minute file in three slices on two actors, Ctrl-C once the first slice is back: the driver lost the
    whole file (status "interrupted", nothing kept), where a local scan keeps what it read before Ctrl-C. It now
    asks the two busy actors to stop, keeps what the one that answers in time scanned of its slice, and joins
    the file from the slice that came back, that part, and the slice still out as not scanned."""
    windows = [TimeWindow(0.0, 600.0), TimeWindow(600.0, 1200.0), TimeWindow(1200.0)]
    tasks = [ray_scan.Task(1, "long.mp4", window, part) for part, window in enumerate(windows)]
    first = SliceScan(windows[0], [], {}, None, [0.5], 0, DecodeStats(), None)  # type: ignore[arg-type]
    second = SliceScan(windows[1], [], {}, None, [600.5], 0, DecodeStats(), None, stopped=True)  # type: ignore[arg-type]
    returned = {windows[0]: first, windows[1]: second}
    waits: list[tuple[list[object], float | None]] = []
    stops: list[str] = []

    def wait(refs: list[object], num_returns: int, timeout: float | None = None) -> tuple[list[object], list[object]]:
        waits.append((refs, timeout))
        if len(waits) == 2:
            raise KeyboardInterrupt  # pressed while the other slices are out
        ready = [ref for ref in refs if ref in returned][:num_returns]  # the last slice never answers in time
        return ready, [ref for ref in refs if ref not in ready]

    def actor(name: str) -> SimpleNamespace:
        remote = SimpleNamespace(remote=lambda source, window, shipped: window)
        return SimpleNamespace(scan_slice=remote, stop=SimpleNamespace(remote=lambda: stops.append(name)))

    fake_ray = SimpleNamespace(put=lambda value: "snapshot", wait=wait, get=lambda ref: returned[ref])
    joined: list[tuple[object, ...]] = []

    def join(*args: object, **options: object) -> str:
        joined.append((*args, options))
        return "kept"

    monkeypatch.setattr(ray_scan, "_tasks", lambda *args: list(tasks))
    monkeypatch.setattr(ray_scan, "start_actors", lambda *args: [actor("a"), actor("b")])
    monkeypatch.setattr(ray_scan, "_joined", join)
    context = SimpleNamespace(
        index=None, authorizations=[], footage=None, fps=None, evidence_dir=None, sampling_fps=2.0, progress=None
    )
    outcomes: dict[int, object] = {}
    with pytest.raises(KeyboardInterrupt):
        ray_scan._scan_sources(fake_ray, ["long.mp4"], context, {}, ray_scan.RayOptions(), outcomes)  # type: ignore[arg-type]
    assert sorted(stops) == ["a", "b"]  # both actors were busy
    assert [timeout for _, timeout in waits[:2]] == [None, None]
    assert all(0 <= timeout <= ray_scan.STOP_WAIT_S for _, timeout in waits[2:])  # type: ignore[operator]
    assert outcomes == {1: "kept"}
    [(source, number, _, room, parts, info, options)] = joined
    assert (source, number, room, info, options) == ("long.mp4", 1, None, None, {"interrupted": True})
    assert parts == [first, second, LostSlice(windows[2], "the scan was interrupted")]


def test_a_file_removed_while_its_slices_are_scanned_is_joined_from_what_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The driver probed a sliced file only to join its slices, once all were back: removed meanwhile (its
    slices, scanned to the end, held it open), it was 'unreadable: no such file', every appearance lost. It is
    probed when the tasks are handed out."""
    clip = grey_ramp_clip(tmp_path / "long.mp4", 2)
    windows = [TimeWindow(0.0, 1.0), TimeWindow(1.0)]
    tasks = [ray_scan.Task(1, str(clip), window, part) for part, window in enumerate(windows)]
    returned = {w: SliceScan(w, [], {}, None, [w.start_s], 0, DecodeStats(), None) for w in windows}  # type: ignore[arg-type]

    def get(ref: TimeWindow) -> SliceScan:
        clip.unlink(missing_ok=True)  # gone once the first slice is back
        return returned[ref]

    def wait(refs: list[object], num_returns: int, timeout: float | None = None) -> tuple[list[object], list[object]]:
        return refs[:num_returns], refs[num_returns:]

    actor = SimpleNamespace(scan_slice=SimpleNamespace(remote=lambda source, window, shipped: window))
    fake_ray = SimpleNamespace(put=lambda value: "snapshot", wait=wait, get=get)
    joined: list[object] = []
    monkeypatch.setattr(ray_scan, "_tasks", lambda *args: list(tasks))
    monkeypatch.setattr(ray_scan, "start_actors", lambda *args: [actor])
    monkeypatch.setattr(ray_scan, "join_slices", lambda info, *args: joined.append(info) or (source(str(clip)), []))
    context = SimpleNamespace(
        index=None, authorizations=[], footage=None, fps=None, evidence_dir=None, sampling_fps=2.0, progress=None
    )
    outcomes: dict[int, ray_scan.SourceOutcome] = {}
    ray_scan._scan_sources(fake_ray, [str(clip)], context, {}, ray_scan.RayOptions(), outcomes)  # type: ignore[arg-type]
    assert not clip.exists() and outcomes[1].result.status == "ok", outcomes
    (info,) = joined
    assert info.duration_s == pytest.approx(2.0, abs=0.1)  # type: ignore[attr-defined]
