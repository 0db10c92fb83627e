"""Which text encoding a CSV export is in: UTF-8 (with or without a byte-order mark) or
GB18030, the superset of GBK and GB2312 that Excel's plain "CSV" and most Chinese ERPs
(聚水潭, 旺店通, 吉客云, Kingdee) write on a Chinese Windows.

Decisions:

* The whole file is tried as strict UTF-8 first. Text in GBK almost never decodes as UTF-8
  (a GBK Chinese character is two bytes, lead 0x81-0xFE, trail 0x40-0xFE; UTF-8 needs a
  lead 0xE0-0xEF followed by two 0x80-0xBF bytes), so a file that decodes is UTF-8.
* Otherwise it is tried as strict GB18030. Pure ASCII decodes either way and means the same.
* Nothing else is guessed: a file that is neither (Big5, UTF-16, Latin-1) gets a problem naming
  the first bad line and bytes, and the config can name its encoding
  (``data.tables.NAME.encoding``), which is then used as given.
"""

from __future__ import annotations

import codecs
from pathlib import Path

from forecasting.contract import DataContractError, Problem

__all__ = ["DETECTED", "detect_encoding", "encoding_problem", "normalise_encoding"]

DETECTED = ("utf-8-sig", "gb18030")
_BOM = codecs.BOM_UTF8


def normalise_encoding(name: str) -> str:
    """Python's name for ``name``; UTF-8 always reads a byte-order mark (``utf-8-sig``) and
    GBK/GB2312 read as GB18030 (their superset: a GBK file is a GB18030 file)."""
    try:
        canonical = codecs.lookup(name.strip()).name
    except LookupError as err:
        raise DataContractError([Problem(
            source="config", column="encoding", value=name,
            expected="a text encoding Python knows (utf-8, gb18030, gbk, big5, utf-16)",
        )]) from err
    if canonical in ("utf-8", "utf-8-sig"):
        return "utf-8-sig"
    if canonical in ("gbk", "gb2312", "gb18030"):
        return "gb18030"
    return canonical


def detect_encoding(path: Path) -> str:
    """``utf-8-sig`` or ``gb18030``; :class:`DataContractError` when the file is neither."""
    data = path.read_bytes()
    if data.startswith(_BOM):
        return "utf-8-sig"
    for encoding in DETECTED:
        try:
            data.decode(encoding)
        except UnicodeDecodeError:
            continue
        return encoding
    raise DataContractError([encoding_problem(path, data, "utf-8-sig")])


def encoding_problem(path: Path, data: bytes, encoding: str) -> Problem:
    """Where ``data`` stops being ``encoding``: file, line and the offending bytes."""
    try:
        data.decode(encoding)
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        return Problem(
            source=path.name, row=line, value=f"bytes {data[err.start:err.start + 4].hex(' ')}",
            expected=f"text in {'UTF-8 or GB18030/GBK' if encoding in DETECTED else encoding} "
                     "(set data.tables.<table>.encoding in the config when the file is in "
                     "another encoding, or save it from Excel as 'CSV UTF-8')",
        )
    return Problem(source=path.name, expected=f"text in {encoding}")
