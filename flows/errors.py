"""Errors of the door to the world. All derive from :class:`forecasting.errors.UserError`,
the one root the CLI catches (message on stderr, exit code 2, no traceback)."""

from __future__ import annotations

from forecasting.errors import UserError

__all__ = ["OutputError", "SourceError", "UserError"]


class SourceError(UserError):
    """A data source (folder, database, HTTP API) could not be read."""


class OutputError(UserError):
    """An output folder could not be written, locked or swapped into place."""
