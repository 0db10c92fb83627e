"""Declared schemas of the demand and signal tables, and the parser that enforces them.

A table arrives as a raw frame (usually every cell a string, as read from a CSV export) and
leaves as a typed frame, or as a list of :class:`Problem` records that name the file, the row,
the column, the value and what was expected.

Type coercion is done here rather than by pandera: pandera reports a coercion failure and then
runs the value checks on the *uncoerced* column, which turns one bad cell into several confusing
messages. Value checks (ranges, allowed values, uniqueness) are declared as pandera checks.

Decisions on cells, each a :class:`Problem` rather than a silent guess:

- Only a truly empty cell is missing. Text keys take any other text literally, so a SKU named
  ``None``, ``NULL``, ``NA`` or ``nan`` is that SKU (pandas' default NA spellings would turn
  some of them, not all, into missing keys).
- Numbers use a dot for decimals. Commas are read as thousands separators only where that is
  unambiguous: groups of exactly three digits after a first group of one to three
  (``1,234``, ``12,345,678``, ``1,234.5``). ``12,5``, ``1.234,5`` or ``1,23`` are rejected
  ("decimal comma? write 12.5"): stripping every comma turned ``12,5`` into 125.
- Numbers must be finite (``inf``, ``Infinity``, ``nan`` written as text are rejected) and no
  larger in size than a bound per kind of column, above which the cell is an export error,
  not a plan input: :data:`UNITS_LIMIT` = 1e9 units in one row (a SKU-day, an order line, a
  stock count: 1,000x the largest single-SKU day a brand of this kind records),
  :data:`MONEY_LIMIT` = 1e12 in the currency of the dataset (a price, a unit cost, an order
  value), :data:`DAYS_LIMIT` = 36,500 days (a century) for durations, and
  :data:`NUMBER_LIMIT` = 1e12 for any other number. ``1e308`` used to pass and overflow the
  optimiser later.
- A header must name each column once (after trimming spaces and a byte-order mark); a
  repeated name would make "the" column ambiguous.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pydantic import BaseModel

from forecasting.errors import UserError

__all__ = [
    "DAYS_LIMIT",
    "DEMAND_TABLES",
    "EVENT_KINDS",
    "MONEY_LIMIT",
    "NUMBER_LIMIT",
    "PRESALES",
    "RETURNS",
    "UNITS_LIMIT",
    "ColumnSpec",
    "DataContractError",
    "DemandData",
    "Problem",
    "TableSpec",
    "aggregate_sales",
    "at_least",
    "between",
    "check_ordered",
    "empty_table",
    "greater_than",
    "one_of",
    "parse_demand_tables",
    "parse_table",
]

ColumnKind = Literal["str", "date", "datetime", "int", "float", "flag"]

_KIND_EXPECTED: dict[str, str] = {
    "str": "a non-empty text value",
    "date": "an ISO date (YYYY-MM-DD)",
    "datetime": "an ISO 8601 date-time (YYYY-MM-DDTHH:MM[:SS][+HH:MM])",
    "int": "a whole number",
    "float": "a number",
    "flag": "0 or 1",
}
UNITS_LIMIT = 1e9
MONEY_LIMIT = 1e12
DAYS_LIMIT = 36_500.0
NUMBER_LIMIT = 1e12
_TRUE = {"1", "1.0", "true", "yes", "y", "t"}
# A number as text: digits, or digits grouped in threes by commas, then optional decimals
# after a dot and an optional exponent.
_NUMBER = r"^[+-]?(?:\d+|\d{1,3}(?:,\d{3})+)?(?:\.\d*)?(?:[eE][+-]?\d+)?$"
_FINITE = "a finite number (inf, Infinity and nan are not amounts)"
_FALSE = {"0", "0.0", "false", "no", "n", "f"}


class Problem(BaseModel):
    """One thing wrong with the input, as a planner needs to read it.

    ``row`` counts as a spreadsheet does: the header is row 1, the first record row 2.
    """

    source: str
    row: int | None = None
    column: str | None = None
    value: str | None = None
    expected: str

    def __str__(self) -> str:
        where = [self.source]
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column '{self.column}'")
        got = "" if self.value is None else f"got {self.value!r}; "
        return f"{', '.join(where)}: {got}expected {self.expected}"


class DataContractError(UserError, ValueError):
    """Raised with every :class:`Problem` found, so a planner can fix them all in one pass."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


@dataclass(frozen=True)
class ColumnSpec:
    """A column of the contract: its kind, whether it must be present, and its value checks.

    ``limit`` bounds the size of a number (``int`` and ``float`` kinds; see the module's
    decisions): :data:`UNITS_LIMIT`, :data:`MONEY_LIMIT`, :data:`DAYS_LIMIT`, or
    :data:`NUMBER_LIMIT` when unset.
    """

    kind: ColumnKind
    required: bool = False
    checks: tuple[pa.Check, ...] = ()
    limit: float = NUMBER_LIMIT


@dataclass(frozen=True)
class TableSpec:
    """A table of the contract. ``ordered`` lists (start, end) pairs where end >= start."""

    name: str
    columns: Mapping[str, ColumnSpec]
    unique: tuple[str, ...] = ()
    ordered: tuple[tuple[str, str], ...] = ()

    @property
    def required(self) -> list[str]:
        return [name for name, col in self.columns.items() if col.required]


def at_least(bound: float) -> pa.Check:
    return pa.Check(lambda s: s >= bound, error=f"a number >= {bound:g}", ignore_na=True)


def greater_than(bound: float) -> pa.Check:
    return pa.Check(lambda s: s > bound, error=f"a number > {bound:g}", ignore_na=True)


def between(low: float, high: float) -> pa.Check:
    return pa.Check(
        lambda s: (s >= low) & (s <= high), error=f"a number from {low:g} to {high:g}",
        ignore_na=True,
    )


def one_of(*allowed: str) -> pa.Check:
    return pa.Check(lambda s: s.isin(allowed), error=f"one of {', '.join(allowed)}", ignore_na=True)


SALES = TableSpec(
    "sales",
    {
        "date": ColumnSpec("date", required=True),
        "sku": ColumnSpec("str", required=True),
        "channel": ColumnSpec("str", required=True),
        "units": ColumnSpec("float", required=True, checks=(at_least(0),), limit=UNITS_LIMIT),
        "price": ColumnSpec("float", checks=(greater_than(0),), limit=MONEY_LIMIT),
        "stockout": ColumnSpec("flag"),
    },
)
PROMOTIONS = TableSpec(
    "promotions",
    {
        "start": ColumnSpec("date", required=True),
        "end": ColumnSpec("date", required=True),
        "kind": ColumnSpec("str", required=True),
        "sku": ColumnSpec("str"),
        "category": ColumnSpec("str"),
        "channel": ColumnSpec("str"),
        "discount": ColumnSpec("float", checks=(between(0, 1),)),
    },
    ordered=(("start", "end"),),
)
LIVESTREAMS = TableSpec(
    "livestreams",
    {
        "start": ColumnSpec("datetime", required=True),
        "end": ColumnSpec("datetime", required=True),
        "channel": ColumnSpec("str", required=True),
        "sku": ColumnSpec("str"),
        "host": ColumnSpec("str"),
        "expected_viewers": ColumnSpec("float", checks=(at_least(0),)),
        "planned_units": ColumnSpec("float", checks=(at_least(0),), limit=UNITS_LIMIT),
    },
    ordered=(("start", "end"),),
)
EVENT_KINDS = ("festival", "holiday", "closure", "workday")
"""Kinds of an events row. ``workday`` is a statutory make-up workday (调休上班: a weekend day
on which the country works to bridge a holiday); it is a working day whatever its weekday."""
EVENTS = TableSpec(
    "events",
    {
        "start": ColumnSpec("date", required=True),
        "end": ColumnSpec("date", required=True),
        "name": ColumnSpec("str", required=True),
        "kind": ColumnSpec("str", checks=(one_of(*EVENT_KINDS),)),
        "channel": ColumnSpec("str"),
        "sku": ColumnSpec("str"),
    },
    ordered=(("start", "end"),),
)
PRICES = TableSpec(
    "prices",
    {
        "date": ColumnSpec("date", required=True),
        "sku": ColumnSpec("str", required=True),
        "price": ColumnSpec("float", required=True, checks=(greater_than(0),),
                            limit=MONEY_LIMIT),
        "channel": ColumnSpec("str"),
    },
    unique=("date", "sku", "channel"),
)

PRESALES = TableSpec(
    "presales",
    {
        "sku": ColumnSpec("str", required=True),
        "channel": ColumnSpec("str", required=True),
        "deposit_start": ColumnSpec("date", required=True),
        "deposit_units": ColumnSpec("float", required=True, checks=(at_least(0),),
                                    limit=UNITS_LIMIT),
        "final_start": ColumnSpec("date", required=True),
        "final_end": ColumnSpec("date", required=True),
        "deposit_end": ColumnSpec("date"),
    },
    ordered=(("deposit_start", "deposit_end"), ("final_start", "final_end"),
             ("deposit_start", "final_start")),
)
"""Presale deposits (预售定金): units whose deposit was paid on ``deposit_start`` (or from
it to ``deposit_end``, a window's total), whose final payment (尾款) falls from
``final_start`` to ``final_end``, when the sale is recorded. See :mod:`forecasting.presales`."""
RETURNS = TableSpec(
    "returns",
    {
        "date": ColumnSpec("date", required=True),
        "sku": ColumnSpec("str", required=True),
        "channel": ColumnSpec("str", required=True),
        "units": ColumnSpec("float", required=True, checks=(at_least(0),), limit=UNITS_LIMIT),
        "restockable_share": ColumnSpec("float", checks=(between(0, 1),)),
        "sale_date": ColumnSpec("date"),
    },
)
"""Customer returns received on ``date``; ``restockable_share`` of them can be sold again
(empty: all); ``sale_date`` the date of the returned order when the export has it. See
:mod:`forecasting.returns`."""

DEMAND_TABLES: dict[str, TableSpec] = {
    spec.name: spec for spec in (SALES, PROMOTIONS, LIVESTREAMS, EVENTS, PRICES, PRESALES,
                                 RETURNS)
}


def empty_table(spec: TableSpec) -> pd.DataFrame:
    """A zero-row frame with every column of ``spec`` and its parsed dtype."""
    dtypes = {
        "str": "object", "date": "datetime64[ns]", "datetime": "datetime64[ns]",
        "int": "Int64", "float": "float64", "flag": "int8",
    }
    return pd.DataFrame({n: pd.Series(dtype=dtypes[c.kind]) for n, c in spec.columns.items()})


def _as_text(raw: pd.Series) -> pd.Series:
    """Cells as stripped text, missing only where empty (or null in a typed source): the
    texts ``None``, ``NULL``, ``NA`` and ``nan`` are kept as written. Arrow strings keep this
    vectorised: object strings cost seconds per column on a few hundred thousand rows."""
    text = raw.astype("string[pyarrow]").str.strip()
    return text.mask(text == "")


def _coerce(raw: pd.Series, text: pd.Series, col: ColumnSpec, timezone: str
            ) -> tuple[pd.Series, pd.Series | None]:
    """Parse one column (``text`` is ``_as_text(raw)``); unparseable cells become missing,
    and the caller reports them. The second value, when not None, says per bad cell what was
    expected instead of the kind's generic phrase (missing where the generic one fits)."""
    kind = col.kind
    if kind == "str":
        # Missing text is None (not pd.NA) so plain ``isin`` / set membership keep working.
        as_object = text.astype(object)
        as_object[text.isna()] = None
        return as_object, None
    if kind in ("int", "float"):
        return _parse_numbers(raw, text, col)
    if kind == "flag":
        lowered = text.str.lower()
        flag = pd.Series(np.nan, index=raw.index)
        flag[lowered.isin(_TRUE)] = 1
        flag[lowered.isin(_FALSE)] = 0
        return flag, None
    if pd.api.types.is_datetime64_any_dtype(raw):
        parsed = pd.to_datetime(raw, errors="coerce")
        if isinstance(parsed.dtype, pd.DatetimeTZDtype):
            parsed = parsed.dt.tz_convert(timezone).dt.tz_localize(None)
    else:
        parsed = _parse_iso(text, timezone)
    if kind == "date":
        return parsed.dt.normalize().astype("datetime64[ns]"), None
    return parsed.astype("datetime64[ns]"), None


def _parse_numbers(raw: pd.Series, text: pd.Series, col: ColumnSpec
                   ) -> tuple[pd.Series, pd.Series]:
    """Numbers of an ``int`` or ``float`` column, with what was expected of each bad cell:
    thousands separators only where unambiguous, finite, at most ``col.limit`` in size."""
    reason = pd.Series(pd.NA, index=raw.index, dtype="string[pyarrow]")
    if pd.api.types.is_numeric_dtype(raw) and not pd.api.types.is_bool_dtype(raw):
        values = pd.to_numeric(raw, errors="coerce").astype("float64")
    else:
        well_formed = text.str.fullmatch(_NUMBER).fillna(False).astype(bool)
        comma = text.str.contains(",", regex=False).fillna(False).astype(bool)
        values = pd.to_numeric(text.where(well_formed).str.replace(",", "", regex=False),
                               errors="coerce").astype("float64")
        decimal_comma = (comma & ~well_formed).to_numpy()
        for idx in np.flatnonzero(decimal_comma):
            reason.iloc[int(idx)] = _decimal_comma_hint(str(text.iloc[idx]))
        spelled = text.str.lower().str.lstrip("+-").isin(["inf", "infinity", "nan"])
        reason[spelled.fillna(False).astype(bool)] = _FINITE
    infinite = np.isinf(values.to_numpy())
    reason[infinite] = _FINITE
    too_large = np.abs(values.to_numpy()) > col.limit
    reason[too_large & ~infinite] = f"a number of at most {col.limit:,.0f} in size (larger " \
        "is taken as an export error)"
    values = values.mask(infinite | too_large)
    if col.kind == "int":
        whole = np.isclose(values, values.round()) | values.isna()
        values = values.where(whole)
        return values.round().astype("Int64"), reason
    return values, reason


def _decimal_comma_hint(cell: str) -> str:
    """What to write instead of a number with a comma that is not a thousands separator."""
    example = "12.5"
    if cell.count(",") == 1:
        whole, _, decimals = cell.replace(".", "").partition(",")
        if whole.lstrip("+-").isdigit() and decimals.isdigit():
            example = f"{whole}.{decimals}"
    return (f"a number with a dot for decimals (decimal comma? write {example}); commas may "
            "only separate thousands, as in 1,234,567.5")


_OFFSET = r"(?:[+-]\d\d:?\d\d|Z)$"


def _parse_iso(text: pd.Series, timezone: str) -> pd.Series:
    """Parse ISO 8601 text as naive local time of ``timezone``; explicit offsets are honoured."""
    has_offset = text.str.contains(_OFFSET, na=False)
    parsed = pd.to_datetime(text.where(~has_offset), format="ISO8601", errors="coerce")
    if has_offset.any():
        aware = pd.to_datetime(text.where(has_offset), format="ISO8601", errors="coerce", utc=True)
        local = aware.dt.tz_convert(timezone).dt.tz_localize(None)
        parsed = parsed.where(~has_offset, local)
    return parsed


def _display(value: object) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NaT:
        return ""
    if isinstance(value, pd.Timestamp):
        return value.isoformat() if value != value.normalize() else value.date().isoformat()
    return str(value)


def parse_table(
    raw: pd.DataFrame, spec: TableSpec, source: str, timezone: str = "Asia/Shanghai"
) -> tuple[pd.DataFrame, list[Problem]]:
    """Check ``raw`` against ``spec``; return the typed frame and every problem found.

    Extra columns are kept untouched. Optional columns that are absent are added empty, so
    downstream code can rely on every contract column being present.
    """
    raw = raw.reset_index(drop=True)
    raw.columns = [str(c).strip().lstrip("\ufeff") for c in raw.columns]
    repeated = _repeated_columns(raw.columns, spec, source)
    if repeated:
        return empty_table(spec), repeated
    missing = [c for c in spec.required if c not in raw.columns]
    if missing:
        return empty_table(spec), [
            Problem(source=source, row=1, column=c, expected=f"a column named '{c}' in the header")
            for c in missing
        ]
    problems: list[Problem] = []
    typed = raw.copy()
    for name, col in spec.columns.items():
        if name not in raw.columns:
            typed[name] = empty_table(spec)[name].reindex(raw.index)
            continue
        text = _as_text(raw[name])
        typed[name], reasons = _coerce(raw[name], text, col, timezone)
        present = text.notna()
        bad = present & typed[name].isna()
        if col.required:
            bad |= ~present
        for idx in np.flatnonzero(bad.to_numpy()):
            value = _display(raw[name].iloc[idx])
            reason = None if reasons is None else reasons.iloc[idx]
            expected = _KIND_EXPECTED[col.kind] if pd.isna(reason) else str(reason)
            if not value and col.required:
                expected = f"{expected} (the column is required)"
            problems.append(
                Problem(source=source, row=int(idx) + 2, column=name, value=value,
                        expected=expected)
            )
    problems += _run_checks(typed, spec, source, raw)
    problems += check_ordered(typed, spec, source)
    return typed, problems


def _repeated_columns(columns: pd.Index, spec: TableSpec, source: str) -> list[Problem]:
    """A problem per column name the header repeats. Besides exact repeats, a contract
    column next to ``name.1``, ``name.2``... counts: that is how pandas' CSV reader renames
    a repeated header."""
    names = [str(c) for c in columns]
    counts = pd.Series(names).value_counts()
    problems = []
    for name, count in counts[counts > 1].items():
        problems.append(Problem(
            source=source, row=1, column=str(name), value=str(name),
            expected=f"each column named once in the header ('{name}' appears {count} times)",
        ))
    for name in spec.columns:
        renamed = [n for n in names if re.fullmatch(rf"{re.escape(name)}\.\d+", n)]
        if name in names and renamed and name not in counts[counts > 1]:
            problems.append(Problem(
                source=source, row=1, column=name, value=", ".join(renamed),
                expected=f"each column named once in the header ('{name}' appears "
                         f"{len(renamed) + 1} times; the reader renamed the repeats)",
            ))
    return problems


def _run_checks(
    typed: pd.DataFrame, spec: TableSpec, source: str, raw: pd.DataFrame
) -> list[Problem]:
    columns = {
        name: pa.Column(checks=list(col.checks), nullable=True, required=False)
        for name, col in spec.columns.items()
        if col.checks
    }
    unique = [c for c in spec.unique if c in typed.columns] or None
    schema = pa.DataFrameSchema(columns, unique=unique, report_duplicates="exclude_first")
    try:
        schema.validate(typed, lazy=True)
    except pa.errors.SchemaErrors as err:
        return _problems_from_failures(err.failure_cases, typed, spec, source, raw)
    return []


def _problems_from_failures(
    failures: pd.DataFrame, typed: pd.DataFrame, spec: TableSpec, source: str,
    raw: pd.DataFrame,
) -> list[Problem]:
    problems = []
    for case in failures.to_dict("records"):
        if case["index"] is None or pd.isna(case["index"]):
            continue
        row = int(case["index"])
        if case["check"] == "multiple_fields_uniqueness":
            key = ", ".join(f"{c}={_display(typed[c].iloc[row])}" for c in spec.unique)
            problems.append(Problem(
                source=source, row=row + 2, column=str(case["column"]), value=key,
                expected=f"one row per ({', '.join(spec.unique)}); this key repeats an earlier row",
            ))
            continue
        # Show the cell as written in the file ("-2"), not as parsed ("-2.0").
        column = str(case["column"])
        cell = raw[column].iloc[row] if column in raw.columns else case["failure_case"]
        problems.append(Problem(
            source=source, row=row + 2, column=column, value=_display(cell),
            expected=str(case["check"]),
        ))
    # pandera reports a repeated key once per column of the key: keep one message per row.
    seen: set[tuple[int | None, str]] = set()
    unique_problems = []
    for p in sorted(problems, key=lambda p: (p.row or 0)):
        identity = (p.row, p.expected if "repeats" in p.expected else f"{p.column}{p.expected}")
        if identity not in seen:
            seen.add(identity)
            unique_problems.append(p)
    return unique_problems


def check_ordered(typed: pd.DataFrame, spec: TableSpec, source: str) -> list[Problem]:
    """Every (start, end) pair of ``spec`` must have end >= start."""
    problems = []
    for start, end in spec.ordered:
        reversed_rows = typed[end] < typed[start]
        for idx in np.flatnonzero(reversed_rows.fillna(False).to_numpy()):
            problems.append(Problem(
                source=source, row=int(idx) + 2, column=end,
                value=f"{_display(typed[end].iloc[idx])} (before {start} "
                      f"{_display(typed[start].iloc[idx])})",
                expected=f"'{end}' on or after '{start}'",
            ))
    return problems


def aggregate_sales(sales: pd.DataFrame) -> pd.DataFrame:
    """Sum order-line rows sharing (date, sku, channel); a stockout on any line flags the day."""
    if sales.empty:
        return sales
    agg: dict[str, tuple[str, str]] = {"units": ("units", "sum")}
    if "stockout" in sales and sales["stockout"].notna().any():
        agg["stockout"] = ("stockout", "max")
    if "price" in sales and sales["price"].notna().any():
        sales = sales.assign(_revenue=sales["price"] * sales["units"])
        agg["_revenue"] = ("_revenue", "sum")
        agg["_price_mean"] = ("price", "mean")
    out = sales.groupby(["date", "sku", "channel"], as_index=False, sort=True).agg(**agg)
    if "_revenue" in out:
        weighted = out["_revenue"] / out["units"].where(out["units"] > 0)
        out["price"] = weighted.fillna(out["_price_mean"])
        out = out.drop(columns=["_revenue", "_price_mean"])
    else:
        out["price"] = np.nan
    out["stockout"] = out["stockout"].fillna(0).astype("int8") if "stockout" in out else 0
    return out[["date", "sku", "channel", "units", "price", "stockout"]]


@dataclass(frozen=True)
class DemandData:
    """The demand-side tables of a dataset, typed. Absent optional tables are empty frames."""

    sales: pd.DataFrame
    promotions: pd.DataFrame = field(default_factory=lambda: empty_table(PROMOTIONS))
    livestreams: pd.DataFrame = field(default_factory=lambda: empty_table(LIVESTREAMS))
    events: pd.DataFrame = field(default_factory=lambda: empty_table(EVENTS))
    prices: pd.DataFrame = field(default_factory=lambda: empty_table(PRICES))
    presales: pd.DataFrame = field(default_factory=lambda: empty_table(PRESALES))
    returns: pd.DataFrame = field(default_factory=lambda: empty_table(RETURNS))

    def until(self, as_of: pd.Timestamp) -> DemandData:
        """The data as known on ``as_of``: later sales, returns and deposits are dropped
        (a deposit row counts from its ``deposit_start``); calendars are kept (they are
        planned in advance)."""
        sales = self.sales[self.sales["date"] <= as_of]
        prices = self.prices[self.prices["date"] <= as_of]
        presales = self.presales[self.presales["deposit_start"] <= as_of]
        returns = self.returns[self.returns["date"] <= as_of]
        return DemandData(sales, self.promotions, self.livestreams, self.events, prices,
                          presales, returns)


def parse_demand_tables(
    raw: Mapping[str, tuple[pd.DataFrame, str]], timezone: str = "Asia/Shanghai"
) -> tuple[DemandData, list[Problem]]:
    """Parse the demand and signal tables present in ``raw`` (name -> (frame, source))."""
    problems: list[Problem] = []
    if "sales" not in raw:
        problems.append(Problem(source="sales", expected="a sales table (sales.csv or "
                                "sales.parquet): it is required for forecasting"))
    typed: dict[str, pd.DataFrame] = {}
    for name, spec in DEMAND_TABLES.items():
        if name not in raw:
            typed[name] = empty_table(spec)
            continue
        frame, source = raw[name]
        typed[name], found = parse_table(frame, spec, source, timezone)
        problems += found
    sales = typed["sales"]
    if not problems:
        sales = aggregate_sales(sales)
    data = DemandData(sales, typed["promotions"], typed["livestreams"], typed["events"],
                      typed["prices"], typed["presales"], typed["returns"])
    return data, problems
