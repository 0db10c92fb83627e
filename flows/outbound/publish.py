"""What a planning run hands to people: the report, the digests, supplier e-mail, failure notes.

Plain functions (no Prefect): the flow's report and notify tasks wrap them. The notification
ledger lives next to the run store, so a second run for the same day does not send the same
alerts again; a failed run's notice goes to a folder beside the outputs, so the previous run's
files stay exactly as they were.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from flows.config import Settings
from flows.errors import UserError
from flows.i18n import language
from flows.outbound.delivery import DeliveryResult
from flows.outbound.notify import NotifyResult, RunSummary, notify_failure, notify_run
from flows.outbound.notify.ledger import StoreLedger, import_json_ledger
from flows.outbound.orders import auto_approved, propose_run, refresh_lines, send_approved
from flows.outbound.report import PreviousForecast, recent_accuracy, report_inputs, write_report
from flows.outbound.report.build import ReportOptions
from flows.storage.store import RunStore
from forecasting.contract import DataContractError
from forecasting.engine import ForecastResult
from replenishment.contract import Dataset
from replenishment.plan import PlanResult

__all__ = [
    "REPORT_NAME",
    "Notices",
    "failure_folder",
    "failure_reason",
    "ledger_path",
    "notify_plan",
    "run_links",
    "send_failure_notice",
    "write_plan_report",
]

REPORT_NAME = "report.html"
logger = logging.getLogger(__name__)


def ledger_path(settings: Settings) -> Path:
    """What was already sent where: ``notify-ledger.json`` next to the run store."""
    return settings.state_folder() / "notify-ledger.json"


def failure_folder(settings: Settings) -> Path:
    """Where a failed run's notice is written: beside the outputs, never inside them."""
    out = settings.output_dir
    return out.with_name(f"{out.name}-failed")


def failure_reason(error: BaseException) -> str:
    """One line (or one per data problem) a planner can act on, without a traceback."""
    if isinstance(error, DataContractError):
        return f"{len(error.problems)} data problem(s): " + "; ".join(
            str(p) for p in error.problems[:5])
    if isinstance(error, UserError):
        return str(error)
    return f"{type(error).__name__}: {error}"


def run_links(out: Path, files: dict[str, Path]) -> dict[str, Path]:
    """The files a digest points to, by label."""
    links = {"Report": out / REPORT_NAME, "Alerts": out / "alerts.csv",
             "Orders": out / "orders.csv", "Exceptions": out / "exceptions.csv"}
    return {label: path for label, path in links.items()
            if label == "Report" or path in files.values()}


def write_plan_report(
    settings: Settings, run_id: str, as_of: pd.Timestamp, dataset: Dataset,
    forecast: ForecastResult, result: PlanResult, previous: list[PreviousForecast], out: Path,
) -> Path:
    """``report.html`` in the run's folder: headline, alerts, at-risk SKUs, and the accuracy
    of ``previous`` runs' forecasts (see :func:`flows.outbound.report.stored_forecasts`)."""
    known = dataset.demand.until(as_of).sales
    files = ("orders.csv", "alerts.csv", "exceptions.csv", "forecast.csv", "summary.json")
    inputs = report_inputs(
        settings.brand, run_id, as_of, dataset, forecast, result,
        accuracy=recent_accuracy(previous, known),
        links={name: name for name in files if (out / name).exists()},
    )
    return write_report(inputs, out / REPORT_NAME, ReportOptions(locale=settings.locale))


@dataclass(frozen=True)
class Notices:
    """What the notify stage did: one result per team target and per supplier e-mail."""

    digests: list[NotifyResult] = field(default_factory=list)
    suppliers: list[DeliveryResult] = field(default_factory=list)

    @property
    def failed(self) -> list[str]:
        """A line for each notification that could not go out (after its retries)."""
        return ([f"{r.team} -> {r.target}: {r.message}" for r in self.digests if not r.ok]
                + [f"supplier {r.supplier}: {r.message}" for r in self.suppliers if not r.ok])


def _summary(settings: Settings, run_id: str, as_of: pd.Timestamp,
             result: PlanResult) -> RunSummary:
    orders = result.orders
    return RunSummary(
        brand=settings.brand, as_of=as_of.date(), run_id=run_id,
        counts={"order_lines": len(orders), "suppliers": int(orders["supplier"].nunique()),
                "exceptions": len(result.exceptions), "alerts": len(result.alerts)},
        totals={"order_value": float(orders["line_value"].sum())},
    )


def notify_plan(
    settings: Settings, run_id: str, as_of: pd.Timestamp, dataset: Dataset,
    result: PlanResult, out: Path, files: dict[str, Path],
) -> Notices:
    """Send each team its digest of new or changed alerts, record the run's order lines as
    proposals in the order book and send each supplier its *approved* lines (when supplier
    e-mail is enabled). Never raises: failures come back in :class:`Notices`."""
    with RunStore(settings.store_url) as store:
        return _notify_with_ledger(settings, store, run_id, as_of, dataset, result, out, files)


def _notify_with_ledger(
    settings: Settings, store: RunStore, run_id: str, as_of: pd.Timestamp, dataset: Dataset,
    result: PlanResult, out: Path, files: dict[str, Path],
) -> Notices:
    """:func:`notify_plan` with the ledger in the run store, shared by every host using it
    (an older JSON ledger beside an SQLite store is imported once, so nothing goes twice)."""
    ledger = StoreLedger(store)
    import_json_ledger(store, ledger_path(settings))
    import_json_ledger(store, settings.state_folder() / "supplier-ledger.json")
    digests = notify_run(
        result.alerts, dataset.supply.products, _summary(settings, run_id, as_of, result),
        settings.notify, output_dir=out, ledger=ledger,
        links=run_links(out, files), lang=language(settings.locale),
    )
    suppliers = _order_desk(settings, store, run_id, as_of, dataset, result, out)
    notices = Notices(digests, suppliers)
    for line in notices.failed:
        logger.warning("notification not delivered: %s", line)
    return notices


def _order_desk(settings: Settings, store: RunStore, run_id: str, as_of: pd.Timestamp,
                dataset: Dataset, result: PlanResult, out: Path) -> list[DeliveryResult]:
    """The run's order lines into the order book as proposals, the open lines refreshed, and
    only approved lines sent (auto-approved ones included; see :mod:`flows.outbound.orders`):
    nothing a planner or an approval rule did not approve reaches a supplier."""
    supply = dataset.supply
    try:
        proposed = propose_run(settings, store, run_id, as_of, result.orders,
                               supply.suppliers, supply.products)
        refresh_lines(settings, store, run_id, as_of, supply.open_orders)
        auto = auto_approved(store, proposed)
        if not auto:
            return []
        return send_approved(settings, store, "plan", lines=auto, outbox=out / "outbox",
                             required=False).deliveries
    except UserError as err:  # the order book cannot be written: the run still reports
        logger.warning("order lines not recorded or sent: %s", err)
        return [DeliveryResult("*", "failed", message=f"order book: {err}")]


def send_failure_notice(settings: Settings, run_id: str, as_of: pd.Timestamp | None,
                        reason: str) -> list[NotifyResult]:
    """Tell every configured target that the run failed; file sinks write into
    :func:`failure_folder`. Never raises."""
    summary = RunSummary(brand=settings.brand,
                         as_of=as_of.date() if as_of is not None else "unknown", run_id=run_id)
    results = notify_failure(summary, reason, settings.notify,
                             output_dir=failure_folder(settings), lang=language(settings.locale))
    for failed in (r for r in results if not r.ok):
        logger.warning("failure notice not delivered: %s -> %s: %s",
                       failed.team, failed.target, failed.message)
    return results
