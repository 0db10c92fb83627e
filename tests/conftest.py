"""Shared fixtures: real servers only (SQLite files, PostgreSQL on loopback, local HTTP/SMTP,
Prefect's test server on a temporary PREFECT_HOME, shared by every flow test of the session)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from flows.orchestration.runtime import environment

PG_URL_ENV = "REPLENISH_TEST_PG_URL"
DEFAULT_PG_URL = "postgresql+psycopg://replenish:replenish@127.0.0.1:5432/replenish"


@pytest.fixture(scope="session")
def pg_server_url() -> str:
    """URL of the PostgreSQL server `.ci/postgres.sh` starts; skip when none is reachable."""
    url = os.environ.get(PG_URL_ENV, DEFAULT_PG_URL)
    engine = sa.create_engine(url, connect_args={"connect_timeout": 3})
    try:
        with engine.connect():
            pass
    except Exception as err:  # any driver error means "no server here"
        if os.environ.get("CI"):
            raise
        pytest.skip(f"no PostgreSQL server at {url} ({type(err).__name__}); run .ci/postgres.sh")
    finally:
        engine.dispose()
    return url


@pytest.fixture
def pg_url(pg_server_url: str) -> Iterator[str]:
    """A fresh, empty schema on the test server for one test; dropped afterwards."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(pg_server_url)
    with engine.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in pg_server_url else "?"
    yield f"{pg_server_url}{sep}options=-csearch_path%3D{schema}"
    with engine.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    engine.dispose()


_PREFECT_ENV = {"PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PREFECT_LOGGING_LEVEL": "WARNING"}


@pytest.fixture(scope="session")
def prefect_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Prefect's test server on a temporary PREFECT_HOME, analytics off, for the session.

    It starts in about 20 s on a quiet 2-core machine; the generous time limit is for a
    machine busy with other work (at load 9 it took over 60 s)."""
    home = tmp_path_factory.mktemp("prefect-home")
    with environment({**_PREFECT_ENV, "PREFECT_HOME": str(home)}):
        from prefect.settings import (
            PREFECT_HOME,
            PREFECT_SERVER_ANALYTICS_ENABLED,
            temporary_settings,
        )
        from prefect.testing.utilities import prefect_test_harness

        with (
            temporary_settings({PREFECT_HOME: home, PREFECT_SERVER_ANALYTICS_ENABLED: False}),
            prefect_test_harness(server_startup_timeout=180),
        ):
            yield home
