"""The run store on a real SQLite file and on the real PostgreSQL server."""

from __future__ import annotations

import multiprocessing
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from alembic import command
from alembic.script import ScriptDirectory

from flows.storage.hashing import hash_frame, hash_frames
from flows.storage.store import RunStore, StoreError, alembic_config
from flows.storage.store_tables import runs

AS_OF = date(2024, 6, 30)
INPUTS = {"sales": "a" * 64, "products": "b" * 64}


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'state' / 'runs.db'}"
    url: str = request.getfixturevalue("pg_url")
    return url


@pytest.fixture
def store(store_url: str) -> Iterator[RunStore]:
    with RunStore(store_url) as opened:
        yield opened


def _frame(seed: int = 0) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "sku": ["SKU-1", "SKU-2", "SKU-3"],
            "date": pd.to_datetime(["2024-07-01", "2024-07-02", "2024-07-03"]),
            "units": np.array([1.5, 2.5, 3.5]) + seed,
        }
    )


def _load(store: RunStore, run_id: str, name: str) -> pd.DataFrame:
    frame = store.load_output(run_id, name)
    assert frame is not None, f"run {run_id} has no output {name!r}"
    return frame


def _record_run(store: RunStore, kind: str, as_of: date, status: str, config: str = "c1") -> str:
    run = store.begin_run(kind, as_of, config, INPUTS)  # type: ignore[arg-type]
    store.finish_run(run.run_id, status)  # type: ignore[arg-type]
    return run.run_id


def test_opening_an_empty_database_creates_the_schema_at_the_latest_migration(
    store_url: str,
) -> None:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    with RunStore(store_url) as store:
        run_id = _record_run(store, "forecast", AS_OF, "succeeded")
    engine = sa.create_engine(store_url)
    try:
        tables = set(sa.inspect(engine).get_table_names())
        with engine.connect() as connection:
            version = connection.execute(sa.text("SELECT version_num FROM alembic_version"))
            versions: list[str] = list(version.scalars())
    finally:
        engine.dispose()
    assert {"runs", "run_outputs", "alembic_version"} <= tables
    assert versions == [head]
    # Opening an up-to-date store again neither fails nor loses what it holds.
    with RunStore(store_url) as reopened:
        record = reopened.get_run(run_id)
    assert record is not None and record.status == "succeeded"


def test_sqlite_store_creates_its_folder_and_uses_wal(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "folder" / "runs.db"
    with RunStore(f"sqlite:///{path}") as store:
        _record_run(store, "plan", AS_OF, "succeeded")
    assert path.is_file()
    engine = sa.create_engine(f"sqlite:///{path}")
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    engine.dispose()


def test_a_run_is_recorded_with_its_key_status_and_timings(store_url: str) -> None:
    with RunStore(store_url) as store:
        started = store.begin_run("forecast", AS_OF, "cfg-1", INPUTS)
        assert started.status == "running"
        assert started.finished_at is None and started.duration_s is None
        store.finish_run(started.run_id, "succeeded", {"load": 0.25, "fit": 3})
    # A new process (a new store object) sees the same record.
    with RunStore(store_url) as store:
        run = store.get_run(started.run_id)
    assert run is not None
    assert (run.kind, run.as_of, run.config_hash) == ("forecast", AS_OF, "cfg-1")
    assert run.input_hashes == INPUTS
    assert run.status == "succeeded" and run.error is None
    assert run.timings == {"load": 0.25, "fit": 3.0}
    assert run.started_at.tzinfo is not None and run.finished_at is not None
    assert run.finished_at >= run.started_at
    assert run.duration_s is not None and run.duration_s >= 0


def test_a_failed_run_is_recorded_with_its_error(store: RunStore) -> None:
    run = store.begin_run("plan", AS_OF, "cfg", INPUTS)
    store.finish_run(run.run_id, "failed", {"load": 0.1}, error="solver: infeasible (SKU-7)")
    failed = store.get_run(run.run_id)
    assert failed is not None
    assert failed.status == "failed"
    assert failed.error == "solver: infeasible (SKU-7)"
    assert failed.timings == {"load": 0.1}
    assert store.latest_run("plan") is None
    latest_any = store.latest_run("plan", status=None)
    assert latest_any is not None and latest_any.run_id == run.run_id


def test_same_key_reuses_the_run_and_replaces_its_outputs(store: RunStore) -> None:
    first = store.begin_run("forecast", AS_OF, "cfg", INPUTS)
    store.save_outputs(first.run_id, {"forecasts": _frame(0), "alerts": _frame(10)})
    store.finish_run(first.run_id, "succeeded", {"fit": 1.0})

    # Same key, input hashes given in another order: the same run, a second attempt.
    again = store.begin_run("forecast", AS_OF, "cfg", dict(reversed(INPUTS.items())))
    assert again.run_id == first.run_id
    assert again.attempts == 2 and again.status == "running" and again.timings == {}
    store.save_outputs(again.run_id, {"forecasts": _frame(1)})
    store.finish_run(again.run_id, "succeeded", {"fit": 2.0})

    runs = store.list_runs()
    assert list(runs["run_id"]) == [first.run_id]
    pd.testing.assert_frame_equal(_load(store, first.run_id, "forecasts"), _frame(1))
    # An output the second attempt did not produce again is not left behind.
    assert store.load_output(first.run_id, "alerts") is None
    assert store.output_names(first.run_id) == ["forecasts"]

    other_inputs = store.begin_run("forecast", AS_OF, "cfg", {**INPUTS, "sales": "c" * 64})
    other_config = store.begin_run("forecast", AS_OF, "cfg-2", INPUTS)
    other_kind = store.begin_run("plan", AS_OF, "cfg", INPUTS)
    ids = {first.run_id, other_inputs.run_id, other_config.run_id, other_kind.run_id}
    assert len(ids) == 4


def test_saving_outputs_replaces_same_names_and_keeps_the_others(store: RunStore) -> None:
    run = store.begin_run("flow", AS_OF, "cfg", INPUTS)
    store.save_outputs(run.run_id, {"forecasts": _frame(0)})
    store.save_outputs(run.run_id, {"orders": _frame(5)})
    store.save_outputs(run.run_id, {"forecasts": _frame(7)})
    assert store.output_names(run.run_id) == ["forecasts", "orders"]
    pd.testing.assert_frame_equal(_load(store, run.run_id, "forecasts"), _frame(7))
    pd.testing.assert_frame_equal(_load(store, run.run_id, "orders"), _frame(5))


def test_a_batch_with_an_unstorable_frame_changes_nothing(store: RunStore) -> None:
    run = store.begin_run("forecast", AS_OF, "cfg", INPUTS)
    store.save_outputs(run.run_id, {"forecasts": _frame(0)})
    unstorable = pd.DataFrame({"mixed": ["text", 3]})
    with pytest.raises(ValueError, match="output 'bad' cannot be stored as Parquet"):
        store.save_outputs(run.run_id, {"forecasts": _frame(1), "bad": unstorable})
    with pytest.raises(ValueError, match="output name"):
        store.save_outputs(run.run_id, {"forecasts": _frame(1), "x" * 65: _frame(1)})
    pd.testing.assert_frame_equal(_load(store, run.run_id, "forecasts"), _frame(0))
    assert store.output_names(run.run_id) == ["forecasts"]


def test_frames_round_trip_with_their_dtypes(store: RunStore) -> None:
    frame = pd.DataFrame(
        {
            "date": pd.to_datetime(["2024-06-18", "2024-11-11", "2025-01-29"]),
            "ordered_at": pd.to_datetime(
                ["2024-06-18 08:00", "2024-11-11 00:00", "2025-01-29 23:59"]
            ).tz_localize("Asia/Shanghai"),
            "eta": [date(2024, 7, 1), date(2024, 11, 20), None],
            "sku": ["SKU-001", "保温杯-红色", None],
            "channel": pd.Categorical(["tmall", "douyin", "tmall"]),
            "p50": [1.5, np.nan, -0.0],
            "qty": np.array([12, 0, 7], dtype="int64"),
            "moq": pd.array([50, None, 10], dtype="Int64"),
            "stockout": [True, False, True],
        },
        index=pd.Index([10, 20, 30], name="row"),
    )
    run = store.begin_run("plan", AS_OF, "cfg", INPUTS)
    store.save_outputs(run.run_id, {"orders": frame})
    loaded = store.load_output(run.run_id, "orders")
    assert loaded is not None
    pd.testing.assert_frame_equal(loaded, frame)
    assert loaded["sku"].iloc[1] == "保温杯-红色"
    assert np.isnan(loaded["p50"].iloc[1])

    # An empty frame keeps its columns and dtypes; only a categorical's (unused) categories are
    # lost, as Parquet stores them with the rows.
    empty = frame.iloc[0:0]
    store.save_outputs(run.run_id, {"no_orders": empty})
    loaded_empty = store.load_output(run.run_id, "no_orders")
    assert loaded_empty is not None and isinstance(
        loaded_empty["channel"].dtype, pd.CategoricalDtype
    )
    pd.testing.assert_frame_equal(loaded_empty, empty, check_categorical=False)


def test_latest_run_orders_by_as_of_then_filters(store: RunStore) -> None:
    june = _record_run(store, "forecast", date(2024, 6, 1), "succeeded")
    july = _record_run(store, "forecast", date(2024, 7, 1), "succeeded")
    august_failed = _record_run(store, "forecast", date(2024, 8, 1), "failed")
    _record_run(store, "plan", date(2024, 9, 1), "succeeded")
    # A run recorded later but for an earlier as-of date is not the latest.
    _record_run(store, "forecast", date(2024, 5, 1), "succeeded")

    def latest(**kwargs: object) -> str | None:
        run = store.latest_run("forecast", **kwargs)  # type: ignore[arg-type]
        return None if run is None else run.run_id

    assert latest() == july
    assert latest(status=None) == august_failed
    assert latest(status="failed") == august_failed
    assert latest(before_as_of=date(2024, 7, 1)) == june
    assert latest(before_as_of=pd.Timestamp("2024-07-01 10:00")) == june
    assert latest(exclude_run_id=july) == june
    assert latest(before_as_of=date(2024, 5, 1)) is None
    assert store.latest_run("simulate") is None


def test_latest_run_prefers_the_latest_start_for_the_same_as_of(store: RunStore) -> None:
    _record_run(store, "forecast", AS_OF, "succeeded", config="old")
    newer = _record_run(store, "forecast", AS_OF, "succeeded", config="new")
    latest = store.latest_run("forecast")
    assert latest is not None and latest.run_id == newer


def test_list_runs_newest_first_with_kind_filter_and_limit(store: RunStore) -> None:
    assert store.list_runs().empty
    ids = [_record_run(store, "forecast", date(2024, 6, day), "succeeded") for day in (1, 2, 3)]
    plan = store.begin_run("plan", AS_OF, "cfg", INPUTS)
    store.save_outputs(plan.run_id, {"orders": _frame(), "alerts": _frame()})

    runs = store.list_runs()
    assert list(runs["run_id"]) == [plan.run_id, *reversed(ids)]
    assert runs.loc[0, "outputs"] == "alerts, orders"
    assert runs.loc[0, "status"] == "running" and pd.isna(runs.loc[0, "finished_at"])
    assert runs["as_of"].dtype == "datetime64[ns]"
    assert str(runs["started_at"].dtype) == "datetime64[ns, UTC]"
    assert list(store.list_runs(kind="forecast", limit=2)["run_id"]) == [ids[2], ids[1]]


def test_unknown_runs_and_bad_arguments_are_reported(store: RunStore) -> None:
    assert store.get_run("forecast-20240101-00000000") is None
    assert store.load_output("forecast-20240101-00000000", "forecasts") is None
    with pytest.raises(LookupError, match="no run 'nope'"):
        store.save_outputs("nope", {"forecasts": _frame()})
    with pytest.raises(LookupError, match="no run 'nope'"):
        store.finish_run("nope", "succeeded")
    with pytest.raises(ValueError, match="kind: got 'forcast'; expected one of forecast"):
        store.begin_run("forcast", AS_OF, "cfg", INPUTS)  # type: ignore[arg-type]
    run = store.begin_run("forecast", AS_OF, "cfg", INPUTS)
    with pytest.raises(ValueError, match="status: got 'running'"):
        store.finish_run(run.run_id, "running")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="as_of"):
        store.begin_run("forecast", "2024-06-30", "cfg", INPUTS)  # type: ignore[arg-type]


def test_store_errors_name_the_store_but_never_the_password() -> None:
    with pytest.raises(StoreError, match="not a SQLAlchemy URL") as bad_url:
        RunStore("postgresql://me:s3cret@@:what")
    assert "s3cret" not in str(bad_url.value)
    # Port 1 on loopback: nothing listens there, the connection is refused at once.
    with pytest.raises(StoreError, match="cannot open the run store") as down:
        RunStore("postgresql+psycopg://me:s3cret@127.0.0.1:1/runs")
    assert "s3cret" not in str(down.value) and "127.0.0.1" in str(down.value)


def _open_and_record(url: str, worker: int) -> str:
    with RunStore(url) as store:
        for day in range(1, 4):
            shared = store.begin_run("flow", date(2024, 6, day), "cfg", INPUTS)
            store.save_outputs(shared.run_id, {"orders": _frame(day)})
            store.finish_run(shared.run_id, "succeeded", {"worker": worker})
        own = store.begin_run("flow", AS_OF, f"worker-{worker}", INPUTS)
        store.finish_run(own.run_id, "succeeded")
        return own.run_id


def test_two_processes_opening_and_recording_at_once(store_url: str) -> None:
    # Both processes find an empty database and migrate it, then record the same runs.
    with multiprocessing.get_context("fork").Pool(2) as pool:
        own_ids = pool.starmap(_open_and_record, [(store_url, 1), (store_url, 2)])
    with RunStore(store_url) as store:
        runs = store.list_runs(kind="flow", limit=100)
        assert len(runs) == 5 and set(own_ids) <= set(runs["run_id"])
        shared = runs[runs["config_hash"] == "cfg"]
        assert sorted(shared["attempts"]) == [2, 2, 2]
        for run_id in shared["run_id"]:
            day = store.get_run(run_id).as_of.day  # type: ignore[union-attr]
            pd.testing.assert_frame_equal(_load(store, run_id, "orders"), _frame(day))


def test_hash_frame_depends_on_content_not_order() -> None:
    frame = pd.DataFrame(
        {
            "sku": ["A", "B", "保温杯"],
            "units": [1.0, np.nan, 3.0],
            "date": pd.date_range("2024-01-01", periods=3),
        }
    )
    reordered = frame.iloc[[2, 0, 1], [2, 0, 1]].reset_index(drop=True)
    assert hash_frame(frame) == hash_frame(reordered) == hash_frame(frame.copy())
    assert len(hash_frame(frame)) == 64

    changed = frame.copy()
    changed.loc[1, "units"] = 0.0
    renamed = frame.rename(columns={"units": "qty"})
    retyped = frame.astype({"units": "float32"})
    duplicated_row = pd.concat([frame, frame.iloc[[0]]], ignore_index=True)
    hashes = {hash_frame(f) for f in (frame, changed, renamed, retyped, duplicated_row)}
    assert len(hashes) == 5
    assert hash_frame(frame.iloc[0:0]) != hash_frame(frame[["sku"]].iloc[0:0])
    assert hash_frames({"sales": frame}) == {"sales": hash_frame(frame)}


def test_hash_frame_is_stable_across_processes() -> None:
    frame = pd.DataFrame({"sku": ["A", "B"], "when": [datetime(2024, 1, 1), datetime(2024, 1, 2)]})
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        in_another_process = pool.apply(hash_frame, (frame,))
    assert in_another_process == hash_frame(frame)


# --- faults of the store itself: each ends in StoreError naming the store ---------------------


def _sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def _use(url: str) -> None:
    """Open the store and record a run with an output, as a planning run would."""
    with RunStore(url) as store:
        store.list_runs()
        run = store.begin_run("plan", AS_OF, "cfg", INPUTS)
        store.save_outputs(run.run_id, {"orders": _frame()})
        store.finish_run(run.run_id, "succeeded")


def test_a_file_that_is_not_a_database_is_a_store_error(tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    path.write_bytes(b"these are not the runs you are looking for\n" * 100)
    with pytest.raises(StoreError, match=r"runs\.db.*not a database.*move it aside"):
        _use(_sqlite_url(path))


def test_a_truncated_store_file_is_a_store_error(tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    with RunStore(_sqlite_url(path)) as store:
        for day in range(1, 29):
            run = store.begin_run("plan", date(2024, 6, day), "cfg", INPUTS)
            store.save_outputs(run.run_id, {"orders": _frame(day)})
            store.finish_run(run.run_id, "succeeded")
    size = path.stat().st_size
    assert size > 8192 and not (tmp_path / "runs.db-wal").exists()  # checkpointed on close
    with path.open("r+b") as handle:
        handle.truncate(size // 2)
    with pytest.raises(StoreError, match=r"run store sqlite:///.*runs\.db.*damaged"):
        _use(_sqlite_url(path))


def test_a_store_path_that_cannot_be_created_is_a_store_error(tmp_path: Path) -> None:
    # Root ignores permission bits, so make the folder impossible rather than read-only:
    # its parent is a regular file.
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")
    with pytest.raises(StoreError, match=r"cannot open the run store .*a-file/state/runs\.db"):
        _use(_sqlite_url(blocker / "state" / "runs.db"))
    # A folder where the database file should be.
    (tmp_path / "runs.db").mkdir()
    with pytest.raises(StoreError, match=r"runs\.db.*unable to open database file"):
        _use(_sqlite_url(tmp_path / "runs.db"))


def test_an_immutable_store_file_is_a_store_error(tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    _use(_sqlite_url(path))
    if subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode:
        pytest.skip("chattr +i is not available here (needs root on ext4/xfs)")
    try:
        with (pytest.raises(StoreError, match=r"runs\.db.*(readonly|unable to open)"),
              RunStore(_sqlite_url(path)) as store):
            store.begin_run("plan", date(2024, 7, 1), "cfg", INPUTS)
    finally:
        subprocess.run(["chattr", "-i", str(path)], check=True)


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A TCP port that accepts connections and never answers (a hung database server)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield int(server.getsockname()[1])
    stop.set()
    thread.join()
    for connection in accepted:
        connection.close()
    server.close()


def test_a_database_server_that_never_answers_times_out(silent_server: int) -> None:
    started = time.monotonic()
    with pytest.raises(StoreError, match=r"127\.0\.0\.1.*did not answer in time") as err:
        RunStore(f"postgresql+psycopg://me:s3cret@127.0.0.1:{silent_server}/runs",
                 connect_timeout_s=2)
    assert time.monotonic() - started < 15  # was about 130 s without a connect timeout
    assert "s3cret" not in str(err.value)


def test_postgresql_sessions_get_statement_and_lock_timeouts(pg_url: str) -> None:
    with RunStore(pg_url) as store, store._engine.connect() as connection:
        assert connection.exec_driver_sql("SHOW statement_timeout").scalar() == "5min"
        assert connection.exec_driver_sql("SHOW lock_timeout").scalar() == "1min"
        # The URL's own options (here the test schema) still apply.
        assert connection.exec_driver_sql("SHOW search_path").scalar() in pg_url


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 2 MB file system (tmpfs), so the store really runs out of space."""
    mount = tmp_path / "small-disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)],
                          capture_output=True)
    if done.returncode:
        pytest.skip("cannot mount a small tmpfs here (needs root)")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=True)


def test_a_full_disk_under_the_store_is_a_store_error(small_disk: Path) -> None:
    url = _sqlite_url(small_disk / "runs.db")
    noise = pd.DataFrame({"x": np.random.default_rng(0).random(400_000)})  # ~3 MB, incompressible
    with RunStore(url) as store:
        run = store.begin_run("plan", AS_OF, "cfg", INPUTS)
        with pytest.raises(StoreError, match=r"runs\.db: cannot save a run's outputs.*full"):
            store.save_outputs(run.run_id, {"orders": noise})
        assert store.output_names(run.run_id) == []  # nothing half-saved


def _begin_and_hang(url: str, ready: Any) -> None:
    with RunStore(url) as store:
        run = store.begin_run("plan", AS_OF, "killed", INPUTS)
        ready.send(run.run_id)
        time.sleep(60)


def test_a_run_left_running_by_a_killed_process_is_marked_interrupted(store_url: str) -> None:
    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)
    child = context.Process(target=_begin_and_hang, args=(store_url, send))
    child.start()
    try:
        assert receive.poll(60)
        killed_run = receive.recv()
        with RunStore(store_url) as store:
            store.begin_run("plan", AS_OF, "other", INPUTS)
            running = store.get_run(killed_run)
            assert running is not None and running.status == "running"  # alive: left alone
            assert running.pid == child.pid
            os.kill(child.pid, signal.SIGKILL)  # type: ignore[arg-type]
            child.join()
            store.begin_run("plan", AS_OF, "another", INPUTS)
            record = store.get_run(killed_run)
    finally:
        if child.is_alive():
            child.kill()
    assert record is not None and record.status == "failed"
    assert record.error is not None and record.error.startswith("interrupted: its process")
    assert record.finished_at is not None


def test_a_running_row_of_another_host_is_interrupted_once_stale(store_url: str) -> None:
    with RunStore(store_url, stale_after_s=3600) as store:
        run = store.begin_run("plan", AS_OF, "elsewhere", INPUTS)
        with store._engine.begin() as connection:
            connection.execute(sa.update(runs).where(runs.c.run_id == run.run_id).values(
                host="another-host", started_at=datetime.now(UTC) - timedelta(minutes=30)))
        assert store.mark_interrupted() == []  # young enough: it may still be running there
        assert store.mark_interrupted(stale_after_s=600) == [run.run_id]
        record = store.get_run(run.run_id)
    assert record is not None and record.status == "failed"
    assert record.error is not None and "still running 0.5 h" in record.error


def test_a_store_of_the_first_schema_is_upgraded_and_keeps_its_runs(tmp_path: Path) -> None:
    url = _sqlite_url(tmp_path / "runs.db")
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, "0001")
        connection.execute(sa.text(
            "INSERT INTO runs VALUES ('plan-1', 'plan', '2024-06-30', 'c', 'i', '{}', "
            "'succeeded', 1, '2024-06-30 06:00:00', '2024-06-30 06:05:00', '{}', NULL)"))
    engine.dispose()
    with RunStore(url) as store:
        record = store.get_run("plan-1")
    assert record is not None and record.status == "succeeded" and record.pid is None


def test_the_notification_ledger_is_shared_and_held_across_stores(store_url: str) -> None:
    target = "ops|dingtalk://${DINGTALK_TOKEN}/"
    order: list[str] = []
    with RunStore(store_url) as first, RunStore(store_url) as second:
        assert first.sent_notifications(target) == {}
        first.record_notifications(target, {"a-lip": "f1", "a-tea": "f2"})
        assert second.sent_notifications(target) == {"a-lip": "f1", "a-tea": "f2"}
        second.record_notifications(target, {"a-lip": "f3"})  # replaces the target's entries
        assert first.sent_notifications(target) == {"a-lip": "f3"}

        def other_host() -> None:
            with second.notification_lock(target):
                order.append("second")

        with first.notification_lock(target):
            waiting = threading.Thread(target=other_host)
            waiting.start()
            time.sleep(0.5)
            order.append("first")
        waiting.join(timeout=10)
    assert order == ["first", "second"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes through permission bits")
def test_a_read_only_store_folder_is_a_store_error(tmp_path: Path) -> None:
    folder = tmp_path / "state"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        with pytest.raises(StoreError, match=r"state/runs\.db"):
            _use(_sqlite_url(folder / "runs.db"))
    finally:
        folder.chmod(0o755)
