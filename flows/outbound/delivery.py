"""E-mail each supplier its order CSV and order forecast CSV, or write the messages to disk.

Messages are built once with the standard library's :mod:`email` and then either sent over
SMTP (:mod:`smtplib`; STARTTLS, implicit TLS or plain, login from environment variables) or,
in dry-run mode, written as ``<supplier>.eml`` files that any mail client opens, so what a
planner reviews is byte for byte what would be sent. Stdlib rather than Apprise's ``mailto``:
suppliers get a plain business e-mail with named CSV attachments, Cc and Reply-To, and a
permanent refusal (5xx) is told apart from a temporary one (4xx, network) for retries.

A password is never sent in clear: with ``security: none`` and a login configured, nothing is
sent unless ``allow_plaintext_password: true`` (then a warning is logged for every send). Error
messages show at most the first 4 characters of the login's secrets.

With a ledger, a supplier is not sent the same order twice: an unchanged order for the same
as-of date is skipped, a changed one goes out marked "Revised". The ledger's ``hold`` (when it
has one) is taken from the check to the record, so two hosts sharing the run store's ledger
never both send it.
"""

from __future__ import annotations

import csv
import hashlib
import io
import logging
import os
import smtplib
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from email import policy
from email.message import EmailMessage
from email.utils import formatdate, getaddresses, make_msgid
from pathlib import Path
from typing import Literal

import pandas as pd
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential

from flows.config import SmtpSettings, SupplierMailSettings
from flows.i18n import Language, language
from flows.outbound.notify.ledger import JsonLedger, NotificationLedger, held
from flows.outbound.notify.targets import mask_secrets
from flows.storage.exports import atomic_write, safe_filename

__all__ = [
    "DeliveryResult",
    "attachment_name",
    "build_supplier_email",
    "deliver_supplier_orders",
    "parse_recipients",
    "plaintext_login_problem",
]

Status = Literal["sent", "written", "unchanged", "skipped", "failed"]
_KEEP_LEDGER_ENTRIES = 60  # as-of dates remembered per supplier
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeliveryResult:
    """What happened to one supplier's e-mail."""

    supplier: str
    status: Status
    recipients: tuple[str, ...] = ()
    attachments: tuple[str, ...] = ()
    attempts: int = 0
    path: Path | None = None
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.status != "failed"


def parse_recipients(value: object) -> tuple[list[str], list[str]]:
    """(valid addresses, rejected entries) from a cell like ``"a@x.com; Bob <b@y.cn>"``."""
    if value is None or (isinstance(value, float) and value != value):
        return [], []
    entries = [e.strip() for e in str(value).replace(";", ",").split(",") if e.strip()]
    valid, rejected = [], []
    for entry in entries:
        [(_, address)] = getaddresses([entry]) or [("", "")]
        local, _, domain = address.rpartition("@")
        if local and "." in domain and " " not in address:
            valid.append(address)
        else:
            rejected.append(entry)
    return valid, rejected


def attachment_name(path: Path) -> str:
    """``orders/ACME.csv`` -> ``orders-ACME.csv``: the folder tells the two CSVs apart."""
    return f"{path.parent.name}-{path.name}" if path.parent.name else path.name


_XLSX = ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet")
DEFAULT_SUBJECT = "{brand}: purchase order {as_of} ({supplier})"


def _data_rows(content: bytes) -> int:
    text = content.decode("utf-8-sig", errors="replace")
    return max(sum(1 for row in csv.reader(io.StringIO(text)) if row) - 1, 0)


def build_supplier_email(
    supplier: str,
    supplier_name: str,
    recipients: Sequence[str],
    files: Sequence[tuple[str, bytes]],
    settings: SupplierMailSettings,
    *,
    brand: str,
    as_of: date | str,
    revised: bool = False,
    lang: Language | None = None,
) -> EmailMessage:
    """The e-mail for one supplier in ``lang`` (English by default); ``files`` are
    (attachment name, CSV or .xlsx bytes). A configured subject is used as written."""
    lang = lang or language("en")
    fields = {"brand": brand, "as_of": str(as_of), "supplier": supplier,
              "supplier_name": supplier_name}
    template = lang.gettext(DEFAULT_SUBJECT) if settings.subject == DEFAULT_SUBJECT \
        else settings.subject
    subject = template.format(**fields)
    message = EmailMessage()
    message["Subject"] = lang.gettext("Revised: {subject}", subject=subject) if revised \
        else subject
    message["From"] = settings.sender
    message["To"] = ", ".join(recipients)
    if settings.cc:
        message["Cc"] = ", ".join(settings.cc)
    if settings.reply_to:
        message["Reply-To"] = settings.reply_to
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = make_msgid(domain=settings.sender.rpartition("@")[2] or None)
    listing = "\n".join(
        f"  - {name}" if name.endswith(".xlsx") else
        "  - " + lang.ngettext("{name} ({count} row)", "{name} ({count} rows)",
                               _data_rows(content), name=name)
        for name, content in files)
    change = (lang.gettext("This replaces the order we sent earlier for the same date.")
              + "\n\n" if revised else "")
    message.set_content(
        lang.gettext("Dear {supplier_name},", supplier_name=supplier_name) + f"\n\n{change}"
        + lang.gettext("Please find attached {brand}'s purchase order as of {as_of} and our "
                       "order forecast for the coming weeks:", brand=brand, as_of=as_of)
        + f"\n\n{listing}\n\n"
        + lang.gettext("Please confirm quantities and delivery dates by replying to this "
                       "e-mail.") + "\n\n"
        + lang.gettext("Kind regards,\n{brand} supply planning", brand=brand) + "\n"
    )
    for name, content in files:
        maintype, subtype = _XLSX if name.endswith(".xlsx") else ("text", "csv")
        message.add_attachment(content, maintype=maintype, subtype=subtype, filename=name)
    return message


def _is_transient(error: BaseException) -> bool:
    """Worth another try: 4xx replies and network errors, not a 5xx refusal."""
    if isinstance(error, smtplib.SMTPResponseException):
        return 400 <= error.smtp_code < 500
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(400 <= code < 500 for code, _ in error.recipients.values())
    if isinstance(error, smtplib.SMTPNotSupportedError):
        return False
    return isinstance(error, OSError)  # refused, reset, timed out, server disconnected


def plaintext_login_problem(smtp: SmtpSettings) -> str | None:
    """Why this SMTP set-up must not send (a password over a plain connection), or None."""
    if smtp.security != "none" or not smtp.password_env or smtp.allow_plaintext_password:
        return None
    return (f"refusing to send the SMTP password ({smtp.password_env}) in clear to "
            f"{smtp.host}:{smtp.port} (security: none); use security: starttls or ssl, or set "
            "notify.supplier_mail.smtp.allow_plaintext_password: true for a trusted relay")


def _smtp_send(message: EmailMessage, smtp: SmtpSettings, env: Mapping[str, str]) -> None:
    context = ssl.create_default_context()
    client: smtplib.SMTP
    if smtp.security == "ssl":
        client = smtplib.SMTP_SSL(smtp.host, smtp.port, timeout=smtp.timeout_s, context=context)
    else:
        client = smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout_s)
    with client:
        if smtp.security == "starttls":
            client.starttls(context=context)
        if smtp.username_env:
            if smtp.security == "none" and smtp.password_env:
                logger.warning("sending the SMTP password (%s) in clear to %s:%d "
                               "(security: none, allow_plaintext_password: true)",
                               smtp.password_env, smtp.host, smtp.port)
            client.login(env.get(smtp.username_env, ""), env.get(smtp.password_env or "", ""))
        client.send_message(message)


def _send_with_retries(
    message: EmailMessage, settings: SupplierMailSettings, env: Mapping[str, str]
) -> tuple[int, BaseException | None]:
    retrying = Retrying(
        stop=stop_after_attempt(settings.attempts),
        wait=wait_exponential(multiplier=settings.backoff_s, max=60),
        retry=retry_if_exception(_is_transient),
        reraise=True,
    )
    try:
        retrying(_smtp_send, message, settings.smtp, env)
    except Exception as err:
        return retrying.statistics.get("attempt_number", 1), err
    return retrying.statistics.get("attempt_number", 1), None


def _fingerprint(recipients: Sequence[str], files: Sequence[tuple[str, bytes]]) -> str:
    digest = hashlib.sha256("\n".join(recipients).encode())
    for name, content in files:
        digest.update(name.encode())
        digest.update(hashlib.sha256(content).digest())
    return digest.hexdigest()[:16]


def _supplier_rows(suppliers: pd.DataFrame) -> dict[str, pd.Series]:
    return {str(row["supplier"]): row for _, row in suppliers.iterrows()}


def _deliver_one(
    supplier: str,
    row: pd.Series | None,
    paths: Sequence[Path],
    settings: SupplierMailSettings,
    *,
    brand: str,
    as_of: date | str,
    outbox: Path,
    ledger: NotificationLedger | None,
    env: Mapping[str, str],
    lang: Language | None = None,
) -> DeliveryResult:
    if row is None:
        return DeliveryResult(supplier, "skipped", message="supplier not in the suppliers table")
    recipients, rejected = parse_recipients(row.get("email"))
    if rejected:
        return DeliveryResult(supplier, "failed", message=(
            f"suppliers table, supplier {supplier!r}, column 'email': got {', '.join(rejected)!r}; "
            "expected e-mail addresses separated by ';'"))
    if not recipients:
        return DeliveryResult(supplier, "skipped", message="no e-mail address in suppliers table")
    files = [(attachment_name(p), Path(p).read_bytes()) for p in paths]
    key = f"supplier-mail|{supplier}"
    if ledger is None or settings.dry_run:
        return _send_once(supplier, row, recipients, files, settings, brand=brand, as_of=as_of,
                          outbox=outbox, ledger=None, key=key, env=env, lang=lang)
    with held(ledger, key):
        return _send_once(supplier, row, recipients, files, settings, brand=brand, as_of=as_of,
                          outbox=outbox, ledger=ledger, key=key, env=env, lang=lang)


def _send_once(
    supplier: str,
    row: pd.Series,
    recipients: list[str],
    files: list[tuple[str, bytes]],
    settings: SupplierMailSettings,
    *,
    brand: str,
    as_of: date | str,
    outbox: Path,
    ledger: NotificationLedger | None,
    key: str,
    env: Mapping[str, str],
    lang: Language | None = None,
) -> DeliveryResult:
    names = tuple(name for name, _ in files)
    stamp = str(as_of)
    fingerprint = _fingerprint(recipients, files)
    previous = ledger.load(key) if ledger is not None else {}
    if previous.get(stamp) == fingerprint:
        return DeliveryResult(supplier, "unchanged", tuple(recipients), names,
                              message=f"this order was already sent for {stamp}")
    name = row.get("name")
    message = build_supplier_email(
        supplier, str(name) if isinstance(name, str) and name else supplier, recipients, files,
        settings, brand=brand, as_of=as_of, revised=stamp in previous, lang=lang,
    )
    if settings.dry_run:
        path = outbox / f"{safe_filename(supplier)}.eml"
        with atomic_write(path, "wb") as handle:
            handle.write(message.as_bytes(policy=policy.SMTP))
        return DeliveryResult(supplier, "written", tuple(recipients), names, path=path,
                              message=f"dry run: message written to {path}")
    attempts, error = _send_with_retries(message, settings, env)
    if error is not None:
        secrets = tuple(env.get(name, "") for name in (settings.smtp.password_env,
                                                      settings.smtp.username_env) if name)
        reason = mask_secrets(f"{type(error).__name__}: {error}", secrets)
        logger.warning("e-mail to supplier %s failed after %d tries: %s", supplier, attempts,
                       reason)
        return DeliveryResult(supplier, "failed", tuple(recipients), names, attempts=attempts,
                              message=f"not sent after {attempts} tries: {reason}")
    if ledger is not None:
        kept = dict(sorted({**previous, stamp: fingerprint}.items())[-_KEEP_LEDGER_ENTRIES:])
        ledger.save(key, kept)
    return DeliveryResult(supplier, "sent", tuple(recipients), names, attempts=attempts,
                          message="sent")


def deliver_supplier_orders(
    suppliers: pd.DataFrame,
    files: Mapping[str, Sequence[Path]],
    settings: SupplierMailSettings,
    *,
    brand: str,
    as_of: date | str,
    outbox: Path,
    ledger: NotificationLedger | Path | None = None,
    env: Mapping[str, str] | None = None,
    lang: Language | None = None,
) -> list[DeliveryResult]:
    """Mail each supplier in ``files`` (supplier -> its CSV and .xlsx paths) to its ``email``,
    in ``lang`` (English by default).

    ``suppliers`` is the suppliers table (``supplier``, ``email``, optional ``name``). In dry
    run the messages go to ``outbox/<supplier>.eml``. Does nothing unless
    ``settings.enabled``. Never raises: each supplier gets a :class:`DeliveryResult`.
    """
    if not settings.enabled:
        return []
    if not settings.sender:
        return [DeliveryResult(s, "failed", message="set notify.supplier_mail.sender (From)")
                for s in files]
    refusal = None if settings.dry_run else plaintext_login_problem(settings.smtp)
    if refusal is not None:
        logger.warning("supplier e-mail not sent: %s", refusal)
        return [DeliveryResult(s, "failed", message=refusal) for s in files]
    environ = os.environ if env is None else env
    store = JsonLedger(ledger) if isinstance(ledger, Path) else ledger
    rows = _supplier_rows(suppliers)
    results = []
    for supplier, paths in files.items():
        try:
            results.append(_deliver_one(
                supplier, rows.get(supplier), paths, settings, brand=brand, as_of=as_of,
                outbox=outbox, ledger=store, env=environ, lang=lang,
            ))
        except Exception as err:  # unreadable file, bad subject template, disk full
            logger.exception("e-mail to supplier %s not delivered", supplier)
            reason = f"{type(err).__name__}: {err}"
            results.append(DeliveryResult(supplier, "failed", message=reason))
    return results
