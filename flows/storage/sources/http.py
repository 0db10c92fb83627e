"""Signals (promotion calendar, livestream schedule) from an HTTP JSON API.

Expected API: for each table, ``GET {base_url}/{table}`` (e.g. ``.../promotions``) returns one
page of rows with the contract's column names, and the URL of the next page::

    {"items": [{"start": "2025-06-01", "end": "2025-06-18", "kind": "618", "discount": 0.2}],
     "next": "/promotions?page=2"}

``next`` is absolute or relative to the page it came from, and ``null`` (or absent) on the last
page. A bare JSON list is accepted as a single page. Rows of a table are numbered as a
spreadsheet would show them (the first item is row 2), and its source is named ``api:TABLE``.

The request carries ``Authorization: Bearer <token>`` when the environment variable named by
the caller holds a token; the token is never logged or put in a message. Connection errors,
timeouts, HTTP 5xx and 429 are retried with exponential backoff (``Retry-After`` honoured).

The last good data is not lost: after a table is fetched completely and passes the contract's
table checks, its rows are saved atomically to ``cache_dir/TABLE.json``. A failed fetch never
touches that file; with ``use_last_good=True`` the caller gets the cached rows and a warning
instead of an error.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import tenacity

from flows.errors import SourceError
from flows.storage.exports import atomic_write
from flows.storage.sources.folder import RawTables
from forecasting.contract import DEMAND_TABLES, DataContractError, parse_table
from replenishment.contract import SUPPLY_TABLES

__all__ = ["SIGNAL_TABLES", "SignalsResult", "fetch_signals"]

SIGNAL_TABLES = ("promotions", "livestreams")
_SPECS = {**DEMAND_TABLES, **SUPPLY_TABLES}
_MAX_PAGES = 10_000
_MAX_WAIT_S = 30.0


@dataclass(frozen=True)
class SignalsResult:
    """Tables read from the API (or its last good cache) and warnings for the user."""

    tables: RawTables
    warnings: list[str] = field(default_factory=list)


class _Transient(Exception):
    """A failure worth retrying (the API may recover): kept apart from final failures."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def _public_url(url: httpx.URL) -> str:
    """The URL as safe to show: no user info, no query string (either may hold a secret)."""
    return str(url.copy_with(username=None, password=None, query=None))


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After", "")
    return float(value) if value.strip().isdigit() else None


def _get_page(client: httpx.Client, url: httpx.URL, token_env: str) -> Any:
    where = _public_url(url)
    try:
        response = client.get(url)
    except httpx.TimeoutException as err:
        raise _Transient(f"{where} did not answer within {client.timeout.read} s") from err
    except httpx.TransportError as err:
        raise _Transient(f"cannot connect to {where} ({type(err).__name__}: {err})") from err
    status = response.status_code
    if status == 429 or status >= 500:
        raise _Transient(f"{where} answered HTTP {status} {response.reason_phrase}",
                         _retry_after(response))
    if status in (401, 403):
        raise SourceError(
            f"{where} refused the request (HTTP {status}): check the bearer token in the "
            f"environment variable {token_env}"
        )
    if status >= 400:
        raise SourceError(f"{where} answered HTTP {status} {response.reason_phrase}")
    try:
        return response.json()
    except ValueError as err:
        raise SourceError(f"{where} did not return JSON ({err})") from err


def _page_rows(payload: Any, where: str) -> tuple[list[dict[str, Any]], str | None]:
    if isinstance(payload, list):
        items, nxt = payload, None
    elif isinstance(payload, dict) and isinstance(payload.get("items"), list):
        items, nxt = payload["items"], payload.get("next")
    else:
        raise SourceError(f"{where} returned JSON of an unexpected shape; expected "
                          '{"items": [...], "next": URL or null} or a list of rows')
    if not all(isinstance(item, dict) for item in items):
        raise SourceError(f"{where}: every item must be a JSON object of column: value")
    if nxt is not None and not isinstance(nxt, str):
        raise SourceError(f"{where}: 'next' must be a URL or null, got {nxt!r}")
    return items, nxt or None


def _wait(backoff_s: float) -> Callable[[tenacity.RetryCallState], float]:
    exponential = tenacity.wait_exponential(multiplier=backoff_s, max=_MAX_WAIT_S)

    def wait(state: tenacity.RetryCallState) -> float:
        err = state.outcome.exception() if state.outcome else None
        if isinstance(err, _Transient) and err.retry_after is not None:
            return min(err.retry_after, _MAX_WAIT_S)
        return exponential(state)

    return wait


def _fetch_rows(
    client: httpx.Client, url: str, token_env: str, retries: int, backoff_s: float
) -> list[dict[str, Any]]:
    """Every row of every page, each page retried on transient failures."""
    retrying = tenacity.Retrying(
        stop=tenacity.stop_after_attempt(retries + 1),
        wait=_wait(backoff_s),
        retry=tenacity.retry_if_exception_type(_Transient),
        reraise=True,
    )
    rows: list[dict[str, Any]] = []
    page: httpx.URL | None = httpx.URL(url)
    seen: set[str] = set()
    while page is not None:
        if str(page) in seen or len(seen) >= _MAX_PAGES:
            raise SourceError(f"{_public_url(page)}: pagination does not end ('next' repeats "
                              "a page already read)")
        seen.add(str(page))
        try:
            payload = retrying(_get_page, client, page, token_env)
        except _Transient as err:
            raise SourceError(f"{err} (gave up after {retries + 1} attempts)") from err
        items, nxt = _page_rows(payload, _public_url(page))
        rows += items
        page = page.join(nxt) if nxt else None
    return rows


def _frame(rows: list[dict[str, Any]], table: str) -> pd.DataFrame:
    if rows:
        return pd.DataFrame.from_records(rows)
    # No rows (e.g. nothing scheduled) is valid: keep the columns so the header checks pass.
    return pd.DataFrame({name: pd.Series(dtype=object) for name in _SPECS[table].columns})


def _save_cache(path: Path, table: str, url: str, rows: list[dict[str, Any]]) -> None:
    document = {"table": table, "url": url, "fetched_at": datetime.now(UTC).isoformat(),
                "items": rows}
    with atomic_write(path, "w") as handle:
        json.dump(document, handle, ensure_ascii=False)


def _load_cache(path: Path) -> dict[str, Any] | None:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return None
    return document if isinstance(document, dict) and isinstance(document.get("items"), list) \
        else None


def fetch_signals(
    base_url: str,
    tables: tuple[str, ...] = SIGNAL_TABLES,
    *,
    cache_dir: str | os.PathLike[str],
    token_env: str = "REPLENISH_SIGNALS_TOKEN",
    timeout_s: float = 10.0,
    retries: int = 3,
    backoff_s: float = 0.5,
    use_last_good: bool = False,
    timezone: str = "Asia/Shanghai",
) -> SignalsResult:
    """Read ``tables`` from the API at ``base_url`` (``GET base_url/TABLE``, paginated).

    Raises :class:`SourceError` when the API cannot be read (after the retries) and no
    fallback is allowed, and :class:`DataContractError` when it returns rows breaking the
    contract (those rows are not cached).
    """
    unknown = [t for t in tables if t not in _SPECS]
    if unknown:
        raise ValueError(f"not tables of the contract: {', '.join(unknown)}")
    cache = Path(cache_dir)
    token = os.environ.get(token_env, "").strip()
    headers = {"Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    result = SignalsResult(tables={})
    with httpx.Client(headers=headers, timeout=timeout_s, follow_redirects=True) as client:
        for table in tables:
            url = f"{base_url.rstrip('/')}/{table}"
            cache_file = cache / f"{table}.json"
            try:
                rows = _fetch_rows(client, url, token_env, retries, backoff_s)
            except SourceError as err:
                result.tables[table] = _fallback(table, cache_file, err, use_last_good,
                                                 result.warnings)
                continue
            source = f"api:{table}"
            frame = _frame(rows, table)
            _, problems = parse_table(frame, _SPECS[table], source, timezone)
            if problems:
                raise DataContractError(problems)
            _save_cache(cache_file, table, _public_url(httpx.URL(url)), rows)
            result.tables[table] = (frame, source)
    return result


def _fallback(
    table: str, cache_file: Path, err: SourceError, use_last_good: bool, warnings: list[str]
) -> tuple[pd.DataFrame, str]:
    document = _load_cache(cache_file)
    if document is None:
        raise SourceError(f"signals API: {err}; no last good {table} to fall back on") from err
    if not use_last_good:
        raise SourceError(
            f"signals API: {err}; the last good {table} from {document.get('fetched_at')} is "
            f"kept in {cache_file} (allow falling back to it with data.signals_use_last_good)"
        ) from err
    rows = document["items"]
    warnings.append(
        f"signals API: {err}; using the last good {table} from {document.get('fetched_at')} "
        f"({len(rows)} rows)"
    )
    return _frame(rows, table), f"api-cache:{table}"
