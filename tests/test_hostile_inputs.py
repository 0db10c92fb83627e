"""Hostile input through ``replenish plan``: every user-fixable problem ends with exit code 2,
one clear message on stderr, no traceback, and nothing written (no output folder, no staging
leftovers, no run-store file beside the data)."""

from __future__ import annotations

from pathlib import Path

import pytest
from tiny_dataset import TINY_TABLES, write_tiny_dataset

from flows.commands import main


def _edit(table: str, old: str, new: str) -> dict[str, str]:
    assert old in TINY_TABLES[table], f"{old!r} not in {table}"
    return {**TINY_TABLES, table: TINY_TABLES[table].replace(old, new, 1)}


# case -> (tables, text the message must hold)
HOSTILE: dict[str, tuple[dict[str, str], str]] = {
    "units inf": (_edit("sales", "2025-01-01,SKU-1,tmall,3,", "2025-01-01,SKU-1,tmall,inf,"),
                  "column 'units'"),
    "units Infinity": (_edit("sales", "2025-01-01,SKU-1,tmall,3,",
                             "2025-01-01,SKU-1,tmall,Infinity,"), "column 'units'"),
    "units 1e308": (_edit("sales", "2025-01-01,SKU-1,tmall,3,", "2025-01-01,SKU-1,tmall,1e308,"),
                    "column 'units'"),
    "unit cost -Infinity": (_edit("products", "SKU-1,SUP-A,40,", "SKU-1,SUP-A,-Infinity,"),
                            "column 'unit_cost'"),
    "unit cost nan text": (_edit("products", "SKU-1,SUP-A,40,", "SKU-1,SUP-A,nan,"),
                           "column 'unit_cost'"),
    "decimal comma": (_edit("inventory", "SKU-1,50", 'SKU-1,"12,5"'), "decimal comma"),
    "european thousands": (_edit("inventory", "SKU-1,50", 'SKU-1,"1.234,5"'),
                           "column 'on_hand'"),
    "header names a column twice": (_edit("inventory", "sku,on_hand", "sku,on_hand,on_hand"),
                                    "on_hand"),
    "lead time absurd": (_edit("suppliers", "SUP-A,14,", "SUP-A,1e12,"),
                         "column 'lead_time_days'"),
    "text in a number column": (_edit("inventory", "SKU-2,0", "SKU-2,lots"),
                                "column 'on_hand'"),
    "empty sales": ({**TINY_TABLES, "sales": "date,sku,channel,units\n"}, "sales"),
}


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for name in ("REPLENISH_DATA__FOLDER", "REPLENISH_DATA__SIGNALS_URL",
                 "REPLENISH_DATA__SQL_URL_ENV", "REPLENISH_STORE_URL"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def _files(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


@pytest.mark.parametrize("case", list(HOSTILE))
def test_hostile_dataset_is_refused_cleanly(case: str, workdir: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    tables, expected = HOSTILE[case]
    folder = write_tiny_dataset(workdir / "data", tables)
    before = _files(workdir)
    code = main(["plan", "--data", str(folder), "--out", str(workdir / "out"), "--no-notify"])
    err = capsys.readouterr().err
    assert code == 2, err
    assert expected in err and "Traceback" not in err
    assert not (workdir / "out").exists()
    written = _files(workdir) - before
    # Only the run store may record the refused run; no output or staging files anywhere.
    assert all(name.startswith(".replenish/") for name in written), written


def test_none_and_null_are_sku_codes_not_missing(workdir: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    tables = {name: text.replace("SKU-2", "None") for name, text in TINY_TABLES.items()}
    tables = {name: text.replace("SKU-1", "NULL") for name, text in tables.items()}
    folder = write_tiny_dataset(workdir / "data", tables)
    assert main(["validate", "--data", str(folder)]) == 0
    assert "2 SKUs sold" in capsys.readouterr().out


@pytest.mark.parametrize(("config", "expected"), [
    ("forecast: [1, 2\n", "not valid YAML"),
    ("forecast:\n  horizon: -3\n", "forecast.horizon"),
    ("no_such_section: 1\n", "no_such_section"),
    ("execution:\n  engine: spark\n", "execution.engine"),
])
def test_bad_config_is_refused_cleanly(config: str, expected: str, workdir: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    (workdir / "bad.yaml").write_text(config, encoding="utf-8")
    folder = write_tiny_dataset(workdir / "data")
    code = main(["plan", "--config", str(workdir / "bad.yaml"), "--data", str(folder)])
    err = capsys.readouterr().err
    assert code == 2 and expected in err and "Traceback" not in err


@pytest.mark.parametrize(("args", "expected"), [
    (["--overrides", "missing.yaml"], "cannot read the overrides file"),
    (["--lead-time", "SUP-A"], "expected SUPPLIER=DAYS"),
    (["--as-of", "31/10/2026"], "expected an ISO date"),
])
def test_bad_plan_options_are_refused_cleanly(args: list[str], expected: str, workdir: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    folder = write_tiny_dataset(workdir / "data")
    code = main(["plan", "--data", str(folder), "--out", str(workdir / "out"), *args])
    err = capsys.readouterr().err
    assert code == 2 and expected in err and "Traceback" not in err
    assert not (workdir / "out").exists()
