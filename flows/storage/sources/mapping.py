"""A table's own column names -> the contract's, from the config or an ERP preset, and back.

An ERP export says ``销售日期, 商品编码, 店铺, 数量`` where the contract says ``date, sku,
channel, units``. The config maps them (``data.tables.sales.columns``), or names a preset for a
common export layout (``data.preset``); the columns are renamed after reading, before the
contract sees them. Every problem the contract then finds is reported in the user's words:
the column the file calls ``销售日期``, in the file it came from (:func:`parse_user_tables`).

The presets are **assumptions** about two common layouts, taken from their standard export
templates as we know them (column names differ between versions and with custom templates;
``data.tables.NAME.columns`` adds to or overrides any preset entry):

* ``jushuitan`` (聚水潭): order-line export 订单明细 with 下单时间 (a date-time, read as its
  date), 商品编码, 店铺, 数量, 单价; products 商品资料 with 商品编码, 商品名称, 供应商, 成本价,
  箱规, 起订量, 分类; inventory 库存 with 商品编码, 实际库存数, 仓库; suppliers 供应商 with
  供应商编码, 供应商名称, 采购周期(天), 邮箱.
* ``wangdiantong`` (旺店通): sales 销售明细 with 发货日期, 商家编码, 店铺名称, 货品数量, 成交价;
  products 货品档案 with 商家编码, 货品名称, 供应商, 成本价, 箱规, 最小起订量, 分类; inventory
  with 商家编码, 库存量, 仓库名称; suppliers with 供应商编号, 供应商名称, 到货周期, 邮箱.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import pandas as pd

from flows.config import ConfigError, DataSource
from flows.storage.sources.folder import RawTables
from forecasting.contract import DataContractError, Problem
from replenishment.contract import TABLE_NAMES, Dataset, parse_dataset

__all__ = ["PRESETS", "USER_COLUMNS", "apply_mappings", "column_mapping", "parse_user_tables",
           "user_problems"]

USER_COLUMNS = "replenish_user_columns"  # frame.attrs key: contract column -> user's column

PRESETS: dict[str, dict[str, dict[str, str]]] = {
    "jushuitan": {
        "sales": {"下单时间": "date", "商品编码": "sku", "店铺": "channel", "数量": "units",
                  "单价": "price"},
        "products": {"商品编码": "sku", "商品名称": "name", "供应商": "supplier",
                     "成本价": "unit_cost", "箱规": "case_pack", "起订量": "moq",
                     "分类": "category"},
        "suppliers": {"供应商编码": "supplier", "供应商名称": "name",
                      "采购周期(天)": "lead_time_days", "邮箱": "email"},
        "inventory": {"商品编码": "sku", "实际库存数": "on_hand", "仓库": "warehouse"},
        "open_orders": {"商品编码": "sku", "供应商": "supplier", "未到货数量": "qty",
                        "预计到货日期": "eta", "采购单号": "po_id"},
    },
    "wangdiantong": {
        "sales": {"发货日期": "date", "商家编码": "sku", "店铺名称": "channel", "货品数量": "units",
                  "成交价": "price"},
        "products": {"商家编码": "sku", "货品名称": "name", "供应商": "supplier",
                     "成本价": "unit_cost", "箱规": "case_pack", "最小起订量": "moq",
                     "分类": "category"},
        "suppliers": {"供应商编号": "supplier", "供应商名称": "name",
                      "到货周期": "lead_time_days", "邮箱": "email"},
        "inventory": {"商家编码": "sku", "库存量": "on_hand", "仓库名称": "warehouse"},
        "open_orders": {"商家编码": "sku", "供应商": "supplier", "待入库数量": "qty",
                        "预计到货时间": "eta", "采购单号": "po_id"},
    },
}


def column_mapping(table: str, source: DataSource) -> dict[str, str]:
    """The user's column -> contract column of ``table``: the preset's, then the config's."""
    mapping = dict(PRESETS[source.preset].get(table, {})) if source.preset else {}
    table_format = source.tables.get(table)
    if table_format is not None:
        mapping.update(table_format.columns)
    return mapping


def _check_config(source: DataSource, known: Iterable[str]) -> None:
    names = set(known)
    unknown = sorted(set(source.tables) - names)
    if unknown:
        raise ConfigError(f"data.tables: unknown table(s) {', '.join(unknown)}; the contract's "
                          f"tables are {', '.join(sorted(names))}")


def _rename(frame_source: tuple[pd.DataFrame, str], mapping: Mapping[str, str], table: str
            ) -> tuple[tuple[pd.DataFrame, str], list[Problem]]:
    frame, name = frame_source
    columns = [str(c).strip().lstrip("\ufeff") for c in frame.columns]
    present = {user: contract for user, contract in mapping.items()
               if user in columns and user != contract}
    problems = []
    for contract in sorted(set(present.values())):
        givers = sorted(u for u, c in present.items() if c == contract)
        if contract in columns:
            givers.append(contract)
        if len(givers) > 1:
            problems.append(Problem(
                source=name, row=1, column=givers[0], value=", ".join(givers),
                expected=f"one column read as '{contract}' in table {table} (columns "
                         f"{' and '.join(repr(g) for g in givers)} both are); drop one or "
                         f"change data.tables.{table}.columns",
            ))
    renamed = frame.copy()
    renamed.columns = [present.get(c, c) for c in columns]
    renamed.attrs = {**frame.attrs, USER_COLUMNS: {c: u for u, c in present.items()}}
    return (renamed, name), problems


def apply_mappings(raw: RawTables, source: DataSource) -> RawTables:
    """``raw`` with each table's columns renamed to the contract's (config and preset)."""
    _check_config(source, TABLE_NAMES)
    out: RawTables = {}
    problems: list[Problem] = []
    for table, frame_source in raw.items():
        mapping = column_mapping(table, source)
        if not mapping:
            out[table] = frame_source
            continue
        out[table], found = _rename(frame_source, mapping, table)
        problems += found
    if problems:
        raise DataContractError(problems)
    return out


def user_problems(error: DataContractError, raw: RawTables) -> DataContractError:
    """``error`` with every contract column named as the user's file names it."""
    by_source = {name: frame.attrs.get(USER_COLUMNS, {}) for frame, name in raw.values()}
    problems = []
    for problem in error.problems:
        renamed = by_source.get(problem.source, {})
        user = renamed.get(problem.column or "")
        if user is None:
            problems.append(problem)
            continue
        expected = problem.expected.replace(f"'{problem.column}'", f"'{user}'")
        problems.append(problem.model_copy(update={
            "column": user, "expected": f"{expected} (column '{user}' is read as "
                                        f"'{problem.column}')",
        }))
    return DataContractError(problems)


def parse_user_tables(raw: RawTables, timezone: str, require: Iterable[str]) -> Dataset:
    """:func:`~replenishment.contract.parse_dataset`, with problems in the user's words."""
    try:
        return parse_dataset(raw, timezone, tuple(require))
    except DataContractError as err:
        raise user_problems(err, raw) from err
