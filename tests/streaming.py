"""A real live-streaming server and publishers on loopback, for the tests that watch live rooms.

`RtmpServer` runs Debian's nginx with libnginx-mod-rtmp in the foreground: RTMP ingest and playback on one
port, and the HLS it cuts from every published stream served over HTTP on another. Everything nginx writes
(config, pid, logs, temp folders, HLS fragments) stays in the folder the server is given. `Publisher` is
ffmpeg playing a clip in real time into an RTMP URL, as a streamer's encoder would. `HttpFlvOrigin` is ffmpeg
serving one HTTP-FLV pull; `RtspServer` is GStreamer's RTSP server (tests/rtsp_server.py) serving a clip.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
import urllib.request
import xml.etree.ElementTree as ElementTree
from abc import ABC, abstractmethod
from pathlib import Path
from types import TracebackType
from typing import Self

from .conftest import unavailable

NGINX = Path("/usr/sbin/nginx")  # absolute: /usr/sbin is not on a non-root user's PATH on Debian
SYSTEM_PYTHON = Path("/usr/bin/python3")  # Debian's, with python3-gi; the virtual environment has no GObject
RTSP_SERVER = Path(__file__).with_name("rtsp_server.py")
RTMP_MODULE = Path("/usr/lib/nginx/modules/ngx_rtmp_module.so")
LOOPBACK = "127.0.0.1"
STOP_TIMEOUT_S = 10.0


def require_streaming() -> None:
    """Skip (in CI, fail) with the reason when nginx, its RTMP module or ffmpeg is not installed."""
    missing = [str(NGINX)] if not NGINX.is_file() else []
    missing += [str(RTMP_MODULE)] if not RTMP_MODULE.is_file() else []
    missing += ["ffmpeg"] if shutil.which("ffmpeg") is None else []
    if missing:
        unavailable(f"live-stream tests need {', '.join(missing)} (apt install nginx libnginx-mod-rtmp ffmpeg)")


def require_rtsp() -> None:
    """Skip (in CI, fail) with the reason when GStreamer's RTSP server or ffmpeg is not installed."""
    probe = "import gi; gi.require_version('GstRtspServer', '1.0'); from gi.repository import GstRtspServer"
    found = SYSTEM_PYTHON.is_file() and (
        subprocess.run([str(SYSTEM_PYTHON), "-c", probe], capture_output=True, check=False).returncode == 0
    )
    if not found or shutil.which("ffmpeg") is None:
        unavailable(
            "the RTSP test needs ffmpeg and GStreamer's RTSP server for /usr/bin/python3 (apt install ffmpeg "
            "python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-good gstreamer1.0-plugins-bad)"
        )


def find_free_port() -> int:
    """A TCP port free on loopback right now (another process may still take it before it is used)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        return probe.getsockname()[1]


def accepts_connections(port: int) -> bool:
    try:
        with socket.create_connection((LOOPBACK, port), timeout=0.5):
            return True
    except OSError:
        return False


def end_process(process: subprocess.Popen[bytes], timeout_s: float) -> None:
    """SIGTERM, and SIGKILL if it has not exited after timeout_s; always reaped, so no zombie is left."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
    process.wait()


def quoted(path: Path) -> str:
    return f'"{path}"'  # nginx reads a quoted argument whole, so a temp path with spaces still works


def nginx_config(root: Path, rtmp_port: int, http_port: int) -> str:
    """One foreground process (no daemon, no master): it stays our child and runs as our user.

    With a master process nginx started as root would hand the work to `nobody`, who cannot write HLS into
    pytest's private temp folders. Every path nginx would otherwise take from its build (/var/lib/nginx,
    /var/log/nginx, /run) points into root, because those are not writable by a non-root CI user; that
    includes the RTMP module's own access log, which defaults to /var/log/nginx/access.log.
    """
    temps = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    temp_paths = "".join(f"  {name}_temp_path {quoted(root / name)};\n" for name in temps)
    return f"""load_module {quoted(RTMP_MODULE)};
daemon off;
master_process off;
pid {quoted(root / "nginx.pid")};
error_log {quoted(root / "error.log")} info;
events {{ worker_connections 256; }}
rtmp {{
  access_log {quoted(root / "rtmp-access.log")};
  server {{
    listen {LOOPBACK}:{rtmp_port};
    application live {{
      live on;
      record off;
      hls on;
      hls_path {quoted(root / "hls")};
      hls_fragment 1s;
      hls_playlist_length 6s;
    }}
  }}
}}
http {{
  access_log {quoted(root / "access.log")};
{temp_paths}  types {{ application/vnd.apple.mpegurl m3u8; video/mp2t ts; }}
  server {{
    listen {LOOPBACK}:{http_port};
    location /stat {{ rtmp_stat all; }}
    location /hls/ {{
      root {quoted(root)};
      add_header Cache-Control no-cache;
    }}
  }}
}}
"""


class _Running(ABC):
    """A process fixture as a context manager: started on entry, stopped on exit (also on a failing test)."""

    @abstractmethod
    def start(self) -> None: ...

    @abstractmethod
    def stop(self) -> None: ...

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()


class RtmpServer(_Running):
    """nginx-rtmp on two free loopback ports; `rtmp_url(key)` to publish or play, `hls_url(key)` to play."""

    def __init__(self, root: Path, start_timeout_s: float = 10.0) -> None:
        self.root = root
        self.start_timeout_s = start_timeout_s
        self.rtmp_port = 0
        self.http_port = 0
        self.process: subprocess.Popen[bytes] | None = None

    def rtmp_url(self, key: str) -> str:
        return f"rtmp://{LOOPBACK}:{self.rtmp_port}/live/{key}"

    def hls_url(self, key: str) -> str:
        return f"http://{LOOPBACK}:{self.http_port}/hls/{key}.m3u8"

    @property
    def log(self) -> str:
        """What nginx printed and logged: the reason it would not start or a stream failed."""
        parts = [self.root / "nginx.out", self.root / "error.log"]
        return "\n".join(p.read_text(encoding="utf-8", errors="replace") for p in parts if p.is_file())

    def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        for _ in range(3):  # a free port can be taken by another process before nginx binds it: pick again
            self._launch()
            if self._wait_until_listening():
                return
            if "Address already in use" not in self.log:
                break
        raise RuntimeError(f"nginx did not start in {self.root}:\n{self.log}")

    def _launch(self) -> None:
        self.rtmp_port, self.http_port = find_free_port(), find_free_port()
        config = self.root / "nginx.conf"
        config.write_text(nginx_config(self.root, self.rtmp_port, self.http_port), encoding="utf-8")
        (self.root / "error.log").unlink(missing_ok=True)  # so the log shows this attempt only
        # -e: nginx opens its built-in error log (/var/log/nginx) before reading the config otherwise
        command = [str(NGINX), "-p", str(self.root), "-c", str(config), "-e", str(self.root / "error.log")]
        with open(self.root / "nginx.out", "wb") as output:
            self.process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=output, stderr=output)

    def _wait_until_listening(self) -> bool:
        assert self.process is not None
        deadline = time.monotonic() + self.start_timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            if accepts_connections(self.rtmp_port) and accepts_connections(self.http_port):
                return True
            time.sleep(0.05)
        self.stop()
        return False

    def stop(self) -> None:
        if self.process is not None:
            end_process(self.process, STOP_TIMEOUT_S)

    def is_live(self, key: str) -> bool:
        """Whether a publisher is sending `key` right now, as nginx-rtmp's statistics page reports it."""
        with urllib.request.urlopen(f"http://{LOOPBACK}:{self.http_port}/stat", timeout=2) as response:
            stats = ElementTree.fromstring(response.read())
        streams = [stream for stream in stats.iter("stream") if stream.findtext("name") == key]
        return any(s.find("publishing") is not None and s.find("active") is not None for s in streams)

    def wait_until_live(self, key: str, timeout_s: float) -> None:
        """Players that connect before the publisher wait on a silent stream: let them in once it is live."""
        deadline = time.monotonic() + timeout_s
        while not self.is_live(key):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.rtmp_url(key)} was not live within {timeout_s} s:\n{self.log}")
            time.sleep(0.1)

    def wait_for_hls(self, key: str, timeout_s: float) -> None:
        """The playlist exists only once nginx has cut the first fragments from the published stream."""
        deadline = time.monotonic() + timeout_s
        while not self._playlist_has_fragments(key):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.hls_url(key)} did not appear within {timeout_s} s:\n{self.log}")
            time.sleep(0.2)

    def _playlist_has_fragments(self, key: str) -> bool:
        try:
            with urllib.request.urlopen(self.hls_url(key), timeout=2) as response:
                return b".ts" in response.read()
        except OSError:  # 404 until nginx has written the playlist
            return False


class Publisher(_Running):
    """ffmpeg publishing `clip` in real time (-re) to an RTMP `url`, looped forever unless `loop` is False."""

    def __init__(self, clip: Path, url: str, loop: bool = True, stop_timeout_s: float = 5.0) -> None:
        self.clip = clip
        self.url = url
        self.loop = loop
        self.stop_timeout_s = stop_timeout_s
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def command(self) -> list[str]:
        source = ["-re", *(["-stream_loop", "-1"] if self.loop else []), "-i", str(self.clip)]
        encode = ["-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", "25", "-an"]
        return ["ffmpeg", "-hide_banner", "-loglevel", "error", *source, *encode, "-f", "flv", self.url]

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> None:
        if self.running:
            raise RuntimeError(f"already publishing to {self.url}")
        # stdin closed: ffmpeg reads keyboard commands from it and would otherwise hold the test's terminal
        self.process = subprocess.Popen(self.command, stdin=subprocess.DEVNULL)

    def stop(self) -> None:
        """Like a streamer ending the broadcast: ffmpeg closes the stream on SIGTERM; killed if it hangs."""
        if self.process is not None:
            end_process(self.process, self.stop_timeout_s)

    def restart(self) -> None:
        self.stop()
        self.start()


class HttpFlvOrigin(_Running):
    """ffmpeg as an HTTP-FLV origin: `clip` encoded live (-re, looped) and served as one endless FLV response
    to the first client that connects, as a live-commerce CDN serves an HTTP-FLV pull URL. One client only:
    when it disconnects, ffmpeg ends (the way a CDN edge drops a finished pull)."""

    def __init__(self, clip: Path, key: str = "room", stop_timeout_s: float = 5.0) -> None:
        self.clip = clip
        self.port = find_free_port()
        self.url = f"http://{LOOPBACK}:{self.port}/live/{key}.flv"
        self.stop_timeout_s = stop_timeout_s
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def command(self) -> list[str]:
        source = ["-re", "-stream_loop", "-1", "-i", str(self.clip)]
        encode = ["-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", "25", "-an"]
        serve = ["-f", "flv", "-listen", "1", self.url]
        return ["ffmpeg", "-hide_banner", "-loglevel", "error", *source, *encode, *serve]

    def start(self) -> None:
        # No readiness probe: a probing connection would be the one client ffmpeg serves. Readers retry
        # a refused connection until ffmpeg listens (well under a second).
        self.process = subprocess.Popen(self.command, stdin=subprocess.DEVNULL)

    def stop(self) -> None:
        if self.process is not None:
            end_process(self.process, self.stop_timeout_s)


class RtspServer(_Running):
    """GStreamer's RTSP server on a free loopback port, playing `clip` (re-encoded to H.264, looped to
    `seconds`) at real-time pace to every client of `url` from the first client's connection on."""

    def __init__(self, clip: Path, root: Path, mount: str = "/live/room", seconds: float = 40.0) -> None:
        self.clip = clip
        self.root = root
        self.mount = mount
        self.seconds = seconds
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"rtsp://{LOOPBACK}:{self.port}{self.mount}"

    def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        served = self.root / "served.mp4"
        looped = ["-stream_loop", "-1", "-i", str(self.clip), "-t", f"{self.seconds:.0f}"]
        encode = ["-c:v", "libx264", "-preset", "ultrafast", "-g", "25", "-an"]
        subprocess.run(["ffmpeg", "-v", "error", "-y", *looped, *encode, str(served)], check=True)
        self.port = find_free_port()
        command = [str(SYSTEM_PYTHON), str(RTSP_SERVER), str(self.port), str(served), self.mount]
        with open(self.root / "server.log", "wb") as output:
            self.process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=output, stderr=output)
        deadline = time.monotonic() + 10.0
        while not accepts_connections(self.port):  # a bare TCP connection costs an RTSP server nothing
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                log = (self.root / "server.log").read_text(encoding="utf-8", errors="replace")
                raise RuntimeError(f"the RTSP server did not start:\n{log}")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None:
            end_process(self.process, STOP_TIMEOUT_S)

    def transports(self) -> list[str]:
        """The Transport header of every stream a client has set up so far (tests/rtsp_server.py logs them)."""
        log = (self.root / "server.log").read_text(encoding="utf-8", errors="replace")
        return [line.removeprefix("setup ") for line in log.splitlines() if line.startswith("setup ")]
