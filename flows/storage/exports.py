"""Safe file outputs: atomic writes, Excel-friendly CSV, formula-injection-proof cells, safe names.

Files a planner opens or sends to a supplier are written so that

* a crash never leaves a half-written file (a temp file in the same folder, then ``os.replace``);
* Excel shows Chinese product names correctly (UTF-8 with a byte order mark);
* a cell copied from an input field cannot run as a spreadsheet formula (OWASP "CSV injection");
* a name taken from the data (a supplier, a SKU) cannot escape the output folder.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Literal

import pandas as pd

from flows.errors import UserError

__all__ = [
    "FORMULA_PREFIXES",
    "atomic_write",
    "neutralise_formulas",
    "safe_filename",
    "staged_output",
    "write_csv",
    "write_frame",
]

# Cells starting with these are evaluated as formulas (or DDE) by Excel, LibreOffice and Sheets.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_FILE_MODE = 0o644
_MAX_NAME_BYTES = 120  # leaves room for a hash suffix and an extension under the usual 255
_UNSAFE_CHARS = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*]+')
_WINDOWS_RESERVED = re.compile(r"^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])(\..*)?$", re.I)


@contextmanager
def atomic_write(
    path: str | os.PathLike[str], mode: Literal["w", "wb"] = "w", encoding: str = "utf-8"
) -> Iterator[IO]:
    """Open a temp file next to ``path``; on success it replaces ``path`` in one step.

    On any exception the temp file is removed and ``path`` keeps its previous content.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    tmp = Path(tmp_name)
    try:
        handle: IO
        if mode == "w":
            handle = os.fdopen(fd, "w", encoding=encoding, newline="")
        else:
            handle = os.fdopen(fd, "wb")
        with handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        mode_bits = target.stat().st_mode & 0o777 if target.exists() else _FILE_MODE
        os.chmod(tmp, mode_bits)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` where every text cell (and header) that a spreadsheet would run as a
    formula starts with ``'``. Numbers stay numbers, so ``-5`` as a number is untouched."""
    out = frame.copy()
    for name in out.columns:
        column = out[name]
        if not (pd.api.types.is_object_dtype(column) or pd.api.types.is_string_dtype(column)
                or isinstance(column.dtype, pd.CategoricalDtype)):
            continue
        if isinstance(column.dtype, pd.CategoricalDtype):
            column = column.astype(object)
        first = column.str[:1]  # NaN for non-text cells
        risky = first.isin(FORMULA_PREFIXES).fillna(False).astype(bool)
        if risky.any():
            column = column.astype(object)
            column[risky] = "'" + column[risky].astype(str)
        out[name] = column
    out.columns = [_neutralise_text(str(c)) for c in out.columns]
    return out


def _neutralise_text(text: str) -> str:
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def write_csv(frame: pd.DataFrame, path: str | os.PathLike[str], *, excel: bool = True) -> Path:
    """Write ``frame`` (without its index) to ``path`` atomically, formula cells neutralised.

    ``excel=True`` writes UTF-8 with a byte order mark, which Excel needs to show Chinese text.
    """
    target = Path(path)
    safe = neutralise_formulas(frame)
    with atomic_write(target, "w", encoding="utf-8-sig" if excel else "utf-8") as handle:
        safe.to_csv(handle, index=False, lineterminator="\r\n" if excel else "\n")
    return target


def write_frame(frame: pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Write ``frame`` atomically as CSV (Excel-friendly) or Parquet, chosen by the extension."""
    target = Path(path)
    suffix = target.suffix.lower()
    if suffix == ".csv":
        return write_csv(frame, target)
    if suffix == ".parquet":
        with atomic_write(target, "wb") as handle:
            frame.to_parquet(handle, index=False)
        return target
    raise ValueError(f"{target}: cannot choose a format for '{suffix}'; use .csv or .parquet")


def safe_filename(name: str) -> str:
    """A file-name stem made from ``name`` (a supplier, a SKU) that stays inside its folder.

    Path separators, control and reserved characters, leading dots and Windows device names
    (``CON``, ``NUL``, ...) are replaced; Chinese and other letters are kept. When anything had
    to change, a short hash of the original is appended so two names never map to one file.
    """
    original = str(name)
    text = unicodedata.normalize("NFC", original)
    text = _UNSAFE_CHARS.sub("_", text).strip(" .")
    if _WINDOWS_RESERVED.match(text):
        text = f"_{text}"
    encoded = text.encode("utf-8")
    if len(encoded) > _MAX_NAME_BYTES:
        text = encoded[:_MAX_NAME_BYTES].decode("utf-8", errors="ignore")
    if text == original and text:
        return text
    digest = hashlib.sha256(original.encode("utf-8")).hexdigest()[:8]
    return f"{text or 'unnamed'}-{digest}"


def _refuse_unsafe_target(target: Path) -> None:
    """Swapping a folder replaces all of it: refuse folders that hold far more than outputs."""
    cwd = Path.cwd().resolve()
    if target == Path(target.anchor) or target == Path.home().resolve() or target in (
        cwd, *cwd.parents
    ):
        raise UserError(
            f"{target}: refusing to replace this folder with a run's outputs; "
            "choose a dedicated output folder (e.g. outputs/plan)"
        )


@contextmanager
def staged_output(directory: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield an empty staging folder; on success it becomes ``directory`` in (almost) one step.

    A run writes every output into the staging folder. If the run fails, the staging folder is
    deleted and ``directory`` keeps the previous run's outputs untouched. The swap is two
    renames in the same parent folder, so readers see either the old or the new outputs.
    """
    target = Path(directory).resolve()
    _refuse_unsafe_target(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.staging-", dir=target.parent))
    try:
        yield staging
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    os.chmod(staging, 0o755)
    if not target.exists():
        os.replace(staging, target)
        return
    retired = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
    os.replace(target, retired / target.name)
    try:
        os.replace(staging, target)
    except BaseException:
        os.replace(retired / target.name, target)
        shutil.rmtree(staging, ignore_errors=True)
        shutil.rmtree(retired, ignore_errors=True)
        raise
    shutil.rmtree(retired, ignore_errors=True)
