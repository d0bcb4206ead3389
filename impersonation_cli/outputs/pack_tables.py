"""`models list`: the known and installed model packs as a table."""

from __future__ import annotations

from pathlib import Path

from rich.console import Group
from rich.table import Table
from rich.text import Text

from impersonation_cli.outputs.console import one_line, titled
from impersonation_cli.runtime.packs import installed_pack_names, known_packs
from impersonation_cli.tools.installation import pack_status


def packs_table(root: Path) -> Group:
    """Every known or installed pack in `root`: whether it is installed, whether its files verify, what it is."""
    installed = set(installed_pack_names(root))
    table = Table()
    for column in ("pack", "installed", "verified", "description"):
        table.add_column(column, overflow="fold")
    for name in sorted(set(known_packs()) | installed):
        spec = known_packs().get(name)
        status = pack_status(root, name, installed)
        description = Text(spec.description if spec else "")
        table.add_row(one_line(name), "yes" if name in installed else "no", status, description)
    return titled(f"Model packs in {root}", table)
