"""Loss functions: expected shortage ``E[(D - x)^+]`` for the demand models the policy uses.

The loss function turns a stock level into expected units short, which is what fill-rate
targets and the newsvendor cost are written in.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import optimize, stats

__all__ = [
    "empirical_loss",
    "inverse_standard_normal_loss",
    "normal_loss",
    "poisson_loss",
    "standard_normal_loss",
]


def standard_normal_loss(z: ArrayLike) -> NDArray[np.float64]:
    """``L(z) = E[(Z - z)^+] = phi(z) - z (1 - Phi(z))`` for a standard normal ``Z``."""
    z = np.asarray(z, dtype=float)
    return np.asarray(stats.norm.pdf(z) - z * stats.norm.sf(z), dtype=float)


def normal_loss(x: ArrayLike, mean: ArrayLike, std: ArrayLike) -> NDArray[np.float64]:
    """Expected shortage ``E[(D - x)^+]`` for ``D ~ N(mean, std^2)``; ``std = 0`` is exact."""
    x, mean, std = np.broadcast_arrays(
        np.asarray(x, float), np.asarray(mean, float), np.asarray(std, float)
    )
    safe_std = np.where(std > 0, std, 1.0)
    smooth = safe_std * standard_normal_loss((x - mean) / safe_std)
    return np.asarray(np.where(std > 0, smooth, np.maximum(mean - x, 0.0)), dtype=float)


def poisson_loss(x: ArrayLike, mean: ArrayLike) -> NDArray[np.float64]:
    """Expected shortage ``E[(D - x)^+]`` for ``D ~ Poisson(mean)`` at integer levels ``x``.

    Uses ``n(x) = (mean - x) P(D > x) + mean P(D = x)``, exact for integers.
    """
    x = np.asarray(x, dtype=float)
    mean = np.asarray(mean, dtype=float)
    return np.asarray(
        (mean - x) * stats.poisson.sf(x, mean) + mean * stats.poisson.pmf(x, mean), dtype=float
    )


def empirical_loss(samples: ArrayLike, levels: ArrayLike) -> NDArray[np.float64]:
    """Expected shortage ``E[(D - level)^+]`` with ``D`` given by equally likely ``samples``.

    ``samples`` has shape ``(..., n_paths)``. ``levels`` is either one level per row (shape
    ``samples.shape[:-1]``, result of that shape) or ``k`` levels per row (shape
    ``samples.shape[:-1] + (k,)``, result of that shape).
    """
    d = np.asarray(samples, dtype=float)
    lv = np.asarray(levels, dtype=float)
    if lv.ndim == d.ndim - 1:
        return np.asarray(np.maximum(d - lv[..., None], 0.0).mean(axis=-1), dtype=float)
    return np.asarray(np.maximum(d[..., None, :] - lv[..., None], 0.0).mean(axis=-1), float)


def inverse_standard_normal_loss(value: float) -> float:
    """The ``z`` with ``L(z) = value`` (``value > 0``); ``L`` decreases strictly in ``z``."""
    if not value > 0:
        raise ValueError(f"the loss value must be > 0, got {value}")
    # L(z) ~ -z for very negative z and decays like phi(z)/z^2 for large z: bracket both sides.
    low, high = -value - 10.0, 40.0
    return float(optimize.brentq(lambda z: float(standard_normal_loss(z)) - value, low, high,
                                 xtol=1e-14, rtol=1e-14))
