"""Demand classes (Syntetos-Boylan): how often a series sells (ADI) and how much its sizes
vary (CV²) decide smooth, erratic, intermittent or lumpy; too little history is new."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecasting.demand_class import ADI_CUTOFF, CV2_CUTOFF, classify_demand


def _history(series: dict[str, list[float]], censored: dict[str, list[bool]] | None = None
             ) -> pd.DataFrame:
    frames = []
    for uid, y in series.items():
        flags = (censored or {}).get(uid, [False] * len(y))
        frames.append(pd.DataFrame({"unique_id": uid, "y": y, "censored": flags}))
    return pd.concat(frames, ignore_index=True)


def test_the_four_classes_by_hand() -> None:
    history = _history({
        "smooth": [5, 5, 5, 5, 5, 5],            # ADI 1, CV² 0
        "erratic": [1, 10, 1, 10, 1, 10],        # ADI 1, CV² (4.5 / 5.5)² = 0.67
        "intermittent": [0, 0, 5, 0, 0, 5],      # ADI 3, CV² 0
        "lumpy": [0, 0, 1, 0, 0, 10],            # ADI 3, CV² 0.67
    })
    classes = classify_demand(history, min_history=4).set_index("unique_id")
    assert classes["demand_class"].to_dict() == {
        "erratic": "erratic", "intermittent": "intermittent", "lumpy": "lumpy",
        "smooth": "smooth"}
    assert classes.loc["erratic", "cv2"] == pytest.approx((4.5 / 5.5) ** 2)
    assert classes.loc["lumpy", "adi"] == pytest.approx(3.0)
    assert classes["n_obs"].eq(6).all()


def test_cut_offs_are_strict() -> None:
    assert (ADI_CUTOFF, CV2_CUTOFF) == (1.32, 0.49)
    # 33 periods, 25 with sales: ADI = 1.32 exactly, not below the cut-off -> intermittent.
    y = [3.0] * 25 + [0.0] * 8
    classes = classify_demand(_history({"a": y}), min_history=1)
    assert classes.loc[0, "adi"] == pytest.approx(1.32)
    assert classes.loc[0, "demand_class"] == "intermittent"


def test_short_series_are_new_and_never_sold_ones_are_intermittent() -> None:
    history = _history({"young": [4, 5, 6], "silent": [0] * 10})
    classes = classify_demand(history, min_history=5).set_index("unique_id")
    assert classes.loc["young", "demand_class"] == "new"
    assert classes.loc["silent", "demand_class"] == "intermittent"
    assert np.isinf(classes.loc["silent", "adi"]) and classes.loc["silent", "cv2"] == 0.0


def test_censored_periods_do_not_count() -> None:
    # Stockout days sold nothing: they are not evidence of intermittent demand.
    y = [4, 0, 0, 4, 0, 4]
    censored = [False, True, True, False, True, False]
    classes = classify_demand(_history({"a": y}, {"a": censored}), min_history=3)
    assert classes.loc[0, "n_obs"] == 3
    assert classes.loc[0, "adi"] == pytest.approx(1.0)
    assert classes.loc[0, "demand_class"] == "smooth"
    # ... and too few usable periods make the series new.
    assert classify_demand(_history({"a": y}, {"a": censored}), min_history=4).loc[
        0, "demand_class"] == "new"
