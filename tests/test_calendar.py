"""The Chinese trade calendar: statutory holidays and make-up workdays from the holidays
package, platform festivals from config/calendar_cn.yaml, merged into the user's events
without duplicates; a bad calendar file is a clear error (exit code 2)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
from tiny_dataset import TINY_TABLES, write_tiny_dataset

from flows.commands import main
from flows.config import ConfigError, Settings, load_settings
from flows.storage.sources import load_dataset
from flows.storage.sources.calendar import (
    CALENDAR_FILE,
    calendar_table,
    festival_events,
    load_calendar_file,
    statutory_events,
)
from forecasting.contract import EVENTS, empty_table
from forecasting.features import build_features

# The user gives Double 11 2026 on the day only, Spring Festival 2026 as a week, and a
# closure of their own.
USER_EVENTS = (
    "start,end,name,kind,channel,sku\n"
    "2026-11-11,2026-11-11,Double 11,festival,,\n"
    "2026-02-17,2026-02-23,春节,holiday,,\n"
    "2026-02-09,2026-02-24,物流暂停,closure,,\n"
)
SALES_2026 = (
    "date,sku,channel,units,price,stockout\n"
    "2025-06-01,SKU-1,tmall,3,99,0\n"
    "2026-11-30,SKU-2,douyin,10,59,0\n"
)


def _rows(events: pd.DataFrame, name: str, year: int | None = None) -> pd.DataFrame:
    rows = events[events["name"] == name]
    return rows if year is None else rows[rows["end"].dt.year == year]


def test_statutory_2026_holidays_and_make_up_workdays() -> None:
    """The State Council's 2026 notice: 春节 Feb 15-23 with make-up workdays Sat Feb 14 and
    Sat Feb 28; 国庆节 Oct 1-7 with Sun Sep 20 and Sat Oct 10; 端午节 Fri Jun 19 is a
    three-day break with its weekend."""
    events = statutory_events([2026])
    workdays = events.loc[events["kind"] == "workday", "start"].dt.strftime("%m-%d").tolist()
    assert workdays == ["01-04", "02-14", "02-28", "05-09", "09-20", "10-10"]
    spans = {n: (s.strftime("%m-%d"), e.strftime("%m-%d")) for n, s, e in zip(
        events["name"], events["start"], events["end"], strict=True) if n != "调休上班"}
    assert spans["春节"] == ("02-15", "02-23")
    assert spans["国庆节"] == ("10-01", "10-07")
    assert spans["端午节"] == ("06-19", "06-21")
    assert spans["劳动节"] == ("05-01", "05-05")


def test_extra_make_up_workdays_from_the_file_are_added() -> None:
    """The package (0.109) knows no 2027 make-up workdays; the file's `workdays` adds them."""
    events = statutory_events([2027], [dt.date(2027, 2, 20)])
    assert events.loc[events["kind"] == "workday", "start"].tolist() == [
        pd.Timestamp("2027-02-20")]


def test_the_calendar_file_gives_2026_to_2028_and_usual_dates_before() -> None:
    calendar = load_calendar_file(CALENDAR_FILE)
    names = {f.name for f in calendar.festivals}
    assert names == {"618", "双11", "双12", "年货节", "38节", "88会员节"}
    assert all({2026, 2027, 2028} <= set(f.dates) for f in calendar.festivals)
    rows = festival_events(calendar, [2024, 2028])
    double11 = _rows(rows, "双11预售", 2024).iloc[0]
    assert (double11["start"], double11["end"]) == (pd.Timestamp("2024-10-20"),
                                                    pd.Timestamp("2024-10-30"))
    # 年货节 2024: 28 to 9 days before Chinese New Year (2024-02-10).
    shopping = _rows(rows, "年货节", 2024).iloc[0]
    assert (shopping["start"], shopping["end"]) == (pd.Timestamp("2024-01-13"),
                                                    pd.Timestamp("2024-02-01"))
    assert _rows(rows, "年货节", 2028).iloc[0]["start"] == pd.Timestamp("2027-12-29")


def test_the_calendar_merges_with_the_users_events_without_duplicates(tmp_path: Path) -> None:
    """The user's rows win for their name (or an alias of it) and year: Double 11 2026 stays
    the user's one day and replaces the calendar's 双11 2026; the calendar's 双11 2025 takes
    the user's spelling; the user's 春节 2026 replaces the statutory break; every other
    holiday, make-up workday and festival is added once."""
    folder = write_tiny_dataset(tmp_path / "data", {
        **TINY_TABLES, "sales": SALES_2026, "events": USER_EVENTS})
    on, summary = load_dataset(Settings(data={"folder": folder}), require=("sales",))
    off, _ = load_dataset(Settings(data={"folder": folder}, calendar="off"),
                          require=("sales",))
    events = on.demand.events
    assert len(off.demand.events) == 3
    assert "calendar calendar_cn.yaml" in summary
    assert not events.duplicated(["name", "start", "end"]).any()
    assert _rows(events, "双11", None).empty
    eleven = _rows(events, "Double 11", 2026)
    assert len(eleven) == 1 and eleven.iloc[0]["start"] == pd.Timestamp("2026-11-11")
    assert _rows(events, "Double 11", 2025).iloc[0]["start"] == pd.Timestamp("2025-10-31")
    assert len(_rows(events, "双11预售", 2026)) == 1  # the user gives no presale: calendar's
    spring = _rows(events, "春节", 2026)
    assert len(spring) == 1 and spring.iloc[0]["start"] == pd.Timestamp("2026-02-17")
    assert len(_rows(events, "春节", 2025)) == 1
    assert len(_rows(events, "国庆节", 2026)) == 1 and len(_rows(events, "618", 2026)) == 1
    # Years: the first sales year to two years after the last.
    assert events["end"].dt.year.min() == 2025 and events["end"].dt.year.max() == 2028
    workday = events[(events["kind"] == "workday")
                     & (events["start"] == pd.Timestamp("2026-02-14"))]
    assert len(workday) == 1


def test_a_make_up_workday_from_the_calendar_reaches_the_features(tmp_path: Path) -> None:
    folder = write_tiny_dataset(tmp_path / "data", {**TINY_TABLES, "sales": SALES_2026})
    dataset, _ = load_dataset(Settings(data={"folder": folder}), require=("sales",))
    series = pd.DataFrame({"unique_id": ["SKU-1|tmall"], "sku": ["SKU-1"],
                           "channel": ["tmall"], "category": [None]})
    days = pd.date_range("2026-02-10", "2026-03-01")
    grid = pd.DataFrame({"unique_id": "SKU-1|tmall", "ds": days})
    features = build_features(grid, series, dataset.demand, "D")
    flags = dict(zip(days.strftime("%m-%d"), features["workday_on"], strict=True))
    assert flags["02-14"] == 1 and flags["02-28"] == 1 and flags["02-21"] == 0
    assert features["holiday_on"].to_numpy()[days.get_loc("2026-02-14")] == 0


def _bad_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "calendar.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(("text", "where", "expected"), [
    ("festivals:\n  - name: 双11\n    dates:\n      2027: {sale: [2027-11-11, 2027-10-31]}\n",
     "line 4, key festivals[0] (双11) -> dates -> 2027",
     "expected sale: an end on or after its start (got 2027-11-11 to 2027-10-31)"),
    ("festivals:\n  - name: 双11\n    usual: {sale: [\"11-31\", \"11-11\"]}\n",
     "line 3, key festivals[0] (双11) -> usual", "month-days as \"MM-DD\""),
    ("festivals:\n  - name: '618'\n    usual: {sale: ['05-31', '06-18']}\n    colour: red\n",
     "line 4, key festivals[0] (618) -> colour", "expected no such key"),
    ("festivals:\n  - name: 双11\n    dates:\n      2027: {presale: [2027-10-20, 2027-11-01],"
     " sale: [2027-10-31, 2027-11-11]}\n",
     "key festivals[0] (双11) -> dates -> 2027", "a presale that ends before the sale starts"),
    ("workdays: [2027-02-30]\n", "line 1, key workdays[0]: got '2027-02-30'",
     "expected a valid date"),
    ("festivals:\n  - aliases: [x]\n    usual: {sale: ['05-31', '06-18']}\n",
     "line 2, key festivals[0] -> name", "expected this key (it is required)"),
])
def test_a_bad_calendar_file_names_file_line_key_and_expectation(
        tmp_path: Path, text: str, where: str, expected: str) -> None:
    path = _bad_file(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_calendar_file(path)
    message = str(err.value)
    assert message.startswith(str(path)) and where in message and expected in message


def test_a_bad_calendar_file_exits_2_without_a_traceback(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    folder = write_tiny_dataset(tmp_path / "data")
    path = _bad_file(tmp_path, "festivals:\n  - name: 双11\n    usual: {sale: [1, 2]}\n")
    config = tmp_path / "run.yaml"
    config.write_text(f"calendar_file: {path}\n", encoding="utf-8")
    assert main(["validate", "--config", str(config), "--data", str(folder)]) == 2
    err = capsys.readouterr().err
    assert str(path) in err and "festivals[0] (双11) -> usual" in err
    assert "Traceback" not in err
    missing = tmp_path / "run2.yaml"
    missing.write_text(f"calendar_file: {tmp_path / 'absent.yaml'}\n", encoding="utf-8")
    assert main(["validate", "--config", str(missing), "--data", str(folder)]) == 2
    assert "cannot read the calendar file" in capsys.readouterr().err


def test_calendar_off_leaves_events_empty(tmp_path: Path) -> None:
    folder = write_tiny_dataset(tmp_path / "data")
    dataset, _ = load_dataset(Settings(data={"folder": folder}, calendar="off"))
    assert dataset.demand.events.empty
    assert list(dataset.demand.events.columns) == list(empty_table(EVENTS).columns)


def test_the_switch_reads_an_unquoted_off(tmp_path: Path) -> None:
    """YAML 1.1 reads `calendar: off` as false: it still means off."""
    config = tmp_path / "run.yaml"
    config.write_text("calendar: off\n", encoding="utf-8")
    assert load_settings(config).calendar == "off"
    assert Settings().calendar == "cn"
    config.write_text("calendar: weekly\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="calendar"):
        load_settings(config)


def test_festivals_and_long_breaks_keep_their_own_timing_features() -> None:
    """Every calendar name is as frequent as the others (once a year); the forecast times the
    12 most frequent on their own, ties in the order listed: the six festivals, then the
    longest statutory breaks (春节, 国庆节), ahead of presales and short holidays."""
    raw = {"sales": (pd.DataFrame({"date": ["2025-01-01", "2026-06-01"]}), "sales.csv")}
    found = calendar_table(Settings(), raw)
    assert found is not None
    frame = found[0]
    top = frame.loc[frame["kind"] != "workday", "name"].value_counts().index[:12].tolist()
    assert top[:6] == ["618", "双11", "双12", "年货节", "38节", "88会员节"]
    assert set(top[6:8]) == {"春节", "国庆节"}
    assert calendar_table(Settings(calendar="off"), raw) is None
