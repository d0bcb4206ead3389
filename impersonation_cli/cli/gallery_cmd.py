"""`impersonation-cli gallery ...`: enrol people, list them, authorize rooms, export and import."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from impersonation_cli.api import load_engine
from impersonation_cli.cli import options
from impersonation_cli.cli.common import app, done, errors, people_lines_off_stdout, say, stdout, warn
from impersonation_cli.config import load_config
from impersonation_cli.gallery.enrol import enrol_folder, enrol_photos, import_gallery_file, people_to_import
from impersonation_cli.gallery.store import (
    Gallery,
    default_gallery_path,
    export_to_file,
    revoke_in_file,
    validate_name,
)
from impersonation_cli.io.rooms import canonical_room, validate_grant
from impersonation_cli.outputs.console import one_line
from impersonation_cli.outputs.files import check_outputs
from impersonation_cli.outputs.gallery_tables import people_table, person_tables

gallery_app = typer.Typer(
    help="The registered people: reference photos, aliases, authorized rooms.", no_args_is_help=True
)
app.add_typer(gallery_app, name="gallery")


def _open(gallery: Path | None, create: bool = True, read_only: bool = False, name_clashes: bool = False) -> Gallery:
    return Gallery(default_gallery_path(gallery), create=create, read_only=read_only, name_clashes=name_clashes)


def enrolled(name: str, added: int, already_stored: int) -> None:
    done(f"{name}: {added} new reference face(s), {already_stored} already stored")


@gallery_app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="The person's name")],
    images: Annotated[list[Path], typer.Argument(help="Reference photos (one face each; the largest is taken)")],
    alias: Annotated[list[str] | None, typer.Option("--alias", help="Another name (repeatable)")] = None,
    gallery: options.Gallery = None,
    models: options.Models = None,
    pack: options.Pack = None,
    device: options.Device = "auto",
    config: options.Config = None,
    threads: options.Threads = None,
) -> None:
    """Enrol a person from reference photos: the faces found are stored in one transaction (all or none); a
    photo without a readable face is skipped with a note."""
    validate_name(name)  # refused before the models load
    for text in alias or []:
        validate_name(text, "alias")
    engine, settings = load_engine(models, pack, device, config, threads, on_notice=warn)
    path = default_gallery_path(gallery)
    enrolled(*enrol_photos(path, engine, name, images, alias or [], settings.match.threshold, say))


@gallery_app.command("import")
def import_folder(
    folder: Annotated[
        Path,
        typer.Argument(
            help="One sub-folder of photos per person, named after them (underscores as spaces); sub-folders "
            "starting with '_' or '.' are not read, and photos of several faces are skipped"
        ),
    ],
    gallery: options.Gallery = None,
    models: options.Models = None,
    pack: options.Pack = None,
    device: options.Device = "auto",
    config: options.Config = None,
    threads: options.Threads = None,
) -> None:
    """Enrol everyone in a folder; each person is committed on its own, so an interrupted import keeps them."""
    people = people_to_import(folder, say)
    engine, settings = load_engine(models, pack, device, config, threads, on_notice=warn)
    for enrolment in enrol_folder(default_gallery_path(gallery), engine, people, settings.match.threshold, say):
        enrolled(*enrolment)


@gallery_app.command("list")
def list_people(gallery: options.Gallery = None) -> None:
    """Everyone registered, with their number of reference faces and aliases."""
    with _open(gallery, create=False, read_only=True) as store:
        stdout.print(people_table(store))


@gallery_app.command("show")
def show(name: Annotated[str, typer.Argument()], gallery: options.Gallery = None) -> None:
    """One person's references (with their quality record) and authorizations."""
    with _open(gallery, create=False, read_only=True) as store:
        for part in person_tables(store, store.canonical_name(name)):
            stdout.print(part)


@gallery_app.command("remove")
def remove(name: Annotated[str, typer.Argument()], gallery: options.Gallery = None) -> None:
    """Remove a person with all their references and authorizations."""
    with _open(gallery, create=False, name_clashes=True) as store:  # the way out of two people under one name
        done(f"removed {store.remove_person(name)}")


@gallery_app.command("export")
def export(file: Annotated[Path, typer.Argument(help="JSON file to write")], gallery: options.Gallery = None) -> None:
    """Write the whole gallery (embeddings, quality records, authorizations, known footage) to a JSON file."""
    path = default_gallery_path(gallery)
    check_outputs({"gallery export": file}, [path])
    people_lines_off_stdout(file)
    people = export_to_file(path, file)
    done(f"exported {people} people to {file}")


@gallery_app.command("import-file")
def import_file(
    file: Annotated[Path, typer.Argument(help="A file written by `gallery export`")],
    gallery: options.Gallery = None,
    config: options.Config = None,
) -> None:
    """Merge an exported gallery into this one (one transaction; every value checked first, the first bad one
    refuses the whole file); a face as like another registered person as the match threshold is warned of."""
    threshold = load_config(config).match.threshold
    people, added = import_gallery_file(default_gallery_path(gallery), file, threshold, say)
    done(f"imported {people} people, {added} new reference face(s)")


@gallery_app.command("authorize")
def authorize(
    name: Annotated[str, typer.Argument()],
    room: Annotated[str, typer.Argument(help="platform:account, e.g. douyin:123456")],
    since: Annotated[
        str | None, typer.Option("--from", help="Valid from (ISO date, or date-time with its offset)")
    ] = None,
    until: Annotated[
        str | None, typer.Option("--until", help="Valid until (ISO date, inclusive, or date-time with its offset)")
    ] = None,
    ai_allowed: Annotated[bool, typer.Option("--ai-allowed", help="An AI digital human is licensed there")] = False,
    gallery: options.Gallery = None,
) -> None:
    """Allow a room to use a person's likeness."""
    room = validate_grant(room, since, until, ("--from", "--until"))  # refused by option, before the gallery opens
    with _open(gallery, create=False) as store:
        done(f"{room} authorized for {store.authorize(name, room, since, until, ai_allowed)}")


@gallery_app.command("revoke")
def revoke(
    name: Annotated[str, typer.Argument()], room: Annotated[str, typer.Argument()], gallery: options.Gallery = None
) -> None:
    """Withdraw a room's authorization."""
    registered = revoke_in_file(default_gallery_path(gallery), name, room)
    done(f"{canonical_room(room)} no longer authorized for {registered}")  # spelt as authorize and grants spell it


@gallery_app.command("calibrate")
def calibrate_threshold(
    target_fmr: Annotated[
        float, typer.Option("--target-fmr", help="Share of different-person pairs allowed to match")
    ] = 0.001,
    write: Annotated[
        Path | None, typer.Option("--write", help="TOML config file to set [match] threshold in (created if absent)")
    ] = None,
    gallery: options.Gallery = None,
) -> None:
    """Fit the match threshold to a target false-match rate on this gallery's own impostor pairs.

    The default recognizer separates East Asian faces much less well than the faces it is usually
    benchmarked on: different people score higher against each other, so a threshold taken from a
    benchmark lets more lookalikes match. Calibrating on the people actually registered fixes that.
    An unusable threshold (outside 0-1, or rejecting most same-person pairs) is not written (exit 2; else a warning).
    """
    from impersonation_cli.outputs.eval_tables import calibration_lines, calibration_warnings
    from impersonation_cli.tools.evaluation import calibrate_gallery, write_calibration

    result = calibrate_gallery(default_gallery_path(gallery), target_fmr, write)
    for line in calibration_lines(result):
        stdout.print(one_line(line))
    for warning in calibration_warnings(result, writing=write is not None):
        errors.print(one_line(warning))  # even with --quiet: a threshold not to be used is part of the answer
    if write is not None:
        write_calibration(write, result)  # refuses (exit 2) a threshold no config takes or rejecting most genuine
        done(f"wrote [match] threshold = {result.threshold:.4f} to {write}")
