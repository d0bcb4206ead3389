"""Replay signals: a stream re-broadcasting known real footage of a person, or looping its own frames.

Fingerprint (`scripts/make_cases.py` makes the transforms it was tuned on; the measurements that chose it:
docs/benchmark.md, "Replay fingerprints"): an *ordinal* 8x8 block signature of a centred square region: the
frame is shrunk to a 128 px short side, the region is averaged into 8x8 blocks and each block is replaced by
its brightness rank (0..63). Ranks do not change under brightness, contrast or gamma changes and barely under
re-encoding; a square centred region survives border crops and aspect changes (landscape footage cropped to
a portrait room); an overlay spoils only the blocks it covers, and the distance caps each block's
contribution so a sticker cannot dominate it. A blank picture (black, a solid card) has no ranks, only ties broken
by position, the same for every blank picture: it is neither stored nor matched (`BLANK_SPREAD`).

Footage is stored as one signature per sampled frame (`[replay] footage_fps`: dense enough that a re-encode's
frames land near stored ones), of a region 0.55 of the short side. A replay that crops or zooms makes the
matching region a different fraction of its own frame, and an asymmetric crop moves its centre, so each
stream frame is fingerprinted under several variants (10 region sizes 8 % apart, 3x3 centre shifts of 3 %
of the region, and the mirror image) and the closest variant counts. A two-stage search keeps that cheap:
the unshifted variants rank the library, the shifted ones refine the best few.

A single frame can resemble another by chance (same studio, same framing); a replay is a *run*: consecutive
sampled frames matching one video with a constant time offset (`find_runs`). A loop is the same thing
inside one stream: frames matching earlier frames of the same stream at a constant lag. A still scene
matches itself at every lag, so a loop must also be *specific*: its frames must match the lag much better
than lags a second or two beside it, by an absolute margin (a still scene's costs are all near 0) and by a ratio
(a still-ish talking head costs little even beside its lag, so an absolute margin alone missed its loops; a busy
scene costs much everywhere). `scripts/measure_loops.py` measured both on the shared media (docs/verdicts.md).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np

from impersonation_cli.errors import UserError
from impersonation_cli.gallery.store import FINGERPRINT_GRID as GRID
from impersonation_cli.gallery.store import FINGERPRINT_METHOD as METHOD
from impersonation_cli.gallery.store import FootageVideo, Gallery
from impersonation_cli.io.names import shown_name
from impersonation_cli.io.sources import DecodeStats, is_image, not_a_file, sample_frames
from impersonation_cli.pipeline.faces import Frame
from impersonation_cli.pipeline.signals.scoring import not_judged, ramp
from impersonation_cli.results import SignalScore
from impersonation_cli.runtime.packs import sha256_of

SMALL_SIDE = 128
FOOTAGE_SCALE = 0.55
# Region sizes relative to the short side: footage's own 0.55 and steps of 8 % (the signature tolerates about
# 4 %), from 0.47 (the replay shrank the picture by up to 15 %) to 0.96 (it cropped up to 21 % of each border).
SCALES = FOOTAGE_SCALE * 1.083 ** np.arange(-2, 8)
SHIFTS = (-0.03, 0.0, 0.03)
# Per-block rank difference cap: a block under a sticker costs at most this much.
RANK_CAP = 12
# Block means (gray levels, 0..255) spread less than this: a blank region, which matches nothing. Black and solid
# frames spread 0; on the shared media's real footage, the least spread region of a sampled frame spreads 26 or more
# (Megamind.avi's first frame, black, aside).
BLANK_SPREAD = 4.0
LOOP_SCALE = 0.8  # a stream against itself: most of the picture, away from the borders where overlays sit
REPLAY = "replay"
LOOP = "loop"
STILL_IMAGE = "a still image; known footage is video"


@dataclass(frozen=True)
class ReplaySettings:
    """The `[replay]` section (distances are mean capped rank differences per block, 0..RANK_CAP)."""

    footage_fps: float = 8.0
    match_distance: float = 4.5
    candidates: int = 32
    offset_tolerance_s: float = 0.75
    max_gap_s: float = 1.5
    min_run_frames: int = 4
    run_s: tuple[float, float] = (2.0, 5.0)
    footage_margin: float = 2.0
    loop_min_lag_s: float = 2.0
    loop_distance: float = 2.0
    loop_margin: float = 1.0
    loop_ratio: float = 0.5
    loop_window_s: float = 10800.0


# -- fingerprints ------------------------------------------------------------------------------------


def _small_gray(image: np.ndarray) -> np.ndarray:
    """The frame in gray with a SMALL_SIDE short side. Pixels are first skipped down to about that size:
    8x8 block means over hundreds of pixels do not see the aliasing, and resizing a big frame is the
    costly part."""
    step = max(1, min(image.shape[:2]) // SMALL_SIDE)
    image = image[::step, ::step]
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
    factor = SMALL_SIDE / min(gray.shape[:2])
    size = (max(1, round(gray.shape[1] * factor)), max(1, round(gray.shape[0] * factor)))
    return cv2.resize(gray, size, interpolation=cv2.INTER_AREA).astype(np.float32)


@functools.lru_cache(maxsize=8)
def _block_edges(height: int, width: int, regions: tuple[tuple[float, float, float], ...]) -> tuple[np.ndarray, ...]:
    """Pixel edges (x (R, GRID+1), y (R, GRID+1)) of the blocks of each centred square region (scale, shift_x,
    shift_y), clamped inside the frame; cached because a stream's frame size does not change."""
    scale, shift_x, shift_y = (np.array(column) for column in zip(*regions, strict=True))
    side = np.minimum(np.round(scale * min(height, width)), min(height, width))
    x0 = np.clip(np.round((width - side) / 2 + shift_x * side), 0, width - side)
    y0 = np.clip(np.round((height - side) / 2 + shift_y * side), 0, height - side)
    steps = np.arange(GRID + 1) / GRID
    edge = np.round(side[:, None] * steps)
    return (x0[:, None] + edge).astype(np.intp), (y0[:, None] + edge).astype(np.intp)


def _block_means(small: np.ndarray, regions: tuple[tuple[float, float, float], ...]) -> np.ndarray:
    """The GRIDxGRID block means of each region: (R, GRID*GRID). The block sums come from one integral image,
    so a hundred regions cost about as much as one."""
    xs, ys = _block_edges(*small.shape, regions)
    integral = cv2.integral(small, sdepth=cv2.CV_64F)
    corners = integral[ys[:, :, None], xs[:, None, :]]
    sums = corners[:, 1:, 1:] - corners[:, :-1, 1:] - corners[:, 1:, :-1] + corners[:, :-1, :-1]
    areas = np.diff(ys)[:, :, None] * np.diff(xs)[:, None, :]
    return (sums / np.maximum(areas, 1)).reshape(len(regions), -1)


def _ranks(means: np.ndarray) -> np.ndarray:
    return np.argsort(np.argsort(means, axis=-1, kind="stable"), axis=-1).astype(np.uint8)


def _blank(means: np.ndarray) -> np.ndarray:
    """Which regions are one flat colour (black, a fade, a solid 'starting soon' card): their blocks' ranks are
    ties broken by position, the same for every blank picture, so two blank pictures are 'identical'."""
    return np.ptp(means, axis=-1) < BLANK_SPREAD


def _signatures(small: np.ndarray, regions: tuple[tuple[float, float, float], ...]) -> np.ndarray:
    """Ranks of the GRIDxGRID block means of each region: (R, GRID*GRID)."""
    return _ranks(_block_means(small, regions))


FOOTAGE_REGION = ((FOOTAGE_SCALE, 0.0, 0.0),)
LOOP_REGION = ((LOOP_SCALE, 0.0, 0.0),)
STREAM_REGIONS = tuple((float(s), dx, dy) for s in SCALES for dy in SHIFTS for dx in SHIFTS)


def footage_fingerprint(image: np.ndarray) -> np.ndarray:
    """The stored signature of a footage frame: (GRID*GRID,) ranks of the 0.55 centre square."""
    return _signatures(_small_gray(image), FOOTAGE_REGION)[0]


def loop_fingerprint(small: np.ndarray) -> np.ndarray:
    """A stream frame's signature for comparing the stream with itself (nothing to undo: one variant)."""
    return _signatures(small, LOOP_REGION)[0]


def stream_fingerprints(small: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A stream frame's (`_small_gray`) signatures under every variant: (mirror 2, scale, shift_y 3, shift_x 3,
    GRID*GRID); and which variants are blank (`_blank`; a mirror image is as blank as its original): (mirror 2,
    scale, shift_y 3, shift_x 3). Both from one pass of block means per view."""
    views = (small, np.ascontiguousarray(small[:, ::-1]))
    means = [_block_means(view, STREAM_REGIONS) for view in views]
    variants = (2, len(SCALES), len(SHIFTS), len(SHIFTS))
    signatures = np.stack([_ranks(view_means) for view_means in means]).reshape(*variants, GRID * GRID)
    blank = _blank(means[0]).reshape(variants[1:])
    return signatures, np.stack([blank, blank])


def paired_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Mean capped rank difference of signatures a[..., 64] and b[..., 64], broadcast."""
    difference = np.abs(a.astype(np.int16) - b.astype(np.int16))
    return np.minimum(difference, RANK_CAP).mean(axis=-1, dtype=np.float32)


def distances(queries: np.ndarray, references: np.ndarray) -> np.ndarray:
    """Every query (..., 64) to every reference (N, 64): (..., N)."""
    return paired_distances(queries[..., None, :], references)


def fingerprint_video(
    path: Path, fps: float, stats: DecodeStats | None = None
) -> tuple[list[tuple[float, bytes]], float]:
    """(time, signature) of every sampled frame, and the seconds decoded; `stats` says how decoding went (a
    file that ended early is `truncated`, as in a scan)."""
    frames: list[tuple[float, bytes]] = []
    decoded, last_s = 0, 0.0
    for frame in sample_frames(str(path), fps, stats):
        decoded, last_s = decoded + 1, frame.time_s
        means = _block_means(_small_gray(frame.image), FOOTAGE_REGION)
        if not _blank(means)[0]:  # a black or solid frame is not stored: it would match any blank stream frame
            frames.append((frame.time_s, _ranks(means)[0].tobytes()))
    if not decoded:
        raise UserError(f"{path}: no frames could be decoded")
    if decoded == 1:  # a picture the decoder took for a video (a GIF, a renamed photo): no run can match it
        raise UserError(
            f"{path}: only one frame decodes (a still picture, or a video shorter than one sampling interval or "
            "broken after its first frame); known footage is video"
        )
    if not frames:
        raise UserError(f"{path}: every frame is blank (one flat colour): nothing in it can recognise a replay")
    return frames, last_s


def add_footage(
    gallery: Gallery, name: str, path: Path, fps: float, stats: DecodeStats | None = None
) -> tuple[FootageVideo, bool]:
    """Fingerprint a video and store it as `name`'s footage; (the video, whether it was new). A video `name`
    already has (the same content, under any file name) is not decoded again: the one stored is returned, with
    its own name, rate and frames. `stats` as for `fingerprint_video`."""
    if problem := not_a_file(path):
        raise UserError(f"{path}: {problem}")
    if is_image(path):
        raise UserError(f"{path}: {STILL_IMAGE}")
    person = gallery.canonical_name(name)
    digest = sha256_of(path)
    if (stored := _stored_footage(gallery, person, digest)) is not None:
        return stored, False
    frames, duration_s = fingerprint_video(path, fps, stats)
    # SQLite stores UTF-8: a file name's undecodable bytes are stored as \xNN (io/names.py).
    name = shown_name(path.name)
    video = FootageVideo(person, name, digest, METHOD, fps, round(duration_s, 3), len(frames))
    if gallery.add_footage(video, frames):
        return video, True
    return _stored_footage(gallery, person, digest) or video, False  # stored meanwhile by another process


def _stored_footage(gallery: Gallery, person: str, sha256: str) -> FootageVideo | None:
    return next((v for v in gallery.footage(person) if v.sha256 == sha256), None)


# -- the library ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FootageMatch:
    """A stream frame's closest frames in the library: which video, at what footage time, how close."""

    videos: np.ndarray
    times: np.ndarray
    distances: np.ndarray


class FootageIndex:
    """Every footage frame's signature in one matrix: row i is `videos[owners[i]]` at `times[i]`."""

    def __init__(self, videos: list[FootageVideo], owners: np.ndarray, times: np.ndarray, signatures: np.ndarray):
        self.videos = videos
        self.owners = owners
        self.times = times
        self.signatures = signatures

    @classmethod
    def from_gallery(cls, gallery: Gallery) -> FootageIndex:
        videos, owners, times, signatures = [], [], [], []
        for number, (video, frames) in enumerate(gallery.footage_frames(METHOD)):
            videos.append(video)
            owners += [number] * len(frames)
            times += [t for t, _ in frames]
            signatures += [np.frombuffer(s, dtype=np.uint8) for _, s in frames]
        matrix = np.stack(signatures) if signatures else np.zeros((0, GRID * GRID), dtype=np.uint8)
        return cls(videos, np.array(owners, dtype=np.int64), np.array(times, dtype=np.float64), matrix)

    def __len__(self) -> int:
        return len(self.videos)

    def span(self, number: int) -> tuple[float, float]:
        """Video `number`'s first and last fingerprinted times."""
        times = self.times[self.owners == number]
        return float(times.min()), float(times.max())

    def nearest(self, variants: np.ndarray, settings: ReplaySettings, blank: np.ndarray | None = None) -> FootageMatch:
        """Library frames within `match_distance` of a stream frame (its `stream_fingerprints`); the variants
        `blank` marks (`stream_fingerprints`) match nothing: a black screen is no frame of anyone's footage, though
        its ranks equal those of every black frame stored before such frames were left out.

        Stage one ranks the library by the unshifted variants; stage two scores the best `candidates` of
        them under every variant, so the shifts cost a fixed amount however large the library is.
        """
        none = FootageMatch(np.zeros(0, np.int64), np.zeros(0), np.zeros(0, np.float32))
        if not len(self.signatures) or (blank is not None and blank.all()):
            return none
        centre = len(SHIFTS) // 2
        far = np.float32(RANK_CAP + 1)  # past any distance: a blank variant is never the closest
        coarse_d = distances(variants[:, :, centre, centre], self.signatures)
        if blank is not None:
            coarse_d[blank[:, :, centre, centre]] = far
        coarse = coarse_d.min(axis=(0, 1))
        # Distances are means of small integers and tie often; a stable sort keeps the same frames on every CPU.
        best = np.argsort(coarse, kind="stable")[: settings.candidates]
        fine_d = distances(variants.reshape(-1, GRID * GRID), self.signatures[best])
        if blank is not None:
            fine_d[blank.reshape(-1)] = far
        fine = fine_d.min(axis=0)
        keep = fine <= settings.match_distance
        rows = best[keep]
        return FootageMatch(self.owners[rows], self.times[rows], fine[keep])


# -- runs ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    """Consecutive stream frames matching one reference at a constant offset (stream time - reference time)."""

    key: int
    offset_s: float
    start_s: float
    end_s: float
    frames: int
    mean_distance: float
    # The reference time of the run's first frame: start_s - offset_s is off by the offset's spread, which
    # a re-encode that held its first frame (ffmpeg's padding to a start time of 0) made negative.
    reference_start_s: float

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


def find_runs(
    key: int, stream_times: np.ndarray, reference_times: np.ndarray, dists: np.ndarray, settings: ReplaySettings
) -> list[Run]:
    """The runs among one reference's matches, strongest first, each stream frame in at most one run.

    The offsets are voted into bins; the fullest bin's matches (within the tolerance), the best per stream
    frame, are split where more than `max_gap_s` passes without one, and the longest piece is a run.
    """
    runs: list[Run] = []
    remaining = np.ones(len(stream_times), dtype=bool)
    offsets = stream_times - reference_times
    while remaining.any():
        chosen = np.flatnonzero(remaining)
        centre, support = _densest_offset(offsets[chosen], stream_times[chosen], settings.offset_tolerance_s)
        if support < settings.min_run_frames:
            break
        near = chosen[np.abs(offsets[chosen] - centre) <= settings.offset_tolerance_s]
        piece = _longest_piece(_best_per_frame(near, stream_times, dists), stream_times, settings.max_gap_s)
        remaining[near] = False
        if len(piece) < settings.min_run_frames:
            continue
        first = piece[np.argmin(stream_times[piece])]
        runs.append(
            Run(
                key=key,
                offset_s=float(np.median(offsets[piece])),
                start_s=float(stream_times[first]),
                end_s=float(stream_times[piece].max()),
                frames=len(piece),
                mean_distance=float(dists[piece].mean()),
                reference_start_s=float(reference_times[first]),
            )
        )
    return sorted(runs, key=lambda r: (-r.duration_s, r.mean_distance))


def _densest_offset(offsets: np.ndarray, stream_times: np.ndarray, tolerance_s: float) -> tuple[float, int]:
    """The offset with the most distinct stream frames within the tolerance of it, and how many (binned by
    tolerance / 2, so a talking head matching many nearby footage frames costs linear time)."""
    step = tolerance_s / 2
    bins = np.round(offsets / step).astype(np.int64)
    # Each (bin, stream frame) pair counted once, through one int64 key: np.unique(axis=1) on the stacked pairs
    # gave the same bins in 7 times the time (a structured sort), most of a long loop's judging.
    millis = np.round(stream_times * 1000).astype(np.int64)
    low, first_ms = bins.min(), millis.min()
    span = int(millis.max() - first_ms) + 1
    frames = np.unique((bins - low) * span + (millis - first_ms)) // span + low
    counts = np.bincount(frames - low)
    # Three bins span 1.5 steps either side at most: every counted offset lies within the tolerance.
    window = np.convolve(counts, np.ones(3, dtype=np.int64), mode="same")
    best = int(np.argmax(window))
    return float((best + low) * step), int(window[best])


def _best_per_frame(rows: np.ndarray, stream_times: np.ndarray, dists: np.ndarray) -> np.ndarray:
    ordered = rows[np.lexsort((dists[rows], stream_times[rows]))]
    _, first = np.unique(stream_times[ordered], return_index=True)
    return ordered[first]


def _longest_piece(rows: np.ndarray, stream_times: np.ndarray, max_gap_s: float) -> np.ndarray:
    if not len(rows):
        return rows
    breaks = np.flatnonzero(np.diff(stream_times[rows]) > max_gap_s) + 1
    return max(np.split(rows, breaks), key=len)


# Offsets a footage run is compared with (`offset_costs`): beyond the run's own tolerance either side.
BESIDE_OFFSETS_S = (-3.0, -2.0, 2.0, 3.0)


def offset_costs(
    matches: np.ndarray, run: Run, tolerance_s: float, footage_span: tuple[float, float]
) -> tuple[float, float]:
    """The run's cost at its offset and beside it, on the same frames: of the offsets BESIDE_OFFSETS_S from the
    run's, the one that comes closest (the smallest mean difference), with the mean over the run's frames of each
    one's best distance to the footage (of `matches`' rows of the run's video: stream time, video, footage time,
    distance) within `tolerance_s` of the run's offset and of that one. A frame counts at an offset only where the
    footage has a frame to match there (its footage time inside `footage_span`, the video's first and last
    fingerprinted times): charged RANK_CAP where none could be, frames past the footage's ends made new footage
    of the same set, stored only a few seconds of it, look specific to its offset (likely-replay 1.0 on the
    person's own new broadcast, in the room authorized for it). An offset where fewer than half of the run's
    frames have footage is not compared; with none compared, the run is not shown specific (equal costs)."""
    inside = matches[(matches[:, 0] >= run.start_s) & (matches[:, 0] <= run.end_s)]
    frames, frame_of = np.unique(inside[:, 0], return_inverse=True)
    offsets = inside[:, 0] - inside[:, 2]

    def cost(offset: float) -> np.ndarray:
        best = np.full(len(frames), float(RANK_CAP))
        near = np.abs(offsets - offset) <= tolerance_s
        np.minimum.at(best, frame_of[near], inside[near, 3])
        return best

    at = cost(run.offset_s)
    compared = []
    for step in BESIDE_OFFSETS_S:
        footage_times = frames - (run.offset_s + step)
        held = (footage_times >= footage_span[0]) & (footage_times <= footage_span[1])
        if 2 * held.sum() >= len(frames):
            compared.append((float(at[held].mean()), float(cost(run.offset_s + step)[held].mean())))
    if not compared:
        return float(at.mean()), float(at.mean())
    return min(compared, key=lambda costs: costs[1] - costs[0])


# A frame this close to a lag's target time stands at that lag (`frame_lag_costs`); samples come at most 1 s apart.
LAG_TOLERANCE_S = 0.75


def lag_costs(times: np.ndarray, signatures: np.ndarray, run: Run) -> tuple[float, float]:
    """The mean distance of the run's frames (of a stream's `times` and loop `signatures`) to the frames one lag
    earlier: at the run's lag, and at the best of lags 1 and 2 s either side of it."""
    _, at, beside, _ = frame_lag_costs(times, signatures, run)
    return mean_costs(at, beside)


def mean_costs(at: np.ndarray, beside: np.ndarray) -> tuple[float, float]:
    """`frame_lag_costs`' frame costs as `lag_costs` gives them: their mean at the lag, and the lowest mean beside."""
    return float(at.mean()), float(beside.mean(axis=1).min())


def frame_lag_costs(
    times: np.ndarray, signatures: np.ndarray, run: Run
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """`lag_costs` frame by frame: the run's frames (indices into `times`), each one's distance to the frame one
    lag earlier, (4, frames) the same at lags 1 and 2 s either side, and (4, frames) whether the stream holds a
    frame there (a loop's first frames have none 1-2 s before their partner: the stream's first frame stood in)."""
    inside = np.flatnonzero((times >= run.start_s) & (times <= run.end_s))

    def cost(lag: float) -> tuple[np.ndarray, np.ndarray]:
        targets = times[inside] - lag
        partners = nearest_times(times, targets)
        held = np.abs(times[partners] - targets) <= LAG_TOLERANCE_S
        return paired_distances(signatures[inside], signatures[partners]), held

    beside = [cost(run.offset_s + d) for d in (-2.0, -1.0, 1.0, 2.0)]
    return inside, cost(run.offset_s)[0], np.stack([c for c, _ in beside]), np.stack([h for _, h in beside])


def specific_part(times: np.ndarray, signatures: np.ndarray, run: Run, settings: ReplaySettings) -> Run | None:
    """The run, if specific to its lag (`lag_specific` of its mean costs), cut to its first and last frames that
    are specific on their own, which is what repeats: a product clip shown twice between live talk made one run
    at its lag of the clip and the talk before it (a still background matches every lag alike), 7 s scored 1.0
    where the clip repeated 3 s. None where it is not specific."""
    inside, at, beside, held = frame_lag_costs(times, signatures, run)
    if not lag_specific(*mean_costs(at, beside), settings):
        return None
    nearest = np.where(held, beside, np.inf).min(axis=0)
    specific = inside[(nearest - at >= settings.loop_margin) & (at <= settings.loop_ratio * nearest)]
    if not len(specific):
        return None
    piece = inside[(times[inside] >= times[specific].min()) & (times[inside] <= times[specific].max())]
    costs = at[np.isin(inside, piece)]
    start, end = float(times[piece].min()), float(times[piece].max())
    return replace(
        run,
        start_s=start,
        end_s=end,
        frames=len(piece),
        mean_distance=float(costs.mean()),
        reference_start_s=run.reference_start_s + (start - run.start_s),
    )


def nearest_times(times: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """The index in `times` of the time closest to each target (of equally close ones the lowest index), as
    `np.abs(times[None, :] - targets[:, None]).argmin(axis=1)` gives it, in O(N log N) time and O(N) memory: that
    (targets x times) table was the scan's peak memory on a long recording, quadratic in its length
    (docs/benchmark.md, "Long recordings")."""
    order = np.argsort(times, kind="stable")
    ordered = times[order]
    right = np.minimum(np.searchsorted(ordered, targets, side="left"), len(times) - 1)
    left = np.maximum(right - 1, 0)
    # Of equal times, the first in `order` (a stable sort) has the lowest index; `right` is the first already.
    left = np.searchsorted(ordered, ordered[left], side="left")
    candidates = np.stack([order[left], order[right]])
    gaps = np.abs(times[candidates] - targets)
    take_left = (gaps[0] < gaps[1]) | ((gaps[0] == gaps[1]) & (candidates[0] <= candidates[1]))
    return np.where(take_left, candidates[0], candidates[1])


def merge_loop_runs(runs: list[Run], settings: ReplaySettings) -> list[Run]:
    """Runs that are pieces of one loop, cut where the detector forgot its history (`ReplayDetector._settle`),
    joined: the same lag (within `offset_tolerance_s`), the later starting within `max_gap_s` after the earlier
    ends. Each piece was judged on its own frames; the joined run's lag and distance are the pieces' weighted by
    their frames."""
    merged: list[Run] = []
    for run in sorted(runs, key=lambda r: (r.start_s, r.end_s)):
        for n, earlier in enumerate(merged):
            same_lag = abs(earlier.offset_s - run.offset_s) <= settings.offset_tolerance_s
            if same_lag and earlier.end_s < run.start_s <= earlier.end_s + settings.max_gap_s:
                frames = earlier.frames + run.frames
                merged[n] = Run(
                    key=earlier.key,
                    offset_s=(earlier.offset_s * earlier.frames + run.offset_s * run.frames) / frames,
                    start_s=earlier.start_s,
                    end_s=run.end_s,
                    frames=frames,
                    mean_distance=(earlier.mean_distance * earlier.frames + run.mean_distance * run.frames) / frames,
                    reference_start_s=earlier.reference_start_s,
                )
                break
        else:
            merged.append(run)
    return sorted(merged, key=lambda r: (-r.duration_s, r.mean_distance))


def lag_specific(at_lag: float, beside: float, settings: ReplaySettings) -> bool:
    """Whether a run matches its lag clearly better than the lags beside it (a still scene matches every lag
    equally): by at least `loop_margin`, and at most `loop_ratio` of the cost beside."""
    return beside - at_lag >= settings.loop_margin and at_lag <= settings.loop_ratio * beside


# -- the detector ------------------------------------------------------------------------------------------


class GrowingArray:
    """Rows of one shape and type appended to one array, its capacity doubled as it fills (amortised O(1) a row)."""

    def __init__(self, row_shape: tuple[int, ...], dtype: type[np.generic]) -> None:
        self._data: np.ndarray = np.zeros((16, *row_shape), dtype=dtype)
        self._length = 0

    def extend(self, rows: np.ndarray) -> None:
        needed = self._length + len(rows)
        if needed > len(self._data):
            grown = np.zeros((max(needed, 2 * len(self._data)), *self._data.shape[1:]), dtype=self._data.dtype)
            grown[: self._length] = self._data[: self._length]
            self._data = grown
        self._data[self._length : needed] = rows
        self._length = needed

    def keep(self, rows: np.ndarray) -> None:
        """Keep only the rows a boolean mask marks, in a new array of one and a half times their number (room for the
        rows a detector adds before it forgets again): the memory held follows the rows kept, not the most there
        ever were."""
        kept = self.values[rows]
        self._data = np.zeros((max(16, len(kept) + len(kept) // 2), *self._data.shape[1:]), dtype=self._data.dtype)
        self._data[: len(kept)] = kept
        self._length = len(kept)

    @property
    def values(self) -> np.ndarray:
        """The rows so far (a view: valid until the next `extend` or `keep`)."""
        return self._data[: self._length]

    def __len__(self) -> int:
        return self._length


# Loop search history (`[replay] loop_window_s`): once a source has run a window and a sixteenth, the loop matches
# older than one window are judged and forgotten, a sixteenth of a window at a time (`ReplayDetector._settle`): the
# fewer at a time, the shorter the frame that judges them (a quarter window of a 60-s clip looped all day: 5.4 s).
SETTLE_EVERY = 1 / 16
# Signatures are kept a window (and this) before the oldest loop match kept: `lag_costs` compares a run's frames with
# those one lag earlier (a lag at most one window and the tolerance) and 1-2 s beside it.
LAG_MARGIN_S = 5.0
# Gaps between a source's frames that tell how often it was sampled (`measured_interval_s`).
MEASURED_GAPS = 8
# Loop runs kept of those already judged and forgotten: the longest (a source's loop signal is its longest run).
SETTLED_RUNS = 16


class ReplayDetector:
    """Per source: matches every sampled frame against the footage library and against the stream's past (for
    loops, its last `loop_window_s`: the memory and the work a frame stay bounded however long a room is watched)."""

    def __init__(
        self, index: FootageIndex | None, settings: ReplaySettings, sample_interval_s: float | None = None
    ) -> None:
        """`sample_interval_s`: the source's sampling interval, where known (`too_sparse`)."""
        self.index = index if index is not None and len(index) else None
        self.settings = settings
        self.sample_interval_s = sample_interval_s
        # Kept for every sampled frame of the source (a watched room's: of the whole watch), so in arrays, not as
        # Python objects a value (a tuple of floats a loop match, an array a signature: 7 times the bytes).
        # Footage matches, one row each: stream time, video number, footage time, distance.
        self._matches = GrowingArray((4,), np.float64)
        # The stream's own loop signatures and times, for loops; loop matches: stream time, earlier time, distance.
        self._own = GrowingArray((GRID * GRID,), np.uint8)
        self._own_times = GrowingArray((), np.float64)
        self._loop_matches = GrowingArray((3,), np.float64)
        # Loop runs specific to their lag whose frames have been forgotten (`_settle`), and the time before which
        # loop matches were forgotten last (None: nothing yet; the first frame's time once one is seen).
        self._settled: list[Run] = []
        self._settled_until: float | None = None

    def observe(self, frame: Frame) -> None:
        small = _small_gray(frame.image)
        if self.index is not None:
            variants, blank = stream_fingerprints(small)
            found = self.index.nearest(variants, self.settings, blank)
            times = np.full(len(found.videos), frame.time_s)
            self._matches.extend(np.column_stack([times, found.videos, found.times, found.distances]))
        self._observe_loop(frame.time_s, loop_fingerprint(small))

    def _observe_loop(self, time_s: float, signature: np.ndarray) -> None:
        """Match against the stream's frames at least `loop_min_lag_s` and at most `loop_window_s` older; keep the
        closest few (a still scene matches all of them, and the specificity test needs only some)."""
        settings = self.settings
        if self._settled_until is None:
            self._settled_until = time_s
        elif time_s - settings.loop_window_s - self._settled_until >= SETTLE_EVERY * settings.loop_window_s:
            self._settle(self._settled_until, time_s - settings.loop_window_s)
        times, own = self._own_times.values, self._own.values
        earlier = np.flatnonzero(
            (times <= time_s - settings.loop_min_lag_s) & (times >= time_s - settings.loop_window_s)
        )
        if len(earlier):
            # Frames come in time order: the earlier ones are one stretch, compared without a copy.
            stretch = earlier[-1] - earlier[0] == len(earlier) - 1
            dists = distances(signature, own[earlier[0] : earlier[-1] + 1] if stretch else own[earlier])
            # Of equally close frames the most recent (a stable sort of the reversed stretch): a clip looped more
            # than `candidates` times matches each earlier play exactly, and numpy's default sort picked among
            # them by CPU (its SIMD sorts), scattering the lags and breaking the loop's run on some machines.
            closest = len(dists) - 1 - np.argsort(dists[::-1], kind="stable")[: self.settings.candidates]
            closest = closest[dists[closest] <= self.settings.loop_distance]
            found = np.column_stack([np.full(len(closest), time_s), times[earlier[closest]], dists[closest]])
            self._loop_matches.extend(found)
        self._own.extend(signature[None, :])
        self._own_times.extend(np.array([time_s]))

    def _settle(self, since_s: float, before_s: float) -> None:
        """Judge the loop matches of frames before `before_s` (the last settle was up to `since_s`): their runs,
        specific to their lag or not; then forget them, with the signatures no match kept can be compared with any
        more. A loop still playing is cut here: its piece before is kept as a settled run, the piece after is found
        later and `merge_loop_runs` joins them."""
        table = self._loop_matches.values
        old = table[:, 0] < before_s
        if old.any():
            times, signatures = self._own_times.values, self._own.values
            rows = table[old]
            gap = self.settings.max_gap_s
            specific: list[Run] = []
            # Longest first (`find_runs`); judging is the costly part (a short clip looped all day breaks into
            # hundreds of runs at its many lags), so past the SETTLED_RUNS longest specific ones only the runs that
            # may go on a piece settled before (starting at the last cut) or after `before_s` are judged.
            for run in find_runs(0, rows[:, 0], rows[:, 1], rows[:, 2], self.settings):
                at_cut = run.start_s <= since_s + gap or run.end_s >= before_s - gap
                judged = len(specific) < SETTLED_RUNS or at_cut
                if judged and (part := specific_part(times, signatures, run, self.settings)) is not None:
                    specific.append(part)
            merged = merge_loop_runs(self._settled + specific, self.settings)
            # The longest, and any that may go on after `before_s` (a run's frames are at most max_gap_s apart).
            self._settled = [run for n, run in enumerate(merged) if n < SETTLED_RUNS or run.end_s >= before_s - gap]
            self._loop_matches.keep(~old)
        recent = self._own_times.values >= before_s - self.settings.loop_window_s - LAG_MARGIN_S
        self._own.keep(recent)
        self._own_times.keep(recent)
        self._settled_until = before_s

    def join(self, parts: list[ReplayDetector]) -> None:
        """Continue with what other detectors saw of this source's next stretches, in order (a long file's slices,
        scanned elsewhere: pipeline/slices.py): their footage matches, and their frames compared again with the
        stream's whole past, earlier slices included."""
        for part in parts:
            self._matches.extend(part._matches.values)
            # A slice longer than the window forgot its oldest frames: the loops it found in them come as runs.
            if part._settled:
                self._settled = merge_loop_runs(self._settled + part._settled, self.settings)
            for time_s, signature in zip(part._own_times.values, part._own.values, strict=True):
                self._observe_loop(float(time_s), signature)

    # -- results ---------------------------------------------------------------------------------------

    def replay_runs(self) -> list[Run]:
        """Runs against every footage video, strongest first."""
        if self.index is None or not len(self._matches):  # matches come only with an index
            return []
        table = self._matches.values
        runs = []
        for video in np.unique(table[:, 1]).astype(int):
            rows = table[table[:, 1] == video]
            found = find_runs(int(video), rows[:, 0], rows[:, 2], rows[:, 3], self.settings)
            runs += [run for run in found if self._specific_to_offset(rows, run, self.index.span(video))]
        return sorted(runs, key=lambda r: (-r.duration_s, r.mean_distance))

    def _specific_to_offset(self, rows: np.ndarray, run: Run, footage_span: tuple[float, float]) -> bool:
        """Whether the run matches its footage at its offset clearly better than 2-3 s beside it, as a
        re-broadcast does: new footage of the same person in the same set matches the stored footage at every
        offset alike, and was flagged likely-replay (docs/verdicts.md, "Replays of known footage")."""
        at, beside = offset_costs(rows, run, self.settings.offset_tolerance_s, footage_span)
        return beside - at >= self.settings.footage_margin

    def loop_candidates(self) -> list[tuple[Run, float, float]]:
        """Runs of the stream against its own past (of the matches not yet settled: `_settle`), each with its
        frames' cost at its lag and at the best lag 1-2 s beside it (`lag_costs`), before the specificity test."""
        times, signatures = self._own_times.values, self._own.values
        return [(run, *lag_costs(times, signatures, run)) for run in self._runs(self._loop_matches.values)]

    def loop_runs(self) -> list[Run]:
        """Runs of the stream against its own past that are specific to their lag (key: 0), strongest first: those
        settled (`_settle`) and those since, a loop cut where its matches were settled joined again."""
        runs = self._specific_parts(self._loop_matches.values)
        return merge_loop_runs(self._settled + runs, self.settings) if self._settled else runs

    def _specific_parts(self, table: np.ndarray) -> list[Run]:
        """The runs of loop matches `table` (stream time, earlier time, distance) cut to what is specific to their
        lags (`specific_part`), longest first."""
        times, signatures = self._own_times.values, self._own.values
        runs = self._runs(table)
        parts = [part for run in runs if (part := specific_part(times, signatures, run, self.settings)) is not None]
        return sorted(parts, key=lambda r: (-r.duration_s, r.mean_distance))

    def _runs(self, table: np.ndarray) -> list[Run]:
        """The runs of loop matches `table` (stream time, earlier time, distance)."""
        if not len(table):
            return []
        return find_runs(0, table[:, 0], table[:, 1], table[:, 2], self.settings)

    def recent_loop(self, since_s: float) -> SignalScore | None:
        """The longest repeat of the stream itself among its frames since `since_s` that is specific to its lag, as
        the loop signal scores it; None where there is none. For a watch to tell while it runs (`Watcher`): the
        recent frames only, so that each look stays small however long the room has been watched."""
        table = self._loop_matches.values
        parts = self._specific_parts(table[table[:, 0] >= since_s])
        return self._loop_score(parts[0]) if parts else None

    def _replay_score(self, run: Run) -> SignalScore:
        video = self.index.videos[run.key] if self.index is not None else None
        assert video is not None
        score = ramp(run.duration_s, self.settings.run_s)
        return SignalScore(
            REPLAY,
            round(score, 4),
            f"{run.start_s:.1f}-{run.end_s:.1f} s match {video.person}'s footage {video.name} "
            f"(sha256 {video.sha256[:12]}) from footage time {run.reference_start_s:.1f} s "
            f"(offset {run.offset_s:+.1f} s, {run.frames} frames, distance {run.mean_distance:.2f})",
            {
                "offset_s": round(run.offset_s, 3),
                "start_s": round(run.start_s, 3),
                "end_s": round(run.end_s, 3),
                "footage_start_s": round(run.reference_start_s, 3),
                "frames": float(run.frames),
                "mean_distance": round(run.mean_distance, 3),
                "footage_person": video.person,
                "footage_video": video.name,
                "footage_sha256": video.sha256,
            },
        )

    def _loop_score(self, run: Run) -> SignalScore:
        score = ramp(run.duration_s, self.settings.run_s)
        return SignalScore(
            LOOP,
            round(score, 4),
            f"{run.start_s:.1f}-{run.end_s:.1f} s repeat the stream {run.offset_s:.1f} s earlier "
            f"({run.frames} frames, distance {run.mean_distance:.2f})",
            {
                "lag_s": round(run.offset_s, 3),
                "start_s": round(run.start_s, 3),
                "end_s": round(run.end_s, 3),
                "frames": float(run.frames),
                "mean_distance": round(run.mean_distance, 3),
            },
        )

    def too_sparse(self) -> str | None:
        """Why no run can be found at this sampling rate, or None: a run's frames lie at most `max_gap_s` apart and
        its lag is told from lags 1-2 s beside it, so sampled less often (under 0.67 fps), a 25-minute loop of one
        clip read 'no stretch of the stream repeats an earlier one', where it was never looked for."""
        interval = self.measured_interval_s()
        # At the gap itself a sample landing a frame late splits the run too.
        if interval is None or interval < self.settings.max_gap_s:
            return None
        return (
            f"sampled every {interval:.3g} s; loops and replays of known footage are looked for where samples "
            f"are under {self.settings.max_gap_s:g} s apart ([replay] max_gap_s; --fps)"
        )

    def measured_interval_s(self) -> float | None:
        """How far apart the source's frames came: the median gap between the frames kept for loops, where
        more than MEASURED_GAPS were seen, else the interval the source was to be sampled at. A watcher past
        capacity samples its rooms less often than asked (under 0.67 fps at worst), and a looped room's loop
        was then called absent where it was never looked for."""
        times = self._own_times.values
        if len(times) > MEASURED_GAPS:
            return float(np.median(np.diff(times)))
        return self.sample_interval_s

    def source_signals(self) -> dict[str, SignalScore]:
        """ "replay": the longest match with known footage; "loop": the longest repeat of the stream itself."""
        if (why := self.too_sparse()) is not None:
            return {name: not_judged(name, why) for name in ([REPLAY] if self.index is not None else []) + [LOOP]}
        found: dict[str, SignalScore] = {}
        replays = self.replay_runs()
        if replays:
            found[REPLAY] = self._replay_score(replays[0])
        elif self.index is not None:
            found[REPLAY] = SignalScore(REPLAY, 0.0, f"no run of frames matches the {len(self.index)} footage videos")
        loops = self.loop_runs()
        found[LOOP] = (
            self._loop_score(loops[0])
            if loops
            else SignalScore(LOOP, 0.0, "no stretch of the stream repeats an earlier one")
        )
        return found

    def appearance_signal(self, identity: str, start_s: float, end_s: float) -> SignalScore | None:
        """The longest replay of this person's footage overlapping [start_s, end_s]; None without footage."""
        if self.index is None:
            return None
        own = {n for n, v in enumerate(self.index.videos) if v.person.casefold() == identity.casefold()}
        if not own:
            return None
        if (why := self.too_sparse()) is not None:
            return not_judged(REPLAY, why)
        runs = [r for r in self.replay_runs() if r.key in own and r.start_s <= end_s and r.end_s >= start_s]
        if not runs:
            return SignalScore(REPLAY, 0.0, f"no run of frames matches {identity}'s {len(own)} footage videos")
        return self._replay_score(runs[0])
