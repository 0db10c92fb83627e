"""Future-known signal features per (series, period) from promotions, livestreams, events
and prices.

Every signal row carries a scope (``sku``, ``category``, ``channel``; empty means "all") and a
span of days. A row is matched to the series it covers, its days are laid out, and the values
land on a per-day grid of every series; weekly (or coarser) data then averages the days of
each period. Because promotion, livestream and event calendars are planned in advance, the
same code builds the features of future periods, which a global model needs for every date
it predicts.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

import numpy as np
import pandas as pd
from pandas.tseries.frequencies import to_offset

from forecasting.contract import DemandData
from forecasting.frequency import period_labels

__all__ = ["EVENT_AFTER_DAYS", "EVENT_LEAD_DAYS", "PROMO_AFTER_DAYS", "PROMO_LEAD_DAYS",
           "build_features", "compact_columns", "event_columns", "match_scope",
           "neutral_values"]

EVENT_LEAD_DAYS = 30
"""Days before an event during which ``days to`` is counted (pre-sale build-up)."""
EVENT_AFTER_DAYS = 14
PROMO_AFTER_DAYS = 14
"""Days after a promotion during which ``days since`` is counted (post-promotion dip)."""
PROMO_LEAD_DAYS = 14
"""Days before a promotion during which ``days to`` is counted: shoppers wait for a
announced deal (pre-promotion dip)."""
_MAX_PROMO_KINDS = 6


class _DayGrid:
    """Every day covered by every series' periods, laid out series by series."""

    def __init__(self, grid: pd.DataFrame, series: pd.DataFrame, freq: str) -> None:
        codes = pd.Index(series["unique_id"]).get_indexer(grid["unique_id"])
        if (codes < 0).any():
            raise ValueError("grid holds series that are not in the series table")
        ds = pd.DatetimeIndex(grid["ds"])
        bounds = pd.DataFrame({"sid": codes, "ds": ds}).groupby("sid")["ds"].agg(["min", "max"])
        period_first = _period_first_day(pd.DatetimeIndex(bounds["min"]), freq)
        period_last = pd.DatetimeIndex(bounds["max"])
        if not _labels_are_ends(freq):
            period_last = pd.DatetimeIndex(
                (pd.DatetimeIndex(bounds["max"]) + to_offset(freq)) - pd.Timedelta(days=1)
            )
        self.n_series = len(series)
        self.first_day = np.full(self.n_series, np.iinfo(np.int64).max // 2, dtype=np.int64)
        self.n_days = np.zeros(self.n_series, dtype=np.int64)
        sids = bounds.index.to_numpy()
        self.first_day[sids] = _day_number(period_first)
        self.n_days[sids] = _day_number(period_last) - _day_number(period_first) + 1
        self.base = np.concatenate([[0], np.cumsum(self.n_days)[:-1]])
        self.size = int(self.n_days.sum())
        self.grid_codes = codes
        self.grid_days = _day_number(ds)

    def positions(self, sid: np.ndarray, day: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Flat positions of (series, day) pairs and the mask of those inside the grid."""
        offset = day - self.first_day[sid]
        inside = (offset >= 0) & (offset < self.n_days[sid])
        return self.base[sid[inside]] + offset[inside], inside

    def day_rows(self) -> tuple[np.ndarray, np.ndarray]:
        """(series code, day number) of every flat position."""
        sid = np.repeat(np.arange(self.n_series), self.n_days)
        day = self.first_day[sid] + np.arange(self.size) - self.base[sid]
        return sid, day


def _labels_are_ends(freq: str) -> bool:
    return to_offset(freq).name.startswith("W")


def _period_first_day(labels: pd.DatetimeIndex, freq: str) -> pd.DatetimeIndex:
    if to_offset(freq).name == "D":
        return labels
    if _labels_are_ends(freq):
        return labels - pd.Timedelta(days=6)
    return labels


def _day_number(days: pd.DatetimeIndex | pd.Series) -> np.ndarray:
    values = pd.DatetimeIndex(days).normalize().to_numpy().astype("datetime64[D]")
    return values.astype("int64")


def match_scope(series: pd.DataFrame, table: pd.DataFrame,
                keys: Sequence[str] = ("sku", "category", "channel")) -> pd.DataFrame:
    """Pairs (``sid``, ``rid``) of series position and table row where the row applies.

    A key left empty in a table row matches every series; ``series`` needs ``sku``,
    ``channel`` and ``category`` (None when unknown, so category rows then match nothing).
    """
    keys = [k for k in keys if k in table.columns]
    table = table.reset_index(drop=True)
    frames = [pd.DataFrame({"sid": pd.Series(dtype="int64"), "rid": pd.Series(dtype="int64")})]
    left = series[["sku", "channel", "category"]].assign(sid=np.arange(len(series)))
    if table.empty:
        return frames[0]
    scope = table[keys].notna()
    for pattern, rows in table.assign(rid=np.arange(len(table))).groupby(
        [scope[k] for k in keys], sort=False
    ):
        on = [k for k, present in zip(keys, pattern, strict=True) if present]
        right = rows[[*on, "rid"]]
        if on:
            right = right.astype({k: str for k in on})
            pairs = left.dropna(subset=on).astype({k: str for k in on}).merge(right, on=on)
        else:
            pairs = left.merge(right, how="cross")
        frames.append(pairs[["sid", "rid"]])
    return pd.concat(frames, ignore_index=True)


def _spans(pairs: pd.DataFrame, first: np.ndarray, last: np.ndarray
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Lay out each matched pair's days ``first..last`` (day numbers per table row).

    Returns (sid, rid, day) with one entry per covered day.
    """
    rid = pairs["rid"].to_numpy()
    sid = pairs["sid"].to_numpy()
    start, stop = first[rid], last[rid]
    lengths = np.maximum(stop - start + 1, 0)
    offsets = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    return np.repeat(sid, lengths), np.repeat(rid, lengths), np.repeat(start, lengths) + offsets


_CONTINUOUS = ("promo_discount", "live_planned_units", "live_expected_viewers")
"""Columns filled with fractions or large sums (float64); the rest hold flags, counts and
days (int16 while they are filled: 2 bytes a day and series instead of 8)."""
_UNSET = np.iinfo(np.int16).max


class _Columns:
    """Feature columns on the flat day grid, filled by maximum/minimum/sum reductions.

    Whole-number columns are int16 while they are filled, so the grid of every series and
    day does not take 8 bytes per feature (10,000 series x 870 days x 57 features: 4 GB as
    float64); the values are the same."""

    def __init__(self, days: _DayGrid) -> None:
        self.days = days
        self.values: dict[str, np.ndarray] = {}
        self.defaults: dict[str, float] = {}

    def _column(self, name: str, how: str, default: float) -> np.ndarray:
        column = self.values.get(name)
        if column is None:
            whole = name not in _CONTINUOUS and float(default).is_integer()
            # A minimum starts unset (+inf, or the int16 maximum); days no row touched get
            # ``default`` in finished().
            if whole:
                start: float = _UNSET if how == "min" else default
                column = np.full(self.days.size, start, dtype=np.int16)
            else:
                column = np.full(self.days.size, np.inf if how == "min" else default)
            self.values[name] = column
            self.defaults[name] = default
        return column

    def put(self, name: str, sid: np.ndarray, day: np.ndarray, value: np.ndarray | float,
            how: str = "max", default: float = 0.0) -> None:
        column = self._column(name, how, default)
        pos, inside = self.days.positions(sid, day)
        given = np.broadcast_to(np.asarray(value, dtype="float64"), sid.shape)[inside]
        if column.dtype == np.int16 and not _fits_int16(given, how):
            column = self._as_float(name, column)
        given = given.astype(column.dtype)
        if how == "max":
            np.maximum.at(column, pos, given)
        elif how == "min":
            np.minimum.at(column, pos, given)
        else:
            np.add.at(column, pos, given)

    def _as_float(self, name: str, column: np.ndarray) -> np.ndarray:
        out = column.astype("float64")
        out[column == _UNSET] = np.inf
        self.values[name] = out
        return out

    def finished(self) -> dict[str, np.ndarray]:
        for name, column in self.values.items():
            unset = column == _UNSET if column.dtype == np.int16 else np.isinf(column)
            column[unset] = self.defaults.get(name, 0.0)
        return self.values


def _fits_int16(value: np.ndarray, how: str) -> bool:
    """Whether ``value`` are whole numbers an int16 column holds (sums: with room to add)."""
    if not value.size:
        return True
    limit = 1000 if how == "sum" else _UNSET - 1
    return bool(np.array_equal(value, np.round(value)) and np.abs(value).max() < limit)


def _promotion_features(cols: _Columns, series: pd.DataFrame, promotions: pd.DataFrame) -> None:
    if promotions.empty:
        return
    pairs = match_scope(series, promotions)
    first = _day_number(promotions["start"])
    last = _day_number(promotions["end"])
    discount = promotions["discount"].fillna(0.0).to_numpy(dtype="float64")
    sid, rid, day = _spans(pairs, first, last)
    cols.put("promo_active", sid, day, 1.0)
    cols.put("promo_discount", sid, day, discount[rid])
    cols.put("promo_day", sid, day, (day - first[rid]).astype(float), how="min", default=-1.0)
    cols.put("promo_days_to_end", sid, day, (last[rid] - day).astype(float), how="min",
             default=-1.0)
    kinds = promotions["kind"].astype(str).value_counts().index[:_MAX_PROMO_KINDS]
    kind_of_row = promotions["kind"].astype(str).to_numpy()
    for kind in kinds:
        hit = kind_of_row[rid] == kind
        cols.put(f"promo_kind_{_slug(kind)}", sid[hit], day[hit], 1.0)
    # Several promotions at once (a coupon on top of a platform deal) add up.
    cols.put("promo_count", sid, day, 1.0, how="sum")
    sid, rid, day = _spans(pairs, last + 1, last + PROMO_AFTER_DAYS)
    cols.put("promo_days_after", sid, day, (day - last[rid]).astype(float), how="min",
             default=float(PROMO_AFTER_DAYS + 1))
    sid, rid, day = _spans(pairs, first - PROMO_LEAD_DAYS, first - 1)
    cols.put("promo_days_before", sid, day, (first[rid] - day).astype(float), how="min",
             default=float(PROMO_LEAD_DAYS + 1))
    _cannibalisation(cols, series)


def _cannibalisation(cols: _Columns, series: pd.DataFrame) -> None:
    """``promo_peer_share``: the share of the *other* series of the same category and channel
    on promotion that day. A SKU whose siblings are on deal loses sales to them; a SKU
    without a category has no peers (0)."""
    active = cols.values.get("promo_active")
    category = series["category"]
    if active is None or category.isna().all():
        return
    days = cols.days
    sid, day = days.day_rows()
    group = pd.factorize(category.fillna("").astype(str) + "|" + series["channel"].astype(str))[0]
    known = category.notna().to_numpy()[sid]
    keys = pd.DataFrame({"g": group[sid], "day": day})
    on = np.minimum(active, 1.0)
    total = pd.Series(on).groupby([keys["g"], keys["day"]]).transform("sum").to_numpy()
    count = keys.groupby(["g", "day"])["g"].transform("size").to_numpy()
    peers = np.divide(total - on, count - 1, out=np.zeros(len(on)), where=count > 1)
    cols.values["promo_peer_share"] = np.where(known, peers, 0.0)
    cols.defaults["promo_peer_share"] = 0.0


def _livestream_features(cols: _Columns, series: pd.DataFrame, streams: pd.DataFrame) -> None:
    if streams.empty:
        return
    # Datetimes are naive local times: a stream is on air on every calendar day it touches.
    pairs = match_scope(series, streams, keys=("sku", "channel"))
    sid, rid, day = _spans(pairs, _day_number(streams["start"]), _day_number(streams["end"]))
    share = _share_on_day(streams, rid, day)
    on_air = share > 0  # a stream ending at midnight is not on air the next day
    sid, rid, day, share = sid[on_air], rid[on_air], day[on_air], share[on_air]
    cols.put("live_on_air", sid, day, 1.0)
    # A stream that runs past midnight sells its plan in proportion to its hours each day.
    for column, name in (("planned_units", "live_planned_units"),
                         ("expected_viewers", "live_expected_viewers")):
        if streams[column].notna().any():
            values = streams[column].fillna(0.0).to_numpy(dtype="float64")
            cols.put(name, sid, day, values[rid] * share, how="sum")


def _share_on_day(streams: pd.DataFrame, rid: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Share of each stream's time on air that falls on ``day`` (1 for instant streams)."""
    start = streams["start"].to_numpy(dtype="datetime64[s]").astype("int64")[rid]
    end = streams["end"].to_numpy(dtype="datetime64[s]").astype("int64")[rid]
    day_start = day * 86_400
    overlap = np.minimum(end, day_start + 86_400) - np.maximum(start, day_start)
    length = end - start
    return np.divide(overlap, length, out=np.ones(len(rid)), where=length > 0).clip(0.0, 1.0)


def _event_features(cols: _Columns, series: pd.DataFrame, events: pd.DataFrame,
                    max_names: int) -> None:
    if events.empty:
        return
    pairs = match_scope(series, events, keys=("sku", "channel"))
    first = _day_number(events["start"])
    last = _day_number(events["end"])
    kind = events["kind"].fillna("festival").astype(str).to_numpy()
    sid, rid, day = _spans(pairs, first, last)
    # ``workday_on``: a make-up workday (调休) is a working day whatever its weekday, so a
    # Sunday with it set is learned apart from other Sundays.
    for name in ("festival", "holiday", "closure", "workday"):
        hit = kind[rid] == name
        cols.put(f"{name}_on" if name != "closure" else "closed", sid[hit], day[hit], 1.0)
    names = events["name"].astype(str)
    # Per-name timing for the most frequent names; others still count in the kind flags.
    # Closures and make-up workdays are states of a day, not events with a build-up.
    timed = ~events["kind"].fillna("festival").isin(["closure", "workday"])
    top = names[timed].value_counts().index[:max_names]
    name_of_row = names.to_numpy()
    for name in top:
        keep = pairs[name_of_row[pairs["rid"].to_numpy()] == name]
        slug = _slug(name)
        s, r, d = _spans(keep, first, last)
        cols.put(f"ev_{slug}_on", s, d, 1.0)
        s, r, d = _spans(keep, first - EVENT_LEAD_DAYS, first - 1)
        cols.put(f"ev_{slug}_to", s, d, (first[r] - d).astype(float), how="min",
                 default=float(EVENT_LEAD_DAYS + 1))
        s, r, d = _spans(keep, last + 1, last + EVENT_AFTER_DAYS)
        cols.put(f"ev_{slug}_after", s, d, (d - last[r]).astype(float), how="min",
                 default=float(EVENT_AFTER_DAYS + 1))


def _price_features(cols: _Columns, series: pd.DataFrame, prices: pd.DataFrame,
                    sales: pd.DataFrame | None) -> None:
    days = cols.days
    observed = np.full(days.size, np.nan)
    if sales is not None and not sales.empty and sales["price"].notna().any():
        known = sales[sales["price"].notna()]
        codes = pd.Index(series["unique_id"]).get_indexer(
            known["sku"].astype(str) + "|" + known["channel"].astype(str))
        ok = codes >= 0
        pos, inside = days.positions(codes[ok], _day_number(known["date"])[ok])
        observed[pos] = known["price"].to_numpy(dtype="float64")[ok][inside]
    if not prices.empty:
        # Channel-specific rows override SKU-wide rows on the same day.
        ordered = prices.assign(_specific=prices["channel"].notna()).sort_values("_specific")
        pairs = match_scope(series, ordered.drop(columns="_specific"), keys=("sku", "channel"))
        rid = pairs["rid"].to_numpy()
        pos, inside = days.positions(pairs["sid"].to_numpy(),
                                     _day_number(ordered["date"])[rid])
        observed[pos] = ordered["price"].to_numpy(dtype="float64")[rid][inside]
    if np.isnan(observed).all():
        return
    sid, _ = days.day_rows()
    frame = pd.DataFrame({"sid": sid, "price": observed})
    price = frame.groupby("sid")["price"].ffill()
    price = price.fillna(frame.assign(price=price).groupby("sid")["price"].bfill())
    regular = price.groupby(sid).transform(lambda s: s.rolling(91, min_periods=1).median())
    cols.values["price"] = price.to_numpy()
    cols.values["price_ratio"] = (price / regular).fillna(1.0).to_numpy()


_NEUTRAL_PREFIXES: tuple[tuple[str, float], ...] = (
    ("promo_days_after", float(PROMO_AFTER_DAYS + 1)),
    ("promo_days_before", float(PROMO_LEAD_DAYS + 1)),
    ("promo_day", -1.0),
    ("promo_days_to_end", -1.0),
    ("price_ratio", 1.0),
)


def event_columns(columns: Sequence[str]) -> list[str]:
    """The columns among ``columns`` that flag an event's days: the festival and holiday kind
    flags and each named event's ``ev_<name>_on`` (closures and make-up workdays are states
    of a day, not events)."""
    return [c for c in columns
            if c in ("festival_on", "holiday_on") or (c.startswith("ev_") and c.endswith("_on"))]


def neutral_values(columns: Sequence[str]) -> dict[str, float]:
    """For each signal feature among ``columns``, its value on a day without promotions,
    livestreams, festivals or price changes (closures and the price level stay as they are).

    The engine predicts the global model once more with these values to read off the lift
    of a day's events, which it then applies to the per-series models that see no signals.
    """
    out: dict[str, float] = {}
    for name in columns:
        if name in ("closed", "price"):
            continue
        if name.startswith("ev_") and name.endswith("_to"):
            out[name] = float(EVENT_LEAD_DAYS + 1)
        elif name.startswith("ev_") and name.endswith("_after"):
            out[name] = float(EVENT_AFTER_DAYS + 1)
        else:
            out[name] = next((v for p, v in _NEUTRAL_PREFIXES if name.startswith(p)), 0.0)
    return out


def _slug(text: str) -> str:
    """An ASCII column-name part for ``text``; names with other characters (双11 and
    双11预售 both reduce to "11") get a short digest so they do not share a column."""
    ascii_part = re.sub(r"[^0-9a-z]+", "_", text.lower()).strip("_")
    if text.isascii() and ascii_part:
        return ascii_part
    digest = hashlib.blake2s(text.encode(), digest_size=3).hexdigest()
    return f"{ascii_part}_{digest}" if ascii_part else digest


def _compact(values: np.ndarray) -> np.ndarray:
    """``values`` as int8 or int16 when they are whole numbers in range (flags, counts, days
    to and since an event), else float32. Every value stays what it was, so a model sees the
    same numbers; the default brand's 57 feature columns took 228 bytes a row as float32 and
    take about a third of it this way (the rows of 10,000 series: ~2 GB as float32)."""
    if values.size and np.isfinite(values).all() and np.array_equal(values, np.round(values)):
        low, high = float(values.min()), float(values.max())
        for kind in (np.int8, np.int16):
            info = np.iinfo(kind)
            if info.min <= low and high <= info.max:
                return values.astype(kind)
    return values.astype(np.float32)


def compact_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """Every column of ``frame`` through :func:`_compact` (same values, smaller types)."""
    return pd.DataFrame({c: _compact(frame[c].to_numpy(dtype="float64")) for c in frame.columns},
                        index=frame.index)


def build_features(
    grid: pd.DataFrame,
    series: pd.DataFrame,
    data: DemandData,
    freq: str,
    max_event_names: int = 8,
    sales_prices: bool = True,
) -> pd.DataFrame:
    """Signal features for every row of ``grid`` (``unique_id, ds``), history and future.

    ``series`` maps ``unique_id`` to ``sku, channel, category``. Returns a frame with the
    grid's index and one float column per feature; flags of periods longer than a day are
    the share of the period's days on which they hold. ``sales_prices=False`` builds the
    price features from the (planned) prices table only: prices read off past sales include
    promotion and livestream discounts that are not known for future periods, so a model
    trained on them learns the lift from the price and forecasts none.
    """
    days = _DayGrid(grid, series, freq)
    cols = _Columns(days)
    _promotion_features(cols, series, data.promotions)
    _livestream_features(cols, series, data.livestreams)
    _event_features(cols, series, data.events, max_event_names)
    _price_features(cols, series, data.prices, data.sales if sales_prices else None)
    values = cols.finished()
    if not values:
        return pd.DataFrame(index=grid.index)
    sid, day = days.day_rows()
    if to_offset(freq).name == "D":
        pos, inside = days.positions(days.grid_codes, days.grid_days)
        if not inside.all():
            raise ValueError("grid rows fall outside the day grid")
        # One column at a time, each freed once compacted.
        out = {name: _compact(values.pop(name)[pos]) for name in list(values)}
        return pd.DataFrame(out, index=grid.index)
    # Coarser periods: average the days of each period, summing counts of units and viewers.
    day_index = pd.DatetimeIndex(day * 86_400_000_000_000)
    keys = pd.DataFrame({"sid": sid, "ds": period_labels(day_index, freq)})
    frame = pd.concat([keys, pd.DataFrame(values)], axis=1)
    sums = [c for c in frame.columns if c in ("live_planned_units", "live_expected_viewers")]
    means = [c for c in values if c not in sums]
    agg = frame.groupby(["sid", "ds"])[means].mean()
    if sums:
        agg = agg.join(frame.groupby(["sid", "ds"])[sums].sum())
    target = pd.MultiIndex.from_arrays([days.grid_codes, pd.DatetimeIndex(grid["ds"])],
                                       names=["sid", "ds"])
    reindexed = agg.reindex(target)
    reindexed.index = grid.index
    return compact_columns(reindexed.fillna(0.0))
