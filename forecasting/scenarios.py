"""Joint demand scenarios: the distribution of demand summed over any window.

Replenishment needs the quantile of demand over a protection period (lead time + review), and
the quantile of a sum is not the sum of daily quantiles. Sample paths keep the dependence
between days, so any window's sum is read off them directly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["DemandScenarios"]


@dataclass(frozen=True)
class DemandScenarios:
    """Sample paths of future demand per SKU (all channels).

    ``paths[i, k, t]`` is the demand of ``skus[i]`` on ``dates[t]`` in scenario ``k``.
    """

    skus: pd.Index
    dates: pd.DatetimeIndex
    paths: np.ndarray

    def __post_init__(self) -> None:
        expected = (len(self.skus), len(self.dates))
        if self.paths.ndim != 3 or (self.paths.shape[0], self.paths.shape[2]) != expected:
            raise ValueError(
                f"paths must have shape (n_skus, n_paths, n_dates) = ({expected[0]}, k, "
                f"{expected[1]}), got {self.paths.shape}"
            )
        if (self.paths < 0).any():
            raise ValueError("demand paths must be non-negative")

    @property
    def n_paths(self) -> int:
        return int(self.paths.shape[1])

    def window_sum(self, start: np.ndarray | int, length: np.ndarray | float) -> np.ndarray:
        """Demand summed over ``[start, start + length)`` periods for every SKU and path.

        ``start`` and ``length`` are per SKU (arrays aligned with ``skus``) or scalars. A
        fractional length counts the last period in proportion; a window running past the
        horizon extends it at :meth:`tail_rate`.
        """
        n_skus = self.paths.shape[0]
        starts = np.broadcast_to(np.asarray(start, dtype=float), (n_skus,))
        lengths = np.broadcast_to(np.asarray(length, dtype=float), (n_skus,))
        if (starts < 0).any() or (lengths < 0).any():
            raise ValueError("window start and length must be >= 0")
        cumulative = np.concatenate(
            [np.zeros((n_skus, self.n_paths, 1)), np.cumsum(self.paths, axis=2)], axis=2
        )
        tail_rate = self.tail_rate()
        return self._cumulative_at(cumulative, tail_rate, starts + lengths) - self._cumulative_at(
            cumulative, tail_rate, starts
        )

    def tail_rate(self) -> np.ndarray:
        """Demand per period assumed past the horizon, per SKU and path, shape (n_skus, n_paths).

        The typical (median) period of the mean forecast, not the last days: a horizon that
        ends inside Double 11 or a promotion must not project that peak for months. Each path
        keeps its own level relative to the mean, so the window sums stay as uncertain as the
        paths are.
        """
        mean_path = self.paths.mean(axis=1)
        typical = np.median(mean_path, axis=1)
        path_level = self.paths.mean(axis=2)
        mean_level = path_level.mean(axis=1, keepdims=True)
        relative = np.divide(path_level, mean_level, out=np.ones_like(path_level),
                             where=mean_level > 0)
        return typical[:, None] * relative

    @staticmethod
    def _cumulative_at(cumulative: np.ndarray, tail_rate: np.ndarray, at: np.ndarray) -> np.ndarray:
        horizon = cumulative.shape[2] - 1
        inside = np.minimum(at, horizon)
        whole = np.floor(inside).astype(int)
        frac = inside - whole
        rows = np.arange(cumulative.shape[0])
        base = cumulative[rows, :, whole]
        nxt = cumulative[rows, :, np.minimum(whole + 1, horizon)]
        value = base + (nxt - base) * frac[:, None]
        beyond = np.maximum(at - horizon, 0.0)
        return value + tail_rate * beyond[:, None]

    def window_quantile(
        self, q: float | np.ndarray, start: np.ndarray | int, length: np.ndarray | float
    ) -> np.ndarray:
        """Quantile(s) ``q`` of the window sum; shape (n_skus,) or (len(q), n_skus)."""
        return np.quantile(self.window_sum(start, length), q, axis=1)

    def window_mean(self, start: np.ndarray | int, length: np.ndarray | float) -> np.ndarray:
        return self.window_sum(start, length).mean(axis=1)

    def subset(self, skus: list[str] | pd.Index) -> DemandScenarios:
        positions = self.skus.get_indexer(pd.Index(skus))
        if (positions < 0).any():
            missing = pd.Index(skus)[positions < 0].tolist()
            raise KeyError(f"no demand scenarios for SKUs {missing[:5]}")
        return DemandScenarios(pd.Index(skus), self.dates, self.paths[positions])
