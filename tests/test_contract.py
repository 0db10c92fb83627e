"""The data contract on raw tables: numbers, text keys and headers a planner's export may hold.

Tables are read as the folder source reads a CSV (every cell text, no NA spellings), then
parsed by :func:`replenishment.contract.parse_dataset` directly.
"""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from tiny_dataset import TINY_TABLES

from forecasting.contract import DataContractError, Problem
from replenishment.contract import Dataset, parse_dataset

RawTables = dict[str, tuple[pd.DataFrame, str]]


def _raw(tables: dict[str, str]) -> RawTables:
    return {
        name: (pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False), f"{name}.csv")
        for name, text in tables.items()
    }


def _edit(table: str, old: str, new: str) -> dict[str, str]:
    assert TINY_TABLES[table].count(old) == 1, f"{old!r} not once in {table}"
    return {**TINY_TABLES, table: TINY_TABLES[table].replace(old, new)}


def _problems(tables: dict[str, str] | RawTables) -> list[Problem]:
    raw = _raw(tables) if all(isinstance(v, str) for v in tables.values()) else tables
    with pytest.raises(DataContractError) as err:
        parse_dataset(raw)  # type: ignore[arg-type]
    return err.value.problems


# -- numbers that are not amounts ------------------------------------------------------------

NOT_FINITE = ["inf", "Infinity", "-inf", "nan", "NaN", "-Infinity"]


@pytest.mark.parametrize("cell", NOT_FINITE)
def test_units_that_are_not_finite_are_rejected(cell: str) -> None:
    [problem] = _problems(_edit("sales", "2025-01-02,SKU-1,jd,2,", f"2025-01-02,SKU-1,jd,{cell},"))
    assert (problem.source, problem.row, problem.column, problem.value) == (
        "sales.csv", 4, "units", cell)
    assert "finite number" in problem.expected


@pytest.mark.parametrize("cell", NOT_FINITE)
def test_unit_cost_that_is_not_finite_is_rejected(cell: str) -> None:
    [problem] = _problems(_edit("products", "SKU-1,SUP-A,40,", f"SKU-1,SUP-A,{cell},"))
    assert (problem.source, problem.row, problem.column, problem.value) == (
        "products.csv", 2, "unit_cost", cell)
    assert "finite number" in problem.expected


@pytest.mark.parametrize(("table", "old", "cell", "column", "limit"), [
    ("sales", "2025-01-02,SKU-1,jd,{},", "1e308", "units", "1,000,000,000"),
    ("sales", "2025-01-02,SKU-1,jd,{},", "1000000001", "units", "1,000,000,000"),
    ("products", "SKU-1,SUP-A,{},", "1e308", "unit_cost", "1,000,000,000,000"),
    # An int column: 1e308 used to crash the cast to whole numbers.
    ("products", "SKU-1,SUP-A,40,{},", "1e308", "case_pack", "1,000,000,000"),
    ("suppliers", "SUP-A,{},", "1e9", "lead_time_days", "36,500"),
    ("inventory", "SKU-1,{}", "-1e300", "on_hand", "1,000,000,000"),
])
def test_absurd_magnitudes_are_rejected_with_the_bound(
    table: str, old: str, cell: str, column: str, limit: str
) -> None:
    written = {"units": "2", "unit_cost": "40", "case_pack": "12", "lead_time_days": "14",
               "on_hand": "50"}[column]
    [problem] = _problems(_edit(table, old.format(written), old.format(cell)))
    assert (problem.source, problem.column, problem.value) == (f"{table}.csv", column, cell)
    assert f"at most {limit}" in problem.expected


def test_bounds_are_inclusive() -> None:
    data = parse_dataset(_raw(_edit("sales", "2025-01-02,SKU-1,jd,2,",
                                    "2025-01-02,SKU-1,jd,1000000000,")))
    assert data.demand.sales["units"].max() == 1e9


def test_typed_sources_are_checked_too() -> None:
    """Parquet and SQL give numbers, not text: a stored infinity or 1e308 is still named."""
    raw = _raw(TINY_TABLES)
    sales = raw["sales"][0].assign(units=[3.0, np.inf, 2.0, 1e308])
    problems = _problems({**raw, "sales": (sales, "sales.parquet")})
    assert [(p.row, p.column, p.value) for p in problems] == [
        (3, "units", "inf"), (5, "units", "1e+308")]
    assert "finite" in problems[0].expected and "at most" in problems[1].expected


# -- thousands separators and decimal commas -------------------------------------------------

@pytest.mark.parametrize(("cell", "units"), [
    ("1,234", 1234.0), ("12,345,678", 12345678.0), ("1,234.5", 1234.5), ("\"1,234.75\"", 1234.75),
    ("-0", 0.0), ("2.", 2.0), ("1e3", 1000.0),
])
def test_unambiguous_numbers_are_read(cell: str, units: float) -> None:
    quoted = cell if cell.startswith('"') else f'"{cell}"'
    data = parse_dataset(_raw(_edit("sales", "2025-01-02,SKU-1,jd,2,",
                                    f"2025-01-02,SKU-1,jd,{quoted},")))
    row = data.demand.sales.query("sku == 'SKU-1' and channel == 'jd'")
    assert row["units"].tolist() == [units]


@pytest.mark.parametrize(("cell", "hint"), [
    ("12,5", "write 12.5"), ("1.234,5", "write 1234.5"), ("0,75", "write 0.75"),
    ("1,23", "write 1.23"), ("1,2345", "write 1.2345"), ("1,23,456", "write 12.5"),
    (",5", "write 12.5"),
])
def test_decimal_commas_and_ambiguous_groups_are_rejected(cell: str, hint: str) -> None:
    [problem] = _problems(_edit("sales", "2025-01-02,SKU-1,jd,2,",
                                f'2025-01-02,SKU-1,jd,"{cell}",'))
    assert (problem.row, problem.column, problem.value) == (4, "units", cell)
    assert "decimal comma?" in problem.expected and hint in problem.expected


def test_a_decimal_comma_in_a_money_column_is_rejected() -> None:
    [problem] = _problems(_edit("products", "SKU-2,SUP-B,20,", 'SKU-2,SUP-B,"19,90",'))
    assert (problem.source, problem.row, problem.column) == ("products.csv", 3, "unit_cost")
    assert "write 19.90" in problem.expected


# -- text keys -------------------------------------------------------------------------------

@pytest.mark.parametrize("sku", ["None", "NULL", "NA", "nan", "NaN", "N/A", "NaT", "<NA>"])
def test_text_keys_take_na_spellings_literally(sku: str) -> None:
    tables = {
        **TINY_TABLES,
        "sales": TINY_TABLES["sales"].replace("SKU-2", sku),
        "products": TINY_TABLES["products"].replace("SKU-2", sku),
        "inventory": TINY_TABLES["inventory"].replace("SKU-2", sku),
        "livestreams": TINY_TABLES["livestreams"].replace("SKU-2", sku),
    }
    data = parse_dataset(_raw(tables))
    assert isinstance(data, Dataset)
    assert sorted(data.demand.sales["sku"].unique()) == sorted(["SKU-1", sku])
    assert sku in set(data.supply.products["sku"])
    assert data.supply.inventory.set_index("sku").loc[sku, "on_hand"] == 0


@pytest.mark.parametrize("cell", ["", " "])
def test_only_an_empty_cell_is_a_missing_key(cell: str) -> None:
    [problem] = _problems(_edit("sales", "2025-01-01,SKU-2,douyin", f"2025-01-01,{cell},douyin"))
    assert (problem.row, problem.column) == (3, "sku")
    assert "non-empty text" in problem.expected


# -- headers ---------------------------------------------------------------------------------

def test_a_repeated_column_is_rejected() -> None:
    raw = _raw(TINY_TABLES)
    frame = raw["sales"][0]
    repeated = pd.concat([frame, frame[["units"]]], axis=1)
    assert list(repeated.columns).count("units") == 2
    [problem] = _problems({**raw, "sales": (repeated, "sales.csv")})
    assert (problem.source, problem.row, problem.column) == ("sales.csv", 1, "units")
    assert "named once" in problem.expected and "2 times" in problem.expected


def test_a_repeat_renamed_by_the_csv_reader_is_rejected() -> None:
    """pandas reads a header ``units,units`` as ``units, units.1``."""
    tables = _edit("sales", "channel,units,price", "channel,units,units,price")
    tables["sales"] = "\n".join(
        line if i == 0 or not line else _double_units(line)
        for i, line in enumerate(tables["sales"].split("\n")))
    [problem] = _problems(tables)
    assert (problem.source, problem.row, problem.column, problem.value) == (
        "sales.csv", 1, "units", "units.1")
    assert "named once" in problem.expected


def _double_units(line: str) -> str:
    cells = line.split(",")
    return ",".join([*cells[:4], cells[3], *cells[4:]])


def test_spaces_around_a_header_name_do_not_hide_a_repeat() -> None:
    raw = _raw(TINY_TABLES)
    frame = raw["inventory"][0].assign(**{" on_hand": "1"})
    [problem] = _problems({**raw, "inventory": (frame, "inventory.csv")})
    assert (problem.source, problem.column) == ("inventory.csv", "on_hand")
