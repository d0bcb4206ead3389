"""`footage add`: fingerprint videos of a registered person into the gallery's replay library."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

from impersonation_cli.config import load_config
from impersonation_cli.errors import MAX_FOOTAGE_FPS, UnreadableInput, UserError, check_rate
from impersonation_cli.gallery.store import SHORTEST_SHA256_PREFIX, FootageVideo, Gallery, is_short_hex
from impersonation_cli.io.names import shown_name
from impersonation_cli.io.sources import DecodeStats, is_image, not_a_file
from impersonation_cli.pipeline.signals.replay import STILL_IMAGE, add_footage


def add_footage_videos(
    gallery: Path,
    name: str,
    videos: list[Path],
    fps: float | None,
    config: Path | None = None,
    *,
    warn: Callable[[str], None],
) -> Iterator[tuple[Path, FootageVideo, bool]]:
    """Fingerprint `videos` at `fps` (None: the config's `[replay] footage_fps`) and store them as `name`'s
    footage; yields (path given, video as stored, whether it was new) as each is stored. A video already stored
    for `name` (the same content under any name) is not decoded again; `warn` is told when it was stored at
    another rate than this one. A video that ends early (truncated or damaged, as a scan tells) is stored as far
    as it decodes, and `warn` is told.

    Raises:
        UserError: an fps outside (0, 30], a video that is not a file or is a still image, a person not in the
            gallery (before any video is read).
        UnreadableInput: videos that could not be decoded, named once the others are stored (one bad video
            stopped the batch, the ones after it never read); with them, those read and refused (a single
            frame, nothing but blank frames). A UserError when every video left out was read and refused.
    """
    settings = load_config(config).replay
    rate = fps if fps is not None else settings.footage_fps
    check_rate(rate, MAX_FOOTAGE_FPS)
    for path in videos:
        if problem := not_a_file(path):
            raise UserError(f"{path}: {problem}")
        # One frame: it can never make a replay run. By content too: a photo renamed .mp4 was stored as
        # "1 frames over 0.0 s".
        if is_image(path):
            raise UserError(f"{path}: {STILL_IMAGE}")
    unread: list[str] = []
    unreadable = False
    with Gallery(gallery, create=False) as store:
        store.person_id(name)
        for path in videos:
            stats = DecodeStats()
            try:
                video, new = add_footage(store, name, path, rate, stats)
            except UserError as exc:  # unreadable, or read and refused (one frame, all blank): the next goes on
                unread.append(str(exc))
                unreadable = unreadable or isinstance(exc, UnreadableInput)
                continue
            if stats.truncated:
                warn(truncation_warning(path, video))
            if video.duration_s < settings.run_s[0]:
                # Stored (a longer copy may follow), but said: a 0.3-s clip was "added" and could never match.
                warn(
                    f"warning: {path}: {video.duration_s:.1f} s of footage is shorter than a replay run scores "
                    f"from ([replay] run_s starts at {settings.run_s[0]:g} s): a replay of it alone scores 0"
                )
            if not new and video.fps != rate:
                warn(
                    f"warning: {path}: kept as stored, fingerprinted at {video.fps:g} fps, not {rate:g}: "
                    f"`impersonation-cli footage remove` it first to fingerprint it again"
                )
            yield path, video, new
    if unread:
        stored = len(videos) - len(unread)
        others = f" (the other {stored} of {len(videos)} videos are stored)" if stored else ""
        raise (UnreadableInput if unreadable else UserError)("; ".join(unread) + others)


def remove_footage_videos(gallery: Path, name: str, video: str | None = None) -> tuple[str, int]:
    """`footage remove`: remove all of `name`'s footage, or one video of it (`Gallery.remove_footage`: a file name
    or sha256, whole or its first 16 characters); returns (the person's name as registered, not the alias given,
    as `footage add` says it; how many videos went).

    Raises:
        UserError: nothing was removed (as `gallery revoke`: removing what is not there is a mistake worth
            saying), a person not in the gallery, a gallery that is missing or cannot be written, a file name
            that two of the person's videos carry (which one is asked for by sha256; nothing removed).
    """
    with Gallery(gallery, create=False) as store:
        removed = store.remove_footage(name, video)
        name = store.canonical_name(name)
    if not removed:
        # A sha256 is matched whole or by the 16 characters `footage list` shows: 'f89' was "no footage named".
        short = video is not None and is_short_hex(video)
        hint = f" (a sha256 is given whole or by its first {SHORTEST_SHA256_PREFIX} characters)" if short else ""
        what = "no footage" if video is None else f"no footage named {video!r}{hint}"
        raise UserError(f"'{name}' has {what} (see `impersonation-cli footage list`)")
    return name, removed


def added_line(path: Path, video: FootageVideo, new: bool) -> str:
    """What `footage add` says of one video: what is stored, under which name (a copy of a stored video under
    another file name is that video) and how much of it."""
    given = shown_name(path.name)
    state = "added" if new else "already stored" if given == video.name else f"already stored as {video.name}"
    return f"{video.person}: {given} {state} ({video.frames} frames at {video.fps:g} fps over {video.duration_s:.1f} s)"


def truncation_warning(path: Path, video: FootageVideo) -> str:
    # Said, not refused: the part that decoded is real footage; but a replay of the rest cannot be recognised,
    # and the analyst may hold a whole copy.
    return (
        f"warning: {path}: decoding stopped early, at {video.duration_s:.1f} s (truncated or damaged): "
        "only that part is stored, a replay of the rest will not be recognised"
    )
