"""The run record around a job: begun in the run store, finished as succeeded or failed."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager

import pandas as pd

from flows.config import Settings
from flows.progress import Progress
from flows.storage.store import RunKind, RunRecord, RunStore

__all__ = ["recorded_run"]


@contextmanager
def recorded_run(
    settings: Settings, kind: RunKind, as_of: pd.Timestamp, config_hash: str,
    input_hashes: Mapping[str, str], progress: Progress,
) -> Iterator[tuple[RunStore, RunRecord]]:
    """Open the run store and record a run around the body; failures are recorded too."""
    with RunStore(settings.store_url) as store:
        run = store.begin_run(kind, as_of.date(), config_hash, dict(input_hashes))
        try:
            yield store, run
        except BaseException as err:
            store.finish_run(run.run_id, "failed", progress.timings,
                             error=f"{type(err).__name__}: {err}")
            raise
        store.finish_run(run.run_id, "succeeded", progress.timings)
