"""Timestamps that restart mid-stream: MPEG-TS files joined with `cat`, an HLS playlist's `#EXT-X-DISCONTINUITY`, an
encoder restarted mid-recording. Their frames are put back in line with the frames before them, as `ffmpeg -i` does
for the formats FFmpeg marks as having such restarts; a file's gaps stay, as players and `ffmpeg -ss` keep them."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from fractions import Fraction

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
    decoded more than BACKWARD_S before the one before it, or (`close_gaps`) more than GAP_S after where the stream
    would have gone on (the packet before's time plus its duration), is moved there, with every packet after it.
    Without it, two copies of a 10-s clip joined with `cat` were sampled 25 times in place of 40, the second copy
    squeezed into millisecond steps at the end of the first. Steps ahead of over GAP_S that are kept are counted
    in `gaps`.

    A live stream's restart (`arrival`, the clock its packets arrive by) goes on from the packet before by the time
    that passed between their arrivals, not by a frame: closed up, a publisher's 8-s outage on an HLS room vanished
    ('late but with none missing'), and every later wall-clock time was 8 s early."""

    def __init__(
        self,
        time_base: Fraction | None,
        frame_s: float,
        active: bool,
        close_gaps: bool = False,
        arrival: Callable[[], float] | None = None,
    ) -> None:
        self.active = active and time_base is not None
        self.close_gaps = close_gaps
        self._time_base = time_base or Fraction(1)
        self._backward, self._gap = BACKWARD_S / self._time_base, GAP_S / self._time_base
        self._frame = frame_s / self._time_base
        self._arrival = arrival
        self._offset = 0
        self._last_dts: int | None = None
        self._last_arrival = 0.0
        self._next_dts = 0.0
        self.restarts = 0
        self.gaps = 0

    @classmethod
    def of(
        cls,
        container: av.container.InputContainer,
        stream: av.video.stream.VideoStream,
        live: bool = False,
        close_gaps: bool = False,
    ) -> TimestampRebase:
        """For `stream` of `container`: active where its format's timestamps may restart, and in any live stream
        (`live`: an RTMP publisher that restarts starts its timestamps again too). An HLS playlist's segments follow
        each other with no time between, so it closes gaps: a step ahead there is a discontinuity that its inner
        demuxer took for a 33-bit clock that wrapped (a local playlist was held 26.5 hours)."""
        rate = stream.average_rate or stream.guessed_rate
        return cls(
            stream.time_base,
            1 / float(rate) if rate and 0 < float(rate) < 1000 else 0.04,
            active=live or may_restart(container),
            close_gaps=close_gaps or live or "hls" in container.format.name.split(","),
            arrival=time.monotonic if live else None,
        )

    def packets(self, packets: Iterable[av.Packet]) -> Iterator[av.Packet]:
        for packet in packets:
            if self.active:
                self._move(packet)
            yield packet

    def _move(self, packet: av.Packet) -> None:
        if packet.dts is not None:
            dts = packet.dts + self._offset
            arrived = self._arrival() if self._arrival is not None else 0.0
            if self._last_dts is not None:
                gap = dts - self._next_dts > self._gap
                if dts + self._backward < self._last_dts or (gap and self.close_gaps):
                    target = self._next_dts
                    if self._arrival is not None:  # live: on by the time that passed, as it arrived
                        target = max(target, self._last_dts + (arrived - self._last_arrival) / self._time_base)
                    shift = round(target - dts)
                    self._offset += shift
                    dts += shift
                    self.restarts += 1
                elif gap:
                    self.gaps += 1
            self._last_dts, self._last_arrival = dts, arrived
            self._next_dts = dts + (packet.duration or self._frame)
            packet.dts = dts
        if packet.pts is not None and self._offset:
            packet.pts += self._offset
