"""Reading a dataset folder: encodings, Parquet, conflicts and unreadable files."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from tiny_dataset import TINY_TABLES, write_tiny_dataset

from flows.errors import SourceError
from flows.storage.sources import read_folder
from forecasting.contract import DataContractError
from replenishment.contract import PLANNING_TABLES, parse_dataset


def test_reads_every_table_as_text_with_its_file_name(tmp_path: Path) -> None:
    raw = read_folder(write_tiny_dataset(tmp_path))
    assert set(raw) == set(TINY_TABLES)
    sales, source = raw["sales"]
    assert source == "sales.csv"
    assert sales.shape == (4, 6)
    # Text cells keep leading zeros, "0" and empty strings exactly as in the file.
    assert all(isinstance(cell, str) for column in sales.columns for cell in sales[column])
    assert raw["products"][0]["name"].tolist() == ["玫瑰精华液", "口红 #01"]


def test_byte_order_mark_is_not_part_of_the_first_column(tmp_path: Path) -> None:
    write_tiny_dataset(tmp_path)
    (tmp_path / "sales.csv").write_text(TINY_TABLES["sales"], encoding="utf-8-sig")
    sales, _ = read_folder(tmp_path)["sales"]
    assert sales.columns[0] == "date"
    data = parse_dataset(read_folder(tmp_path), require=PLANNING_TABLES)
    assert data.demand.sales["units"].sum() == 15


def test_parquet_table_is_read(tmp_path: Path) -> None:
    write_tiny_dataset(tmp_path)
    (tmp_path / "inventory.csv").unlink()
    pd.DataFrame({"sku": ["SKU-1", "SKU-2"], "on_hand": [50.0, 0.0]}).to_parquet(
        tmp_path / "inventory.parquet")
    raw = read_folder(tmp_path)
    assert raw["inventory"][1] == "inventory.parquet"
    data = parse_dataset(raw, require=PLANNING_TABLES)
    assert data.supply.inventory["on_hand"].tolist() == [50.0, 0.0]


def test_csv_and_parquet_of_one_table_is_an_error(tmp_path: Path) -> None:
    write_tiny_dataset(tmp_path)
    pd.DataFrame({"sku": ["SKU-1"], "on_hand": [1]}).to_parquet(tmp_path / "inventory.parquet")
    with pytest.raises(DataContractError) as err:
        read_folder(tmp_path)
    message = str(err.value)
    assert "inventory.csv" in message and "inventory.parquet" in message
    assert "keep only one" in message


def test_gbk_file_is_read_as_chinese_text(tmp_path: Path) -> None:
    write_tiny_dataset(tmp_path)
    gbk = TINY_TABLES["products"].encode("gbk")  # what Excel's default "CSV" gives in China
    (tmp_path / "products.csv").write_bytes(gbk)
    assert read_folder(tmp_path)["products"][0]["name"].tolist() == ["玫瑰精华液", "口红 #01"]


def test_ragged_csv_names_file_and_line(tmp_path: Path) -> None:
    write_tiny_dataset(tmp_path)
    (tmp_path / "inventory.csv").write_text("sku,on_hand\nSKU-1,50\nSKU-2,0,extra,cells\n",
                                            encoding="utf-8")
    with pytest.raises(DataContractError) as err:
        read_folder(tmp_path)
    [problem] = err.value.problems
    assert (problem.source, problem.row) == ("inventory.csv", 3)


def test_empty_file_asks_for_a_header(tmp_path: Path) -> None:
    write_tiny_dataset(tmp_path)
    (tmp_path / "suppliers.csv").write_bytes(b"")
    with pytest.raises(DataContractError, match=r"suppliers.csv, row 1: expected a header"):
        read_folder(tmp_path)


def test_blank_lines_keep_spreadsheet_row_numbers(tmp_path: Path) -> None:
    write_tiny_dataset(tmp_path)
    text = "sku,on_hand\nSKU-1,50\n\nSKU-2,-3\n\n\n"
    (tmp_path / "inventory.csv").write_text(text, encoding="utf-8")
    inventory, _ = read_folder(tmp_path)["inventory"]
    assert len(inventory) == 3  # trailing blank lines dropped, the inner one kept
    with pytest.raises(DataContractError) as err:
        parse_dataset(read_folder(tmp_path), require=PLANNING_TABLES)
    rows = {(p.row, p.column) for p in err.value.problems}
    assert (4, "on_hand") in rows  # the negative stock is on spreadsheet row 4


def test_unknown_files_and_subfolders_are_ignored(tmp_path: Path) -> None:
    write_tiny_dataset(tmp_path)
    (tmp_path / "notes.csv").write_text("anything\n\xff", encoding="utf-8")
    (tmp_path / "README.txt").write_text("hello", encoding="utf-8")
    (tmp_path / "truth").mkdir()
    (tmp_path / "truth" / "sales.csv").write_text("not,the,table\n", encoding="utf-8")
    raw = read_folder(tmp_path)
    assert set(raw) == set(TINY_TABLES)
    assert raw["sales"][0].shape == (4, 6)


def test_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match=r"does not exist.*--data DIR"):
        read_folder(tmp_path / "nope")
    (tmp_path / "file.csv").write_text("x", encoding="utf-8")
    with pytest.raises(SourceError, match="is not a folder"):
        read_folder(tmp_path / "file.csv")


def test_repeated_header_name_is_refused_naming_file_row_and_column(tmp_path: Path) -> None:
    write_tiny_dataset(tmp_path)
    # A repeated column the contract does not know: pandas would rename the copy 'note.1'
    # and both would be silently ignored; which 'note' is meant is unknowable.
    (tmp_path / "sales.csv").write_text(
        "date,sku,channel,units,note,note\n2026-01-01,SKU-1,tmall,3,a,b\n", encoding="utf-8")
    with pytest.raises(DataContractError) as err:
        read_folder(tmp_path)
    [problem] = err.value.problems
    assert (problem.source, problem.row, problem.column) == ("sales.csv", 1, "note")
    assert "2 times" in problem.expected


def test_text_keys_none_null_na_are_text_and_only_an_empty_cell_is_missing(
    tmp_path: Path,
) -> None:
    write_tiny_dataset(tmp_path)
    (tmp_path / "sales.csv").write_text(
        "date,sku,channel,units\n2026-01-01,None,tmall,3\n2026-01-01,NULL,tmall,4\n"
        "2026-01-01,NA,tmall,\n2026-01-01,nan,tmall,1\n", encoding="utf-8")
    sales, _ = read_folder(tmp_path)["sales"]
    assert sales["sku"].tolist() == ["None", "NULL", "NA", "nan"]
    assert sales["units"].tolist() == ["3", "4", "", "1"]
