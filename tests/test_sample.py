"""The sample brand: deterministic, valid against the contract, and shaped like real demand."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from flows.commands import main
from flows.errors import UserError
from flows.sample import CHANNELS, SampleBrand, generate_brand, write_brand
from flows.storage.sources.folder import read_folder
from replenishment.contract import parse_dataset

SKUS, DAYS = 40, 400


@pytest.fixture(scope="module")
def brand() -> SampleBrand:
    return generate_brand(seed=7, skus=SKUS, days=DAYS)


@pytest.fixture(scope="module")
def truth(brand: SampleBrand) -> pd.DataFrame:
    """True demand beside what was sold: one row per (date, sku, channel) of the history."""
    history = brand.true_demand[brand.true_demand["date"] <= brand.as_of]
    sales = brand.tables["sales"][["date", "sku", "channel", "units", "stockout"]]
    merged = history.merge(sales, on=["date", "sku", "channel"], how="left")
    return merged.fillna({"units": 0, "stockout": 0})


def _digests(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _days(start: pd.Series, end: pd.Series) -> pd.DataFrame:
    """One row per day of each [start, end] span, keeping the span's index."""
    frame = pd.DataFrame({"start": start.dt.normalize(), "end": end.dt.normalize()})
    spans = [pd.date_range(a, b) for a, b in zip(frame["start"], frame["end"], strict=True)]
    return frame.assign(date=pd.Series(spans, index=frame.index, dtype=object)).explode("date")


@dataclass
class Grid:
    """True demand and the signals touching it as (sku, channel, day) arrays."""

    skus: pd.Index
    dates: pd.DatetimeIndex
    demand: np.ndarray
    promotions: np.ndarray  # promotions running
    near_promotion: np.ndarray  # a promotion runs from the day before to 8 days after
    live: np.ndarray  # a livestream features the SKU (Douyin only)
    event: np.ndarray  # (day,): an event, the day before it, or its week after

    def day(self, when: pd.Timestamp) -> int:
        return int((when - self.dates[0]).days)

    def ordinary(self) -> np.ndarray:
        return ~(self.near_promotion | self.live | self.event[None, None, :])

    def normal(self) -> np.ndarray:
        """Mean demand of each (sku, channel) on ordinary days."""
        ordinary = self.ordinary()
        return (self.demand * ordinary).sum(axis=2) / np.maximum(ordinary.sum(axis=2), 1)


@pytest.fixture(scope="module")
def grid(brand: SampleBrand) -> Grid:
    truth = brand.true_demand
    products = brand.tables["products"]
    skus = pd.Index(products["sku"])
    dates = pd.date_range(truth["date"].min(), truth["date"].max())
    shape = (len(skus), len(CHANNELS), len(dates))
    demand = np.zeros(shape)
    demand[skus.get_indexer(pd.Index(truth["sku"])),
           pd.Index(CHANNELS).get_indexer(pd.Index(truth["channel"])),
           dates.get_indexer(pd.Index(truth["date"]))] = truth["demand"]
    promotions, near = np.zeros(shape), np.zeros(shape, dtype=bool)
    for promo in brand.tables["promotions"].to_dict("records"):
        if promo["sku"]:
            rows = skus.get_indexer(pd.Index([promo["sku"]]))
        elif promo["category"]:
            rows = np.flatnonzero(products["category"] == promo["category"])
        else:
            rows = np.arange(len(skus))
        channels = [CHANNELS.index(promo["channel"])] if promo["channel"] else list(range(4))
        start, end = (int((promo[k] - dates[0]).days) for k in ("start", "end"))
        for c in channels:
            promotions[rows, c, start:end + 1] += 1
            near[rows, c, max(start - 1, 0):end + 9] = True
    live = np.zeros(shape, dtype=bool)
    streams = brand.tables["livestreams"]
    live[skus.get_indexer(pd.Index(streams["sku"])), CHANNELS.index("douyin"),
         dates.get_indexer(pd.Index(streams["start"].dt.normalize()))] = True
    events = brand.tables["events"]
    event_days = _days(events["start"] - pd.Timedelta(days=1),
                       events["end"] + pd.Timedelta(days=8))["date"]
    return Grid(skus, dates, demand, promotions, near, live, dates.isin(event_days))


def test_same_seed_writes_byte_identical_files(tmp_path: Path) -> None:
    first = write_brand(generate_brand(seed=3, skus=20, days=150), tmp_path / "a")
    again = write_brand(generate_brand(seed=3, skus=20, days=150), tmp_path / "b")
    other = write_brand(generate_brand(seed=4, skus=20, days=150), tmp_path / "c")
    assert _digests(first) == _digests(again)
    assert _digests(first)["sales.csv"] != _digests(other)["sales.csv"]


def test_written_brand_passes_the_contract(brand: SampleBrand, tmp_path: Path) -> None:
    folder = write_brand(brand, tmp_path / "brand")
    raw = read_folder(folder)
    assert set(raw) == {"sales", "products", "suppliers", "inventory", "open_orders",
                        "promotions", "livestreams", "events", "prices", "commitments",
                        "presales", "returns", "warehouses"}
    data = parse_dataset(raw, require=("sales", "products", "suppliers", "inventory"))
    sales = data.demand.sales
    assert set(sales["channel"]) == set(CHANNELS)
    # Exports omit zero days: every row sold something or records a stockout.
    assert ((sales["units"] > 0) | (sales["stockout"] == 1)).all()
    assert raw["livestreams"][0]["start"].str.endswith("+08:00").all()
    assert data.demand.livestreams["start"].equals(brand.tables["livestreams"]["start"])
    assert data.supply.products["name"].str.contains("[\u4e00-\u9fff]").all()
    assert (folder / "truth" / "true_demand.parquet").exists()
    assert (folder / "truth" / "purchase_orders.parquet").exists()


def test_the_purchase_order_history_shows_the_open_orders_of_any_evening(
    brand: SampleBrand,
) -> None:
    """The lines placed by the as-of evening and received after it are ``open_orders``;
    on any evening, the receipts after it of the lines placed by it are what the stock
    history receives later from them."""
    orders = brand.purchase_orders
    open_now = orders[(orders["order_date"] <= brand.as_of) & (orders["eta"] > brand.as_of)]
    table = brand.tables["open_orders"]
    key = ["po_id", "sku", "qty", "eta"]
    pd.testing.assert_frame_equal(
        open_now[key].sort_values(key, ignore_index=True),
        table[key].sort_values(key, ignore_index=True), check_dtype=False)
    received = brand.stock.groupby("date")["received"].sum()
    arrived = orders.groupby("eta")["qty"].sum().reindex(received.index).fillna(0.0)
    assert np.allclose(received.to_numpy(), arrived.to_numpy())


def test_festivals_lift_demand_with_a_presale_build_up(brand: SampleBrand) -> None:
    daily = brand.true_demand.groupby("date")["demand"].sum()
    def window(first: str, last: str) -> pd.Series:
        return daily[(daily.index >= first) & (daily.index <= last)]

    normal = window("2025-09-29", "2025-10-15").mean()
    assert daily["2025-11-11"] > 4 * normal
    assert daily["2026-06-18"] > 2.5 * normal
    assert window("2025-11-01", "2025-11-09").mean() > 1.15 * normal  # Double 11 pre-sale
    assert window("2026-02-11", "2026-02-21").median() < 0.5 * normal  # logistics pause
    events = brand.tables["events"]
    assert {"双11", "双11预售", "618", "双12", "春节物流暂停"} <= set(events["name"])
    assert (events.loc[events["name"] == "春节物流暂停", "kind"] == "closure").all()
    assert (events.loc[events["name"] == "抖音年货节", "channel"] == "douyin").all()


def test_livestreams_sell_ten_times_a_normal_douyin_day(brand: SampleBrand, grid: Grid) -> None:
    douyin = CHANNELS.index("douyin")
    normal = grid.normal()[:, douyin]
    on_air = grid.live[:, douyin]
    featured = np.flatnonzero(on_air.any(axis=1))
    assert on_air.sum() >= 20
    live_mean = np.array([grid.demand[s, douyin, on_air[s]].mean() for s in featured])
    ratio = live_mean / normal[featured]
    assert np.median(ratio) >= 10
    assert (ratio >= 10).mean() >= 0.8
    streams = brand.tables["livestreams"]
    assert (streams["channel"] == "douyin").all()
    assert (streams["end"] > streams["start"]).all()
    assert (streams["planned_units"] > 0).all()


def test_promotion_lift_grows_with_discount_and_dips_after(brand: SampleBrand,
                                                          grid: Grid) -> None:
    normal = grid.normal()
    calm = ~grid.live & ~grid.event[None, None, :]
    alone = (grid.promotions == 1) & calm  # no other promotion, livestream or festival
    unpromoted = (grid.promotions == 0) & calm
    # (units sold, units on a normal day) summed per discount depth, and after promotions
    lift_by_depth = {0.15: np.zeros(2), 0.3: np.zeros(2), 1.0: np.zeros(2)}
    after = np.zeros(2)
    promos = brand.tables["promotions"].dropna(subset=["sku"])
    for promo in promos.to_dict("records"):
        s = int(grid.skus.get_indexer(pd.Index([promo["sku"]]))[0])
        start, end = grid.day(promo["start"]), grid.day(promo["end"])
        channels = [CHANNELS.index(promo["channel"])] if promo["channel"] else range(4)
        for c in channels:
            days = np.arange(start, end + 1)[alone[s, c, start:end + 1]]
            bucket = lift_by_depth[min(k for k in lift_by_depth if promo["discount"] <= k)]
            bucket[0] += grid.demand[s, c, days].sum()
            bucket[1] += normal[s, c] * len(days)
            days = np.arange(end + 1, min(end + 5, len(grid.dates)))
            days = days[unpromoted[s, c, days]]
            after[0] += grid.demand[s, c, days].sum()
            after[1] += normal[s, c] * len(days)
    lift = [sold / expected for sold, expected in lift_by_depth.values()]
    assert lift == sorted(lift)
    assert lift[0] > 1.1
    assert lift[-1] > 2.5
    assert after[0] < 0.95 * after[1]


def test_stockouts_are_censored_where_stock_ran_out(brand: SampleBrand,
                                                   truth: pd.DataFrame) -> None:
    flagged = truth[truth["stockout"] == 1]
    assert len(flagged) > 50
    assert (flagged["units"] < flagged["demand"]).all()
    stock = brand.stock.set_index(["date", "sku"])["on_hand"]
    assert (stock.reindex(pd.MultiIndex.from_frame(flagged[["date", "sku"]])) == 0).all()
    served = truth[truth["stockout"] == 0]
    assert (served["units"] == served["demand"]).all()


def test_stock_moves_only_by_receipts_and_sales(brand: SampleBrand, truth: pd.DataFrame) -> None:
    stock = brand.stock.sort_values(["sku", "date"])
    sold = truth.groupby(["date", "sku"])["units"].sum()
    assert (stock.set_index(["date", "sku"])["sold"] == sold.reindex(
        stock.set_index(["date", "sku"]).index)).all()
    change = stock.groupby("sku")["on_hand"].diff().dropna()
    flow = (stock["received"] - stock["sold"]).loc[change.index]
    assert (change == flow).all()
    assert (stock["on_hand"] >= 0).all()
    assert (stock["received"] > 0).any()


def test_inventory_and_open_orders_match_the_simulation(brand: SampleBrand) -> None:
    last = brand.stock[brand.stock["date"] == brand.as_of].set_index("sku")["on_hand"]
    # The stock is split between the brand's and the platforms' warehouses; it adds up.
    inventory = brand.tables["inventory"].groupby("sku", sort=False)["on_hand"].sum()
    assert inventory.equals(last.reindex(inventory.index).astype(float))
    pools = brand.tables["inventory"].groupby("warehouse")["on_hand"].sum()
    assert set(pools.index) == {"华东仓", "京东FBP仓", "菜鸟仓"}
    assert (pools > 0).all()
    orders = brand.tables["open_orders"].merge(brand.tables["products"], on="sku",
                                               suffixes=("", "_product"))
    assert len(orders) > 0
    assert (orders["eta"] > brand.as_of).all()
    assert (orders["supplier"] == orders["supplier_product"]).all()
    assert (orders["qty"] % orders["case_pack"] == 0).all()
    assert (orders["qty"] >= orders["moq"]).all()


def test_long_tail_of_intermittent_skus(truth: pd.DataFrame) -> None:
    selling = truth.groupby(["sku", "channel"]).filter(lambda g: g["demand"].sum() > 0)
    days_with_demand = selling.groupby(["sku", "channel"])["demand"].apply(lambda d: (d > 0).mean())
    assert (days_with_demand < 0.3).sum() >= 10
    assert (days_with_demand > 0.9).sum() >= 5


def test_launches_and_discontinued_skus(brand: SampleBrand) -> None:
    products = brand.tables["products"].set_index("sku")
    truth = brand.true_demand.join(products[["launch_date", "status"]], on="sku")
    sales = brand.tables["sales"].join(products["launch_date"], on="sku")
    first_day = truth["date"].min()
    launched = products[(products["launch_date"] > first_day)
                        & (products["launch_date"] <= brand.as_of)].index
    assert len(launched) > 0
    assert (truth.loc[truth["date"] < truth["launch_date"], "demand"] == 0).all()
    assert (sales["date"] >= sales["launch_date"]).all()
    assert truth[truth["sku"].isin(launched)].groupby("sku")["demand"].sum().gt(0).all()
    upcoming = products[products["launch_date"] > brand.as_of]
    assert len(upcoming) > 0 and not upcoming.index.isin(sales["sku"]).any()
    # A new SKU's first stock is bought once the launch is within lead time + review + a week.
    suppliers = brand.tables["suppliers"].set_index("supplier")
    window = (suppliers["lead_time_days"] + suppliers["review_days"] + 7).reindex(
        upcoming["supplier"]).to_numpy()
    due = upcoming.index[(upcoming["launch_date"] - brand.as_of).dt.days.to_numpy() < window - 7]
    stocked = brand.tables["inventory"].query("on_hand > 0")["sku"]
    ordered = brand.tables["open_orders"]["sku"]
    assert pd.Index(due).isin(pd.concat([stocked, ordered])).all()
    dropped = products.index[products["status"] == "discontinued"]
    assert len(dropped) > 0
    after_as_of = truth[truth["date"] > brand.as_of]
    assert after_as_of.loc[after_as_of["sku"].isin(dropped), "demand"].sum() == 0


def test_prices_change_and_promotions_sell_below_the_regular_price(brand: SampleBrand) -> None:
    prices = brand.tables["prices"]
    changes = prices.groupby(["sku", "channel"])["price"].nunique()
    assert (changes > 1).sum() >= 5
    sales = brand.tables["sales"]
    regular = pd.merge_asof(sales.sort_values("date"), prices.sort_values("date"),
                            on="date", by=["sku", "channel"], suffixes=("", "_regular"))
    assert (regular["price"] <= regular["price_regular"] + 1e-9).all()
    assert (regular["price"] < regular["price_regular"] - 1e-9).mean() > 0.05


def test_calendars_and_truth_extend_past_the_as_of_date(brand: SampleBrand) -> None:
    horizon = brand.as_of + pd.Timedelta(days=28)
    tables = brand.tables
    assert (tables["promotions"]["start"] > horizon).any()
    assert (tables["livestreams"]["start"] > horizon).any()
    presale = tables["promotions"][tables["promotions"]["kind"] == "presale"]
    assert ((presale["end"] == "2026-11-11") & (presale["start"] <= brand.as_of)).any()
    assert (tables["events"]["start"] == "2026-11-11").any()
    assert (tables["commitments"]["week"] > brand.as_of).all()
    assert tables["commitments"]["week"].nunique() >= 12  # the weeks inside the truth horizon
    assert brand.true_demand["date"].max() == brand.as_of + pd.Timedelta(days=91)


def test_commitments_track_demand_and_some_fall_short(brand: SampleBrand) -> None:
    future = brand.true_demand[brand.true_demand["date"] > brand.as_of]
    week = future["date"] - pd.to_timedelta(future["date"].dt.dayofweek, unit="D")
    weekly = future.groupby(["sku", week.rename("week")])["demand"].sum().rename("demand")
    commitments = brand.tables["commitments"].join(weekly, on=["sku", "week"])
    maker = brand.tables["products"].set_index("sku")["supplier"]
    assert (commitments["supplier"] == commitments["sku"].map(maker)).all()
    busy = commitments[commitments["demand"] >= 20]
    ratio = busy["qty"] / busy["demand"]
    assert 0.85 <= ratio.median() <= 1.15
    assert (ratio < 0.7).mean() >= 0.03


def test_bad_requests_are_refused_clearly(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="--skus"):
        generate_brand(skus=3)
    with pytest.raises(UserError, match="Chinese New Year"):
        generate_brand(skus=10, days=150, as_of="2040-01-01")
    with pytest.raises(UserError, match="--as-of"):
        generate_brand(skus=10, days=150, as_of="31/10/2026")
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "notes.txt").write_text("keep me", encoding="utf-8")
    with pytest.raises(UserError, match="not a sample brand"):
        write_brand(generate_brand(skus=10, days=150), precious)
    assert [p.name for p in precious.iterdir()] == ["notes.txt"]


def test_cli_writes_the_sample_and_reports_bad_arguments(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "sample"
    assert main(["sample", "--out", str(out), "--skus", "12", "--days", "130"]) == 0
    assert "12 SKUs" in capsys.readouterr().out
    assert (out / "sales.csv").exists() and (out / "truth" / "true_demand.parquet").exists()
    assert main(["sample", "--out", str(out), "--as-of", "yesterday"]) == 2
    assert "--as-of" in capsys.readouterr().err


def test_supplier_terms_fit_the_demand(brand: SampleBrand, truth: pd.DataFrame) -> None:
    """A supplier's minimum order value is below a typical week's order value and its capacity
    well above its mean week, so a planner can stock every SKU it makes."""
    products = brand.tables["products"].set_index("sku")
    suppliers = brand.tables["suppliers"].set_index("supplier")
    week = (truth["date"] - truth["date"].min()).dt.days // 7
    supplier = truth["sku"].map(products["supplier"])
    value = truth["demand"] * truth["sku"].map(products["unit_cost"])
    weekly = pd.DataFrame({"supplier": supplier, "week": week, "units": truth["demand"],
                           "value": value}).groupby(["supplier", "week"]).sum()
    mean = weekly.groupby("supplier").mean()
    assert (suppliers["min_order_value"] < 0.5 * mean["value"].reindex(suppliers.index)).all()
    assert (suppliers["capacity_units_per_week"]
            > 1.8 * mean["units"].reindex(suppliers.index)).all()
