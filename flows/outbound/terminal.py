"""The few lines a planning run prints in the terminal, in the run's language.

The English lines are the catalog's message ids, so ``locale: en`` prints what it always did;
``zh_CN`` prints them in Chinese with amounts as ``¥12,345``. Labels keep their alignment in
each language (Chinese characters are two columns wide in a terminal).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from flows.i18n import SEVERITY_LABELS, Language

__all__ = ["RunOutcome", "describe_run", "labelled_row"]


class RunOutcome(Protocol):
    """What :func:`describe_run` reads of a :class:`flows.pipeline.PlanningOutcome`."""

    @property
    def run_id(self) -> str: ...
    @property
    def as_of(self) -> Any: ...
    @property
    def out(self) -> Path: ...
    @property
    def summary(self) -> dict[str, object]: ...
    @property
    def report(self) -> Path | None: ...
    @property
    def notices(self) -> Any: ...
    @property
    def whatif(self) -> bool: ...
    @property
    def cached(self) -> Sequence[str]: ...


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def labelled_row(label: str, value: str) -> str:
    """``  label    value`` with the values of consecutive rows aligned in any language."""
    return f"  {label}{' ' * max(15 - _width(label), 1)}{value}"


def _at_risk(summary: dict[str, object], lang: Language) -> str:
    """``; money at risk ¥X`` when the run's alerts put money at risk."""
    amount = float(summary.get("money_at_risk") or 0.0)  # type: ignore[arg-type]
    if amount <= 0:
        return ""
    return lang.gettext("; money at risk {amount}", amount=lang.money(amount, 0))


def describe_run(outcome: RunOutcome, lang: Language) -> str:
    """The run's summary and paths, for the terminal."""
    t = lang.gettext
    summary = outcome.summary
    alerts = summary.get("alerts") or {}
    solver = summary.get("solver") or {}
    assert isinstance(alerts, dict) and isinstance(solver, dict)
    tally = ", ".join(f"{count} {t(SEVERITY_LABELS.get(str(level), str(level)))}"
                      for level, count in alerts.items()) or t("none")
    proof = t("proven optimal") if solver.get("proven_optimal") else t("NOT proven optimal")
    kind = t("What-if plan") if outcome.whatif else t("Planning run")
    value = float(summary["order_value"])  # type: ignore[arg-type]
    lines = [
        f"{kind} {outcome.run_id} {t('as of {date}', date=outcome.as_of.date())} -> {outcome.out}",
        labelled_row(t("orders:"), t("{lines} lines worth {value} to {suppliers} suppliers "
                             "(orders/<supplier>.xlsx and .csv)",
                             lines=summary["order_lines"],
                             value=lang.money(value) if lang.is_chinese else f"{value:,}",
                             suppliers=summary["suppliers_ordered"])),
        labelled_row(t("solver:"), f"{solver.get('status')}, {proof}"),
        labelled_row(t("exceptions:"), f"{summary['exceptions']} (exceptions.csv)"),
        labelled_row(t("alerts:"), f"{tally} (alerts.csv)" + _at_risk(summary, lang)),
        labelled_row(t("forecast:"), str(outcome.out / "forecast.csv")),
        labelled_row(t("order forecast:"), str(outcome.out / "order_forecast")),
    ]
    if outcome.report is not None:
        lines.append(labelled_row(t("report:"), str(outcome.report)))
    digests = outcome.notices.digests
    lines += [labelled_row(t("digest:"), str(r.path)) for r in digests if r.path is not None]
    lines += [labelled_row(t("notify:"), f"{r.team} -> {r.target}: {r.status}")
              for r in digests if r.path is None]
    lines += [labelled_row(t("NOT delivered:"), line) for line in outcome.notices.failed]
    if outcome.whatif:
        lines.append("  " + t("what-if: nothing was sent to teams or suppliers"))
    if outcome.cached:
        lines.append(labelled_row(t("reused from cache:"), ", ".join(outcome.cached)))
    return "\n".join(lines)
