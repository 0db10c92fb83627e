"""What was already sent where: (target, alert_id) -> fingerprint of the alert's content.

The notifier reads a target's entries before sending and replaces them only after a send
succeeded, so a failed send is retried by the next run and an unchanged alert is never
repeated. Anything with ``load``/``save`` can hold the ledger. :class:`StoreLedger` keeps it in
the run store, shared by every host that shares the store (a ledger in each host's working
folder let two hosts each send the same digest); :class:`JsonLedger` keeps it in one small
JSON file written atomically, for a run without a shared store.

A ledger with a ``hold(target)`` context manager is held from the check to the record
(:func:`held`): a second run, on this host or another, waits, then finds the digest recorded
and sends nothing. A run killed while holding it releases it with its process (a file lock, or
a PostgreSQL session lock).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import numbers
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Protocol, runtime_checkable

import pandas as pd

from flows.storage.exports import atomic_write
from flows.storage.store import RunStore

__all__ = [
    "FINGERPRINT_COLUMNS",
    "JsonLedger",
    "NotificationLedger",
    "StoreLedger",
    "fingerprint_alerts",
    "held",
    "import_json_ledger",
]

FINGERPRINT_COLUMNS = ("kind", "severity", "sku", "channel", "date", "message", "value_at_risk")


@runtime_checkable
class NotificationLedger(Protocol):
    """Storage of the fingerprints last sent to each target."""

    def load(self, target: str) -> dict[str, str]:
        """alert_id -> fingerprint last sent to ``target`` (empty when never sent)."""
        ...

    def save(self, target: str, sent: Mapping[str, str]) -> None:
        """Replace everything recorded for ``target`` with ``sent``."""
        ...


def held(ledger: NotificationLedger, target: str) -> AbstractContextManager[object]:
    """The ledger's hold on ``target`` when it has one, else nothing to hold."""
    hold = getattr(ledger, "hold", None)
    return hold(target) if callable(hold) else nullcontext()


def _canonical(value: object) -> object:
    if value is None or value is pd.NaT or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        # Whole currency units: a value at risk moving by cents is not a new alert.
        return round(float(value))
    return str(value)


def fingerprint_alerts(alerts: pd.DataFrame) -> dict[str, str]:
    """alert_id -> a short hash of the alert's content (columns in FINGERPRINT_COLUMNS)."""
    fingerprints: dict[str, str] = {}
    columns = [c for c in FINGERPRINT_COLUMNS if c in alerts.columns]
    for alert_id, *values in alerts[["alert_id", *columns]].itertuples(index=False):
        payload = json.dumps([_canonical(v) for v in values], ensure_ascii=False)
        fingerprints[str(alert_id)] = hashlib.sha256(payload.encode()).hexdigest()[:16]
    return fingerprints


class JsonLedger:
    """A ledger in one JSON file: ``{target: {alert_id: fingerprint}}``."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def _read(self) -> dict[str, dict[str, str]]:
        try:
            document = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except json.JSONDecodeError as err:
            raise ValueError(f"{self.path}: notification ledger is not valid JSON: {err}") from err
        if not isinstance(document, dict):
            raise ValueError(f"{self.path}: notification ledger: expected a JSON object")
        return document

    def load(self, target: str) -> dict[str, str]:
        return dict(self._read().get(target, {}))

    def save(self, target: str, sent: Mapping[str, str]) -> None:
        document = self._read()
        document[target] = dict(sorted(sent.items()))
        # A crash leaves the old ledger or the new one, never half of one.
        with atomic_write(self.path, "w") as handle:
            json.dump(document, handle, ensure_ascii=False, indent=1, sort_keys=True)

    @contextmanager
    def hold(self, target: str) -> Iterator[None]:
        """An exclusive lock (on ``NAME.lock`` beside the file) for the whole check-send-record
        of ``target``; one lock for all targets: sends to one ledger file are few."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_name(f"{self.path.name}.lock"), "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


class StoreLedger:
    """The ledger in the run store (table ``notify_ledger``), shared by every host using it."""

    def __init__(self, store: RunStore) -> None:
        self.store = store

    def load(self, target: str) -> dict[str, str]:
        return self.store.sent_notifications(target)

    def save(self, target: str, sent: Mapping[str, str]) -> None:
        self.store.record_notifications(target, sent)

    def hold(self, target: str) -> AbstractContextManager[None]:
        return self.store.notification_lock(target)


def import_json_ledger(store: RunStore, path: Path) -> list[str]:
    """Copy the targets of an older JSON ledger that the store does not know yet (so moving
    the ledger into the store sends nothing twice); returns the targets copied."""
    if not Path(path).exists():
        return []
    copied = []
    for target, sent in JsonLedger(path)._read().items():
        if isinstance(sent, dict) and not store.sent_notifications(target):
            store.record_notifications(target, {str(k): str(v) for k, v in sent.items()})
            copied.append(target)
    return copied
