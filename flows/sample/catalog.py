"""The sample brand's catalogue: a Chinese skincare brand's SKUs and its contract manufacturers.

Besides the ``products`` and ``suppliers`` tables, the catalogue holds the hidden demand
parameters of every SKU (base rate, channel mix, trend, noise, life cycle) that the demand and
inventory simulation read. Arrays are aligned with the rows of ``products``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from numpy.typing import NDArray

__all__ = ["CATEGORIES", "Catalog", "Category", "make_catalog", "with_supplier_terms"]


@dataclass(frozen=True)
class Category:
    """A product category: how its names are built, what it costs, how seasonal it is."""

    code: str
    name: str
    stems: tuple[str, ...]
    sizes: tuple[str, ...]
    price: tuple[float, float]
    case_packs: tuple[int, ...]
    weight: float
    yearly_amplitude: float
    yearly_peak_day: int
    festival_sensitivity: float
    shelf_life_days: int
    unit_volume_m3: float


CATEGORIES = (
    Category("MSK", "面膜", ("补水面膜", "修护面膜", "清洁泥膜", "睡眠面膜"),
             ("5片装", "10片装", "100g"), (59, 159), (48, 96), 0.18, 0.10, 200, 1.0, 1095,
             0.0006),
    Category("SER", "精华", ("精华液", "原液", "安瓶精华"), ("30ml", "50ml", "7支装"),
             (159, 459), (24, 48), 0.14, 0.10, 330, 1.2, 1095, 0.0003),
    Category("CRM", "面霜", ("面霜", "乳液", "眼霜"), ("50g", "15g", "100ml"), (129, 399),
             (24, 48), 0.13, 0.30, 15, 1.1, 1095, 0.0004),
    Category("TNR", "水乳", ("爽肤水", "精华水", "柔肤水"), ("150ml", "200ml", "300ml"),
             (89, 259), (24, 36), 0.10, 0.08, 300, 1.0, 1095, 0.0007),
    Category("CLN", "洁面", ("洁面乳", "洁面慕斯", "卸妆油"), ("120g", "150ml", "200ml"),
             (49, 129), (48, 72), 0.10, 0.05, 120, 0.9, 1095, 0.0005),
    Category("SUN", "防晒", ("防晒霜", "防晒喷雾", "防晒乳"), ("50ml", "150ml", "30g"),
             (89, 199), (48, 72), 0.09, 0.70, 190, 0.8, 730, 0.0004),
    Category("BDY", "身体护理", ("身体乳", "护手霜", "沐浴露"), ("250ml", "50g", "500ml"),
             (59, 139), (24, 48), 0.10, 0.35, 20, 0.9, 1095, 0.0009),
    Category("LIP", "唇部", ("润唇膏", "唇膜", "唇釉"), ("4g", "15g", "3.5g"), (39, 99),
             (96, 144), 0.10, 0.30, 10, 1.0, 1095, 0.0001),
    Category("GFT", "礼盒", ("护肤礼盒", "节日限定礼盒", "旅行套装"), ("套装", "3件套", "5件套"),
             (299, 699), (6, 12), 0.06, 0.00, 1, 2.0, 1095, 0.004),
)

_INGREDIENTS = (
    "玻尿酸", "烟酰胺", "神经酰胺", "积雪草", "维C", "胶原蛋白", "视黄醇", "氨基酸",
    "茶树", "角鲨烷", "虾青素", "熊果苷", "白松露", "蓝铜肽", "依克多因", "寡肽",
)
_CITIES = (
    "广州", "上海", "杭州", "苏州", "深圳", "无锡", "宁波", "佛山", "珠海", "中山",
    "湖州", "嘉兴", "昆山", "东莞", "天津", "青岛",
)
_FIRMS = (
    "美妍", "华颜", "润泽", "清源", "雅颂", "丽芙", "科美", "瑞之", "禾素", "臻萃",
    "蓝湾", "星辰", "悦肤", "植研", "森然", "晶采", "安妍", "凝光", "沐田", "研美",
)
_TRADES = ("生物科技", "化妆品", "日用化工", "精细化工", "美容科技")
_CHANNEL_MIX = np.array([0.38, 0.20, 0.30, 0.12])  # tmall, jd, douyin, miniapp
_LEAD_TIMES = (7, 10, 12, 14, 15, 18, 21, 25, 30, 35, 45)
# A supplier's minimum order value as a share of the value of its mean weekly demand: low
# enough that one week's needs of its SKUs clear it without buying stock nobody asked for.
_ORDER_VALUE_SHARES = (0.10, 0.15, 0.20, 0.25, 0.30, 0.40)
# Weekly capacity as a multiple of the mean weekly demand (festivals, promotions and
# livestreams included), and at least this much over its busiest expected week.
_CAPACITY_FACTOR = (2.0, 3.0)
_PEAK_HEADROOM = 1.2


@dataclass(frozen=True)
class Catalog:
    """The tables and the hidden per-SKU and per-supplier parameters of the simulation.

    Day indices count from the first generated day; ``launch`` may be negative (launched
    before the history starts) and ``end`` is the first day without demand (discontinued).
    """

    products: pd.DataFrame
    suppliers: pd.DataFrame
    category: NDArray[np.int64]
    supplier: NDArray[np.int64]
    base: NDArray[np.float64]
    share: NDArray[np.float64]
    dispersion: NDArray[np.float64]
    trend: NDArray[np.float64]
    elasticity: NDArray[np.float64]
    safety_days: NDArray[np.float64]
    launch: NDArray[np.int64]
    end: NDArray[np.int64]
    list_price: NDArray[np.float64]
    unit_cost: NDArray[np.float64]
    case_pack: NDArray[np.int64]
    moq: NDArray[np.int64]
    lead_time: NDArray[np.float64]
    lead_time_std: NDArray[np.float64]
    review_days: NDArray[np.int64]
    review_weekday: NDArray[np.int64]
    min_order_value: NDArray[np.float64]
    capacity_factor: NDArray[np.float64]
    order_value_share: NDArray[np.float64]

    @property
    def skus(self) -> pd.Index:
        return pd.Index(self.products["sku"])

    def alive(self, n_days: int) -> NDArray[np.bool_]:
        """(sku, day): the SKU is on sale that day."""
        days = np.arange(n_days)[None, :]
        return (days >= self.launch[:, None]) & (days < self.end[:, None])


def _categories(rng: np.random.Generator, n_skus: int) -> NDArray[np.int64]:
    """Every category gets at least one SKU; the rest follow the category weights."""
    weights = np.array([c.weight for c in CATEGORIES])
    first = np.arange(min(n_skus, len(CATEGORIES)))
    rest = rng.choice(len(CATEGORIES), size=n_skus - len(first), p=weights / weights.sum())
    return np.sort(np.concatenate([first, rest])).astype(np.int64)


def _names(rng: np.random.Generator, category: NDArray[np.int64]) -> list[str]:
    names: list[str] = []
    for code, cat in enumerate(CATEGORIES):
        count = int((category == code).sum())
        grid = [f"{i}{s} {z}" for i in _INGREDIENTS for s in cat.stems for z in cat.sizes]
        order = rng.permutation(len(grid))
        for k in range(count):
            generation = k // len(grid)
            name = grid[order[k % len(grid)]]
            names.append(name if generation == 0 else f"{name} 第{generation + 1}代")
    return names


def _supplier_table(rng: np.random.Generator, n_suppliers: int
                    ) -> tuple[pd.DataFrame, NDArray[np.float64]]:
    """The suppliers (terms still unset) and each one's minimum order value share."""
    cities = rng.permutation(len(_CITIES))
    firms = rng.permutation(len(_FIRMS))
    names = [
        f"{_CITIES[cities[j % len(_CITIES)]]}{_FIRMS[firms[j % len(_FIRMS)]]}"
        f"{_TRADES[int(rng.integers(len(_TRADES)))]}有限公司"
        for j in range(n_suppliers)
    ]
    lead_time = rng.choice(_LEAD_TIMES, size=n_suppliers).astype(float)
    std_share = rng.uniform(0.1, 0.35, n_suppliers)
    review_days = rng.choice([7, 7, 7, 14], size=n_suppliers)
    order_value_share = rng.choice(_ORDER_VALUE_SHARES, size=n_suppliers)
    table = pd.DataFrame({
        "supplier": [f"SUP-{j + 1:02d}" for j in range(n_suppliers)],
        "lead_time_days": lead_time,
        "name": names,
        "lead_time_std_days": np.round(lead_time * std_share, 1),
        "review_days": review_days,
        "min_order_value": np.nan,
        "capacity_units_per_week": np.nan,
        "email": [f"po.sup{j + 1:02d}@example.com" for j in range(n_suppliers)],
    })
    return table, order_value_share.astype(float)


def _assign_suppliers(rng: np.random.Generator, category: NDArray[np.int64],
                      n_suppliers: int) -> NDArray[np.int64]:
    """Each manufacturer makes one or two categories; every category has a manufacturer."""
    n_cat = len(CATEGORIES)
    pairs = {(j, j % n_cat) for j in range(n_suppliers)}
    pairs |= {(c % n_suppliers, c) for c in range(n_cat)}
    makers = {c: sorted(j for j, cc in pairs if cc == c) for c in range(n_cat)}
    return np.array([makers[int(c)][int(rng.integers(len(makers[int(c)])))] for c in category],
                    dtype=np.int64)


def _life_cycle(rng: np.random.Generator, n_skus: int, history_days: int,
                total_days: int) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Launch day and end day per SKU: most established, some launched during the history or
    about to launch, some discontinued."""
    order = rng.permutation(n_skus)
    n_launched = round(0.10 * n_skus)
    n_upcoming = max(1, round(0.02 * n_skus))
    n_dropped = max(1, round(0.06 * n_skus))
    launch = -rng.integers(60, 1500, size=n_skus)
    end = np.full(n_skus, total_days)
    launched = order[:n_launched]
    upcoming = order[n_launched: n_launched + n_upcoming]
    dropped = order[n_launched + n_upcoming: n_launched + n_upcoming + n_dropped]
    launch[launched] = rng.integers(60, max(61, history_days - 20), size=len(launched))
    launch[upcoming] = rng.integers(history_days + 7, history_days + 29, size=len(upcoming))
    end[dropped] = rng.integers(history_days // 3, history_days - 30, size=len(dropped))
    return launch.astype(np.int64), end.astype(np.int64)


def make_catalog(rng: np.random.Generator, n_skus: int, first_day: pd.Timestamp,
                 history_days: int, total_days: int) -> Catalog:
    """Draw the brand's SKUs and suppliers."""
    category = _categories(rng, n_skus)
    cats = [CATEGORIES[int(c)] for c in category]
    n_suppliers = max(3, round(n_skus / 15))
    suppliers, order_value_share = _supplier_table(rng, n_suppliers)
    supplier = _assign_suppliers(rng, category, n_suppliers)
    # A long-tailed volume mix: a few hero SKUs sell hundreds a day, a third sell < 1 a day.
    base = np.exp(rng.normal(np.log(3.0), 1.5, n_skus)).clip(0.04, 400)
    low = np.array([c.price[0] for c in cats])
    high = np.array([c.price[1] for c in cats])
    list_price = np.floor(rng.uniform(low, high)) + 0.9
    unit_cost = np.round(list_price * rng.uniform(0.18, 0.32, n_skus), 2)
    case_pack = np.array([int(rng.choice(c.case_packs)) for c in cats], dtype=np.int64)
    moq = case_pack * rng.choice([1, 2, 3, 5, 10], size=n_skus)
    launch, end = _life_cycle(rng, n_skus, history_days, total_days)
    status = np.where(end < history_days, "discontinued",
                      np.where(launch >= history_days - 90, "new", "active"))
    hero = base >= np.quantile(base, 0.9)
    products = pd.DataFrame({
        "sku": [f"{c.code}-{i + 1:04d}" for i, c in enumerate(cats)],
        "supplier": suppliers["supplier"].to_numpy()[supplier],
        "unit_cost": unit_cost,
        "case_pack": case_pack,
        "moq": moq,
        "name": _names(rng, category),
        "category": [c.name for c in cats],
        "price": list_price,
        "volume_m3": np.round([c.unit_volume_m3 for c in cats] * rng.uniform(0.8, 1.2, n_skus),
                              6),
        "shelf_life_days": [float(c.shelf_life_days) for c in cats],
        "service_level": np.where(hero, 0.98, np.nan),
        "status": status,
        "launch_date": first_day + pd.to_timedelta(launch, unit="D"),
    })
    capacity_factor = rng.uniform(*_CAPACITY_FACTOR, n_suppliers)
    catalog = Catalog(
        products=products,
        suppliers=suppliers,
        category=category,
        supplier=supplier,
        base=base,
        share=rng.dirichlet(30 * _CHANNEL_MIX, size=n_skus),
        dispersion=np.clip(2 * base, 0.4, 20) * rng.uniform(0.8, 1.25, n_skus),
        trend=rng.normal(0.05, 0.3, n_skus).clip(-0.8, 0.8),
        elasticity=rng.uniform(2.0, 3.5, n_skus),
        safety_days=rng.uniform(4, 12, n_skus),
        launch=launch,
        end=end,
        list_price=list_price,
        unit_cost=unit_cost,
        case_pack=case_pack,
        moq=moq.astype(np.int64),
        lead_time=suppliers["lead_time_days"].to_numpy(dtype=float),
        lead_time_std=suppliers["lead_time_std_days"].to_numpy(dtype=float),
        review_days=suppliers["review_days"].to_numpy(dtype=np.int64),
        review_weekday=np.arange(n_suppliers, dtype=np.int64) % 5,
        min_order_value=suppliers["min_order_value"].to_numpy(dtype=float),
        capacity_factor=capacity_factor,
        order_value_share=order_value_share,
    )
    # Until the full demand is drawn, terms follow the SKUs' base rates.
    return with_supplier_terms(catalog, np.repeat(base[:, None, None], 7, axis=2))


def with_supplier_terms(catalog: Catalog, mean_demand: NDArray[np.float64]) -> Catalog:
    """``catalog`` with supplier capacities and minimum order values that fit the demand.

    ``mean_demand`` is the expected demand (sku, channel, day), festivals and signals
    included. Capacity is the supplier's drawn factor times its mean weekly units, and at
    least :data:`_PEAK_HEADROOM` times its busiest expected week; the minimum order value is
    the drawn share of the value of its mean weekly demand (rounded to 500, at least 1,000).
    """
    n_suppliers = len(catalog.suppliers)
    daily = mean_demand.sum(axis=1)
    weeks = max(1, daily.shape[1] // 7)
    weekly = daily[:, : weeks * 7].reshape(len(daily), weeks, 7).sum(axis=2)
    by_supplier = np.zeros((n_suppliers, weeks))
    np.add.at(by_supplier, catalog.supplier, weekly)
    mean_units = by_supplier.mean(axis=1)
    capacity = np.maximum(mean_units * catalog.capacity_factor,
                          by_supplier.max(axis=1) * _PEAK_HEADROOM)
    capacity = np.ceil(capacity / 100).clip(1) * 100
    weekly_value = np.bincount(catalog.supplier, weights=weekly.mean(axis=1) * catalog.unit_cost,
                               minlength=n_suppliers)
    minimum = np.maximum(np.round(weekly_value * catalog.order_value_share / 500) * 500, 1000.0)
    suppliers = catalog.suppliers.assign(min_order_value=minimum,
                                         capacity_units_per_week=capacity)
    return replace(catalog, suppliers=suppliers, min_order_value=minimum)

