"""Read (and load) a dataset from a SQL database: tables with the contract's names.

Any SQLAlchemy URL works (``sqlite:///data/brand.db``,
``postgresql+psycopg://user:password@host/db``). Absent optional tables are simply not read.
Error messages show the URL with its password masked and never the driver's connection string.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import pandas as pd
import sqlalchemy as sa

from flows.errors import SourceError
from flows.storage.sources.folder import RawTables
from replenishment.contract import TABLE_NAMES, Dataset

__all__ = ["read_sql", "write_sql"]

TableInput = pd.DataFrame | tuple[pd.DataFrame, str]
_CONNECT_TIMEOUT_S = 10


def _display_url(url: str) -> str:
    try:
        return sa.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return "<unparseable database URL>"


def _engine(url: str) -> sa.Engine:
    try:
        parsed = sa.make_url(url)
    except sa.exc.ArgumentError as err:
        raise SourceError(
            "the database URL is not a SQLAlchemy URL (expected e.g. "
            "postgresql+psycopg://user:password@host:5432/db or sqlite:///path/to/file.db)"
        ) from err
    connect_args = {"connect_timeout": _CONNECT_TIMEOUT_S} if parsed.get_backend_name() in (
        "postgresql", "mysql") else {}
    try:
        return sa.create_engine(parsed, connect_args=connect_args)
    except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError) as err:
        raise SourceError(f"cannot use database {_display_url(url)}: {err}") from err


def _source_error(url: str, action: str, err: Exception) -> SourceError:
    """A message naming the database (password masked) and the driver's first line of reason."""
    reason = str(getattr(err, "orig", None) or err).strip().splitlines()
    text = reason[0] if reason else type(err).__name__
    password = sa.make_url(url).password
    if password:
        text = text.replace(str(password), "***")
    return SourceError(f"cannot {action} database {_display_url(url)}: {text}")


def read_sql(url: str) -> RawTables:
    """Map each contract table present in the database at ``url`` to ``(frame, "sql:NAME")``."""
    engine = _engine(url)
    tables: RawTables = {}
    try:
        with engine.connect() as conn:
            present = set(sa.inspect(conn).get_table_names())
            for name in TABLE_NAMES:
                if name in present:
                    tables[name] = (pd.read_sql_table(name, conn), f"sql:{name}")
    except sa.exc.SQLAlchemyError as err:
        raise _source_error(url, "read", err) from err
    finally:
        engine.dispose()
    return tables


def _frames(tables: Mapping[str, TableInput] | Dataset) -> dict[str, pd.DataFrame]:
    if isinstance(tables, Dataset):
        parts = (tables.demand, tables.supply)
        frames = {
            f.name: getattr(part, f.name) for part in parts for f in dataclasses.fields(part)
        }
        # An empty optional table means "absent": writing it would make it look provided.
        return {name: frame for name, frame in frames.items() if not frame.empty}
    return {
        name: value[0] if isinstance(value, tuple) else value for name, value in tables.items()
    }


def write_sql(url: str, tables: Mapping[str, TableInput] | Dataset) -> list[str]:
    """Load tables (raw or typed frames, or a whole :class:`Dataset`) into the database at
    ``url``, replacing tables of the same names, in one transaction. Returns the names written.
    """
    frames = _frames(tables)
    unknown = sorted(set(frames) - set(TABLE_NAMES))
    if unknown:
        raise ValueError(f"not tables of the contract: {', '.join(unknown)}")
    engine = _engine(url)
    try:
        with engine.begin() as conn:
            for name, frame in frames.items():
                frame.to_sql(name, conn, if_exists="replace", index=False, chunksize=10_000)
    except sa.exc.SQLAlchemyError as err:
        raise _source_error(url, "write to", err) from err
    finally:
        engine.dispose()
    return list(frames)
