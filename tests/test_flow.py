"""The planning flow under Prefect's test harness: a whole run, a cached rerun, a source outage.

Every flow run forecasts, so the module runs only three: a first run and a rerun on the same
tiny brand, and one with the signals API down. Prefect gets a temporary PREFECT_HOME (its
database, and the cached stage results under ``storage/``) for the session.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

import pandas as pd
import pytest
import yaml
from local_servers import HttpReceiver, free_port, http_receiver

from flows.commands import main
from flows.sample import generate_brand, write_brand
from flows.storage.store import RunStore
from replenishment.exposure import money_at_risk


def _write_config(path: Path, root: Path, **data: Any) -> Path:
    """A config for the tiny brand: short horizon, one backtest window, few sample paths."""
    document = {
        "brand": "Tiny Brand",
        "data": {"folder": str(root / "data"), **data},
        "store_url": f"sqlite:///{root / 'store' / 'runs.db'}",
        "output_dir": str(root / "outputs" / "plan"),
        "forecast": {"horizon": 14, "backtest_windows": 1, "n_paths": 100,
                     "global_model": True},
        "execution": {"threads": 1},
        "notify": {"backoff_s": 0, "attempts": 1, "teams": [
            {"name": "planners", "urls": ["digest://", {"url_env": "TEST_FLOW_WEBHOOK",
                                                          "name": "webhook"}]},
        ]},
        "flow": {"source_retries": 1, "source_retry_delay_s": 0.1},
    }
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    return path


@dataclass
class TwoRuns:
    root: Path
    config: Path
    receiver: HttpReceiver
    first: Any
    second: Any
    first_state: Any
    second_state: Any
    first_files: dict[str, bytes]


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def two_runs(prefect_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TwoRuns]:
    """The flow run twice for the same as-of date on unchanged inputs."""
    from flows.orchestration.flow import planning_flow

    root = tmp_path_factory.mktemp("flow")
    write_brand(generate_brand(skus=12, days=200), root / "data")
    config = _write_config(root / "tiny.yaml", root)
    with http_receiver() as receiver:
        os.environ["TEST_FLOW_WEBHOOK"] = f"json://{receiver.url}/hook"
        try:
            first_state = planning_flow(str(config), quiet=True, return_state=True)
            first = first_state.result()
            first_files = _snapshot(first.out)
            second_state = planning_flow(str(config), quiet=True, return_state=True)
            second = second_state.result()
            yield TwoRuns(root, config, receiver, first, second, first_state, second_state,
                          first_files)
        finally:
            os.environ.pop("TEST_FLOW_WEBHOOK", None)


def _flow_run_id(state: Any) -> UUID:
    flow_run_id = state.state_details.flow_run_id
    assert isinstance(flow_run_id, UUID)
    return flow_run_id


def _task_runs(state: Any) -> dict[str, Any]:
    """The flow run's task runs by task name (one run of each task per flow run)."""
    from prefect import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    with get_client(sync_client=True) as client:
        runs = client.read_task_runs(flow_run_filter=FlowRunFilter(
            id=FlowRunFilterId(any_=[_flow_run_id(state)])))
    return {run.name.rsplit("-", 1)[0]: run for run in runs}


def test_a_run_writes_every_output_and_its_artifacts(two_runs: TwoRuns) -> None:
    from prefect import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    out = two_runs.first.out
    orders = pd.read_csv(out / "orders.csv", encoding="utf-8-sig")
    assert len(orders) > 0
    for supplier, lines in orders.groupby("supplier"):
        per_supplier = pd.read_csv(out / "orders" / f"{supplier}.csv", encoding="utf-8-sig")
        assert per_supplier["qty"].sum() == lines["qty"].sum()
    assert list((out / "order_forecast").glob("*.csv"))
    forecast = pd.read_csv(out / "forecast.csv", encoding="utf-8-sig")
    assert forecast["date"].nunique() == 14
    alerts = pd.read_csv(out / "alerts.csv", encoding="utf-8-sig")
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    # The headline the digest and the terminal print: each SKU's exposure once.
    assert summary["money_at_risk"] == pytest.approx(money_at_risk(alerts), abs=0.01)
    assert (out / "exceptions.csv").exists()
    report = (out / "report.html").read_text(encoding="utf-8")
    assert "Tiny Brand" in report
    digests = [p for p in out.iterdir() if "digest" in p.name]
    assert len(digests) == 1 and f"run {two_runs.first.run_id}" in digests[0].read_text()
    # The webhook got the digest of every alert once.
    [request] = two_runs.receiver.requests
    assert "Tiny Brand" in request.json()["title"]
    assert f"alerts {len(alerts)}" in request.json()["message"]

    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(artifact_filter=ArtifactFilter(
            flow_run_id=ArtifactFilterFlowRunId(any_=[_flow_run_id(two_runs.first_state)])))
    by_key = {a.key: a for a in artifacts}
    assert set(by_key) == {"plan-summary", "top-alerts", "orders-per-supplier", "plan-report"}
    assert two_runs.first.run_id in str(by_key["plan-summary"].data)
    supplier_rows = json.loads(str(by_key["orders-per-supplier"].data))
    assert {row["supplier"] for row in supplier_rows} == set(orders["supplier"])
    assert str(by_key["plan-report"].data).endswith("/outputs/plan/report.html)")


def test_a_rerun_reads_unchanged_stages_from_the_cache(two_runs: TwoRuns) -> None:
    assert set(two_runs.second.cached) == {"validate", "forecast", "plan"}
    tasks = _task_runs(two_runs.second_state)
    assert tasks["forecast"].state.name == "Cached"
    assert tasks["export"].state.name == "Completed"
    assert _task_runs(two_runs.first_state)["forecast"].state.name == "Completed"
    # Cached results live under PREFECT_HOME, keyed by stage and content.
    storage = Path(os.environ["PREFECT_HOME"]) / "storage"
    assert any(p.name.startswith("forecast-") for p in storage.iterdir())
    assert _snapshot(two_runs.second.out) == two_runs.first_files


def test_a_rerun_duplicates_no_orders_alerts_or_messages(two_runs: TwoRuns) -> None:
    assert two_runs.second.run_id == two_runs.first.run_id
    with RunStore(f"sqlite:///{two_runs.root / 'store' / 'runs.db'}") as store:
        runs = store.list_runs(kind="plan")
        alerts = store.load_output(two_runs.first.run_id, "alerts")
        orders = store.load_output(two_runs.first.run_id, "orders")
    assert len(runs) == 1 and runs["attempts"].iloc[0] == 2
    assert runs["status"].iloc[0] == "succeeded"
    out = two_runs.second.out
    assert alerts is not None and len(alerts) == len(pd.read_csv(out / "alerts.csv"))
    assert orders is not None and len(orders) == len(pd.read_csv(out / "orders.csv"))
    assert len(two_runs.receiver.requests) == 1  # the ledger held back the same digest
    with RunStore(f"sqlite:///{two_runs.root / 'store' / 'runs.db'}") as store:
        assert store.sent_notifications("planners|webhook")  # the ledger lives in the store
    assert not (two_runs.root / "store" / "notify-ledger.json").exists()
    statuses = {r.target: r.status for r in two_runs.second.notices.digests}
    assert statuses == {"webhook": "unchanged", "digest://": "written"}


def test_plan_and_run_write_the_same_files(two_runs: TwoRuns, tmp_path: Path) -> None:
    """``replenish plan`` (no Prefect) and the flow are one pipeline: same inputs, same files."""
    out = tmp_path / "plan"
    code = main(["plan", "--config", str(two_runs.config), "--out", str(out), "--no-notify"])
    assert code == 0
    planned = _snapshot(out)
    compared = [name for name in two_runs.first_files
                if name.endswith(".csv") or name == "summary.json"]
    assert len(compared) > 8 and "orders.csv" in compared and "alerts.csv" in compared
    for name in compared:
        if name == "summary.json":  # the same numbers; only the solver's wall time differs
            mine, theirs = (json.loads(files[name]) for files in (planned,
                                                                  two_runs.first_files))
            mine["solver"].pop("seconds"), theirs["solver"].pop("seconds")
            assert mine == theirs
        else:
            assert planned[name] == two_runs.first_files[name], name
    assert "report.html" in planned


def test_a_source_down_fails_the_run_and_keeps_the_previous_outputs(
    two_runs: TwoRuns, capsys: pytest.CaptureFixture[str]
) -> None:
    root = two_runs.root
    closed = f"http://127.0.0.1:{free_port()}/api"
    config = _write_config(root / "down.yaml", root, signals_url=closed, signals_retries=0)
    before = _snapshot(two_runs.first.out)
    with http_receiver() as receiver:
        os.environ["TEST_FLOW_WEBHOOK"] = f"json://{receiver.url}/hook"
        try:
            code = main(["run", "--config", str(config), "--as-of", "2026-10-31"])
        finally:
            os.environ.pop("TEST_FLOW_WEBHOOK", None)
    err = capsys.readouterr().err
    assert code == 2
    assert f"error: signals API: cannot connect to {closed}/promotions" in err
    assert "Traceback" not in err
    assert _snapshot(two_runs.first.out) == before
    with RunStore(f"sqlite:///{root / 'store' / 'runs.db'}") as store:
        runs = store.list_runs(kind="plan")
    failed = runs[runs["status"] == "failed"]
    assert len(failed) == 1 and "cannot connect" in failed["error"].iloc[0]
    assert failed["as_of"].iloc[0] == pd.Timestamp("2026-10-31")
    notice = (root / "outputs" / "plan-failed" / "digest-planners.md").read_text()
    assert "FAILED" in notice and closed in notice
    [request] = receiver.requests
    assert "FAILED" in request.json()["title"] and "cannot connect" in request.json()["message"]
    # The source was tried again (flow.source_retries: 1) before the run gave up.
    from prefect import get_client
    from prefect.client.schemas.filters import TaskRunFilter, TaskRunFilterName

    with get_client(sync_client=True) as client:
        pulls = client.read_task_runs(task_run_filter=TaskRunFilter(
            name=TaskRunFilterName(like_="pull-signals")))
    [failed_pull] = [run for run in pulls if run.state is not None and run.state.is_failed()]
    assert failed_pull.run_count == 2


def test_source_retries_with_backoff_only_for_sources() -> None:
    from flows.config import Settings
    from flows.orchestration.tasks import planning_tasks

    tasks = planning_tasks(Settings.model_validate(
        {"flow": {"source_retries": 3, "source_retry_delay_s": 2}}))
    pull_signals, forecast, export = (getattr(tasks, name).task
                                      for name in ("pull_signals", "forecast", "export"))
    assert pull_signals.retries == 3
    assert pull_signals.retry_delay_seconds == [2, 4, 8]
    assert forecast.retries == 0 and export.retries == 0


def test_weekly_sales_given_to_plan_is_a_user_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    brand = generate_brand(skus=10, days=120)
    folder = write_brand(brand, tmp_path / "data")
    sales = pd.read_csv(folder / "sales.csv", encoding="utf-8-sig", parse_dates=["date"])
    weekly = (sales.assign(date=sales["date"].dt.to_period("W-SUN").dt.end_time.dt.normalize())
              .groupby(["date", "sku", "channel"], as_index=False)["units"].sum())
    weekly.to_csv(folder / "sales.csv", index=False, date_format="%Y-%m-%d")
    config = tmp_path / "weekly.yaml"
    config.write_text(yaml.safe_dump({"store_url": f"sqlite:///{tmp_path / 'runs.db'}"}))
    code = main(["plan", "--config", str(config), "--data", str(folder),
                 "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2
    assert "planning needs daily sales" in err and "W-SUN" in err
    assert not (tmp_path / "out").exists()


def test_user_error_tracebacks_are_left_out_of_run_logs() -> None:
    from flows.errors import SourceError
    from flows.orchestration.runtime import UserErrorTracebacks

    def record(error: BaseException) -> logging.LogRecord:
        try:
            raise error
        except BaseException:
            info = sys.exc_info()
        return logging.LogRecord("prefect.task_runs", logging.ERROR, __file__, 1, "failed",
                                 None, info)

    user, bug = record(SourceError("API down")), record(KeyError("sku"))
    assert UserErrorTracebacks().filter(user) and user.exc_info is None
    assert UserErrorTracebacks().filter(bug) and bug.exc_info is not None


def test_deployments_follow_the_schedule(tmp_path: Path) -> None:
    from prefect.flows import load_flow_from_entrypoint

    from flows.config import load_settings
    from flows.orchestration.flow import FLOW_NAME, planning_deployment

    repo = Path(__file__).resolve().parents[1]
    settings = load_settings(repo / "config" / "demo.yaml")
    deployment = planning_deployment(settings, repo / "config" / "demo.yaml")
    [schedule] = deployment.schedules
    assert schedule.schedule.cron == settings.schedule.cron
    assert schedule.schedule.timezone == settings.schedule.timezone == "Asia/Shanghai"
    assert deployment.parameters["config"] == str(repo / "config" / "demo.yaml")

    document = yaml.safe_load((repo / "prefect.yaml").read_text(encoding="utf-8"))
    [declared] = document["deployments"]
    loaded: Any = load_flow_from_entrypoint(str(repo / declared["entrypoint"]))
    assert loaded.name == FLOW_NAME
    [cron] = declared["schedules"]
    assert (cron["cron"], cron["timezone"]) == (settings.schedule.cron,
                                                settings.schedule.timezone)


def test_stage_keys_follow_content_not_row_order() -> None:
    from flows.orchestration.cache import content_key
    from forecasting.config import ForecastConfig

    sales = pd.DataFrame({"sku": ["A", "B"], "units": [3, 5]})
    key = content_key("forecast", {"sales": sales, "config": ForecastConfig()})
    assert key == content_key("forecast", {"sales": sales.iloc[::-1],
                                           "config": ForecastConfig()})
    assert key != content_key("forecast", {"sales": sales.assign(units=[3, 6]),
                                           "config": ForecastConfig()})
    assert key != content_key("forecast", {"sales": sales,
                                           "config": ForecastConfig(horizon=7)})
    with pytest.raises(TypeError, match="no content fingerprint for object"):
        content_key("forecast", {"thing": object()})


def test_old_stage_results_are_pruned(tmp_path: Path) -> None:
    from flows.orchestration.cache import prune_stage_results

    digest = "0" * 64
    old, fresh = tmp_path / f"forecast-{digest}", tmp_path / f"plan-{digest}"
    foreign = tmp_path / f"other-{digest}"
    for path in (old, fresh, foreign):
        path.write_bytes(b"result")
    for path in (old, foreign):
        os.utime(path, (0, 0))
    deleted = prune_stage_results(tmp_path, ("forecast", "plan"), max_age_s=3600)
    assert deleted == [old]
    assert fresh.exists() and foreign.exists()
