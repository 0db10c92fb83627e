"""Expected-shortage curves for the order optimiser: exact on whole case packs, convex,
decreasing in the order quantity, with the critical ratio's quantile as a breakpoint."""

from __future__ import annotations

import numpy as np
import pytest

from replenishment.shortage import ShortageCurve, shortage_curves


def test_a_curve_is_the_linear_interpolation_of_its_points() -> None:
    curve = ShortageCurve(np.array([0.0, 10.0, 20.0]), np.array([10.0, 3.0, 0.0]))
    intercept, slope = curve.segments()
    np.testing.assert_allclose(slope, [-0.7, -0.3])
    np.testing.assert_allclose(intercept, [10.0, 6.0])
    assert float(curve(5.0)) == pytest.approx(6.5)
    # The max of the pieces is the curve (it is convex).
    q = np.linspace(0, 20, 41)
    np.testing.assert_allclose(np.max(intercept[:, None] + slope[:, None] * q, axis=0),
                               curve(q))


def test_a_one_point_curve_is_flat() -> None:
    intercept, slope = ShortageCurve(np.array([0.0]), np.array([2.5])).segments()
    assert intercept.tolist() == [2.5] and slope.tolist() == [0.0]


def test_shortage_by_hand_on_whole_cases() -> None:
    # Demand 0, 10, 20 or 30 over the protection period, nothing in stock, cases of 10.
    [curve] = shortage_curves(np.array([[0.0, 10.0, 20.0, 30.0]]), np.array([0.0]),
                              case_pack=np.array([10]), max_qty=np.array([40.0]))
    assert set(curve.quantity) <= {0.0, 10.0, 20.0, 30.0, 40.0}
    assert curve.quantity[0] == 0.0 and curve.quantity[-1] == 40.0
    expected = {0.0: 15.0, 10.0: 7.5, 20.0: 2.5, 30.0: 0.0, 40.0: 0.0}
    for q, short in zip(curve.quantity, curve.shortage, strict=True):
        assert short == pytest.approx(expected[q])


def test_stock_on_hand_lowers_the_need() -> None:
    demand = np.array([[0.0, 10.0, 20.0, 30.0]])
    [curve] = shortage_curves(demand, np.array([10.0]), np.array([10]), np.array([40.0]))
    # Need 0, 0, 10, 20: 7.5 short without an order.
    assert curve.shortage[0] == pytest.approx(7.5)


def test_curves_are_convex_and_decreasing_and_hit_the_critical_quantile() -> None:
    rng = np.random.default_rng(0)
    demand = rng.gamma(2.0, 30.0, size=(3, 500))
    focus = np.array([0.5, 0.9, 0.98])
    curves = shortage_curves(demand, np.array([0.0, 20.0, 100.0]), np.array([1, 6, 12]),
                             np.array([600.0, 600.0, 600.0]), focus=focus)
    for i, curve in enumerate(curves):
        assert (np.diff(curve.quantity) > 0).all()
        assert (np.diff(curve.shortage) <= 1e-12).all()
        slopes = np.diff(curve.shortage) / np.diff(curve.quantity)
        assert (np.diff(slopes) >= -1e-9).all()
        # Every breakpoint is a whole number of cases.
        pack = [1, 6, 12][i]
        assert np.allclose(curve.quantity[:-1] % pack, 0.0)
    # With one-unit cases the critical ratio's quantile of the need is a breakpoint.
    need = np.sort(np.maximum(demand[0] - 0.0, 0.0))
    at_focus = np.round(need[int(np.rint(0.5 * (need.size - 1)))])
    assert at_focus in curves[0].quantity
