"""The end of a `watch --engine ray`, driven without Ray: the driver follows a real coordinator through a
stand-in for Ray's calls. A local watch given a second Ctrl-C while its webhook delivers the last alerts gives
that up and writes its summary at once (test_webhook_close.py); the Ray watch kept its coordinator's webhook
waiting its full 5 s whatever was pressed, and then left the cluster (seconds) after the CLI's signal handlers
were gone, where a Ctrl-C ended it 'error: aborted', exit 130, no summary written."""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from types import SimpleNamespace
from typing import Any

import pytest

from impersonation_cli.config import load_config
from impersonation_cli.distributed import ray_scan, ray_watch
from impersonation_cli.distributed.ray_scan import RayOptions
from impersonation_cli.distributed.ray_watch import RayWatcher, RoomView, ShardOutcome, WatchCoordinator
from impersonation_cli.io.live_reader import ReaderSettings
from impersonation_cli.io.rooms import Room
from impersonation_cli.outputs.alerts import RoomEvent
from impersonation_cli.pipeline.verdicts import VerdictSettings
from impersonation_cli.pipeline.watch import WatchSettings
from impersonation_cli.results import ScanResult

from .builders import SETTINGS, scan_result, source

ROOMS = [Room("rtmp://127.0.0.1/live/a", account="douyin:1"), Room("rtmp://127.0.0.1/live/b", account="douyin:2")]
SETTINGS_2FPS = WatchSettings(reader=ReaderSettings(fps=2))


class Actor:
    """An actor handle: `handle.method.remote(...)` runs the method on the actor's threads (a Future)."""

    def __init__(self, target: object, threads: ThreadPoolExecutor) -> None:
        self.target, self.threads = target, threads

    def __getattr__(self, name: str) -> SimpleNamespace:
        method: Callable[..., Any] = getattr(self.target, name)
        return SimpleNamespace(remote=lambda *args: self.threads.submit(method, *args))


class Cluster:
    """What the driver calls of Ray: get, wait and shutdown."""

    def __init__(self, shutdown: Callable[[], None] = lambda: None) -> None:
        self.threads = ThreadPoolExecutor(8)
        self.left = shutdown
        self.initialized = False

    def is_initialized(self) -> bool:
        return self.initialized

    def init(self, **settings: Any) -> None:
        self.initialized = True

    def shutdown(self) -> None:
        self.initialized = False
        self.left()

    def get(self, ref: Future[Any] | list[Future[Any]]) -> Any:
        return [each.result() for each in ref] if isinstance(ref, list) else ref.result()

    def wait(
        self, refs: list[Future[Any]], num_returns: int = 1, timeout: float | None = None
    ) -> tuple[list[Future[Any]], list[Future[Any]]]:
        deadline = time.monotonic() + (timeout or 0.0)
        while True:
            done = [ref for ref in refs if ref.done()]
            if len(done) >= num_returns or time.monotonic() >= deadline:
                return done, [ref for ref in refs if not ref.done()]
            time.sleep(0.01)


class Shard:
    """A shard's worker that watches until told to stop."""

    def __init__(self) -> None:
        self.stopped = threading.Event()

    def run(self) -> SimpleNamespace:
        self.stopped.wait(10.0)
        return SimpleNamespace(pid=os.getpid())

    def stop(self) -> None:
        self.stopped.set()


def driver(monkeypatch: pytest.MonkeyPatch, cluster: Cluster) -> RayWatcher:
    monkeypatch.setattr(ray_watch, "import_ray", lambda: cluster)
    monkeypatch.setattr(ray_scan, "_drop_raylet_messages", lambda: None)
    context = SimpleNamespace(config=load_config(), evidence_dir=None)
    return RayWatcher(ROOMS, context, SETTINGS_2FPS, options=RayOptions(address="auto"))  # type: ignore[arg-type]


@pytest.fixture()
def silent_webhook() -> Iterator[str]:
    """A webhook that accepts connections and never answers."""
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    try:
        yield f"http://127.0.0.1:{silent.getsockname()[1]}/hook"
    finally:
        silent.close()


def test_a_second_ctrl_c_while_the_coordinator_delivers_the_last_alerts_gives_them_up(
    monkeypatch: pytest.MonkeyPatch, silent_webhook: str
) -> None:
    cluster = Cluster()
    watcher = driver(monkeypatch, cluster)
    coordinator = WatchCoordinator(None, silent_webhook, SETTINGS_2FPS, VerdictSettings(), None, ROOMS)
    event = RoomEvent("interrupted", "douyin:1", "rtmp://127.0.0.1/live/a", None, "live", None, "now")
    coordinator.report([event])  # queued for a webhook that will not answer
    shard = Shard()
    running = [cluster.threads.submit(shard.run)]
    follow = threading.Thread(
        target=lambda: watcher._follow(
            Actor(coordinator, cluster.threads), [Actor(shard, cluster.threads)], running, None
        )
    )
    follow.start()
    watcher.stop()  # the first Ctrl-C: the shards stop, then the coordinator gives the webhook up to 5 s
    time.sleep(0.2)
    assert follow.is_alive()
    started = time.monotonic()
    watcher.stop()  # the second
    follow.join(3.0)
    assert not follow.is_alive() and time.monotonic() - started < 1.0
    assert watcher.sink.counts["webhook"]["failed"] == 1 and watcher.sink.counts["room_events"] == 1


def test_a_ctrl_c_while_the_driver_leaves_the_cluster_keeps_the_watch(monkeypatch: pytest.MonkeyPatch) -> None:
    """After the watch, outside the CLI's signal handlers, the driver leaves the cluster (ray.shutdown: seconds)
    before the summary is written: a Ctrl-C then is held and dropped, as for a Ray scan."""
    started_with = signal.signal(signal.SIGINT, signal.default_int_handler)
    left: list[str] = []

    def shutdown() -> None:
        os.kill(os.getpid(), signal.SIGINT)
        left.append("shutdown finished")

    try:
        try:
            with driver(monkeypatch, Cluster(shutdown)):
                pass
        except KeyboardInterrupt:
            pytest.fail("the Ctrl-C while leaving the cluster ended the watch: no summary")
        assert left == ["shutdown finished"]
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    finally:
        signal.signal(signal.SIGINT, started_with)


def test_the_summary_takes_each_rooms_record_once(monkeypatch: pytest.MonkeyPatch) -> None:
    watcher = driver(monkeypatch, Cluster())
    records = [{**RoomView(number, room).record(), "live_seconds": 10.0} for number, room in enumerate(ROOMS, 1)]
    for view, record in zip(watcher.rooms, records, strict=True):
        view.update({**record, "alerts": 0})
    sources = [source(room.url) for room in ROOMS]
    shard: ScanResult = scan_result([], sources)
    shard.settings = {**SETTINGS, "mode": "watch", "rooms": records, "alerts": {}}
    watcher._outcomes = [ShardOutcome(shard, [], {}, os.getpid())]
    taken: list[str] = []
    record = RoomView.record

    def counted(view: RoomView) -> dict[str, Any]:
        taken.append(view.name)
        return record(view)

    monkeypatch.setattr(RoomView, "record", counted)
    summary = watcher.summary()
    assert sorted(taken) == ["douyin:1", "douyin:2"]
    assert [room["room"] for room in summary.settings["rooms"]] == ["douyin:1", "douyin:2"]
    assert [s.scanned_s for s in summary.sources] == [10.0, 10.0]
    assert summary.run.video_seconds == 20.0


def test_a_ctrl_c_while_the_workers_load_their_models_aborts_the_watch(monkeypatch: pytest.MonkeyPatch) -> None:
    """Before any room is opened, as a local watch's Ctrl-C while its models load: the shards were run anyway,
    stopped at once, and the summary called every room unreadable ('no frame was ever received', exit 3)."""
    watcher = driver(monkeypatch, Cluster())
    started: list[str] = []
    worker = SimpleNamespace(run=SimpleNamespace(remote=lambda shard: started.append("run")))

    def start_shards(coordinator: object) -> tuple[list[Any], list[Any]]:
        watcher.stop()  # the Ctrl-C, while the actors load the models
        return [worker], [object()]

    monkeypatch.setattr(watcher, "_start_coordinator", lambda: object())
    monkeypatch.setattr(watcher, "_start_shards", start_shards)
    with pytest.raises(KeyboardInterrupt):
        watcher.run()
    assert started == []
