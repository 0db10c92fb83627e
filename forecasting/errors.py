"""The one root of every error a user can fix.

Anything raised as :class:`UserError` (or a subclass) is a problem with the input, the
configuration or the world outside the engine (a source, a store, a solver's time limit): the
command line prints its message on stderr and exits with code 2, without a traceback. Every
other exception is a bug and may show one.

The root lives in the lowest layer (``forecasting``) so that each layer's own errors can
derive from it without an import running upwards:

- ``forecasting``: :class:`~forecasting.contract.DataContractError` (bad data);
- ``replenishment``: ``InfeasiblePlanError``, ``SolverTimeoutError``;
- ``flows``: ``ConfigError``, ``SourceError``, ``StoreError``, ``OutputError``.
"""

from __future__ import annotations

__all__ = ["UserError"]


class UserError(Exception):
    """Bad input, bad configuration or an outside fault: the message says what to change."""
