"""The Chinese trade calendar as rows of the ``events`` table: statutory holidays and make-up
workdays from the ``holidays`` package, platform festivals and their presales from an editable
file (``config/calendar_cn.yaml``).

Decisions:

- **Statutory holidays** come from ``holidays.China`` (the State Council's notices; 0.109 has
  them up to 2026, later years by the package's rule). The days of one break are one row of
  kind ``holiday``: consecutive holiday days, joined across the weekend days between them and
  widened to the weekend days next to them (a Friday holiday makes a three-day break), never
  across a make-up workday. A break is named after its most frequent holiday (春节 over
  农历除夕; "（补假）" suffixes dropped).
- **Make-up workdays** (调休上班, a Saturday or Sunday the country works) are the days the
  package's "休息日（由 YYYY-MM-DD 调休）" entries name, plus the file's ``workdays`` (years the
  package does not know yet): one row each, kind ``workday``, name ``调休上班``.
- **Festivals** have ``dates`` per year, else ``usual`` month-day windows (or days around
  Chinese New Year): the sale window is a row named after the festival, the presale window a
  row named ``<name>预售``, both kind ``festival``.
- **Years**: from the first year of the sales to two years after the last (the planning
  horizon is at most a year past the data), so the history carries the same rows the forecast
  learns from.
- **The user's events win**: a calendar row whose name, or one of the festival's aliases, is
  the name of a user's event in the same year (of its end) is left out; a calendar row of
  another year takes the user's spelling, so the forecast sees one name per festival.
- **Order**: festival sale windows, statutory breaks (longest first), presales, make-up
  workdays. The forecast gives its own timing features to the most frequent event names
  (``max_event_names``: 12), and names as frequent as others go in the order they are listed,
  so 双11 and 春节 keep theirs ahead of 清明节 or a presale.
- A bad file is a :class:`~flows.config.ConfigError` naming the file, the line, the key
  (``festivals[2] (双11) -> dates -> 2027 -> sale``) and what was expected.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, Literal

import holidays
import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from flows.config import ConfigError, Settings
from forecasting.contract import EVENTS, DataContractError, parse_table
from replenishment.contract import Dataset

__all__ = [
    "CALENDAR_FILE",
    "CALENDAR_TABLE",
    "CalendarFile",
    "Festival",
    "calendar_table",
    "festival_events",
    "load_calendar_file",
    "merge_events",
    "statutory_events",
    "with_calendar",
]

CALENDAR_FILE = Path(__file__).resolve().parents[3] / "config" / "calendar_cn.yaml"
"""The calendar file used when ``calendar_file`` is not set."""
CALENDAR_TABLE = "calendar"
"""Name of the calendar's rows among the raw tables (merged into ``events`` on validation)."""
WORKDAY_NAME = "调休上班"
PRESALE_SUFFIX = "预售"
YEARS_AHEAD = 2
_SUBSTITUTE = re.compile(r"(\d{4}-\d{2}-\d{2})")
_SUFFIX = re.compile(r"（[^）]*）|\([^)]*\)")
_MONTH_DAY = re.compile(r"^(\d{2})-(\d{2})$")


class _Usual(BaseModel):
    """Windows used for years not listed under ``dates``."""

    model_config = ConfigDict(extra="forbid")

    relative_to: Literal["spring_festival"] | None = None
    presale: tuple[str | int, str | int] | None = None
    sale: tuple[str | int, str | int]

    @model_validator(mode="after")
    def _check(self) -> _Usual:
        for label, window in (("presale", self.presale), ("sale", self.sale)):
            if window is not None:
                _check_usual(label, window, self.relative_to is not None)
        if self.presale is not None and _order(self.presale[1]) >= _order(self.sale[0]):
            raise ValueError("a presale that ends before the sale starts")
        return self


def _order(value: str | int) -> int:
    if isinstance(value, int):
        return value
    month, day = value.split("-")
    return int(month) * 100 + int(day)


def _check_usual(label: str, window: tuple[str | int, str | int], relative: bool) -> None:
    if relative:
        if not all(isinstance(v, int) for v in window):
            raise ValueError(f"{label}: with relative_to, days before (negative) or after "
                             "Chinese New Year, e.g. [-28, -9]")
    else:
        for value in window:
            if not isinstance(value, str) or not _valid_month_day(value):
                raise ValueError(f"{label}: month-days as \"MM-DD\" (quoted), e.g. "
                                 f"[\"05-31\", \"06-18\"]; got {value!r}")
    if _order(window[1]) < _order(window[0]):
        raise ValueError(f"{label}: an end on or after its start (got {window[0]!r} to "
                         f"{window[1]!r})")


def _valid_month_day(value: str) -> bool:
    match = _MONTH_DAY.match(value)
    if not match:
        return False
    try:
        dt.date(2024, int(match.group(1)), int(match.group(2)))  # a leap year: 02-29 is fine
    except ValueError:
        return False
    return True


class _Year(BaseModel):
    """One year's announced (or expected) windows."""

    model_config = ConfigDict(extra="forbid")

    presale: tuple[dt.date, dt.date] | None = None
    sale: tuple[dt.date, dt.date]

    @model_validator(mode="after")
    def _check(self) -> _Year:
        for label, window in (("presale", self.presale), ("sale", self.sale)):
            if window is not None and window[1] < window[0]:
                raise ValueError(f"{label}: an end on or after its start (got {window[0]} "
                                 f"to {window[1]})")
        if self.presale is not None and self.presale[1] >= self.sale[0]:
            raise ValueError(f"a presale that ends before the sale starts (got presale to "
                             f"{self.presale[1]}, sale from {self.sale[0]})")
        return self


class Festival(BaseModel):
    """A platform festival of the calendar file."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    aliases: list[str] = Field(default_factory=list)
    channel: str | None = None
    usual: _Usual | None = None
    dates: dict[int, _Year] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _some_dates(self) -> Festival:
        if self.usual is None and not self.dates:
            raise ValueError("`usual` windows or `dates` per year")
        for year, window in self.dates.items():
            if window.sale[1].year != year:
                raise ValueError(f"dates of {year}: a sale window ending in {year} (it ends "
                                 f"{window.sale[1]})")
        return self


class CalendarFile(BaseModel):
    """The calendar file: platform festivals and extra make-up workdays."""

    model_config = ConfigDict(extra="forbid")

    festivals: list[Festival] = Field(default_factory=list)
    workdays: list[dt.date] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_names(self) -> CalendarFile:
        seen: set[str] = set()
        for festival in self.festivals:
            for name in (festival.name, *festival.aliases):
                key = _key(name)
                if key in seen:
                    raise ValueError(f"each name and alias given to one festival only "
                                     f"({name!r} is given twice)")
                seen.add(key)
        return self


def _key(name: str) -> str:
    return re.sub(r"\s+", "", str(name)).casefold()


class _TextDates(yaml.SafeLoader):
    """A safe loader that leaves dates as text for pydantic to check: PyYAML's own date
    constructor raises a bare ValueError on 2027-02-30 instead of naming the key."""


_TextDates.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def load_calendar_file(path: Path) -> CalendarFile:
    """Read and check the calendar file; :class:`ConfigError` naming the file, line, key and
    what was expected when it is unusable."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as err:
        raise ConfigError(f"{path}: cannot read the calendar file ({err.strerror}); set "
                          "calendar_file to an existing file, or calendar: off") from err
    try:
        document = yaml.load(text, Loader=_TextDates) or {}  # a SafeLoader
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: not valid YAML: {err}") from err
    if not isinstance(document, dict):
        raise ConfigError(f"{path}: expected a mapping with `festivals` and `workdays`")
    try:
        return CalendarFile.model_validate(document)
    except ValidationError as err:
        root = yaml.compose(text)
        lines = [_problem(path, root, document, e) for e in err.errors()]
        raise ConfigError("\n".join(lines)) from err


def _problem(path: Path, root: yaml.Node | None, document: dict[str, Any],
             error: Any) -> str:
    loc = [p for p in error["loc"] if not (isinstance(p, str) and p.startswith("function-"))]
    # pydantic names union members ("str", "int") in the location: not keys of the file.
    loc = [p for p in loc if p not in ("str", "int", "tuple[str | int, str | int]")]
    where = _where(document, loc)
    line = _line(root, loc)
    at = f", line {line}" if line is not None else ""
    message = _expected(error)
    got = error.get("input")
    shown = "" if isinstance(got, dict | list) or got is None else f"got {got!r}; "
    return f"{path}{at}, key {where or '(top level)'}: {shown}expected {message}"


def _expected(error: Any) -> str:
    """What the key should hold, in the error model's words ("expected ...")."""
    if error["type"] == "extra_forbidden":
        return "no such key (the keys are those the file's header lists; misspelt?)"
    if error["type"] == "missing":
        return "this key (it is required)"
    return str(error["msg"]).removeprefix("Value error, ").removeprefix("Input should be ")


def _where(document: Any, loc: Sequence[Any]) -> str:
    parts: list[str] = []
    node = document
    for step in loc:
        if isinstance(step, int) and isinstance(node, list):
            label = f"[{step}]"
            item = node[step] if step < len(node) else None
            if isinstance(item, dict) and "name" in item:
                label += f" ({item['name']})"
            parts[-1:] = [(parts[-1] if parts else "") + label]
            node = item
        else:
            parts.append(str(step))
            node = node.get(step) if isinstance(node, dict) else None
    return " -> ".join(parts)


def _line(root: yaml.Node | None, loc: Sequence[Any]) -> int | None:
    node = root
    line = None
    for step in loc:
        if isinstance(node, yaml.MappingNode):
            match = [(k, v) for k, v in node.value if str(k.value) == str(step)]
            if not match:
                break
            line, node = match[0][0].start_mark.line + 1, match[0][1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(step, int):
            if step >= len(node.value):
                break
            node = node.value[step]
            line = node.start_mark.line + 1
        else:
            break
    return line


def _event(start: dt.date, end: dt.date, name: str, kind: str, channel: str | None = None,
           aliases: Iterable[str] = ()) -> dict[str, object]:
    return {"start": pd.Timestamp(start), "end": pd.Timestamp(end), "name": name, "kind": kind,
            "channel": channel, "sku": None, "aliases": "|".join(aliases)}


def _china(years: Sequence[int]) -> holidays.HolidayBase:
    return holidays.China(years=list(years), language="zh_CN")


def _makeup_days(calendar: holidays.HolidayBase) -> set[dt.date]:
    found: set[dt.date] = set()
    for name in calendar.values():
        if "调休" in name:
            found.update(dt.date.fromisoformat(d) for d in _SUBSTITUTE.findall(name))
    return found


def statutory_events(years: Sequence[int], extra_workdays: Iterable[dt.date] = ()
                     ) -> pd.DataFrame:
    """Holiday breaks (kind ``holiday``) and make-up workdays (kind ``workday``) of ``years``."""
    calendar = _china(years)
    workdays = {d for d in _makeup_days(calendar) | set(extra_workdays) if d.year in years}
    rows = [_event(d, d, WORKDAY_NAME, "workday") for d in sorted(workdays)]
    for days in _breaks(sorted(calendar), workdays):
        names = [_SUFFIX.sub("", calendar[d]).strip() for d in days if d in calendar
                 and "调休" not in calendar[d]]
        name = pd.Series(names or ["休息日"]).value_counts().index[0]
        rows.append(_event(days[0], days[-1], str(name), "holiday"))
    return pd.DataFrame(rows)


def _breaks(days: list[dt.date], workdays: set[dt.date]) -> list[list[dt.date]]:
    """Runs of holidays joined across, and widened by, weekend days that are not worked."""
    def off(day: dt.date) -> bool:
        return day.weekday() >= 5 and day not in workdays

    runs: list[list[dt.date]] = []
    for day in days:
        if runs:
            gap = [runs[-1][-1] + dt.timedelta(days=i)
                   for i in range(1, (day - runs[-1][-1]).days)]
            if all(off(g) for g in gap):
                runs[-1] += [*gap, day]
                continue
        runs.append([day])
    for run in runs:
        while off(run[0] - dt.timedelta(days=1)):
            run.insert(0, run[0] - dt.timedelta(days=1))
        while off(run[-1] + dt.timedelta(days=1)):
            run.append(run[-1] + dt.timedelta(days=1))
    return runs


def _spring_festival(year: int) -> dt.date:
    calendar = _china([year])
    return min(d for d, name in calendar.items() if name == "春节")


def _usual_window(usual: _Usual, window: tuple[str | int, str | int], year: int
                  ) -> tuple[dt.date, dt.date]:
    if usual.relative_to == "spring_festival":
        base = _spring_festival(year)
        return (base + dt.timedelta(days=int(window[0])),
                base + dt.timedelta(days=int(window[1])))
    return _month_day(year, str(window[0])), _month_day(year, str(window[1]))


def _month_day(year: int, value: str) -> dt.date:
    month, day = (int(part) for part in value.split("-"))
    try:
        return dt.date(year, month, day)
    except ValueError:  # 02-29 in a common year
        return dt.date(year, month, day - 1)


def festival_events(calendar: CalendarFile, years: Sequence[int]) -> pd.DataFrame:
    """Sale and presale rows of every festival in ``years`` (``dates``, else ``usual``)."""
    rows = []
    for fest in calendar.festivals:
        presale_aliases = [f"{a}{PRESALE_SUFFIX}" for a in fest.aliases]
        for year in years:
            windows = _windows(fest, year)
            if windows is None:
                continue
            sale, presale = windows
            rows.append(_event(*sale, fest.name, "festival", fest.channel, fest.aliases))
            if presale is not None:
                rows.append(_event(*presale, f"{fest.name}{PRESALE_SUFFIX}", "festival",
                                   fest.channel, presale_aliases))
    return pd.DataFrame(rows)


def _windows(fest: Festival, year: int
             ) -> tuple[tuple[dt.date, dt.date], tuple[dt.date, dt.date] | None] | None:
    if year in fest.dates:
        given = fest.dates[year]
        return given.sale, given.presale
    if fest.usual is None:
        return None
    usual = fest.usual
    presale = None if usual.presale is None else _usual_window(usual, usual.presale, year)
    return _usual_window(usual, usual.sale, year), presale


def _sales_years(raw: dict[str, tuple[pd.DataFrame, str]]) -> list[int]:
    """Years of the raw sales dates (first four characters of ISO text), two years ahead."""
    if "sales" not in raw or "date" not in raw["sales"][0]:
        return []
    column = raw["sales"][0]["date"]
    if pd.api.types.is_datetime64_any_dtype(column):
        found = pd.Series(column.dt.year.dropna().unique())
    else:
        text = column.dropna().astype(str).str.strip().str[:4]
        found = pd.to_numeric(pd.Series(text.unique()), errors="coerce").dropna()
    found = found[(found >= 1990) & (found <= 2100)]
    if found.empty:
        return []
    return list(range(int(found.min()), int(found.max()) + YEARS_AHEAD + 1))


def calendar_table(settings: Settings, raw: dict[str, tuple[pd.DataFrame, str]]
                   ) -> tuple[pd.DataFrame, str] | None:
    """The calendar's events rows for the years of the raw sales and where they came from,
    or None with ``calendar: off`` (or no sales dates to take the years from)."""
    if settings.calendar == "off":
        return None
    years = _sales_years(raw)
    if not years:
        return None
    path = settings.calendar_file or CALENDAR_FILE
    calendar = load_calendar_file(path)
    frame = pd.concat([festival_events(calendar, years),
                       statutory_events(years, calendar.workdays)], ignore_index=True)
    return _ranked(frame), f"{path.name} + holidays {holidays.__version__}"


def _ranked(frame: pd.DataFrame) -> pd.DataFrame:
    """Festival sale windows (in the file's order), statutory breaks (longest first),
    presales, make-up workdays: the forecast times the most frequent event names on their
    own (``max_event_names``, 12 by default), and names equally frequent go in this order."""
    presale = frame["name"].str.endswith(PRESALE_SUFFIX)
    rank = frame["kind"].map({"festival": 0, "holiday": 1, "workday": 3}).where(~presale, 2)
    length = (frame["end"] - frame["start"]).dt.days.where(frame["kind"] == "holiday", 0)
    order = pd.DataFrame({"rank": rank, "length": -length})
    return frame.loc[order.sort_values(["rank", "length"], kind="stable").index].reset_index(
        drop=True)


def merge_events(user: pd.DataFrame, calendar: pd.DataFrame) -> pd.DataFrame:
    """The user's events plus the calendar's rows they do not already give (see the module):
    user rows win by (name or alias, year of the end)."""
    calendar = calendar.reset_index(drop=True)
    spelled = {_key(n): str(n) for n in user["name"].dropna()}
    names = []
    for name, aliases in zip(calendar["name"], calendar["aliases"].fillna(""), strict=True):
        keys = [_key(name), *(_key(a) for a in str(aliases).split("|") if a)]
        names.append(next((spelled[k] for k in keys if k in spelled), str(name)))
    calendar = calendar.assign(name=names).drop(columns="aliases")
    given = set(zip(user["name"].map(_key), user["end"].dt.year, strict=True))
    mine = [(_key(n), y) not in given for n, y in zip(calendar["name"], calendar["end"].dt.year,
                                                       strict=True)]
    kept = calendar[mine]
    if user.empty:
        return kept.reset_index(drop=True)
    return pd.concat([user, kept], ignore_index=True)


def with_calendar(dataset: Dataset, frame: pd.DataFrame, source: str,
                  timezone: str = "Asia/Shanghai") -> Dataset:
    """``dataset`` with the calendar's rows merged into its events (:func:`merge_events`)."""
    typed, problems = parse_table(frame, EVENTS, source, timezone)
    if problems:
        raise DataContractError(problems)
    events = merge_events(dataset.demand.events, typed)
    return replace(dataset, demand=replace(dataset.demand, events=events))
