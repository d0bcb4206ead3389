"""Which Ray session a scan or watch uses, and which address it may join, without Ray.

- A session the caller started (a notebook's `ray.init()`) was shut down by a scan that could not join its own
  cluster ('Maybe you called ray.init twice by accident?'), the caller's actors lost; and a second scan's failed
  join shut down the first one's cluster mid-scan, which then ended in SystemExit.
- `RAY_ADDRESS=127.0.0.1:1`, or an address where some other server listens, made `ray.init` retry for ever, its
  warnings repeating and Ctrl-C held until it returned: `--engine ray` never ended."""

from __future__ import annotations

import http.server
import socket
import threading
from collections.abc import Iterator
from types import SimpleNamespace

import pytest

from impersonation_cli.distributed import ray_scan
from impersonation_cli.errors import UserError


class FakeRay:
    def __init__(self, initialized: bool = False) -> None:
        self.initialized, self.calls = initialized, []
        self.exceptions = SimpleNamespace(RayError=RuntimeError)

    def is_initialized(self) -> bool:
        return self.initialized

    def init(self, **settings: object) -> None:
        self.calls.append("init")
        self.settings = settings
        self.initialized = True

    def shutdown(self) -> None:
        self.calls.append("shutdown")
        self.initialized = False


@pytest.fixture(autouse=True)
def no_session_yet(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ray_scan, "_drop_raylet_messages", lambda: None)
    monkeypatch.setattr(ray_scan, "_session_users", 0)  # another test's watcher, never left, would count


def test_a_session_the_caller_started_is_used_and_left_running() -> None:
    ray = FakeRay(initialized=True)
    owned = ray_scan.connect(ray, "auto")
    ray_scan.disconnect(ray, owned)
    assert (owned, ray.calls, ray.initialized) == (False, [], True)


def test_the_session_a_scan_started_ends_with_its_last_user() -> None:
    ray = FakeRay()
    first, second = ray_scan.connect(ray, "local"), ray_scan.connect(ray, "local")
    ray_scan.disconnect(ray, first)
    assert ray.calls == ["init"] and ray.initialized  # the other scan still runs on it
    ray_scan.disconnect(ray, second)
    assert ray.calls == ["init", "shutdown"]


@pytest.fixture()
def http1_port() -> Iterator[int]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


@pytest.fixture()
def http2_port() -> Iterator[int]:
    """A server answering HTTP/2's client preface with an empty SETTINGS frame, as a gRPC server (Ray's GCS) does."""
    listener = socket.create_server(("127.0.0.1", 0))

    def answer() -> None:
        connection, _ = listener.accept()
        with connection:
            connection.recv(24 + 9)
            connection.sendall(bytes([0, 0, 0, 4, 0, 0, 0, 0, 0]))

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    thread.join(5)
    listener.close()


def test_an_address_where_another_server_listens_is_refused(http1_port: int) -> None:
    with pytest.raises(UserError, match=rf"^--address '127.0.0.1:{http1_port}' is not a Ray cluster: "):
        ray_scan._check_reachable(f"127.0.0.1:{http1_port}")


def test_auto_checks_the_ray_address_of_the_environment(monkeypatch: pytest.MonkeyPatch, http1_port: int) -> None:
    closed = socket.create_server(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()  # nobody listens there now
    monkeypatch.setenv("RAY_ADDRESS", f"127.0.0.1:{port}")
    with pytest.raises(UserError, match=rf"^cannot reach the Ray cluster at 127.0.0.1:{port}: "):
        ray_scan._check_reachable("auto")
    monkeypatch.setenv("RAY_ADDRESS", f"127.0.0.1:{http1_port}")
    with pytest.raises(UserError, match=r"^\$RAY_ADDRESS '127.0.0.1:\d+' is not a Ray cluster"):
        ray_scan._check_reachable("auto")


def test_a_grpc_server_is_taken_for_a_cluster(http2_port: int) -> None:
    ray_scan._check_reachable(f"127.0.0.1:{http2_port}")


def test_local_starts_a_cluster_of_its_own_beside_a_running_one(monkeypatch: pytest.MonkeyPatch) -> None:
    """With no address Ray joins the cluster `ray start` recorded (or $RAY_ADDRESS) and refuses num_cpus there:
    `--address local` failed on every machine running Ray ('cannot reach the Ray cluster at local')."""
    monkeypatch.setenv("RAY_ADDRESS", "127.0.0.1:1")
    ray = FakeRay()
    ray_scan.disconnect(ray, ray_scan.connect(ray, "local"))
    assert ray.settings["address"] == "local" and "num_cpus" in ray.settings


@pytest.mark.parametrize("address", [":6379", ":"])
def test_an_address_without_a_host_is_refused_in_one_line(address: str) -> None:
    with pytest.raises(UserError, match="give auto, local, HOST:PORT or ray://HOST:PORT"):
        ray_scan._check_reachable(address)  # Ray printed a traceback ('Malformed host') before its refusal
