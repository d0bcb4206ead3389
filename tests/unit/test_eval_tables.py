"""What `eval` prints: dataset and identity names are the manifest's text, never read as Rich markup (a group
'real/[/held-out]' ended eval with an internal error before its JSON was written; '[ffpp]' vanished)."""

from __future__ import annotations

import dataclasses
import io

import pytest
from rich.console import Console
from rich.table import Table

from impersonation_cli.outputs.eval_tables import class_table, few_cases_note, group_table
from impersonation_cli.tools.evaluation import ClassMetric, GroupAuc

NAMES = ["real/[/held-out]", "fake/[ffpp] deepfakes", "swaps [/]", "[link=https://x.example]click[/link]"]


def rendered(table: Table) -> str:
    console = Console(file=io.StringIO(), width=200, color_system=None)
    console.print(table)
    return console.file.getvalue()  # type: ignore[attr-defined]


@pytest.mark.parametrize("name", NAMES)
def test_a_dataset_name_is_printed_as_written(name: str) -> None:
    row = GroupAuc(name, "synthetic", "face_forgery", 0.5, (0.1, 0.9), 3, 4, 0, 0, 0)
    assert name in rendered(group_table([row]))


@pytest.mark.parametrize("name", NAMES)
def test_an_identity_name_is_printed_as_written(name: str) -> None:
    assert name in rendered(class_table([ClassMetric(name, 1, 0, 0)]))


def test_intervals_over_few_cases_carry_a_note() -> None:
    """1 fake ranked above 1 real: '1.000 [1.00, 1.00]', certainty from two clips, with no word of caution."""
    few = GroupAuc("fake/x", "synthetic", "face_forgery", 1.0, (1.0, 1.0), 1, 1, 0, 0, 0)
    many = GroupAuc("fake/y", "synthetic", "face_forgery", 0.8, (0.6, 0.9), 10, 30, 0, 0, 0)
    note = few_cases_note([], [many, few])
    assert note is not None and "fewer than 10 fakes or reals" in note.plain
    assert few_cases_note([], [many]) is None
    assert few_cases_note([], [dataclasses.replace(few, auc=None)]) is None  # a row of reals only has no interval
