"""What the report tests share with their fixtures (`report_fixtures`): the room, the people, and the
hostile text put into a real result."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from html.parser import HTMLParser
from pathlib import Path

from impersonation_cli.results import ScanResult

ROOM = "douyin:hamilton_official"
STARTED_AT = datetime.fromisoformat("2025-03-01T20:00:00+08:00")
PEOPLE = {"Lin-Manuel Miranda": ["lin-manuel-miranda.png"], "Barack Obama": ["obama.jpg", "obama2.jpg"]}

# Each one tries a different way out of the text it is put in: HTML tags and handlers, a script that would
# change the page if it ran, Markdown links and automatic links, and XML-breaking control characters.
HOSTILE_NAME = "<img src=x onerror=\"document.title='pwned'\"><script>document.title='pwned'</script>"
HOSTILE_LINK_NAME = "Eve](javascript:alert(3)) [x](https://evil.example) www.evil.example &amp; *bold*"
HOSTILE_ROOM = "douyin:<iframe src=//evil.example></iframe>](javascript:alert(4))"
HOSTILE_SOURCE = "/captures/<script>alert(5)</script> [a](javascript:x)\x1b.mp4"
HOSTILE_FILE_NAME = "<img src=x onerror=alert(6)>.jpg"


@dataclass(frozen=True)
class ScannedReport:
    result_path: Path
    gallery_path: Path
    result: ScanResult


class Elements(HTMLParser):
    """Every start tag of a page with its attributes, as a browser's tokenizer sees them."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.feed(page)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def named(self, tag: str) -> list[dict[str, str | None]]:
        return [attrs for name, attrs in self.tags if name == tag]
