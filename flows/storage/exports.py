"""Safe file outputs: atomic writes, Excel-friendly CSV, formula-injection-proof cells, safe names.

Files a planner opens or sends to a supplier are written so that

* a crash never leaves a half-written file (a temp file in the same folder, then ``os.replace``);
* Excel shows Chinese product names correctly (UTF-8 with a byte order mark);
* a cell copied from an input field cannot run as a spreadsheet formula (OWASP "CSV injection");
* a name taken from the data (a supplier, a SKU) cannot escape the output folder;
* a run's output folder is replaced whole, under a lock, never by an older as-of date, and a
  crash mid-swap is repaired by the next run (:func:`staged_output`).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import fcntl
import hashlib
import json
import os
import re
import shutil
import socket
import tempfile
import time
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import IO, Literal

import pandas as pd

from flows.errors import OutputError

__all__ = [
    "FORMULA_PREFIXES",
    "LOCK_TIMEOUT_S",
    "OUTPUT_MARKER",
    "atomic_write",
    "neutralise_formulas",
    "output_lock",
    "read_output_as_of",
    "recover_output",
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
# A run writing the same folder waits this long for the one before it (a plan's export and
# report take seconds; a forecast is not under the lock).
LOCK_TIMEOUT_S = 600.0
OUTPUT_MARKER = ".replenish-output.json"
_LIBC = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


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
        raise OutputError(
            f"{target}: refusing to replace this folder with a run's outputs; "
            "choose a dedicated output folder (e.g. outputs/plan)"
        )


@contextmanager
def output_lock(target: Path, timeout_s: float = LOCK_TIMEOUT_S) -> Iterator[None]:
    """Hold the exclusive lock of the output folder ``target``: a ``.NAME.lock`` file beside it.

    A second run writing the same folder waits (polling every 0.2 s) up to ``timeout_s``, then
    gets :class:`OutputError`. The lock is an ``flock`` on the open file, so the kernel drops it
    when its process dies (a ``kill -9`` never leaves a stale lock); the file itself stays, as
    removing it would let a waiting process lock an unlinked file while a third locks a new one.
    """
    lock_path = target.parent / f".{target.name}.lock"
    try:
        handle = open(lock_path, "a+")  # noqa: SIM115 (closed by the `with` just below)
    except OSError as err:
        raise OutputError(f"cannot lock the output folder {target}: {_reason(err)}") from err
    with handle:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise OutputError(
                        f"the output folder {target} is locked by another run (for more than "
                        f"{timeout_s:g} s; lock file {lock_path}); try again when it has "
                        "finished"
                    ) from None
                time.sleep(0.2)
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}@{socket.gethostname()}\n")
        handle.flush()
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def read_output_as_of(target: Path) -> date | None:
    """The as-of date recorded in an output folder's marker file, or None."""
    try:
        document = json.loads((target / OUTPUT_MARKER).read_text(encoding="utf-8"))
        return date.fromisoformat(str(document["as_of"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _refuse_older(target: Path, as_of: date | None, force: bool) -> None:
    current = read_output_as_of(target)
    if as_of is None or force or current is None or as_of >= current:
        return
    raise OutputError(
        f"{target} holds outputs as of {current}, later than this run's {as_of}; refusing to "
        "replace them with older ones (write this run elsewhere with --out, or force it)"
    )


def recover_output(target: Path) -> None:
    """Finish or undo what a crashed run left beside ``target`` (call with the lock held).

    A crash between the two renames of a swap leaves ``.NAME.previous`` and no ``NAME``: the
    previous outputs are put back. Staging folders (``.NAME.staging-*``) and retired copies
    of a run that was killed are removed.
    """
    previous = target.parent / f".{target.name}.previous"
    if previous.exists() and not target.exists():
        os.replace(previous, target)
    leftovers = [previous, *target.parent.glob(f".{target.name}.staging-*"),
                 *target.parent.glob(f".{target.name}.old-*")]
    for path in leftovers:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)


def _exchange(first: Path, second: Path) -> bool:
    """Swap two folders in one atomic step (Linux ``renameat2(RENAME_EXCHANGE)``); False where
    the system or file system cannot (the caller then renames twice)."""
    rename = getattr(_LIBC, "renameat2", None)
    if rename is None:
        return False
    result = rename(_AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second),
                    _RENAME_EXCHANGE)
    if result == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EXDEV):
        return False
    raise OSError(code, os.strerror(code), str(second))


def _swap_in(staging: Path, target: Path) -> None:
    """Make ``staging`` the folder ``target``; readers see the old or the new outputs."""
    os.chmod(staging, 0o755)
    if not target.exists():
        os.replace(staging, target)
        return
    if _exchange(staging, target):
        shutil.rmtree(staging, ignore_errors=True)  # now holds the previous outputs
        return
    # Two renames: a crash between them leaves .NAME.previous, put back by recover_output.
    previous = target.parent / f".{target.name}.previous"
    os.replace(target, previous)
    try:
        os.replace(staging, target)
    except BaseException:
        os.replace(previous, target)
        raise
    shutil.rmtree(previous, ignore_errors=True)


def _reason(err: OSError) -> str:
    return err.strerror or str(err)


@contextmanager
def staged_output(
    directory: str | os.PathLike[str],
    *,
    as_of: date | str | None = None,
    force: bool = False,
    lock_timeout_s: float = LOCK_TIMEOUT_S,
) -> Iterator[Path]:
    """Yield an empty staging folder; on success it becomes ``directory`` in one step.

    A run writes every output into the staging folder. If the run fails, the staging folder is
    deleted and ``directory`` keeps the previous run's outputs untouched. The whole write and
    swap happens under the folder's exclusive lock (:func:`output_lock`), so two runs never
    interleave. The swap exchanges the two folders atomically where Linux allows
    (``renameat2``), else renames twice in the same parent; a crash in between is repaired by
    the next run (:func:`recover_output`), which also removes stale staging folders.

    With ``as_of``, the date is recorded in ``directory/.replenish-output.json`` and outputs
    of a later as-of date are not replaced by older ones unless ``force`` (of two concurrent
    plans, the last to finish no longer wins when it is the older one). Raises
    :class:`OutputError` when the folder cannot be locked, written or swapped.
    """
    target = Path(directory).resolve()
    _refuse_unsafe_target(target)
    day = None if as_of is None else date.fromisoformat(str(as_of)[:10])
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise OutputError(f"cannot create the output folder {target}: {_reason(err)}") from err
    with output_lock(target, lock_timeout_s):
        try:
            recover_output(target)
            _refuse_older(target, day, force)
            staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.staging-",
                                            dir=target.parent))
        except OSError as err:
            raise OutputError(f"cannot prepare the output folder {target}: {_reason(err)}"
                              ) from err
        try:
            yield staging
            if day is not None:
                (staging / OUTPUT_MARKER).write_text(
                    json.dumps({"as_of": day.isoformat()}) + "\n", encoding="utf-8")
            _refuse_older(target, day, force)
            _swap_in(staging, target)
        except OSError as err:
            shutil.rmtree(staging, ignore_errors=True)
            raise OutputError(f"cannot write the outputs to {target}: {_reason(err)}") from err
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
