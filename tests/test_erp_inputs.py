"""ERP exports as they come: GBK/GB18030 CSV, Excel workbooks, Chinese column names mapped by
a preset or the config, and problems named in the user's own words."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd
import pytest
import yaml
from tiny_dataset import TINY_TABLES, write_tiny_dataset

from flows.commands import main
from flows.config import ConfigError, Settings
from flows.sample import generate_brand, write_brand
from flows.storage.sources import load_dataset, read_folder
from flows.storage.sources.encoding import detect_encoding
from flows.storage.sources.excel import read_excel_table
from flows.storage.sources.mapping import PRESETS
from forecasting.contract import DataContractError
from replenishment.contract import Dataset


def _frames(dataset: Dataset) -> dict[str, pd.DataFrame]:
    return {f.name: getattr(part, f.name) for part in (dataset.demand, dataset.supply)
            for f in dataclasses.fields(part)}


def _numbers_as_numbers(column: pd.Series) -> pd.Series:
    """Numeric columns as Excel numbers (SKU codes stay text, as an ERP writes them)."""
    if column.name in ("商品编码", "商家编码"):
        return column
    numbers = pd.to_numeric(column.replace("", None), errors="coerce")
    return numbers if numbers.notna().sum() == (column != "").sum() else column


def _as_erp_export(source: Path, target: Path, preset: str) -> None:
    """The sample brand as an ERP exports it: sales and suppliers as GBK CSV, products and
    inventory as .xlsx with typed cells, all with the preset's Chinese headers."""
    target.mkdir()
    headers = {t: {c: u for u, c in m.items()} for t, m in PRESETS[preset].items()}
    for path in source.glob("*.csv"):
        name = path.stem
        frame = pd.read_csv(path, dtype=str, keep_default_na=False).rename(
            columns=headers.get(name, {}))
        if name in ("sales", "suppliers"):
            frame.to_csv(target / path.name, index=False, encoding="gbk")
        elif name in ("products", "inventory"):
            typed = frame.apply(_numbers_as_numbers)
            typed.to_excel(target / f"{name}.xlsx", index=False, engine="xlsxwriter")
        else:
            path_copy = target / path.name
            path_copy.write_bytes(path.read_bytes())


@pytest.fixture(scope="module")
def brand_folders(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("erp")
    write_brand(generate_brand(skus=10, days=200), root / "utf8")
    _as_erp_export(root / "utf8", root / "erp", "jushuitan")
    return root / "utf8", root / "erp"


def test_erp_export_validates_to_the_same_dataset(brand_folders: tuple[Path, Path]) -> None:
    utf8, erp = brand_folders
    assert detect_encoding(erp / "sales.csv") == "gb18030"
    original, _ = load_dataset(Settings(data={"folder": utf8}))
    exported, summary = load_dataset(Settings(data={"folder": erp, "preset": "jushuitan"}))
    assert "Dataset OK" in summary
    for name, frame in _frames(original).items():
        pd.testing.assert_frame_equal(frame, _frames(exported)[name], check_like=True)


def test_erp_export_plans_to_the_same_orders(brand_folders: tuple[Path, Path],
                                             tmp_path: Path) -> None:
    outputs = {}
    for folder, extra in ((brand_folders[0], {}), (brand_folders[1], {"preset": "jushuitan"})):
        config = tmp_path / f"{folder.name}.yaml"
        config.write_text(yaml.safe_dump({
            "data": {"folder": str(folder), **extra}, "output_dir": str(tmp_path / folder.name),
            "store_url": f"sqlite:///{tmp_path / folder.name}.db", "notify": {"enabled": False},
            # Small and fast: the inputs are under test here, not the models.
            "forecast": {"horizon": 56, "backtest_windows": 1, "n_paths": 100,
                         "ets_max_series": 0, "global_setups": ["tweedie"],
                         "lightgbm_params": {"n_estimators": 60}},
        }), encoding="utf-8")
        assert main(["plan", "--config", str(config), "--no-report", "--no-notify"]) == 0
        outputs[folder.name] = pd.read_csv(tmp_path / folder.name / "orders.csv", dtype=str)
    assert len(outputs["utf8"]) > 0
    pd.testing.assert_frame_equal(outputs["utf8"], outputs["erp"])


def test_mapping_in_the_config_renames_columns(tmp_path: Path) -> None:
    write_tiny_dataset(tmp_path)
    sales = TINY_TABLES["sales"].replace("date,sku,channel,units", "销售日期,商品编码,店铺,数量")
    (tmp_path / "sales.csv").write_bytes(sales.encode("gbk"))
    settings = Settings(data={"folder": tmp_path, "tables": {"sales": {"columns": {
        "销售日期": "date", "商品编码": "sku", "店铺": "channel", "数量": "units"}}}})
    dataset, _ = load_dataset(settings)
    assert dataset.demand.sales["units"].sum() == 15


def test_problems_name_the_users_column_and_file(tmp_path: Path) -> None:
    write_tiny_dataset(tmp_path)
    (tmp_path / "sales.csv").unlink()
    (tmp_path / "订单明细.csv").write_bytes(
        "下单时间,商品编码,店铺,数量\n2025-01-01 10:02:11,SKU-1,天猫旗舰店,-3\n".encode("gbk"))
    settings = Settings(data={"folder": tmp_path, "preset": "jushuitan",
                              "tables": {"sales": {"file": "订单明细.csv"}}})
    with pytest.raises(DataContractError) as err:
        load_dataset(settings)
    [problem] = [p for p in err.value.problems if p.source == "订单明细.csv"]
    assert (problem.row, problem.column, problem.value) == (2, "数量", "-3")
    assert "read as 'units'" in problem.expected


def test_missing_mapped_column_is_named_as_the_user_names_it(tmp_path: Path) -> None:
    write_tiny_dataset(tmp_path)
    (tmp_path / "sales.csv").write_text("下单时间,商品编码,店铺\n2025-01-01,SKU-1,jd\n",
                                        encoding="utf-8")
    settings = Settings(data={"folder": tmp_path, "tables": {"sales": {"columns": {
        "下单时间": "date", "商品编码": "sku", "店铺": "channel", "数量": "units"}}}})
    with pytest.raises(DataContractError) as err:
        load_dataset(settings)
    [problem] = err.value.problems
    assert problem.source == "sales.csv"
    # The file has no 数量 column, so nothing is read as 'units': the contract's own name shows.
    assert problem.column == "units"


def test_two_columns_read_as_one_are_refused(tmp_path: Path) -> None:
    write_tiny_dataset(tmp_path)
    (tmp_path / "inventory.csv").write_text("sku,商品编码,on_hand\nSKU-1,SKU-1,5\n",
                                            encoding="utf-8")
    with pytest.raises(DataContractError) as err:
        load_dataset(Settings(data={"folder": tmp_path, "preset": "jushuitan"}))
    [problem] = err.value.problems
    assert problem.source == "inventory.csv" and "商品编码" in problem.value


def test_unknown_table_in_the_config_is_a_config_error(tmp_path: Path) -> None:
    write_tiny_dataset(tmp_path)
    with pytest.raises(ConfigError, match="salez"):
        load_dataset(Settings(data={"folder": tmp_path, "tables": {"salez": {"encoding": "gbk"}}}))


def test_encoding_given_in_the_config_is_used(tmp_path: Path) -> None:
    write_tiny_dataset(tmp_path)
    traditional = (TINY_TABLES["products"].replace("玫瑰精华液", "玫瑰精華液")
                   .replace("口红", "口紅"))
    (tmp_path / "products.csv").write_bytes(traditional.encode("big5"))
    raw = read_folder(tmp_path, Settings(data={"tables": {"products": {"encoding": "big5"}}})
                      .data.tables)
    assert raw["products"][0]["name"].tolist() == ["玫瑰精華液", "口紅 #01"]


def test_neither_utf8_nor_gb18030_names_file_and_line(tmp_path: Path) -> None:
    write_tiny_dataset(tmp_path)
    (tmp_path / "products.csv").write_bytes(
        b"sku,supplier,unit_cost,case_pack,moq\nSKU-1,SUP-A,40,12,24\nSKU-2,\x80\xff,20,6,0\n")
    with pytest.raises(DataContractError) as err:
        read_folder(tmp_path)
    [problem] = err.value.problems
    assert (problem.source, problem.row) == ("products.csv", 3)
    assert "GB18030" in problem.expected


def test_excel_cells_read_as_the_text_a_csv_holds(tmp_path: Path) -> None:
    import datetime as dt

    import xlsxwriter

    path = tmp_path / "sales.xlsx"
    book = xlsxwriter.Workbook(path)
    sheet = book.add_worksheet("导出")
    day = book.add_format({"num_format": "yyyy-mm-dd"})
    stamp = book.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
    sheet.write_row(0, 0, ["date", "sku", "channel", "units", "price"])
    sheet.write_datetime(1, 0, dt.datetime(2025, 1, 1), day)
    sheet.write_string(1, 1, "00123")
    sheet.write_row(1, 2, ["tmall", 12, 89.9])
    sheet.write_datetime(2, 0, dt.datetime(2025, 1, 2, 14, 5), stamp)
    sheet.write_row(2, 1, ["00124", "jd", 1, "1,299.5"])
    book.close()
    frame = read_excel_table(path)
    assert frame.to_dict("records") == [
        {"date": "2025-01-01", "sku": "00123", "channel": "tmall", "units": "12",
         "price": "89.9"},
        {"date": "2025-01-02T14:05:00", "sku": "00124", "channel": "jd", "units": "1",
         "price": "1,299.5"},
    ]
    dataset, _ = load_dataset(Settings(data={"folder": tmp_path}), require=("sales",))
    assert dataset.demand.sales["price"].tolist() == pytest.approx([89.9, 1299.5])
    assert dataset.demand.sales["sku"].tolist() == ["00123", "00124"]


def test_named_sheet_must_exist(tmp_path: Path) -> None:
    pd.DataFrame({"sku": ["SKU-1"], "on_hand": [3]}).to_excel(
        tmp_path / "inventory.xlsx", sheet_name="库存", index=False, engine="xlsxwriter")
    tables = Settings(data={"tables": {"inventory": {"sheet": "Sheet1"}}}).data.tables
    with pytest.raises(DataContractError, match="库存"):
        read_folder(tmp_path, tables)
    tables = Settings(data={"tables": {"inventory": {"sheet": "库存"}}}).data.tables
    assert read_folder(tmp_path, tables)["inventory"][0]["on_hand"].tolist() == ["3"]


def test_dataset_summary_speaks_the_configured_language(tmp_path: Path) -> None:
    write_tiny_dataset(tmp_path)
    _, summary = load_dataset(Settings(locale="zh_CN", data={"folder": tmp_path}))
    assert summary.startswith("数据校验通过：folder")
    assert "2 个 SKU 在 3 个渠道销售（douyin, jd, tmall），销售日期 2025-01-01 至 2025-01-02" \
        in summary
    _, english = load_dataset(Settings(data={"folder": tmp_path}))
    assert "2 SKUs sold on 3 channels (douyin, jd, tmall)" in english
