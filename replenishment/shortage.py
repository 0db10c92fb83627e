"""Piecewise-linear expected-shortage curves for the order optimiser.

For a SKU with inventory position ``IP`` and protection-period demand samples ``D_k``, the
expected shortage after ordering ``q`` units is ``ES(q) = mean_k (D_k - IP - q)^+``: convex and
decreasing in ``q``. The optimiser needs it as a few linear pieces. Breakpoints sit on whole
case packs (so the curve is exact wherever an order can land on a breakpoint) and crowd into
the upper tail of the need, where the stockout cost changes fastest.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from replenishment.loss import empirical_loss

__all__ = ["ShortageCurve", "shortage_curves"]


@dataclass(frozen=True)
class ShortageCurve:
    """``shortage[j]`` = expected units short after ordering ``quantity[j]`` units.

    ``quantity`` is increasing, starts at 0 and ends at the largest sensible order; the
    curve is the linear interpolation between the points (convex).
    """

    quantity: np.ndarray
    shortage: np.ndarray

    def segments(self) -> tuple[np.ndarray, np.ndarray]:
        """Intercepts and slopes of the pieces: ``ES(q) = max_j (intercept_j + slope_j q)``."""
        if len(self.quantity) < 2:
            return self.shortage[:1], np.zeros(1)
        slope = np.diff(self.shortage) / np.diff(self.quantity)
        intercept = self.shortage[:-1] - slope * self.quantity[:-1]
        return intercept, slope

    def __call__(self, q: np.ndarray | float) -> np.ndarray:
        return np.asarray(np.interp(q, self.quantity, self.shortage), dtype=float)


def _breakpoint_probabilities(n: int) -> np.ndarray:
    # Squared spacing puts more points near the top of the need distribution.
    return 1.0 - (1.0 - np.linspace(0.0, 1.0, n)) ** 2


def shortage_curves(
    demand: np.ndarray,
    inventory_position: np.ndarray,
    case_pack: np.ndarray,
    max_qty: np.ndarray,
    n_breakpoints: int = 12,
    focus: np.ndarray | None = None,
) -> list[ShortageCurve]:
    """One curve per SKU (row of ``demand``, shape ``(n_skus, n_paths)``).

    ``max_qty`` (units, a multiple of the case pack) ends each curve. Breakpoints are the
    quantiles of the need ``D - IP`` rounded to whole cases, plus 0 and ``max_qty``.
    ``focus`` (a probability per SKU, e.g. the critical ratio ``p / (p + h)``) adds the
    quantiles at and around it, so the unconstrained optimum is a breakpoint, not a chord.
    """
    need = np.maximum(demand - inventory_position[:, None], 0.0)
    probs = _breakpoint_probabilities(n_breakpoints)
    candidates = np.quantile(need, probs, axis=1).T  # (n_skus, n_breakpoints)
    if focus is not None:
        around = np.clip(focus[:, None] + np.array([-0.02, 0.0, 0.01]), 0.0, 1.0)
        sorted_need = np.sort(need, axis=1)
        position = np.rint(around * (need.shape[1] - 1)).astype(int)
        extra = np.take_along_axis(sorted_need, position, axis=1)
        candidates = np.concatenate([candidates, extra], axis=1)
    curves = []
    for i in range(len(demand)):
        pack = float(case_pack[i])
        top = float(max_qty[i])
        points = np.clip(np.round(candidates[i] / pack) * pack, 0.0, top)
        quantity = np.unique(np.concatenate([[0.0, top], points]))
        shortage = empirical_loss(need[i][None, :], quantity[None, :])[0]
        curves.append(ShortageCurve(quantity, shortage))
    return curves
