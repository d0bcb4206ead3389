"""The fast tier: no models, no media, no scan. `python -m pytest tests/unit -q` runs it in seconds.

Every test here is marked `unit`; a test that asks for one of the slow tier's fixtures (the installed models,
the shared media, the CLI's environment) is refused at collection, so the tier stays fast by construction.
"""

from __future__ import annotations

from pathlib import Path

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
