"""`impersonation-cli footage ...`: the replay library, known real footage of each registered person."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from impersonation_cli.cli import options
from impersonation_cli.cli.common import app, done, say, stdout
from impersonation_cli.gallery.footage import add_footage_videos, added_line, remove_footage_videos
from impersonation_cli.gallery.store import Gallery, default_gallery_path
from impersonation_cli.outputs.gallery_tables import footage_table

footage_app = typer.Typer(
    help="Known real footage of registered people, fingerprinted to catch re-broadcasts.", no_args_is_help=True
)
app.add_typer(footage_app, name="footage")


@footage_app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="A person already in the gallery")],
    videos: Annotated[list[Path], typer.Argument(help="Videos of that person's real past footage")],
    fps: Annotated[
        float | None, typer.Option("--fps", help="Frames fingerprinted per second [default: config, 8]")
    ] = None,
    gallery: options.Gallery = None,
    config: options.Config = None,
) -> None:
    """Fingerprint videos and store them as NAME's footage (a video already stored for NAME is skipped)."""
    added = add_footage_videos(default_gallery_path(gallery), name, videos, fps, config, warn=say)
    for path, video, new in added:
        done(added_line(path, video, new))


@footage_app.command("list")
def list_footage(
    name: Annotated[str | None, typer.Argument(help="Only this person's footage")] = None,
    gallery: options.Gallery = None,
) -> None:
    """List the footage in the replay library."""
    with Gallery(default_gallery_path(gallery), create=False, read_only=True) as store:
        videos = store.footage(name)
    if not videos:
        stdout.print("no footage stored; add some with `impersonation-cli footage add NAME VIDEO...`")
        return
    stdout.print(footage_table(videos))


@footage_app.command("remove")
def remove(
    name: Annotated[str, typer.Argument(help="The person")],
    video: Annotated[
        str | None,
        typer.Argument(
            help="A video's file name or sha256 (the 16 characters `footage list` shows will do; default: all of it)"
        ),
    ] = None,
    gallery: options.Gallery = None,
) -> None:
    """Remove a person's footage, or one video of it."""
    name, removed = remove_footage_videos(default_gallery_path(gallery), name, video)
    done(f"{name}: removed {removed} video(s)")
