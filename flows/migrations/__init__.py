"""Alembic migrations of the run store, applied in code by :class:`flows.store.RunStore`."""
