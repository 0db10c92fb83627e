"""Safe outputs: Excel-friendly CSV, formula injection, file names, atomic files and folders."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

from flows.errors import OutputError, UserError
from flows.storage import exports
from flows.storage.exports import (
    read_output_as_of,
    safe_filename,
    staged_output,
    write_csv,
    write_frame,
)


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
    # No staging or old folder left; the lock file stays (see exports.output_lock).
    assert sorted(p.name for p in tmp_path.iterdir()) == [".outputs.lock", "outputs"]


def test_staged_output_refuses_the_working_folder(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    project = tmp_path / "project"
    project.mkdir()
    monkeypatch.chdir(project)
    for target in (Path("."), tmp_path):
        with pytest.raises(UserError, match="dedicated output folder"), staged_output(target):
            pass
    assert project.is_dir()


def _write(out: Path, text: str, as_of: str | None = None, force: bool = False) -> None:
    with staged_output(out, as_of=as_of, force=force) as stage:
        (stage / "orders.csv").write_text(text, encoding="utf-8")


def test_older_as_of_never_replaces_later_outputs_unless_forced(tmp_path: Path) -> None:
    out = tmp_path / "outputs"
    _write(out, "plan of 10-02", as_of="2026-10-02")
    assert read_output_as_of(out) == pd.Timestamp("2026-10-02").date()
    # The slower of two concurrent plans finishes last with an older as-of date.
    with pytest.raises(OutputError, match=r"as of 2026-10-02, later than this run's 2026-10-01"):
        _write(out, "plan of 10-01", as_of="2026-10-01")
    assert (out / "orders.csv").read_text(encoding="utf-8") == "plan of 10-02"
    _write(out, "plan of 10-02, again", as_of="2026-10-02")  # the same day may be re-run
    _write(out, "plan of 10-01, forced", as_of="2026-10-01", force=True)
    assert (out / "orders.csv").read_text(encoding="utf-8") == "plan of 10-01, forced"
    assert not list(tmp_path.glob(".outputs.staging-*"))


def test_the_output_folder_is_locked_while_a_run_writes_it(tmp_path: Path) -> None:
    out = tmp_path / "outputs"
    out.mkdir()
    # Another process holds the folder's lock (the protocol: flock on .NAME.lock beside it);
    # plain fcntl keeps the child quick to start.
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import fcntl, time\n"
         f"handle = open({str(tmp_path / '.outputs.lock')!r}, 'a+')\n"
         "fcntl.flock(handle, fcntl.LOCK_EX)\n"
         "print('locked', flush=True)\ntime.sleep(30)"],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        with (pytest.raises(OutputError, match="locked by another run"),
              staged_output(out, lock_timeout_s=0.5)):
            pass
    finally:
        holder.kill()  # like kill -9: the kernel drops the lock with the process
        holder.wait()
    _write(out, "after the kill")
    assert (out / "orders.csv").read_text(encoding="utf-8") == "after the kill"


def test_concurrent_runs_take_turns(tmp_path: Path) -> None:
    out = tmp_path / "outputs"
    inside: list[int] = []
    overlap: list[bool] = []

    def run(n: int) -> None:
        with staged_output(out) as stage:
            inside.append(n)
            overlap.append(len(inside) > 1)
            time.sleep(0.3)
            (stage / "orders.csv").write_text(f"run {n}", encoding="utf-8")
            inside.remove(n)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert overlap == [False, False, False]
    assert (out / "orders.csv").read_text(encoding="utf-8").startswith("run ")


def test_a_crash_between_the_two_renames_is_repaired_by_the_next_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "outputs"
    _write(out, "v1")
    # Where the atomic exchange is unavailable the swap renames twice; a crash in between
    # leaves the previous outputs under .outputs.previous and no outputs folder.
    monkeypatch.setattr(exports, "_exchange", lambda first, second: False)
    out.rename(tmp_path / ".outputs.previous")
    assert not out.exists()
    with pytest.raises(RuntimeError), staged_output(out):
        raise RuntimeError("this run fails too")
    assert (out / "orders.csv").read_text(encoding="utf-8") == "v1"
    _write(out, "v2")
    assert (out / "orders.csv").read_text(encoding="utf-8") == "v2"
    assert sorted(p.name for p in tmp_path.iterdir()) == [".outputs.lock", "outputs"]


def test_stale_staging_folders_of_a_killed_run_are_removed(tmp_path: Path) -> None:
    out = tmp_path / "outputs"
    stale = tmp_path / ".outputs.staging-k1ll3d"
    stale.mkdir()
    (stale / "orders.csv").write_text("half", encoding="utf-8")
    _write(out, "v1")
    assert not stale.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [".outputs.lock", "outputs"]


def test_an_unwritable_output_folder_is_an_output_error(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")
    with pytest.raises(OutputError, match=r"a-file/outputs"):
        _write(blocker / "outputs", "v1")
    out = tmp_path / "outputs"
    _write(out, "v1")
    with (pytest.raises(OutputError, match="cannot write the outputs"),
          staged_output(out) as stage):
        (stage / "orders" / "missing-folder.csv").write_text("x", encoding="utf-8")
    assert (out / "orders.csv").read_text(encoding="utf-8") == "v1"
