"""The user's data and config folders, as the XDG Base Directory spec defines them."""

from __future__ import annotations

import os
from pathlib import Path

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
