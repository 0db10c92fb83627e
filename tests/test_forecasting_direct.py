"""The direct global model: no look-ahead in its history features, livestream plans used."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecasting.direct import DirectGlobalModel, category_season, history_features


def _rows(n_series: int, days: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2024-01-01", periods=days, freq="D")
    return pd.DataFrame({
        "unique_id": np.repeat([f"S{i}|jd" for i in range(n_series)], days),
        "ds": np.tile(dates, n_series),
        "y": rng.poisson(10.0, n_series * days).astype(float),
    })


def test_history_features_read_only_periods_a_horizon_back() -> None:
    rows = _rows(2, 400)
    horizon = 14
    before = history_features(rows, horizon, "D", 7)
    # Change everything in the 14 days before the last row of the first series.
    changed = rows.copy()
    last = 399
    changed.loc[last - horizon + 1:last, "y"] = 1e6
    after = history_features(changed, horizon, "D", 7)
    pd.testing.assert_series_equal(before.loc[last], after.loc[last])
    y = rows["y"].to_numpy()
    assert before.loc[last, "level"] == pytest.approx(y[last - horizon - 27:last - horizon + 1]
                                                       .mean())
    # the second series starts fresh: no value leaks across series boundaries
    assert np.isnan(before.loc[400, "level"])


def test_livestream_plan_sets_the_forecast_of_a_stream_day() -> None:
    rng = np.random.default_rng(1)
    days, horizon = 300, 14
    rows = _rows(12, days + horizon, seed=2)
    rows["y"] = rng.poisson(np.repeat(rng.uniform(2, 20, 12), days + horizon)).astype(float)
    # Streams on random days: the plan is the units the stream sells (10-30x a normal day).
    stream = rng.random(len(rows)) < 0.03
    level = rows.groupby("unique_id")["y"].transform("mean").to_numpy()
    planned = np.where(stream, level * rng.uniform(10, 30, len(rows)), 0.0)
    rows["y"] = np.where(stream, rng.poisson(planned), rows["y"])
    rows["live_on_air"] = stream.astype(float)
    rows["live_planned_units"] = planned
    rows["censored"] = False
    cutoff = rows["ds"].min() + pd.Timedelta(days=days - 1)
    history, future = rows[rows["ds"] <= cutoff], rows[rows["ds"] > cutoff]
    statics = pd.DataFrame({"unique_id": rows["unique_id"].unique(), "channel": "jd",
                            "category": None})
    model = DirectGlobalModel(["live_on_air", "live_planned_units"], "D", 7, horizon,
                              {"n_estimators": 100}, seed=0, n_jobs=1).fit(history, statics)
    predicted = model.predict(history, future.drop(columns="y"), horizon)
    joined = future.merge(predicted, on=["unique_id", "ds"])
    on = joined["live_on_air"] > 0
    assert on.sum() >= 3
    # stream days: forecast close to the plan; other days: close to the series' level
    ratio = joined.loc[on, "lightgbm"].sum() / joined.loc[on, "live_planned_units"].sum()
    assert ratio == pytest.approx(1.0, abs=0.3)
    normal = joined[~on]
    assert normal["lightgbm"].sum() / normal["y"].sum() == pytest.approx(1.0, abs=0.1)
    with pytest.raises(ValueError, match="cannot forecast"):
        model.predict(history, future, horizon + 1)


def test_training_rows_capped_only_past_the_cap() -> None:
    model = DirectGlobalModel([], "D", 7, 14, {}, seed=0, n_jobs=1, max_rows=100)
    rows = np.arange(0, 300, 2)
    capped = model._capped(rows)
    assert len(capped) == 100 and np.all(np.diff(capped) > 0) and np.isin(capped, rows).all()
    assert np.array_equal(model._capped(rows[:100]), rows[:100])
    assert np.array_equal(DirectGlobalModel([], "D", 7, 14, {}, 0, 1)._capped(rows), rows)


def test_category_season_gives_a_new_sku_its_category_s_seasonal_ratio() -> None:
    """Two established creams sold 10 a day through last year's autumn and 15 a day from
    late November; a cream launched last month has no year-ago history of its own, yet its
    rows a year later read the category's 1.5: what the target over ``level`` was a year ago.
    A category that did not move reads 1.0."""
    dates = pd.date_range("2024-01-01", periods=800, freq="D")
    winter = (dates >= pd.Timestamp("2024-11-20")).astype(float)
    rows = []
    for uid, category, base in (("old1", "cream", 10.0), ("old2", "cream", 20.0),
                                ("flat", "mask", 8.0)):
        lift = 1.0 + 0.5 * winter if category == "cream" else np.ones(len(dates))
        rows.append(pd.DataFrame({"unique_id": uid, "ds": dates, "y": base * lift}))
    launched = dates >= pd.Timestamp("2025-10-01")
    rows.append(pd.DataFrame({"unique_id": "new", "ds": dates[launched], "y": 12.0}))
    frame = pd.concat(rows, ignore_index=True)
    codes = np.where(frame["unique_id"] == "flat", 1, 0)
    lead = np.full(len(frame), 42)
    target_day = pd.Timestamp("2025-12-01")  # a year before: 2024-12-02, after the lift
    at = np.flatnonzero(frame["ds"].to_numpy() == np.datetime64(target_day))
    values = dict(zip(frame["unique_id"].to_numpy()[at],
                      category_season(frame, codes, lead, at, "D"), strict=True))
    # The level window a year back (28 days ending 2024-10-21) is before the lift.
    assert values["new"] == pytest.approx(1.5, rel=0.02)
    assert values["old1"] == pytest.approx(values["new"])
    assert values["flat"] == pytest.approx(1.0)
    # Too early for a year-ago window: unknown, not made up.
    early = np.flatnonzero(frame["ds"].to_numpy() == np.datetime64(dates[100]))
    assert np.isnan(category_season(frame, codes, lead, early, "D")).all()
