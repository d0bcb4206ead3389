"""Turn reference photos into gallery references: one face per photo, with a quality record."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from impersonation_cli.errors import GalleryError, InterruptedAfter, ModelPackError, UnreadableInput, UserError
from impersonation_cli.gallery.store import (
    Gallery,
    GalleryIndex,
    ReferenceFace,
    import_people_from_file,
    validate_name,
)
from impersonation_cli.io.names import shown_name
from impersonation_cli.io.sources import IMAGE_EXTENSIONS, files_below, read_image
from impersonation_cli.outputs.console import printable
from impersonation_cli.pipeline.matches import lookalikes
from impersonation_cli.pipeline.tracks import crop_with_margin
from impersonation_cli.runtime.engine import FaceEngine, align_face
from impersonation_cli.runtime.packs import unpublished

THUMBNAIL_PX = 160


@dataclass(frozen=True)
class EnrolmentOutcome:
    image: str
    reference: ReferenceFace | None
    message: str  # why it was refused, or a note such as "3 faces: took the largest"


def sharpness(gray: np.ndarray) -> float:
    """Variance of the Laplacian: low on blurred faces."""
    return float(cv2.Laplacian(gray, cv2.CV_64F).var())


def reference_from_image(engine: FaceEngine, path: Path, one_face_only: bool = False) -> EnrolmentOutcome:
    """The photo's largest face as a reference; with `one_face_only` (folder imports, where nobody says which
    face is the person) a photo of several faces is refused instead."""
    try:
        image = read_image(str(path))
    except UnreadableInput as exc:
        return EnrolmentOutcome(str(path), None, str(exc))
    faces = engine.detect(image)
    if not len(faces):
        return EnrolmentOutcome(str(path), None, f"{path}: no face found; not enrolled")
    if one_face_only and len(faces) > 1:
        return EnrolmentOutcome(
            str(path),
            None,
            f"{path}: {len(faces)} faces; a folder import takes photos of one face only "
            "(`gallery add` takes the largest face of a photo)",
        )
    largest = int(np.argmax(faces.sizes))
    note = f"{path}: {len(faces)} faces, took the largest" if len(faces) > 1 else ""
    face = faces[largest]
    aligned = align_face(image, face.keypoints[0])
    embedding = engine.embed_aligned([aligned])[0]
    thumbnail = _thumbnail(crop_with_margin(image, face.boxes[0]))
    reference = ReferenceFace(
        image_sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
        image_name=shown_name(path.name),  # SQLite stores UTF-8: a name's undecodable bytes become \xNN
        recognizer=engine.recognizer_id,
        embedding=embedding,
        face_px=float(face.sizes[0]),
        det_score=float(face.scores[0]),
        blur=sharpness(cv2.cvtColor(aligned, cv2.COLOR_BGR2GRAY)),
        faces_in_image=len(faces),
        thumbnail=thumbnail,
    )
    return EnrolmentOutcome(str(path), reference, note)


def _thumbnail(crop: np.ndarray) -> bytes:
    scale = THUMBNAIL_PX / max(crop.shape[:2])
    if scale < 1:
        crop = cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    ok, data = cv2.imencode(".jpg", crop, [cv2.IMWRITE_JPEG_QUALITY, 88])
    return data.tobytes() if ok else b""


class Skipped:
    """`say`, keeping what was skipped: a refusal of the whole enrolment says why in its own line, which
    --quiet does not silence (it said 'each is named above', of notes --quiet had kept from the screen)."""

    def __init__(self, say: Callable[[str], None]) -> None:
        self.say, self.lines = say, list[str]()

    def __call__(self, line: str) -> None:
        if line.startswith("skipped: "):
            self.lines.append(line.removeprefix("skipped: "))
        self.say(line)

    def why(self) -> str:
        """The first thing skipped, and how many more (named one a line, without --quiet)."""
        if not self.lines:
            return "none was given"
        return self.lines[0] + (f"; and {len(self.lines) - 1} more" if len(self.lines) > 1 else "")


def tell(say: Callable[[str], None], line: str) -> None:
    """Pass `line` to `say` on one line: it names a photo or folder, and a file name's newline would forge a
    second line (and its escape codes drive the terminal)."""
    say(printable(shown_name(line)))


def images_in(folder: Path) -> list[Path]:
    below = files_below(folder, lambda _error: None)  # a folder that cannot be listed holds no photo to enrol
    return sorted(p for p in below if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)


def people_to_import(root: Path, say: Callable[[str], None]) -> list[tuple[str, Path]]:
    """`gallery import DIR`: the people in DIR, each name checked before anyone is enrolled; every sub-folder
    that is not a person is passed to `say` with the reason ('skipped: ...').

    Each direct sub-folder holding at least one photo (at any depth) is a person, named after the folder
    (underscores as spaces). A sub-folder whose name starts with '_' or '.' is left out on purpose (extra or
    group photos, notes), one without photos is not a person, and photos directly in DIR belong to nobody.

    Raises:
        UserError: DIR is not a folder or holds nobody, or a folder's name is not a valid person's name.
    """
    if not root.is_dir():
        raise UserError(f"{root} is not a folder")
    loose = [p for p in root.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS]
    if loose:
        tell(say, f"skipped: {root}: {len(loose)} photo(s) directly in it belong to nobody: not read")
    people = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        if folder.name.startswith(("_", ".")):
            tell(say, f"skipped: {folder}: its name starts with '{folder.name[0]}': not a person, not read")
        elif not images_in(folder):
            tell(say, f"skipped: {folder}: no photos: not a person")
        else:
            people.append((folder.name.replace("_", " ").strip(), folder))
    if not people:
        raise UserError(f"{root} has no sub-folders with photos (expected one sub-folder per person)")
    for name, folder in people:
        try:
            validate_name(name)
        except GalleryError as exc:
            raise UserError(f"{folder}: {exc}; nobody enrolled") from exc
    return people


def references_from_images(
    engine: FaceEngine, images: list[Path], say: Callable[[str], None], one_face_only: bool = False
) -> list[ReferenceFace]:
    """One reference per photo that has a face; each refused photo ('skipped: ...') and each note ('warning:
    ...') is passed to `say`."""
    references = []
    for image in images:
        outcome = reference_from_image(engine, image, one_face_only)
        if outcome.message:
            tell(say, ("warning: " if outcome.reference else "skipped: ") + outcome.message)
        if outcome.reference is not None:
            references.append(outcome.reference)
    return references


def enrol(
    store: Gallery,
    engine: FaceEngine,
    name: str,
    references: list[ReferenceFace],
    aliases: list[str],
    threshold: float,
    warn: Callable[[str], None],
) -> int:
    """Add `name` with these references and aliases (one transaction), warning first of each reference that
    looks like someone else registered; the number of references that were new."""
    require_engine_recognizer(store, engine)
    for line in lookalike_warnings(store, validate_name(name), references, threshold):
        warn(line)
    return store.add_person(name, references, aliases)


def enrol_photos(
    gallery: Path,
    engine: FaceEngine,
    name: str,
    images: list[Path],
    aliases: list[str],
    threshold: float,
    say: Callable[[str], None],
) -> tuple[str, int, int]:
    """`gallery add`: enrol `name` from these photos, the faces found stored in one transaction (all of them or
    none); a photo that cannot be read or has no face is skipped, and it, each note and each lookalike is
    passed to `say`; (the person's registered name, new references, references already stored). The name is
    the one stored: `name` may be an alias or another spelling of someone registered, who got the photos.

    Raises:
        UserError: no photo gave a face: none could be read, or none has one (nothing is enrolled).
    """
    skipped = Skipped(say)
    references = references_from_images(engine, images, skipped)
    if not references:
        raise UserError(f"no photo of '{name}' gave a face to enrol ({skipped.why()}); nothing enrolled")
    with Gallery(gallery) as store:
        added = enrol(store, engine, name, references, aliases, threshold, say)
        return store.canonical_name(validate_name(name)), added, len(references) - added


def enrol_folder(
    gallery: Path, engine: FaceEngine, people: list[tuple[str, Path]], threshold: float, say: Callable[[str], None]
) -> Iterator[tuple[str, int, int]]:
    """`gallery import`: enrol each of `people_to_import`'s people, each committed on its own (an interrupted
    import keeps them); yields (registered name, new references, references already stored) per person enrolled,
    and a person with no photo of one face is passed to `say` as skipped.

    Raises:
        UserError: nobody had a photo of one face (nothing is enrolled, and a gallery that was not there is not
            made: it was left empty, exit 0, and scans then took it and found nobody).
    """
    skipped = Skipped(say)
    with ExitStack() as opened:
        store: Gallery | None = None
        for name, folder in people:
            references = references_from_images(engine, images_in(folder), say, one_face_only=True)
            if not references:
                tell(skipped, f"skipped: {name}: no photo with one face")
                continue
            store = store or opened.enter_context(Gallery(gallery))  # opened for the first person to enrol
            added = enrol(store, engine, name, references, [], threshold, say)
            yield store.canonical_name(validate_name(name)), added, len(references) - added  # a_b: A B's photos
        if store is None:
            raise UserError(
                f"nobody in the folder had a photo with one face to enrol ({skipped.why()}); nothing enrolled"
            )


def require_engine_recognizer(store: Gallery, engine: FaceEngine) -> None:
    """The gallery's embeddings are of the engine's recognizer, or a one-line error. A damaged recognizer file of
    an installed pack read as another recognizer, and the advice was to re-enrol into a new gallery: on the
    damaged file; the message now names it."""
    try:
        store.require_recognizer(engine.recognizer_id)
    except GalleryError as mismatch:
        damaged = unpublished(engine.pack, "recognition")
        if damaged is None:
            raise
        raise ModelPackError(f"{str(mismatch).partition('; use the same pack')[0]}; {damaged}") from None


def import_gallery_file(gallery: Path, file: Path, threshold: float, say: Callable[[str], None]) -> tuple[int, int]:
    """`gallery import-file` (`import_from_file`), then a warning to `say` for each imported face as like another
    registered person as `threshold`, as `gallery add` and `import` warn: merging two analysts' galleries added
    the same face under a second name without a word, and scans then matched neither. (people, new references)"""
    people, added = import_people_from_file(gallery, file)
    try:
        with Gallery(gallery, create=False, read_only=True) as store, store.snapshot():
            index = store.index()  # once: read for each person, 1,860 people took 93 s (2 s to import them)
            for person in people:
                for line in lookalike_warnings(store, person.name, person.references, threshold, index):
                    say(line)
    except KeyboardInterrupt:
        # The import is committed: 'aborted' read as nothing imported, where 1,500 people were and only the
        # look-alike check after it (20 s of the 21) was cut short.
        raise InterruptedAfter(
            f"imported {len(people)} people, {added} new reference face(s); the look-alike check after it was "
            "interrupted"
        ) from None
    return len(people), added


def lookalike_warnings(
    store: Gallery, name: str, references: list[ReferenceFace], threshold: float, index: GalleryIndex | None = None
) -> list[str]:
    """A warning for each reference that matches another registered person above `threshold` (of `index`, the
    gallery's people as `store.index()` reads them, where the caller has it already)."""
    # The same photo under two names, or a mislabelled one, makes the two people ambiguous to every later
    # scan (the margin rule then matches neither): said now, while the analyst still has the photo in hand.
    index = index if index is not None else store.index()
    if not len(index):
        return []
    try:
        person: str | None = store.canonical_name(name)
    except GalleryError:  # a new person
        person = None
    return [
        f"warning: {name}: {reference.image_name}: this face is {similarity:.2f} like '{other}' "
        f"(match threshold {threshold:.2f}); scans may take one for the other"
        for reference in references
        for other, similarity in lookalikes(reference.embedding, index, threshold, besides=person)
    ]
