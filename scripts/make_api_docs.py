"""Write the reference part of docs/api.md from the public names' signatures and docstrings.

    python scripts/make_api_docs.py           # rewrite the reference section of docs/api.md
    python scripts/make_api_docs.py --check   # exit 1 when it is out of date (tests/unit/test_api.py checks too)

The public names are `impersonation_cli.__all__`; `Scanner` comes first, with each of its public methods and
properties. The text above the reference section is written by hand and left as it is.
"""

from __future__ import annotations

import argparse
import dataclasses
import enum
import inspect
import json
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import impersonation_cli
from impersonation_cli import Scanner

API_DOC = Path(__file__).resolve().parents[1] / "docs" / "api.md"
BEGIN = "<!-- reference: written by scripts/make_api_docs.py from the docstrings; edit those, not this -->"
END = "<!-- end of reference -->"
# A signature longer than this is written one parameter a line.
ONE_LINE_LIMIT = 100
SECTION = re.compile(r"^(Args|Arguments|Returns|Raises|Yields|Attributes):$")
ENTRY = re.compile(r"^(\*{0,2}\w+): (.*)$")


def annotation_text(annotation: Any) -> str:
    """An annotation as written in the source (the package uses postponed annotations: they are strings)."""
    return annotation if isinstance(annotation, str) else inspect.formatannotation(annotation)


def parameter_texts(signature: inspect.Signature) -> list[str]:
    texts, marked_keyword_only = [], False
    for parameter in signature.parameters.values():
        if parameter.name in ("self", "cls"):
            continue
        if parameter.kind is parameter.KEYWORD_ONLY and not marked_keyword_only:
            texts.append("*")
            marked_keyword_only = True
        text = parameter.name
        if parameter.annotation is not parameter.empty:
            text += f": {annotation_text(parameter.annotation)}"
        if parameter.default is not parameter.empty:
            text += f" = {default_text(parameter.default)}"
        texts.append(text)
    return texts


def default_text(value: Any) -> str:
    """A default as a reader would write it: a function by its name (its repr holds a memory address)."""
    return value.__name__ if inspect.isfunction(value) else repr(value)


def dataclass_field_texts(cls: type) -> list[str]:
    texts = []
    for field in dataclasses.fields(cls):
        text = f"{field.name}: {annotation_text(field.type)}"
        if field.default is not dataclasses.MISSING:
            text += f" = {field.default!r}"
        elif field.default_factory is not dataclasses.MISSING:
            factory = field.default_factory
            text += f" = {getattr(factory, '__name__', repr(factory))}()"
        texts.append(text)
    return texts


def signature_block(call: str, parameters: list[str], returns: str | None) -> str:
    tail = f" -> {returns}" if returns else ""
    one_line = f"{call}({', '.join(parameters)}){tail}"
    if len(one_line) <= ONE_LINE_LIMIT:
        return f"```python\n{one_line}\n```"
    body = "".join(f"    {p},\n" for p in parameters)
    return f"```python\n{call}(\n{body}){tail}\n```"


def callable_block(call: str, function: Callable[..., Any], constructor: bool = False) -> str:
    signature = inspect.signature(function)
    has_return = signature.return_annotation is not signature.empty and not constructor
    returns = annotation_text(signature.return_annotation) if has_return else None
    return signature_block(call, parameter_texts(signature), returns)


def own_docstring(obj: Any) -> str | None:
    """The docstring written for `obj`, not the one dataclasses make up from the fields ('Name(a: int, ...)')."""
    text = inspect.getdoc(obj)
    if not text or (inspect.isclass(obj) and text.startswith(f"{obj.__name__}(")):
        return None
    return text


def docstring_markdown(text: str) -> str:
    """Google-style sections become bold headings with a bullet per entry; other lines stay as written."""
    lines: list[str] = []
    in_section = False
    for line in text.splitlines():
        stripped = line.strip()
        if SECTION.match(stripped):
            lines += [*([""] if lines and lines[-1] else []), f"**{stripped[:-1]}**", ""]
            in_section = True
        elif in_section and line.startswith("    ") and not line.startswith("        "):
            entry = ENTRY.match(stripped)
            lines.append(f"- `{entry.group(1)}`: {entry.group(2)}" if entry else f"- {stripped}")
        elif in_section and line.startswith("        "):
            lines[-1] += f" {stripped}"
        else:
            in_section = in_section and bool(stripped)
            lines.append(line)
    return "\n".join(lines).strip()


def describe(heading: str, block: str | None, doc: str | None) -> list[str]:
    parts = [heading, ""]
    if block:
        parts += [block, ""]
    if doc:
        parts += [docstring_markdown(doc), ""]
    return parts


def scanner_members() -> list[str]:
    parts: list[str] = []
    for name, member in vars(Scanner).items():
        if name.startswith("_"):
            continue
        if isinstance(member, property):
            parts += describe(f"#### `scanner.{name}`", None, own_docstring(member))
        else:
            function = member.__func__ if isinstance(member, classmethod) else member
            call = f"Scanner.{name}" if isinstance(member, classmethod) else f"scanner.{name}"
            parts += describe(f"#### `{call}`", callable_block(call, function), own_docstring(function))
    return parts


def python_literal(value: object) -> str:
    """`value` as ruff writes it: a string double-quoted (`ruff format --check .` reads docs/api.md's Python blocks,
    and single quotes there were a formatting failure)."""
    return json.dumps(value) if isinstance(value, str) else repr(value)


def name_section(name: str, obj: Any) -> list[str]:
    if dataclasses.is_dataclass(obj) and isinstance(obj, type):
        block = signature_block(name, dataclass_field_texts(obj), None)
    elif isinstance(obj, type) and issubclass(obj, enum.Enum):  # its members, not Enum's own constructor
        block = "```python\n" + "\n".join(f"{name}.{m.name} = {python_literal(m.value)}" for m in obj) + "\n```"
    elif isinstance(obj, type) and issubclass(obj, Exception):
        block = f"```python\nraise {name}(message: str)\n```"
    elif inspect.isclass(obj):
        block = callable_block(name, obj.__init__, constructor=True)
    elif callable(obj):
        block = callable_block(name, obj)
    else:  # a value such as __version__: its type, not today's value (which would date the page)
        block = f"```python\n{name}: {type(obj).__name__}\n```"
    doc = own_docstring(obj) if inspect.isclass(obj) or callable(obj) else None
    parts = describe(f"### `{name}`", block, doc)
    return parts + scanner_members() if obj is Scanner else parts


def reference() -> str:
    """The reference section, markers included."""
    names = sorted(impersonation_cli.__all__, key=lambda n: (n != "Scanner", n.startswith("_"), n))
    parts = [BEGIN, "", "## Reference", ""]
    for name in names:
        parts += name_section(name, getattr(impersonation_cli, name))
    return "\n".join([*parts, END]) + "\n"


def with_reference(document: str) -> str:
    """`document` with its reference section replaced (or added at the end)."""
    start = document.find(BEGIN)
    if start < 0:
        return document.rstrip("\n") + "\n\n" + reference()
    end = document.index(END, start) + len(END)
    return document[:start] + reference().rstrip("\n") + document[end:]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if docs/api.md is out of date")
    check = parser.parse_args(argv).check
    current = API_DOC.read_text(encoding="utf-8")
    wanted = with_reference(current)
    if check:
        if current != wanted:
            print(f"{API_DOC} is out of date: run python scripts/make_api_docs.py", file=sys.stderr)
            return 1
        return 0
    if current != wanted:
        API_DOC.write_text(wanted, encoding="utf-8")
        print(f"wrote {API_DOC}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
