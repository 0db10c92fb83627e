"""The sample brand's presale deposits (预售定金) for 618 and Double 11.

The hero SKUs that take deposits are those of the ``presale`` promotions (Tmall and JD, from
the first day of the festival's presale to the festival day). Deposits are paid from that
first day to :data:`DEPOSIT_CLOSE_DAYS` = 12 days before the festival (Double 11: 20 to 30
October; 618: 1 to 6 June); the final payment (尾款) falls on the festival's eve and day,
when the sale is recorded.

Deposits are carved out of the true demand of the final-payment days, which stays as it was:
each unit of that demand paid a deposit with the window's deposit share (70-90%, the rest
buy without one), and the deposits also include those never converted, at the window's true
conversion (80-95%). Deposits are written per day up to the as-of date (later ones are not
known yet); the truth keeps every window with all its deposits, the units converted and the
true conversion, so tests can score the forecast of the final-payment days.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from flows.sample.calendar import CHANNELS

__all__ = ["DEPOSIT_CLOSE_DAYS", "PRESALE_TRUTH_COLUMNS", "Presales", "make_presales"]

DEPOSIT_CLOSE_DAYS = 12
FINAL_DAYS = 2  # the festival's eve and day
_DEPOSIT_SHARE = (0.7, 0.9)
_CONVERSION = (0.80, 0.95)
_FIRST_DAY_WEIGHT = 3.0  # the presale's first day takes the most deposits
PRESALE_TRUTH_COLUMNS = ["sku", "channel", "final_start", "final_end", "deposits", "converted",
                         "conversion", "demand"]


class Presales:
    """``table``: the contract's ``presales`` rows known at the as-of date; ``truth``: one
    row per window (:data:`PRESALE_TRUTH_COLUMNS`)."""

    def __init__(self, table: pd.DataFrame, truth: pd.DataFrame) -> None:
        self.table = table
        self.truth = truth


def _deposit_profile(days: int) -> NDArray[np.float64]:
    weights = np.exp(-0.15 * np.arange(days))
    weights[0] *= _FIRST_DAY_WEIGHT
    return weights / weights.sum()


def _window(rng: np.random.Generator, demand: NDArray[np.int64], sku: int, channel: int,
            start: int, peak: int) -> tuple[NDArray[np.int64], int, int, float, int]:
    """Deposits per deposit day, units converted, final-window demand, true conversion and
    the first final-payment day."""
    final = np.arange(peak - FINAL_DAYS + 1, peak + 1)
    wanted = demand[sku, channel, final]
    converted = int(rng.binomial(wanted, rng.uniform(*_DEPOSIT_SHARE)).sum())
    conversion = float(rng.uniform(*_CONVERSION))
    deposits = converted + int(rng.poisson(converted * (1 - conversion) / conversion))
    days = peak - DEPOSIT_CLOSE_DAYS - start + 1
    daily = rng.multinomial(deposits, _deposit_profile(days))
    return daily, converted, int(wanted.sum()), conversion, int(final[0])


def make_presales(rng: np.random.Generator, promotions: pd.DataFrame,
                  demand: NDArray[np.int64], skus: pd.Index, dates: pd.DatetimeIndex,
                  as_of_day: int) -> Presales:
    """Deposits of every ``presale`` promotion whose final payments fall inside ``dates``
    (``demand`` is the true demand (sku, channel, day) over them)."""
    rows: list[dict[str, object]] = []
    truth: list[dict[str, object]] = []
    presale = promotions[promotions["kind"] == "presale"]
    for promo in presale.to_dict("records"):
        start = int((pd.Timestamp(promo["start"]) - dates[0]).days)
        peak = int((pd.Timestamp(promo["end"]) - dates[0]).days)
        if start < 0 or peak >= len(dates) or peak - DEPOSIT_CLOSE_DAYS < start:
            continue
        sku = int(skus.get_indexer(pd.Index([promo["sku"]]))[0])
        channel = CHANNELS.index(str(promo["channel"]))
        daily, converted, wanted, conversion, first = _window(rng, demand, sku, channel,
                                                              start, peak)
        final_start, final_end = dates[first], dates[peak]
        for offset, units in enumerate(daily.tolist()):
            if units > 0 and start + offset <= as_of_day:
                rows.append({"sku": promo["sku"], "channel": promo["channel"],
                             "deposit_start": dates[start + offset],
                             "deposit_units": float(units), "final_start": final_start,
                             "final_end": final_end})
        truth.append({"sku": promo["sku"], "channel": promo["channel"],
                      "final_start": final_start, "final_end": final_end,
                      "deposits": int(daily.sum()), "converted": converted,
                      "conversion": conversion, "demand": wanted})
    table = pd.DataFrame(rows, columns=["sku", "channel", "deposit_start", "deposit_units",
                                        "final_start", "final_end"])
    table = table.sort_values(["deposit_start", "sku", "channel"], kind="stable",
                              ignore_index=True)
    return Presales(table, pd.DataFrame(truth, columns=PRESALE_TRUTH_COLUMNS))
