"""Pipeline stages that run ahead in their own threads, and how many threads each stage's work gets.

A scan is a chain of stages (decode -> detect -> embed, track, measure); each stage depends on its own
previous frame, not on the later stages, so decoding the next frames and detecting faces in them can go on
while the current frame is embedded and measured. PyAV's decoder and ONNX Runtime release the GIL, so the
stages run on separate cores. On a small machine single-threaded stages side by side beat multi-threaded ones
in turn: a second thread makes an inference finish sooner but costs more CPU time in all, and with two busy
stages side by side the cores are full anyway (figures: docs/benchmark.md, "One thread per stage").
"""

from __future__ import annotations

import os
import queue
import signal
import threading
from collections.abc import Generator, Iterator
from contextlib import contextmanager
from typing import TypeVar, cast

from impersonation_cli.errors import check_threads

Item = TypeVar("Item")

_END = object()


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity, which containers and taskset narrow)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def threads_per_stage() -> int:
    """Threads for one stage's work (an inference, the decoder): half the cores, since a scan runs two busy
    stages at once (decoding beside detection, detection beside recognition)."""
    return max(1, usable_cores() // 2)


def threads_or_default(threads: int | None, name: str = "--threads") -> int:
    """A thread count given (checked: at least 1), else `threads_per_stage()`."""
    check_threads(threads, name)
    return threads or threads_per_stage()


def run_ahead(items: Iterator[Item], depth: int = 2, name: str = "stage-ahead") -> Generator[Item, None, None]:
    """The same items, produced ahead in a thread while the caller works on the current one.

    At most `depth` items wait; an error raised while producing (an unreadable input) reaches the caller in
    order, and a caller that stops early stops the thread (and closes `items`).
    """
    slots: queue.Queue[object] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def offer(item: object) -> bool:
        while not stop.is_set():
            try:
                slots.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not offer(item):
                    return
            offer(_END)
        except Exception as exc:  # handed to the consumer, which raises it in its own thread
            offer(exc)
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()

    worker = threading.Thread(target=produce, name=name, daemon=True)
    worker.start()
    try:
        while (item := slots.get()) is not _END:
            if isinstance(item, Exception):
                raise item
            yield cast(Item, item)
    finally:
        stop.set()
        worker.join(timeout=5)


@contextmanager
def sigint_deferred(reraise: bool = True) -> Iterator[None]:
    """Hold a Ctrl-C (SIGINT) back until the block has run, then deliver it to the handler the program had
    (Python's default raises KeyboardInterrupt; `reraise` False: drop it), for work that must not stop half-way:
    interrupted inside ray.init, Ray left the processes of the cluster it was starting running with no parent, and
    at times the driver died of SIGSEGV (exit -11, no result written); a frame half-added to a scan's tracks could
    not be concluded. Raised as KeyboardInterrupt whatever the handler, it interrupted a library caller's scan
    that ignored SIGINT or had its own handler, which was never called. Outside the main thread (where no signal
    handler can be set) the block runs as it is."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda number, frame: caught.append(number))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if caught and reraise:
        signal.raise_signal(signal.SIGINT)  # to `previous`: ignored, the program's handler, or KeyboardInterrupt
