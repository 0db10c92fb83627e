"""``replenish send``: send each supplier the purchase orders whose lines are approved.

Only approved lines are ever sent (:mod:`flows.outbound.orders`); in dry run the messages go
to the outbox folder (``<output_dir>/outbox``).
"""

from __future__ import annotations

import argparse

from flows.commands.args import add_config
from flows.commands.orders import actor, add_actor
from flows.config import Settings
from flows.i18n import language
from flows.outbound.orders import send_approved
from flows.storage.store import RunStore

__all__ = ["HELP", "add_arguments", "run"]

HELP = "Send the approved purchase order lines to their suppliers (nothing unapproved)."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config(parser)
    parser.add_argument("--supplier", action="append", default=None, metavar="SUPPLIER",
                        help="Only this supplier's approved lines (repeatable; default: all).")
    add_actor(parser)


def run(args: argparse.Namespace, settings: Settings) -> int:
    lang = language(settings.locale)
    with RunStore(settings.store_url) as store:
        report = send_approved(settings, store, actor(args), suppliers=args.supplier)
    if not report.deliveries:
        print(lang.gettext("Nothing to send: no approved line waits to be sent."))
        return 0
    for result in report.deliveries:
        print(lang.gettext("  {supplier}: {status} {detail}", supplier=result.supplier,
                           status=lang.gettext(result.status), detail=result.message))
    print(lang.gettext("{count} line(s) sent.", count=len(report.sent_lines)))
    return 0 if all(r.ok for r in report.deliveries) else 1
