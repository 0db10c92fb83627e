"""The workbench web application: server-rendered pages (Starlette + Jinja2, no JavaScript)
over the run store.

Pages: ``/`` (alerts by severity, suppliers, exceptions, change since the previous run) and
``/supplier?name=S`` (the supplier's PO lines with their explanations, edit, approve or
reject per line or for the supplier, send, confirmations, order forecast). Every action is a
POST form that redirects back (303) with a message; a refused action (a line already sent,
a quantity that is not whole cases) shows the same sentence the command line prints.

Forms are read as ``application/x-www-form-urlencoded`` by the standard library, so no
multipart parser is needed. One run store is opened for the application's lifetime.
"""

from __future__ import annotations

import contextlib
import dataclasses
import getpass
import hmac
from collections.abc import AsyncIterator, Callable
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote

import pandas as pd
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from flows.config import Settings
from flows.errors import UserError
from flows.i18n import KIND_LABELS, LOCALES, SEVERITY_LABELS, Language, language
from flows.outbound.orders import send_approved
from flows.storage.orderbook import OrderBook
from flows.storage.store import RunStore
from flows.workbench.security import COOKIE, Credentials, Session, Sessions, same_origin
from flows.workbench.views import (
    EXPLANATION_COLUMNS,
    compare_page,
    overview,
    supplier_page,
)
from replenishment.messages import render_frame

__all__ = ["EXCEPTION_LABELS", "STATUS_LABELS", "create_app"]

_TEMPLATES = Path(__file__).with_name("templates")
# Lifecycle statuses and exception kinds as planners say them (catalog message ids).
STATUS_LABELS = {
    "proposed": "proposed", "approved": "approved", "rejected": "rejected",
    "withdrawn": "withdrawn", "sent": "sent", "confirmed": "confirmed",
    "partly_confirmed": "partly confirmed", "declined": "declined by supplier",
    "received": "received",
}
EXCEPTION_LABELS = {
    "po_short": "confirmed short", "po_over": "confirmed over", "po_date_slipped":
    "date slipped", "po_late": "late", "po_unconfirmed": "unconfirmed",
    "commitment_shortfall": "commitment shortfall", "commitment_over": "over-commitment",
    "forecast_move": "forecast moved",
    "forecast_error": "forecast error",
}
_EXPLANATION_LABELS = {
    "coverage_start": "covers from", "coverage_end": "covers to",
    "demand_before_arrival": "demand before arrival", "stock_at_arrival": "stock at arrival",
    "receipts_in_window": "arriving in window", "protection_demand": "demand to cover",
    "safety_stock": "safety stock", "need": "need", "build_ahead": "built ahead",
    "case_rounding": "case rounding", "moq_lift": "MOQ lift",
    "min_value_lift": "min. order value lift", "cut": "cut", "cut_reason": "cut reason",
}


class _Context:
    """Everything a request handler needs: settings, the store, sessions, templates."""

    def __init__(self, settings: Settings, credentials: Credentials | None) -> None:
        self.settings = settings
        self.credentials = credentials
        self.sessions = Sessions()
        self.store: RunStore | None = None
        self.templates = Environment(loader=FileSystemLoader(_TEMPLATES),
                                     autoescape=select_autoescape(["html"]))

    @property
    def book(self) -> OrderBook:
        assert self.store is not None
        return OrderBook(self.store)

    def session(self, request: Request) -> tuple[str, Session]:
        return self.sessions.get(request.cookies.get(COOKIE))

    def lang(self, session: Session) -> Language:
        return language(session.locale or self.settings.locale)

    def render(self, request: Request, token: str, session: Session, name: str,
               **values: Any) -> HTMLResponse:
        lang = self.lang(session)
        flash, session.flash = list(session.flash), []
        html = self.templates.get_template(name).render(
            t=lang.gettext, lang=lang, locale=lang.locale, locales=LOCALES,
            brand=self.settings.brand, session=session, flash=flash, csrf=session.csrf,
            login=self.credentials is not None, money=_money(lang), number=_number(lang),
            day=_day, quote=quote, status_label=lambda s: lang.gettext(
                STATUS_LABELS.get(str(s), str(s))),
            kind_label=lambda k: lang.gettext(_kind(str(k))),
            severity_label=lambda s: lang.gettext(SEVERITY_LABELS.get(str(s), str(s))),
            explanation_label=lambda c: lang.gettext(_EXPLANATION_LABELS.get(str(c), str(c))),
            path=request.url.path, **values)
        response = HTMLResponse(html)
        _set_cookie(response, token)
        return response


def _spoken(frame: pd.DataFrame, lang: Language) -> pd.DataFrame:
    """Alerts or exceptions with their sentences written again in the page's language (the
    store keeps them in the run's; the message id and parameters give either)."""
    return render_frame(frame, lang.translations.gettext)


def _kind(kind: str) -> str:
    return KIND_LABELS.get(kind) or EXCEPTION_LABELS.get(kind) or kind


def _set_cookie(response: Response, token: str) -> None:
    response.set_cookie(COOKIE, token, httponly=True, samesite="strict", path="/")


def _blank(value: Any) -> bool:
    """Whether a cell is empty (None, NaN, NaT, NA); a list or text never is."""
    if value is None:
        return True
    if isinstance(value, str | list | tuple):
        return False
    return bool(pd.isna(value))


def _money(lang: Language) -> Callable[[Any], str]:
    def money(value: Any) -> str:
        return "" if _blank(value) else lang.money(float(value), 0)

    return money


def _number(lang: Language) -> Callable[[Any], str]:
    def number(value: Any) -> str:
        if isinstance(value, str):
            return value
        return "" if _blank(value) else lang.number(float(value), 1)

    return number


def _day(value: Any) -> str:
    return "" if _blank(value) else str(pd.Timestamp(value).date())


async def _form(request: Request) -> dict[str, str]:
    body = (await request.body()).decode("utf-8", errors="replace")
    return {k: v[-1] for k, v in parse_qs(body, keep_blank_values=True).items()}


def _redirect(url: str, token: str) -> RedirectResponse:
    response = RedirectResponse(url, status_code=303)
    _set_cookie(response, token)
    return response


def create_app(settings: Settings, credentials: Credentials | None = None) -> Starlette:
    """The workbench over the run store of ``settings``; ``credentials`` (None on loopback)
    is the one login it then asks for."""
    ctx = _Context(settings, credentials)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        ctx.store = RunStore(settings.store_url)
        try:
            yield
        finally:
            ctx.store.close()

    def page(handler: Callable[..., Any]) -> Callable[[Request], Any]:
        async def endpoint(request: Request) -> Response:
            token, session = ctx.session(request)
            if "lang" in request.query_params and request.query_params["lang"] in LOCALES:
                session.locale = request.query_params["lang"]
            if ctx.credentials is not None and session.user is None:
                return _redirect("/login", token)
            result: Response = await handler(request, token, session)
            return result

        return endpoint

    async def home(request: Request, token: str, session: Session) -> Response:
        assert ctx.store is not None
        view = await run_in_threadpool(overview, ctx.store)
        lang = ctx.lang(session)
        view = dataclasses.replace(view, alerts=_spoken(view.alerts, lang),
                                   exceptions=_spoken(view.exceptions, lang))
        return ctx.render(request, token, session, "overview.html", view=view)

    async def supplier(request: Request, token: str, session: Session) -> Response:
        assert ctx.store is not None
        name = request.query_params.get("name", "")
        view = await run_in_threadpool(supplier_page, ctx.store, name)
        if view is None:
            return PlainTextResponse(ctx.lang(session).gettext(
                "No supplier {supplier} in today's plan.", supplier=name), status_code=404)
        view = dataclasses.replace(view, exceptions=_spoken(view.exceptions, ctx.lang(session)))
        return ctx.render(request, token, session, "supplier.html", view=view,
                          explained=EXPLANATION_COLUMNS)

    async def compare(request: Request, token: str, session: Session) -> Response:
        assert ctx.store is not None
        other = request.query_params.get("run") or None
        view = await run_in_threadpool(compare_page, ctx.store, other)
        if view is None:
            return _redirect("/", token)
        return ctx.render(request, token, session, "compare.html", view=view)

    def action(work: Callable[[dict[str, str], str, Language], str]) -> Callable[..., Any]:
        async def endpoint(request: Request) -> Response:
            token, session = ctx.session(request)
            form = await _form(request)
            allowed = same_origin(request.headers.get("origin"), request.headers.get("host"))
            if not allowed or not form.get("csrf") or not _same(form["csrf"], session.csrf):
                return PlainTextResponse("forbidden: the form did not come from this "
                                         "workbench (CSRF check)", status_code=403)
            if ctx.credentials is not None and session.user is None:
                return _redirect("/login", token)
            who = session.user or _local_user()
            lang = ctx.lang(session)
            try:
                session.flash.append(await run_in_threadpool(work, form, who, lang))
            except UserError as err:
                session.flash.append(lang.gettext("Refused: {reason}", reason=str(err)))
            back = form.get("back", "/")
            return _redirect(back if back.startswith("/") and not back.startswith("//")
                             else "/", token)

        return endpoint

    def edit(form: dict[str, str], who: str, lang: Language) -> str:
        line = form.get("line_id", "")
        qty, when = form.get("qty", "").strip(), form.get("delivery", "").strip()
        try:
            units = float(qty) if qty else None
            day = date.fromisoformat(when) if when else None
        except ValueError as err:
            raise UserError(lang.gettext("line {line}: expected a number of units and a date "
                                         "YYYY-MM-DD", line=line)) from err
        ctx.book.edit(line, who, qty=units, delivery=day)
        return lang.gettext("Line {line} changed by {who}.", line=line, who=who)

    def decide_line(decision: str) -> Callable[[dict[str, str], str, Language], str]:
        def work(form: dict[str, str], who: str, lang: Language) -> str:
            line = form.get("line_id", "")
            ctx.book.decide([line], "approved" if decision == "approved" else "rejected", who)
            return lang.gettext("Line {line} {status} by {who}.", line=line, who=who,
                                status=lang.gettext(STATUS_LABELS[decision]))

        return work

    def decide_supplier(decision: str) -> Callable[[dict[str, str], str, Language], str]:
        def work(form: dict[str, str], who: str, lang: Language) -> str:
            name = form.get("supplier", "")
            statuses = ["proposed"] if decision == "approved" else ["proposed", "approved"]
            lines = ctx.book.lines(supplier=name, statuses=statuses)
            ids = lines["line_id"].tolist()
            if ids:
                ctx.book.decide(ids, "approved" if decision == "approved" else "rejected",
                                who)
            return lang.gettext("{count} line(s) of {supplier} {status} by {who}.",
                                count=len(ids), supplier=name, who=who,
                                status=lang.gettext(STATUS_LABELS[decision]))

        return work

    def send(form: dict[str, str], who: str, lang: Language) -> str:
        assert ctx.store is not None
        name = form.get("supplier", "")
        report = send_approved(settings, ctx.store, who, suppliers=[name])
        if not report.deliveries:
            return lang.gettext("Nothing to send: no approved line waits to be sent.")
        states = ", ".join(f"{r.supplier}: {lang.gettext(r.status)}" for r in report.deliveries)
        return lang.gettext("{count} line(s) sent ({states}).", count=len(report.sent_lines),
                            states=states)

    async def login_page(request: Request) -> Response:
        token, session = ctx.session(request)
        return ctx.render(request, token, session, "login.html")

    async def login(request: Request) -> Response:
        token, session = ctx.session(request)
        form = await _form(request)
        if not _same(form.get("csrf", ""), session.csrf):
            return PlainTextResponse("forbidden (CSRF check)", status_code=403)
        if ctx.credentials is None or not ctx.credentials.check(form.get("user", ""),
                                                                form.get("password", "")):
            session.flash.append(ctx.lang(session).gettext("Wrong user or password."))
            return _redirect("/login", token)
        fresh = ctx.sessions.renew(token)
        ctx.sessions.get(fresh)[1].user = ctx.credentials.user
        return _redirect("/", fresh)

    async def logout(request: Request) -> Response:
        token, session = ctx.session(request)
        form = await _form(request)
        if _same(form.get("csrf", ""), session.csrf):
            ctx.sessions.drop(token)
        return RedirectResponse("/login" if ctx.credentials else "/", status_code=303)

    routes = [
        Route("/", page(home)), Route("/supplier", page(supplier)),
        Route("/compare", page(compare)),
        Route("/line/edit", action(edit), methods=["POST"]),
        Route("/line/approve", action(decide_line("approved")), methods=["POST"]),
        Route("/line/reject", action(decide_line("rejected")), methods=["POST"]),
        Route("/supplier/approve", action(decide_supplier("approved")), methods=["POST"]),
        Route("/supplier/reject", action(decide_supplier("rejected")), methods=["POST"]),
        Route("/supplier/send", action(send), methods=["POST"]),
        Route("/login", login_page), Route("/login", login, methods=["POST"]),
        Route("/logout", logout, methods=["POST"]),
    ]
    return Starlette(routes=routes, lifespan=lifespan)


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


def _local_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "planner"
