"""The HTML report as a person sees it: rendered by headless Chromium, its pictures decoded and drawn, and no
script running, neither from hostile names nor from markup that escaped escaping (the CSP stops it)."""

from __future__ import annotations

import base64
import hashlib
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import cv2
import numpy as np
import pytest

from impersonation_cli.outputs.findings import is_flagged, read_report_input
from impersonation_cli.outputs.html import render_html

from ..conftest import unavailable
from ..report_data import HOSTILE_NAME, ScannedReport

pytest_plugins = ["tests.report_fixtures"]
pytestmark = pytest.mark.browser

INJECTED = "<script>document.title='pwned'</script><img src=x onerror=\"document.title='pwned'\">"


@pytest.fixture(scope="module")
def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        unavailable("headless Chromium is not installed (Debian: apt-get install chromium)")
    return found


def run_chromium(chromium: str, page: Path, profile: Path, *mode: str) -> subprocess.CompletedProcess[str]:
    arguments = [
        chromium,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--force-device-scale-factor=1",
        f"--user-data-dir={profile}",
        *mode,
        page.as_uri(),
    ]
    run = subprocess.run(arguments, capture_output=True, text=True, timeout=120, check=False)
    assert run.returncode == 0, run.stderr[-2000:]
    return run


class Document(HTMLParser):
    """A dumped DOM: its title (the head's, not the SVG tooltips'), its text, and the tags in it."""

    def __init__(self, dom: str) -> None:
        super().__init__()
        self.title = ""
        self.text: list[str] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self._in_title = False
        self.feed(dom)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_title = tag == "title" and not self.title

    def handle_endtag(self, tag: str) -> None:
        self._in_title = False

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
        self.text.append(data)


def dumped(chromium: str, page: Path, tmp_path: Path) -> Document:
    return Document(run_chromium(chromium, page, tmp_path / "profile", "--dump-dom").stdout)


def test_report_renders_with_its_pictures(chromium: str, hamilton_report: ScannedReport, tmp_path: Path) -> None:
    html = render_html(read_report_input(hamilton_report.result_path, hamilton_report.gallery_path))
    page = tmp_path / "report.html"
    page.write_text(html, encoding="utf-8")
    shot = tmp_path / "report.png"
    run_chromium(chromium, page, tmp_path / "profile", f"--screenshot={shot}", "--window-size=1280,4000")
    screen = cv2.imread(str(shot))
    assert screen is not None and screen.shape[:2] == (4000, 1280)
    grey = cv2.cvtColor(screen, cv2.COLOR_BGR2GRAY)
    assert grey.std() > 20 and len(np.unique(grey)) > 100  # not a blank or one-colour page
    # Every embedded picture (evidence crops, reference photos, whole frames) is found drawn on the screen, so it
    # decoded.
    pictures = re.findall(r"src='data:image/jpeg;base64,([^']+)'", html)
    flagged = [a for a in hamilton_report.result.appearances if is_flagged(a)]  # cards with pictures
    assert flagged and len(pictures) == 3 * len(flagged)
    frames = {a.evidence_frame.sha256 for a in flagged if a.evidence_frame is not None}
    for encoded in pictures:
        jpeg = base64.b64decode(encoded)
        assert _drawn_match(screen, jpeg, whole_frame=hashlib.sha256(jpeg).hexdigest() in frames) > 0.9


def _drawn_match(screen: np.ndarray, jpeg: bytes, whole_frame: bool = False) -> float:
    """How well the picture, scaled as the page's CSS draws it, matches somewhere: contained in 150 x 180 (a crop or
    a reference photo), or a whole frame at its own size, at most 420 px high."""
    picture = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    height, width = picture.shape[:2]
    scale = min(1.0, 420 / height) if whole_frame else min(150 / width, 180 / height)
    size = (round(picture.shape[1] * scale), round(picture.shape[0] * scale))
    scaled = cv2.resize(picture, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    # Drop the edges, where the browser's and OpenCV's resampling differ most.
    core = scaled[4:-4, 4:-4]
    return float(cv2.minMaxLoc(cv2.matchTemplate(screen, core, cv2.TM_CCOEFF_NORMED))[1])


def test_hostile_names_are_shown_not_run(chromium: str, hostile_report: ScannedReport, tmp_path: Path) -> None:
    html = render_html(read_report_input(hostile_report.result_path, hostile_report.gallery_path))
    page = tmp_path / "hostile.html"
    page.write_text(html, encoding="utf-8")
    document = dumped(chromium, page, tmp_path)
    assert document.title.startswith("Impersonation report:")
    assert not [attrs for tag, attrs in document.tags if tag == "script"]
    assert not [name for _, attrs in document.tags for name in attrs if name.startswith("on")]
    assert HOSTILE_NAME in "".join(document.text)  # shown as the text it is


def test_content_security_policy_stops_markup_that_escaped_escaping(
    chromium: str, hamilton_report: ScannedReport, tmp_path: Path
) -> None:
    html = render_html(read_report_input(hamilton_report.result_path, None))
    injected = tmp_path / "injected.html"
    injected.write_text(html.replace("</main>", INJECTED + "</main>"), encoding="utf-8")
    assert dumped(chromium, injected, tmp_path).title.startswith("Impersonation report:")
    # The same page without the policy: the probe does see a script that runs.
    unprotected = tmp_path / "unprotected.html"
    unprotected.write_text(re.sub(r"<meta http-equiv='Content-Security-Policy'[^>]*>", "", injected.read_text()))
    assert dumped(chromium, unprotected, tmp_path).title == "pwned"
