"""Calibration of the demand paths' window sums, which is what the orders are sized on.

    python -m benchmarks.bench_window_calibration [--skus 80] [--origin 2026-08-14 ...]

For each origin, the sample brand (``flows.sample.generate_brand``, history to the origin,
true demand for 91 days after it) is forecast with the replay's forecast set-up
(:func:`replenishment.simulate.simulation_forecast_config`: one backtest window, daily, the
planning horizon); then, per SKU, the sum of true demand over ``[lead, lead + days)`` is
placed in the distribution of the same sum over the sample paths (a randomized PIT). The
table gives, per lead and window length, the share of SKUs whose truth falls at or below the
paths' 0.5, 0.9 and 0.95 quantiles (calibrated: 0.5, 0.9, 0.95) and the truth over the
paths' mean, pooled over SKUs (1: unbiased). SKUs with a mean under half a unit in the window
are left out. Results are appended to ``benchmarks/results/window_calibration.jsonl``.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np
import pandas as pd

from flows.sample import generate_brand
from forecasting.config import ForecastConfig
from forecasting.engine import Forecaster
from replenishment.config import PlanningConfig
from replenishment.contract import parse_dataset
from replenishment.simulate import simulation_forecast_config, simulation_planning_config
from replenishment.timeline import planning_horizon

__all__ = ["LEADS", "WINDOWS", "main", "window_table"]

RESULTS = Path("benchmarks/results/window_calibration.jsonl")
LEADS = (0, 14, 28, 42, 56, 70)
WINDOWS = (7, 14, 21)
_TRUTH_DAYS = 91


def window_table(paths: np.ndarray, truth: np.ndarray) -> pd.DataFrame:
    """Coverage and bias of window sums: ``paths`` ``(skus, paths, days)``, ``truth``
    ``(skus, days)`` over the same days."""
    rows = []
    for lead in LEADS:
        for days in WINDOWS:
            if lead + days > truth.shape[1]:
                continue
            sums = paths[:, :, lead:lead + days].sum(axis=2)
            actual = truth[:, lead:lead + days].sum(axis=1)
            kept = sums.mean(axis=1) > 0.5
            pit = ((sums < actual[:, None]).mean(axis=1)
                   + 0.5 * (sums == actual[:, None]).mean(axis=1))[kept]
            rows.append({
                "lead": lead, "days": days, "skus": int(kept.sum()),
                "truth_over_mean": float(actual[kept].sum() / sums[kept].mean(axis=1).sum()),
                **{f"cover_{q}": float((pit <= q).mean()) for q in (0.5, 0.9, 0.95)},
            })
    return pd.DataFrame(rows)


def _origin(origin: str, skus: int) -> tuple[pd.DataFrame, dict[str, float]]:
    brand = generate_brand(seed=0, skus=skus, as_of=origin)
    dataset = parse_dataset({n: (f, n) for n, f in brand.tables.items()},
                            require=("sales", "products", "suppliers", "inventory"))
    planning = simulation_planning_config(PlanningConfig(), 0.95, 7)
    config = simulation_forecast_config(ForecastConfig(), 7, 2,
                                        planning_horizon(dataset.supply.suppliers, planning))
    model = Forecaster(config).fit(dataset.demand, origin, products=dataset.supply.products)
    scenarios = model.predict().scenarios
    truth = brand.true_demand[brand.true_demand["date"] > pd.Timestamp(origin)]
    table = (truth.groupby(["sku", "date"])["demand"].sum().unstack()
             .reindex(index=scenarios.skus, columns=scenarios.dates).fillna(0.0).to_numpy())
    days = min(table.shape[1], _TRUTH_DAYS)
    dependence = model.dependence_
    return (window_table(scenarios.paths[:, :, :days].astype(float), table[:, :days]),
            {"rho": dependence.rho, "shared": dependence.shared, "level": dependence.level})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skus", type=int, default=80)
    parser.add_argument("--origin", action="append",
                        help="Forecast origins (repeatable; default 2026-05-15, 2026-08-14, "
                             "2026-10-02).")
    args = parser.parse_args()
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    for origin in args.origin or ["2026-05-15", "2026-08-14", "2026-10-02"]:
        started = time.perf_counter()
        table, dependence = _origin(origin, args.skus)
        print(f"origin {origin}: " + ", ".join(f"{k} {v:.3f}" for k, v in dependence.items()))
        print(table.round(3).to_string(index=False))
        with RESULTS.open("a", encoding="utf-8") as out:
            out.write(json.dumps({"origin": origin, "skus": args.skus, **dependence,
                                  "seconds": round(time.perf_counter() - started, 1),
                                  "machine": platform.machine(),
                                  "table": table.to_dict(orient="records")}) + "\n")


if __name__ == "__main__":
    main()
