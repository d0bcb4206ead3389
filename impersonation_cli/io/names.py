"""File names as they are shown and written: the bytes of a name that are not UTF-8 as visible `\\xNN` escapes.

On Linux a file name is bytes, and Python holds those that are not UTF-8 as lone surrogates (`os.fsdecode`:
b'clip\\xff.mp4' is 'clip\\udcff.mp4'). The path keeps them, so the file still opens. Written as they are, a JSON
document held '\\udcff', a lone surrogate that strict JSON parsers and UTF-8 itself refuse, and a terminal showed
U+FFFD, which loses the byte. Shown and written, each such byte is the four characters `\\xff`, as
`os.fsencode(name).decode("utf-8", "backslashreplace")` gives and as the consoles show a control character
(`\\x1b`): valid text everywhere, and the byte still readable. No imports from the package: the result format
(`results.py`) uses it too.
"""

from __future__ import annotations

import re

_SURROGATE = re.compile("[\ud800-\udfff]")
# What `_visible` writes for a byte that is not UTF-8 (0x80-0xff, always two lower-case hex digits).
_SHOWN_BYTE = re.compile(r"\\x([89a-f][0-9a-f])")
# surrogateescape's stand-ins for the bytes 0x80-0xff that are not UTF-8.
_BYTES = range(0xDC80, 0xDD00)


def shown_name(text: str) -> str:
    """`text` with each byte that is not UTF-8 as `\\xNN`; any other lone surrogate (JSON's '\\ud800' in a
    hand-edited result: no file's byte) as `\\uNNNN`."""
    return _SURROGATE.sub(_visible, text)


def shown_json(text: str) -> str:
    """JSON text (json.dumps with ensure_ascii=False) with every lone surrogate in its strings written as
    `shown_name` shows it, the backslash escaped: the string reads back as the visible `\\xff`."""
    return _SURROGATE.sub(lambda found: "\\" + _visible(found), text)


def name_from_shown(shown: str) -> str:
    """The name `shown_name` showed as `shown`: each `\\xNN` of a byte 0x80-0xff read back as that byte (as Python
    holds it: a surrogate, which `os.fsencode` turns into the byte). For opening a file whose name a JSON document
    holds (an evidence crop in a folder named in bytes), never for showing. A name that really holds a backslash,
    `x` and two such hex digits is shown the same way: try `shown` as written first."""
    return _SHOWN_BYTE.sub(lambda found: chr(0xDC00 + int(found.group(1), 16)), shown)


def _visible(found: re.Match[str]) -> str:
    code = ord(found.group())
    return f"\\x{code - 0xDC00:02x}" if code in _BYTES else f"\\u{code:04x}"
