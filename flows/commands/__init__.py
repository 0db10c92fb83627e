"""The ``replenish`` command line, one module per command; :func:`main` is the entry point."""

from flows.commands.main import main

__all__ = ["main"]
