"""The gallery as `gallery list`, `gallery show` and `footage list` print it, rendered with rich."""

from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text

from impersonation_cli.gallery.store import FootageVideo, Gallery
from impersonation_cli.outputs.console import one_line, titled


def people_table(store: Gallery) -> Group:
    """Everyone registered, with their number of reference faces, aliases and authorized rooms."""
    table = Table()
    for column in ("name", "references", "aliases", "authorized rooms"):
        table.add_column(column, overflow="fold")
    with store.snapshot():  # a `gallery remove` between its queries failed the listing: 'no person named ...'
        for person in store.persons():
            rooms = ", ".join(a.room for a in store.authorizations(person.name))
            table.add_row(
                one_line(person.name), str(person.reference_count), one_line(", ".join(person.aliases)), one_line(rooms)
            )
    return titled(f"Gallery {store.path} ({store.recognizer or 'empty'})", table)


def person_tables(store: Gallery, name: str) -> list[Group | Text]:
    """One person's references with their quality record, then a line per authorization."""
    table = Table()
    for column in ("image", "sha256", "face px", "det score", "sharpness", "faces in photo"):
        table.add_column(column, overflow="fold")
    with store.snapshot():
        references, grants = store.references(name), store.authorizations(name)
    for r in references:
        quality = (f"{r.face_px:.0f}", f"{r.det_score:.2f}", f"{r.blur:.0f}", str(r.faces_in_image))
        table.add_row(one_line(r.image_name), r.image_sha256[:16], *quality)
    authorizations = [
        one_line(
            f"authorized: {a.room} from {a.valid_from or '-'} until {a.valid_to or '-'}"
            f"{' (AI digital human allowed)' if a.ai_allowed else ''}"
        )
        for a in grants
    ]
    return [titled(name, table), *authorizations]


def footage_table(videos: list[FootageVideo]) -> Table:
    table = Table("person", "video", "sha256", "seconds", "frames", "fps", "fingerprint")
    for v in videos:
        names = (one_line(v.person), one_line(v.name))
        table.add_row(*names, v.sha256[:16], f"{v.duration_s:.1f}", str(v.frames), f"{v.fps:g}", one_line(v.method))
    return table
