"""`impersonation-cli gallery ...`: enrol people, list them, authorize rooms, export and import."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import numpy as np
import typer
from rich.table import Table
from rich.text import Text

from impersonation_cli.cli.common import (
    DeviceOption,
    GalleryOption,
    ModelsOption,
    PackOption,
    ThreadsOption,
    app,
    build_engine,
    fail,
    stderr,
    stdout,
    writable_file,
)
from impersonation_cli.errors import GalleryError
from impersonation_cli.gallery.enrol import images_in, person_folders, reference_from_image
from impersonation_cli.gallery.store import (
    Gallery,
    ReferenceFace,
    default_gallery_path,
    parse_export,
    read_export,
    validate_name,
)
from impersonation_cli.io.atomic_write import write_text_atomic
from impersonation_cli.io.rooms import validate_date, validate_room
from impersonation_cli.pipeline.matches import lookalikes

if TYPE_CHECKING:
    from impersonation_cli.config import Config
    from impersonation_cli.runtime.engine import FaceEngine

gallery_app = typer.Typer(
    help="The registered people: reference photos, aliases, authorized rooms.", no_args_is_help=True
)
app.add_typer(gallery_app, name="gallery")


def _open(gallery: Path | None, create: bool = True, read_only: bool = False) -> Gallery:
    return Gallery(default_gallery_path(gallery), create=create, read_only=read_only)


def _references(engine: FaceEngine, images: list[Path], one_face_only: bool = False) -> list[ReferenceFace]:
    """One reference per photo that has a face; every refused photo and every note said on stderr."""
    references = []
    for image in images:
        outcome = reference_from_image(engine, image, one_face_only)
        if outcome.message:
            stderr.print(Text(("warning: " if outcome.reference else "skipped: ") + outcome.message))
        if outcome.reference is not None:
            references.append(outcome.reference)
    return references


def _enrol(
    store: Gallery, engine: FaceEngine, name: str, references: list[ReferenceFace], aliases: list[str], config: Config
) -> None:
    store.require_recognizer(engine.recognizer_id)
    _warn_of_lookalikes(store, validate_name(name), references, config.match.threshold)
    added = store.add_person(name, references, aliases)
    stdout.print(Text(f"{name}: {added} new reference face(s), {len(references) - added} already stored"))


def _warn_of_lookalikes(store: Gallery, name: str, references: list[ReferenceFace], threshold: float) -> None:
    # The same photo under two names, or a mislabelled one, makes the two people ambiguous to every later
    # scan (the margin rule then matches neither): said now, while the analyst still has the photo in hand.
    index = store.index()
    if not len(index):
        return
    try:
        person: str | None = store.canonical_name(name)
    except GalleryError:  # a new person
        person = None
    for reference in references:
        for other, similarity in lookalikes(reference.embedding, index, threshold, besides=person):
            stderr.print(
                Text(
                    f"warning: {name}: {reference.image_name}: this face is {similarity:.2f} like '{other}' "
                    f"(match threshold {threshold:.2f}); scans may take one for the other"
                ),
                soft_wrap=True,
            )


@gallery_app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="The person's name")],
    images: Annotated[list[Path], typer.Argument(help="Reference photos (one face each; the largest is taken)")],
    alias: Annotated[list[str] | None, typer.Option("--alias", help="Another name (repeatable)")] = None,
    gallery: GalleryOption = None,
    models: ModelsOption = None,
    pack: PackOption = None,
    device: DeviceOption = "auto",
    threads: ThreadsOption = None,
) -> None:
    """Enrol a person from reference photos (one transaction: all of them or none)."""
    for text in (name, *(alias or [])):  # refused before the models load
        validate_name(text)
    engine, config = build_engine(models, pack, device, threads=threads)
    references = _references(engine, images)
    if not references:
        fail(f"no face found in any photo of '{name}'; nothing enrolled")
    with _open(gallery) as store:
        _enrol(store, engine, name, references, alias or [], config)


@gallery_app.command("import")
def import_folder(
    folder: Annotated[
        Path,
        typer.Argument(
            help="One sub-folder of photos per person, named after them (underscores as spaces); sub-folders "
            "starting with '_' or '.' are not read, and photos of several faces are skipped"
        ),
    ],
    gallery: GalleryOption = None,
    models: ModelsOption = None,
    pack: PackOption = None,
    device: DeviceOption = "auto",
    threads: ThreadsOption = None,
) -> None:
    """Enrol everyone in a folder; each person is committed on its own, so an interrupted import keeps them."""
    if not folder.is_dir():
        fail(f"{folder} is not a folder")
    people, notes = person_folders(folder)
    for note in notes:
        stderr.print(Text(f"skipped: {note}"), soft_wrap=True)
    if not people:
        fail(f"{folder} has no sub-folders with photos (expected one sub-folder per person)")
    for name, person_folder in people:  # every name checked before anyone is enrolled
        try:
            validate_name(name)
        except GalleryError as exc:
            fail(f"{person_folder}: {exc}; nobody enrolled")
    engine, config = build_engine(models, pack, device, threads=threads)
    with _open(gallery) as store:
        for name, person_folder in people:
            references = _references(engine, images_in(person_folder), one_face_only=True)
            if references:
                _enrol(store, engine, name, references, [], config)
            else:
                stderr.print(Text(f"skipped: {name}: no photo with one face"))


@gallery_app.command("list")
def list_people(gallery: GalleryOption = None) -> None:
    """Everyone registered, with their number of reference faces and aliases."""
    with _open(gallery, create=False, read_only=True) as store:
        table = Table(title=f"Gallery {store.path} ({store.recognizer or 'empty'})", title_justify="left")
        for column in ("name", "references", "aliases", "authorized rooms"):
            table.add_column(column, overflow="fold")
        for person in store.persons():
            rooms = ", ".join(a.room for a in store.authorizations(person.name))
            table.add_row(Text(person.name), str(person.reference_count), Text(", ".join(person.aliases)), Text(rooms))
        stdout.print(table)


@gallery_app.command("show")
def show(name: Annotated[str, typer.Argument()], gallery: GalleryOption = None) -> None:
    """One person's references (with their quality record) and authorizations."""
    with _open(gallery, create=False, read_only=True) as store:
        canonical = store.canonical_name(name)
        table = Table(title=canonical, title_justify="left")
        for column in ("image", "sha256", "face px", "det score", "sharpness", "faces in photo"):
            table.add_column(column, overflow="fold")
        for r in store.references(canonical):
            table.add_row(
                Text(r.image_name),
                r.image_sha256[:16],
                f"{r.face_px:.0f}",
                f"{r.det_score:.2f}",
                f"{r.blur:.0f}",
                str(r.faces_in_image),
            )
        stdout.print(table)
        for a in store.authorizations(canonical):
            stdout.print(
                Text(
                    f"authorized: {a.room} from {a.valid_from or '-'} until {a.valid_to or '-'}"
                    f"{' (AI digital human allowed)' if a.ai_allowed else ''}"
                )
            )


@gallery_app.command("remove")
def remove(name: Annotated[str, typer.Argument()], gallery: GalleryOption = None) -> None:
    """Remove a person with all their references and authorizations."""
    with _open(gallery, create=False) as store:
        canonical = store.canonical_name(name)
        store.remove_person(canonical)
        stdout.print(Text(f"removed {canonical}"))


@gallery_app.command("export")
def export(file: Annotated[Path, typer.Argument(help="JSON file to write")], gallery: GalleryOption = None) -> None:
    """Write the whole gallery (embeddings, quality records, authorizations) to a JSON file."""
    writable_file(file, "gallery export")
    with _open(gallery, create=False, read_only=True) as store:
        document = store.export()
    write_text_atomic(file, json.dumps(document, indent=1))
    stdout.print(Text(f"exported {len(document['persons'])} people to {file}"))


@gallery_app.command("import-file")
def import_file(
    file: Annotated[Path, typer.Argument(help="A file written by `gallery export`")], gallery: GalleryOption = None
) -> None:
    """Merge an exported gallery into this one (one transaction; every value checked first, the first bad one
    refuses the whole file)."""
    document = read_export(file)
    try:
        recognizer, people = parse_export(document)
    except GalleryError as exc:
        raise GalleryError(f"{file}: {exc}; nothing imported") from exc
    with _open(gallery) as store:
        added = store.import_people(recognizer, people)
    stdout.print(Text(f"imported {len(people)} people, {added} new reference face(s)"))


@gallery_app.command("authorize")
def authorize(
    name: Annotated[str, typer.Argument()],
    room: Annotated[str, typer.Argument(help="platform:account, e.g. douyin:123456")],
    since: Annotated[str | None, typer.Option("--from", help="Valid from (ISO date)")] = None,
    until: Annotated[str | None, typer.Option("--until", help="Valid until (ISO date, inclusive)")] = None,
    ai_allowed: Annotated[bool, typer.Option("--ai-allowed", help="An AI digital human is licensed there")] = False,
    gallery: GalleryOption = None,
) -> None:
    """Allow a room to use a person's likeness."""
    validate_room(room)
    for value, what in ((since, "--from"), (until, "--until")):
        if value is not None:
            validate_date(value, what)
    with _open(gallery, create=False) as store:
        canonical = store.canonical_name(name)
        store.authorize(canonical, room, since, until, ai_allowed)
        stdout.print(Text(f"{room} authorized for {canonical}"))


@gallery_app.command("revoke")
def revoke(
    name: Annotated[str, typer.Argument()], room: Annotated[str, typer.Argument()], gallery: GalleryOption = None
) -> None:
    """Withdraw a room's authorization."""
    with _open(gallery, create=False) as store:
        canonical = store.canonical_name(name)
        if not store.revoke(canonical, room):
            fail(f"{room} had no authorization for {canonical}")
        stdout.print(Text(f"{room} no longer authorized for {canonical}"))


@gallery_app.command("calibrate")
def calibrate_threshold(
    target_fmr: Annotated[
        float, typer.Option("--target-fmr", help="Share of different-person pairs allowed to match")
    ] = 0.001,
    write: Annotated[
        Path | None, typer.Option("--write", help="TOML config file to set [match] threshold in (created if absent)")
    ] = None,
    gallery: GalleryOption = None,
) -> None:
    """Fit the match threshold to a target false-match rate on this gallery's own impostor pairs.

    The default recognizer separates East Asian faces much less well than the faces it is usually
    benchmarked on: different people score higher against each other, so a threshold taken from a
    benchmark lets more lookalikes match. Calibrating on the people actually registered fixes that.
    """
    from impersonation_cli.config import write_match_threshold
    from impersonation_cli.tools.evaluation import calibrate

    with _open(gallery, create=False, read_only=True) as store:
        index = store.index()
    result = calibrate(index, target_fmr)
    impostor, genuine = result.impostor, result.genuine
    quantiles = np.quantile(impostor, [0.5, 0.9, 0.99, 0.999])
    stdout.print(
        Text(
            f"impostor pairs (different people): {len(impostor)}; mean {impostor.mean():.3f}, sd {impostor.std():.3f}, "
            f"p50 {quantiles[0]:.3f}, p90 {quantiles[1]:.3f}, p99 {quantiles[2]:.3f}, p99.9 {quantiles[3]:.3f}, "
            f"max {impostor.max():.3f}"
        )
    )
    if len(genuine):
        stdout.print(
            Text(
                f"genuine pairs (same person): {len(genuine)}; mean {genuine.mean():.3f}, min {genuine.min():.3f}; "
                f"{np.mean(genuine < result.threshold):.1%} of them fall below the threshold"
            )
        )
    stdout.print(
        Text(
            f"threshold {result.threshold:.4f}: {result.achieved_fmr:.4%} of impostor pairs match "
            f"(target {target_fmr:.4%})"
        )
    )
    if not result.resolvable:
        stderr.print(
            Text(
                f"warning: {len(impostor)} impostor pairs cannot resolve a rate of {target_fmr:g}; the threshold only "
                "clears every impostor pair seen. Enrol more people for a sharper estimate."
            )
        )
    if write is not None:
        write_match_threshold(write, result.threshold)
        stdout.print(Text(f"wrote [match] threshold = {result.threshold:.4f} to {write}"))
