"""Safe outputs: Excel-friendly CSV, formula injection, file names, atomic files and folders."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd
import pytest

from flows.errors import UserError
from flows.storage.exports import safe_filename, staged_output, write_csv, write_frame


def _read_cells(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_bytes().decode("utf-8-sig"), newline="")))


def test_csv_has_byte_order_mark_and_chinese_names(tmp_path: Path) -> None:
    path = write_csv(pd.DataFrame({"sku": ["SKU-1"], "name": ["玫瑰精华液"]}), tmp_path / "o.csv")
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    assert "玫瑰精华液" in data.decode("utf-8-sig")
    plain = write_csv(pd.DataFrame({"a": [1]}), tmp_path / "p.csv", excel=False)
    assert not plain.read_bytes().startswith(b"\xef\xbb\xbf")


def test_formula_cells_are_neutralised_and_numbers_kept(tmp_path: Path) -> None:
    frame = pd.DataFrame({
        "name": ["=HYPERLINK(\"http://x\")", "+1", "-2+3", "@SUM(A1)", "\tcmd", "\rx", "ok -1"],
        "qty": [-5, 1, 2, 3, 4, 5, 6],
        "value": [-1.5, 0.0, 1.0, 2.0, 3.0, 4.0, 5.0],
    })
    frame["name2"] = pd.Series([None, "=1", "x", None, "y", "z", "w"], dtype="string")
    cells = _read_cells(write_csv(frame, tmp_path / "o.csv"))
    names = [row[0] for row in cells[1:]]
    assert names == ["'=HYPERLINK(\"http://x\")", "'+1", "'-2+3", "'@SUM(A1)", "'\tcmd", "'\rx",
                     "ok -1"]
    assert cells[1][1] == "-5"  # a negative number stays a number
    assert cells[1][2] == "-1.5"
    assert [row[3] for row in cells[1:3]] == ["", "'=1"]
    assert str(frame.loc[0, "name"]).startswith("=")  # the caller's frame is not modified


def test_formula_in_a_header_from_input_is_neutralised(tmp_path: Path) -> None:
    cells = _read_cells(write_csv(pd.DataFrame({"=cmd()": ["a"]}), tmp_path / "o.csv"))
    assert cells[0] == ["'=cmd()"]


@pytest.mark.parametrize("name", ["../../etc/x", "a/b", "..\\..\\x", "CON", "nul.txt", "..", "",
                                  ".hidden", "a\x00b", "x" * 400])
def test_safe_filename_never_escapes_the_folder(tmp_path: Path, name: str) -> None:
    stem = safe_filename(name)
    assert stem and "/" not in stem and "\\" not in stem and not stem.startswith(".")
    assert stem.split(".")[0].upper() not in {"CON", "NUL", "PRN", "AUX"}
    assert len(stem.encode()) < 200
    path = (tmp_path / f"{stem}.csv").resolve()
    assert path.parent == tmp_path.resolve()
    write_csv(pd.DataFrame({"a": [1]}), path)
    assert path.exists()


def test_safe_filename_keeps_chinese_and_avoids_collisions() -> None:
    assert safe_filename("上海供应商") == "上海供应商"
    assert safe_filename("SUP-A") == "SUP-A"
    changed = safe_filename("a/b")
    assert changed.startswith("a_b-") and changed != safe_filename("a_b")
    assert safe_filename("a/b") != safe_filename("a\\b")
    assert safe_filename("a/b") == changed  # deterministic across runs


def test_failed_write_leaves_the_old_file(tmp_path: Path) -> None:
    path = write_csv(pd.DataFrame({"qty": [1, 2]}), tmp_path / "orders.csv")
    before = path.read_bytes()

    class Boom:
        def __str__(self) -> str:
            raise RuntimeError("disk full halfway")

    # Enough rows that pandas writes several chunks before reaching the failing cell.
    rows = pd.DataFrame({"qty": [3] * 300_000 + [Boom()]})
    with pytest.raises(RuntimeError, match="halfway"):
        write_csv(rows, path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["orders.csv"]  # no temp file left


def test_write_frame_picks_format_by_extension(tmp_path: Path) -> None:
    frame = pd.DataFrame({"sku": ["SKU-1"], "qty": [12]})
    pd.testing.assert_frame_equal(pd.read_parquet(write_frame(frame, tmp_path / "f.parquet")),
                                  frame)
    assert _read_cells(write_frame(frame, tmp_path / "f.csv")) == [["sku", "qty"], ["SKU-1", "12"]]
    with pytest.raises(ValueError, match=r"\.xlsx"):
        write_frame(frame, tmp_path / "f.xlsx")


def test_staged_output_swaps_in_on_success_only(tmp_path: Path) -> None:
    out = tmp_path / "outputs"
    with staged_output(out) as stage:
        (stage / "orders").mkdir()
        (stage / "orders" / "SUP-A.csv").write_text("v1", encoding="utf-8")
    assert (out / "orders" / "SUP-A.csv").read_text(encoding="utf-8") == "v1"

    with pytest.raises(RuntimeError), staged_output(out) as stage:
        (stage / "alerts.csv").write_text("half", encoding="utf-8")
        raise RuntimeError("the optimiser failed")
    assert sorted(p.name for p in out.iterdir()) == ["orders"]
    assert (out / "orders" / "SUP-A.csv").read_text(encoding="utf-8") == "v1"

    with staged_output(out) as stage:
        (stage / "alerts.csv").write_text("v2", encoding="utf-8")
    assert sorted(p.name for p in out.iterdir()) == ["alerts.csv"]
    assert [p.name for p in tmp_path.iterdir()] == ["outputs"]  # no staging or old folder left


def test_staged_output_refuses_the_working_folder(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    project = tmp_path / "project"
    project.mkdir()
    monkeypatch.chdir(project)
    for target in (Path("."), tmp_path):
        with pytest.raises(UserError, match="dedicated output folder"), staged_output(target):
            pass
    assert project.is_dir()
