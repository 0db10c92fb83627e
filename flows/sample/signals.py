"""The sample brand's demand signals: price changes, SKU promotions and Douyin livestreams.

Each signal is drawn once and kept in two forms: the table a planner sees (``prices``,
``promotions``, ``livestreams``) and the arrays the demand model multiplies in, so the tables
explain the demand exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from flows.sample.calendar import CHANNELS, DOUYIN
from flows.sample.catalog import CATEGORIES, Catalog

__all__ = ["CHANNEL_PRICE", "LIVESTREAM_DISCOUNT", "Signals", "make_signals"]

# Regular price per channel relative to the list price (Douyin and the mini-program undercut).
CHANNEL_PRICE = np.array([1.0, 1.0, 0.97, 0.95])
LIVESTREAM_DISCOUNT = 0.2
_DIP_DAYS = 7
_DISCOUNTS = (0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5)
_DURATIONS = (3, 4, 5, 7, 10)
_PRESALE_FESTIVALS = ((6, 18, 17), (11, 11, 22))  # month, day, pre-sale days


@dataclass(frozen=True)
class _Host:
    name: str
    daily_chance: float
    viewers: tuple[float, float]
    multiplier: tuple[float, float]
    skus: tuple[int, int]
    start_hour: float


# Featured SKUs sell 10-50x a normal Douyin day, more with a bigger host.
_HOSTS = (
    _Host("品牌官方直播间", 0.25, (2e4, 8e4), (12, 20), (1, 2), 14.0),
    _Host("美妆达人小鹿", 0.05, (3e5, 9e5), (18, 35), (1, 3), 19.0),
    _Host("护肤博主阿杰", 0.05, (3e5, 9e5), (18, 35), (1, 3), 20.0),
    _Host("种草姐妹花", 0.04, (2e5, 6e5), (15, 30), (1, 3), 19.5),
    _Host("头部主播橙子", 0.015, (2e6, 6e6), (30, 50), (2, 4), 19.5),
)


@dataclass(frozen=True)
class Signals:
    """Signal tables and their effect arrays.

    ``discount[s, c, n]`` is the deepest promotion discount active, ``dip[s, c, n]`` the
    post-promotion dip (a share of demand lost), ``live[s, n]`` the livestream multiplier on
    Douyin (0 without a livestream) and ``regular_price[s, n]`` the list price path.
    """

    promotions: pd.DataFrame
    livestreams: pd.DataFrame
    prices: pd.DataFrame
    discount: NDArray[np.float64]
    dip: NDArray[np.float64]
    live: NDArray[np.float64]
    regular_price: NDArray[np.float64]

    def selling_price(self) -> NDArray[np.float64]:
        """Price paid per unit (sku, channel, day): regular price less promotion discounts,
        and the livestream deal on Douyin."""
        # Rounded like the prices table, so an undiscounted sale shows the listed price.
        regular = np.round(self.regular_price[:, None, :] * CHANNEL_PRICE[None, :, None], 2)
        price = regular * (1 - self.discount)
        price[:, DOUYIN] *= np.where(self.live > 0, 1 - LIVESTREAM_DISCOUNT, 1.0)
        return np.round(price, 2)


def _price_paths(rng: np.random.Generator, catalog: Catalog, dates: pd.DatetimeIndex,
                 history_days: int) -> tuple[NDArray[np.float64], pd.DataFrame]:
    """List price per (sku, day), ending at the catalogue price; changes only in the past."""
    n_skus, n_days = len(catalog.base), len(dates)
    first_sale = np.clip(catalog.launch, 0, None)
    path = np.tile(catalog.list_price[:, None], (1, n_days))
    rows = []
    for s in range(n_skus):
        if first_sale[s] >= history_days:
            continue
        lo = int(first_sale[s]) + 30
        count = rng.poisson(0.4 * history_days / 365) if lo < history_days - 7 else 0
        # At most one change a day: a SKU launched weeks before the end has few days left
        # (the 10,000-SKU brand drew more changes than days; smaller brands are unchanged).
        count = min(count, max(history_days - 7 - lo, 0))
        change_days = np.sort(rng.choice(np.arange(lo, history_days - 7), size=count,
                                         replace=False)) if count else np.array([], dtype=int)
        factors = np.where(rng.random(count) < 0.7, rng.uniform(1.05, 1.15, count),
                           rng.uniform(0.85, 0.95, count))
        # Walk back from today's list price so the last change lands on the catalogue price.
        for day, factor in zip(change_days[::-1], factors[::-1], strict=True):
            path[s, :day] = np.floor(path[s, day] / factor) + 0.9
        for day in (int(first_sale[s]), *change_days.tolist()):
            for c, channel in enumerate(CHANNELS):
                price = float(np.round(path[s, day] * CHANNEL_PRICE[c], 2))
                rows.append((dates[day], catalog.products["sku"].iat[s], price, channel))
    prices = pd.DataFrame(rows, columns=["date", "sku", "price", "channel"])
    return path, prices.sort_values(["date", "sku", "channel"], kind="stable",
                                     ignore_index=True)


class _PromotionBook:
    """Collects promotion rows and writes their discount and dip into the effect arrays."""

    def __init__(self, catalog: Catalog, dates: pd.DatetimeIndex) -> None:
        shape = (len(catalog.base), len(CHANNELS), len(dates))
        self.catalog = catalog
        self.dates = dates
        self.discount = np.zeros(shape)
        self.dip = np.zeros(shape)
        self.rows: list[dict[str, object]] = []

    def add(self, skus: NDArray[np.int64], channel: int | None, start: int, end: int,
            discount: float, kind: str, *, sku: str | None = None,
            category: str | None = None) -> None:
        n_days = len(self.dates)
        start, end = max(start, 0), min(end, n_days - 1)
        if start > end or len(skus) == 0:
            return
        channels = slice(None) if channel is None else slice(channel, channel + 1)
        active = (skus, channels, slice(start, end + 1))
        self.discount[active] = np.maximum(self.discount[active], discount)
        lift = (1 - discount) ** -self.catalog.elasticity[skus]
        depth = 0.5 * (1 - 1 / lift)  # shoppers stocked up: a deeper deal, a deeper dip
        after = np.arange(end + 1, min(end + 1 + _DIP_DAYS, n_days))
        if len(after):
            fade = 1 - (after - end - 1) / _DIP_DAYS
            window = (skus, channels, slice(after[0], after[-1] + 1))
            self.dip[window] = np.maximum(self.dip[window],
                                          depth[:, None, None] * fade[None, None, :])
        self.rows.append({
            "start": self.dates[start], "end": self.dates[end], "kind": kind, "sku": sku,
            "category": category, "channel": None if channel is None else CHANNELS[channel],
            "discount": discount,
        })

    def frame(self) -> pd.DataFrame:
        columns = ["start", "end", "kind", "sku", "category", "channel", "discount"]
        frame = pd.DataFrame(self.rows, columns=columns)
        return frame.sort_values(["start", "sku", "category", "channel"], kind="stable",
                                 na_position="first", ignore_index=True)


def _sku_promotions(rng: np.random.Generator, book: _PromotionBook, alive_from: NDArray[np.int64],
                    alive_to: NDArray[np.int64], last_start: int) -> None:
    catalog = book.catalog
    skus = catalog.products["sku"].to_numpy()
    mix = catalog.share
    for s in range(len(skus)):
        lo, hi = int(alive_from[s]) + 14, min(int(alive_to[s]) - 3, last_start)
        if lo >= hi:
            continue
        yearly = 6.0 if catalog.base[s] >= 1 else 2.0
        for _ in range(rng.poisson(yearly * (hi - lo) / 365)):
            start = int(rng.integers(lo, hi))
            duration = int(rng.choice(_DURATIONS))
            discount = float(rng.choice(_DISCOUNTS))
            channel = None if rng.random() < 0.3 else int(rng.choice(len(CHANNELS), p=mix[s]))
            kind = "flash_sale" if discount >= 0.35 else str(rng.choice(["discount", "coupon"]))
            book.add(np.array([s]), channel, start, start + duration - 1, discount, kind,
                     sku=str(skus[s]))


def _category_promotions(rng: np.random.Generator, book: _PromotionBook, last_start: int) -> None:
    catalog = book.catalog
    for code, cat in enumerate(CATEGORIES):
        members = np.flatnonzero(catalog.category == code)
        for _ in range(rng.poisson(3 * last_start / 365)):
            start = int(rng.integers(0, last_start))
            duration = int(rng.integers(3, 8))
            discount = float(rng.choice([0.1, 0.15, 0.2]))
            book.add(members, int(rng.integers(len(CHANNELS))), start, start + duration - 1,
                     discount, "coupon", category=cat.name)


def _presale_promotions(rng: np.random.Generator, book: _PromotionBook,
                        alive_from: NDArray[np.int64], alive_to: NDArray[np.int64],
                        last_start: int) -> None:
    """Hero SKUs take deposits on Tmall and JD for 618 and Double 11 at a festival price."""
    catalog, dates = book.catalog, book.dates
    heroes = np.flatnonzero(catalog.base >= np.quantile(catalog.base, 0.85))
    skus = catalog.products["sku"].to_numpy()
    for year in range(dates[0].year, dates[-1].year + 1):
        for month, day, presale_days in _PRESALE_FESTIVALS:
            peak = int((pd.Timestamp(year=year, month=month, day=day) - dates[0]).days)
            start = peak - presale_days
            if start > last_start or peak < 0:
                continue
            for s in heroes:
                if not (alive_from[s] <= start and peak < alive_to[s]):
                    continue
                discount = float(rng.choice([0.2, 0.25, 0.3]))
                for channel in (CHANNELS.index("tmall"), CHANNELS.index("jd")):
                    book.add(np.array([s]), channel, start, peak, discount, "presale",
                             sku=str(skus[s]))


def _livestreams(rng: np.random.Generator, catalog: Catalog, dates: pd.DatetimeIndex,
                 festival: NDArray[np.float64], closed: NDArray[np.bool_], last_start: int
                 ) -> tuple[pd.DataFrame, NDArray[np.float64]]:
    """Douyin livestreams up to ``last_start``; more of them in festival build-ups."""
    n_skus = len(catalog.base)
    live = np.zeros((n_skus, len(dates)))
    douyin_rate = catalog.base * catalog.share[:, DOUYIN]
    eligible = douyin_rate >= 0.3
    alive = catalog.alive(len(dates))
    skus = catalog.products["sku"].to_numpy()
    rows = []
    for day in range(last_start + 1):
        candidates = np.flatnonzero(eligible & alive[:, day])
        if len(candidates) == 0 or closed[day]:  # no livestreams while couriers stop
            continue
        boost = 3.0 if festival[DOUYIN, day] > 1.3 else 1.0
        weights = douyin_rate[candidates] ** 0.8
        for host in _HOSTS:
            if rng.random() >= min(host.daily_chance * boost, 0.9):
                continue
            count = min(int(rng.integers(host.skus[0], host.skus[1] + 1)), len(candidates))
            featured = rng.choice(candidates, size=count, replace=False,
                                  p=weights / weights.sum())
            start = dates[day] + pd.Timedelta(hours=host.start_hour
                                              + 0.5 * int(rng.integers(0, 3)))
            end = start + pd.Timedelta(hours=int(rng.integers(2, 5)))
            viewers = float(np.round(rng.uniform(*host.viewers), -3))
            for s in np.sort(featured):
                multiplier = rng.uniform(*host.multiplier)
                live[s, day] = max(live[s, day], multiplier)
                rows.append({"start": start, "end": end, "channel": "douyin", "sku": skus[s],
                             "host": host.name, "expected_viewers": viewers,
                             "planned_units": np.nan, "_sku_index": s, "_day": day})
    columns = ["start", "end", "channel", "sku", "host", "expected_viewers", "planned_units",
               "_sku_index", "_day"]
    return pd.DataFrame(rows, columns=columns), live


def make_signals(rng: np.random.Generator, catalog: Catalog, dates: pd.DatetimeIndex,
                 history_days: int, festival: NDArray[np.float64], closed: NDArray[np.bool_],
                 calendar_days: int) -> Signals:
    """Draw prices, promotions and livestreams. Promotions and livestreams are planned up to
    ``calendar_days`` after the as-of date, and all of them are published."""
    last_start = min(history_days - 1 + calendar_days, len(dates) - 1)
    regular_price, prices = _price_paths(rng, catalog, dates, history_days)
    alive_from = np.clip(catalog.launch, 0, None)
    alive_to = np.minimum(catalog.end, len(dates))
    book = _PromotionBook(catalog, dates)
    _sku_promotions(rng, book, alive_from, alive_to, last_start)
    _category_promotions(rng, book, last_start)
    _presale_promotions(rng, book, alive_from, alive_to, last_start)
    livestreams, live = _livestreams(rng, catalog, dates, festival, closed, last_start)
    return Signals(book.frame(), livestreams, prices, book.discount, book.dip, live,
                   regular_price)
