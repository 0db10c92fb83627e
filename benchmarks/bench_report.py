"""Report speed: render report.html for seeded synthetic runs of 300 and 3,000 SKUs.

Run from the repository root:

    .venv/bin/python benchmarks/bench_report.py            # prints a table
    .venv/bin/python benchmarks/bench_report.py --write    # also updates docs/benchmarks.md

Each run has two years of daily sales on three channels, a 56-day SKU forecast, stock levels,
an order line for a third of the SKUs, alerts for a quarter of them and eight earlier runs'
forecasts for the accuracy table. Only the top at-risk SKUs (8 by default) get a chart.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import time

import numpy as np
import pandas as pd

from benchmarks.docs import cpu_model, write_section
from flows.outbound.report import ReportInputs, ReportOptions, recent_accuracy, render_report
from replenishment.alerts import SEVERITIES

SIZES = (300, 3_000)
AS_OF = pd.Timestamp("2025-06-30")
HISTORY_DAYS = 730
HORIZON = 56
CHANNELS = ("tmall", "jd", "douyin")
PREVIOUS_RUNS = 8
SECTION = "## Report"


def _forecast(skus: np.ndarray, means: np.ndarray, start: pd.Timestamp) -> pd.DataFrame:
    dates = pd.date_range(start, periods=HORIZON, freq="D")
    level = np.repeat(means, HORIZON)
    return pd.DataFrame({
        "sku": np.repeat(skus, HORIZON), "date": np.tile(dates, len(skus)),
        "forecast": level, "p50": np.floor(level), "p90": level * 1.6, "p95": level * 1.9,
        "p99": level * 2.6,
    })


def synthetic_inputs(n_skus: int, seed: int = 0) -> tuple[ReportInputs, float]:
    """A run of ``n_skus`` SKUs and the seconds ``recent_accuracy`` took for it."""
    rng = np.random.default_rng(seed)
    skus = np.array([f"SKU{i:05d}" for i in range(n_skus)])
    means = rng.gamma(1.5, 4.0, n_skus)
    dates = pd.date_range(end=AS_OF, periods=HISTORY_DAYS, freq="D")
    cells = n_skus * len(CHANNELS) * HISTORY_DAYS
    units = rng.poisson(np.repeat(means / len(CHANNELS), len(CHANNELS) * HISTORY_DAYS))
    sales = pd.DataFrame({
        "date": np.tile(dates, n_skus * len(CHANNELS)),
        "sku": np.repeat(skus, len(CHANNELS) * HISTORY_DAYS),
        "channel": np.tile(np.repeat(CHANNELS, HISTORY_DAYS), n_skus),
        "units": units.astype(float), "stockout": (rng.random(cells) < 0.01).astype(int),
    })
    sales = sales[(sales["units"] > 0) | (sales["stockout"] > 0)].reset_index(drop=True)
    suppliers = np.array([f"S{i:02d}" for i in rng.integers(0, 20, n_skus)])
    levels = pd.DataFrame({
        "sku": skus, "supplier": suppliers, "on_hand": rng.poisson(means * 20).astype(float),
        "on_order": 0.0, "safety_stock": means * 5, "reorder_point": means * 25,
        "order_up_to": means * 35, "protection_demand": means * 28,
    })
    ordered = rng.random(n_skus) < 1 / 3
    orders = pd.DataFrame({
        "supplier": suppliers[ordered], "sku": skus[ordered], "name": "产品 " + skus[ordered],
        "order_date": AS_OF, "qty": np.ceil(means[ordered] * 20),
        "expected_arrival": AS_OF + pd.Timedelta(days=14), "unit_cost": 10.0,
    }).assign(line_value=lambda f: f["qty"] * 10.0)
    flagged = rng.choice(n_skus, n_skus // 4, replace=False)
    alerts = pd.DataFrame({
        "alert_id": [f"a{i}" for i in flagged], "kind": "stockout_risk",
        "severity": rng.choice(SEVERITIES, len(flagged)), "sku": skus[flagged], "channel": "",
        "date": AS_OF + pd.Timedelta(days=10), "message": "may run out",
        "value_at_risk": rng.gamma(2.0, 500.0, len(flagged)),
    })
    previous = [
        (f"run-{k}", AS_OF - pd.Timedelta(days=7 * k),
         _forecast(skus, means, AS_OF - pd.Timedelta(days=7 * k - 1)))
        for k in range(PREVIOUS_RUNS, 0, -1)
    ]
    started = time.perf_counter()
    accuracy = recent_accuracy(previous, sales)
    accuracy_seconds = time.perf_counter() - started
    inputs = ReportInputs(
        brand="Benchmark", as_of=AS_OF, run_id="bench", sales=sales,
        forecast_sku=_forecast(skus, means, AS_OF + pd.Timedelta(days=1)), levels=levels,
        orders=orders, alerts=alerts, accuracy=accuracy, expected_fill_rate=0.95,
    )
    return inputs, accuracy_seconds


def run(sizes: tuple[int, ...], options: ReportOptions) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for n_skus in sizes:
        inputs, accuracy_seconds = synthetic_inputs(n_skus, seed=n_skus)
        render_report(inputs, options)  # warm-up: imports, fonts, template compilation
        started = time.perf_counter()
        html = render_report(inputs, options)
        seconds = time.perf_counter() - started
        rows.append({
            "skus": n_skus, "sales_rows": len(inputs.sales), "charts": options.top_skus,
            "accuracy_s": accuracy_seconds, "render_s": seconds,
            "kib": len(html.encode()) / 1024,
        })
        print(rows[-1], flush=True)
    return rows




def markdown(rows: list[dict[str, object]]) -> str:
    head = (
        f"{SECTION}\n\n"
        f"`benchmarks/bench_report.py`, {dt.date.today().isoformat()}, {os.cpu_count()} cores, "
        f"{cpu_model()}, Python {platform.python_version()}; machine shared with other jobs "
        f"while measured. Seeded synthetic runs: {HISTORY_DAYS} days of daily sales on "
        f"{len(CHANNELS)} channels, a {HORIZON}-day forecast, orders for a third of the SKUs, "
        f"alerts for a quarter, {PREVIOUS_RUNS} earlier runs in the accuracy table. `render` "
        "is `render_report` after a warm-up call (headline, tables, the charts of the top "
        "at-risk SKUs as SVG, template); `accuracy` is `recent_accuracy` over the earlier "
        "runs.\n\n"
        "| SKUs | sales rows | charts | accuracy s | render s | report KiB |\n"
        "| ---: | ---: | ---: | ---: | ---: | ---: |\n"
    )
    body = "".join(
        f"| {r['skus']:,} | {r['sales_rows']:,} | {r['charts']} | {r['accuracy_s']:.2f} | "
        f"{r['render_s']:.2f} | {r['kib']:,.0f} |\n"
        for r in rows
    )
    return head + body




def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--write", action="store_true", help="update docs/benchmarks.md")
    parser.add_argument("--top-skus", type=int, default=ReportOptions().top_skus)
    args = parser.parse_args()
    rows = run(SIZES, ReportOptions(top_skus=args.top_skus))
    text = markdown(rows)
    print(text)
    if args.write:
        write_section(SECTION, text)


if __name__ == "__main__":
    main()
