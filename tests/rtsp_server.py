"""An RTSP server on loopback for the watch tests: GStreamer's RTSP server playing one H.264 MP4 at real-time pace.

IP cameras and some restreaming boxes offer RTSP pull URLs; ffmpeg cannot serve RTSP to a player and
nginx-rtmp does not speak it, so the tests use GStreamer's server (Debian: python3-gi,
gir1.2-gst-rtsp-server-1.0, gstreamer1.0-plugins-good and -bad). It runs under Debian's own python3, which
has the GObject bindings the project's virtual environment lacks:

    /usr/bin/python3 tests/rtsp_server.py PORT CLIP.mp4 /live/room

Every client shares one playback of the file from its start; the server prints "ready" once it listens,
then "setup TRANSPORT" for each stream a client sets up (its Transport header: RTP/AVP/TCP for RTP
interleaved in the RTSP connection, RTP/AVP or RTP/AVP/UDP for RTP over UDP), so tests can see how
clients connect.
"""

from __future__ import annotations

import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtsp", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtsp, GstRtspServer  # noqa: E402  (after require_version, as GObject wants)


def serve(port: str, clip: str, mount: str) -> None:
    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(port)
    factory = GstRtspServer.RTSPMediaFactory()
    # A launch description, not a shell: the clip path is one quoted property value (a temp path of the tests).
    location = clip.replace("\\", "\\\\").replace('"', '\\"')
    factory.set_launch(
        f'( filesrc location="{location}" ! qtdemux ! h264parse ! rtph264pay name=pay0 pt=96 config-interval=1 )'
    )
    factory.set_shared(True)
    server.get_mount_points().add_factory(mount, factory)
    server.connect("client-connected", lambda _server, client: client.connect("setup-request", _print_transport))
    server.attach(None)
    print("ready", flush=True)
    GLib.MainLoop().run()


def _print_transport(_client: GstRtspServer.RTSPClient, context: GstRtspServer.RTSPContext) -> None:
    _result, transport = context.request.get_header(GstRtsp.RTSPHeaderField.TRANSPORT, 0)
    print(f"setup {transport}", flush=True)


if __name__ == "__main__":
    serve(*sys.argv[1:4])
