"""Errors a user can fix, as opposed to bugs. The CLI prints them and exits with code 2."""

from __future__ import annotations

__all__ = ["SourceError", "UserError"]


class UserError(Exception):
    """Bad input or a bad request: the message tells the user what to change."""


class SourceError(UserError):
    """A data source (folder, database, HTTP API) could not be read."""
