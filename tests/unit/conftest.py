"""The fast tier: no models, no media, no scan. `python -m pytest tests/unit -q -n 2` runs it in seconds.

Every test here is marked `unit`; a test that asks for one of the slow tier's fixtures (the installed models,
the shared media, the CLI's environment) is refused at collection, so the tier stays fast by construction.
"""

from __future__ import annotations

import sqlite3
import sys
import types
from pathlib import Path
from typing import Any

import pytest

UNIT_FOLDER = Path(__file__).resolve().parent
# Fixtures of tests/conftest.py and the report fixtures that install models, read ../shared or run a scan.
SLOW_FIXTURES = frozenset(
    {"model_root", "pack_name", "engine", "media", "cli_env", "hamilton_report", "hostile_report", "hamilton_gallery"}
)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "unit: the fast tier (tests/unit): no models, no media, under 15 s in all")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if UNIT_FOLDER not in Path(item.path).resolve().parents:
            continue
        item.add_marker(pytest.mark.unit)
        slow = sorted(SLOW_FIXTURES.intersection(getattr(item, "fixturenames", ())))
        if slow:
            raise pytest.UsageError(f"{item.nodeid} is in the fast tier but uses {', '.join(slow)}: move it out")


class _UnsyncedSqlite(types.ModuleType):
    """sqlite3, whose file connections do not wait for the disk (PRAGMA synchronous = OFF): what SQLite syncs
    matters only if the machine loses power, which no test here does. Making and closing a gallery synced it 9
    times (fdatasync): 10-60 ms a gallery on a busy disk, 3.6 of the 5.1 s the gallery test files took."""

    def __getattr__(self, name: str) -> Any:
        return getattr(sqlite3, name)

    @staticmethod
    def connect(database: Any, *args: Any, **kwargs: Any) -> sqlite3.Connection:
        connection = sqlite3.connect(database, *args, **kwargs)
        if database != ":memory:" and not kwargs.get("uri"):  # the galleries written (read-only ones are URIs)
            connection.execute("PRAGMA synchronous = OFF")
        return connection


UNSYNCED_SQLITE = _UnsyncedSqlite("sqlite3")


@pytest.fixture(autouse=True)
def _galleries_not_synced_to_disk(monkeypatch: pytest.MonkeyPatch) -> None:
    store = sys.modules.get("impersonation_cli.gallery.store")  # imported by the tests that make galleries
    if store is not None:
        monkeypatch.setattr(store, "sqlite3", UNSYNCED_SQLITE)
