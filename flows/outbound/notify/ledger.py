"""What was already sent where: (target, alert_id) -> fingerprint of the alert's content.

The notifier reads a target's entries before sending and replaces them only after a send
succeeded, so a failed send is retried by the next run and an unchanged alert is never
repeated. Anything with ``load``/``save`` can hold the ledger (e.g. the run store);
:class:`JsonLedger` keeps it in one small JSON file written atomically.
"""

from __future__ import annotations

import hashlib
import json
import numbers
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol, runtime_checkable

import pandas as pd

from flows.storage.exports import atomic_write

__all__ = ["FINGERPRINT_COLUMNS", "JsonLedger", "NotificationLedger", "fingerprint_alerts"]

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
