"""Checks on a table's header row, shared by the CSV and the Excel readers."""

from __future__ import annotations

from collections.abc import Sequence

from forecasting.contract import DataContractError, Problem

__all__ = ["refuse_repeated_columns"]


def refuse_repeated_columns(names: Sequence[str], source: str) -> None:
    """Refuse a header that names a column twice (pandas would silently rename the copy
    ``x.1``); one problem per repeated name, on row 1 of ``source``."""
    repeated = sorted({name for name in names if name and list(names).count(name) > 1})
    if repeated:
        raise DataContractError([Problem(
            source=source, row=1, column=name, value=", ".join(names),
            expected=f"each column named once in the header ('{name}' appears "
                     f"{list(names).count(name)} times); remove or rename the copies",
        ) for name in repeated])
