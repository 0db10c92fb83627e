"""Map the public retail datasets in ``../shared/data`` to the project's data contract.

Rossmann (daily): one sku per store, a single channel ``store``. ``Promo`` days become
promotions, state and school holidays become holiday events, and days a store was closed (or
absent from the data, as in the 2014 gap of some stores) become closure events for that sku, so
their zeros are not read as low demand.

Walmart (weekly, weeks ending Friday): one sku per department, one channel per store. Negative
sales are clipped to 0. Store-wide markdowns (MarkDown1-5 summed) become promotions of kind
``markdown`` for that store's channel; the dollar amount is kept in the extra column
``markdown_amount`` and mapped to ``discount`` as ``amount / (amount + baseline)`` where the
baseline is the store's median weekly sales before markdowns were recorded (Nov 2011), so the
depth is a share in 0-1 that grows with the amount. Holiday weeks become holiday events.

Cheese (weekly, weeks ending Thursday; bayesm's ``cheese``): one sku ``cheese``, one channel
per retailer (the source's ``channel`` identifier), so one series per retailer. ``PRICE`` goes
to the ``prices`` table (planned with the display, hence known ahead). Weeks with ``DISP > 0``
become promotions of kind ``display`` spanning the week (Friday to Thursday) for that
retailer; ``discount`` is the price cut against the retailer's usual price, ``1 - PRICE /
median PRICE`` (0 when the price is at or above it), and the display share itself is kept in
the extra column ``display_share``. 65% of the weeks have some display, 12% above 0.3: the
share, not the flag, carries most of the lift.

Every mapping adds placeholder ``products`` and ``suppliers`` tables so the folder parses as a
whole dataset. ``python -m benchmarks.datasets`` writes the folders under
``benchmarks/results/data/``.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import pandas as pd

from replenishment.contract import TABLE_NAMES, Dataset, parse_dataset

__all__ = [
    "CHEESE_SKU",
    "DEFAULT_DATA_ROOT",
    "DEFAULT_OUT_ROOT",
    "ROSSMANN_CHANNEL",
    "cheese_tables",
    "date_runs",
    "load_contract_folder",
    "mapped_tables",
    "read_cheese",
    "read_rossmann",
    "read_walmart",
    "rossmann_tables",
    "validate_tables",
    "walmart_tables",
    "write_contract_folder",
]

DEFAULT_DATA_ROOT = Path("../shared/data")
DEFAULT_OUT_ROOT = Path("benchmarks/results/data")
ROSSMANN_CHANNEL = "store"
CHEESE_SKU = "cheese"
_STATE_HOLIDAYS = {"a": "public holiday", "b": "Easter", "c": "Christmas"}
_WALMART_HOLIDAYS = {2: "Super Bowl", 9: "Labor Day", 11: "Thanksgiving", 12: "Christmas"}
_MARKDOWNS_START = pd.Timestamp("2011-11-01")
_WEEK = pd.Timedelta(days=7)


def date_runs(
    frame: pd.DataFrame, keys: Sequence[str], date: str = "date", step: str = "D"
) -> pd.DataFrame:
    """Collapse rows of consecutive ``date`` values (``step`` apart) sharing ``keys`` into
    ``start``/``end`` ranges, one row per run. Missing keys (NaN) form their own group."""
    columns = [*keys, "start", "end"]
    if frame.empty:
        return pd.DataFrame(columns=columns)
    ordered = frame.sort_values([*keys, date]).reset_index(drop=True)
    same_key = (ordered[list(keys)].fillna("") == ordered[list(keys)].shift().fillna("")).all(
        axis=1
    )
    offset = pd.tseries.frequencies.to_offset(step)
    contiguous = ordered[date] == ordered[date].shift() + offset
    run = (~(same_key & contiguous)).cumsum()
    grouped = ordered.groupby(run, sort=False)
    runs = grouped[list(keys)].first()
    runs["start"] = grouped[date].min()
    runs["end"] = grouped[date].max()
    return runs.reset_index(drop=True)[columns]


def _store_sku(store: pd.Series) -> pd.Series:
    return "store_" + store.astype(int).astype(str).str.zfill(4)


def _dept_sku(dept: pd.Series) -> pd.Series:
    return "dept_" + dept.astype(int).astype(str).str.zfill(2)


def read_rossmann(root: Path = DEFAULT_DATA_ROOT, stores: Iterable[int] | None = None) -> tuple[
    pd.DataFrame, pd.DataFrame
]:
    """The raw Rossmann ``train.csv`` and ``store.csv``, optionally limited to some stores."""
    folder = Path(root) / "rossmann"
    train = pd.read_csv(folder / "train.csv", parse_dates=["Date"],
                        dtype={"StateHoliday": str})
    store = pd.read_csv(folder / "store.csv")
    if stores is not None:
        keep = list(stores)
        train = train[train["Store"].isin(keep)]
        store = store[store["Store"].isin(keep)]
    return train.reset_index(drop=True), store.reset_index(drop=True)


def read_walmart(root: Path = DEFAULT_DATA_ROOT, stores: Iterable[int] | None = None) -> tuple[
    pd.DataFrame, pd.DataFrame
]:
    """The raw Walmart ``train.csv`` and ``features.csv``, optionally limited to some stores."""
    folder = Path(root) / "walmart"
    train = pd.read_csv(folder / "train.csv", parse_dates=["Date"])
    features = pd.read_csv(folder / "features.csv", parse_dates=["Date"])
    if stores is not None:
        keep = list(stores)
        train = train[train["Store"].isin(keep)]
        features = features[features["Store"].isin(keep)]
    return train.reset_index(drop=True), features.reset_index(drop=True)


def read_cheese(root: Path = DEFAULT_DATA_ROOT, retailers: Iterable[str] | None = None
                ) -> pd.DataFrame:
    """The raw ``cheese.csv`` (``RETAILER, channel, date, VOLUME, DISP, PRICE``), optionally
    limited to some retailers (by their ``channel`` identifier)."""
    frame = pd.read_csv(Path(root) / "cheese" / "cheese.csv", parse_dates=["date"])
    if retailers is not None:
        frame = frame[frame["channel"].isin(list(retailers))]
    return frame.sort_values(["channel", "date"]).reset_index(drop=True)


def _placeholder_supply(skus: pd.Series, categories: pd.Series | str, supplier: str) -> dict[
    str, pd.DataFrame
]:
    category = categories if isinstance(categories, str) else categories.to_numpy()
    products = pd.DataFrame({
        "sku": skus.to_numpy(), "supplier": supplier, "unit_cost": 1.0, "case_pack": 1,
        "moq": 0, "category": category,
    })
    suppliers = pd.DataFrame({"supplier": [supplier], "lead_time_days": [7.0],
                              "review_days": [7.0]})
    return {"products": products, "suppliers": suppliers}


def _rossmann_closures(train: pd.DataFrame) -> pd.DataFrame:
    """Closed days and days a store is absent from the data, as closure ranges per sku."""
    days = pd.date_range(train["Date"].min(), train["Date"].max())
    full = pd.MultiIndex.from_product([pd.Index(train["Store"].unique()), days],
                                      names=["Store", "Date"])
    status = train.set_index(["Store", "Date"])["Open"].reindex(full).reset_index()
    status["name"] = status["Open"].map({0: "closed"}).fillna("no data")
    closed = status[status["Open"] != 1]
    closed = closed.assign(sku=_store_sku(closed["Store"]), date=closed["Date"])
    runs = date_runs(closed, ["sku", "name"])
    return runs.assign(kind="closure", channel=ROSSMANN_CHANNEL)


def _rossmann_state_holidays(train: pd.DataFrame) -> pd.DataFrame:
    """State holidays: one all-sku row on days every reporting store has it, else per sku."""
    holiday = train[train["StateHoliday"].isin(list(_STATE_HOLIDAYS))]
    holiday = holiday.assign(name=holiday["StateHoliday"].map(_STATE_HOLIDAYS),
                             sku=_store_sku(holiday["Store"]), date=holiday["Date"])
    reporting = train.groupby("Date")["Store"].nunique()
    having = holiday.groupby(["Date", "name"])["Store"].transform("nunique")
    everywhere = having.to_numpy() == reporting.reindex(holiday["Date"]).to_numpy()
    shared = holiday[everywhere].drop_duplicates(["Date", "name"]).assign(sku=None)
    per_store = holiday[~everywhere]
    runs = pd.concat([date_runs(shared, ["name"]), date_runs(per_store, ["sku", "name"])])
    return runs.assign(kind="holiday")


def rossmann_tables(train: pd.DataFrame, store: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The contract tables of the Rossmann data (see the module docstring)."""
    opened = train[train["Open"] == 1]
    sales = pd.DataFrame({
        "date": opened["Date"], "sku": _store_sku(opened["Store"]),
        "channel": ROSSMANN_CHANNEL, "units": opened["Sales"].astype(float),
    })
    promo = train[train["Promo"] == 1]
    promotions = date_runs(
        promo.assign(sku=_store_sku(promo["Store"]), date=promo["Date"]), ["sku"]
    ).assign(kind="promo", channel=ROSSMANN_CHANNEL)
    school = train[train["SchoolHoliday"] == 1]
    school_runs = date_runs(
        school.assign(sku=_store_sku(school["Store"]), date=school["Date"]), ["sku"]
    ).assign(name="school holiday", kind="holiday")
    events = pd.concat(
        [_rossmann_closures(train), _rossmann_state_holidays(train), school_runs],
        ignore_index=True,
    )[["start", "end", "name", "kind", "channel", "sku"]]
    store = store[store["Store"].isin(train["Store"].unique())]
    supply = _placeholder_supply(
        _store_sku(store["Store"]), "type_" + store["StoreType"].astype(str), "rossmann_dc"
    )
    return {"sales": sales.reset_index(drop=True), "promotions": promotions, "events": events,
            **supply}


def _walmart_markdowns(features: pd.DataFrame, sales: pd.DataFrame) -> pd.DataFrame:
    columns = [f"MarkDown{i}" for i in range(1, 6)]
    amount = features[columns].clip(lower=0).sum(axis=1, min_count=1)
    marked = features.assign(markdown_amount=amount)[amount > 0]
    before = sales[sales["date"] < _MARKDOWNS_START]
    baseline = before.groupby(["channel", "date"])["units"].sum().groupby("channel").median()
    channel = "store_" + marked["Store"].astype(int).astype(str).str.zfill(2)
    base = channel.map(baseline).to_numpy()
    return pd.DataFrame({
        "start": marked["Date"] - pd.Timedelta(days=6), "end": marked["Date"],
        "kind": "markdown", "channel": channel,
        "discount": (marked["markdown_amount"] / (marked["markdown_amount"] + base)).round(4),
        "markdown_amount": marked["markdown_amount"].round(2),
    }).dropna(subset=["discount"]).reset_index(drop=True)


def walmart_tables(train: pd.DataFrame, features: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The contract tables of the Walmart data (see the module docstring).

    Dates are the Fridays that end each week (pandas ``W-FRI``); signals span Saturday to
    Friday so a weekly engine maps them to the same week.
    """
    sales = pd.DataFrame({
        "date": train["Date"], "sku": _dept_sku(train["Dept"]),
        "channel": "store_" + train["Store"].astype(int).astype(str).str.zfill(2),
        "units": train["Weekly_Sales"].clip(lower=0).astype(float),
    }).reset_index(drop=True)
    weeks = features.loc[features["IsHoliday"].astype(bool), "Date"].drop_duplicates()
    events = pd.DataFrame({
        "start": weeks - pd.Timedelta(days=6), "end": weeks, "kind": "holiday",
        "name": weeks.dt.month.map(_WALMART_HOLIDAYS).fillna("holiday"),
    }).sort_values("start").reset_index(drop=True)
    skus = pd.Series(sorted(sales["sku"].unique()))
    supply = _placeholder_supply(skus, "department", "walmart_dc")
    return {"sales": sales, "promotions": _walmart_markdowns(features, sales),
            "events": events, **supply}


def cheese_tables(raw: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The contract tables of the cheese data (see the module docstring)."""
    channel = raw["channel"].astype(str)
    sales = pd.DataFrame({"date": raw["date"], "sku": CHEESE_SKU, "channel": channel,
                          "units": raw["VOLUME"].astype(float)}).reset_index(drop=True)
    prices = pd.DataFrame({"date": raw["date"], "sku": CHEESE_SKU, "channel": channel,
                           "price": raw["PRICE"].astype(float).round(6)}).reset_index(drop=True)
    usual = raw.groupby("channel")["PRICE"].transform("median")
    shown = raw["DISP"] > 0
    cut = (1.0 - raw["PRICE"] / usual).clip(lower=0.0, upper=1.0)
    promotions = pd.DataFrame({
        "start": raw.loc[shown, "date"] - pd.Timedelta(days=6), "end": raw.loc[shown, "date"],
        "kind": "display", "sku": CHEESE_SKU, "channel": channel[shown],
        "discount": cut[shown].round(4), "display_share": raw.loc[shown, "DISP"].round(4),
    }).reset_index(drop=True)
    supply = _placeholder_supply(pd.Series([CHEESE_SKU]), "cheese", "cheese_dc")
    return {"sales": sales, "promotions": promotions, "prices": prices, **supply}


def mapped_tables(name: str, root: Path = DEFAULT_DATA_ROOT) -> dict[str, pd.DataFrame]:
    """The contract tables of dataset ``name`` (rossmann, walmart or cheese) read from
    ``root``."""
    if name == "rossmann":
        return rossmann_tables(*read_rossmann(root))
    if name == "walmart":
        return walmart_tables(*read_walmart(root))
    if name == "cheese":
        return cheese_tables(read_cheese(root))
    raise ValueError(f"unknown dataset {name!r}; expected rossmann, walmart or cheese")


def validate_tables(tables: Mapping[str, pd.DataFrame], timezone: str = "UTC") -> Dataset:
    """Parse ``tables`` with the project's contract; raises ``DataContractError`` if invalid."""
    raw = {name: (frame, f"{name}.csv") for name, frame in tables.items()}
    return parse_dataset(raw, timezone=timezone, require=("sales", "products", "suppliers"))


def write_contract_folder(tables: Mapping[str, pd.DataFrame], folder: Path) -> Path:
    """Write each table as ``NAME.csv`` (ISO dates) into ``folder``, creating it."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name, frame in tables.items():
        frame.to_csv(folder / f"{name}.csv", index=False, date_format="%Y-%m-%d")
    return folder


def load_contract_folder(folder: Path, timezone: str = "UTC") -> Dataset:
    """Read the ``NAME.csv`` / ``NAME.parquet`` tables of ``folder`` and parse them."""
    folder = Path(folder)
    raw: dict[str, tuple[pd.DataFrame, str]] = {}
    for name in TABLE_NAMES:
        csv, parquet = folder / f"{name}.csv", folder / f"{name}.parquet"
        if parquet.exists():
            raw[name] = (pd.read_parquet(parquet), parquet.name)
        elif csv.exists():
            raw[name] = (pd.read_csv(csv, dtype=str, keep_default_na=False), csv.name)
    return parse_dataset(raw, timezone=timezone)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA_ROOT)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT_ROOT)
    args = parser.parse_args(argv)
    for name in ("rossmann", "walmart", "cheese"):
        tables = mapped_tables(name, args.data)
        validate_tables(tables)
        folder = write_contract_folder(tables, args.out / name)
        print(f"{name}: {', '.join(f'{t} {len(f)}' for t, f in tables.items())} -> {folder}")


if __name__ == "__main__":
    main()
