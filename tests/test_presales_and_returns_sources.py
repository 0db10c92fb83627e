"""The presales and returns tables load like the others: GBK CSV, Excel, column mapping, and
problems that name the file, row, column and what was expected."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from tiny_dataset import write_tiny_dataset

from flows.config import Settings
from flows.storage.sources import load_dataset
from forecasting.contract import DataContractError

PRESALES = ("sku,channel,deposit_start,deposit_units,final_start,final_end\n"
            "SKU-1,天猫旗舰店,2025-01-01,120,2025-01-20,2025-01-21\n"
            "SKU-1,天猫旗舰店,2025-01-02,30,2025-01-20,2025-01-21\n")


def _returns_workbook(path: Path, share: float) -> None:
    pd.DataFrame({
        "退货日期": [pd.Timestamp("2025-01-02")], "商品编码": ["SKU-2"], "店铺": ["douyin"],
        "退货数量": [4], "可二次销售比例": [share], "sale_date": [pd.Timestamp("2024-12-28")],
    }).to_excel(path, index=False, engine="xlsxwriter")


def _settings(folder: Path) -> Settings:
    return Settings(data={"folder": folder, "tables": {"returns": {"columns": {
        "退货日期": "date", "商品编码": "sku", "店铺": "channel", "退货数量": "units",
        "可二次销售比例": "restockable_share"}}}})


def test_gbk_presales_and_excel_returns_with_mapped_columns_load(tmp_path: Path) -> None:
    write_tiny_dataset(tmp_path)
    (tmp_path / "presales.csv").write_bytes(PRESALES.encode("gbk"))
    _returns_workbook(tmp_path / "returns.xlsx", 0.5)
    dataset, _ = load_dataset(_settings(tmp_path))
    presales, returns = dataset.demand.presales, dataset.demand.returns
    assert presales["channel"].tolist() == ["天猫旗舰店"] * 2
    assert presales["deposit_units"].sum() == 150
    assert presales["final_end"].iloc[0] == pd.Timestamp("2025-01-21")
    assert returns[["sku", "units", "restockable_share"]].iloc[0].tolist() == ["SKU-2", 4, 0.5]
    assert returns["sale_date"].iloc[0] == pd.Timestamp("2024-12-28")


def test_bad_cells_are_named_by_file_row_and_the_users_column(tmp_path: Path) -> None:
    write_tiny_dataset(tmp_path)
    bad = PRESALES.replace("SKU-1,天猫旗舰店,2025-01-02", "SKU-9,天猫旗舰店,2025-01-02")
    (tmp_path / "presales.csv").write_bytes(bad.encode("gbk"))
    _returns_workbook(tmp_path / "returns.xlsx", 1.5)
    with pytest.raises(DataContractError) as caught:
        load_dataset(_settings(tmp_path))
    problems = {p.source: p for p in caught.value.problems}
    share = problems["returns.xlsx"]
    assert (share.row, share.column, share.value) == (2, "可二次销售比例", "1.5")
    assert "from 0 to 1" in share.expected
    # The unknown SKU is found once the cells parse: fix the share and load again.
    _returns_workbook(tmp_path / "returns.xlsx", 1.0)
    with pytest.raises(DataContractError) as caught:
        load_dataset(_settings(tmp_path))
    [problem] = caught.value.problems
    assert (problem.source, problem.row, problem.column, problem.value) == (
        "presales.csv", 3, "sku", "SKU-9")
    assert problem.expected == "a sku listed in products"
