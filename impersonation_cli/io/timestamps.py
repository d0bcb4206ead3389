"""Timestamps that restart mid-stream: MPEG-TS files joined with `cat`, an HLS playlist's `#EXT-X-DISCONTINUITY`, an
encoder restarted mid-recording. Their frames are put back in line with the frames before them, as `ffmpeg -i` does
for the formats FFmpeg marks as having such restarts."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import av

# FFmpeg's AVFMT_TS_DISCONT: a format whose timestamps may restart mid-stream (MPEG-TS, MPEG-PS, HLS, live FLV).
TS_DISCONT = 0x0200
# A decoding time this far behind the one before is a restart, not a muxer's jitter, and one this far past where
# the stream would have gone on is a jump (ffmpeg's own rule, `ts_discontinuity_detect`, and its default
# -dts_delta_threshold). Smaller steps back are left to the sampler, which keeps times increasing. A jump forward
# comes of a restart too: FFmpeg takes a timestamp over 60 s below a stream's first for one wrapped past 2^33 and
# adds 26.5 hours to it, and a part of a joined file that was cut from later in a stream begins later.
BACKWARD_S = 0.1
JUMP_S = 10.0


def may_restart(container: av.container.InputContainer) -> bool:
    """Whether the container's format is one whose timestamps may restart mid-stream."""
    return bool(container.format.flags & TS_DISCONT)


class TimestampRebase:
    """Packets of one video stream with their timestamps made to go on from the packets before a restart: a packet
    decoded more than BACKWARD_S before the one before it, or more than JUMP_S after where the stream would have
    gone on (the packet before's time plus its duration), is moved there, with every packet after it. Where the
    format has no restarts (MP4, Matroska), packets pass as they are. Without it, two copies of a 10-s clip joined
    with `cat` were sampled 25 times in place of 40, the second copy squeezed into millisecond steps at the end of
    the first; and a part 26.5 hours later (FFmpeg's wrap correction) held the first part's last picture for them,
    sampled every half second."""

    def __init__(self, container: av.container.InputContainer, stream: av.video.stream.VideoStream) -> None:
        self.active = may_restart(container) and stream.time_base is not None
        time_base = stream.time_base or 1
        rate = stream.average_rate or stream.guessed_rate
        self._backward, self._jump = BACKWARD_S / time_base, JUMP_S / time_base
        self._frame = 1 / (rate * time_base) if rate and rate > 0 else 0.04 / time_base
        self._offset = 0
        self._last_dts: int | None = None
        self._next_dts = 0.0
        self.restarts = 0

    def packets(self, packets: Iterable[av.Packet]) -> Iterator[av.Packet]:
        for packet in packets:
            if self.active:
                self._move(packet)
            yield packet

    def _move(self, packet: av.Packet) -> None:
        if packet.dts is not None:
            dts = packet.dts + self._offset
            if self._last_dts is not None and (
                dts + self._backward < self._last_dts or dts - self._next_dts > self._jump
            ):
                shift = round(self._next_dts - dts)
                self._offset += shift
                dts += shift
                self.restarts += 1
            self._last_dts = dts
            self._next_dts = dts + (packet.duration or self._frame)
            packet.dts = dts
        if packet.pts is not None and self._offset:
            packet.pts += self._offset
