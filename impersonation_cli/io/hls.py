"""What an HLS room's playlist says of how its frames come: a segment at a time, each segment at most the
playlist's target duration (`#EXT-X-TARGETDURATION`) long, so a frame may come that late; and which segment is
listed (`#EXT-X-MEDIA-SEQUENCE` and the segments' URIs), so that a playlist its server keeps serving after the
stream ended is not read again as live. FFmpeg's HLS demuxer reads the playlist but does not hand out what it
holds, so the live reader asks for it itself as a connection begins and ends (`read_playlist`,
io/live_reader.py)."""

from __future__ import annotations

import email.utils
import http.client
import re
import time
import urllib.parse
from dataclasses import dataclass

from impersonation_cli.io.urls import WEB_OPENER, authenticated_request

# A playlist is a few kilobytes; a server that sends more is not one (only the start of it is read).
MAX_PLAYLIST_BYTES = 1 << 20
_TARGET = re.compile(r"^#EXT-X-TARGETDURATION:[ \t]*([0-9]+(?:\.[0-9]+)?)[ \t]*\r?$", re.MULTILINE)
_ENDLIST = re.compile(r"^#EXT-X-ENDLIST[ \t]*\r?$", re.MULTILINE)
_SEQUENCE = re.compile(r"^#EXT-X-MEDIA-SEQUENCE:[ \t]*([0-9]+)[ \t]*\r?$", re.MULTILINE)


@dataclass(frozen=True)
class Playlist:
    """What the live reader takes from a media playlist."""

    target_s: float | None  # its target duration (None: it names none)
    # Its media sequence number and segments' URIs: a stream that goes on, or starts again (numbered on or from 0),
    # lists others; a playlist its server serves unchanged after the stream ended lists the same. Empty: none.
    segments: tuple[str, ...]
    # How long ago its server last changed it, by the server's own clock (its Date less its Last-Modified); None
    # where it does not say.
    age_s: float | None = None
    complete: bool = False  # it ends with #EXT-X-ENDLIST: a recording (video on demand), read whole

    def stale(self) -> bool:
        """Whether a live playlist has not changed for longer than a live one goes unchanged: it is rewritten with
        each segment (every target duration at most), so three of them and 30 s are ample."""
        too_old = self.age_s is not None and self.age_s > max(30.0, 3 * (self.target_s or 10.0))
        return too_old and not self.complete


def read_playlist(url: str, timeout_s: float) -> Playlist | None:
    """The HLS playlist at `url` (http or https), or a master playlist's first variant (a live encoder cuts its
    variants alike); None where it cannot be read."""
    try:
        text, where, age_s = _playlist(url, timeout_s)
        variant = first_variant(text)
        if variant is not None:  # relative to where the master playlist was found (after redirects)
            text, _, age_s = _playlist(urllib.parse.urljoin(where, variant), timeout_s)
    except (OSError, ValueError, http.client.HTTPException):  # unreachable, refused, not HTTP, a bad URL
        return None
    return Playlist(playlist_target(text), playlist_segments(text), age_s, _ENDLIST.search(text) is not None)


def playlist_segments(text: str) -> tuple[str, ...]:
    """A media playlist's media sequence number (`#EXT-X-MEDIA-SEQUENCE`, 0 if not given) and its segments' URIs;
    empty for a playlist of no segment."""
    uris = tuple(line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#"))
    found = _SEQUENCE.search(text)
    return (found.group(1) if found else "0", *uris) if uris else ()


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


def _playlist(url: str, timeout_s: float) -> tuple[str, str, float | None]:
    """The playlist's text, the URL it came from, and its age (`Playlist.age_s`): from a web URL only (a master
    playlist's variant at file:///a-fifo blocked the room's reader for ever), read within `timeout_s` in all (a
    server sending a byte every 2 s held it past --timeout and --give-up: the room stayed 'connecting')."""
    if urllib.parse.urlsplit(url).scheme.lower() not in {"http", "https"}:
        raise ValueError(f"not a web URL: {url}")
    deadline = time.monotonic() + timeout_s
    with WEB_OPENER.open(authenticated_request(url), timeout=timeout_s) as response:
        body = bytearray()
        while len(body) < MAX_PLAYLIST_BYTES and (chunk := response.read1(MAX_PLAYLIST_BYTES - len(body))):
            body += chunk
            if time.monotonic() > deadline:
                raise TimeoutError(f"the playlist took over {timeout_s:g} s")
        text = body.decode("utf-8", errors="replace")
        return text, response.geturl(), _age_s(response.headers.get("Date"), response.headers.get("Last-Modified"))


def _age_s(date: str | None, last_modified: str | None) -> float | None:
    try:
        now, changed = (
            email.utils.parsedate_to_datetime(date or ""),
            email.utils.parsedate_to_datetime(last_modified or ""),
        )
    except (TypeError, ValueError):  # missing or not an HTTP date
        return None
    return (now - changed).total_seconds() if now.tzinfo and changed.tzinfo else None
