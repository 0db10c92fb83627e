"""Accuracy of the engine on the sample brand, scored against its true demand.

    python -m benchmarks.bench_sample_accuracy [--skus 300] [--origin 2026-10-03 ...]
        [--set '{"global_strategy": "direct"}']

The sample brand (``flows.sample.generate_brand``) knows the demand behind its sales,
including the 91 days after its as-of date, so forecasts made at held-out origins are scored
against demand, not censored sales. Per origin and overall, for every candidate model and
the engine's combination: WAPE, bias, and on promotion days, livestream days (Douyin) and
festival days the forecast lift against the true lift. A lift is the demand on flagged days
over the same series' mean demand on its normal days in the window (no promotion,
livestream, festival or closure), pooled over series: the forecast lift uses the forecast
for both. Each run appends a JSON line to ``benchmarks/results/sample_accuracy.jsonl``.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.bench_accuracy import cpu_model
from flows.sample import generate_brand
from forecasting.config import ForecastConfig
from forecasting.engine import Forecaster
from replenishment.contract import parse_dataset

__all__ = ["DEFAULT_ORIGINS", "DOUBLE_11", "festival_day_ratio", "flag_days", "lift_table",
           "main", "score_origin"]

RESULTS = Path("benchmarks/results/sample_accuracy.jsonl")
DEFAULT_ORIGINS = ("2026-09-05", "2026-10-03", "2026-10-31")
"""Three 28-day windows; the last holds the Double 11 pre-sale peak and the festival day."""
DOUBLE_11 = "2026-11-11"
_FLAGS = {"promotion": "promo_active", "livestream": "live_on_air", "festival": "festival_on"}


def flag_days(rows: pd.DataFrame) -> pd.DataFrame:
    """``unique_id, ds`` with a boolean column per signal and ``normal`` (none of them)."""
    out = rows[["unique_id", "ds"]].copy()
    for name, column in _FLAGS.items():
        out[name] = rows[column].to_numpy() > 0 if column in rows else False
    out["livestream"] &= rows["unique_id"].str.endswith("|douyin").to_numpy()
    closed = rows["closed"].to_numpy() > 0 if "closed" in rows else False
    after = rows["promo_days_after"].to_numpy() <= 7 if "promo_days_after" in rows else False
    out["normal"] = ~(out[list(_FLAGS)].any(axis=1).to_numpy() | closed | after)
    return out


def lift_table(scored: pd.DataFrame, models: Sequence[str]) -> pd.DataFrame:
    """Per signal: rows, true lift, each model's lift and its bias on the flagged days."""
    normal = scored[scored["normal"]].groupby("unique_id")[["demand", *models]].mean()
    records = []
    for name in _FLAGS:
        flagged = scored[scored[name] & scored["unique_id"].isin(normal.index)]
        if flagged.empty:
            continue
        base = normal.reindex(flagged["unique_id"])
        record: dict[str, float | str] = {"signal": name, "rows": float(len(flagged))}
        record["true_lift"] = _ratio(flagged["demand"].sum(), base["demand"].sum())
        for model in models:
            record[f"{model}_lift"] = _ratio(flagged[model].sum(), base[model].sum())
            record[f"{model}_bias"] = _ratio(flagged[model].sum(), flagged["demand"].sum()) - 1
        records.append(record)
    return pd.DataFrame(records)


def festival_day_ratio(scored: pd.DataFrame, models: Sequence[str],
                       day: str = DOUBLE_11) -> dict[str, float]:
    """Per model, the forecast total over all series on ``day`` over its true demand."""
    on = scored[scored["ds"] == pd.Timestamp(day)]
    return {m: _ratio(on[m].sum(), on["demand"].sum()) for m in models} if len(on) else {}


def _ratio(numerator: float, denominator: float) -> float:
    return float(numerator / denominator) if denominator > 0 else float("nan")


def score_origin(fitted: Forecaster, truth: pd.DataFrame) -> pd.DataFrame:
    """Every candidate's and the combination's forecast joined with true demand and flags."""
    result = fitted.predict()
    frame = result.candidates.drop(columns=["dispersion"]).rename(
        columns={"forecast": "combination"})
    frame = frame.merge(truth, on=["sku", "channel", "ds"], how="inner")
    future = fitted.rows_[fitted.rows_["ds"] > fitted.origin_]
    return frame.merge(flag_days(future), on=["unique_id", "ds"], how="left")


def _metrics(scored: pd.DataFrame, models: Sequence[str]) -> pd.DataFrame:
    y = scored["demand"].to_numpy(float)
    return pd.DataFrame([{
        "model": m,
        "wape": float(np.abs(scored[m].to_numpy(float) - y).sum() / y.sum()),
        "bias": float(scored[m].sum() / y.sum() - 1),
    } for m in models])


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Engine accuracy on the sample brand.")
    parser.add_argument("--skus", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--horizon", type=int, default=28)
    parser.add_argument("--origin", action="append", help="Forecast origins (repeatable).")
    parser.add_argument("--set", default="{}", help="ForecastConfig overrides as JSON.")
    parser.add_argument("--n-jobs", type=int, default=2)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = _parse_args(argv)
    overrides = json.loads(args.set)
    config = ForecastConfig(**{"horizon": args.horizon, **overrides})
    brand = generate_brand(seed=args.seed, skus=args.skus)
    dataset = parse_dataset({name: (frame, name) for name, frame in brand.tables.items()})
    truth = brand.true_demand.rename(columns={"date": "ds"})
    origins = [pd.Timestamp(o) for o in (args.origin or DEFAULT_ORIGINS)]
    frames, seconds, choices = [], [], []
    for origin in origins:
        started = time.perf_counter()
        fitted = Forecaster(config, n_jobs=args.n_jobs).fit(
            dataset.demand, as_of=origin, products=dataset.supply.products)
        scored = score_origin(fitted, truth).assign(origin=origin)
        seconds.append(time.perf_counter() - started)
        frames.append(scored)
        models = [m for m in (*fitted.model_names_, "combination") if m in scored]
        print(f"origin {origin:%Y-%m-%d} ({seconds[-1]:.0f} s) set-up "
              f"{getattr(getattr(fitted, 'setup_', None), 'name', None)} {fitted.setup_scores_} "
              f"trees {fitted.trees_} blend {fitted.blend_} {fitted.blend_scores_}")
        choices.append({"origin": f"{origin:%Y-%m-%d}", "blend": fitted.blend_,
                        "setup": getattr(getattr(fitted, "setup_", None), "name", None),
                        "trees": fitted.trees_})
        print(_metrics(scored, models).round(4).to_string(index=False), flush=True)
    scored = pd.concat(frames, ignore_index=True)
    models = [m for m in (*fitted.model_names_, "combination") if m in scored]
    overall = _metrics(scored, models)
    lifts = lift_table(scored, models)
    print("all origins")
    print(overall.round(4).to_string(index=False))
    print(lifts.round(3).to_string(index=False))
    festival = festival_day_ratio(scored, models)
    print("Double 11 day total / true demand:", {k: round(v, 3) for k, v in festival.items()})
    record = {
        "skus": args.skus, "series": int(scored["unique_id"].nunique()),
        "origins": [f"{o:%Y-%m-%d}" for o in origins], "config": overrides,
        "scores": overall.round(4).to_dict("records"),
        "lifts": lifts.round(3).to_dict("records"), "seconds": [round(s, 1) for s in seconds],
        "double11_ratio": {k: round(v, 3) for k, v in festival.items()}, "choices": choices,
        "date": date.today().isoformat(), "nproc": os.cpu_count(), "cpu": cpu_model(),
        "load_avg_1m": round(os.getloadavg()[0], 1),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    with RESULTS.open("a") as out:
        out.write(json.dumps(record) + "\n")


if __name__ == "__main__":
    main()
