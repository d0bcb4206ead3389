"""URLs as they are shown and written: without the credentials they may carry.

A stream URL can hold a password (`rtsp://user:secret@cam/live`) or a token in its query (`?token=`, `auth_key=`,
`sign=`, as live-commerce CDNs hand them out), and so can a model pack's download URL. The full URL is what is
opened; two URLs that differ only in their credentials name one stream (`io.sources.source_key`). Everything a
person or another program is shown (terminal lines, results, alerts, reports, notices, evidence file names)
names it by `redact_url` (a source by `shown_source`, which also shows a file name's bytes that are not UTF-8 as
`\\xNN`). Its one import from the package is the leaf io/names.py: the result format (`results.py`) uses it too.
"""

from __future__ import annotations

import base64
import http.client
import re
import urllib.error
import urllib.parse
import urllib.request
from typing import IO, Any

from impersonation_cli.io.names import shown_name

MASK = "***"
# scheme://authority: the authority ends at the path, query or fragment; its userinfo is what comes before the
# last '@' in it (as urllib.parse.urlsplit and FFmpeg read a URL).
_AUTHORITY = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*://)([^/?#]*)")
# A query parameter holds a credential when its name, lower-cased with everything but letters and digits left
# out, contains one of these words (token, access_token, X-Amz-Security-Token; auth_key, txSecret, wsSecret;
# sign, signature, X-Amz-Signature; key, apikey; password, passwd, passphrase (SRT); credential; session; hmac)
# or is one of the short names (nginx secure_link's md5 hash of the secret was shown whole).
CREDENTIAL_WORDS = ("token", "secret", "auth", "sign", "key", "pass", "pwd", "credential", "session", "ticket", "hmac")
CREDENTIAL_NAMES = frozenset({"sig", "pw", "jwt", "sid", "hdnts", "hdnea", "hdntl", "md5", "hash", "tok"})
# A URL inside a message: up to white space or a quote; punctuation that ends a sentence is not the URL's.
_URL_IN_TEXT = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>]+")
_TRAILING = ".,:;!?)]}"


def redact_url(url: str) -> str:
    """`url` as it may be shown or written: a password in it replaced by `***` (`rtsp://user:***@cam/live`; a
    user name alone, which is often a token, `https://***@host/x`), and so is the value of every query (or
    fragment) parameter whose name says it is a credential (`?token=***&room=7`). Everything else is kept as
    given, so the URL still says which stream it is; text that is not `scheme://...` (a file's path) is returned
    unchanged. Applied twice it changes nothing more."""
    found = _AUTHORITY.match(url)
    if found is None:
        return url
    scheme, authority = found.groups()
    rest = url[found.end() :]
    if "@" not in authority and "@" in rest and _port_unreadable(authority):
        # A password holding an unencoded '#', '?' or '/' ends the authority before its '@', so that no URL reader
        # finds it ('rtsp://admin:hun#ter2@cam/live' has the port 'hun'): masked up to that '@'.
        return (
            f"{scheme}{authority.partition(':')[0]}:{MASK}@{redact_url(scheme + rest.partition('@')[2])[len(scheme) :]}"
        )
    if "@" in authority:
        userinfo, _, host = authority.rpartition("@")
        user, colon, _ = userinfo.partition(":")
        authority = f"{user}:{MASK}@{host}" if colon else f"{MASK}@{host}"
    rest, hash_sign, fragment = rest.partition("#")
    path, question, query = rest.partition("?")
    return f"{scheme}{authority}{path}{question}{_redact_params(query)}{hash_sign}{_redact_params(fragment)}"


def _port_unreadable(authority: str) -> bool:
    """Whether an authority without '@' ends in a ':' and a port that is no number (an IPv6 host in brackets
    aside): a password's first part where the password holds an unencoded '#', '?' or '/'."""
    host, colon, port = authority.rpartition(":")
    return bool(colon and host and not authority.endswith("]") and not port.isdigit())


def shown_source(source: str) -> str:
    """A source (a stream URL or a file's path) as results, rooms and reports show it: `redact_url`, and a file
    name's bytes that are not UTF-8 as `\\xNN` (io/names.py). It is never opened by that name."""
    return shown_name(redact_url(source))


def shown_message(text: str) -> str:
    """A message (a source's error) as shown: every URL in it by `redact_urls`, bytes that are not UTF-8 as `\\xNN`."""
    return shown_name(redact_urls(text))


def redact_urls(text: str) -> str:
    """`text` (a message, which may quote URLs: FFmpeg's errors do) with every URL in it as `redact_url` shows it."""
    return _URL_IN_TEXT.sub(_redact_match, text)


def _redact_match(found: re.Match[str]) -> str:
    url = found.group(0)
    kept = url.rstrip(_TRAILING)
    return redact_url(kept) + url[len(kept) :]


def _redact_params(params: str) -> str:
    if "=" not in params:
        return params
    parts = []
    for part in params.split("&"):
        name, equals, value = part.partition("=")
        if equals and value and is_credential(name):
            part = f"{name}={MASK}"
        parts.append(part)
    return "&".join(parts)


def is_credential(name: str) -> bool:
    """Whether a query parameter of this name (as written in the URL, percent-encoded or not) holds a credential."""
    plain = re.sub(r"[^a-z0-9]", "", urllib.parse.unquote_plus(name).lower())
    return plain in CREDENTIAL_NAMES or any(word in plain for word in CREDENTIAL_WORDS)


def authenticated_request(url: str, **request: Any) -> urllib.request.Request:
    """A request for `url` (with urllib.request.Request's other arguments) whose user name and password, if any,
    go as HTTP Basic authentication: urllib reads 'user:pass@host' as a host with the port 'pass@host' and
    fails, naming the password. The header is not passed on to where a redirect leads (another host must not
    get the password)."""
    parts = urllib.parse.urlsplit(url)
    if parts.username is None:
        return urllib.request.Request(url, **request)
    bare = parts._replace(netloc=parts.netloc.rpartition("@")[2])
    authenticated = urllib.request.Request(urllib.parse.urlunsplit(bare), **request)
    credentials = f"{urllib.parse.unquote(parts.username)}:{urllib.parse.unquote(parts.password or '')}"
    authenticated.add_unredirected_header("Authorization", "Basic " + base64.b64encode(credentials.encode()).decode())
    return authenticated


class WebRedirectsOnly(urllib.request.HTTPRedirectHandler):
    """Follows redirects to http:// and https:// only: urllib followed a pack download's to ftp:// (it logged in
    there as anonymous), where only web URLs are read."""

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: http.client.HTTPMessage,
        newurl: str,
    ) -> urllib.request.Request | None:
        if urllib.parse.urlsplit(newurl).scheme.lower() not in ("http", "https"):
            shown = redact_urls(newurl)
            raise urllib.error.HTTPError(req.full_url, code, f"redirected to {shown}, not a web URL", headers, fp)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


# Reads web URLs only (pack downloads, HLS playlists), their redirects included.
WEB_OPENER = urllib.request.build_opener(WebRedirectsOnly)
