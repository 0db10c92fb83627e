"""Known answers (Snyder & Shen, as listed in the shared reference) from the project's own code."""

from __future__ import annotations

import numpy as np
import pytest

from replenishment.loss import (
    empirical_loss,
    inverse_standard_normal_loss,
    normal_loss,
    poisson_loss,
    standard_normal_loss,
)
from replenishment.policy import (
    base_stock_normal,
    base_stock_poisson,
    cycle_service_safety_factor,
    discrete_newsvendor,
    discrete_newsvendor_cost,
    economic_order_quantity,
    eoq_cost,
    fill_rate_safety_factor,
    newsvendor_normal,
    newsvendor_normal_cost,
    newsvendor_poisson,
    newsvendor_poisson_cost,
    r_q_eoq_safety_stock,
    s_S_poisson,
    s_S_poisson_cost,
    safety_stock,
)

REL = 1e-9


def test_case_a_normal_newsvendor() -> None:
    result = newsvendor_normal(50, 8, holding=0.18, stockout=0.7)
    assert result.level == pytest.approx(56.603955927433887, rel=REL)
    assert result.cost == pytest.approx(1.997605193176645, rel=REL)
    assert newsvendor_normal_cost(40, 50, 8, 0.18, 0.7) == pytest.approx(7.356131552870388, rel=REL)
    assert newsvendor_normal_cost(60, 50, 8, 0.18, 0.7) == pytest.approx(2.156131552870387, rel=REL)


def test_case_b_normal_newsvendor() -> None:
    result = newsvendor_normal(120, 10, holding=2, stockout=18)
    assert result.level == pytest.approx(132.815515655446, rel=REL)
    assert result.cost == pytest.approx(35.09966638649737, rel=REL)


def test_case_c_normal_newsvendor() -> None:
    result = newsvendor_normal(900, 60, holding=43, stockout=79)
    assert result.level == pytest.approx(922.7214038234755, rel=REL)
    assert result.cost == pytest.approx(2718.196781782411, rel=REL)
    cost_1040 = newsvendor_normal_cost(1040, 900, 60, 43, 79)
    assert cost_1040 == pytest.approx(6044.298415188692, rel=REL)


def test_case_d_base_stock_with_lead_time() -> None:
    result = base_stock_normal(50, 8, lead_time=4, holding=0.18, stockout=0.7)
    assert result.level == pytest.approx(264.7668943741548, rel=REL)
    assert result.cost == pytest.approx(4.466781004149578, rel=REL)
    std = 8 * np.sqrt(5)
    assert newsvendor_normal_cost(180, 250, std, 0.18, 0.7) == pytest.approx(
        49.000164748034095, rel=REL
    )


def test_case_e_poisson_newsvendor_and_base_stock() -> None:
    e1 = newsvendor_poisson(6, holding=1, stockout=4)
    assert (e1.level, e1.cost) == (8, pytest.approx(3.570106945770946, rel=REL))
    assert newsvendor_poisson_cost(5, 6, 1, 4) == pytest.approx(6.590296024616344, rel=REL)
    e2 = newsvendor_poisson(18, holding=200, stockout=270)
    assert (e2.level, e2.cost) == (19, pytest.approx(786.0884409351115, rel=REL))
    e3 = base_stock_poisson(18, lead_time=4, holding=0.08, stockout=1.25)
    assert (e3.level, e3.cost) == (105, pytest.approx(1.5450188691551778, rel=REL))


def test_case_f_discrete_newsvendor() -> None:
    pmf = {1: 0.25, 2: 0.05, 3: 0.10, 4: 0.20, 5: 0.15, 6: 0.10, 7: 0.10, 8: 0.05}
    result = discrete_newsvendor(pmf, holding=500_000, stockout=1_000_000)
    assert result.level == 5
    assert result.cost == pytest.approx(1_225_000, rel=REL)
    assert discrete_newsvendor_cost(3, pmf, 500_000, 1_000_000) == pytest.approx(1_725_000, rel=REL)


def test_case_h_eoq() -> None:
    result = economic_order_quantity(fixed_cost=8, holding=0.225, demand_rate=1300)
    assert result.quantity == pytest.approx(304.0467800264368, rel=REL)
    assert result.cost == pytest.approx(68.410525505948272, rel=REL)
    assert eoq_cost(250, 8, 0.225, 1300) == pytest.approx(69.725, rel=REL)


def test_case_j_r_q_eoq_plus_safety_stock() -> None:
    result = r_q_eoq_safety_stock(
        fixed_cost=8, holding=0.225, stockout=7.5, demand_rate=1300, demand_std=150,
        lead_time=1 / 12,
    )
    assert result.reorder_point == pytest.approx(190.3369965715624, rel=REL)
    assert result.quantity == pytest.approx(304.0467800264368, rel=REL)


def test_case_k_s_S_poisson() -> None:
    k1 = s_S_poisson(6, holding=1, stockout=4, fixed_cost=5)
    assert (k1.s, k1.S) == (4, 10)
    assert k1.cost == pytest.approx(8.034111561471644, rel=1e-8)
    assert s_S_poisson_cost(6, 18, 6, 1, 4, 5) == pytest.approx(10.193798671644046, rel=1e-8)
    k2 = s_S_poisson(4, holding=40, stockout=125, fixed_cost=150)
    assert (k2.s, k2.S) == (2, 7)
    assert k2.cost == pytest.approx(223.5748295669688, rel=1e-8)


def test_case_m_standard_normal_loss() -> None:
    values = standard_normal_loss([-1.4, 0.3, 3.1])
    expected = [1.436668142708465, 0.266761242117210, 2.672490952231408e-4]
    np.testing.assert_allclose(values, expected, rtol=1e-12)


def test_safety_stock_with_demand_and_lead_time_variability() -> None:
    z = cycle_service_safety_factor(0.95)
    assert z == pytest.approx(1.64485, abs=1e-5)
    assert safety_stock(z, lead_time=9, demand_std=10) == pytest.approx(49.346, abs=5e-4)
    assert safety_stock(z, 9, 10, demand_mean=100, lead_time_std=2) == pytest.approx(
        332.651, abs=5e-4
    )


def test_fill_rate_factor_meets_the_target_shortage() -> None:
    k = fill_rate_safety_factor(0.98, order_quantity=500, demand_std=60)
    assert 60 * standard_normal_loss(k) == pytest.approx(0.02 * 500, rel=1e-10)
    # A higher fill rate needs more safety stock.
    assert fill_rate_safety_factor(0.995, 500, 60) > k
    assert inverse_standard_normal_loss(float(standard_normal_loss(-1.4))) == pytest.approx(-1.4)


def test_loss_functions_agree_with_samples() -> None:
    rng = np.random.default_rng(0)
    normal = rng.normal(100, 20, 400_000)
    assert empirical_loss(normal, 120) == pytest.approx(normal_loss(120, 100, 20), rel=0.01)
    counts = rng.poisson(7, 400_000)
    assert empirical_loss(counts, 9) == pytest.approx(poisson_loss(9, 7), rel=0.01)
    assert normal_loss(5, 8, 0) == 3.0
    samples = np.array([[1.0, 3.0], [10.0, 20.0]])
    rows = empirical_loss(samples, np.array([[0.0, 2.0], [15.0, 30.0]]))
    np.testing.assert_allclose(rows, [[2.0, 0.5], [2.5, 0.0]])


def test_bad_costs_are_refused() -> None:
    with pytest.raises(ValueError, match="holding and stockout"):
        newsvendor_normal(10, 2, holding=0, stockout=1)
    with pytest.raises(ValueError, match="sum to 1"):
        discrete_newsvendor({1: 0.5, 2: 0.4}, 1, 1)
