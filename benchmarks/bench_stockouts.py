"""Suspected-stockout detection on the sample brand with its stockout flags removed.

    .venv/bin/python -m benchmarks.bench_stockouts --skus 300

The sample brand flags every day a SKU ran out (``stockout = 1``). This benchmark drops the
flags, runs the engine's feature stage (:meth:`forecasting.engine.Forecaster.prepare`, which
builds ``data_quality``) and scores the suspected runs against the flagged days and the
brand's true demand:

- precision: share of suspected (censored) days that were flagged stockouts;
- recall by length of the flagged run (most sample-brand stockouts are one or two days that
  still sell what was left, so they are not low: the goal is the long silent runs);
- the table's ``expected_units`` against the true demand on the suspected days.

Prints one JSON line with the date and machine for ``docs/benchmarks.md``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import time
from collections.abc import Sequence
from datetime import date

import pandas as pd

from benchmarks.bench_accuracy import cpu_model
from flows.sample import generate_brand
from forecasting.config import ForecastConfig
from forecasting.engine import Forecaster
from replenishment.contract import parse_dataset

__all__ = ["main", "score_detection"]

_LENGTHS = (0, 2, 6, 13, 27, 10_000)


def _run_days(table: pd.DataFrame) -> pd.DataFrame:
    """One row per censored day of the data-quality table: ``sku, channel, date``."""
    censored = table[table["censored"].astype(bool)]
    rows = [(sku, channel, day)
            for sku, channel, start, end in zip(censored["sku"], censored["channel"],
                                                censored["start"], censored["end"], strict=True)
            for day in pd.date_range(start, end)]
    return pd.DataFrame(rows, columns=["sku", "channel", "date"])


def score_detection(table: pd.DataFrame, flagged: pd.DataFrame, true_demand: pd.DataFrame
                    ) -> dict[str, object]:
    """Precision, recall by flagged-run length and expected vs true units (see the module)."""
    suspected = _run_days(table)
    keys = ["sku", "channel", "date"]
    hits = suspected.merge(flagged[keys].assign(flag=1), on=keys, how="left")["flag"].fillna(0)
    ordered = flagged.sort_values(keys).reset_index(drop=True)
    step = ordered.groupby(["sku", "channel"])["date"].diff() != pd.Timedelta(days=1)
    ordered["run"] = step.cumsum()
    found = ordered.merge(suspected.assign(found=1), on=keys, how="left")["found"].fillna(0)
    runs = ordered.assign(found=found.to_numpy()).groupby("run").agg(
        days=("date", "size"), found=("found", "mean"))
    bins = pd.cut(runs["days"], list(_LENGTHS))
    recall = runs.groupby(bins, observed=False)["found"].agg(["size", "mean"])
    truth = suspected.merge(true_demand, on=keys, how="left")["demand"].sum()
    censored = table[table["censored"].astype(bool)]
    return {
        "suspected_runs": len(table), "censored_runs": len(censored),
        "suspected_days": len(suspected), "flagged_days": len(flagged),
        "precision": round(float(hits.mean()) if len(hits) else 0.0, 3),
        "recall_by_run_days": {str(k): [int(r["size"]), round(float(r["mean"]), 3)]
                               for k, r in recall.iterrows()},
        "expected_units": round(float(censored["expected_units"].sum()), 1),
        "true_units": round(float(truth), 1),
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--skus", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    brand = generate_brand(seed=args.seed, skus=args.skus)
    dataset = parse_dataset({name: (frame, name) for name, frame in brand.tables.items()})
    sales = dataset.demand.sales
    flagged = sales.loc[sales["stockout"] == 1, ["sku", "channel", "date"]]
    unflagged = dataclasses.replace(dataset.demand, sales=sales.assign(stockout=0))
    started = time.process_time()
    forecaster = Forecaster(ForecastConfig(horizon=28)).prepare(
        unflagged, products=dataset.supply.products, inventory=dataset.supply.inventory)
    seconds = time.process_time() - started
    result = score_detection(forecaster.data_quality_, flagged, brand.true_demand)
    print(json.dumps({"skus": args.skus, "series": len(forecaster.panel_.series), **result,
                      "prepare_cpu_s": round(seconds, 1), "date": date.today().isoformat(),
                      "nproc": os.cpu_count(), "cpu": cpu_model()}))


if __name__ == "__main__":
    main()
