"""What the order commands (``approve``, ``send``, ``confirm``) share: who acts, the order
book of the config's run store, and the lines shown in the terminal."""

from __future__ import annotations

import argparse
import getpass
from collections.abc import Iterator
from contextlib import contextmanager

import pandas as pd

from flows.config import Settings
from flows.i18n import Language
from flows.storage.orderbook import OrderBook
from flows.storage.store import RunStore

__all__ = ["actor", "add_actor", "describe_lines", "open_book"]


def add_actor(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--by", dest="actor", default=None, metavar="NAME",
                        help="Who does this, recorded with every line it changes "
                             "(default: the login name).")


def actor(args: argparse.Namespace) -> str:
    """The planner acting: ``--by``, else the login name."""
    if args.actor:
        return str(args.actor)
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "planner"


@contextmanager
def open_book(settings: Settings) -> Iterator[OrderBook]:
    """The order book of the config's run store, open for the block."""
    with RunStore(settings.store_url) as store:
        yield OrderBook(store)


def describe_lines(lines: pd.DataFrame, lang: Language) -> str:
    """One line of text per order line: id, supplier, SKU, quantity, date, status."""
    t = lang.gettext
    return "\n".join(
        "  " + t("{line}  {supplier}  {sku}  {qty} units  delivery {date}  {status}",
                 line=line, supplier=supplier, sku=sku, qty=lang.number(float(qty)),
                 date=str(day)[:10], status=t(str(status)))
        for line, supplier, sku, qty, day, status in zip(
            lines["line_id"], lines["supplier"], lines["sku"], lines["qty"],
            lines["delivery_date"], lines["status"], strict=True))
