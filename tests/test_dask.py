"""Per-series models over an executor: chunks of whole series on a Dask LocalCluster (or any
``concurrent.futures.Executor``) give the in-process result; the planning flow runs its tasks
on the cluster (through prefect-dask)."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from distributed import Client, LocalCluster, get_task_stream
from forecasting_synth import synthetic_demand
from pydantic import ValidationError

from flows.commands import main
from flows.config import ExecutionSettings, load_settings
from flows.errors import UserError
from flows.orchestration.dask import execution, run_flow_on_dask, with_engine
from flows.pipeline.planning import PlanOptions
from flows.sample import generate_brand, write_brand
from forecasting.config import ForecastConfig
from forecasting.engine import forecast
from forecasting.models import stats_forecast
from forecasting.parallel import MIN_CHUNKS, chunk_count, chunk_series, spread_stats_forecast

_NAMES = ("seasonal_naive", "seasonal_es", "croston_sba", "tsb", "adida", "imapa", "auto_ets")


def _history(n_series: int = 24, days: int = 120, seed: int = 0) -> pd.DataFrame:
    """Smooth, intermittent and too-short series (the short ones take the fallback model)."""
    rng = np.random.default_rng(seed)
    frames = []
    for i in range(n_series):
        length = 5 if i % 8 == 7 else days
        rate = 0.3 if i % 3 == 0 else rng.uniform(5, 40)
        frames.append(pd.DataFrame({
            "unique_id": f"s{i:03d}",
            "ds": pd.date_range(end="2025-06-30", periods=length, freq="D"),
            "y": rng.poisson(rate, length).astype(float),
        }))
    return pd.concat(frames, ignore_index=True)


def test_the_forecast_config_holds_no_execution_settings() -> None:
    """Where the work runs is passed to the Forecaster, never configured in the core (that
    the core imports no Dask is tests/test_architecture.py's)."""
    assert not {"engine", "dask_address", "n_jobs"} & set(ForecastConfig.model_fields)
    # Left in an old config file, they are refused rather than silently ignored.
    with pytest.raises(ValidationError, match="engine"):
        ForecastConfig.model_validate({"horizon": 14, "engine": "dask"})


def test_chunks_keep_series_whole_and_spread_the_costly_ones() -> None:
    history = _history(40)
    ets_ids = [f"s{i:03d}" for i in range(1, 9)]
    chunks = chunk_series(history, 4, ets_ids)
    assert pd.concat(chunks).equals(history)
    owners = [set(chunk["unique_id"]) for chunk in chunks]
    assert sum(len(ids) for ids in owners) == history["unique_id"].nunique()
    # Eight AutoETS series cost ~800x a row each: they must not all land in one chunk.
    assert max(len(ids & set(ets_ids)) for ids in owners) < len(ets_ids)
    with pytest.raises(ValueError, match="sort by unique_id"):
        chunk_series(history.sample(frac=1.0, random_state=0), 4)
    assert chunk_series(history.iloc[:0], 4) == []


def test_the_chunk_count_follows_the_work() -> None:
    assert chunk_count(_history(10)) == 10  # never more chunks than series
    assert chunk_count(_history(40)) == MIN_CHUNKS
    # 1,000 series x 364 days of cheap models: 364k cost units, under one chunk of work, but
    # at least MIN_CHUNKS; as AutoETS series (100x a row) they are 36.4M: 73 chunks.
    many = pd.DataFrame({"unique_id": np.repeat(np.arange(1000).astype(str), 364)})
    assert chunk_count(many) == MIN_CHUNKS
    assert chunk_count(many, [str(i) for i in range(1000)]) == 73


def test_any_executor_gives_the_in_process_forecast() -> None:
    history = _history()
    ets_ids = ["s001", "s002", "s004"]
    local = stats_forecast(history, 14, "D", 7, _NAMES, ets_ids)
    with ThreadPoolExecutor(2) as pool:
        threaded = spread_stats_forecast(history, 14, "D", 7, _NAMES, ets_ids, executor=pool)
    pd.testing.assert_frame_equal(threaded, local, rtol=1e-9, atol=1e-9)
    only_ets = spread_stats_forecast(history, 14, "D", 7, ("auto_ets",), ets_ids,
                                     executor=ThreadPoolExecutor(2))
    assert sorted(only_ets["unique_id"].unique()) == ets_ids


@pytest.fixture(scope="module")
def client() -> Iterator[Client]:
    """Two single-threaded workers as threads of this process (quick to start)."""
    with (
        LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                     dashboard_address=None) as cluster,
        Client(cluster) as running,
    ):
        yield running


def test_per_series_models_on_dask_equal_the_local_ones(client: Client) -> None:
    history = _history()
    ets_ids = ["s001", "s002", "s004"]
    local = stats_forecast(history, 14, "D", 7, _NAMES, ets_ids)
    with get_task_stream(client) as stream:
        distributed = spread_stats_forecast(history, 14, "D", 7, _NAMES, ets_ids,
                                            executor=client.get_executor())
    pd.testing.assert_frame_equal(distributed, local, rtol=1e-9, atol=1e-9)
    assert distributed["auto_ets"].notna().sum() == 3 * 14
    # One task per chunk of whole series, balanced on cost (the 3 AutoETS series outweigh
    # the other 21 together), all run on the cluster's workers.
    tasks = [r for r in stream.data if "forecast_chunk" in str(r["key"])]
    assert len(tasks) == len(chunk_series(history, chunk_count(history, ets_ids), ets_ids)) > 2


def test_the_whole_forecast_on_dask_equals_the_local_one(client: Client) -> None:
    data, products, _ = synthetic_demand(n_skus=8, days=200, intermittent_share=0.25,
                                         promo_every=30, promo_lift=1.0, seed=3)
    config = ForecastConfig(horizon=14, backtest_windows=1, n_paths=50, ets_max_series=4)
    local = forecast(data, config, products=products, n_jobs=1)
    on_dask = forecast(data, config, products=products, executor=client.get_executor(),
                       n_jobs=1)
    candidates = [c for c in local.candidates.columns if c in _NAMES]
    assert candidates, "the per-series candidates must be compared"
    pd.testing.assert_frame_equal(on_dask.candidates[candidates], local.candidates[candidates],
                                  rtol=1e-6, atol=1e-6)
    # LightGBM runs in this process either way (docs/scale-out.md), with the same seed.
    np.testing.assert_allclose(on_dask.candidates["lightgbm"], local.candidates["lightgbm"],
                               rtol=1e-6, atol=1e-6)
    pd.testing.assert_frame_equal(on_dask.channel, local.channel, rtol=1e-6, atol=1e-6)


def test_engine_options_resolve_and_an_address_needs_the_dask_engine(tmp_path: Path) -> None:
    settings = load_settings(None)
    assert with_engine(settings, None, None).execution.engine == "local"
    remote = with_engine(settings, None, "tcp://10.0.0.5:8786").execution
    assert (remote.engine, remote.dask_address) == ("dask", "tcp://10.0.0.5:8786")
    with pytest.raises(UserError, match="only used with --engine dask"):
        with_engine(settings, "local", "tcp://10.0.0.5:8786")
    with execution(ExecutionSettings()) as nothing:
        assert nothing is None


def test_an_unreachable_scheduler_is_a_user_error(capsys: pytest.CaptureFixture[str],
                                                  tmp_path: Path) -> None:
    import dask

    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        code = main(["forecast", "--data", str(tmp_path), "--out", str(tmp_path / "f.csv"),
                     "--engine", "dask", "--dask-address", "tcp://127.0.0.1:9"])
    assert code == 2
    assert "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in capsys.readouterr().err


def _flow_config(root: Path) -> Path:
    document = {
        "brand": "Dask Brand",
        "data": {"folder": str(root / "data")},
        "store_url": f"sqlite:///{root / 'store' / 'runs.db'}",
        "output_dir": str(root / "outputs" / "plan"),
        "forecast": {"horizon": 14, "backtest_windows": 1, "n_paths": 100},
        "execution": {"threads": 1},
        "notify": {"backoff_s": 0, "attempts": 1,
                   "teams": [{"name": "planners", "urls": ["digest://"]}]},
    }
    path = root / "dask.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return path


def test_the_planning_flow_runs_its_tasks_on_dask(prefect_home: Path, client: Client,
                                                   tmp_path: Path) -> None:
    write_brand(generate_brand(skus=10, days=200), tmp_path / "data")
    config = _flow_config(tmp_path)
    address = str(client.scheduler_info()["address"])
    settings = with_engine(load_settings(config), "dask", address)
    with get_task_stream(client) as stream:
        outcome = run_flow_on_dask(settings, PlanOptions(quiet=True))

    orders = pd.read_csv(outcome.out / "orders.csv", encoding="utf-8-sig")
    assert len(orders) > 0 and (outcome.out / "report.html").exists()
    ran = " ".join(str(record["key"]) for record in stream.data)
    print(ran)
    # The computing stages ran on the cluster's workers, and so did the per-series chunks.
    for stage in ("validate", "forecast", "plan"):
        assert stage in ran
    assert "forecast_chunk" in ran
