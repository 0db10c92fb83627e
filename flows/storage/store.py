"""The run store: the key, status, timings and output frames of every run.

An embedded SQLite file by default, or any SQLAlchemy URL (PostgreSQL for a team). A run is
identified by its key (kind, as-of date, config hash, input hashes): beginning a run whose key is
already recorded reuses that run's id, so running the same work again never duplicates it.

Output frames live in one generic table, one row per (run, name), holding the frame as Parquet
bytes. Parquet keeps every pandas dtype (dates, time zones, categoricals, NaN versus missing text)
without per-frame DDL, works the same on every database, and a run's outputs are always read
back whole to be compared with a later run's, so nothing is lost by not spreading them over
columns. One Parquet limit: an *empty* frame's categorical columns come back without categories.

The schema is created and upgraded by the Alembic migrations in ``flows/storage/migrations`` each
time a store is opened, under a lock, so two processes opening a new store at once do not
collide.

Every fault of the store itself (a damaged or truncated SQLite file, a folder or file that
cannot be written, a full disk, a database server that refuses, never answers or hangs) ends in
:class:`StoreError`, a user error naming the store (password masked) and what it was doing. A
PostgreSQL store gets a 10 s connect timeout, TCP keepalives (a silent server is noticed within
about a minute), a 5 min statement timeout and a 60 s lock timeout, unless its URL sets them:
without them an unanswering server held a run for about 130 s and a stuck one for ever.

A run records the process (pid, host) that began it. A run left ``running`` by a killed process
is marked ``failed`` ("interrupted") by the next :meth:`RunStore.begin_run`: at once when it
began on this host and its process is gone, else once it is older than ``stale_after_s``
(12 h by default: a plan takes minutes, a large backtest about an hour).
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import io
import os
import re
import secrets
import socket
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any, Concatenate, Literal, ParamSpec, Self, TypeVar, get_args

import pandas as pd
import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from flows.errors import UserError
from flows.storage.hashing import hash_mapping
from flows.storage.store_tables import notify_ledger, run_outputs, runs

__all__ = [
    "CONNECT_TIMEOUT_S",
    "STALE_AFTER_S",
    "RunKind",
    "RunRecord",
    "RunStatus",
    "RunStore",
    "StoreError",
    "alembic_config",
]

RunKind = Literal["forecast", "backtest", "plan", "simulate", "flow"]
RunStatus = Literal["running", "succeeded", "failed"]

_MIGRATIONS = Path(__file__).parent / "migrations"
_PG_MIGRATION_LOCK = 0x7265706C  # "repl"; any constant, the same in every process
_PARQUET = "parquet"
_MAX_NAME = 64
_SQLITE_BUSY_TIMEOUT_S = 30.0
CONNECT_TIMEOUT_S = 10.0
STALE_AFTER_S = 12 * 3600.0
_PG_STATEMENT_TIMEOUT_MS = 300_000
_PG_LOCK_TIMEOUT_MS = 60_000
# libpq keepalives: first probe after 30 s idle, then every 10 s, dead after 3 unanswered.
_PG_KEEPALIVES = {"keepalives": 1, "keepalives_idle": 30, "keepalives_interval": 10,
                  "keepalives_count": 3}
_LIBPQ_DRIVERS = ("psycopg", "psycopg2")
_P = ParamSpec("_P")
_R = TypeVar("_R")


class StoreError(UserError, RuntimeError):
    """The run store cannot be opened or used. Messages never show a database password."""


# What a driver's message means for the person who has to fix it.
_HINTS = (
    ("file is not a database", "the file is damaged or is not a run store: move it aside (a "
     "new store is created) or restore it from a backup"),
    ("malformed", "the file is damaged (truncated or overwritten): move it aside (a new store "
     "is created) or restore it from a backup"),
    ("readonly", "the store's file or folder cannot be written: check its permissions and "
     "attributes (lsattr), or point store_url elsewhere"),
    ("unable to open database file", "the file cannot be opened or created there: check the "
     "folder exists, is a folder and can be written"),
    ("disk is full", "the disk holding the store is full: free space and run again"),
    ("disk i/o error", "the disk holding the store failed to read or write"),
    ("timeout expired", "the database server did not answer in time: check it is up and "
     "reachable"),
    ("connection refused", "nothing answers at that address: check the server is running"),
    ("statement timeout", "the database took too long to answer (statement timeout)"),
    ("lock timeout", "another session held a lock too long (lock timeout)"),
)


def _reason(err: BaseException) -> str:
    """The driver's first line (never the SQL or its parameters), with a hint when known."""
    cause = getattr(err, "orig", None) or err
    if isinstance(cause, OSError) and cause.strerror:
        text = f"{cause.strerror}: {cause.filename}" if cause.filename else cause.strerror
    else:
        text = (str(cause).strip().splitlines() or [type(cause).__name__])[0]
    lowered = text.lower()
    hint = next((h for key, h in _HINTS if key in lowered), None)
    return f"{text} ({hint})" if hint else text


def _guarded(
    action: str,
) -> Callable[[Callable[Concatenate[RunStore, _P], _R]], Callable[Concatenate[RunStore, _P], _R]]:
    """Turn a database or file-system fault inside a store method into :class:`StoreError`."""

    def decorate(
        method: Callable[Concatenate[RunStore, _P], _R],
    ) -> Callable[Concatenate[RunStore, _P], _R]:
        @functools.wraps(method)
        def wrapper(self: RunStore, *args: _P.args, **kwargs: _P.kwargs) -> _R:
            try:
                return method(self, *args, **kwargs)
            except (sa.exc.SQLAlchemyError, OSError) as err:
                raise StoreError(
                    f"run store {self.display_url}: cannot {action}: {_reason(err)}"
                ) from err

        return wrapper

    return decorate


@dataclass(frozen=True)
class RunRecord:
    """One recorded run. Timestamps are time-zone aware (UTC); ``timings`` are seconds."""

    run_id: str
    kind: str
    as_of: date
    config_hash: str
    input_hashes: dict[str, str]
    status: str
    attempts: int
    started_at: datetime
    finished_at: datetime | None
    timings: dict[str, float]
    error: str | None
    pid: int | None = None
    host: str | None = None

    @property
    def duration_s(self) -> float | None:
        """Wall-clock seconds of the latest attempt, once finished."""
        if self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()


def alembic_config(url: str | None = None) -> Config:
    """An Alembic configuration of the run store's migrations, built in code (no alembic.ini).

    ``url`` is only needed to run Alembic commands by hand, e.g. ``alembic.command.revision``.
    """
    config = Config()
    # Config values go through configparser interpolation, where '%' is special.
    config.set_main_option("script_location", str(_MIGRATIONS).replace("%", "%%"))
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


class RunStore:
    """Record runs and their output frames in the database at ``url``.

    Opening a store creates the database (and an SQLite file's folder) if needed and upgrades
    its schema to the latest migration. Use it as a context manager, or call :meth:`close`.
    ``connect_timeout_s`` bounds connecting to a database server; ``stale_after_s`` is the age
    after which a ``running`` run of another host counts as interrupted.
    """

    def __init__(self, url: str, *, connect_timeout_s: float = CONNECT_TIMEOUT_S,
                 stale_after_s: float = STALE_AFTER_S) -> None:
        self.url = _parse_url(url)
        self.stale_after_s = stale_after_s
        try:
            self._engine = _create_engine(self.url, connect_timeout_s)
        except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError) as err:
            raise StoreError(f"run store {self.display_url}: {err}") from err
        except OSError as err:
            raise StoreError(
                f"cannot open the run store {self.display_url}: {_reason(err)}") from err
        try:
            with _sqlite_open_lock(self.url):
                self._upgrade_schema()
        except OSError as err:
            self._engine.dispose()
            raise StoreError(
                f"cannot open the run store {self.display_url}: {_reason(err)}") from err
        except BaseException:
            self._engine.dispose()
            raise

    @property
    def display_url(self) -> str:
        """The store's URL with any password masked, for messages and logs."""
        return self.url.render_as_string(hide_password=True)

    @property
    def engine(self) -> sa.Engine:
        """The store's engine, for the rooms that keep their own tables in it (the order
        book, :mod:`flows.storage.orderbook`)."""
        return self._engine

    def close(self) -> None:
        """Release the store's database connections."""
        self._engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    @_guarded("record the start of a run")
    def begin_run(
        self,
        kind: RunKind,
        as_of: date,
        config_hash: str,
        input_hashes: Mapping[str, str],
    ) -> RunRecord:
        """Record a run as ``running``; a run with the same key is reused (its attempts + 1).

        Outputs of the earlier attempt stay readable until this attempt saves outputs of the
        same names, and those it does not save again are dropped by :meth:`finish_run`. Runs
        left ``running`` by a killed process are marked interrupted first
        (:meth:`mark_interrupted`).
        """
        self.mark_interrupted()
        _check_choice("kind", kind, get_args(RunKind))
        _check_text("config_hash", config_hash)
        for name, value in input_hashes.items():
            _check_text(f"input_hashes[{name!r}]", value)
        day = _as_date(as_of)
        hashes = dict(sorted(input_hashes.items()))
        key = sa.and_(
            runs.c.kind == kind,
            runs.c.as_of == day,
            runs.c.config_hash == config_hash,
            runs.c.inputs_hash == hash_mapping(hashes),
        )
        fresh = {"status": "running", "started_at": _now(), "finished_at": None}
        fresh |= {"timings": {}, "error": None, "pid": os.getpid(), "host": _HOST}
        for tries_left in (1, 0):
            try:
                with self._engine.begin() as connection:
                    found = connection.execute(
                        sa.select(runs.c.run_id).where(key).with_for_update()
                    ).scalar_one_or_none()
                    if found is None:
                        run_id = f"{kind}-{day:%Y%m%d}-{secrets.token_hex(4)}"
                        values = {"run_id": run_id, "kind": kind, "as_of": day}
                        values |= {"config_hash": config_hash, "inputs_hash": hash_mapping(hashes)}
                        values |= {"input_hashes": hashes, "attempts": 1, **fresh}
                        connection.execute(runs.insert().values(**values))
                    else:
                        run_id = found
                        connection.execute(
                            runs.update()
                            .where(runs.c.run_id == run_id)
                            .values(attempts=runs.c.attempts + 1, **fresh)
                        )
                break
            except sa.exc.IntegrityError:
                # Another process recorded the same key between our read and our insert
                # (PostgreSQL; SQLite transactions here are serialised): reuse its run.
                if not tries_left:
                    raise
        record = self.get_run(run_id)
        assert record is not None  # just written in a committed transaction
        return record

    @_guarded("save a run's outputs")
    def save_outputs(self, run_id: str, frames: Mapping[str, pd.DataFrame]) -> None:
        """Store named output frames of a run, replacing same-named ones in one transaction."""
        rows = [_encode(name, frame) for name, frame in frames.items()]
        with self._engine.begin() as connection:
            attempt = _current_attempt(connection, run_id)
            connection.execute(
                run_outputs.delete().where(
                    run_outputs.c.run_id == run_id, run_outputs.c.name.in_(list(frames))
                )
            )
            if rows:
                saved = {"run_id": run_id, "attempt": attempt, "saved_at": _now()}
                connection.execute(run_outputs.insert(), [row | saved for row in rows])

    @_guarded("record the end of a run")
    def finish_run(
        self,
        run_id: str,
        status: Literal["succeeded", "failed"],
        timings: Mapping[str, float] | None = None,
        error: str | None = None,
    ) -> RunRecord:
        """Record how a run ended, with per-stage timings (seconds) and the error if it failed.

        Outputs left over from an earlier attempt of the same run and not saved again by this
        one are dropped, so a run's outputs always come from one attempt.
        """
        _check_choice("status", status, ("succeeded", "failed"))
        stage_seconds = {str(stage): float(seconds) for stage, seconds in (timings or {}).items()}
        with self._engine.begin() as connection:
            attempt = _current_attempt(connection, run_id)
            connection.execute(
                run_outputs.delete().where(
                    run_outputs.c.run_id == run_id, run_outputs.c.attempt < attempt
                )
            )
            connection.execute(
                runs.update()
                .where(runs.c.run_id == run_id)
                .values(status=status, finished_at=_now(), timings=stage_seconds, error=error)
            )
        record = self.get_run(run_id)
        assert record is not None
        return record

    @_guarded("read a run")
    def get_run(self, run_id: str) -> RunRecord | None:
        """The run with this id, or None."""
        with self._engine.connect() as connection:
            row = connection.execute(sa.select(runs).where(runs.c.run_id == run_id)).first()
        return None if row is None else _record(row)

    @_guarded("find the latest run")
    def latest_run(
        self,
        kind: RunKind,
        before_as_of: date | None = None,
        status: RunStatus | None = "succeeded",
        exclude_run_id: str | None = None,
    ) -> RunRecord | None:
        """The run of this kind with the latest as-of date (then the latest start), or None.

        ``before_as_of`` keeps only runs strictly before that date; ``status=None`` any status.
        """
        query = sa.select(runs).where(runs.c.kind == kind)
        if before_as_of is not None:
            query = query.where(runs.c.as_of < _as_date(before_as_of))
        if status is not None:
            query = query.where(runs.c.status == status)
        if exclude_run_id is not None:
            query = query.where(runs.c.run_id != exclude_run_id)
        query = query.order_by(
            runs.c.as_of.desc(), runs.c.started_at.desc(), runs.c.run_id.desc()
        ).limit(1)
        with self._engine.connect() as connection:
            row = connection.execute(query).first()
        return None if row is None else _record(row)

    @_guarded("list a run's outputs")
    def output_names(self, run_id: str) -> list[str]:
        """Names of the outputs saved for a run, sorted."""
        query = (
            sa.select(run_outputs.c.name)
            .where(run_outputs.c.run_id == run_id)
            .order_by(run_outputs.c.name)
        )
        with self._engine.connect() as connection:
            return list(connection.execute(query).scalars())

    @_guarded("read a run's output")
    def load_output(self, run_id: str, name: str) -> pd.DataFrame | None:
        """The output frame ``name`` of a run, exactly as saved, or None if there is none."""
        query = sa.select(run_outputs.c.format, run_outputs.c.payload).where(
            run_outputs.c.run_id == run_id, run_outputs.c.name == name
        )
        with self._engine.connect() as connection:
            row = connection.execute(query).first()
        if row is None:
            return None
        if row.format != _PARQUET:
            raise StoreError(
                f"run store {self.display_url}: output {name!r} of run {run_id!r} has format "
                f"{row.format!r}; this version reads only {_PARQUET!r}"
            )
        return pd.read_parquet(io.BytesIO(row.payload))

    @_guarded("list runs")
    def list_runs(self, kind: RunKind | None = None, limit: int = 20) -> pd.DataFrame:
        """The latest-started runs (of one kind, if given), newest first, one row per run."""
        query = sa.select(runs).order_by(runs.c.started_at.desc(), runs.c.run_id.desc())
        if kind is not None:
            query = query.where(runs.c.kind == kind)
        with self._engine.connect() as connection:
            records = [_record(row) for row in connection.execute(query.limit(limit))]
            names = connection.execute(
                sa.select(run_outputs.c.run_id, run_outputs.c.name)
                .where(run_outputs.c.run_id.in_([r.run_id for r in records]))
                .order_by(run_outputs.c.name)
            ).all()
        outputs: dict[str, list[str]] = {}
        for run_id, name in names:
            outputs.setdefault(str(run_id), []).append(str(name))
        table = pd.DataFrame(
            [_summary(record, outputs.get(record.run_id, [])) for record in records],
            columns=list(_LIST_COLUMNS),
        )
        return table.astype(_LIST_COLUMNS)

    @_guarded("mark interrupted runs")
    def mark_interrupted(self, stale_after_s: float | None = None) -> list[str]:
        """Mark ``running`` runs whose process is gone as ``failed`` ("interrupted").

        A run begun on this host is interrupted when its process no longer exists (or its pid
        now belongs to a process started later); a run of another host (or of an older store
        without a pid) when it began more than ``stale_after_s`` (default: the store's) ago.
        Returns the ids of the runs marked.
        """
        age = timedelta(seconds=self.stale_after_s if stale_after_s is None else stale_after_s)
        now = _now()
        query = sa.select(runs.c.run_id, runs.c.pid, runs.c.host, runs.c.started_at).where(
            runs.c.status == "running")
        with self._engine.connect() as connection:
            running = connection.execute(query).all()
        marked: list[str] = []
        for row in running:
            started = _utc(row.started_at)
            pid, host = row.pid, row.host
            if host == _HOST and pid is not None and not _process_alive(int(pid), started):
                reason = f"interrupted: its process {pid} on {host} is gone"
            elif now - started > age:
                reason = (f"interrupted: still running {_hours(now - started)} after it began "
                          f"(process {pid or '?'} on {host or '?'})")
            else:
                continue
            with self._engine.begin() as connection:
                # Only if still the same attempt: another process may have begun it again.
                connection.execute(
                    runs.update()
                    .where(runs.c.run_id == row.run_id, runs.c.status == "running",
                           runs.c.started_at == row.started_at)
                    .values(status="failed", finished_at=now, error=reason)
                )
            marked.append(str(row.run_id))
        return sorted(marked)

    @_guarded("read the notification ledger")
    def sent_notifications(self, target: str) -> dict[str, str]:
        """What was last sent to ``target``: item (alert id, as-of date) -> fingerprint."""
        query = sa.select(notify_ledger.c.item, notify_ledger.c.fingerprint).where(
            notify_ledger.c.target == target)
        with self._engine.connect() as connection:
            return {str(item): str(value) for item, value in connection.execute(query)}

    @_guarded("record sent notifications")
    def record_notifications(self, target: str, sent: Mapping[str, str]) -> None:
        """Replace everything recorded for ``target`` with ``sent``, in one transaction."""
        _check_text("notification target", target, max_length=512)
        rows = [{"target": target, "item": str(item), "fingerprint": str(value),
                 "recorded_at": _now()} for item, value in sent.items()]
        with self._engine.begin() as connection:
            connection.execute(notify_ledger.delete().where(notify_ledger.c.target == target))
            if rows:
                connection.execute(notify_ledger.insert(), rows)

    @contextmanager
    def notification_lock(self, target: str) -> Iterator[None]:
        """Hold ``target`` from checking the ledger to recording a send, against every process
        sharing the store: a PostgreSQL session lock (released if the process dies; waits at
        most the 60 s lock timeout), a file lock beside an SQLite file, a thread lock in
        memory."""
        key = int.from_bytes(hashlib.sha256(f"notify|{target}".encode()).digest()[:8], "big",
                             signed=True)
        try:
            with self._notification_lock(key):
                yield
        except (sa.exc.SQLAlchemyError, OSError) as err:
            raise StoreError(f"run store {self.display_url}: cannot lock the notification "
                             f"ledger: {_reason(err)}") from err

    @contextmanager
    def _notification_lock(self, key: int) -> Iterator[None]:
        if self.url.get_backend_name() == "postgresql":
            with self._engine.connect() as connection:
                connection.execute(sa.select(sa.func.pg_advisory_lock(key)))
                connection.commit()
                try:
                    yield
                finally:
                    connection.execute(sa.select(sa.func.pg_advisory_unlock(key)))
                    connection.commit()
            return
        path = _sqlite_file(self.url)
        if path is None:
            with _MEMORY_LOCK:
                yield
            return
        with _file_lock(path.with_name(f"{path.name}.notify.lock")):
            yield

    def _upgrade_schema(self) -> None:
        config = alembic_config()
        try:
            with self._engine.begin() as connection:
                if connection.dialect.name == "postgresql":
                    # Two processes opening a new store at once would both create the tables;
                    # on SQLite the write lock taken by BEGIN IMMEDIATE serialises them instead.
                    connection.execute(sa.select(sa.func.pg_advisory_xact_lock(_PG_MIGRATION_LOCK)))
                config.attributes["connection"] = connection
                command.upgrade(config, "head")
        except sa.exc.SQLAlchemyError as err:
            raise StoreError(
                f"cannot open the run store {self.display_url}: {_reason(err)}") from err


def _parse_url(url: str) -> sa.URL:
    try:
        return sa.make_url(url)
    except (sa.exc.ArgumentError, ValueError) as err:
        masked = re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", url)
        raise StoreError(
            f"run store URL {masked!r} is not a SQLAlchemy URL; expected e.g. "
            "'sqlite:///.replenish/runs.db' or 'postgresql+psycopg://user@host/db'"
        ) from err


def _server_connect_args(url: sa.URL, connect_timeout_s: float) -> dict[str, Any]:
    """Timeouts for a PostgreSQL server through libpq, each unless the URL sets it."""
    if url.get_backend_name() != "postgresql" or url.get_driver_name() not in _LIBPQ_DRIVERS:
        return {}
    given = set(url.query)
    args: dict[str, Any] = {"connect_timeout": max(1, round(connect_timeout_s)),
                            **_PG_KEEPALIVES}
    args = {name: value for name, value in args.items() if name not in given}
    # Server settings go in the startup packet's options, ahead of the URL's own (which win).
    ours = f"-c statement_timeout={_PG_STATEMENT_TIMEOUT_MS} -c lock_timeout={_PG_LOCK_TIMEOUT_MS}"
    theirs = url.query.get("options", "")
    args["options"] = f"{ours} {theirs}".strip() if isinstance(theirs, str) else ours
    return args


def _create_engine(url: sa.URL, connect_timeout_s: float = CONNECT_TIMEOUT_S) -> sa.Engine:
    if url.get_backend_name() != "sqlite":
        return sa.create_engine(url, pool_pre_ping=True,
                                connect_args=_server_connect_args(url, connect_timeout_s))
    database = url.database or ""
    in_memory = database in ("", ":memory:") or url.query.get("mode") == "memory"
    options: dict[str, Any] = {"connect_args": {"timeout": _SQLITE_BUSY_TIMEOUT_S}}
    if in_memory:
        # One shared connection, or every connection would see its own empty database.
        options["poolclass"] = sa.StaticPool
    elif not database.startswith("file:"):
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(url, **options)
    sa.event.listen(engine, "connect", _sqlite_on_connect(journal=not in_memory))
    sa.event.listen(engine, "begin", _sqlite_begin_immediate)
    return engine


_MEMORY_LOCK = threading.Lock()


def _sqlite_file(url: sa.URL) -> Path | None:
    """The file of an SQLite store, or None (another database, or in memory)."""
    database = url.database or ""
    if url.get_backend_name() != "sqlite" or database in ("", ":memory:") or database.startswith(
        "file:"
    ):
        return None
    return Path(database).expanduser()


@contextmanager
def _sqlite_open_lock(url: sa.URL) -> Iterator[None]:
    """Serialise processes opening one SQLite file: switching a new file to WAL needs an
    exclusive lock that SQLite refuses at once ("database is locked") instead of waiting."""
    path = _sqlite_file(url)
    if path is None:
        yield
        return
    with _file_lock(path.with_name(f"{path.name}.lock")):
        yield


@contextmanager
def _file_lock(lock_path: Path) -> Iterator[None]:
    """An exclusive lock on ``lock_path`` between processes, released by the kernel if the
    holder dies."""
    with open(lock_path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _sqlite_on_connect(journal: bool) -> Any:
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # The driver's own transaction handling would defer BEGIN and let two writers deadlock;
        # SQLAlchemy emits BEGIN IMMEDIATE itself (see _sqlite_begin_immediate).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        if journal:
            # WAL: readers never block the writer, and a crash cannot corrupt the file.
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    return on_connect


def _sqlite_begin_immediate(connection: sa.Connection) -> None:
    # Take the write lock up front, so a transaction that reads then writes waits for another
    # process's writer (busy timeout) instead of failing with "database is locked".
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def _current_attempt(connection: sa.Connection, run_id: str) -> int:
    """The run's attempt number, with the run's row locked until the transaction ends.

    The lock serialises writers of one run's outputs: on PostgreSQL two transactions that
    both delete-then-insert the same output names would otherwise collide on the primary key
    (SQLite already serialises them with BEGIN IMMEDIATE and ignores FOR UPDATE).
    """
    attempt = connection.execute(
        sa.select(runs.c.attempts).where(runs.c.run_id == run_id).with_for_update()
    ).scalar_one_or_none()
    if attempt is None:
        raise LookupError(f"no run {run_id!r} in the run store")
    return int(attempt)


_LIST_COLUMNS = {
    "run_id": "object",
    "kind": "object",
    "as_of": "datetime64[ns]",
    "status": "object",
    "attempts": "int64",
    "started_at": "datetime64[ns, UTC]",
    "finished_at": "datetime64[ns, UTC]",
    "duration_s": "float64",
    "config_hash": "object",
    "outputs": "object",
    "error": "object",
}


def _summary(record: RunRecord, outputs: list[str]) -> dict[str, Any]:
    return {
        "run_id": record.run_id,
        "kind": record.kind,
        "as_of": pd.Timestamp(record.as_of),
        "status": record.status,
        "attempts": record.attempts,
        "started_at": record.started_at,
        "finished_at": record.finished_at,
        "duration_s": record.duration_s,
        "config_hash": record.config_hash,
        "outputs": ", ".join(outputs),
        "error": record.error,
    }


def _encode(name: str, frame: pd.DataFrame) -> dict[str, Any]:
    _check_text("output name", name, max_length=_MAX_NAME)
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"output {name!r}: expected a pandas DataFrame, got {type(frame).__name__}")
    buffer = io.BytesIO()
    try:
        frame.to_parquet(buffer, engine="pyarrow", compression="zstd")
    except (ValueError, TypeError, NotImplementedError) as err:
        raise ValueError(f"output {name!r} cannot be stored as Parquet: {err}") from err
    return {"name": name, "format": _PARQUET, "n_rows": len(frame), "payload": buffer.getvalue()}


_HOST = socket.gethostname()


def _process_alive(pid: int, since: datetime) -> bool:
    """Whether process ``pid`` of this host still exists and is not a newer process that
    reuses the pid (its start, read from /proc where there is one, after ``since``)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    started = _process_start(pid)
    return started is None or started <= since + timedelta(seconds=5)


def _process_start(pid: int) -> datetime | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        boot = next(line for line in Path("/proc/stat").read_text().splitlines()
                    if line.startswith("btime "))
    except (OSError, StopIteration):
        return None
    ticks = int(stat[19])  # field 22 of stat(5); the fields after the command start at 3
    seconds = int(boot.split()[1]) + ticks / os.sysconf("SC_CLK_TCK")
    return datetime.fromtimestamp(seconds, UTC)


def _hours(elapsed: timedelta) -> str:
    return f"{elapsed.total_seconds() / 3600:.1f} h"


def _record(row: sa.Row[Any]) -> RunRecord:
    return RunRecord(
        run_id=row.run_id,
        kind=row.kind,
        as_of=row.as_of,
        config_hash=row.config_hash,
        input_hashes=dict(row.input_hashes),
        status=row.status,
        attempts=int(row.attempts),
        started_at=_utc(row.started_at),
        finished_at=None if row.finished_at is None else _utc(row.finished_at),
        timings={stage: float(seconds) for stage, seconds in row.timings.items()},
        error=row.error,
        pid=row.pid,
        host=row.host,
    )


def _utc(moment: datetime) -> datetime:
    # SQLite keeps no time zone: the store writes UTC, so a naive value read back is UTC.
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _now() -> datetime:
    return datetime.now(UTC)


def _as_date(value: date) -> date:
    if isinstance(value, datetime):  # also pandas.Timestamp
        return value.date()
    if isinstance(value, date):
        return value
    raise TypeError(f"as_of: expected a date, got {value!r}")


def _check_choice(field: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValueError(f"{field}: got {value!r}; expected one of {', '.join(allowed)}")


def _check_text(field: str, value: object, max_length: int = 64) -> None:
    if not isinstance(value, str) or not value or len(value) > max_length:
        expected = f"a non-empty string of at most {max_length} characters"
        raise ValueError(f"{field}: got {value!r}; expected {expected}")
