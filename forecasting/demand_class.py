"""Demand classes from the average demand interval (ADI) and the squared coefficient of
variation of non-zero demand sizes (CV²), with the Syntetos-Boylan cut-offs 1.32 and 0.49."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["ADI_CUTOFF", "CV2_CUTOFF", "classify_demand"]

ADI_CUTOFF = 1.32
CV2_CUTOFF = 0.49


def classify_demand(history: pd.DataFrame, min_history: int) -> pd.DataFrame:
    """One row per ``unique_id``: ``adi``, ``cv2``, ``n_obs`` and ``demand_class``.

    Censored periods (column ``censored``) are left out. Series with fewer than
    ``min_history`` usable periods are ``new``; series that never sold are ``intermittent``
    with an infinite ADI.
    """
    usable = history[~history["censored"]] if "censored" in history else history
    grouped = usable.groupby("unique_id", sort=True)["y"]
    n_obs = grouped.size()
    positive = usable[usable["y"] > 0].groupby("unique_id")["y"]
    n_positive = positive.size().reindex(n_obs.index, fill_value=0)
    adi = (n_obs / n_positive.replace(0, np.nan)).fillna(np.inf)
    cv2 = (positive.std(ddof=0) / positive.mean()).pow(2).reindex(n_obs.index).fillna(0.0)
    frequent = adi < ADI_CUTOFF
    stable = cv2 < CV2_CUTOFF
    label = np.select(
        [frequent & stable, frequent & ~stable, ~frequent & stable],
        ["smooth", "erratic", "intermittent"], default="lumpy",
    )
    out = pd.DataFrame({"adi": adi, "cv2": cv2, "n_obs": n_obs, "demand_class": label})
    out.loc[out["n_obs"] < min_history, "demand_class"] = "new"
    return out.rename_axis("unique_id").reset_index()
