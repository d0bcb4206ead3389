"""Timestamps that restart mid-stream: MPEG-TS files joined with `cat`, an HLS playlist's `#EXT-X-DISCONTINUITY`, an
encoder restarted mid-recording. Their frames are put back in line with the frames before them, as `ffmpeg -i` does
for the formats FFmpeg marks as having such restarts."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import av

# FFmpeg's AVFMT_TS_DISCONT: a format whose timestamps may restart mid-stream (MPEG-TS, MPEG-PS, HLS, live FLV).
TS_DISCONT = 0x0200
# A decoding time this far behind the one before is a restart, not a muxer's jitter (ffmpeg's own rule,
# `ts_discontinuity_detect`). Smaller steps back are left to the sampler, which keeps times increasing.
BACKWARD_S = 0.1
# A step ahead this long is a restart too: FFmpeg takes a timestamp over 60 s below a stream's first for one
# wrapped past the 33-bit clock and adds 2^33 ticks (26.5 hours) to it, and no capture pauses for half of that.
# Shorter steps ahead are time that passed (a frozen capture, a slideshow): kept, as players and `ffmpeg -ss`
# keep them, where `ffmpeg -i` closes those over 10 s.
WRAP_JUMP_S = 2**32 / 90_000
# A step ahead this long is a gap in the picture that no seek can be trusted across (`timeline_breaks`).
GAP_S = 10.0


def may_restart(container: av.container.InputContainer) -> bool:
    """Whether the container's format is one whose timestamps may restart mid-stream."""
    return bool(container.format.flags & TS_DISCONT)


class TimestampRebase:
    """Packets of one video stream with their timestamps made to go on from the packets before a restart: a packet
    decoded more than BACKWARD_S before the one before it, or more than WRAP_JUMP_S after where the stream would
    have gone on (the packet before's time plus its duration), is moved there, with every packet after it. Where
    the format has no restarts (MP4, Matroska), packets pass as they are. Without it, two copies of a 10-s clip
    joined with `cat` were sampled 25 times in place of 40, the second copy squeezed into millisecond steps at the
    end of the first; and where the first was cut over 60 s into a stream, FFmpeg moved the second 26.5 hours on,
    and the first's last picture was held for them, sampled every half second. Steps ahead of over GAP_S that are
    kept are counted in `gaps`."""

    def __init__(self, container: av.container.InputContainer, stream: av.video.stream.VideoStream) -> None:
        self.active = may_restart(container) and stream.time_base is not None
        time_base = stream.time_base or 1
        rate = stream.average_rate or stream.guessed_rate
        self._backward, self._wrap, self._gap = BACKWARD_S / time_base, WRAP_JUMP_S / time_base, GAP_S / time_base
        self._frame = 1 / (rate * time_base) if rate and rate > 0 else 0.04 / time_base
        self._offset = 0
        self._last_dts: int | None = None
        self._next_dts = 0.0
        self.restarts = 0
        self.gaps = 0

    def packets(self, packets: Iterable[av.Packet]) -> Iterator[av.Packet]:
        for packet in packets:
            if self.active:
                self._move(packet)
            yield packet

    def _move(self, packet: av.Packet) -> None:
        if packet.dts is not None:
            dts = packet.dts + self._offset
            if self._last_dts is not None:
                ahead = dts - self._next_dts
                if dts + self._backward < self._last_dts or ahead > self._wrap:
                    shift = round(self._next_dts - dts)
                    self._offset += shift
                    dts += shift
                    self.restarts += 1
                elif ahead > self._gap:
                    self.gaps += 1
            self._last_dts = dts
            self._next_dts = dts + (packet.duration or self._frame)
            packet.dts = dts
        if packet.pts is not None and self._offset:
            packet.pts += self._offset
