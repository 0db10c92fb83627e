"""``replenish approve``: approve (or reject) proposed purchase order lines, with edits.

Without a selection it lists the lines awaiting approval and changes nothing. ``--qty`` and
``--date`` edit lines first (recorded as edits: the proposed values stay beside them).
"""

from __future__ import annotations

import argparse
from datetime import date

from flows.commands.args import add_config
from flows.commands.orders import actor, add_actor, describe_lines, open_book
from flows.config import Settings
from flows.errors import UserError
from flows.i18n import language
from flows.storage.orderbook import EDITABLE, OrderBook

__all__ = ["HELP", "add_arguments", "run"]

HELP = "Approve or reject proposed purchase order lines (per line or per supplier), with edits."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config(parser)
    parser.add_argument("--supplier", action="append", default=[], metavar="SUPPLIER",
                        help="Every proposed line of this supplier (repeatable).")
    parser.add_argument("--line", action="append", default=[], metavar="LINE_ID",
                        help="This line, e.g. PO-20250302-S1-001 (repeatable).")
    parser.add_argument("--all", action="store_true", help="Every proposed line.")
    parser.add_argument("--reject", action="store_true",
                        help="Reject the selected lines instead of approving them.")
    parser.add_argument("--qty", action="append", default=[], metavar="LINE_ID=UNITS",
                        help="Change a line's quantity before deciding (repeatable).")
    parser.add_argument("--date", action="append", default=[], metavar="LINE_ID=YYYY-MM-DD",
                        help="Change a line's delivery date before deciding (repeatable).")
    add_actor(parser)


def _pairs(texts: list[str], option: str, example: str) -> list[tuple[str, str]]:
    pairs = []
    for text in texts:
        line, sep, value = text.rpartition("=")
        if not sep or not line or not value:
            raise UserError(f"{option} {text}: expected LINE_ID=VALUE, e.g. {example}")
        pairs.append((line, value))
    return pairs


def _edit(book: OrderBook, args: argparse.Namespace, who: str) -> None:
    for line, value in _pairs(args.qty, "--qty", "PO-20250302-S1-001=96"):
        try:
            qty = float(value)
        except ValueError as err:
            raise UserError(f"--qty {line}={value}: expected a number of units") from err
        book.edit(line, who, qty=qty)
    for line, value in _pairs(args.date, "--date", "PO-20250302-S1-001=2025-03-20"):
        try:
            day = date.fromisoformat(value)
        except ValueError as err:
            raise UserError(f"--date {line}={value}: expected a date YYYY-MM-DD") from err
        book.edit(line, who, delivery=day)


def _selected(book: OrderBook, args: argparse.Namespace) -> list[str]:
    statuses = EDITABLE if args.reject else ("proposed",)
    chosen = list(args.line)
    if args.all or args.supplier:
        lines = book.lines(statuses=statuses)
        if args.supplier:
            lines = lines[lines["supplier"].isin(args.supplier)]
        chosen += lines["line_id"].tolist()
    return list(dict.fromkeys(chosen))


def run(args: argparse.Namespace, settings: Settings) -> int:
    lang = language(settings.locale)
    who = actor(args)
    with open_book(settings) as book:
        _edit(book, args, who)
        chosen = _selected(book, args)
        if not chosen:
            waiting = book.lines(statuses=["proposed"])
            print(lang.gettext("Nothing approved (give --supplier, --line or --all). Lines "
                               "awaiting approval: {count}", count=len(waiting)))
            if len(waiting):
                print(describe_lines(waiting, lang))
            return 0
        book.decide(chosen, "rejected" if args.reject else "approved", who)
        lines = book.lines(line_ids=chosen)
    message = ("{count} line(s) rejected by {who}:" if args.reject
               else "{count} line(s) approved by {who}:")
    print(lang.gettext(message, count=len(chosen), who=who))
    print(describe_lines(lines, lang))
    return 0
