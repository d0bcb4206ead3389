"""Errors a user can act on. The CLI prints them as one line and exits with `exit_code`."""

from __future__ import annotations

EXIT_OK = 0
EXIT_FOUND = 1
EXIT_USAGE = 2
EXIT_UNREADABLE = 3


class UserError(Exception):
    """A problem with the user's input or set-up, explained in one line."""

    exit_code = EXIT_USAGE


class UnreadableInput(UserError):
    """A source that cannot be opened or decoded; a batch goes on with the others."""

    exit_code = EXIT_UNREADABLE


class ModelPackError(UserError):
    """A model pack that is missing, incomplete or fails verification."""


class GalleryError(UserError):
    """A gallery file that is unreadable, incompatible, or an operation it refuses."""
