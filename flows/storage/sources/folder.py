"""Read a dataset folder: one ``NAME.csv``, ``NAME.parquet`` or ``NAME.xlsx``/``.xls`` per
table of the contract, or the file the config names for it (``data.tables.NAME.file``).

A CSV's encoding is detected (UTF-8 with or without BOM, else GB18030/GBK; see
:mod:`flows.storage.sources.encoding`) unless the config names it; workbooks are read by
:mod:`flows.storage.sources.excel`.

CSV cells are read as text (the contract does the typing, so a bad cell becomes a clear problem
rather than a silently coerced column). Only an empty cell is missing: ``None``, ``NULL``,
``NA`` or ``nan`` in a key column is a SKU or channel someone named so, not a gap. A header
naming a column twice is refused from the raw header line, before pandas renames the second
copy ``x.1`` (which would make it look like a different, ignored column). Files and subfolders
that are not tables of the contract (notes, a ``truth/`` folder of the sample brand) are
ignored.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from flows.config import TableFormat
from flows.errors import SourceError
from flows.storage.sources.encoding import detect_encoding, encoding_problem, normalise_encoding
from flows.storage.sources.excel import EXCEL_SUFFIXES, read_excel_table
from flows.storage.sources.header import refuse_repeated_columns
from forecasting.contract import DataContractError, Problem
from replenishment.contract import TABLE_NAMES

__all__ = ["RawTables", "read_folder", "read_table_file", "table_files"]

RawTables = dict[str, tuple[pd.DataFrame, str]]
_SUFFIXES = (".csv", ".parquet", *EXCEL_SUFFIXES)
_PANDAS_LINE = re.compile(r"line (\d+)")


def table_files(folder: Path, named: Mapping[str, str] | None = None) -> dict[str, list[Path]]:
    """The candidate files of each contract table in ``folder`` (names matched ignoring case);
    ``named`` gives a table's own file name (an ERP export's), which then is its only file."""
    found: dict[str, list[Path]] = {}
    for path in sorted(folder.iterdir()):
        stem, suffix = path.stem.lower(), path.suffix.lower()
        if path.is_file() and suffix in _SUFFIXES and stem in TABLE_NAMES:
            found.setdefault(stem, []).append(path)
    for table, name in (named or {}).items():
        found[table] = [folder / name]
    return found


def read_folder(path: str | Path, formats: Mapping[str, TableFormat] | None = None) -> RawTables:
    """Map each table found in ``path`` to ``(raw frame, file name)``; ``formats`` (the
    config's ``data.tables``) gives a table's file name, CSV encoding or Excel sheet.

    Raises :class:`SourceError` when the folder does not exist and
    :class:`DataContractError` naming every file that cannot be read.
    """
    folder = Path(path)
    if not folder.is_dir():
        what = "is not a folder" if folder.exists() else "does not exist"
        raise SourceError(
            f"dataset folder {folder} {what}; pass a folder of NAME.csv / NAME.parquet tables "
            "with --data DIR (or create the sample brand with `replenish sample --out DIR`)"
        )
    tables: RawTables = {}
    problems: list[Problem] = []
    formats = formats or {}
    named = {table: f.file for table, f in formats.items() if f.file}
    for name, files in table_files(folder, named).items():
        if len(files) > 1:
            names = " and ".join(f.name for f in files)
            problems.append(Problem(
                source=files[0].name, value=names,
                expected=f"one file for table '{name}' (found {names}); keep only one",
            ))
            continue
        try:
            tables[name] = (_read_table(files[0], formats.get(name)), files[0].name)
        except DataContractError as err:
            problems += err.problems
    if problems:
        raise DataContractError(problems)
    return tables


def read_table_file(path: Path) -> pd.DataFrame:
    """One CSV (encoding detected), Excel or Parquet file as a frame of text cells; a file
    that cannot be read is a :class:`DataContractError` naming it."""
    return _read_table(path)


def _read_table(path: Path, table_format: TableFormat | None = None) -> pd.DataFrame:
    if not path.is_file():
        raise DataContractError([Problem(
            source=path.name, expected=f"the file named in data.tables, in {path.parent}")])
    if path.suffix.lower() == ".parquet":
        return _read_parquet(path)
    if path.suffix.lower() in EXCEL_SUFFIXES:
        return read_excel_table(path, table_format.sheet if table_format else None)
    given = table_format.encoding if table_format else None
    return _read_csv(path, normalise_encoding(given) if given else detect_encoding(path))


def _read_parquet(path: Path) -> pd.DataFrame:
    try:
        return pd.read_parquet(path)
    except Exception as err:  # pyarrow raises many unrelated types for a damaged file
        first_line = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise DataContractError([Problem(
            source=path.name, value=first_line, expected="a readable Parquet file",
        )]) from err


def _read_csv(path: Path, encoding: str = "utf-8-sig") -> pd.DataFrame:
    try:
        _check_header(path, encoding)
        frame = pd.read_csv(
            path, dtype=str, keep_default_na=False, na_values=[], encoding=encoding,
            # Blank lines are kept so row numbers match what a spreadsheet shows.
            skip_blank_lines=False,
        )
    except UnicodeDecodeError as err:
        raise DataContractError([encoding_problem(path, path.read_bytes(), encoding)]) from err
    except pd.errors.EmptyDataError as err:
        raise DataContractError([Problem(
            source=path.name, row=1, expected="a header row naming the columns (the file is empty)",
        )]) from err
    except (pd.errors.ParserError, csv.Error) as err:
        message = str(err).strip().splitlines()[0]
        line = _PANDAS_LINE.search(message)
        raise DataContractError([Problem(
            source=path.name, row=int(line.group(1)) if line else None, value=message,
            expected="comma-separated values with as many fields as the header",
        )]) from err
    return _drop_trailing_blank_rows(frame)


def _check_header(path: Path, encoding: str = "utf-8-sig") -> None:
    """Refuse a header that names a column twice; the message names the file and column."""
    with path.open(encoding=encoding, newline="") as handle:
        header = next(csv.reader(handle), [])
    refuse_repeated_columns([name.strip() for name in header], path.name)


def _drop_trailing_blank_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """Blank lines at the end of an export are noise; blank lines inside it are reported."""
    if frame.empty:
        return frame
    blank = (frame.fillna("") == "").all(axis=1).to_numpy()
    end = len(frame)
    while end > 0 and blank[end - 1]:
        end -= 1
    return frame.iloc[:end]

