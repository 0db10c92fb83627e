"""The replay with channel stock pools and customer returns (issue 14): demand served from the
pool serving its channel, order lines landing at their ship-to (on its booking day),
transfers moving stock, restocked returns arriving after their delay, the planners' rule per
pool, and a brand without warehouses or returns replaying exactly as before."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import pytest
from test_simulate import END, START, recent_mean_forecast

from flows.sample import generate_brand
from forecasting.returns import MAX_DELAY_DAYS
from replenishment.baseline import BaselineRule, SupplierTerms, baseline_policy
from replenishment.contract import Dataset, parse_dataset
from replenishment.replay import Decision, ReviewState, World, WorldPool, replay
from replenishment.sim_metrics import replay_metrics
from replenishment.sim_returns import ReturnFlow, return_flow
from replenishment.simulate import SimulationResult, SimulationSettings, simulate

MONDAY = pd.Timestamp("2025-01-06")
# tmall from the brand's own warehouse (pool 0), jd from JD's (pool 1, booking Thursdays,
# 2 days and 1.5 a unit to move stock in).
POOLS = (WorldPool("own"), WorldPool("jd_fbp", frozenset({3}), 2, 1.5))


def _world(demand: dict[str, Sequence[float]], lead: int = 4,
           returns: ReturnFlow | None = None) -> World:
    channels = pd.Index(list(demand))
    days = len(next(iter(demand.values())))
    cube = np.array([demand[c] for c in channels], dtype=float)[None]
    return World(
        skus=pd.Index(["A"]), channels=channels,
        dates=pd.date_range(MONDAY, periods=days, freq="D"), demand=cube,
        supplier=np.array([0]), suppliers=pd.Index(["S1"]), review_days=np.array([0]),
        lead_days=np.array([[lead]]), expected_lead_days=np.array([lead]),
        unit_cost=np.array([2.0]), pools=POOLS,
        channel_pool=np.array([0 if c == "tmall" else 1 for c in channels]),
        returns=returns)


def _never(state: ReviewState) -> np.ndarray:
    return np.zeros((1, 2))


def test_each_channel_is_served_from_its_own_pool() -> None:
    """5 units in the own warehouse, none at JD: tmall's 2 a day are served (5 -> 3 -> 1),
    JD's 3 a day are lost although the brand holds stock."""
    world = _world({"tmall": [2, 2], "jd": [3, 3]})
    run = replay(world, _never, np.array([[5.0, 0.0]]))
    assert run.served[0, 0].tolist() == [2, 2]
    assert run.served[0, 1].tolist() == [0, 0]
    assert run.pool_on_hand[0, :, -1].tolist() == [1, 0]
    assert replay_metrics(world, run)["fill_rate"] == pytest.approx(4 / 10)


def test_a_stock_given_per_sku_starts_in_the_main_pool() -> None:
    run = replay(_world({"tmall": [1], "jd": [1]}), _never, np.array([5.0]))
    assert run.pool_on_hand[0, :, 0].tolist() == [4, 0]


def test_an_order_line_lands_at_its_ship_to_on_its_booking_day() -> None:
    """Ordered for JD on Monday (day 0) with a 4-day lead time: due Friday (day 4), JD books
    Thursdays, so it lands on the next Thursday (day 10) in JD's pool, as expected."""
    world = _world({"tmall": [0] * 12, "jd": [1] * 12})

    def for_jd(state: ReviewState) -> np.ndarray:
        return np.array([[0.0, 20.0]])

    run = replay(world, for_jd, np.array([[0.0, 0.0]]))
    line = run.orders.iloc[0]
    assert (line["pool_index"], line["expected_day"], line["arrival_day"]) == (1, 10, 10)
    assert run.received[0].tolist() == [0] * 10 + [20, 0]
    assert run.pool_on_hand[0, :, 10].tolist() == [0, 19]
    assert run.served[0, 1].tolist() == [0] * 10 + [1, 1]


def test_a_transfer_moves_stock_after_its_lead_time_at_its_cost() -> None:
    """6 of the own warehouse's 10 units move to JD on day 0: JD sells from day 2 on; a
    second transfer asking 100 moves only what is left (4). Cost 1.5 a unit."""
    world = _world({"tmall": [0] * 4, "jd": [1] * 4})

    def move(state: ReviewState) -> Decision:
        asked = pd.DataFrame({"sku_index": [0, 0], "from_pool": [0, 0], "to_pool": [1, 1],
                              "qty": [6.0, 100.0]})
        return Decision(np.zeros((1, 2)), asked)

    run = replay(world, move, np.array([[10.0, 0.0]]))
    assert run.transfers["qty"].tolist() == [6.0, 4.0]
    assert run.transfers["arrival_day"].tolist() == [2, 2]
    assert run.in_transfer[0].tolist() == [10, 10, 0, 0]
    assert run.pool_on_hand[0, :, 2].tolist() == [0, 9]
    assert run.served[0, 1].tolist() == [0, 0, 1, 1]
    metrics = replay_metrics(world, run)
    assert (metrics["transfers"], metrics["transfer_units"]) == (2, 10.0)
    assert metrics["transfer_cost"] == pytest.approx(15.0)
    assert metrics["avg_on_hand_units"] == pytest.approx((10 + 10 + 9 + 8) / 4)
    assert run.received.sum() == 0  # a transfer is no purchase


def _flow(rate: float, restockable: float, delay: int, days: int, channels: int = 2,
          ) -> ReturnFlow:
    pmf = np.zeros((channels, MAX_DELAY_DAYS + 1))
    pmf[:, delay] = 1.0
    return ReturnFlow(np.full((1, channels), rate), np.full((1, channels), restockable), pmf,
                      np.zeros((1, channels, days)))


def test_a_restocked_return_comes_back_to_its_pool_after_its_delay() -> None:
    """10 sold on JD on day 0; half come back 3 days later, 60% of them sellable: 3 units
    land in JD's pool on day 3 and are sold on day 4 (JD's demand is 1 a day from day 4)."""
    world = _world({"tmall": [0] * 6, "jd": [10, 0, 0, 0, 1, 1]},
                   returns=_flow(0.5, 0.6, 3, 6))
    run = replay(world, _never, np.array([[0.0, 10.0]]))
    assert run.returned[0, 1].tolist() == [0, 0, 0, 5, 0, 0]
    assert run.restocked[0].tolist() == [0, 0, 0, 3, 0, 0]
    assert run.pool_on_hand[0, :, 3].tolist() == [0, 3]
    assert run.served[0, 1].tolist() == [10, 0, 0, 0, 1, 1]
    metrics = replay_metrics(world, run)
    assert (metrics["units_returned"], metrics["units_restocked"]) == (5.0, 3.0)


def test_a_policy_sees_the_returns_received_by_its_review() -> None:
    world = World(**{**_world({"tmall": [0] * 8, "jd": [10] + [0] * 7}).__dict__,
                     "review_days": np.array([0, 7]), "lead_days": np.array([[4], [4]]),
                     "returns": _flow(0.5, 0.6, 3, 8)})
    seen: list[tuple[float, float]] = []

    def look(state: ReviewState) -> np.ndarray:
        if state.returned is not None and state.restocked is not None:
            seen.append((float(state.returned.sum()), float(state.restocked.sum())))
        return np.zeros((1, 2))

    replay(world, look, np.array([[0.0, 10.0]]))
    assert seen == [(0.0, 0.0), (5.0, 3.0)]


def test_returns_are_learned_from_a_returns_table_with_the_sales_before_the_start() -> None:
    """Every day 10 sold on tmall, 5 of them back 4 days later, 60% restockable: rate 0.5,
    restockable 0.6, delay 4 days; the sales of the last four days before the start send
    their 5 units back on days 0-3 of the replay."""
    start = pd.Timestamp("2026-06-01")
    days = pd.date_range(start - pd.Timedelta(days=400), start - pd.Timedelta(days=1))
    sales = pd.DataFrame({"date": days, "sku": "A", "channel": "tmall", "units": 10.0})
    back = days[days + pd.Timedelta(days=4) < start]
    returns = pd.DataFrame({"date": back + pd.Timedelta(days=4), "sku": "A", "channel": "tmall",
                            "units": 5.0, "restockable_share": 0.6, "sale_date": back})
    products = pd.DataFrame({"sku": ["A"], "category": ["mask"]})
    flow = return_flow(returns, sales, products, pd.Index(["A"]), pd.Index(["tmall"]), start, 10)
    assert flow is not None
    assert flow.rate[0, 0] == pytest.approx(0.5, abs=0.01)
    assert flow.restockable[0, 0] == pytest.approx(0.6)
    assert flow.pmf[0].argmax() == 4 and flow.pmf[0, 4] == pytest.approx(1.0)
    assert flow.prior[0, 0].round(2).tolist() == pytest.approx([5.0] * 4 + [0.0] * 6, abs=0.1)
    assert return_flow(None, sales, products, pd.Index(["A"]), pd.Index(["tmall"]), start,
                       10) is None


def test_the_planners_rule_orders_each_pool_from_its_own_sales() -> None:
    """The own warehouse sold 2 a day, JD nothing: 28 days of cover (56 units, in cases of
    12: 60) for the own warehouse only, with JD holding no stock either; JD selling 1 a day
    too: one line of 56 + 28 = 84 units (7 cases), 4 cases to the own warehouse (56/84 of
    84 = 56 -> 48, plus the case left over) and 2 to JD (28 -> 24)."""
    terms = SupplierTerms(supplier=np.array([0]), unit_cost=np.array([2.0]),
                          case_pack=np.array([12.0]), moq=np.array([0.0]),
                          min_order_value=np.array([0.0]), capacity_units=np.array([np.inf]))
    recent = np.zeros((1, 2, 28))
    recent[0, 0] = 2.0
    policy = baseline_policy(BaselineRule(28, 14), recent, terms, np.array([True]),
                             np.array([0, 1]))
    lines = pd.DataFrame({"sku_index": [0], "supplier_index": [0], "qty": [0.0],
                          "expected_day": [5], "pool_index": [1]})
    state = ReviewState(0, 0, MONDAY, np.array([0.0]), lines, np.zeros((1, 2, 0)),
                        np.zeros((1, 2, 0), bool), np.zeros((1, 2)))
    assert policy(state).tolist() == [[60.0, 0.0]]
    recent[0, 1] = 1.0
    both = baseline_policy(BaselineRule(28, 14), recent, terms, np.array([True]),
                           np.array([0, 1]))
    assert both(state).tolist() == [[60.0, 24.0]]


# ------------------------------------------------------------------- the tiny sample brand


def _tiny(drop: tuple[str, ...] = ()) -> tuple[Dataset, pd.DataFrame, pd.Series, pd.DataFrame]:
    brand = generate_brand(seed=3, skus=12, days=150, as_of="2026-10-31")
    tables = {k: v for k, v in brand.tables.items() if k not in drop}
    if "warehouses" in drop:
        tables["inventory"] = tables["inventory"].groupby("sku", as_index=False).agg(
            on_hand=("on_hand", "sum"))
    dataset = parse_dataset({n: (f, n) for n, f in tables.items()},
                            require=("sales", "products", "suppliers", "inventory"))
    eve = START - pd.Timedelta(days=1)
    stock = brand.stock[brand.stock["date"] == eve].set_index("sku")["on_hand"]
    orders = brand.purchase_orders
    return dataset, brand.true_demand, stock, orders[(orders["order_date"] <= eve)
                                                     & (orders["eta"] > eve)]


_SETTINGS = SimulationSettings(seed=0, warmup_days=0, cover_days_grid=(21, 42, 84),
                               reorder_days_grid=(14, 28))


def _one_stock_replay(world: World, orders: pd.DataFrame, start_stock: np.ndarray,
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The replay as it was before pools and returns (commit 69273c5, one stock per SKU),
    placing ``orders`` (per review, SKU and quantity) at their reviews: served, end-of-day
    on hand, received and on order."""
    n_skus, _, n_days = world.demand.shape
    on_hand = start_stock.astype(float).copy()
    arrivals = np.zeros((n_skus, n_days + 1))
    lines = world.in_transit[["sku_index", "qty", "arrival_day"]]
    served = np.zeros_like(world.demand)
    stock, received, on_order = (np.zeros((n_skus, n_days)) for _ in range(3))

    def schedule(new: pd.DataFrame) -> None:
        np.add.at(arrivals, (new["sku_index"].to_numpy(np.int64),
                             np.minimum(new["arrival_day"].to_numpy(np.int64), n_days)),
                  new["qty"].to_numpy(float))

    schedule(lines)
    reviews = {int(day): r for r, day in enumerate(world.review_days)}
    for day in range(n_days):
        received[:, day] = arrivals[:, day]
        on_hand += arrivals[:, day]
        lines = lines[lines["arrival_day"] > day]
        if day in reviews:
            placed = orders[orders["review"] == reviews[day]]
            lead = world.lead_days[reviews[day],
                                   world.supplier[placed["sku_index"].to_numpy(np.int64)]]
            placed = placed.assign(arrival_day=day + lead)
            schedule(placed)
            lines = pd.concat([lines, placed[["sku_index", "qty", "arrival_day"]]])
        demand = world.demand[:, :, day]
        total = demand.sum(axis=1)
        share = np.divide(np.minimum(on_hand, total), total, out=np.ones_like(total),
                          where=total > 0)
        served[:, :, day] = demand * np.minimum(share, 1.0)[:, None]
        on_hand = np.maximum(on_hand - served[:, :, day].sum(axis=1), 0.0)
        stock[:, day] = on_hand
        on_order[:, day] = np.bincount(lines["sku_index"].to_numpy(np.int64),
                                       weights=lines["qty"].to_numpy(float), minlength=n_skus)
    return served, stock, received, on_order


def test_a_brand_without_warehouses_or_returns_replays_exactly_as_before() -> None:
    """The tiny brand without its warehouses and returns tables: one pool, nothing returned;
    both policies' replays equal the one-stock replay of commit 69273c5 fed the same orders,
    and the planners' rule (which only the replay and the data decide) gives the metrics it
    gave at that commit, to the digit."""
    dataset, demand, stock, open_orders = _tiny(("warehouses", "returns"))
    run = simulate(dataset, demand, START, END, recent_mean_forecast, settings=_SETTINGS,
                   start_stock=stock, open_orders=open_orders)
    nothing = {"units_returned": 0.0, "units_restocked": 0.0, "transfers": 0,
               "transfer_units": 0.0, "transfer_cost": 0.0}
    assert run.summary["baseline"] == {
        "fill_rate": 0.9963, "cycle_service_level": 0.9268, "stockout_days": 8,
        "avg_on_hand_units": 9805.7, "avg_on_hand_value": 452237.96, "orders": 6, **nothing}
    assert (run.summary["baseline_rule"]["cover_days"],
            run.summary["baseline_rule"]["reorder_days"]) == (21.0, 14.0)
    assert {k: run.summary["policy"][k] for k in nothing} == nothing
    assert (run.summary["pools"], run.summary["returns"]) == ([], "none")
    assert run.world.n_pools == 1 and run.world.returns is None
    for side in (run.policy, run.baseline):
        assert len(side.orders) > 0
        served, on_hand, received, on_order = _one_stock_replay(
            run.world, side.orders, run.start_stock[:, 0])
        assert np.array_equal(side.served, served)
        assert np.array_equal(side.on_hand, on_hand)
        assert np.array_equal(side.received, received)
        assert np.array_equal(side.on_order, on_order)
    assert (run.trace[["restocked", "in_transfer"]] == 0).all().all()


@pytest.fixture(scope="module")
def pooled() -> tuple[SimulationResult, Dataset, pd.Series]:
    dataset, demand, stock, open_orders = _tiny()
    run = simulate(dataset, demand, START, END, recent_mean_forecast, settings=_SETTINGS,
                   start_stock=stock, open_orders=open_orders)
    return run, dataset, stock


def test_the_sample_brand_replays_its_three_pools_and_its_returns(
    pooled: tuple[SimulationResult, Dataset, pd.Series],
) -> None:
    run, _, _ = pooled
    assert run.summary["pools"] == ["华东仓", "京东FBP仓", "菜鸟仓"]
    assert run.summary["returns"] == "returns table"
    for side in ("policy", "baseline"):
        metrics = run.summary[side]
        assert 0 < metrics["units_restocked"] < metrics["units_returned"]
    assert run.summary["baseline"]["transfers"] == 0


def test_the_engines_lines_ship_to_the_pool_it_planned_and_its_transfers_are_made(
    pooled: tuple[SimulationResult, Dataset, pd.Series],
) -> None:
    """The stand-in forecast sells everything on tmall, served by 菜鸟仓 (pool 2): the engine
    orders for it and moves the brand's own stock there (2 days, ¥1.2 a unit)."""
    run, _, _ = pooled
    assert set(run.policy.orders["pool_index"]) == {2}
    moved = run.policy.transfers
    assert len(moved) > 0 and set(moved["to_pool"]) == {2} and set(moved["from_pool"]) == {0}
    assert ((moved["arrival_day"] - moved["day"]) == 2).all()
    assert moved["cost"].to_numpy() == pytest.approx(1.2 * moved["qty"].to_numpy())
    assert run.summary["policy"]["transfer_cost"] == pytest.approx(moved["cost"].sum(), abs=0.01)


def test_a_stock_known_per_sku_is_split_among_pools_by_their_recent_sales(
    pooled: tuple[SimulationResult, Dataset, pd.Series],
) -> None:
    run, dataset, stock = pooled
    world = run.world
    assert run.start_stock.sum(axis=1) == pytest.approx(
        stock.reindex(world.skus).fillna(0).to_numpy())
    sales = dataset.demand.sales
    recent = sales[(sales["date"] >= START - pd.Timedelta(days=28)) & (sales["date"] < START)]
    pool_of = {"douyin": 0, "miniapp": 0, "jd": 1, "tmall": 2}
    sold = recent.assign(pool=recent["channel"].map(pool_of)).groupby(["sku", "pool"])[
        "units"].sum().unstack(fill_value=0).reindex(columns=[0, 1, 2], fill_value=0.0)
    sku = str(sold.sum(axis=1).idxmax())
    row = world.skus.get_loc(sku)
    shares = sold.loc[sku].to_numpy() / sold.loc[sku].sum()
    assert run.start_stock[row] == pytest.approx(stock[sku] * shares)
