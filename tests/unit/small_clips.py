"""Small clips the fast tier writes itself, for tests that decode real video without a model or media."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np

# Encoder settings that spare a test's time without changing what a container says: x264's fastest preset, and VP8
# at its realtime deadline on one thread (its default threads, on a busy machine, took from 0.05 s to 2 s to write
# the same 2-s clip).
FAST_ENCODING = {"libx264": {"preset": "ultrafast"}, "libvpx": {"deadline": "realtime", "threads": "1"}}


def grey_ramp_clip(path: Path, seconds: int) -> Path:
    """An H.264 clip of 160x120 at 25 fps (x264 ultrafast), a keyframe every second, each frame one grey level
    brighter."""
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 160, 120, "yuv420p"
        stream.options = {"g": "25", "keyint_min": "25", "bf": "0", "sc_threshold": "0"} | FAST_ENCODING["libx264"]
        for n in range(25 * seconds):
            picture = np.full((120, 160, 3), n % 256, dtype=np.uint8)
            out.mux(stream.encode(av.VideoFrame.from_ndarray(picture, format="rgb24")))
        out.mux(stream.encode())
    return path


def shifted(packets: list[av.Packet], offset_s: float) -> list[av.Packet]:
    """Encoded packets with their timestamps moved `offset_s` later, as ffmpeg's -output_ts_offset writes them."""
    for packet in packets:
        assert packet.time_base is not None
        shift = round(offset_s / packet.time_base)
        packet.pts = None if packet.pts is None else packet.pts + shift
        packet.dts = None if packet.dts is None else packet.dts + shift
    return packets


def held_picture_clip(path: Path, held: int, bframes: int) -> Path:
    """An H.264 clip of 50 frames at 25 fps, frame n a flat grey of level 5n, whose frame `held` stays on screen
    for 6 s (a variable-rate recording's still, a frozen stream): frames 0 to `held` at 0.04-s steps, the rest from
    6 s on. With B-frames the held one may be a frame no other is built from."""
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 160, 120, "yuv420p"
        stream.codec_context.time_base = Fraction(1, 1000)
        stream.options = {"bf": str(bframes), "g": "250"} | FAST_ENCODING["libx264"]
        for n in range(50):
            frame = av.VideoFrame.from_ndarray(np.full((120, 160, 3), 5 * n, dtype=np.uint8), format="rgb24")
            frame.pts, frame.time_base = 40 * n + (6000 if n > held else 0), Fraction(1, 1000)
            out.mux(stream.encode(frame))
        out.mux(stream.encode())
    return path


def late_video_ts(path: Path, late_s: float = 20.0, video_s: float = 2.0) -> Path:
    """An MPEG-TS whose sound starts at 0 and whose 64x48 video (25 fps) starts `late_s` later, as a capture
    that began before its camera did; the packets interleaved by time, as a muxer writes them."""
    samples, rate = 1152, 48000
    with av.open(str(path), "w", format="mpegts") as out:
        audio = out.add_stream("mp2", rate=rate)
        audio.layout = "mono"
        video = out.add_stream("libx264", rate=25)
        video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        shown = 0
        for number in range(int((late_s + video_s) * rate / samples)):
            sound = av.AudioFrame.from_ndarray(np.zeros((1, samples), np.int16), format="s16", layout="mono")
            sound.sample_rate, sound.pts, sound.time_base = rate, number * samples, Fraction(1, rate)
            out.mux(audio.encode(sound))
            while shown < video_s * 25 and late_s + shown / 25 <= number * samples / rate:
                picture = av.VideoFrame.from_ndarray(np.full((48, 64, 3), 100 + shown, np.uint8), format="rgb24")
                picture.pts, picture.time_base = int(late_s * 25) + shown, Fraction(1, 25)
                out.mux(video.encode(picture))
                shown += 1
        out.mux(audio.encode())
        out.mux(video.encode())
    return path
