"""Alembic migrations of the run store, applied in code by :class:`flows.storage.store.RunStore`."""
