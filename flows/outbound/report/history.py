"""Earlier runs' SKU forecasts, read from the run store for :func:`recent_accuracy`."""

from __future__ import annotations

from datetime import date

import pandas as pd

from flows.outbound.report.accuracy import PreviousForecast
from flows.storage.store import RunStore

__all__ = ["FORECAST_OUTPUT", "stored_forecasts"]

FORECAST_OUTPUT = "forecast_sku"


def stored_forecasts(store: RunStore, before: date | pd.Timestamp | str, limit: int = 8,
                     scan: int = 200, output: str = FORECAST_OUTPUT) -> list[PreviousForecast]:
    """``(run_id, as_of, frame)`` of the latest ``limit`` as-of dates before ``before`` whose
    succeeded runs saved ``output``, oldest first; per as-of date the run that started last.

    Only the ``scan`` most recently started runs are looked at, which bounds the cost when
    the store holds years of runs.
    """
    runs = store.list_runs(limit=scan)
    cutoff = pd.Timestamp(before).normalize()
    has_output = runs["outputs"].str.split(", ").apply(lambda names: output in names)
    usable = runs[(runs["status"] == "succeeded") & (runs["as_of"] < cutoff) & has_output]
    # list_runs is newest-started first, so the first row per as-of date is the latest run.
    latest = usable.drop_duplicates("as_of").sort_values("as_of").tail(limit)
    found: list[PreviousForecast] = []
    for run_id, as_of in zip(latest["run_id"], latest["as_of"], strict=True):
        frame = store.load_output(str(run_id), output)
        if frame is not None:
            found.append((str(run_id), pd.Timestamp(as_of), frame))
    return found
