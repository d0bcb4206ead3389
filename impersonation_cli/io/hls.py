"""What an HLS room's playlist says of how its frames come: a segment at a time, each segment at most the
playlist's target duration (`#EXT-X-TARGETDURATION`) long, so a frame may come that late. FFmpeg's HLS demuxer
reads the playlist but does not hand out what it holds, so the live reader asks for it itself, once per
connection (`target_duration`), before the room's frames have shown how late they come (io/live_reader.py)."""

from __future__ import annotations

import http.client
import re
import urllib.parse
import urllib.request

from impersonation_cli.io.urls import authenticated_request

# A playlist is a few kilobytes; a server that sends more is not one (only the start of it is read).
MAX_PLAYLIST_BYTES = 1 << 20
_TARGET = re.compile(r"^#EXT-X-TARGETDURATION:[ \t]*([0-9]+(?:\.[0-9]+)?)[ \t]*\r?$", re.MULTILINE)


def target_duration(url: str, timeout_s: float) -> float | None:
    """The target duration, in seconds, of the HLS playlist at `url` (http or https), or of a master playlist's
    first variant (a live encoder cuts its variants alike); None where it cannot be read or names none."""
    if urllib.parse.urlsplit(url).scheme.lower() not in {"http", "https"}:
        return None
    try:
        text, where = _playlist(url, timeout_s)
        variant = first_variant(text)
        if variant is not None:  # relative to where the master playlist was found (after redirects)
            text, _ = _playlist(urllib.parse.urljoin(where, variant), timeout_s)
    except (OSError, ValueError, http.client.HTTPException):  # unreachable, refused, not HTTP, a bad URL
        return None
    return playlist_target(text)


def playlist_target(text: str) -> float | None:
    """A media playlist's `#EXT-X-TARGETDURATION` in seconds (above 0), or None."""
    found = _TARGET.search(text)
    seconds = float(found.group(1)) if found else 0.0
    return seconds if seconds > 0 else None


def first_variant(text: str) -> str | None:
    """The URI of a master playlist's first variant (the line after its first `#EXT-X-STREAM-INF`), as written;
    None for a media playlist."""
    lines = [line.strip() for line in text.splitlines()]
    for n, line in enumerate(lines):
        if line.startswith("#EXT-X-STREAM-INF"):
            return next((uri for uri in lines[n + 1 :] if uri and not uri.startswith("#")), None)
    return None


def _playlist(url: str, timeout_s: float) -> tuple[str, str]:
    """The playlist's text, and the URL it came from."""
    with urllib.request.urlopen(authenticated_request(url), timeout=timeout_s) as response:
        return response.read(MAX_PLAYLIST_BYTES).decode("utf-8", errors="replace"), response.geturl()
