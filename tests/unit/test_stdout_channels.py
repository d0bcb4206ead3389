"""stdout as CI jobs meet it: a locale that is not UTF-8, a reader that stops reading, a closed descriptor.

- Under a Latin-1 locale `--jsonl -` was written in Latin-1 (not the UTF-8 the formats promise), and a CJK
  name ended the scan with an internal error, exit 4, stdout empty; the table failed the same way.
- `scan ... | head -1` ended 1 ('found') whatever was found: rich's answer to a broken pipe is to exit 1.
- `--json - >&-` dropped the result without a word, exit 1."""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path

import pytest

from impersonation_cli.errors import UserError
from impersonation_cli.outputs.console import SafeConsole, escape_unencodable
from impersonation_cli.outputs.files import write_outputs

from .builders import appearance, scan_result


def latin1_stdout() -> io.TextIOWrapper:
    return io.TextIOWrapper(io.BytesIO(), encoding="latin-1", write_through=True)


def test_machine_output_on_stdout_is_utf8_whatever_the_locale(monkeypatch: pytest.MonkeyPatch) -> None:
    stdout = latin1_stdout()
    monkeypatch.setattr(sys, "stdout", stdout)
    write_outputs(scan_result([appearance("李 Éileen")]), Path("-"), None)
    text = stdout.buffer.getvalue().decode("utf-8")  # type: ignore[attr-defined]
    assert '"identity": "李 Éileen"' in text


def test_a_console_of_another_encoding_escapes_what_it_cannot_write() -> None:
    stdout = latin1_stdout()
    escape_unencodable(stdout)
    stdout.write("李 Éileen\n")
    assert stdout.buffer.getvalue() == "\\u674e Éileen\n".encode("latin-1")  # type: ignore[attr-defined]


def test_a_reader_that_stops_reading_does_not_end_the_command() -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)
    console = SafeConsole()
    console.file = os.fdopen(write_end, "w")
    try:
        console.print("a line nobody reads")  # rich's handler raised SystemExit(1) here
        assert console.quiet
    finally:
        console.file.close()


def test_a_result_for_a_closed_stdout_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdout", None)
    with pytest.raises(UserError, match=r"^cannot write the result to stdout \('-'\): stdout is closed$"):
        write_outputs(scan_result([appearance()]), Path("-"), None)
