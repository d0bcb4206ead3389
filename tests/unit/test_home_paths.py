"""A path starting with `~user` for a user that does not exist (--gallery, --models, --config, --pack, a model
source, and their environment variables) was an internal error (exit 4): pathlib raised RuntimeError."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from impersonation_cli.config import config_path
from impersonation_cli.errors import UserError
from impersonation_cli.gallery.store import default_gallery_path
from impersonation_cli.runtime.packs import load_pack, model_root

NOBODY = "~no-such-user-for-impersonation-cli"


@pytest.mark.parametrize(
    ("where", "look_up"),
    [
        ("--gallery", lambda: default_gallery_path(f"{NOBODY}/g.sqlite")),
        ("--models", lambda: model_root(f"{NOBODY}/models")),
        ("config", lambda: config_path(f"{NOBODY}/c.toml")),
        ("pack", lambda: load_pack(f"{NOBODY}/pack", Path("/nonexistent"))),
    ],
)
def test_a_home_of_no_user_is_a_one_line_error(where: str, look_up: Callable[[], object]) -> None:
    with pytest.raises(UserError, match=f"^{where} '{NOBODY}/.*': cannot expand '~'") as refused:
        look_up()
    assert "\n" not in str(refused.value)


def test_a_home_of_no_user_in_the_environment_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMPERSONATION_GALLERY", f"{NOBODY}/g.sqlite")
    with pytest.raises(UserError, match=r"^\$IMPERSONATION_GALLERY '~no-such-user"):
        default_gallery_path(None)


def test_the_own_home_is_still_expanded() -> None:
    assert default_gallery_path("~/g.sqlite") == Path.home() / "g.sqlite"
