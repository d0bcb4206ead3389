"""`scan --engine ray`: the same scan, one source (or one slice of a long file) per task, spread over a pool of
Ray actors.

The driver (the process that runs `scan`) expands the inputs and loads the gallery as a local scan does. It
ships the gallery snapshot (embeddings, authorizations, known footage) and the settings to the cluster once
(`ray.put`); each actor builds a `Scanner` on them, loading the models once, and scans the sources it is
handed with the local pipeline (`scan_source`). Results come back per source; the driver writes the
evidence crops (returned as JPEG bytes, so no node needs to share the evidence folder), orders the sources
as a local scan would, and judges `concurrent` across all of them with the local verdict code. Numbering
(`s3-a1`) is the local one, so a result equals a local run's except for its run timings.

A file longer than `RayOptions.slice_s` is cut into time slices scanned by different actors up to their tracks;
the driver joins the tracks across the boundaries and judges the joined file (pipeline/slices.py).

Every node needs this package and the model pack at the path the driver uses (docs/scale.md).
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import os
import socket
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from impersonation_cli.config import Config
from impersonation_cli.errors import UserError, check_threads
from impersonation_cli.gallery.store import Authorization, GalleryIndex
from impersonation_cli.io.rooms import Room
from impersonation_cli.io.sources import (
    SOURCE_ERRORS,
    SourceInfo,
    TimeWindow,
    expand_inputs,
    failure_reason,
    probe,
)
from impersonation_cli.io.threads import sigint_deferred
from impersonation_cli.outputs.evidence import write_evidence
from impersonation_cli.pipeline.scan import (
    ScanContext,
    ScanProgress,
    SourceInterrupted,
    add_concurrency,
    models_in_use,
    not_reached,
    room_for,
    scan_batch_source,
    scan_inputs,
    unscanned,
)
from impersonation_cli.pipeline.signals.replay import FootageIndex
from impersonation_cli.pipeline.slices import LostSlice, SliceScan, join_slices, scan_slice, slices_of
from impersonation_cli.results import EVIDENCE_FIELDS, Appearance, RunInfo, ScanResult, SourceResult

if TYPE_CHECKING:
    from impersonation_cli.api import Scanner
    from impersonation_cli.distributed.ray_watch import ShardOutcome

# ONNX Runtime devices that need a GPU on the node the actor runs on.
GPU_DEVICES = frozenset({"cuda", "tensorrt", "rocm"})
INSTALL_HINT = "pip install 'impersonation-cli[ray]'"
# Files longer than this many seconds are cut into slices of about as long (10 minutes: a slice's start-up, the
# seek and the first frames' full detection, is a small share of it, and a 10-hour file makes 60 tasks).
DEFAULT_SLICE_S = 600.0
MIN_SLICE_S = 10.0
# After Ctrl-C, how long the driver waits for the tasks in progress to stop at their next frame and send back
# what they found (a frame and the source's conclusion take well under a second on one core).
STOP_WAIT_S = 10.0


@dataclass(frozen=True)
class RayOptions:
    """Where the cluster is and how to use it.

    address: "auto" (the cluster `ray start --head` started on this machine, or $RAY_ADDRESS), "local" (start
    a cluster inside this process), HOST:PORT of a head node, or ray://HOST:PORT (Ray Client, `ray[client]`).
    """

    address: str = "auto"
    workers: int | None = None  # None: one per CPU of the cluster (one per GPU with a GPU device)
    device: str = "auto"
    threads: int = 1  # ONNX Runtime threads per model in each actor: an actor holds one CPU
    task_retries: int = 2  # a source whose actor dies is scanned again this many times, then reported unreadable
    pin_cores: bool = False  # confine actor i to core i mod cores (benchmarks: a worker really holds one core)
    slice_s: float = DEFAULT_SLICE_S  # cut files longer than this into slices of about as long; 0: never


@dataclass
class GallerySnapshot:
    """What every actor matches against, shipped once through the object store."""

    index: GalleryIndex
    authorizations: list[Authorization]
    footage: FootageIndex | None
    fps: float | None
    keep_evidence: bool


@dataclass
class SourceOutcome:
    """One source scanned by an actor: its result, its appearances, and their evidence crops as bytes keyed by
    the path relative to the evidence folder (the driver writes them; a file joined from slices has its evidence
    written by the driver already, and no crops here)."""

    result: SourceResult
    appearances: list[Appearance]
    crops: dict[str, bytes]


@dataclass(frozen=True)
class Task:
    """One actor's task: a whole source, or one slice of a long file."""

    number: int  # the source's, 1-based
    source: str
    window: TimeWindow | None = None  # None: the whole source
    part: int = 0  # the slice's place among its file's slices


class ScanWorker:
    """The body of one actor: the models, loaded once, and a Scanner on the shipped gallery snapshot."""

    def __init__(self, pack_folder: str, device: str, threads: int, config: Config, core: int | None) -> None:
        from impersonation_cli.runtime.engine import FaceEngine
        from impersonation_cli.runtime.packs import load_pack

        if core is not None:
            cores = sorted(os.sched_getaffinity(0))
            os.sched_setaffinity(0, {cores[core % len(cores)]})
        self.engine = FaceEngine(load_pack(pack_folder), device=device, detector=config.detector, threads=threads)
        self.config = config
        self.scanner: Scanner | None = None
        self.keep_evidence = False
        # Set by `stop`, which runs beside the task in progress (the actor has a second thread for it).
        self.stopped = threading.Event()

    def describe(self) -> dict[str, Any]:
        """The models that actually run here, to compare with the driver's settings."""
        return {"pid": os.getpid(), **models_in_use(self.engine)}

    def scan(self, source: str, number: int, room: Room | None, shipped: list[Any]) -> SourceOutcome:
        """Scan one source; its evidence crops come back as bytes, their paths relative to the evidence folder.
        After `stop` it ends at its next sampled frame with what it found so far, status "interrupted"."""
        scanner = self._scanner(shipped[0])
        with evidence_folder(self.keep_evidence) as folder:
            context = dataclasses.replace(scanner.context, evidence_dir=folder, progress=self._stop_point)
            try:
                result, appearances = scan_batch_source(source, number, 1, context, room, 0.0)
            except SourceInterrupted as stopped:
                result, appearances = stopped.result, stopped.appearances
            except KeyboardInterrupt:  # stopped before its first frame
                result, appearances = not_reached(source, room), []
            crops = take_crops(appearances, folder)
        return SourceOutcome(result, appearances, crops)

    def scan_slice(self, source: str, window: TimeWindow, shipped: list[Any]) -> SliceScan:
        """Scan one slice of a long file up to its tracks (the driver joins the slices); after `stop` it ends at
        its next sampled frame, `stopped`, with what it found so far."""
        return scan_slice(source, self._scanner(shipped[0]).context, window, self._stop_point)

    def stop(self) -> None:
        """Ctrl-C on the driver: the task in progress ends at its next sampled frame and returns what it found."""
        self.stopped.set()

    def _stop_point(self, reached: object) -> None:
        """Called after each sampled frame (with its `ScanProgress`, or a slice's frame time)."""
        if self.stopped.is_set():
            raise KeyboardInterrupt

    def _scanner(self, snapshot_ref: Any) -> Scanner:
        # The snapshot's reference comes inside a list, so Ray hands it over unresolved: it is fetched from the
        # object store once per actor (and again by an actor restarted after a crash), not once per source.
        if self.scanner is None:
            import ray

            from impersonation_cli.api import Scanner

            snapshot: GallerySnapshot = ray.get(snapshot_ref)
            context = ScanContext(
                engine=self.engine,
                index=snapshot.index,
                config=self.config,
                authorizations=snapshot.authorizations,
                fps=snapshot.fps,
                footage=snapshot.footage,
                keep_frames=snapshot.keep_evidence,  # for slices: the driver saves their evidence
            )
            self.scanner = Scanner(context)
            self.keep_evidence = snapshot.keep_evidence
        return self.scanner


def engine_options(
    engine: str,
    address: str | None,
    workers: int | None,
    device: str,
    threads: int | None,
    slice_s: float | None = None,
) -> RayOptions | None:
    """The CLI's `--engine/--address/--workers/--slice` (and `--device/--threads`, which the actors use): None
    for a local scan, else the Ray options; checked before any model is loaded.

    Raises:
        UserError: an unknown engine, Ray options without `--engine ray`, a worker count below 1, a slice
            length under MIN_SLICE_S (but 0), Ray missing, a HOST:PORT nobody listens on.
    """
    check_threads(threads)  # for a local scan too: `scan` reads 0 as its default after this
    if engine not in ("local", "ray"):
        raise UserError(f"--engine {engine!r}: choose local or ray")
    if engine == "local":
        if address is not None or workers is not None:
            raise UserError("--address and --workers need --engine ray")
        if slice_s is not None:
            raise UserError("--slice needs --engine ray")
        return None
    if workers is not None and workers < 1:
        raise UserError("--workers must be at least 1")
    if slice_s is not None and slice_s != 0 and not MIN_SLICE_S <= slice_s < float("inf"):
        raise UserError(f"--slice must be 0 (never cut a file) or at least {MIN_SLICE_S:g} seconds")
    import_ray()
    options = RayOptions(
        address=address or "auto",
        workers=workers,
        device=device,
        threads=threads or 1,
        slice_s=DEFAULT_SLICE_S if slice_s is None else slice_s,
    )
    _check_reachable(options.address)
    return options


def scan_runner(
    options: RayOptions | None,
) -> Callable[[list[str], ScanContext, Mapping[str, Room] | None], ScanResult]:
    """The `runner` for `Scanner.scan_sources` that `engine_options` asks for: `scan_inputs`, in this process,
    for None; else `scan_on_ray` on the cluster the options name."""
    return scan_inputs if options is None else functools.partial(scan_on_ray, options=options)


def scan_on_ray(
    inputs: list[str], context: ScanContext, rooms: Mapping[str, Room] | None, options: RayOptions
) -> ScanResult:
    """Scan `inputs` on a Ray cluster; the result is the one `scan_inputs` gives locally, timings aside.

    `context` is the driver's: its engine names the models in `settings` (the actors must run the same ones),
    and its `progress` is called as each source's result arrives. Ctrl-C keeps the sources finished so far,
    as a local scan does (the others get status "interrupted").

    Raises:
        UserError: Ray is not installed, the cluster cannot be reached or has too few CPUs/GPUs for the
            workers asked for, or an actor cannot load the models.
    """
    ray = import_ray()
    started = datetime.now(UTC)
    clock = time.perf_counter()
    rooms = rooms or {}
    sources, problems = expand_inputs(inputs, skip=[context.evidence_dir] if context.evidence_dir else [])
    # The inputs that name no readable file, and the settings block, come from the local scan itself (it
    # returns at once for such inputs), so that they match a local run's field for field.
    local = scan_inputs([p.source for p in problems], context, dict(rooms))
    outcomes: dict[int, SourceOutcome] = {}
    status = "complete"
    if sources:
        owned = False
        try:
            owned = connect(ray, options.address)  # in here: a Ctrl-C while joining is an interrupted scan too
            _scan_sources(ray, sources, context, rooms, options, outcomes)
        except KeyboardInterrupt:
            status = "interrupted"
        finally:
            disconnect(ray, owned)
    results = list(local.sources)
    appearances: list[Appearance] = []
    for number, source in enumerate(sources, start=1):
        outcome = outcomes.get(number)
        if outcome is None:
            results.append(not_reached(source, room_for(source, rooms)))
            continue
        write_crops(outcome, context.evidence_dir)
        results.append(outcome.result)
        appearances.extend(outcome.appearances)
    add_concurrency(results, appearances, context.config)
    elapsed = time.perf_counter() - clock
    video_seconds = sum(r.scanned_s for r in results if r.kind == "video")
    run = RunInfo.measured(started, elapsed, video_seconds, live=False)
    return ScanResult(settings=local.settings, sources=results, appearances=appearances, run=run, status=status)


def import_ray() -> Any:
    _send_local_token()  # before Ray is imported: it reads its authentication mode once
    try:
        import ray
    except ImportError as exc:
        raise UserError(f"--engine ray needs Ray, which is not installed ({exc}): {INSTALL_HINT}") from None
    return ray


def _check_reachable(address: str) -> None:
    """A HOST:PORT (given, or `auto`'s $RAY_ADDRESS) must answer as a cluster's GCS does, over gRPC: Ray itself
    retries an address nobody listens on, or one another kind of server holds, for ever, printing warnings and
    holding Ctrl-C back (it is deferred until ray.init returns)."""
    named = f"--address {address!r}"
    if address == "auto" and os.environ.get("RAY_ADDRESS", "auto") not in ("", "auto", "local"):
        address, named = os.environ["RAY_ADDRESS"], f"$RAY_ADDRESS {os.environ['RAY_ADDRESS']!r}"
    if address in ("auto", "local") or address.startswith("ray://"):
        return
    host, _, port = address.rpartition(":")
    if not host:  # ':6379': Ray printed its own traceback ('Malformed host') before refusing it
        raise UserError(f"{named}: give auto, local, HOST:PORT or ray://HOST:PORT")
    try:
        with socket.create_connection((host, int(port)), timeout=5) as connection:
            grpc = os.environ.get("RAY_USE_TLS", "0") not in ("0", "") or _answers_http2(connection)
    except ValueError:
        raise UserError(f"{named}: give auto, local, HOST:PORT or ray://HOST:PORT") from None
    except OSError as exc:
        raise UserError(f"cannot reach the Ray cluster at {address}: {exc.strerror or exc}") from None
    if not grpc:
        raise UserError(f"{named} is not a Ray cluster: what answers there is no gRPC server (Ray's GCS port)")


def _answers_http2(connection: socket.socket) -> bool:
    """Whether the server answers HTTP/2's client preface with a SETTINGS frame, as a gRPC server does (an HTTP/1
    server answers with text; a TLS one, checked only without RAY_USE_TLS, with nothing it takes for a frame)."""
    connection.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes([0, 0, 0, 4, 0, 0, 0, 0, 0]))
    try:
        head = connection.recv(9)
    except TimeoutError:
        return False
    return len(head) == 9 and head[3] == 4  # frame type 4: SETTINGS


# Scans and watches of this process using the Ray session that `connect` started: the last to leave shuts it
# down. A second scan's failed ray.init used to shut down the first one's cluster mid-scan (it ended SystemExit).
_session_lock = threading.Lock()
_session_users = 0


def connect(ray: Any, address: str) -> bool:
    """Join the cluster (or start one in this process for "local"), or fail in one line. Returns whether the
    session is this module's: one the caller had started in the process (a notebook's `ray.init()`) is used as
    it is, and left running (it was shut down, its actors lost, when a scan could not join another)."""
    global _session_users
    with _session_lock:
        if ray.is_initialized():
            if not _session_users:
                return False
            _session_users += 1
            return True
        try:
            _init(ray, address)
        except BaseException:  # a Ctrl-C held until ray.init returned, or a cluster refusing: nothing is left up
            if ray.is_initialized():
                with sigint_deferred(reraise=False):
                    ray.shutdown()
            raise
        _session_users = 1
        return True


def disconnect(ray: Any, owned: bool) -> None:
    """Leave the session `connect` gave; its last user shuts it down. Leaving the cluster takes seconds: a Ctrl-C
    then (pressed twice, or just as the last file came back) ended the scan with no result, every finished file
    lost. It is held and dropped: what finished is written either way, at once."""
    global _session_users
    if not owned:
        return
    with _session_lock:
        _session_users -= 1
        if not _session_users:
            with sigint_deferred(reraise=False):
                ray.shutdown()


def _init(ray: Any, address: str) -> None:
    _check_reachable(address)
    settings: dict[str, Any] = {"logging_level": logging.ERROR, "log_to_driver": False}
    if address == "local":
        from impersonation_cli.io.threads import usable_cores

        # A new cluster, whatever runs: with no address Ray joined the one `ray start` recorded (or
        # $RAY_ADDRESS) and refused num_cpus there ('... must not be provided'), so local failed beside a cluster.
        settings.update(address="local", num_cpus=usable_cores(), include_dashboard=False)
    else:
        settings["address"] = address
    _drop_raylet_messages()
    try:
        with sigint_deferred():
            ray.init(**settings)
    except (ConnectionError, RuntimeError, ValueError, ray.exceptions.RayError) as exc:
        if address == "auto":
            raise UserError(
                "no running Ray cluster found: start one with `ray start --head`, set RAY_ADDRESS, "
                "or use --address local"
            ) from None
        first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UserError(f"cannot reach the Ray cluster at {address}: {first_line}") from None


def _drop_raylet_messages() -> None:
    """Ray prints the raylet's messages (a worker died, its task is retried) on the driver's stdout, whatever
    `log_to_driver` says, where they would break `--json -` and `--alerts -`; the tool reports those events
    itself (a source retried or unreadable, a room's reconnect)."""
    from ray._private import worker

    printer = worker.print_to_stdstream
    if getattr(printer, "drops_raylet", False):
        return

    def print_but_raylet(data: dict[str, Any], ignore_prefix: bool) -> None:
        if data.get("pid") != "raylet":
            printer(data, ignore_prefix)

    print_but_raylet.drops_raylet = True  # type: ignore[attr-defined]
    worker.print_to_stdstream = print_but_raylet


def _send_local_token() -> None:
    """Authenticate with this machine's Ray token when there is one, as Ray does for --address auto only.

    Ray (2.60) turns token authentication on for clusters started where ~/.ray/auth_token exists
    (a local ray.init() writes one), but a driver given HOST:PORT sends the token only with RAY_AUTH_MODE=token
    in its environment when Ray is imported; a cluster without authentication accepts such a driver too.
    """
    token_file = Path(os.environ.get("RAY_AUTH_TOKEN_PATH") or Path.home() / ".ray" / "auth_token")
    if "RAY_AUTH_MODE" not in os.environ and (os.environ.get("RAY_AUTH_TOKEN") or token_file.is_file()):
        os.environ["RAY_AUTH_MODE"] = "token"


def start_actors(
    ray: Any, context: ScanContext, options: RayOptions, wanted: int, worker: type = ScanWorker, **settings: Any
) -> list[Any]:
    """`wanted` actors of `worker` (a ScanWorker; capped by --workers, default the cluster's CPUs or GPUs),
    returned once every one has loaded its models; `settings` add to or replace the actor options."""
    gpu = options.device in GPU_DEVICES
    unit = "GPU" if gpu else "CPU"
    capacity = int(ray.cluster_resources().get(unit, 0))
    workers = options.workers or capacity
    if workers > capacity:
        raise UserError(f"--workers {workers}: the Ray cluster has {capacity} {unit}s, and a worker holds one")
    actor_class = ray.remote(worker).options(
        num_cpus=1,
        num_gpus=1 if gpu else 0,
        max_restarts=-1,  # a dead actor always comes back; the task retries bound the work lost to one source
        max_concurrency=2,  # `stop` runs beside the task in progress
        **{"max_task_retries": options.task_retries, **settings},
    )
    folder = str(context.engine.pack.folder)
    actors = [
        actor_class.remote(folder, options.device, options.threads, context.config, n if options.pin_cores else None)
        for n in range(min(workers, wanted))
    ]
    try:
        described = ray.get([actor.describe.remote() for actor in actors])
    except ray.exceptions.RayError as exc:
        raise UserError(f"a Ray worker could not load the models: {failure_cause(exc)}") from None
    expected = models_in_use(context.engine)
    for facts in described:
        if {k: facts[k] for k in expected} != expected:
            theirs, ours = (", ".join(str(models[k]) for k in expected) for models in (facts, expected))
            raise UserError(
                f"a Ray worker runs other models ({theirs}) than this machine ({ours}): every node needs the pack "
                f"at {folder} and this version of impersonation-cli (its forgery model)"
            )
    return actors


def _scan_sources(
    ray: Any,
    sources: list[str],
    context: ScanContext,
    rooms: Mapping[str, Room],
    options: RayOptions,
    outcomes: dict[int, SourceOutcome],
) -> None:
    """Scan every task (a source, or a slice of a long one) on the actors, filling `outcomes` (by source number)
    as sources complete, so that an interrupted scan keeps what finished: on Ctrl-C (KeyboardInterrupt, raised
    again once done) the tasks in progress stop where they are and what they found is kept too."""
    snapshot = GallerySnapshot(
        index=context.index,
        authorizations=context.authorizations,
        footage=context.footage,
        fps=context.fps,
        keep_evidence=context.evidence_dir is not None,
    )
    shipped = [ray.put(snapshot)]  # held here until every source is done: a restarted actor fetches it again
    tasks = _tasks(sources, options.slice_s, context.sampling_fps)
    actors = start_actors(ray, context, options, len(tasks))
    pool = TaskPool(ray, actors, tasks, shipped, context, rooms, options.task_retries + 1, outcomes)
    try:
        pool.run()
    except KeyboardInterrupt:
        pool.stop()
        raise


class TaskPool:
    """The tasks of one Ray scan and the actors working on them: each idle actor is handed the next task, and
    what comes back is kept in `outcomes`, by source number (a long file's once all its slices are back)."""

    def __init__(
        self,
        ray: Any,
        actors: list[Any],
        tasks: list[Task],
        shipped: list[Any],
        context: ScanContext,
        rooms: Mapping[str, Room],
        tries: int,
        outcomes: dict[int, SourceOutcome],
    ) -> None:
        self.ray, self.idle, self.shipped = ray, list(actors), shipped
        self.waiting = deque(tasks)
        self.running: dict[Any, tuple[Any, Task]] = {}  # task reference -> (its actor, the task)
        self.sliced = SlicedFiles(tasks)
        # Read before any slice is scanned: a file removed while its slices ran could not be probed to join them,
        # and every slice, scanned to the end, was lost ('unreadable: no such file', no appearances).
        self.probed = _probed({task.number: task.source for task in tasks if task.window is not None})
        self.context, self.rooms, self.tries, self.outcomes = context, rooms, tries, outcomes
        self.source_count = len({task.number for task in tasks})
        self.video_done_s = 0.0

    def run(self, deadline: float | None = None) -> None:
        """Until every task is back, or (given a `time.monotonic()` deadline) until then."""
        while self.waiting or self.running:
            while self.idle and self.waiting:
                self._hand_out(self.idle.pop(), self.waiting.popleft())
            timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
            ready, _ = self.ray.wait(list(self.running), num_returns=1, timeout=timeout)
            if not ready:
                return
            actor, task = self.running.pop(ready[0])
            self.idle.append(actor)
            self._keep(ready[0], task)

    def stop(self) -> None:
        """Ctrl-C: no task more is handed out; the busy actors end theirs at their next sampled frame, and what
        comes back within STOP_WAIT_S is kept (a file interrupted, a slice scanned in part). A long file's slices
        that came back are joined, the others as lost to the interruption."""
        self.waiting.clear()
        for actor, _ in self.running.values():
            actor.stop.remote()
        try:
            self.run(deadline=time.monotonic() + STOP_WAIT_S)
        finally:  # a second Ctrl-C gives up waiting, not what came back
            for number, source, parts in self.sliced.interrupted():
                room = room_for(source, self.rooms)
                info = self.probed.get(number)
                self.outcomes[number] = _joined(source, number, self.context, room, parts, info, interrupted=True)

    def _hand_out(self, actor: Any, task: Task) -> None:
        if task.window is None:
            room = room_for(task.source, self.rooms)
            self.running[actor.scan.remote(task.source, task.number, room, self.shipped)] = (actor, task)
        else:
            self.running[actor.scan_slice.remote(task.source, task.window, self.shipped)] = (actor, task)

    def _keep(self, ready: Any, task: Task) -> None:
        """Keep what a task returned (a source's outcome, or a slice) and tell the progress callback."""
        room = room_for(task.source, self.rooms)
        if task.window is None:
            outcome = _fetched(self.ray, ready, functools.partial(_lost, task.source, room, self.tries))
            self.outcomes[task.number] = outcome
            time_s, duration_s = outcome.result.scanned_s, outcome.result.duration_s
            self.video_done_s += time_s if outcome.result.kind == "video" else 0.0
        else:
            part = _fetched(self.ray, ready, functools.partial(_lost_slice, task.window, self.tries))
            time_s, duration_s = task.window.start_s, None
            if isinstance(part, SliceScan):
                time_s = part.stats.last_time_s
                self.video_done_s += max(0.0, min(time_s, task.window.end_s or time_s) - task.window.start_s)
            complete = self.sliced.add(task, part)
            if complete is not None:
                info = self.probed.get(task.number)
                self.outcomes[task.number] = _joined(task.source, task.number, self.context, room, complete, info)
        if self.context.progress is not None:
            files = (len(self.outcomes), self.source_count)
            self.context.progress(ScanProgress(task.source, *files, time_s, duration_s, self.video_done_s))


class SlicedFiles:
    """The slices of the files cut into slices, kept as they come back until each file has all of its own."""

    def __init__(self, tasks: list[Task]) -> None:
        self._parts: dict[int, list[SliceScan | LostSlice | None]] = {}
        self._windows: dict[int, list[TimeWindow]] = {}  # each file's slices, in order
        self._sources: dict[int, str] = {}
        for task in tasks:
            if task.window is not None:
                self._parts.setdefault(task.number, []).append(None)
                self._windows.setdefault(task.number, []).append(task.window)
                self._sources[task.number] = task.source

    def add(self, task: Task, part: SliceScan | LostSlice) -> list[SliceScan | LostSlice] | None:
        """Keep one slice; the file's slices in time order once this was the last one out, else None."""
        parts = self._parts[task.number]
        parts[task.part] = part
        if any(p is None for p in parts):
            return None
        del self._parts[task.number]
        return [p for p in parts if p is not None]

    def interrupted(self) -> list[tuple[int, str, list[SliceScan | LostSlice]]]:
        """The files some but not all of whose slices came back (number, source, slices in time order), each
        slice still out as lost to the interruption."""
        files = []
        for number, parts in self._parts.items():
            if all(part is None for part in parts):
                continue
            windows = self._windows[number]
            kept = [
                LostSlice(window, "the scan was interrupted") if part is None else part
                for part, window in zip(parts, windows, strict=True)
            ]
            files.append((number, self._sources[number], kept))
        return files


def _fetched(ray: Any, ref: Any, lost: Callable[[Exception], Any]) -> Any:
    """A task's return value, or `lost(exc)` when Ray could not run it (its actor died on every try)."""
    try:
        return ray.get(ref)
    except ray.exceptions.RayError as exc:
        return lost(exc)


def _tasks(sources: list[str], slice_s: float, fps: float) -> list[Task]:
    """A task per source, and per slice of a file longer than `slice_s`."""
    tasks = []
    for number, source in enumerate(sources, start=1):
        windows = slices_of(source, slice_s, fps)
        if len(windows) == 1:
            tasks.append(Task(number, source))
        else:
            tasks += [Task(number, source, window, part) for part, window in enumerate(windows)]
    return tasks


def _probed(sources: dict[int, str]) -> dict[int, SourceInfo]:
    """What each file cut into slices is (`probe`), by source number; one that cannot be read now is left out."""
    found = {}
    for number, source in sources.items():
        try:
            found[number] = probe(source)
        except SOURCE_ERRORS:
            continue
    return found


def _joined(
    source: str,
    number: int,
    context: ScanContext,
    room: Room | None,
    parts: list[SliceScan | LostSlice],
    info: SourceInfo | None,
    interrupted: bool = False,
) -> SourceOutcome:
    """A file scanned in slices, joined in this process; its evidence is written here, to the evidence folder.
    `info` is the file's probe from before its slices ran (None: probed now)."""
    try:
        result, appearances = join_slices(info or probe(source), number, context, room, parts, interrupted)
    except SOURCE_ERRORS as exc:
        return SourceOutcome(unscanned(source, "unreadable", failure_reason(source, exc), room), [], {})
    except Exception as exc:  # a fault in one file's join must not cost the batch the others' results
        reason = f"{failure_reason(source, exc)} (an internal error: please report it)"
        return SourceOutcome(unscanned(source, "unreadable", reason, room), [], {})
    return SourceOutcome(result, appearances, {})


def _lost(source: str, room: Room | None, tries: int, exc: Exception) -> SourceOutcome:
    """A source no actor could finish: the actor died on it on every try (Ray restarted it and ran the task
    again each time), or the task failed in Ray itself."""
    return SourceOutcome(unscanned(source, "unreadable", f"{source}: {_lost_reason(tries, exc)}", room), [], {})


def _lost_slice(window: TimeWindow, tries: int, exc: Exception) -> LostSlice:
    return LostSlice(window, _lost_reason(tries, exc))


def _lost_reason(tries: int, exc: Exception) -> str:
    if isinstance(exc, import_ray().exceptions.RayActorError):
        return f"the Ray worker scanning it died on all {tries} tries ({failure_cause(exc)})"
    return f"{failure_cause(exc)} (an internal error: please report it)"


def failure_cause(exc: Exception) -> str:
    cause = getattr(exc, "cause", None) or exc
    text = str(cause).strip()
    return text.splitlines()[-1] if text else type(cause).__name__


@contextmanager
def evidence_folder(keep: bool) -> Iterator[Path | None]:
    """An actor's folder for a task's evidence pictures, removed after it (None where no evidence is kept: a
    folder made for nothing was left in the temp folder by every actor killed mid-task)."""
    if not keep:
        yield None
        return
    with tempfile.TemporaryDirectory(prefix="impersonation-evidence-") as folder:
        yield Path(folder)


def take_crops(appearances: list[Appearance], folder: Path | None) -> dict[str, bytes]:
    """The appearances' evidence pictures (crops and whole frames) saved under `folder` (an actor's temp folder),
    as bytes keyed by their paths relative to it, which the appearances now name: the driver writes them
    (`write_crops`)."""
    crops: dict[str, bytes] = {}
    if folder is None:
        return crops
    for appearance in appearances:
        for name in EVIDENCE_FIELDS:
            evidence = getattr(appearance, name)
            if evidence is not None and evidence.path is not None:
                relative = Path(evidence.path).relative_to(folder).as_posix()
                crops[relative] = Path(evidence.path).read_bytes()
                evidence.path = relative
    return crops


def write_crops(outcome: SourceOutcome | ShardOutcome, folder: Path | None) -> None:
    """Write an outcome's evidence pictures under `folder` and point its appearances at them; one that cannot
    be written is left out, as in a local scan (`write_evidence`)."""
    for appearance in outcome.appearances:
        for name in EVIDENCE_FIELDS:
            evidence = getattr(appearance, name)
            if folder is None or evidence is None or evidence.path not in outcome.crops:
                continue
            setattr(appearance, name, write_evidence(folder / evidence.path, outcome.crops[evidence.path], evidence))


__all__ = ["RayOptions", "engine_options", "scan_on_ray"]
