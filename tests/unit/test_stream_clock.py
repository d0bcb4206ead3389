"""Stream times as tables, notices, the HTML report and JUnit print them (`outputs.table.clock`): a time that
rounds up to the next minute carries into it. 59.96 s read '0:60.0' and 119.97 s '1:60.0' in a takedown draft."""

from __future__ import annotations

import pytest

from impersonation_cli.outputs.table import clock


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (0.0, "0:00.0"),
        (-3.0, "0:00.0"),
        (59.94, "0:59.9"),
        (59.96, "1:00.0"),
        (119.97, "2:00.0"),
        (61.25, "1:01.2"),
        (3599.97, "1:00:00.0"),
        (3725.5, "1:02:05.5"),
    ],
)
def test_a_time_is_shown_in_minutes_and_tenths_carrying_up(seconds: float, shown: str) -> None:
    assert clock(seconds) == shown


def test_a_huge_time_is_still_shown() -> None:
    assert clock(1e12) == "277777777:46:40.0"
