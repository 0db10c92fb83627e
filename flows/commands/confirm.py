"""``replenish confirm --file REPLY``: record a supplier's answer to its purchase orders.

``REPLY`` is the PO file sent (``.xlsx`` or ``.csv``) with ``confirmed_qty`` and
``confirmed_date`` filled in, or a CSV naming each line (``line_id``, or ``po_number`` with
``line`` or ``sku``); see :mod:`flows.storage.replies`. A reply with any problem records
nothing and names every problem (file, row, column, expected), exit code 2.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from flows.commands.args import add_config
from flows.commands.orders import actor, add_actor, describe_lines, open_book
from flows.config import Settings
from flows.i18n import language
from flows.storage.replies import ingest_reply

__all__ = ["HELP", "add_arguments", "run"]

HELP = "Record a supplier's reply: confirmed quantities and dates per purchase order line."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config(parser)
    parser.add_argument("--file", type=Path, required=True, metavar="REPLY",
                        help="The supplier's filled-in PO file, or a CSV of line, "
                             "confirmed_qty, confirmed_date.")
    add_actor(parser)


def run(args: argparse.Namespace, settings: Settings) -> int:
    lang = language(settings.locale)
    with open_book(settings) as book:
        matched = ingest_reply(book, args.file, actor(args))
        lines = book.lines(line_ids=matched["line_id"])
    print(lang.gettext("{count} line(s) answered in {file}:", count=len(matched),
                       file=args.file.name))
    print(describe_lines(lines, lang))
    short = lines[lines["confirmed_qty"] < lines["qty"]]
    for line, sku, confirmed, qty in zip(short["line_id"], short["sku"],
                                         short["confirmed_qty"], short["qty"], strict=True):
        print(lang.gettext("  short: {line} {sku} confirmed {confirmed} of {qty}", line=line,
                           sku=sku, confirmed=lang.number(float(confirmed)),
                           qty=lang.number(float(qty))))
    return 0
