"""What reaches the terminal: one sanitiser for every printed string, and consoles that never wrap a pipe.

File names, room names, person names and error messages come from outside. Printed raw, `douyin:a\\x1b[2J`
clears the screen and a name holding U+202E reverses the line; so every console here escapes control and
bidirectional-override characters in everything it renders (`\\x1b` appears as the four characters `\\x1b`).
"""

from __future__ import annotations

import contextlib
import io
import os
import re
from collections.abc import Iterable
from typing import TextIO

from rich.console import Console, ConsoleOptions, Group, RenderableType
from rich.segment import Segment
from rich.table import Table
from rich.text import Text

from impersonation_cli.io.names import shown_name

# C0 and C1 controls and DEL, except tab and newline (rich lays out lines with them), the line and paragraph
# separators (line breaks to str.splitlines() and editors reading a log), and the invisible characters that
# reorder or hide text: bidi embeddings, overrides and isolates, zero-width marks, the soft hyphen. Not the
# zero-width non-joiner and joiner (U+200C, U+200D): names are spelt with them (Persian, Indic scripts, emoji
# sequences), which every line showed as \u200c.
# Lone surrogates too: a file name's bytes that are not UTF-8, shown as \xNN as every output shows them (io/names.py).
_INVISIBLE = "\xad\u200b\u200e\u200f\u2028-\u202e\u2060-\u2069\ufeff\ud800-\udfff"
_UNSAFE_IN_LINES = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{_INVISIBLE}]")
_UNSAFE = re.compile(f"[\x00-\x1f\x7f-\x9f{_INVISIBLE}]")
# Off a terminal nothing is wrapped: one record per line, however long (a table is as wide as its content).
UNWRAPPED_WIDTH = 100_000


def _escaped(found: re.Match[str]) -> str:
    code = ord(found.group())
    if 0xD800 <= code <= 0xDFFF:
        return shown_name(found.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


# An error line's length at most: a config value 900,000 characters long was quoted whole in its error.
MAX_ERROR_CHARS = 2000


def shortened(text: str, limit: int = MAX_ERROR_CHARS) -> str:
    """`text` cut in the middle to about `limit` characters, saying how much went: its start names what is wrong,
    its end often says where (the settings file)."""
    if len(text) <= limit:
        return text
    head, tail = limit * 3 // 4, limit // 4
    return f"{text[:head]} ... ({len(text) - head - tail} characters not shown) ... {text[-tail:]}"


def printable(text: str) -> str:
    """`text` on one line with every control character escaped: for a name or file name inside a message."""
    return _UNSAFE.sub(_escaped, text)


def one_line(text: str, style: str = "") -> Text:
    """`text` as one line of rich Text, control characters escaped: for every name, file name, URL or room inside
    a printed line or a table cell. A Text is never read as markup, but it keeps a newline (which would forge a
    line or split a row) and rich drops a carriage return silently: `printable` shows both."""
    return Text(printable(text), style=style)


def titled(title: str, table: Table) -> Group:
    """`table` under `title` on a line of its own: rich wraps a table's own title to the table's width, which
    broke a long gallery path mid-word even off a terminal, where nothing else is wrapped."""
    return Group(one_line(title, style="table.title"), table)


def printable_lines(text: str) -> str:
    """`text` with control characters escaped, newlines and tabs kept."""
    return _UNSAFE_IN_LINES.sub(_escaped, text)


def escape_unencodable(*streams: TextIO | None) -> None:
    """Text streams whose encoding is not UTF-8 (a Latin-1 locale) write what they cannot encode as `\\uXXXX`:
    a CJK name in a table ended the scan with an internal error (exit 4). Machine outputs go out as UTF-8 bytes
    whatever the locale (`io.atomic_write.write_stdout`)."""
    for stream in streams:
        encoding = (getattr(stream, "encoding", None) or "utf-8").lower().replace("-", "")
        if encoding != "utf8" and isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="backslashreplace")


class SafeConsole(Console):
    """A rich Console that escapes control characters in all it renders (its own cursor and style codes,
    which rich emits as control segments and styles, are untouched), and that does not wrap off a terminal."""

    def __init__(self, *, stderr: bool = False) -> None:
        super().__init__(stderr=stderr, soft_wrap=False)
        if not self.is_terminal:
            self.width = UNWRAPPED_WIDTH

    def on_broken_pipe(self) -> None:
        """A reader that stopped reading (`| head -1`): the rest of what this console prints is dropped and the
        command ends as it would have. rich's own answer exits 1, which says 'found': a scan of an unreadable
        file (3) and a healthy doctor (0) so ended 1, whichever line the reader stopped at."""
        self.quiet = True
        with contextlib.suppress(AttributeError, OSError, ValueError):  # a stream with no descriptor: nothing to do
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self.file.fileno())  # so that the interpreter's last flush does not fail either
            os.close(devnull)

    def render(self, renderable: RenderableType, options: ConsoleOptions | None = None) -> Iterable[Segment]:
        for segment in super().render(renderable, options):
            if segment.control or not _UNSAFE_IN_LINES.search(segment.text):
                yield segment
            else:
                yield Segment(printable_lines(segment.text), segment.style)
