"""One digest per team and target per run, de-duplicated through the ledger; run failures.

Nothing here raises into the run: every problem (a missing secret, a service down after its
retries, a bad ledger file) comes back as a :class:`NotifyResult` with status ``failed`` and a
message, and the run's files are already on disk by the time notifications go out.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

import pandas as pd

from flows.config import NotifySettings, NotifyTarget, NotifyTeam
from flows.i18n import Language, language
from flows.outbound.notify.digest import (
    Digest,
    RunSummary,
    build_digest,
    check_alerts,
    failure_message,
    render_link,
)
from flows.outbound.notify.ledger import JsonLedger, NotificationLedger, fingerprint_alerts, held
from flows.outbound.notify.platforms import is_native, send_native
from flows.outbound.notify.routing import route_alerts
from flows.outbound.notify.targets import (
    ResolvedTarget,
    TargetError,
    file_sink_path,
    resolve_target,
    send_apprise,
    target_label,
    write_file_sink,
)
from replenishment.exposure import money_at_risk

__all__ = ["NotifyResult", "notify_failure", "notify_run"]

Status = Literal["sent", "written", "unchanged", "failed", "skipped"]
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class NotifyResult:
    """What happened for one (team, target). ``alerts`` counts the alerts the message covered."""

    team: str
    target: str
    status: Status
    alerts: int = 0
    attempts: int = 0
    message: str = ""
    path: Path | None = None

    @property
    def ok(self) -> bool:
        return self.status != "failed"


@dataclass(frozen=True)
class _RunContext:
    summary: RunSummary
    settings: NotifySettings
    output_dir: Path | None
    links: Mapping[str, str]
    ledger: NotificationLedger | None
    env: Mapping[str, str]
    lang: Language
    names: Mapping[str, str]


def _send(
    target: ResolvedTarget, digest: Digest, settings: NotifySettings
) -> tuple[bool, int, str]:
    # DingTalk, Feishu and WeCom robots get native, signed, split messages (platforms.py).
    send = send_native if is_native(target.url) else send_apprise
    outcome = send(
        target, digest, attempts=settings.attempts, backoff_s=settings.backoff_s,
        backoff_max_s=settings.backoff_max_s, timeout_s=settings.timeout_s,
    )
    return outcome.ok, outcome.attempts, outcome.message


def _write_sink(
    team: str, target: ResolvedTarget, digest: Digest, output_dir: Path | None, alerts: int
) -> NotifyResult:
    if output_dir is None:
        return NotifyResult(team, target.label, "skipped", message="no output folder given")
    path = file_sink_path(target.url, output_dir, team)
    write_file_sink(path, digest)
    return NotifyResult(team, target.label, "written", alerts=alerts, path=path,
                        message=f"digest written to {path}")


def _to_target(
    team: NotifyTeam, target: NotifyTarget, alerts: pd.DataFrame, ctx: _RunContext
) -> NotifyResult:
    resolved = resolve_target(target, ctx.env)
    top_n = ctx.settings.top_n
    if resolved.is_file_sink:
        # The file is the run's own record: it always lists all of the team's alerts.
        digest = build_digest(alerts, ctx.summary, ctx.links, team=team.name, top_n=top_n,
                              lang=ctx.lang, names=ctx.names)
        return _write_sink(team.name, resolved, digest, ctx.output_dir, len(alerts))
    key = f"{team.name}|{resolved.label}"
    if ctx.ledger is None:
        return _send_new(team, resolved, alerts, ctx, key)
    with held(ctx.ledger, key):  # another run waits, then finds this digest recorded
        return _send_new(team, resolved, alerts, ctx, key)


def _send_new(team: NotifyTeam, resolved: ResolvedTarget, alerts: pd.DataFrame,
              ctx: _RunContext, key: str) -> NotifyResult:
    top_n, settings = ctx.settings.top_n, ctx.settings
    current = fingerprint_alerts(alerts)
    previous = ctx.ledger.load(key) if ctx.ledger is not None else {}
    is_new = [current[str(a)] != previous.get(str(a)) for a in alerts["alert_id"]]
    fresh = alerts[is_new]
    if fresh.empty:
        if ctx.ledger is not None and previous != current:
            ctx.ledger.save(key, current)  # forget alerts that went away; marks nothing as sent
        return NotifyResult(team.name, resolved.label, "unchanged",
                            message="no new or changed alerts; nothing sent")
    digest = build_digest(fresh, ctx.summary, ctx.links, team=team.name, top_n=top_n,
                          unchanged=len(alerts) - len(fresh), lang=ctx.lang, names=ctx.names)
    ok, attempts, message = _send(resolved, digest, settings)
    if not ok:
        return NotifyResult(team.name, resolved.label, "failed", alerts=len(fresh),
                            attempts=attempts, message=message)
    if ctx.ledger is not None:
        ctx.ledger.save(key, current)
    return NotifyResult(team.name, resolved.label, "sent", alerts=len(fresh), attempts=attempts,
                        message=message)


def _product_names(products: pd.DataFrame) -> dict[str, str]:
    if "name" not in products.columns:
        return {}
    named = products.dropna(subset=["name"])
    return {str(s): str(n) for s, n in zip(named["sku"], named["name"], strict=True) if str(n)}


def _open_ledger(ledger: NotificationLedger | Path | None) -> NotificationLedger | None:
    return JsonLedger(ledger) if isinstance(ledger, Path | str) else ledger


def _with_money_at_risk(summary: RunSummary, alerts: pd.DataFrame) -> RunSummary:
    """``summary`` with the team's money at risk, each SKU's exposure counted once
    (:func:`replenishment.exposure.money_at_risk`), when its alerts carry an exposure."""
    if alerts.empty or "exposure" not in alerts:
        return summary
    return replace(summary, totals={**summary.totals, "money_at_risk": money_at_risk(alerts)})


def notify_run(
    alerts: pd.DataFrame,
    products: pd.DataFrame,
    summary: RunSummary,
    settings: NotifySettings,
    *,
    output_dir: Path | None,
    ledger: NotificationLedger | Path | None = None,
    links: Mapping[str, str | Path] | None = None,
    env: Mapping[str, str] | None = None,
    lang: Language | None = None,
) -> list[NotifyResult]:
    """Send each team the digest of its new or changed alerts; return one result per target.

    Pass ``ledger=StoreLedger(store)`` so hosts sharing a run store share what was sent.
    ``products`` (sku, category, supplier) routes alerts to teams; ``links`` maps a label to a
    file (shown under ``settings.link_base_url`` when set) or a URL; ``ledger`` is a JSON
    ledger path or any :class:`NotificationLedger` (``None`` disables de-duplication);
    ``output_dir`` is the run's folder, where ``digest://`` targets write; ``lang`` the
    language of the digest (English by default), which names products as ``products`` does.
    Never raises.
    """
    if not settings.enabled:
        return []
    try:
        check_alerts(alerts)
        ctx = _RunContext(
            summary=summary, settings=settings, output_dir=output_dir,
            links={label: render_link(v, output_dir, settings.link_base_url)
                   for label, v in (links or {}).items()},
            ledger=_open_ledger(ledger), env=os.environ if env is None else env,
            lang=lang or language("en"), names=_product_names(products),
        )
        routed = route_alerts(alerts, products, settings.teams)
    except Exception as err:
        logger.exception("notifications not sent")
        return [NotifyResult("*", "*", "failed", message=f"notifications not sent: {err}")]
    results = []
    for team in settings.teams:
        team_ctx = replace(ctx, summary=_with_money_at_risk(summary, routed[team.name]))
        for target in team.urls:
            try:
                results.append(_to_target(team, target, routed[team.name], team_ctx))
            except Exception as err:  # TargetError, ledger or disk problems: report, go on
                if not isinstance(err, TargetError):
                    logger.exception("notification to %s failed", target_label(target))
                results.append(NotifyResult(team.name, target_label(target), "failed",
                                            message=str(err)))
    return results


def notify_failure(
    summary: RunSummary,
    reason: str,
    settings: NotifySettings,
    *,
    output_dir: Path | None = None,
    env: Mapping[str, str] | None = None,
    lang: Language | None = None,
) -> list[NotifyResult]:
    """Tell every configured target (once each) that the run failed, and why. Never raises."""
    if not settings.enabled:
        return []
    digest = failure_message(summary, reason, lang)
    environ = os.environ if env is None else env
    results: list[NotifyResult] = []
    seen: set[str] = set()
    for team in settings.teams:
        for target in team.urls:
            label = target_label(target)
            if label in seen:
                continue
            seen.add(label)
            try:
                resolved = resolve_target(target, environ)
                if resolved.is_file_sink:
                    results.append(_write_sink(team.name, resolved, digest, output_dir, 0))
                    continue
                ok, attempts, message = _send(resolved, digest, settings)
                results.append(NotifyResult(team.name, label, "sent" if ok else "failed",
                                            attempts=attempts, message=message))
            except Exception as err:
                results.append(NotifyResult(team.name, label, "failed", message=str(err)))
    return results
