"""Open purchase orders arrive as late or as early as their supplier's lead time allows."""

from __future__ import annotations

import numpy as np

from replenishment.phased import size_orders
from replenishment.timeline import uncertain_receipts


def _receipts(days: int = 40) -> np.ndarray:
    receipts = np.zeros((1, days))
    receipts[0, 10] = 100.0
    return receipts


def test_a_certain_lead_time_keeps_the_expected_day() -> None:
    out = uncertain_receipts(_receipts(), np.array([20.0]), np.array([0.0]), 50, 10,
                             np.random.default_rng(0))
    assert out.shape == (1, 50, 40)
    assert (out[0, :, 10] == 100.0).all() and out.sum() == 100.0 * 50


def test_an_uncertain_lead_time_spreads_the_arrival_around_the_expected_day() -> None:
    # Lead 20 +/- 6 days: 10 equally likely gamma quantiles from about 11 to 31 days, so the
    # order due on day 10 arrives between about day 1 and day 21, on day 10 on average.
    out = uncertain_receipts(_receipts(), np.array([20.0]), np.array([6.0]), 200, 10,
                             np.random.default_rng(0))
    day = (out[0] > 0).argmax(axis=1)
    assert out[0].sum(axis=1).tolist() == [100.0] * 200  # every path receives it once
    assert day.min() < 5 and day.max() > 16
    assert abs(day.mean() - 10) < 1.0


def test_late_open_orders_raise_the_firm_need() -> None:
    # 10 units a day; 30 on hand; an open order of 70 due on day 3; the firm order arrives
    # on day 7 and covers 7 days (70 units). On time, the open order bridges the gap and
    # 100 - 70 = 30 units are left at arrival, so the need is 40 on every path. When the open
    # order can be late by up to ~9 days, some paths reach the arrival short of it: their
    # need is larger (up to 70 with the open order arriving after the window); on others it
    # arrives inside the window and the need is smaller. The order sized at a 95% service
    # level (the need's 95% quantile) therefore buys more than 40.
    days, paths = 20, 200
    demand = np.full((1, paths, days), 10.0)
    receipts = np.zeros((1, days))
    receipts[0, 3] = 70.0
    arrival = np.full((1, paths), 7)
    args = (np.array([30.0]), np.array([0.0]), arrival, np.array([7]))
    on_time = size_orders(demand, receipts, *args)
    assert np.allclose(on_time.need, 40.0)
    spread = uncertain_receipts(receipts, np.array([20.0]), np.array([6.0]), paths, 10,
                                np.random.default_rng(0))
    late = size_orders(demand, spread, *args)
    assert np.quantile(late.need, 0.95) == 70.0
    assert late.need.max() == 70.0 and late.need.min() >= 0.0
