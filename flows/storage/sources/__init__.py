"""Where a dataset comes from: a folder, a SQL database, plus signals from an HTTP API.

:func:`load_dataset` is what every command that reads data calls: it picks the source from the
command line and the config, reads the raw tables, validates them against the contract and
returns the typed :class:`~replenishment.contract.Dataset` with a short summary for the user.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import pandas as pd
import sqlalchemy as sa

from flows.config import Settings
from flows.errors import UserError
from flows.i18n import Language, language
from flows.storage.sources.calendar import CALENDAR_TABLE, calendar_table, with_calendar
from flows.storage.sources.folder import RawTables, read_folder
from flows.storage.sources.http import SignalsLimits, SignalsResult, fetch_signals
from flows.storage.sources.mapping import apply_mappings, parse_user_tables
from flows.storage.sources.orderbook import ORDER_BOOK_TABLE, order_book_table, with_order_book
from flows.storage.sources.sql import read_sql, write_sql
from replenishment.contract import PLANNING_TABLES, Dataset

__all__ = [
    "RawTables",
    "SignalsResult",
    "fetch_signals",
    "fetch_signals_for",
    "load_dataset",
    "parse_user_tables",
    "read_folder",
    "read_raw",
    "read_sql",
    "signals_cache_dir",
    "summarize",
    "validate_tables",
    "write_sql",
]


def read_raw(settings: Settings, folder: Path | None = None) -> tuple[RawTables, str]:
    """The raw tables and a description of where they came from.

    Precedence: ``folder`` (the command line), then ``data.folder`` of the config, then the
    database URL held by the environment variable ``data.sql_url_env``. Columns are renamed
    to the contract's by ``data.preset`` and ``data.tables.NAME.columns``. With ``calendar:
    cn`` the trade calendar's events rows are added as the table ``calendar``
    (:mod:`flows.storage.sources.calendar`); validation merges them into ``events``. Lines
    of the run store's order book that were sent and not yet received are added as the table
    ``order_book``; validation merges them into ``open_orders``
    (:mod:`flows.storage.sources.orderbook`).
    """
    raw, origin = _read_tables(settings, folder)
    calendar = calendar_table(settings, raw)
    if calendar is not None:
        raw = {**raw, CALENDAR_TABLE: calendar}
    book = order_book_table(settings)
    if book is not None:
        raw = {**raw, ORDER_BOOK_TABLE: book}
    return raw, origin


def _read_tables(settings: Settings, folder: Path | None) -> tuple[RawTables, str]:
    chosen = folder or settings.data.folder
    if chosen is not None:
        raw = read_folder(chosen, settings.data.tables)
        return apply_mappings(raw, settings.data), f"folder {chosen}"
    env = settings.data.sql_url_env
    if env:
        url = os.environ.get(env, "").strip()
        if not url:
            raise UserError(f"the config reads data from the database URL in the environment "
                            f"variable {env}, which is not set")
        shown = sa.make_url(url).render_as_string(hide_password=True)
        return apply_mappings(read_sql(url), settings.data), f"database {shown}"
    raise UserError(
        "no dataset given: pass --data DIR (a folder of NAME.csv / NAME.parquet tables), or set "
        "data.folder or data.sql_url_env in the config file given with --config"
    )


def signals_cache_dir(settings: Settings) -> Path:
    """Where the signals API's last good rows are kept: next to the SQLite run store."""
    return settings.state_folder() / "signals"


def fetch_signals_for(settings: Settings) -> SignalsResult | None:
    """The signals of ``data.signals_url`` with every bound and cache setting of the config,
    or None when no signals API is configured."""
    source = settings.data
    if not source.signals_url:
        return None
    limits = SignalsLimits(
        max_pages=source.signals_max_pages, max_bytes=int(source.signals_max_mb * 1e6),
        max_seconds=source.signals_max_seconds, min_rows_ratio=source.signals_min_rows_ratio,
    )
    return fetch_signals(
        source.signals_url, source.signals_tables, cache_dir=signals_cache_dir(settings),
        token_env=source.signals_token_env, timeout_s=source.signals_timeout_s,
        retries=source.signals_retries, use_last_good=source.signals_use_last_good,
        timezone=settings.timezone, limits=limits,
    )


def load_dataset(
    settings: Settings, folder: Path | None = None, require: Iterable[str] | None = None
) -> tuple[Dataset, str]:
    """Read, merge and validate the dataset; return it with a short human summary.

    Signals from ``data.signals_url`` replace the tables of the same names read from the
    folder or the database. ``require`` lists the tables that must be present (default: those
    planning needs). Raises :class:`DataContractError` or :class:`UserError` on bad input.
    """
    raw, origin = read_raw(settings, folder)
    required = PLANNING_TABLES if require is None else tuple(require)
    return validate_tables(raw, origin, fetch_signals_for(settings), settings.timezone,
                           settings.locale, required)


def validate_tables(
    raw: RawTables, origin: str, signals: SignalsResult | None, timezone: str,
    locale: str = "en", require: tuple[str, ...] = PLANNING_TABLES,
) -> tuple[Dataset, str]:
    """Merge the signals into the raw tables (they replace tables of the same names) and
    validate them against the contract; return the dataset and a short summary in the
    planner's ``locale``. Problems name the file's own columns. The trade calendar's rows
    (table ``calendar``, see :func:`read_raw`) join the events the user does not give."""
    tables = dict(raw)
    calendar = tables.pop(CALENDAR_TABLE, None)
    book = tables.pop(ORDER_BOOK_TABLE, None)
    warnings: list[str] = []
    if signals is not None:
        tables.update(signals.tables)
        warnings = signals.warnings
        origin += " + signals API"
    dataset = parse_user_tables(tables, timezone, require)
    if calendar is not None:
        dataset = with_calendar(dataset, *calendar, timezone)
        tables[CALENDAR_TABLE] = calendar
        origin += f" + calendar {calendar[1]}"
    if book is not None:
        dataset = with_order_book(dataset, book[0])
        tables[ORDER_BOOK_TABLE] = book
        origin += f" + {book[1]}"
    return dataset, summarize(dataset, tables, origin, warnings, language(locale))


def summarize(
    dataset: Dataset, raw: RawTables, origin: str, warnings: Iterable[str] = (),
    lang: Language | None = None,
) -> str:
    """A few lines telling the user what was read, in ``lang`` (English by default)."""
    t = (lang or language("en")).gettext
    sales = dataset.demand.sales
    counts = ", ".join(f"{name} {len(frame):,}" for name, (frame, _) in raw.items())
    lines = [t("Dataset OK: {origin}", origin=origin), "  " + t("rows: {counts}", counts=counts)]
    if not sales.empty:
        channels = sorted(sales["channel"].unique())
        first, last = (pd.Timestamp(d).date() for d in (sales["date"].min(), sales["date"].max()))
        lines.append("  " + t(
            "{skus} SKUs sold on {count} channels ({channels}), sales from {first} to {last}",
            skus=f"{sales['sku'].nunique():,}", count=len(channels),
            channels=", ".join(channels), first=first, last=last))
    lines += ["  " + t("warning: {warning}", warning=w) for w in warnings]
    return "\n".join(lines)
