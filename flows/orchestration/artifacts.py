"""Prefect artifacts of a planning run: what the Prefect UI shows on the flow run's page.

A markdown summary, the top alerts, the orders per supplier and a link to the report. Keys are
fixed, so the UI keeps the history of each across runs.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from prefect.artifacts import (
    create_link_artifact,
    create_markdown_artifact,
    create_table_artifact,
)

from flows.outbound.publish import Notices
from replenishment.plan import PlanResult

__all__ = ["ARTIFACT_KEYS", "orders_per_supplier", "publish_artifacts", "top_alerts"]

ARTIFACT_KEYS = ("plan-summary", "top-alerts", "orders-per-supplier", "plan-report")
_TOP_ALERTS = 20
_SEVERITY_RANK = {"critical": 0, "high": 1, "medium": 2, "low": 3}


def _records(frame: pd.DataFrame) -> list[dict[str, object]]:
    """JSON-safe rows (dates as ISO text, missing values as null)."""
    rows: list[dict[str, object]] = json.loads(
        frame.to_json(orient="records", date_format="iso", force_ascii=False))
    return rows


def top_alerts(alerts: pd.DataFrame, limit: int = _TOP_ALERTS) -> pd.DataFrame:
    """The most severe alerts first, then the largest value at risk."""
    columns = ["severity", "kind", "sku", "channel", "date", "value_at_risk", "message"]
    ranked = alerts.assign(_rank=alerts["severity"].map(_SEVERITY_RANK))
    ranked = ranked.sort_values(["_rank", "value_at_risk"], ascending=[True, False])
    return ranked[columns].head(limit).reset_index(drop=True)


def orders_per_supplier(orders: pd.DataFrame) -> pd.DataFrame:
    """One row per supplier ordered from: lines, units, value, first and last arrival."""
    return (
        orders.groupby("supplier", as_index=False)
        .agg(lines=("sku", "size"), units=("qty", "sum"), value=("line_value", "sum"),
             first_arrival=("expected_arrival", "min"), last_arrival=("expected_arrival", "max"))
        .assign(value=lambda f: f["value"].round(2))
    )


def _summary_markdown(title: str, summary: dict[str, object], files: dict[str, Path],
                      notices: Notices, cached: tuple[str, ...]) -> str:
    lines = [f"# {title}", "", "| | |", "|---|---|"]
    for name in ("run_id", "as_of", "skus_planned", "order_lines", "order_value",
                 "suppliers_ordered", "exceptions", "alerts"):
        lines.append(f"| {name.replace('_', ' ')} | {summary.get(name, '')} |")
    if cached:
        lines.append(f"| reused from cache | {', '.join(cached)} |")
    lines += ["", f"Files: {len(files)} written."]
    delivered = [f"- {r.team} -> {r.target}: {r.status}" for r in notices.digests]
    if delivered:
        lines += ["", "Notifications:", *delivered]
    for failure in notices.failed:
        lines.append(f"- NOT delivered: {failure}")
    return "\n".join(lines) + "\n"


def publish_artifacts(
    title: str, summary: dict[str, object], result: PlanResult, files: dict[str, Path],
    report_link: str, notices: Notices, cached: tuple[str, ...] = (),
) -> None:
    """Create the run's four artifacts in the current flow run."""
    create_markdown_artifact(
        _summary_markdown(title, summary, files, notices, cached), key="plan-summary",
        description="Headline numbers of the planning run")
    create_table_artifact(
        _records(top_alerts(result.alerts)), key="top-alerts",
        description=f"The {_TOP_ALERTS} most severe alerts of {len(result.alerts)}")
    create_table_artifact(
        _records(orders_per_supplier(result.orders)), key="orders-per-supplier",
        description="Order lines, units and value per supplier")
    if report_link:  # no report when the run was asked to skip it
        create_link_artifact(report_link, link_text="report.html", key="plan-report",
                             description="The run's report (self-contained HTML)")
