"""`replenish validate` end to end: a valid dataset passes; each kind of bad input is named."""

from __future__ import annotations

from pathlib import Path

import pytest
from tiny_dataset import TINY_TABLES, write_tiny_dataset

from flows.commands import main


def _snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run from an empty folder so anything the command writes would show up in it."""
    monkeypatch.chdir(tmp_path)
    for name in ("REPLENISH_DATA__FOLDER", "REPLENISH_DATA__SIGNALS_URL",
                 "REPLENISH_DATA__SQL_URL_ENV"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def test_valid_dataset_exits_0_with_a_summary(workdir: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    folder = write_tiny_dataset(workdir / "data")
    before = _snapshot(workdir)
    assert main(["validate", "--data", str(folder)]) == 0
    out, err = capsys.readouterr()
    assert "Dataset OK" in out and "sales 4" in out
    assert "2 SKUs sold on 3 channels" in out and "2025-01-01 to 2025-01-02" in out
    assert err == ""
    assert _snapshot(workdir) == before


def _edit(table: str, old: str, new: str) -> dict[str, str]:
    assert old in TINY_TABLES[table], f"{old!r} not in {table}"
    return {**TINY_TABLES, table: TINY_TABLES[table].replace(old, new, 1)}


BROKEN = {
    "negative units": (_edit("sales", "2025-01-02,SKU-1,jd,2,", "2025-01-02,SKU-1,jd,-2,"),
                       "sales.csv, row 4, column 'units'", "'-2'"),
    "unknown SKU in sales": (_edit("sales", "SKU-2,douyin", "SKU-9,douyin"),
                             "sales.csv, row 3, column 'sku'", "a sku listed in products"),
    "end before start": (_edit("promotions", "2025-02-01,2025-02-03", "2025-02-01,2025-01-30"),
                         "promotions.csv, row 2, column 'end'", "on or after 'start'"),
    "case_pack < 1": (_edit("products", "SKU-1,SUP-A,40,12,", "SKU-1,SUP-A,40,0,"),
                      "products.csv, row 2, column 'case_pack'", ">= 1"),
    "missing required column": (_edit("sales", "channel,units,", "channel,qty,"),
                                "sales.csv, row 1, column 'units'", "a column named 'units'"),
    "unparseable date": (_edit("sales", "2025-01-02,SKU-2", "2025-02-30,SKU-2"),
                         "sales.csv, row 5, column 'date'", "ISO date"),
    "duplicate product rows": (
        {**TINY_TABLES, "products": TINY_TABLES["products"] + "SKU-1,SUP-A,41,12,24,重复,x\n"},
        "products.csv, row 4, column 'sku'", "repeats an earlier row"),
    "supplier without lead time": (_edit("suppliers", "SUP-B,7,", "SUP-B,,"),
                                   "suppliers.csv, row 3, column 'lead_time_days'", "required"),
    "supplier missing from suppliers": (
        _edit("suppliers", "SUP-B,7,1,Guangzhou Co\n", ""),
        "products.csv, row 3, column 'supplier'", "with its lead_time_days"),
    "planning table absent": ({k: v for k, v in TINY_TABLES.items() if k != "inventory"},
                              "inventory.csv", "the inventory table (inventory.csv or "),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_broken_dataset_exits_2_naming_file_row_column(
    case: str, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tables, where, expected = BROKEN[case]
    folder = write_tiny_dataset(workdir / "data", tables)
    before = _snapshot(workdir)
    assert main(["validate", "--data", str(folder)]) == 2
    out, err = capsys.readouterr()
    problem_lines = [line for line in err.splitlines() if line.startswith("error: ")]
    assert len(problem_lines) == 1, err
    assert where in problem_lines[0] and expected in problem_lines[0]
    assert "nothing was written" in err and "Traceback" not in err
    assert out == ""
    assert _snapshot(workdir) == before


def test_forecast_purpose_needs_only_sales(workdir: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    folder = write_tiny_dataset(workdir / "data", {"sales": TINY_TABLES["sales"]})
    assert main(["validate", "--data", str(folder), "--for", "forecast"]) == 0
    assert main(["validate", "--data", str(folder)]) == 2
    assert "expected the products table" in capsys.readouterr().err


def test_no_dataset_and_missing_folder_are_user_errors(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["validate"]) == 2
    assert "pass --data DIR" in capsys.readouterr().err
    assert main(["validate", "--data", str(workdir / "absent")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_database_from_the_environment(workdir: Path, monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    from flows.storage.sources import read_folder, write_sql

    url = f"sqlite:///{workdir / 'brand.db'}"
    write_sql(url, read_folder(write_tiny_dataset(workdir / "data")))
    monkeypatch.setenv("REPLENISH_DATA__SQL_URL_ENV", "BRAND_DB_URL")
    assert main(["validate"]) == 2
    assert "BRAND_DB_URL, which is not set" in capsys.readouterr().err
    monkeypatch.setenv("BRAND_DB_URL", url)
    assert main(["validate"]) == 0
    assert "Dataset OK: database sqlite:///" in capsys.readouterr().out


def test_the_solver_banner_stays_out_of_the_command_output() -> None:
    """HiGHS prints a copyright banner from C++ on the first solver object of a process; the
    planning commands make that first object with stdout pointed away."""
    import subprocess
    import sys

    code = ("from flows.commands.main import silence_solver_banner as quiet; quiet(); "
            "import highspy; highspy.Highs(); print('ok')")
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           check=True, cwd=Path(__file__).resolve().parent.parent)
    assert shown.stdout == "ok\n"
    loud = subprocess.run([sys.executable, "-c", "import highspy; highspy.Highs()"],
                          capture_output=True, text=True, check=True)
    assert "HiGHS" in loud.stdout  # the banner this guards against still exists
