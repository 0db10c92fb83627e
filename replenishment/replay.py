"""The day-by-day stock replay behind ``replenish simulate``: receive, review, serve, return.

Stock is kept per (SKU, pool): a pool is a set of warehouses serving some channels
(:mod:`replenishment.pools`; the brand's own warehouse, JD's FBP, Cainiao), and a channel's
demand is served only from the pool that serves it (``World.channel_pool``). Without a
``warehouses`` table there is one pool serving every channel, and the replay is exactly the
one-stock replay it was before pools. Each simulated day, in this order:

1. purchase orders, transfers and restocked customer returns due that day arrive (at the
   start of the day, in the pool they were sent to);
2. on a review day the policy sees the stock per pool, the open orders, the transfers on
   their way and the sales and returns so far (up to yesterday) and returns a quantity per
   SKU and pool (a :class:`Decision`, or an array: per SKU for the main pool, or per SKU and
   pool) and the transfers to start; each supplier's lines form one purchase order whose
   lead time is drawn once per (review, supplier) — the same draws for every policy replayed
   on the same :class:`World`, so two policies meet the same supplier delays;
3. transfers leave their pool at once (at most its stock on hand) and arrive
   ``transfer_days`` later (the destination pool's ``transfer_lead_time_days``, rounded up),
   at ``transfer_cost`` a unit;
4. each pool serves its channels' demand while its stock lasts; what cannot be served is
   lost (customers buy elsewhere, as on a marketplace), and a short pool's stock is shared
   among its channels in proportion to their demand;
5. with a :class:`~replenishment.sim_returns.ReturnFlow`, the units served send their
   expected returns to the following days; the restockable share lands in the pool serving
   the channel they were sold on.

An order placed on review day ``d`` with a drawn lead time ``L`` arrives at the start of day
``d + L``: exactly the window the policy covers (demand from day ``d`` over ``L + R`` days);
an order for a pool with inbound booking days (``inbound_weekdays``: JD books Tuesdays and
Thursdays) waits for the next one, as the plan expects. Lead times are drawn as
``round(normal(mean, std))``, at least one day. Orders due after the last simulated day stay
open (they count as on order, never as received).

The purchase orders already open at the start (:attr:`World.in_transit`, e.g. the data's
``open_orders``) are part of the state every policy starts from: they arrive at the start
of their ETA's day (an overdue one on the first day) in their pool (the main pool unless
their ``warehouse`` says otherwise), are on order until then, and are seen by every policy at
its reviews; they are not the policy's orders (``Replay.orders``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from replenishment.sim_returns import ReturnFlow, schedule_returns

__all__ = ["ORDER_LINE_COLUMNS", "TRANSFER_LINE_COLUMNS", "Decision", "Policy", "Replay",
           "ReviewState", "World", "WorldPool", "draw_lead_days", "in_transit_lines",
           "replay"]

ORDER_LINE_COLUMNS = ["review", "order_day", "sku_index", "supplier_index", "qty",
                      "expected_day", "arrival_day", "pool_index"]
TRANSFER_LINE_COLUMNS = ["review", "day", "sku_index", "from_pool", "to_pool", "qty",
                         "arrival_day", "cost"]
"""A transfer executed: ``qty`` units left ``from_pool`` on ``day`` and arrive in ``to_pool``
at the start of ``arrival_day``; ``cost`` its total cost."""


def _no_lines() -> pd.DataFrame:
    lines = pd.DataFrame({c: pd.Series(dtype="int64") for c in ORDER_LINE_COLUMNS})
    lines["qty"] = lines["qty"].astype(float)
    return lines


def _no_transfers() -> pd.DataFrame:
    lines = pd.DataFrame({c: pd.Series(dtype="int64") for c in TRANSFER_LINE_COLUMNS})
    return lines.astype({"qty": float, "cost": float})


def in_transit_lines(sku_index: np.ndarray, supplier_index: np.ndarray, qty: np.ndarray,
                     arrival_day: np.ndarray, pool_index: np.ndarray | None = None,
                     ) -> pd.DataFrame:
    """Order lines (:data:`ORDER_LINE_COLUMNS`) open at the start: review and order day -1
    (before the first day), expected and arriving on ``arrival_day`` (at least day 0), in
    ``pool_index`` (default the main pool, 0)."""
    arrival = np.maximum(np.asarray(arrival_day, dtype=np.int64), 0)
    pools = np.zeros(len(arrival), np.int64) if pool_index is None else np.asarray(
        pool_index, dtype=np.int64)
    return pd.DataFrame({
        "review": -1, "order_day": -1,
        "sku_index": np.asarray(sku_index, dtype=np.int64),
        "supplier_index": np.asarray(supplier_index, dtype=np.int64),
        "qty": np.asarray(qty, dtype=float), "expected_day": arrival, "arrival_day": arrival,
        "pool_index": pools,
    }, columns=ORDER_LINE_COLUMNS)


def draw_lead_days(mean: np.ndarray, std: np.ndarray, reviews: int, seed: int) -> np.ndarray:
    """Whole-day lead times per (review, supplier): ``round(normal(mean, std))``, >= 1 day."""
    rng = np.random.default_rng(seed)
    noise = rng.standard_normal((reviews, len(mean)))
    return np.maximum(np.round(mean[None, :] + std[None, :] * noise), 1).astype(np.int64)


@dataclass(frozen=True)
class WorldPool:
    """A stock pool of the replay: its ``name``, the weekdays it books deliveries
    (Monday = 0; empty: any day), and the days and cost a unit takes to move into it
    (``transfer_days`` None: no transfers in)."""

    name: str
    inbound_weekdays: frozenset[int] = frozenset()
    transfer_days: int | None = None
    transfer_cost: float = 0.0


def _one_pool() -> tuple[WorldPool, ...]:
    return (WorldPool("all"),)


@dataclass(frozen=True)
class World:
    """What every replayed policy faces: demand, catalogue, review days and supplier delays.

    ``demand[i, c, t]`` is the demand of ``skus[i]`` on channel ``channels[c]`` on
    ``dates[t]``; ``supplier[i]`` the position of the SKU's supplier in ``suppliers``;
    ``review_days`` the day positions of the reviews; ``lead_days[r, j]`` the lead time of
    supplier ``j``'s order at review ``r``; ``expected_lead_days[j]`` what the supplier
    quotes (the mean, rounded up), which is when the planner expects an order;
    ``in_transit`` the purchase order lines open at the start (:func:`in_transit_lines`);
    ``pools`` the stock pools (the first is the main pool) and ``channel_pool[c]`` the pool
    serving channel ``c`` (None: one pool serving all); ``returns`` the customer returns
    (None: none come back).
    """

    skus: pd.Index
    channels: pd.Index
    dates: pd.DatetimeIndex
    demand: np.ndarray
    supplier: np.ndarray
    suppliers: pd.Index
    review_days: np.ndarray
    lead_days: np.ndarray
    expected_lead_days: np.ndarray
    unit_cost: np.ndarray
    in_transit: pd.DataFrame = field(default_factory=_no_lines)
    pools: tuple[WorldPool, ...] = field(default_factory=_one_pool)
    channel_pool: np.ndarray | None = None
    returns: ReturnFlow | None = None

    def __post_init__(self) -> None:
        expected = (len(self.skus), len(self.channels), len(self.dates))
        if self.demand.shape != expected:
            raise ValueError(f"demand must have shape (skus, channels, days) = {expected}, "
                             f"got {self.demand.shape}")
        if self.lead_days.shape != (len(self.review_days), len(self.suppliers)):
            raise ValueError("lead_days must have one row per review and one column per "
                             "supplier")
        if (self.demand < 0).any():
            raise ValueError("demand must be non-negative")
        lines = self.in_transit
        if list(lines.columns) != ORDER_LINE_COLUMNS or (lines["qty"] < 0).any() or (
                ~lines["sku_index"].between(0, len(self.skus) - 1)).any() or (
                ~lines["pool_index"].between(0, len(self.pools) - 1)).any():
            raise ValueError("in_transit must hold ORDER_LINE_COLUMNS with known SKUs and "
                             "pools and quantities >= 0")
        pools = self.pool_of_channel
        if pools.shape != (len(self.channels),) or ((pools < 0) | (pools >= len(self.pools))
                                                     ).any():
            raise ValueError("channel_pool must give every channel a pool of pools")
        if self.returns is not None and self.returns.prior.shape != expected:
            raise ValueError(f"returns must be per (skus, channels, days) = {expected}")

    @property
    def n_days(self) -> int:
        return len(self.dates)

    @property
    def n_pools(self) -> int:
        return len(self.pools)

    @property
    def pool_of_channel(self) -> np.ndarray:
        """The pool serving each channel (all the main pool without ``channel_pool``)."""
        if self.channel_pool is None:
            return np.zeros(len(self.channels), dtype=np.int64)
        return np.asarray(self.channel_pool, dtype=np.int64)

    def booked(self, pool: np.ndarray, day: np.ndarray) -> np.ndarray:
        """``day`` moved to the next inbound booking day of ``pool`` (unchanged for a pool
        that takes deliveries any day)."""
        out = np.asarray(day, dtype=np.int64).copy()
        first = self.dates[0].weekday()
        for p, spec in enumerate(self.pools):
            rows = np.asarray(pool) == p
            if not spec.inbound_weekdays or not rows.any():
                continue
            waits = np.array([min((d - w) % 7 for d in spec.inbound_weekdays)
                              for w in range(7)], dtype=np.int64)
            out[rows] += waits[(first + out[rows]) % 7]
        return out


@dataclass(frozen=True)
class ReviewState:
    """What a policy knows at a review: the morning stock (after today's arrivals), the
    orders not yet received, and per (sku, channel, day) the units served and whether
    demand went unserved, for the simulated days before today.

    ``on_hand`` is per SKU (all pools); ``stock`` per (SKU, pool) (None: one pool);
    ``in_transfer`` the transfers on their way (:data:`TRANSFER_LINE_COLUMNS`);
    ``returned`` and ``restocked`` per (sku, channel, day) the customer returns received
    so far and the units of them put back on the shelf (None: no returns)."""

    review: int
    day: int
    date: pd.Timestamp
    on_hand: np.ndarray
    open_orders: pd.DataFrame
    served: np.ndarray
    short: np.ndarray
    stock: np.ndarray | None = None
    in_transfer: pd.DataFrame | None = None
    returned: np.ndarray | None = None
    restocked: np.ndarray | None = None

    @property
    def pool_stock(self) -> np.ndarray:
        """Units on hand per (SKU, pool)."""
        return self.on_hand[:, None] if self.stock is None else self.stock

    def on_order(self, n_skus: int) -> np.ndarray:
        """Units ordered and not yet received, per SKU."""
        return np.bincount(self.open_orders["sku_index"].to_numpy(dtype=np.int64),
                           weights=self.open_orders["qty"].to_numpy(dtype=float),
                           minlength=n_skus)

    def pool_on_order(self, n_skus: int, n_pools: int) -> np.ndarray:
        """Units ordered and not yet received, and units moving in, per (SKU, pool)."""
        out = np.zeros((n_skus, n_pools))
        lines = self.open_orders
        pools = (lines["pool_index"] if "pool_index" in lines else pd.Series(0, lines.index))
        np.add.at(out, (lines["sku_index"].to_numpy(np.int64), pools.to_numpy(np.int64)),
                  lines["qty"].to_numpy(dtype=float))
        moving = self.in_transfer
        if moving is not None and len(moving):
            np.add.at(out, (moving["sku_index"].to_numpy(np.int64),
                            moving["to_pool"].to_numpy(np.int64)),
                      moving["qty"].to_numpy(dtype=float))
        return out


@dataclass(frozen=True)
class Decision:
    """A policy's decision at a review: ``orders`` per SKU (the main pool) or per (SKU,
    pool), and the ``transfers`` to start (``sku_index, from_pool, to_pool, qty``)."""

    orders: np.ndarray
    transfers: pd.DataFrame | None = None


Policy = Callable[[ReviewState], np.ndarray | Decision]


@dataclass(frozen=True)
class Replay:
    """What happened. ``served``/``short``: (sku, channel, day); ``received`` (purchase
    orders), ``restocked`` (customer returns back on the shelf), ``on_hand`` (end of day, all
    pools), ``in_transfer`` (end of day, moving between pools) and ``on_order`` (end of
    day): (sku, day); ``pool_on_hand``: (sku, pool, day); ``returned``: units customers sent
    back, (sku, channel, day); ``orders``: one row per order line
    (:data:`ORDER_LINE_COLUMNS`); ``transfers``: one row per transfer
    (:data:`TRANSFER_LINE_COLUMNS`); ``start_stock``: on hand per SKU before the first day."""

    start_stock: np.ndarray
    served: np.ndarray
    short: np.ndarray
    received: np.ndarray
    on_hand: np.ndarray
    on_order: np.ndarray
    orders: pd.DataFrame
    restocked: np.ndarray
    in_transfer: np.ndarray
    pool_on_hand: np.ndarray
    returned: np.ndarray
    transfers: pd.DataFrame


def _serve(demand: np.ndarray, on_hand: np.ndarray) -> np.ndarray:
    """Units served per (sku, channel): all demand while stock lasts, else the stock shared in
    proportion to each channel's demand."""
    total = demand.sum(axis=1)
    share = np.divide(np.minimum(on_hand, total), total, out=np.ones_like(total),
                      where=total > 0)
    return demand * np.minimum(share, 1.0)[:, None]


def _check_quantities(decided: np.ndarray | Decision, n_skus: int, n_pools: int,
                      ) -> tuple[np.ndarray, pd.DataFrame | None]:
    """Orders per (SKU, pool) and transfers of a policy's answer."""
    transfers = decided.transfers if isinstance(decided, Decision) else None
    qty = np.asarray(decided.orders if isinstance(decided, Decision) else decided, dtype=float)
    if qty.shape == (n_skus,):
        qty = np.concatenate([qty[:, None], np.zeros((n_skus, n_pools - 1))], axis=1)
    if qty.shape != (n_skus, n_pools) or not np.isfinite(qty).all() or (qty < 0).any():
        raise ValueError(f"a policy must return {n_skus} finite quantities >= 0 (one per SKU)"
                         f" or {n_skus} x {n_pools} (one per SKU and pool)")
    return qty, transfers


def _start_stock(start_stock: np.ndarray, n_skus: int, n_pools: int) -> np.ndarray:
    stock = np.asarray(start_stock, dtype=float)
    if stock.shape == (n_skus,):
        stock = np.concatenate([stock[:, None], np.zeros((n_skus, n_pools - 1))], axis=1)
    if stock.shape != (n_skus, n_pools) or (stock < 0).any():
        raise ValueError(f"start_stock must hold {n_skus} quantities >= 0 (one per SKU) or "
                         f"{n_skus} x {n_pools} (one per SKU and pool)")
    return stock.copy()


@dataclass
class _Books:
    """The replay's running state and its day-by-day records."""

    stock: np.ndarray  # (sku, pool) now
    arrivals: np.ndarray  # (sku, pool, day + 1) purchase orders and transfers due
    back: np.ndarray  # (sku, channel, day + 1) customer returns due
    served: np.ndarray
    short: np.ndarray
    received: np.ndarray
    restocked: np.ndarray
    on_hand: np.ndarray
    in_transfer: np.ndarray
    pool_on_hand: np.ndarray
    on_order: np.ndarray
    returned: np.ndarray
    restocked_cc: np.ndarray
    open_lines: pd.DataFrame
    moving: pd.DataFrame
    lines: list[pd.DataFrame] = field(default_factory=list)
    transfers: list[pd.DataFrame] = field(default_factory=list)


def _open_books(world: World, start_stock: np.ndarray) -> _Books:
    n_skus, n_channels, n_days = world.demand.shape
    n_pools = world.n_pools
    back = np.zeros((n_skus, n_channels, n_days + 1))
    if world.returns is not None:
        back[:, :, :n_days] += world.returns.prior
    books = _Books(
        stock=_start_stock(start_stock, n_skus, n_pools),
        arrivals=np.zeros((n_skus, n_pools, n_days + 1)),  # the last column: after the end
        back=back,
        served=np.zeros_like(world.demand, dtype=float),
        short=np.zeros(world.demand.shape, dtype=bool),
        received=np.zeros((n_skus, n_days)), restocked=np.zeros((n_skus, n_days)),
        on_hand=np.zeros((n_skus, n_days)), in_transfer=np.zeros((n_skus, n_days)),
        pool_on_hand=np.zeros((n_skus, n_pools, n_days)), on_order=np.zeros((n_skus, n_days)),
        returned=np.zeros((n_skus, n_channels, n_days)),
        restocked_cc=np.zeros((n_skus, n_channels, n_days)),
        open_lines=world.in_transit.reset_index(drop=True), moving=_no_transfers())
    _schedule(books.arrivals, world.in_transit, n_days)
    return books


def _receive(world: World, books: _Books, day: int) -> None:
    """Purchase orders, transfers and restocked returns due on ``day`` arrive."""
    due = books.arrivals[:, :, day]
    transferred = np.bincount(books.moving.loc[books.moving["arrival_day"] == day, "sku_index"]
                              .to_numpy(np.int64),
                              weights=books.moving.loc[books.moving["arrival_day"] == day, "qty"]
                              .to_numpy(float), minlength=len(world.skus))
    books.received[:, day] = due.sum(axis=1) - transferred
    books.stock += due
    books.moving = books.moving[books.moving["arrival_day"] > day]
    books.open_lines = books.open_lines[books.open_lines["arrival_day"] > day]
    if world.returns is None:
        return
    returned = books.back[:, :, day]
    restocked = returned * world.returns.restockable
    books.returned[:, :, day] = returned
    books.restocked_cc[:, :, day] = restocked
    books.restocked[:, day] = restocked.sum(axis=1)
    pools = world.pool_of_channel
    for p in range(world.n_pools):
        books.stock[:, p] += restocked[:, pools == p].sum(axis=1)


def _review(world: World, books: _Books, policy: Policy, review: int, day: int) -> None:
    state = ReviewState(review, day, world.dates[day], books.stock.sum(axis=1),
                        books.open_lines, books.served[:, :, :day], books.short[:, :, :day],
                        books.stock.copy(), books.moving,
                        books.returned[:, :, :day] if world.returns is not None else None,
                        books.restocked_cc[:, :, :day] if world.returns is not None else None)
    qty, transfers = _check_quantities(policy(state), len(world.skus), world.n_pools)
    placed = _order_lines(world, review, day, qty)
    _schedule(books.arrivals, placed, world.n_days)
    books.lines.append(placed)
    books.open_lines = pd.concat([books.open_lines, placed], ignore_index=True)
    if transfers is not None and len(transfers):
        moved = _transfer(world, books, transfers, review, day)
        books.transfers.append(moved)
        books.moving = pd.concat([books.moving, moved], ignore_index=True)


def _transfer(world: World, books: _Books, asked: pd.DataFrame, review: int, day: int,
              ) -> pd.DataFrame:
    """Start the transfers ``asked`` (each at most the stock left in its pool)."""
    rows = []
    for sku, source, target, qty in zip(
            asked["sku_index"].to_numpy(np.int64), asked["from_pool"].to_numpy(np.int64),
            asked["to_pool"].to_numpy(np.int64), asked["qty"].to_numpy(float), strict=True):
        pool = world.pools[target]
        units = min(float(qty), float(books.stock[sku, source]))
        if pool.transfer_days is None or source == target or units <= 0:
            continue
        books.stock[sku, source] -= units
        arrival = day + pool.transfer_days
        books.arrivals[sku, target, min(arrival, world.n_days)] += units
        rows.append((review, day, sku, source, target, units, arrival,
                     units * pool.transfer_cost))
    return pd.DataFrame(rows, columns=TRANSFER_LINE_COLUMNS).astype(
        _no_transfers().dtypes.to_dict())


def _serve_day(world: World, books: _Books, day: int) -> None:
    pools = world.pool_of_channel
    for p in range(world.n_pools):
        channels = pools == p
        served = _serve(world.demand[:, channels, day], books.stock[:, p])
        books.served[:, channels, day] = served
        books.stock[:, p] = np.maximum(books.stock[:, p] - served.sum(axis=1), 0.0)
    books.short[:, :, day] = books.served[:, :, day] < world.demand[:, :, day] - 1e-9
    if world.returns is not None:
        schedule_returns(world.returns, books.back, books.served[:, :, day], day)


def _close_day(world: World, books: _Books, day: int) -> None:
    n_skus = len(world.skus)
    books.on_hand[:, day] = books.stock.sum(axis=1)
    books.pool_on_hand[:, :, day] = books.stock
    books.in_transfer[:, day] = np.bincount(books.moving["sku_index"].to_numpy(np.int64),
                                            weights=books.moving["qty"].to_numpy(float),
                                            minlength=n_skus)
    books.on_order[:, day] = np.bincount(books.open_lines["sku_index"].to_numpy(dtype=np.int64),
                                         weights=books.open_lines["qty"].to_numpy(dtype=float),
                                         minlength=n_skus)


def replay(world: World, policy: Policy, start_stock: np.ndarray) -> Replay:
    """Run ``policy`` over every day of ``world`` from ``start_stock`` units on hand (per
    SKU: all in the main pool; or per SKU and pool)."""
    books = _open_books(world, start_stock)
    opening = books.stock.sum(axis=1)
    reviews = {int(day): r for r, day in enumerate(world.review_days)}
    for day in range(world.n_days):
        _receive(world, books, day)
        if day in reviews:
            _review(world, books, policy, reviews[day], day)
        _serve_day(world, books, day)
        _close_day(world, books, day)
    orders = pd.concat(books.lines, ignore_index=True) if books.lines else _no_lines()
    transfers = (pd.concat(books.transfers, ignore_index=True) if books.transfers
                 else _no_transfers())
    return Replay(opening, books.served, books.short, books.received, books.on_hand,
                  books.on_order, orders, books.restocked, books.in_transfer,
                  books.pool_on_hand, books.returned, transfers)


def _schedule(arrivals: np.ndarray, lines: pd.DataFrame, n_days: int) -> None:
    """Add ``lines`` to ``arrivals`` (sku, pool, day) on their arrival day (after the last
    day: the last column, never received)."""
    np.add.at(arrivals, (lines["sku_index"].to_numpy(dtype=np.int64),
                         lines["pool_index"].to_numpy(dtype=np.int64),
                         np.minimum(lines["arrival_day"].to_numpy(dtype=np.int64), n_days)),
              lines["qty"].to_numpy(dtype=float))


def _order_lines(world: World, review: int, day: int, qty: np.ndarray) -> pd.DataFrame:
    ordered, pool = np.nonzero(qty > 0)
    supplier = world.supplier[ordered]
    return pd.DataFrame({
        "review": review,
        "order_day": day,
        "sku_index": ordered.astype(np.int64),
        "supplier_index": supplier.astype(np.int64),
        "qty": qty[ordered, pool],
        "expected_day": world.booked(pool, day + world.expected_lead_days[supplier]),
        "arrival_day": world.booked(pool, day + world.lead_days[review, supplier]),
        "pool_index": pool.astype(np.int64),
    }, columns=ORDER_LINE_COLUMNS)
