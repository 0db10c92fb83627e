"""``replenish ui``: the planner's workbench in a browser, served from the run store."""

from __future__ import annotations

import argparse

from flows.commands.args import add_config, positive_int
from flows.config import Settings
from flows.i18n import language

__all__ = ["HELP", "add_arguments", "run"]

HELP = ("Serve the workbench: alerts, orders with their explanations, edit, approve, send and "
        "confirmations, in a browser (loopback by default).")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from flows.workbench.serve import DEFAULT_PORT

    add_config(parser)
    parser.add_argument("--host", default="127.0.0.1",
                        help="Address to listen on (default 127.0.0.1; any other address "
                             "requires a login from the environment).")
    parser.add_argument("--port", type=positive_int, default=DEFAULT_PORT,
                        help=f"Port (default {DEFAULT_PORT}).")


def run(args: argparse.Namespace, settings: Settings) -> int:
    from flows.workbench.serve import workbench_server

    server = workbench_server(settings, args.host, args.port)
    shown = f"[{args.host}]" if ":" in args.host else args.host
    print(language(settings.locale).gettext(
        "Workbench on http://{host}:{port}/ (Ctrl+C to stop)", host=shown, port=args.port),
        flush=True)
    server.run()
    return 0
