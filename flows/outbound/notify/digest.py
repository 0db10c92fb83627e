"""The run digest: one message per team, alerts grouped by severity, top alerts first.

The digest is rendered twice from the same content: Markdown for targets that display it
(DingTalk, Slack, e-mail, the file sink) and plain text for those that show raw text (Feishu,
Lark, WeCom bot), so nobody reads stray ``**`` or ``###``.

Every word is in the run's language (:mod:`flows.i18n`, ``locale`` in the config): the
severities, the alert kinds, the headline and notes; money as ``¥12,345``; each alert names
the product as the products table does (示例美妆's Chinese names). The alert's detail is its
``message``, shown as written: the pipeline has already put it in the run's language
(:func:`flows.i18n.localized_messages`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pandas as pd

from flows.i18n import KIND_LABELS, SEVERITY_LABELS, Language, language
from forecasting.contract import DataContractError, Problem

__all__ = [
    "ALERT_COLUMNS",
    "SEVERITIES",
    "Digest",
    "RunSummary",
    "build_digest",
    "check_alerts",
    "failure_message",
    "render_link",
    "sort_alerts",
]

ALERT_COLUMNS = (
    "alert_id", "kind", "severity", "sku", "channel", "date", "message", "value_at_risk",
)
SEVERITIES = ("critical", "high", "medium", "low")
_RANK = {name: rank for rank, name in enumerate(SEVERITIES)}


@dataclass(frozen=True)
class RunSummary:
    """What a digest says about the run itself."""

    brand: str
    as_of: date | str
    run_id: str
    counts: Mapping[str, int] = field(default_factory=dict)
    totals: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Digest:
    """A rendered digest: ``markdown`` and ``text`` carry the same content, without the title."""

    title: str
    markdown: str
    text: str
    alert_ids: tuple[str, ...]


def check_alerts(alerts: pd.DataFrame, source: str = "alerts") -> None:
    """Raise :class:`DataContractError` when columns are missing or a severity is unknown."""
    missing = [c for c in ALERT_COLUMNS if c not in alerts.columns]
    problems = [Problem(source=source, column=c, expected="an alerts column") for c in missing]
    if "severity" in alerts.columns:
        bad = ~alerts["severity"].isin(SEVERITIES)
        problems += [
            Problem(source=source, row=int(i) + 2, column="severity", value=str(v),
                    expected=f"one of {', '.join(SEVERITIES)}")
            for i, v in zip(bad.to_numpy().nonzero()[0], alerts["severity"][bad], strict=True)
        ]
    if problems:
        raise DataContractError(problems)


def sort_alerts(alerts: pd.DataFrame) -> pd.DataFrame:
    """Most severe first, then the largest value at risk, then alert id (a stable order)."""
    key = alerts.assign(
        _rank=alerts["severity"].map(_RANK),
        _risk=-pd.to_numeric(alerts["value_at_risk"], errors="coerce").fillna(0.0),
    )
    ordered = key.sort_values(["_rank", "_risk", "alert_id"], kind="stable")
    return ordered.drop(columns=["_rank", "_risk"])


def render_link(target: str | Path, output_dir: Path | None, base_url: str | None) -> str:
    """A link a reader can open: under ``base_url`` when the file lies in ``output_dir``."""
    if isinstance(target, str):
        return target
    if base_url and output_dir is not None:
        try:
            relative = target.resolve().relative_to(output_dir.resolve())
        except ValueError:
            return str(target)
        return f"{base_url.rstrip('/')}/{relative.as_posix()}"
    return str(target)


def _number(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}".rstrip("0").rstrip(".")


def _when(value: object) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
        return ""
    if isinstance(value, pd.Timestamp | date):
        return value.strftime("%Y-%m-%d")
    return str(value)


def _pool(row: pd.Series) -> str:
    """The alert's stock pool warehouse (plans with a ``warehouses`` table), else ''."""
    value = row.get("warehouse")
    return str(value) if isinstance(value, str) else ""


def _detail(row: pd.Series, pool: str) -> str:
    """The alert's sentence without its leading ``<warehouse>:`` (the line names the pool
    already, beside the SKU)."""
    text = str(row["message"])
    for colon in (": ", "："):
        if pool and text.startswith(pool + colon):
            return text[len(pool) + len(colon):]
    return text


def _alert_line(row: pd.Series, lang: Language, names: Mapping[str, str]) -> str:
    sku = str(row["sku"]) if pd.notna(row["sku"]) else ""
    where = [f"{sku} {names[sku]}" if names.get(sku) else sku]
    pool = _pool(row)
    if pool:
        where.append(pool)
    if pd.notna(row["channel"]) and str(row["channel"]):
        where.append(str(row["channel"]))
    when = _when(row["date"])
    if when:
        where.append(when)
    risk = pd.to_numeric(row["value_at_risk"], errors="coerce")
    at_risk = (" · " + lang.gettext("at risk {amount}", amount=lang.money(float(risk), 0))
               if pd.notna(risk) else "")
    place = " · ".join(w for w in where if w)
    kind = str(row["kind"])
    label = lang.gettext(KIND_LABELS[kind]) if kind in KIND_LABELS else kind
    colon = "：" if lang.is_chinese else ": "  # a full-width colon in Chinese text
    return f"[{label}] {place}{at_risk}{colon}{_detail(row, pool)}{_action(row, lang)}"


def _action(row: pd.Series, lang: Language) -> str:
    """The alert's recommended action and its by-when, when it has one."""
    action = row.get("action")
    if not isinstance(action, str) or not action:
        return ""
    return lang.gettext("; do: {action} by {date}", action=action,
                        date=_when(row.get("action_by")))


def _md_link(label: str, url: str) -> str:
    # A local path is not clickable in chat; show it as text rather than a broken link.
    return f"[{label}]({url})" if "://" in url else f"{label}: `{url}`"


def _words(name: str, lang: Language) -> str:
    return lang.gettext(name.replace("_", " "))


def _headline(summary: RunSummary, lang: Language) -> str:
    parts = [lang.gettext("as of {date}", date=_when(summary.as_of)),
             lang.gettext("run {run_id}", run_id=summary.run_id)]
    parts += [f"{_words(name, lang)} {lang.number(count)}"
              for name, count in summary.counts.items()]
    parts += [f"{_words(name, lang)} "
              + (lang.money(total, 0) if name.endswith(("value", "at_risk")) else _number(total))
              for name, total in summary.totals.items()]
    return " · ".join(parts)


def build_digest(
    alerts: pd.DataFrame,
    summary: RunSummary,
    links: Mapping[str, str],
    *,
    team: str | None = None,
    top_n: int = 10,
    unchanged: int = 0,
    lang: Language | None = None,
    names: Mapping[str, str] | None = None,
) -> Digest:
    """The digest of ``alerts`` (already routed to one team and filtered to what is new).

    ``links`` maps a label (e.g. "Report") to a URL or path text; ``unchanged`` is how many
    of the team's alerts are left out because they were already sent unchanged; ``lang`` is
    the run's language (English by default); ``names`` maps a SKU to its product name.
    """
    lang = lang or language("en")
    names = names or {}
    ordered = sort_alerts(alerts)
    counts = ordered["severity"].value_counts()
    tally = ", ".join(f"{counts[s]} {lang.gettext(SEVERITY_LABELS[s])}" for s in SEVERITIES
                      if counts.get(s, 0))
    who = f"{summary.brand} · {team}" if team else summary.brand
    title = lang.gettext("[{who}] Replenishment {date}: {tally}", who=who,
                         date=_when(summary.as_of), tally=tally or lang.gettext("no new alerts"))

    # Bodies leave the title out: every service shows it (as subject, heading or first line).
    md: list[str] = [_headline(summary, lang), ""]
    tx: list[str] = [_headline(summary, lang), ""]
    shown = ordered.head(top_n)
    for severity in SEVERITIES:
        group = shown[shown["severity"] == severity]
        if group.empty:
            continue
        label = lang.gettext(SEVERITY_LABELS[severity])
        heading = f"{label[:1].upper()}{label[1:]} ({counts[severity]})"
        lines = [f"- {_alert_line(row, lang, names)}" for _, row in group.iterrows()]
        md += [f"### {heading}", *lines, ""]
        tx += [heading.upper(), *lines, ""]
    notes = []
    if len(ordered) > len(shown):
        notes.append(lang.gettext("{count} more new alerts are in the alerts file",
                                  count=len(ordered) - len(shown)))
    if unchanged:
        notes.append(lang.gettext("{count} unchanged alerts already sent are not repeated",
                                  count=unchanged))
    if notes:
        md += [f"_{'; '.join(notes)}._", ""]
        tx += [f"{'; '.join(notes)}.", ""]
    if links:
        files = lang.gettext("Files")
        md += [f"**{files}**",
               *(f"- {_md_link(lang.gettext(label), url)}" for label, url in links.items())]
        tx += [files.upper(),
               *(f"- {lang.gettext(label)}: {url}" for label, url in links.items())]
    return Digest(
        title=title,
        markdown="\n".join(md).rstrip() + "\n",
        text="\n".join(tx).rstrip() + "\n",
        alert_ids=tuple(str(a) for a in ordered["alert_id"]),
    )


def failure_message(summary: RunSummary, reason: str, lang: Language | None = None) -> Digest:
    """The message sent when a run fails: what failed and why."""
    lang = lang or language("en")
    when = _when(summary.as_of)
    title = lang.gettext("[{brand}] Replenishment run FAILED ({date})", brand=summary.brand,
                         date=when)
    lines = [
        lang.gettext("Run {run_id} as of {date} did not finish.", run_id=summary.run_id,
                     date=when),
        "",
        lang.gettext("Reason: {reason}", reason=reason),
    ]
    body = "\n".join(lines) + "\n"
    return Digest(title=title, markdown=body, text=body, alert_ids=())
