"""The per-run visual report: ``report.html``, self-contained, readable offline."""

from flows.outbound.report.accuracy import ACCURACY_COLUMNS, PreviousForecast, recent_accuracy
from flows.outbound.report.build import ReportOptions, at_risk_skus, render_report, write_report
from flows.outbound.report.history import stored_forecasts
from flows.outbound.report.inputs import ReportInputs, check_inputs, report_inputs

__all__ = [
    "ACCURACY_COLUMNS",
    "PreviousForecast",
    "ReportInputs",
    "ReportOptions",
    "at_risk_skus",
    "check_inputs",
    "recent_accuracy",
    "render_report",
    "report_inputs",
    "stored_forecasts",
    "write_report",
]
