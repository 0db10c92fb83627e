"""A fictional multi-channel skincare brand, generated deterministically from a seed.

``generate_brand`` returns every table of the data contract (sales, products, suppliers,
inventory, open_orders, promotions, livestreams, events, prices, commitments, presales,
returns) and the truth behind them: the uncensored daily demand, for the history and the days
after the as-of date, the simulated stock, every presale window's deposits and conversion,
and every returned unit. ``write_brand`` puts a brand on disk; ``replenish sample`` does both.

What the data holds, so later stages can show their worth: weekly and yearly rhythm per
channel and category, platform festivals with pre-sale build-up and a dip after (618,
Double 11, Double 12, ...), the Chinese New Year logistics pause, SKU and category promotions
whose lift grows with the discount and are followed by a dip, Douyin livestreams that sell
10-50x a normal day, a long tail of intermittent SKUs, launches and discontinuations, price
changes, and stockouts that censor sales because a planner-like reorder rule ran the stock;
presale deposits for 618 and Double 11 on Tmall and JD, and customer returns (Douyin 20-50%,
the other channels less) that come back days later, part of them restockable.
"""

from flows.sample.brand import (
    CALENDAR_DAYS,
    DEFAULT_AS_OF,
    DEFAULT_DAYS,
    DEFAULT_SKUS,
    TRUTH_DAYS,
    SampleBrand,
    describe_brand,
    generate_brand,
)
from flows.sample.calendar import CHANNELS, CHINESE_NEW_YEAR
from flows.sample.writer import TRUTH_FOLDER, write_brand

__all__ = [
    "CALENDAR_DAYS",
    "CHANNELS",
    "CHINESE_NEW_YEAR",
    "DEFAULT_AS_OF",
    "DEFAULT_DAYS",
    "DEFAULT_SKUS",
    "TRUTH_DAYS",
    "TRUTH_FOLDER",
    "SampleBrand",
    "describe_brand",
    "generate_brand",
    "write_brand",
]
