"""The planner's workbench (``replenish ui``): review, edit, approve and send the day's
orders, and follow the suppliers' confirmations, in a browser; see :mod:`flows.workbench.app`
and ``docs/workbench.md``."""

from flows.workbench.app import create_app
from flows.workbench.serve import serve_workbench

__all__ = ["create_app", "serve_workbench"]
