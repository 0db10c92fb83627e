"""Suspected stockouts: runs of zero or collapsed sales that a series' own rate cannot explain.

A stockout or a listing problem (the product page down, the SKU unlisted on one channel) that
the data does not flag looks like low demand: 21 days of zero sales on a SKU selling 100 a day
cut its forecast by three quarters and its order vanished. This module finds such runs so the
engine censors them exactly like flagged stockouts (:mod:`forecasting.censoring`) and reports
them (:data:`DATA_QUALITY_COLUMNS`) for planners to check.

A period is *low* when it sells at most :data:`COLLAPSE_SHARE` (20%) of the series' rate: the
mean of its last :func:`reference_periods` usable periods before it (8 weeks; flagged
stockouts and closures are not usable). A run of consecutive low periods is suspected when its
total is too small for that rate: under a negative binomial with the rate as mean and the
dispersion of the same reference periods (at least :data:`MIN_DISPERSION`; the rate taken at
the 5% lower bound, :data:`RATE_CONFIDENCE`, given the units those periods sold, so a slow
mover's seven sales in eight weeks do not make a long quiet spell look rare), or under the
series' own share of low periods (taken as independent), whichever is larger, the probability
of selling so little for so long is below :data:`FAMILY_PROBABILITY` (1e-3) once multiplied
by the number of usable periods of the series (a series of 700 days has 700 chances to show a
rare run; a genuinely intermittent series with 70% zero days needs about 40 zero days in a row
before it is flagged, a series selling 80 a day two). The share floor keeps natural zeros
from being read as stockouts however well a Poisson rate would explain them. The rate is
re-estimated once without the runs found first, so a long collapse is measured against the
rate before it, not against its own first weeks. A run is not suspected when the same periods
a year earlier sold under :data:`SEASONAL_SHARE` (half) of the rate: a seasonal product out
of season (Walmart's seasonal departments sell nothing for months) is not out of stock.

Stock on hand at the origin (the ``inventory`` snapshot, warehouses summed) qualifies a run
that reaches the origin: none on hand confirms a stockout (the run needs only a probability
below :data:`CONFIRMED_PROBABILITY`, 0.05, without the multiplication), stock on hand with no
sales points at the listing. A run longer than :data:`MAX_DAYS` (91) is reported as
``dormant`` and not censored: a quarter without sales is a discontinued, seasonal or
delisted SKU to confirm, not demand to forecast at its old rate. SKUs whose product
``status`` says they are no longer sold (:data:`STOPPED_STATUSES`) are never suspected: on
the sample brand every run found before this rule (51 of 1,174 series) was a discontinued SKU.
Periods before a series' first sale (the panel zero-fills from a launch date) are not used:
they made a SKU launched years before its history look mostly idle, and hid its stockouts.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

import numpy as np
import pandas as pd
from scipy.stats import gamma, nbinom

__all__ = [
    "COLLAPSE_SHARE",
    "CONFIRMED_PROBABILITY",
    "DATA_QUALITY_COLUMNS",
    "FAMILY_PROBABILITY",
    "MAX_DAYS",
    "MIN_DISPERSION",
    "RATE_CONFIDENCE",
    "REASONS",
    "SEASONAL_SHARE",
    "STOPPED_STATUSES",
    "on_hand_by_sku",
    "reference_periods",
    "stopped_skus",
    "suspected_stockouts",
]

COLLAPSE_SHARE = 0.2
FAMILY_PROBABILITY = 1e-3
CONFIRMED_PROBABILITY = 0.05
MIN_DISPERSION = 0.05
SEASONAL_SHARE = 0.5
RATE_CONFIDENCE = 0.05
STOPPED_STATUSES = frozenset({"discontinued", "inactive", "delisted"})
MAX_DAYS = 91
_REFERENCE_DAYS = 56
DATA_QUALITY_COLUMNS = [
    "sku", "channel", "start", "end", "days", "expected_units", "sold_units", "probability",
    "on_hand", "reason", "censored",
]
# stockout: the run reaches the origin with none on hand; listing: it reaches the origin with
# stock on hand; unknown_stock: sales resumed after it, or stock is unknown; dormant: longer
# than MAX_DAYS (reported, not censored).
REASONS = ("stockout", "listing", "unknown_stock", "dormant")


def reference_periods(days_per_period: int) -> int:
    """Periods whose mean is a series' rate: 8 weeks (56 days, 8 weeks, at least 8)."""
    return max(8, _REFERENCE_DAYS // max(days_per_period, 1))


def stopped_skus(products: pd.DataFrame | None) -> frozenset[str]:
    """SKUs whose ``status`` says they are no longer sold (:data:`STOPPED_STATUSES`)."""
    if products is None or products.empty or "status" not in products:
        return frozenset()
    status = products["status"].astype("string").str.strip().str.lower()
    return frozenset(products.loc[status.isin(list(STOPPED_STATUSES)).fillna(False).to_numpy(),
                                  "sku"].astype(str))


def on_hand_by_sku(inventory: pd.DataFrame | None) -> dict[str, float]:
    """Units on hand per SKU (warehouses summed) from an ``inventory`` table, if any."""
    if inventory is None or inventory.empty or "on_hand" not in inventory:
        return {}
    totals = inventory.groupby(inventory["sku"].astype(str))["on_hand"].sum()
    return {str(k): float(v) for k, v in totals.items()}


def _trailing(y: np.ndarray, keep: np.ndarray, first: np.ndarray, window: int,
              min_count: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean, variance and count of the last ``window`` kept values strictly before each row
    of the same series (rows grouped by series; ``first`` = each row's series start); NaN
    where fewer than ``min_count`` are kept."""
    kept_before = np.r_[0, np.cumsum(keep)]
    values = y[keep]
    s1 = np.r_[0.0, np.cumsum(values)]
    s2 = np.r_[0.0, np.cumsum(values * values)]
    before = kept_before[:-1]
    lo = np.maximum(before - window, kept_before[first])
    count = (before - lo).astype("float64")
    ok = count >= min_count
    safe = np.where(ok, count, 1.0)
    mean = (s1[before] - s1[lo]) / safe
    var = np.maximum((s2[before] - s2[lo]) / safe - mean * mean, 0.0)
    return np.where(ok, mean, np.nan), np.where(ok, var, np.nan), count


def _runs(flag: np.ndarray, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First and last row of every maximal run of flagged rows within a series."""
    if not flag.any():
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    prev_same = np.r_[False, flag[:-1] & (codes[1:] == codes[:-1])]
    next_same = np.r_[flag[1:] & (codes[1:] == codes[:-1]), False]
    return np.flatnonzero(flag & ~prev_same), np.flatnonzero(flag & ~next_same)


def _run_probability(sold: np.ndarray, periods: np.ndarray, rate: np.ndarray,
                     variance: np.ndarray, low_share: np.ndarray) -> np.ndarray:
    """P(a run of ``periods`` sells at most ``sold``): negative binomial with the rate as
    mean and the reference dispersion, floored at the series' own share of low periods."""
    alpha = np.maximum((variance - rate) / np.maximum(rate, 1e-9) ** 2, MIN_DISPERSION)
    shape = periods / alpha
    p = shape / (shape + periods * rate)
    counted = nbinom.cdf(np.floor(sold), shape, p)
    return np.maximum(counted, low_share ** periods)


def _seasonal(y: np.ndarray, kept: np.ndarray, first: np.ndarray, start: np.ndarray,
              end: np.ndarray, rate: np.ndarray, year: int) -> np.ndarray:
    """Runs whose same periods a year earlier sold under half the rate (out of season)."""
    ks = np.r_[0.0, np.cumsum(np.where(kept, y, 0.0))]
    kc = np.r_[0, np.cumsum(kept)]
    lo, hi = start - year, end - year + 1
    valid = lo >= first[start]
    lo, hi = np.where(valid, lo, 0), np.where(valid, hi, 0)
    count = kc[hi] - kc[lo]
    mean = (ks[hi] - ks[lo]) / np.maximum(count, 1)
    return valid & (count >= 0.5 * (end - start + 1)) & (mean < SEASONAL_SHARE * rate)


def _detect(y: np.ndarray, usable: np.ndarray, excluded: np.ndarray, codes: np.ndarray,
            first: np.ndarray, window: int, year: int) -> dict[str, np.ndarray]:
    """One pass: low runs against the rate of usable, non-excluded periods."""
    rate, variance, count = _trailing(y, usable & ~excluded, first, window,
                                      max(4, window // 2))
    # A rate of zero keeps zeros low (0 <= 0), so a long zero run is one run, not one per
    # reference window; a run starting at a zero rate is never suspected (probability 1).
    low = usable & ~np.isnan(rate) & (y <= COLLAPSE_SHARE * np.nan_to_num(rate))
    start, end = _runs(low, codes)
    periods = (end - start + 1).astype("float64")
    csum = np.r_[0.0, np.cumsum(y)]
    sold = csum[end + 1] - csum[start]
    n_usable = np.bincount(codes, weights=usable.astype(float))[codes[start]]
    n_low = np.bincount(codes, weights=low.astype(float))[codes[start]]
    share = (n_low - periods + 0.5) / np.maximum(n_usable - periods + 1.0, 1.0)
    # The rate is measured on a few weeks: test against its cautious value, the 5% lower
    # bound given the units sold then (7 sales in 8 weeks say little, 4,000 say a lot).
    n_ref = np.maximum(count[start], 1.0)
    cautious = gamma.ppf(RATE_CONFIDENCE, np.maximum(rate[start] * n_ref, 1e-9),
                         scale=1.0 / n_ref)
    probability = _run_probability(sold, periods, cautious, variance[start],
                                   np.clip(share, 0.0, 1.0))
    seasonal = _seasonal(y, usable, first, start, end, rate[start], year)
    probability = np.where(seasonal, 1.0, probability)
    return {"start": start, "end": end, "periods": periods, "sold": sold, "rate": rate[start],
            "probability": probability, "n_usable": n_usable}


def suspected_stockouts(
    history: pd.DataFrame,
    series: pd.DataFrame,
    days_per_period: int,
    on_hand: Mapping[str, float] | None = None,
    stopped: Collection[str] = (),
) -> tuple[pd.DataFrame, np.ndarray]:
    """The data-quality table (:data:`DATA_QUALITY_COLUMNS`, one row per suspected run) and a
    mask of the ``history`` rows to censor.

    ``history``: ``unique_id, ds, y, censored`` sorted by series then date, contiguous, ending
    at the origin (already censored rows, flagged stockouts and closures, are neither counted
    in the rate nor flagged again); ``series``: ``unique_id, sku, channel``; ``on_hand``: units
    per SKU at the origin, where known; ``stopped``: SKUs no longer sold (discontinued,
    inactive, delisted), whose zeros are explained and never suspected.
    """
    y = history["y"].to_numpy(dtype="float64")
    stopped_ids = series.loc[series["sku"].astype(str).isin(set(stopped)), "unique_id"]
    codes = pd.factorize(history["unique_id"], sort=False)[0]
    # Periods before a series' first sale (zero-filled from a launch date) show no rate.
    selling = pd.Series(y > 0).groupby(codes).cummax().to_numpy(dtype=bool)
    usable = (~history["censored"].to_numpy(dtype=bool) & selling
              & ~history["unique_id"].isin(stopped_ids).to_numpy())
    new = np.r_[True, codes[1:] != codes[:-1]] if len(codes) else np.zeros(0, dtype=bool)
    first = np.flatnonzero(new)[np.cumsum(new) - 1] if len(codes) else codes
    window = reference_periods(days_per_period)
    year = 52 if days_per_period == 7 else max(364 // max(days_per_period, 1), 1)
    found = _detect(y, usable, np.zeros(len(y), dtype=bool), codes, first, window, year)
    flagged = _flagged(found, codes, history, on_hand, days_per_period, series)
    excluded = np.zeros(len(y), dtype=bool)
    for s, e in zip(found["start"][flagged], found["end"][flagged], strict=True):
        excluded[s:e + 1] = True
    if excluded.any():
        found = _detect(y, usable, excluded, codes, first, window, year)
        flagged = _flagged(found, codes, history, on_hand, days_per_period, series)
    table = _table(found, flagged, history, series, on_hand, days_per_period)
    mask = np.zeros(len(y), dtype=bool)
    for s, e, censor in zip(found["start"][flagged], found["end"][flagged], table["censored"],
                            strict=True):
        if censor:
            mask[s:e + 1] = True
    return table, mask


def _open_and_stock(found: dict[str, np.ndarray], codes: np.ndarray, history: pd.DataFrame,
                    on_hand: Mapping[str, float] | None, series: pd.DataFrame
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Per run: whether it reaches the origin (the series' last row) and its SKU's stock."""
    last = np.r_[codes[1:] != codes[:-1], True] if len(codes) else np.zeros(0, dtype=bool)
    reaches = last[found["end"]]
    sku = history["unique_id"].iloc[found["start"]].map(
        series.set_index("unique_id")["sku"]).astype(str)
    stock = sku.map(dict(on_hand or {})).to_numpy(dtype="float64")
    return reaches, stock


def _flagged(found: dict[str, np.ndarray], codes: np.ndarray, history: pd.DataFrame,
             on_hand: Mapping[str, float] | None, days_per_period: int,
             series: pd.DataFrame) -> np.ndarray:
    reaches, stock = _open_and_stock(found, codes, history, on_hand, series)
    confirmed = reaches & (stock <= 0)
    family = found["probability"] * found["n_usable"] < FAMILY_PROBABILITY
    return family | (confirmed & (found["probability"] < CONFIRMED_PROBABILITY))


def _table(found: dict[str, np.ndarray], flagged: np.ndarray, history: pd.DataFrame,
           series: pd.DataFrame, on_hand: Mapping[str, float] | None,
           days_per_period: int) -> pd.DataFrame:
    codes = pd.factorize(history["unique_id"], sort=False)[0]
    reaches, stock = _open_and_stock(found, codes, history, on_hand, series)
    start, end = found["start"][flagged], found["end"][flagged]
    days = (found["periods"][flagged] * days_per_period).astype(int)
    reaches, stock = reaches[flagged], stock[flagged]
    dormant = days > MAX_DAYS
    reason = np.where(dormant, "dormant", np.where(
        reaches & (stock <= 0), "stockout", np.where(reaches & (stock > 0), "listing",
                                                     "unknown_stock")))
    ids = history["unique_id"].to_numpy()[start]
    lookup = series.set_index("unique_id")
    ds = history["ds"]
    offset = pd.Timedelta(days=days_per_period - 1)
    table = pd.DataFrame({
        "sku": lookup["sku"].reindex(ids).to_numpy(),
        "channel": lookup["channel"].reindex(ids).to_numpy(),
        "start": ds.iloc[start].reset_index(drop=True) - offset,
        "end": ds.iloc[end].reset_index(drop=True),
        "days": days,
        "expected_units": np.round(found["rate"][flagged] * found["periods"][flagged], 1),
        "sold_units": found["sold"][flagged],
        "probability": found["probability"][flagged],
        "on_hand": stock,
        "reason": reason,
        "censored": ~dormant,
    })
    return table[DATA_QUALITY_COLUMNS].reset_index(drop=True)
