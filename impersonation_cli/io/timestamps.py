"""Timestamps that restart mid-stream: MPEG-TS files joined with `cat`, an HLS playlist's `#EXT-X-DISCONTINUITY`, an
encoder restarted mid-recording. Their frames are put back in line with the frames before them, as `ffmpeg -i` does
for the formats FFmpeg marks as having such restarts; a file's gaps stay, as players and `ffmpeg -ss` keep them."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import av

# FFmpeg's AVFMT_TS_DISCONT: a format whose timestamps may restart mid-stream (MPEG-TS, MPEG-PS, HLS, live FLV).
TS_DISCONT = 0x0200
# A decoding time this far behind the one before is a restart, not a muxer's jitter (ffmpeg's own rule,
# `ts_discontinuity_detect`). Smaller steps back are left to the sampler, which keeps times increasing.
BACKWARD_S = 0.1
# A step ahead this long, in a stream, is a restart too, and is closed as `ffmpeg -i` closes it (its default
# -dts_delta_threshold): an HLS segment after an #EXT-X-DISCONTINUITY that FFmpeg took for a clock wrapped past its
# 33 bits, and moved up to 26.5 hours on, held the room's reader until it was given up. In a file it is time that
# passed (a frozen capture, a slideshow) and is kept, as players and `ffmpeg -ss` keep it; counted, for
# `timeline_breaks`, as a gap no seek can be trusted across.
GAP_S = 10.0
# How a file is opened so that FFmpeg leaves its timestamps as they are: its correction of a 33-bit clock taken for
# wrapped (a timestamp over 60 s below the first gets 2^33 ticks added) turned the restart of a joined MPEG-TS
# into a jump of 9.8 to 26.5 hours, where unmoved it is a step back, which `TimestampRebase` takes for a restart
# (and a clock that did wrap, too).
FILE_OPTIONS = {"correct_ts_overflow": "0"}


def may_restart(container: av.container.InputContainer) -> bool:
    """Whether the container's format is one whose timestamps may restart mid-stream."""
    return bool(container.format.flags & TS_DISCONT)


class TimestampRebase:
    """Packets of one video stream with their timestamps made to go on from the packets before a restart: a packet
    decoded more than BACKWARD_S before the one before it, or, in a stream (`close_gaps`), more than GAP_S after
    where the stream would have gone on (the packet before's time plus its duration), is moved there, with every
    packet after it. Where the format has no restarts (MP4, Matroska), packets pass as they are. Without it, two
    copies of a 10-s clip joined with `cat` were sampled 25 times in place of 40, the second copy squeezed into
    millisecond steps at the end of the first. Steps ahead of over GAP_S that are kept are counted in `gaps`."""

    def __init__(
        self, container: av.container.InputContainer, stream: av.video.stream.VideoStream, close_gaps: bool = False
    ) -> None:
        self.active = may_restart(container) and stream.time_base is not None
        # An HLS playlist's segments follow each other with no time between: a step ahead is a discontinuity, and
        # its inner demuxer still corrects a clock it takes for wrapped (a local playlist was held 26.5 hours).
        self.close_gaps = close_gaps or "hls" in container.format.name.split(",")
        time_base = stream.time_base or 1
        rate = stream.average_rate or stream.guessed_rate
        self._backward, self._gap = BACKWARD_S / time_base, GAP_S / time_base
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
                gap = dts - self._next_dts > self._gap
                if dts + self._backward < self._last_dts or (gap and self.close_gaps):
                    shift = round(self._next_dts - dts)
                    self._offset += shift
                    dts += shift
                    self.restarts += 1
                elif gap:
                    self.gaps += 1
            self._last_dts = dts
            self._next_dts = dts + (packet.duration or self._frame)
            packet.dts = dts
        if packet.pts is not None and self._offset:
            packet.pts += self._offset
