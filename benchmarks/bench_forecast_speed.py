"""Time the forecast end to end (features, backtest windows, models, quantiles, paths).

Usage: ``python benchmarks/bench_forecast_speed.py [--skus N] [--days D] [--horizon H]``.
Data: the sample brand (``flows.sample``) with N SKUs x 4 channels; only (sku, channel)
pairs that ever sold are series. Prints wall time, series count and peak memory (RSS).
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import time

import pandas as pd

from flows.sample import generate_brand
from forecasting.config import ForecastConfig
from forecasting.engine import Forecaster
from replenishment.contract import parse_dataset


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--skus", type=int, default=300)
    parser.add_argument("--days", type=int, default=730)
    parser.add_argument("--horizon", type=int, default=140,
                        help="Days forecast (the sample brand's planning horizon: longest "
                        "lead time + review + 13 weeks, about 140).")
    parser.add_argument("--n-jobs", type=int, default=-1)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    start = time.perf_counter()
    brand = generate_brand(seed=args.seed, skus=args.skus, days=args.days)
    raw = {name: (frame, name) for name, frame in brand.tables.items()}
    dataset = parse_dataset(raw)
    generated = time.perf_counter() - start
    start = time.perf_counter()
    fitted = Forecaster(ForecastConfig(horizon=args.horizon), n_jobs=args.n_jobs).fit(
        dataset.demand, products=dataset.supply.products)
    result = fitted.predict()
    elapsed = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_s = usage.ru_utime + usage.ru_stime + children.ru_utime + children.ru_stime
    peak_mb = max(usage.ru_maxrss, children.ru_maxrss) / 1024
    n_series = len(result.models)
    print(f"date={pd.Timestamp.now():%Y-%m-%d} machine={platform.machine()} "
          f"python={platform.python_version()} cores={_cores()} "
          f"load_avg_1m={os.getloadavg()[0]:.1f}")
    print(f"skus={args.skus} series={n_series} days={args.days} horizon={args.horizon} "
          f"data_gen_s={generated:.1f} forecast_s={elapsed:.1f} cpu_s_total={cpu_s:.1f} "
          f"peak_rss_mb={peak_mb:.0f}")
    total = sum(fitted.timings_.values())
    shares = {k: f"{v:.1f} s ({v / total:.0%})" for k, v in fitted.timings_.items()}
    print(f"engine CPU s by stage (total {total:.1f}): {shares}")
    print(f"set-up {getattr(getattr(fitted, 'setup_', None), 'name', None)} "
          f"{fitted.setup_scores_} trees {fitted.trees_} blend {fitted.blend_}")
    print(result.scores.round(4).to_string(index=False))
    print(result.models["demand_class"].value_counts().to_string())


def _cores() -> int:
    return len(os.sched_getaffinity(0))


if __name__ == "__main__":
    main()
