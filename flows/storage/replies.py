"""A supplier's reply to a purchase order, read and matched to the order book's lines.

A reply is the PO file as it was sent (``.xlsx`` or ``.csv``, English or Chinese headers)
with ``confirmed_qty`` and ``confirmed_date`` filled in, or any CSV or Excel table naming each
line (``line_id``, or ``po_number`` with ``line`` or ``sku``) with those two columns. Headers
are read in either language (the catalog's column names), so a Chinese planner's sheet and
an English script's CSV are the same reply. Every problem (a line not in the order book, a
line never sent, a bad number or date, the same line answered twice) is reported at once with
the file, row and column, and nothing is recorded unless the whole reply is usable.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from flows.i18n import LOCALES, language
from flows.storage.orderbook import OrderBook
from flows.storage.sources.folder import read_table_file
from forecasting.contract import DataContractError, Problem
from replenishment.cpfr import REPLY_COLUMNS, match_replies

__all__ = ["ingest_reply", "read_reply"]


def _header_names() -> dict[str, str]:
    """Every language's header of a reply column -> the column's machine name."""
    names: dict[str, str] = {}
    for locale in LOCALES:
        translations = language(locale).translations
        for column in REPLY_COLUMNS:
            names[translations.pgettext("column", column).strip().lower()] = column
    return names


def read_reply(path: Path) -> pd.DataFrame:
    """The reply's rows as text cells under the machine column names."""
    if not path.is_file():
        raise DataContractError([Problem(source=str(path), expected="a reply file (.csv or "
                                         ".xlsx) that exists")])
    frame = read_table_file(path)
    names = _header_names()
    return frame.rename(columns={c: names.get(str(c).strip().lower(), str(c))
                                 for c in frame.columns})


def ingest_reply(book: OrderBook, path: Path, actor: str) -> pd.DataFrame:
    """Record the reply in ``path``: returns the matched lines (``line_id, confirmed_qty,
    confirmed_date, status``); raises :class:`DataContractError` naming every problem."""
    reply = read_reply(path)
    matched, problems = match_replies(book.lines(), reply, path.name)
    if problems:
        raise DataContractError(problems)
    if matched.empty:
        raise DataContractError([Problem(source=path.name, column="confirmed_qty", expected=(
            "at least one line with a confirmed quantity (every row is blank)"))])
    book.record_replies(matched, actor, path.name)
    return matched
