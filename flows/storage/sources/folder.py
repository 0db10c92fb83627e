"""Read a dataset folder: one ``NAME.csv`` or ``NAME.parquet`` per table of the contract.

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
from pathlib import Path

import pandas as pd

from flows.errors import SourceError
from forecasting.contract import DataContractError, Problem
from replenishment.contract import TABLE_NAMES

__all__ = ["RawTables", "read_folder", "table_files"]

RawTables = dict[str, tuple[pd.DataFrame, str]]
_SUFFIXES = (".csv", ".parquet")
_PANDAS_LINE = re.compile(r"line (\d+)")


def table_files(folder: Path) -> dict[str, list[Path]]:
    """The candidate files of each contract table in ``folder`` (names matched ignoring case)."""
    found: dict[str, list[Path]] = {}
    for path in sorted(folder.iterdir()):
        stem, suffix = path.stem.lower(), path.suffix.lower()
        if path.is_file() and suffix in _SUFFIXES and stem in TABLE_NAMES:
            found.setdefault(stem, []).append(path)
    return found


def read_folder(path: str | Path) -> RawTables:
    """Map each table found in ``path`` to ``(raw frame, file name)``.

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
    for name, files in table_files(folder).items():
        if len(files) > 1:
            names = " and ".join(f.name for f in files)
            problems.append(Problem(
                source=files[0].name, value=names,
                expected=f"one file for table '{name}' (found {names}); keep only one",
            ))
            continue
        try:
            tables[name] = (_read_table(files[0]), files[0].name)
        except DataContractError as err:
            problems += err.problems
    if problems:
        raise DataContractError(problems)
    return tables


def _read_table(path: Path) -> pd.DataFrame:
    if path.suffix.lower() == ".parquet":
        return _read_parquet(path)
    return _read_csv(path)


def _read_parquet(path: Path) -> pd.DataFrame:
    try:
        return pd.read_parquet(path)
    except Exception as err:  # pyarrow raises many unrelated types for a damaged file
        first_line = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise DataContractError([Problem(
            source=path.name, value=first_line, expected="a readable Parquet file",
        )]) from err


def _read_csv(path: Path) -> pd.DataFrame:
    try:
        _check_header(path)
        frame = pd.read_csv(
            path, dtype=str, keep_default_na=False, na_values=[], encoding="utf-8-sig",
            # Blank lines are kept so row numbers match what a spreadsheet shows.
            skip_blank_lines=False,
        )
    except UnicodeDecodeError as err:
        raise DataContractError([_encoding_problem(path)]) from err
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


def _check_header(path: Path) -> None:
    """Refuse a header that names a column twice; the message names the file and column."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        header = next(csv.reader(handle), [])
    names = [name.strip() for name in header]
    repeated = sorted({name for name in names if name and names.count(name) > 1})
    if repeated:
        raise DataContractError([Problem(
            source=path.name, row=1, column=name, value=", ".join(header),
            expected=f"each column named once in the header ('{name}' appears "
                     f"{names.count(name)} times); remove or rename the copies",
        ) for name in repeated])


def _drop_trailing_blank_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """Blank lines at the end of an export are noise; blank lines inside it are reported."""
    if frame.empty:
        return frame
    blank = (frame.fillna("") == "").all(axis=1).to_numpy()
    end = len(frame)
    while end > 0 and blank[end - 1]:
        end -= 1
    return frame.iloc[:end]


def _encoding_problem(path: Path) -> Problem:
    data = path.read_bytes()
    try:
        data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        return Problem(
            source=path.name, row=line, value=f"bytes {data[err.start:err.start + 4].hex(' ')}",
            expected="UTF-8 text (in Excel: Save As 'CSV UTF-8'; exports in GBK must be "
                     "converted)",
        )
    return Problem(source=path.name, expected="UTF-8 text")
