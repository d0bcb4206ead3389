"""Fixtures of the end-to-end tier: a real Ray head node for the `--engine ray` tests (test_ray, test_ray_watch).

The cluster is a real head node (`ray start --head --block`, 2 CPUs, in a temp dir; the tests reach it at
127.0.0.1), started once per test module and stopped by signalling the process the fixture started. Its node
address is left to Ray: a head told `--node-ip-address=127.0.0.1` is not found by a driver on the same
machine, which Ray resolves to the machine's own address.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ..conftest import unavailable

RAY_START_TIMEOUT_S = 120


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_head(ray_cli: Path, port: int) -> tuple[subprocess.Popen[str] | None, list[str]]:
    """`ray start --head --block`, read until it says the runtime started (the raylet too, not just the GCS's
    port: a driver that connects before the raylet is up fails); then its output is drained in a thread.
    Returns the process, or None and its last lines when it exited first."""
    # A short temp dir: Ray's unix sockets live under it and their paths may not exceed 107 characters.
    temp_dir = tempfile.mkdtemp(prefix="ray-", dir="/tmp")
    options = [f"--port={port}", "--num-cpus=2", "--include-dashboard=false", "--disable-usage-stats"]
    # The raylet waits for its metrics agent (a Python process) only ~17 s by default, then aborts: on a machine
    # loaded by other work the agent can take longer to start.
    env = {**os.environ, "RAY_agent_register_timeout_ms": "120000"}
    head = subprocess.Popen(
        [str(ray_cli), "start", "--head", "--block", *options, f"--temp-dir={temp_dir}"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    started = threading.Event()
    said: list[str] = []

    def read() -> None:
        for line in head.stdout or ():
            said.append(line.rstrip())
            if "Ray runtime started" in line:
                started.set()

    threading.Thread(target=read, daemon=True).start()
    deadline = time.monotonic() + RAY_START_TIMEOUT_S
    while not started.wait(0.2):
        if head.poll() is not None or time.monotonic() > deadline:
            stop_head(head)
            return None, said[-15:]
    return head, said


def stop_head(head: subprocess.Popen[str]) -> None:
    # `ray start --block` stops the processes it started when it is signalled.
    head.send_signal(signal.SIGTERM)
    try:
        head.wait(timeout=90)
    except subprocess.TimeoutExpired:
        os.killpg(head.pid, signal.SIGKILL)
        head.wait()


@dataclass(frozen=True)
class RayHead:
    address: str
    pid: int  # the `ray start` process, which leads the session of every process of the cluster


@pytest.fixture(scope="module")
def ray_head() -> Iterator[RayHead]:
    """A Ray head started for these tests (2 CPUs: two workers)."""
    ray_cli = Path(sys.executable).parent / "ray"
    if not ray_cli.exists():
        unavailable(f"Ray is not installed in this environment ({ray_cli} is absent): pip install -e '.[ray]'")
    # Ray gives its raylet 30 s to register (a fixed limit): on a machine loaded by other work it may miss it.
    for _ in range(3):
        port = free_port()
        head, said = start_head(ray_cli, port)
        if head is not None:
            break
    else:
        pytest.fail("ray start --head failed three times; its last lines:\n" + "\n".join(said))
    try:
        yield RayHead(f"127.0.0.1:{port}", head.pid)
    finally:
        stop_head(head)


def in_session(pid: int, session: int) -> bool:
    try:
        return os.getsid(pid) == session
    except OSError:
        return False
