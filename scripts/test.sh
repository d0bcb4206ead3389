#!/usr/bin/env bash
# Run the test suite on a fresh machine: installs what it needs, then runs ruff, mypy and pytest.
# System packages (ffmpeg, nginx with the RTMP module, chromium, GStreamer's RTSP server) are installed when
# we are root with apt; without them the streaming and browser tests skip with a reason (under CI=true they
# fail instead).
set -euo pipefail
cd "$(dirname "$0")/.."

rtsp_packages=(python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-good gstreamer1.0-plugins-bad)
system_packages=(ffmpeg nginx libnginx-mod-rtmp chromium "${rtsp_packages[@]}")
# GStreamer's RTSP server (tests/rtsp_server.py) runs under Debian's python3 with these elements.
rtsp_probe="import gi; gi.require_version('Gst', '1.0'); gi.require_version('GstRtspServer', '1.0')
from gi.repository import Gst, GstRtspServer; Gst.init(None)
assert all(Gst.ElementFactory.find(e) for e in ('qtdemux', 'h264parse', 'rtph264pay'))"
missing=()
command -v ffmpeg >/dev/null || missing+=(ffmpeg)
command -v nginx >/dev/null || missing+=(nginx)
[ -e /usr/lib/nginx/modules/ngx_rtmp_module.so ] || missing+=(libnginx-mod-rtmp)
command -v chromium >/dev/null || missing+=(chromium)
/usr/bin/python3 -c "$rtsp_probe" 2>/dev/null || missing+=("${rtsp_packages[@]}")
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing system packages: ${missing[*]}"
    # Another apt (unattended upgrades, a second job) may hold the dpkg lock: wait for it, don't abort.
    apt-get -o DPkg::Lock::Timeout=300 update -qq
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends \
      "${missing[@]}" >/dev/null
  else
    outcome=$([ "${CI:-}" = true ] && echo "fail (CI=true)" || echo skip)
    echo "warning: missing ${missing[*]} (install: apt-get install ${system_packages[*]}); those tests will $outcome"
  fi
fi

python3 -m venv .venv
. .venv/bin/activate
python -m pip install -q --upgrade pip
python -m pip install -q -e '.[test]'

ruff check .
ruff format --check .  # the Python blocks of docs/*.md too, as ruff reads them
mypy  # the package, as [tool.mypy] in pyproject.toml says
exec python -m pytest -q -rs "$@"
