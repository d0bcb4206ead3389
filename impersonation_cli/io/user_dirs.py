"""The user's data and config folders, as the XDG Base Directory spec defines them."""

from __future__ import annotations

import os
from pathlib import Path

from impersonation_cli.errors import UserError

APP_FOLDER = "impersonation-cli"


def user_folder(variable: str, fallback: tuple[str, ...]) -> Path:
    """`$variable/impersonation-cli`, else `~/<fallback>/impersonation-cli`. A relative value is ignored, as the
    spec says: it would put the gallery and the models wherever the command happened to be run from."""
    value = os.environ.get(variable, "")
    base = Path(value) if os.path.isabs(value) else Path.home().joinpath(*fallback)
    return base / APP_FOLDER


def data_folder() -> Path:
    return user_folder("XDG_DATA_HOME", (".local", "share"))


def config_folder() -> Path:
    return user_folder("XDG_CONFIG_HOME", (".config",))


def expand_user(path: str | Path, what: str) -> Path:
    """`path` with a leading `~` or `~user` expanded, as a shell does; `what` names where it came from (an
    option or variable). A `~user` of no such user was an internal error (RuntimeError from pathlib)."""
    try:
        return Path(path).expanduser()
    except RuntimeError as exc:
        raise UserError(f"{what} {str(path)!r}: cannot expand '~' ({exc})") from None
