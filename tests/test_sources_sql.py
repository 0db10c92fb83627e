"""The SQL source against real servers: a SQLite file and the PostgreSQL test server."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from tiny_dataset import write_tiny_dataset

from flows.errors import SourceError
from flows.storage.sources import read_folder, read_sql, write_sql
from replenishment.contract import PLANNING_TABLES, Dataset, parse_dataset


def _assert_same_dataset(left: Dataset, right: Dataset) -> None:
    for part in ("demand", "supply"):
        for name, frame in vars(getattr(left, part)).items():
            other = getattr(getattr(right, part), name)
            pd.testing.assert_frame_equal(
                _nulls_as_none(frame), _nulls_as_none(other[frame.columns]), check_dtype=False,
                obj=name,
            )


def _nulls_as_none(frame: pd.DataFrame) -> pd.DataFrame:
    """One spelling of "missing" (NaN, None, NaT), so only values are compared."""
    return frame.reset_index(drop=True).astype(object).map(lambda v: None if pd.isna(v) else v)


def _round_trip(url: str, folder: Path) -> None:
    raw = read_folder(write_tiny_dataset(folder))
    expected = parse_dataset(raw, require=PLANNING_TABLES)
    assert sorted(write_sql(url, raw)) == sorted(raw)

    from_db = read_sql(url)
    assert from_db["sales"][1] == "sql:sales"
    assert set(from_db) == set(raw)
    _assert_same_dataset(parse_dataset(from_db, require=PLANNING_TABLES), expected)

    # A typed dataset loads too (a team moving from folders to a database), and reads back equal.
    assert "promotions" in write_sql(url, expected)
    _assert_same_dataset(parse_dataset(read_sql(url), require=PLANNING_TABLES), expected)


def test_sqlite_file_round_trip(tmp_path: Path) -> None:
    _round_trip(f"sqlite:///{tmp_path / 'brand.db'}", tmp_path / "data")


def test_postgresql_round_trip(pg_url: str, tmp_path: Path) -> None:
    _round_trip(pg_url, tmp_path / "data")


def test_absent_optional_tables_and_unrelated_tables(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'brand.db'}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        pd.DataFrame({"date": ["2025-01-01"], "sku": ["A"], "channel": ["jd"], "units": [1]}
                     ).to_sql("sales", conn, index=False)
        pd.DataFrame({"x": [1]}).to_sql("erp_audit_log", conn, index=False)
    engine.dispose()
    raw = read_sql(url)
    assert list(raw) == ["sales"]
    assert parse_dataset(raw).demand.sales["units"].tolist() == [1.0]


def test_unknown_table_names_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not tables of the contract: orders"):
        write_sql(f"sqlite:///{tmp_path / 'x.db'}", {"orders": pd.DataFrame({"a": [1]})})


def test_unreachable_server_masks_the_password() -> None:
    url = "postgresql+psycopg://planner:s3cr3t-pw@127.0.0.1:1/brand"
    with pytest.raises(SourceError) as err:
        read_sql(url)
    message = str(err.value)
    assert "s3cr3t-pw" not in message
    assert "planner:***@127.0.0.1:1/brand" in message
    assert "cannot read database" in message


def test_wrong_password_masks_the_password(pg_server_url: str) -> None:
    url = sa.make_url(pg_server_url).set(password="wrong-pw-42")
    with pytest.raises(SourceError) as err:
        read_sql(url.render_as_string(hide_password=False))
    assert "wrong-pw-42" not in str(err.value)
    assert "***" in str(err.value)


def test_bad_url_is_a_clear_error_without_echoing_it() -> None:
    with pytest.raises(SourceError, match="not a SQLAlchemy URL") as err:
        read_sql("user:topsecret at db-host")
    assert "topsecret" not in str(err.value)
    with pytest.raises(SourceError, match="cannot use database pg://user:\\*\\*\\*@") as err:
        read_sql("pg://user:topsecret@host/db")
    assert "topsecret" not in str(err.value)
