"""An integer of over 4300 digits in a file the tool reads: Python refuses to convert it with a ValueError that is
not the parser's own error. A config file holding one ended 'internal error: ValueError: Exceeds the limit (4300
digits) for integer string conversion ...' (exit 4; Scanner.open raised the ValueError), and a rooms file, gallery
export or result file said Python's advice to programmers: '...; use sys.set_int_max_str_digits() to increase the
limit'. Each is now a one-line UserError naming the file and the number."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from impersonation_cli.config import load_config
from impersonation_cli.errors import UserError, parse_error
from impersonation_cli.gallery.store import read_export
from impersonation_cli.io.rooms import load_rooms
from impersonation_cli.results import ScanResult

HUGE = "1" + "0" * 5000

CASES: list[tuple[str, str, Callable[[Path], object], str]] = [
    ("c.toml", f"[scan]\nfps = {HUGE}\n", load_config, "is not valid TOML"),
    (
        "rooms.json",
        f'{{"rooms": [{{"url": "a.mp4", "room": "douyin:1", "n": {HUGE}}}]}}',
        load_rooms,
        "cannot be parsed",
    ),
    ("rooms.toml", f'[[rooms]]\nurl = "a.mp4"\nroom = "douyin:1"\nn = {HUGE}\n', load_rooms, "cannot be parsed"),
    ("export.json", f'{{"format": "impersonation-cli/gallery-export", "version": {HUGE}}}', read_export, "cannot read"),
    ("result.json", f'{{"schema": "impersonation-cli/scan", "n": {HUGE}}}', ScanResult.load, "not JSON"),
]


@pytest.mark.parametrize(("name", "text", "read", "said"), CASES, ids=[case[0] for case in CASES])
def test_a_number_of_thousands_of_digits_is_a_one_line_user_error(
    tmp_path: Path, name: str, text: str, read: Callable[[Path], object], said: str
) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(UserError) as refused:
        read(path)
    message = str(refused.value)
    assert said in message and message.endswith("a number of 5001 digits; at most 4300 are read"), message
    assert "sys." not in message and "\n" not in message


def test_other_parse_errors_keep_their_first_line() -> None:
    assert parse_error(ValueError("Expecting value: line 1 column 1 (char 0)\nmore")) == (
        "Expecting value: line 1 column 1 (char 0)"
    )
    assert parse_error(ValueError()) == "ValueError"
