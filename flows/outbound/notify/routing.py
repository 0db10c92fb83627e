"""Which team hears about which alert: by the product's category or supplier."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from flows.config import NotifyTeam
from flows.outbound.notify.digest import SEVERITIES

__all__ = ["route_alerts"]


def _with_product_info(alerts: pd.DataFrame, products: pd.DataFrame) -> pd.DataFrame:
    """Add ``category`` and ``supplier`` from products, unless the alert already names them."""
    info = products.reindex(columns=["sku", "category", "supplier"]).drop_duplicates("sku")
    info = info.set_index("sku")
    out = alerts.copy()
    for column in ("category", "supplier"):
        looked_up = out["sku"].map(info[column])
        out[column] = out[column].fillna(looked_up) if column in out else looked_up
    return out


def route_alerts(
    alerts: pd.DataFrame, products: pd.DataFrame, teams: Sequence[NotifyTeam]
) -> dict[str, pd.DataFrame]:
    """Each team's alerts (team name -> rows of ``alerts``), at or above its minimum severity.

    A team listing categories or suppliers gets the alerts of matching products; an alert may
    go to several such teams. A team listing neither gets every alert no other team took, so
    nothing falls through the cracks.
    """
    enriched = _with_product_info(alerts, products)
    claimed = pd.Series(False, index=enriched.index)
    matches: dict[str, pd.Series] = {}
    for team in teams:
        if team.categories or team.suppliers:
            hit = enriched["category"].isin(team.categories) | enriched["supplier"].isin(
                team.suppliers
            )
            matches[team.name] = hit
            claimed |= hit
    routed: dict[str, pd.DataFrame] = {}
    allowed = {team.name: SEVERITIES[: SEVERITIES.index(team.min_severity) + 1] for team in teams}
    for team in teams:
        hit = matches.get(team.name, ~claimed)
        hit &= enriched["severity"].isin(allowed[team.name])
        routed[team.name] = alerts[hit.to_numpy()]
    return routed
