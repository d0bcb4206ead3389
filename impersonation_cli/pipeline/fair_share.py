"""How fast a watcher samples its rooms: the target rate while recognition keeps up, an even share of what it can
do when it cannot.

The watcher recognises frames in one loop. Past what that loop can do, sampling every room at the target rate
only fills the rooms' queues with frames that are dropped unseen, and the decoding they cost slows recognition
further. Instead every room is sampled at the same lower rate: the loop's measured throughput (frames per
busy second), less some headroom, divided by the live rooms. A lower rate also lets each room's reader decode
less (io.live_reader.DecodePlan), which raises the throughput measured next, so the rate climbs back towards
the target as far as the machine allows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

# Busy shares of the recognition loop: at or above SATURATED it cannot keep up; below SPARE it can do more.
SATURATED = 0.9
SPARE = 0.7


@dataclass
class RecognitionShare:
    """The rate every room is sampled at now, from the recognition loop's measured throughput."""

    target_fps: float
    # Share of the loop's throughput handed out: the rest absorbs bursts (frames arrive unevenly).
    headroom: float = 0.85
    window_s: float = 3.0
    fps: float = field(init=False)
    lowest_fps: float = field(init=False)
    throughput: float | None = None  # frames the loop recognises per busy second, smoothed
    _busy_s: float = 0.0
    _frames: int = 0
    _since: float | None = None

    def __post_init__(self) -> None:
        self.fps = self.lowest_fps = self.target_fps

    def recognised(self, frames: int, busy_s: float) -> None:
        """A round of recognition: how many frames, and how long it took."""
        self._frames += frames
        self._busy_s += busy_s

    def update(self, now: float, live_rooms: int) -> bool:
        """At the end of each window, the rate for `live_rooms` rooms; True when it changed.

        A loop busy nearly all the window is saturated: the rate drops to the measured throughput's share. A
        loop idle much of it has room to spare: the rate climbs back (by up to half at a time, towards the
        busy share the headroom allows), since a throughput measured while every room decoded more than it now
        does is an underestimate.
        """
        if self._since is None:
            self._since = now
        elapsed = now - self._since
        if elapsed < self.window_s or self._busy_s <= 0 or not self._frames:
            return False
        measured = self._frames / self._busy_s
        self.throughput = measured if self.throughput is None else 0.5 * self.throughput + 0.5 * measured
        busy = min(1.0, self._busy_s / elapsed)
        self._frames, self._busy_s, self._since = 0, 0.0, now
        if busy >= SATURATED:
            fps = min(self.fps, self.headroom * self.throughput / max(1, live_rooms))
        elif busy < SPARE and self.fps < self.target_fps:
            fps = self.fps * min(1.5, self.headroom / busy)
        else:
            return False
        fps = min(self.target_fps, fps)
        # Small changes would only make the rooms' rates wobble; the target itself is always reached (a rate
        # within 5% of it would otherwise stay there).
        if fps == self.fps or (math.isclose(fps, self.fps, rel_tol=0.05) and fps < self.target_fps):
            return False
        self.fps = fps
        self.lowest_fps = min(self.lowest_fps, fps)
        return True

    @property
    def rooms_at_target(self) -> int | None:
        """How many rooms this machine holds at the target rate, from the measured throughput."""
        if self.throughput is None:
            return None
        return math.floor(self.headroom * self.throughput / self.target_fps)

    def as_dict(self) -> dict[str, float | int | None]:
        return {
            "target_fps": self.target_fps,
            "fps": self._shown(self.fps),
            "lowest_fps": self._shown(self.lowest_fps),
            "frames_per_busy_s": None if self.throughput is None else round(self.throughput, 2),
            "rooms_at_target": self.rooms_at_target,
        }

    def _shown(self, fps: float) -> float:
        """A rate to 3 decimals, or the target as given when it is the target: rounded, `--fps 0.0124` showed
        0.012 against its target, and the watch said it was past capacity with one room and time to spare."""
        return self.target_fps if fps >= self.target_fps else round(fps, 3)
