"""Policy simulation: stock bookkeeping, lost sales, lead times, the baseline rule, the
summary, determinism and the ``replenish simulate`` command."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from planning_data import make_forecast

from flows.commands import main
from flows.pipeline.simulate import Truth, start_state
from flows.sample import generate_brand, write_brand
from flows.storage.store import RunStore
from forecasting.contract import DemandData
from replenishment.baseline import (
    BaselineRule,
    SupplierTerms,
    baseline_policy,
    case_quantities,
    tune_baseline,
)
from replenishment.contract import Dataset, parse_dataset
from replenishment.plan import ForecastLike
from replenishment.replay import (
    Policy,
    Replay,
    ReviewState,
    World,
    draw_lead_days,
    in_transit_lines,
    replay,
)
from replenishment.sim_metrics import METRIC_KEYS, replay_metrics
from replenishment.simulate import SimulationResult, SimulationSettings, simulate

START = pd.Timestamp("2026-09-07")  # a Monday inside the tiny brand's history
END = pd.Timestamp("2026-10-04")


def recent_mean_forecast(demand: DemandData, as_of: pd.Timestamp,
                         products: pd.DataFrame) -> ForecastLike:
    """A cheap stand-in for the engine: negative binomial paths around the last 28 days'
    average daily sales."""
    sales = demand.sales
    recent = sales[sales["date"] > as_of - pd.Timedelta(days=28)]
    rate = recent.groupby("sku")["units"].sum() / 28
    means = {sku: float(rate.get(sku, 0.0)) for sku in products["sku"]}
    return make_forecast(means, horizon=70, n_paths=200, start=as_of + pd.Timedelta(days=1))


@pytest.fixture(scope="module")
def brand_dataset() -> tuple[Dataset, pd.DataFrame, pd.Series]:
    brand = generate_brand(seed=3, skus=12, days=150, as_of="2026-10-31")
    dataset = parse_dataset({name: (frame, name) for name, frame in brand.tables.items()},
                            require=("sales", "products", "suppliers", "inventory"))
    stock = brand.stock[brand.stock["date"] == START - pd.Timedelta(days=1)]
    return dataset, brand.true_demand, stock.set_index("sku")["on_hand"]


def _simulate(brand_dataset: tuple[Dataset, pd.DataFrame, pd.Series], seed: int = 0,
              start_stock: bool = True) -> SimulationResult:
    dataset, demand, stock = brand_dataset
    settings = SimulationSettings(seed=seed, warmup_days=0, cover_days_grid=(21, 42, 84),
                                  reorder_days_grid=(14, 28))
    return simulate(dataset, demand, START, END, recent_mean_forecast, settings=settings,
                    start_stock=stock if start_stock else None)


@pytest.fixture(scope="module")
def result(brand_dataset: tuple[Dataset, pd.DataFrame, pd.Series]) -> SimulationResult:
    return _simulate(brand_dataset)


def _world(demand: list[float], lead: int = 3, review_every: int = 100) -> World:
    days = len(demand)
    reviews = np.arange(0, days, review_every)
    return World(
        skus=pd.Index(["A"]), channels=pd.Index(["tmall"]),
        dates=pd.date_range("2025-01-06", periods=days, freq="D"),
        demand=np.asarray(demand, dtype=float).reshape(1, 1, days),
        supplier=np.array([0]), suppliers=pd.Index(["S1"]), review_days=reviews,
        lead_days=np.full((len(reviews), 1), lead), expected_lead_days=np.array([lead]),
        unit_cost=np.array([2.0]),
    )


def _never_order(state: ReviewState) -> np.ndarray:
    return np.zeros(len(state.on_hand))


# --------------------------------------------------------------------------- replay


def test_stock_is_conserved_day_by_day_and_overall(result: SimulationResult) -> None:
    """Stock in the pools and moving between them changes by the purchase orders received,
    the returns put back on the shelf and the units sold (the tiny brand has pools and
    returns)."""
    for run in (result.policy, result.baseline):
        served = run.served.sum(axis=1)
        held = run.on_hand + run.in_transfer
        opening = np.concatenate([run.start_stock[:, None], held[:, :-1]], axis=1)
        assert np.allclose(held, opening + run.received + run.restocked - served)
        assert np.allclose(held[:, -1], run.start_stock + run.received.sum(axis=1)
                           + run.restocked.sum(axis=1) - served.sum(axis=1))
        assert np.allclose(run.pool_on_hand.sum(axis=1), run.on_hand)
        assert (run.on_hand >= 0).all()
        assert (run.served <= result.world.demand + 1e-9).all()


def test_demand_beyond_stock_is_lost_not_backordered() -> None:
    world = _world([5, 5, 5, 5, 5])
    run = replay(world, _never_order, np.array([12.0]))
    assert run.served[0, 0].tolist() == [5, 5, 2, 0, 0]
    assert run.short[0, 0].tolist() == [False, False, True, True, True]
    metrics = replay_metrics(world, run)
    assert metrics["fill_rate"] == pytest.approx(12 / 25)
    assert metrics["stockout_days"] == 3
    assert metrics["avg_on_hand_units"] == pytest.approx((7 + 2) / 5)
    assert metrics["avg_on_hand_value"] == pytest.approx(2 * (7 + 2) / 5)
    assert metrics["cycle_service_level"] == 0.0  # the one review cycle had a stockout


def test_short_stock_is_shared_by_channels_in_proportion_to_demand() -> None:
    world = World(
        skus=pd.Index(["A"]), channels=pd.Index(["jd", "tmall"]),
        dates=pd.date_range("2025-01-06", periods=1, freq="D"),
        demand=np.array([[[6.0], [2.0]]]), supplier=np.array([0]), suppliers=pd.Index(["S1"]),
        review_days=np.array([0]), lead_days=np.array([[2]]), expected_lead_days=np.array([2]),
        unit_cost=np.array([1.0]),
    )
    run = replay(world, _never_order, np.array([4.0]))
    assert run.served[0, :, 0].tolist() == [3.0, 1.0]


def test_an_order_arrives_after_its_drawn_lead_time() -> None:
    world = _world([1] * 10, lead=4, review_every=100)

    def order_ten_once(state: ReviewState) -> np.ndarray:
        return np.array([10.0])

    run = replay(world, order_ten_once, np.array([3.0]))
    assert run.received[0].tolist() == [0, 0, 0, 0, 10, 0, 0, 0, 0, 0]
    assert run.on_order[0].tolist() == [10, 10, 10, 10, 0, 0, 0, 0, 0, 0]
    assert run.served[0, 0, 3] == 0  # out of stock the day before the order arrives
    line = run.orders.iloc[0]
    assert (line["order_day"], line["arrival_day"], line["expected_day"]) == (0, 4, 4)


def test_orders_open_at_the_start_arrive_at_their_eta_for_every_policy() -> None:
    """8 units due on day 2 and 5 due after the last day: 3 on hand serve days 0-1 (1 a
    day, 1 left), the 8 arrive on day 2; the 5 stay on order to the end. The policy sees
    both lines at its review on day 0; they are not its orders."""
    base = _world([1] * 6, review_every=100)
    world = World(**{**base.__dict__, "in_transit": in_transit_lines(
        np.array([0, 0]), np.array([0, 0]), np.array([8.0, 5.0]), np.array([2, 9]))})
    seen: list[float] = []

    def look(state: ReviewState) -> np.ndarray:
        seen.append(float(state.on_order(1)[0]))
        return np.zeros(1)

    run = replay(world, look, np.array([3.0]))
    assert run.received[0].tolist() == [0, 0, 8, 0, 0, 0]
    assert run.on_hand[0].tolist() == [2, 1, 8, 7, 6, 5]
    assert run.on_order[0].tolist() == [13, 13, 5, 5, 5, 5]
    assert seen == [13.0]
    assert run.orders.empty


def test_lead_time_draws_have_the_suppliers_spread_and_the_seed_fixes_them() -> None:
    mean, std = np.array([10.0, 30.0, 1.0]), np.array([0.0, 6.0, 3.0])
    draws = draw_lead_days(mean, std, 2000, seed=5)
    assert (draws[:, 0] == 10).all()
    assert abs(draws[:, 1].mean() - 30) < 0.6 and 5 < draws[:, 1].std() < 7
    assert draws.min() >= 1  # never the same day, even with a wide spread
    assert np.array_equal(draws, draw_lead_days(mean, std, 2000, seed=5))
    assert not np.array_equal(draws, draw_lead_days(mean, std, 2000, seed=6))


def test_policy_orders_are_checked() -> None:
    with pytest.raises(ValueError, match="finite quantities >= 0"):
        replay(_world([1, 1]), lambda state: np.array([-1.0]), np.array([0.0]))


# --------------------------------------------------------------------------- baseline


def _state(on_hand: float, on_order: float, sold_per_day: float) -> ReviewState:
    lines = pd.DataFrame({"sku_index": [0], "supplier_index": [0], "qty": [on_order],
                          "expected_day": [5]})
    served = np.full((1, 1, 28), sold_per_day)
    return ReviewState(1, 28, pd.Timestamp("2025-02-03"), np.array([on_hand]), lines, served,
                       np.zeros_like(served, dtype=bool))


def _terms(case_pack: float = 12.0, moq: float = 60.0, min_order_value: float = 0.0,
           capacity: float = np.inf, skus: int = 1) -> SupplierTerms:
    return SupplierTerms(
        supplier=np.zeros(skus, dtype=np.int64), unit_cost=np.full(skus, 2.0),
        case_pack=np.full(skus, case_pack), moq=np.full(skus, moq),
        min_order_value=np.array([min_order_value]), capacity_units=np.array([capacity]))


@pytest.mark.parametrize(("on_hand", "on_order", "sold", "orderable", "expected"), [
    (10.0, 0.0, 2.0, True, 60.0),    # cover 5 < 14 days: need 28*2-10 = 46 -> 4 cases -> MOQ 60
    (10.0, 70.0, 2.0, True, 0.0),    # on order counts: cover 40 days
    (10.0, 0.0, 0.0, True, 0.0),     # no recent sales: no order
    (10.0, 0.0, 2.0, False, 0.0),    # discontinued
    (0.0, 0.0, 4.0, True, 120.0),    # need 112 -> 10 cases of 12
])
def test_baseline_orders_up_to_n_days_when_cover_falls_below_m(
    on_hand: float, on_order: float, sold: float, orderable: bool, expected: float,
) -> None:
    policy = baseline_policy(BaselineRule(cover_days=28, reorder_days=14), np.zeros((1, 28)),
                             _terms(), orderable=np.array([orderable]))
    assert policy(_state(on_hand, on_order, sold)).tolist() == [expected]


def test_baseline_orders_meet_the_suppliers_minimum_value_and_capacity() -> None:
    two = _terms(case_pack=10, moq=0, min_order_value=400.0, skus=2)
    # 30 + 10 units at 2.00 = 80 < 400: scaled x5 in whole cases
    assert two.apply(np.array([30.0, 10.0])).tolist() == [150.0, 50.0]
    assert two.apply(np.array([0.0, 0.0])).tolist() == [0.0, 0.0]
    capped = _terms(case_pack=10, moq=20, capacity=100.0, skus=2)
    # 180 units > 100: scaled by 100/180 to whole cases; a line under its MOQ is dropped
    assert capped.apply(np.array([150.0, 30.0])).tolist() == [80.0, 0.0]


def test_baseline_average_starts_from_the_recorded_sales_before_the_simulation() -> None:
    policy = baseline_policy(BaselineRule(28, 14), np.full((1, 28), 3.0),
                             _terms(case_pack=1, moq=0), np.array([True]))
    state = ReviewState(0, 0, pd.Timestamp("2025-01-06"), np.array([0.0]),
                        _state(0, 0, 0).open_orders.iloc[:0], np.zeros((1, 1, 0)),
                        np.zeros((1, 1, 0), dtype=bool))
    assert policy(state).tolist() == [84.0]


def test_case_quantities_round_up_to_cases_and_moq() -> None:
    got = case_quantities(np.array([0.0, 1.0, 13.0, 50.0]), np.array([12.0, 12.0, 12.0, 12.0]),
                          np.array([24.0, 24.0, 0.0, 30.0]))
    assert got.tolist() == [0.0, 24.0, 24.0, 60.0]


def test_tuning_keeps_the_cheapest_rule_reaching_the_target() -> None:
    world = _world([4.0] * 60, lead=5, review_every=7)
    recent = np.full((1, 28), 4.0)

    def make(rule: BaselineRule) -> Policy:
        return baseline_policy(rule, recent, _terms(case_pack=1, moq=0), np.array([True]))

    def evaluate(run: Replay) -> dict[str, float]:
        return replay_metrics(world, run)

    tuning = tune_baseline(world, np.array([40.0]), make, evaluate, 0.99,
                           cover_days=(7, 14, 28, 56), reorder_days=(3, 7, 14))
    grid = tuning.grid
    reaching = grid[grid["fill_rate"] >= 0.99]
    assert len(reaching) and len(reaching) < len(grid)
    chosen = grid[grid["chosen"]].iloc[0]
    assert chosen["avg_on_hand_value"] == reaching["avg_on_hand_value"].min()
    assert (tuning.rule.cover_days, tuning.rule.reorder_days) == (chosen["cover_days"],
                                                                  chosen["reorder_days"])
    assert replay_metrics(world, tuning.replay)["fill_rate"] == chosen["fill_rate"]


# --------------------------------------------------------------------------- simulate


def test_summary_has_exactly_the_promised_keys(result: SimulationResult) -> None:
    summary = result.summary
    assert summary["target_fill_rate"] == 0.95
    for side in ("policy", "baseline"):
        assert list(summary[side]) == list(METRIC_KEYS)
        assert 0 <= summary[side]["fill_rate"] <= 1
    assert summary["reviews"] == 4 and summary["days"] == 28
    assert summary["skus"] + len(summary["skus_without_history"]) == 12
    assert json.loads(json.dumps(summary)) == summary
    trace = result.trace
    assert set(trace["policy"]) == {"policy", "baseline"}
    assert len(trace) == 2 * 28 * summary["skus"]


def test_policy_places_the_engine_plans_orders(result: SimulationResult) -> None:
    orders = result.policy.orders
    assert len(orders) == result.summary["policy"]["orders"] > 0
    assert set(orders["order_day"]) <= set(result.world.review_days.tolist())
    dataset_products = result.world.skus
    assert set(orders["sku_index"]) <= set(range(len(dataset_products)))


def test_same_seed_same_simulation_other_seed_other_delays(
    brand_dataset: tuple[Dataset, pd.DataFrame, pd.Series], result: SimulationResult,
) -> None:
    again = _simulate(brand_dataset)
    strip = {k: v for k, v in result.summary.items() if k != "seconds"}
    assert {k: v for k, v in again.summary.items() if k != "seconds"} == strip
    pd.testing.assert_frame_equal(again.trace, result.trace)
    other = _simulate(brand_dataset, seed=1)
    assert not np.array_equal(other.world.lead_days, result.world.lead_days)


def test_products_never_sold_before_the_start_are_left_out(
    brand_dataset: tuple[Dataset, pd.DataFrame, pd.Series],
) -> None:
    dataset, demand, stock = brand_dataset
    sales = dataset.demand.sales
    late = str(sales["sku"].iloc[0])
    dropped = sales[(sales["sku"] != late) | (sales["date"] >= START)]
    data = Dataset(DemandData(dropped, dataset.demand.promotions, dataset.demand.livestreams,
                              dataset.demand.events, dataset.demand.prices), dataset.supply)
    settings = SimulationSettings(warmup_days=0, cover_days_grid=(28,), reorder_days_grid=(14,))
    run = simulate(data, demand, START, START + pd.Timedelta(days=6), recent_mean_forecast,
                   settings=settings, start_stock=stock)
    assert late in run.summary["skus_without_history"]
    assert late not in set(run.world.skus)


def test_without_known_stock_the_first_plan_sets_the_start(
    brand_dataset: tuple[Dataset, pd.DataFrame, pd.Series],
) -> None:
    run = _simulate(brand_dataset, start_stock=False)
    assert run.summary["start_stock"] == "first plan's order-up-to"
    assert run.start_stock.sum() > 0
    assert np.array_equal(run.baseline.start_stock, run.policy.start_stock)


# --------------------------------------------------------------------------- CLI


@pytest.fixture(scope="module")
def brand_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("brand") / "data"
    write_brand(generate_brand(seed=3, skus=10, days=150, as_of="2026-10-31"), folder)
    return folder


def _config(tmp_path: Path) -> Path:
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({
        "store_url": f"sqlite:///{tmp_path / 'runs.db'}",
        "forecast": {"global_model": False, "stats_models": ["seasonal_naive", "tsb"]},
        "execution": {"threads": 1},
    }), encoding="utf-8")
    return config


def test_cli_writes_summary_trace_and_records_the_run(brand_folder: Path, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "sim"
    code = main(["simulate", "--config", str(_config(tmp_path)), "--data", str(brand_folder),
                 "--start", "2026-10-05", "--end", "2026-10-18", "--out", str(out),
                 "--warmup-days", "0"])
    assert code == 0, capsys.readouterr().err
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert set(summary) >= {"target_fill_rate", "policy", "baseline"}
    assert list(summary["policy"]) == list(METRIC_KEYS) == list(summary["baseline"])
    assert summary["demand_source"].startswith("true demand")
    assert summary["start_stock"] == "given"
    trace = pd.read_csv(out / "trace.csv", encoding="utf-8-sig")
    assert len(trace) == 2 * 14 * summary["skus"]
    with RunStore(f"sqlite:///{tmp_path / 'runs.db'}") as store:
        run = store.get_run(summary["run_id"])
        assert run is not None and run.kind == "simulate" and run.status == "succeeded"
        assert "simulation_trace" in store.output_names(run.run_id)
    assert summary["start_state"].startswith("truth (stock and purchase orders)")
    assert summary["returns_source"].startswith("true returns")
    assert summary["pools"] == ["华东仓", "京东FBP仓", "菜鸟仓"]
    assert summary["open_orders_at_start"]["lines"] > 0
    printed = capsys.readouterr().out
    assert "policy" in printed
    assert printed.splitlines()[0].startswith("Fill rate: engine ")


@pytest.mark.parametrize(("start", "end", "message"), [
    ("2026-10-20", "2026-10-05", "before --start"),
    ("2026-10-05", "2027-06-01", "after the last day of demand"),
    ("2020-01-01", "2026-10-05", "needs sales before it"),
])
def test_cli_refuses_bad_dates_with_exit_2(brand_folder: Path, tmp_path: Path, start: str,
                                           end: str, message: str,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "sim"
    code = main(["simulate", "--config", str(_config(tmp_path)), "--data", str(brand_folder),
                 "--start", start, "--end", end, "--out", str(out)])
    assert code == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_cli_refuses_a_date_that_is_not_iso(brand_folder: Path, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["simulate", "--data", str(brand_folder), "--start", "2026-13-01",
                 "--end", "2026-10-18", "--out", str(tmp_path / "sim")])
    assert code == 2
    assert "expected an ISO date" in capsys.readouterr().err
    assert not (tmp_path / "sim").exists()


def test_a_launch_inside_the_window_is_replayed_and_bought_before_it_sells(
    brand_dataset: tuple[Dataset, pd.DataFrame, pd.Series],
) -> None:
    """A product of the quickest supplier launching 10 days after that supplier's lead time
    with launch_units 280: the engine's plan orders it from its launch plan in time (by the
    quoted lead time), and the replay serves its demand."""
    dataset, demand, stock = brand_dataset
    suppliers = dataset.supply.suppliers.set_index("supplier")["lead_time_days"]
    quickest = suppliers.idxmin()
    lead = int(np.ceil(suppliers[quickest]))
    launch_day = lead + 10
    launch = START + pd.Timedelta(days=launch_day)
    sku = "NEW-1"
    products_of = dataset.supply.products
    template = products_of[products_of["supplier"] == quickest].iloc[[0]]
    products = pd.concat([dataset.supply.products, template.assign(
        sku=sku, launch_date=launch, launch_units=280.0, status="new")], ignore_index=True)
    days = pd.date_range(launch, END, freq="D")
    launch_demand = pd.DataFrame({"date": days, "sku": sku, "channel": demand["channel"].iloc[0],
                                  "demand": 10.0})
    supply = dataset.supply
    data = Dataset(dataset.demand, type(supply)(
        products=products, suppliers=supply.suppliers, inventory=supply.inventory,
        open_orders=supply.open_orders))
    settings = SimulationSettings(warmup_days=0, cover_days_grid=(28,), reorder_days_grid=(14,))
    run = simulate(data, pd.concat([demand, launch_demand], ignore_index=True), START, END,
                   recent_mean_forecast, settings=settings, start_stock=stock)
    assert sku in set(run.world.skus)
    assert sku not in run.summary["skus_without_history"]
    row = run.world.skus.get_loc(sku)
    orders = run.policy.orders[run.policy.orders["sku_index"] == row]
    assert len(orders) > 0
    assert orders["order_day"].min() <= launch_day - lead
    assert run.policy.served[row].sum() > 0
    assert next(iter(run.summary)) == "fill_rate"


def test_both_policies_start_from_the_same_open_orders(
    brand_dataset: tuple[Dataset, pd.DataFrame, pd.Series],
) -> None:
    """A line of 500 units due on day 3, one overdue (due the day before the start: received
    on the first day) and one of a SKU outside the replay: both replays receive the first
    two on those days, the engine's first plan sees them on order."""
    dataset, demand, stock = brand_dataset
    sku = str(dataset.supply.products["sku"].iloc[0])
    open_orders = pd.DataFrame({"sku": [sku, sku, "UNKNOWN"], "qty": [500.0, 40.0, 9.0],
                                "eta": [START + pd.Timedelta(days=3),
                                        START - pd.Timedelta(days=1), START]})
    settings = SimulationSettings(warmup_days=0, cover_days_grid=(28,), reorder_days_grid=(14,))
    run = simulate(dataset, demand, START, START + pd.Timedelta(days=6), recent_mean_forecast,
                   settings=settings, start_stock=stock, open_orders=open_orders)
    row = run.world.skus.get_loc(sku)
    for side in (run.policy, run.baseline):
        placed = side.orders[side.orders["sku_index"] == row]
        own = np.zeros(7)
        np.add.at(own, placed["arrival_day"].clip(upper=6).to_numpy(), placed["qty"].to_numpy())
        assert side.received[row, 0] - own[0] == pytest.approx(40.0)
        assert side.received[row, 3] - own[3] == pytest.approx(500.0)
    assert run.summary["open_orders_at_start"] == {
        "lines": 2, "units": 540.0, "units_arriving": 540.0, "lines_dropped": 1}
    assert next(iter(run.summary)) == "fill_rate"


def test_start_state_is_the_truths_evening_or_the_datas_own_state(
    brand_dataset: tuple[Dataset, pd.DataFrame, pd.Series],
) -> None:
    dataset = brand_dataset[0]
    eve = START - pd.Timedelta(days=1)
    stock = pd.DataFrame({"date": [eve, eve, START], "sku": ["A", "B", "A"],
                          "on_hand": [4.0, 6.0, 99.0]})
    orders = pd.DataFrame({
        "sku": ["A", "A", "B"], "qty": [1.0, 2.0, 3.0],
        "order_date": [eve - pd.Timedelta(days=9), eve, START],  # the third: placed later
        "eta": [eve, START + pd.Timedelta(days=5), START + pd.Timedelta(days=9)]})
    state = start_state(dataset, Truth(stock=stock, orders=orders), START)
    assert state.stock is not None and state.stock.to_dict() == {"A": 4.0, "B": 6.0}
    assert state.open_orders is not None and state.open_orders["qty"].tolist() == [2.0]
    last_sale = dataset.demand.sales["date"].max()
    own = start_state(dataset, Truth(), last_sale + pd.Timedelta(days=1))
    assert own.open_orders is dataset.supply.open_orders
    assert own.stock is not None and own.stock.sum() == dataset.supply.inventory["on_hand"].sum()
    unknown = start_state(dataset, Truth(), START)
    assert unknown.stock is None and unknown.open_orders is None


def test_each_review_forecasts_with_the_presale_deposits_paid_by_its_eve(
    brand_dataset: tuple[Dataset, pd.DataFrame, pd.Series],
) -> None:
    """Deposits are known demand (issue 14): the replay's forecasts see those paid by the
    evening before each review, and none paid later."""
    dataset, demand, _ = brand_dataset
    deposits = dataset.demand.presales
    assert not deposits.empty, "the sample brand takes Double 11 deposits from 10-20"
    seen: dict[pd.Timestamp, pd.DataFrame] = {}

    def recording(known: DemandData, as_of: pd.Timestamp,
                  products: pd.DataFrame) -> ForecastLike:
        seen[as_of] = known.presales
        return recent_mean_forecast(known, as_of, products)

    settings = SimulationSettings(warmup_days=0, cover_days_grid=(21,), reorder_days_grid=(14,))
    simulate(dataset, demand, pd.Timestamp("2026-10-19"), pd.Timestamp("2026-10-31"),
             recording, settings=settings)
    assert sorted(seen) == [pd.Timestamp("2026-10-18"), pd.Timestamp("2026-10-25")]
    assert seen[pd.Timestamp("2026-10-18")].empty  # the presale opens on 10-20
    known = seen[pd.Timestamp("2026-10-25")]
    expected = deposits[deposits["deposit_start"] <= pd.Timestamp("2026-10-25")]
    assert len(known) == len(expected) > 0
    assert known["deposit_units"].sum() == pytest.approx(expected["deposit_units"].sum())
