"""Alembic environment of the run store.

:class:`flows.storage.store.RunStore` runs the migrations on its own connection (passed in
``config.attributes["connection"]``, inside a transaction that holds the store's migration lock),
so no ``alembic.ini`` is needed. A developer adding a revision builds the same configuration with
``flows.storage.store.alembic_config(url)`` and calls ``alembic.command.revision`` on it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

from flows.storage.store_tables import metadata


def _run(connection: sa.Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        # SQLite cannot ALTER most things; batch mode rebuilds the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = sa.create_engine(context.config.get_main_option("sqlalchemy.url") or "")
    try:
        with engine.begin() as own_connection:
            _run(own_connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise RuntimeError("the run store's migrations run online only (they need a connection)")
run_migrations_online()
