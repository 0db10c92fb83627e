"""Supplier e-mail with order CSV attachments: a real SMTP server on loopback, and dry-run files."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from local_servers import SmtpServer, free_port, smtp_server

from flows.config import SupplierMailSettings
from flows.outbound.delivery import deliver_supplier_orders, parse_recipients
from flows.storage.exports import write_csv

SUPPLIERS = pd.DataFrame({
    "supplier": ["SUP-A", "杭州美研", "SUP-NOMAIL", "SUP-BAD"],
    "name": ["Acme Cosmetics", "杭州美研化妆品有限公司", None, "Bad Mail Co"],
    "email": ["orders@acme.example.com; Li Na <li.na@acme.example.com>", "po@meiyan.example.cn",
              None, "not-an-address"],
})


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with smtp_server() as running:
        yield running


def mail_settings(smtp: SmtpServer | None = None, **extra: Any) -> SupplierMailSettings:
    port = smtp.port if smtp else free_port()
    return SupplierMailSettings.model_validate({
        "enabled": True, "dry_run": False, "sender": "planning@lotus-beauty.com",
        "cc": ["buyer@lotus-beauty.com"], "reply_to": "buyer@lotus-beauty.com",
        "smtp": {"host": "127.0.0.1", "port": port, "security": "none", "timeout_s": 3},
        "backoff_s": 0.01, **extra,
    })


def write_supplier_files(root: Path, supplier: str, file_stem: str) -> list[Path]:
    orders = pd.DataFrame({"supplier": [supplier] * 2, "sku": ["SERUM-01", "CREAM-01"],
                           "name": ["精华液 30ml", "面霜 50g"], "qty": [1200, 480],
                           "line_value": [30000.0, 9600.0]})
    forecast = pd.DataFrame({"supplier": [supplier] * 3, "sku": ["SERUM-01"] * 3,
                             "week": ["2024-06-03", "2024-06-10", "2024-06-17"],
                             "qty": [300, 320, 900], "frozen": [1, 1, 0]})
    return [write_csv(orders, root / "orders" / f"{file_stem}.csv"),
            write_csv(forecast, root / "order_forecast" / f"{file_stem}.csv")]


def attachments_of(message: EmailMessage) -> dict[str, bytes]:
    found = {}
    for part in message.iter_attachments():
        content = part.get_payload(decode=True)
        assert isinstance(content, bytes)
        found[part.get_filename() or ""] = content
    return found


def test_each_supplier_receives_its_csvs_as_attachments(smtp: SmtpServer, tmp_path: Path) -> None:
    files = {"SUP-A": write_supplier_files(tmp_path, "SUP-A", "SUP-A"),
             "杭州美研": write_supplier_files(tmp_path, "杭州美研", "杭州美研")}
    results = deliver_supplier_orders(SUPPLIERS, files, mail_settings(smtp), brand="Lotus Beauty",
                                      as_of="2024-06-03", outbox=tmp_path / "outbox")
    assert [(r.supplier, r.status) for r in results] == [("SUP-A", "sent"), ("杭州美研", "sent")]
    assert len(smtp.messages) == 2
    sender, recipients, message = smtp.messages[0]
    assert sender == "planning@lotus-beauty.com"
    assert sorted(recipients) == ["buyer@lotus-beauty.com", "li.na@acme.example.com",
                                  "orders@acme.example.com"]
    assert message["Subject"] == "Lotus Beauty: purchase order 2024-06-03 (SUP-A)"
    assert message["Reply-To"] == "buyer@lotus-beauty.com"
    body = message.get_body(("plain",))
    assert body is not None
    assert "Dear Acme Cosmetics" in body.get_content()
    assert "orders-SUP-A.csv (2 rows)" in body.get_content()
    assert attachments_of(message) == {
        "orders-SUP-A.csv": files["SUP-A"][0].read_bytes(),
        "order_forecast-SUP-A.csv": files["SUP-A"][1].read_bytes(),
    }
    # A Chinese supplier name survives as the attachment name and in the subject.
    _, recipients, chinese = smtp.messages[1]
    assert "po@meiyan.example.cn" in recipients
    assert chinese["Subject"] == "Lotus Beauty: purchase order 2024-06-03 (杭州美研)"
    received = attachments_of(chinese)
    assert received["orders-杭州美研.csv"] == files["杭州美研"][0].read_bytes()
    assert "精华液 30ml".encode() in received["orders-杭州美研.csv"]


def test_dry_run_writes_eml_files_instead_of_sending(smtp: SmtpServer, tmp_path: Path) -> None:
    files = {"杭州美研": write_supplier_files(tmp_path, "杭州美研", "杭州美研")}
    outbox = tmp_path / "outbox"
    [result] = deliver_supplier_orders(SUPPLIERS, files, mail_settings(smtp, dry_run=True),
                                       brand="Lotus Beauty", as_of="2024-06-03", outbox=outbox)
    assert (result.status, result.path) == ("written", outbox / "杭州美研.eml")
    assert smtp.messages == []
    assert result.path is not None
    message = message_from_bytes(result.path.read_bytes(), policy=policy.default)
    assert isinstance(message, EmailMessage)
    assert message["To"] == "po@meiyan.example.cn"
    assert message["Subject"] == "Lotus Beauty: purchase order 2024-06-03 (杭州美研)"
    assert attachments_of(message) == {
        "orders-杭州美研.csv": files["杭州美研"][0].read_bytes(),
        "order_forecast-杭州美研.csv": files["杭州美研"][1].read_bytes(),
    }


def test_suppliers_without_a_usable_address_are_reported(smtp: SmtpServer,
                                                         tmp_path: Path) -> None:
    files = {name: write_supplier_files(tmp_path, name, name)
             for name in ("SUP-NOMAIL", "SUP-BAD", "SUP-UNKNOWN")}
    results = deliver_supplier_orders(SUPPLIERS, files, mail_settings(smtp), brand="Lotus Beauty",
                                      as_of="2024-06-03", outbox=tmp_path)
    assert [(r.status, r.message) for r in results] == [
        ("skipped", "no e-mail address in suppliers table"),
        ("failed", "suppliers table, supplier 'SUP-BAD', column 'email': got 'not-an-address'; "
                   "expected e-mail addresses separated by ';'"),
        ("skipped", "supplier not in the suppliers table"),
    ]
    assert smtp.messages == []


def test_same_order_is_not_sent_twice_and_a_change_is_marked_revised(
    smtp: SmtpServer, tmp_path: Path
) -> None:
    files = {"SUP-A": write_supplier_files(tmp_path, "SUP-A", "SUP-A")}
    ledger = tmp_path / "ledger.json"

    def deliver(as_of: str) -> str:
        [result] = deliver_supplier_orders(SUPPLIERS, files, mail_settings(smtp),
                                           brand="Lotus Beauty", as_of=as_of,
                                           outbox=tmp_path, ledger=ledger)
        return result.status

    assert [deliver("2024-06-03"), deliver("2024-06-03")] == ["sent", "unchanged"]
    write_csv(pd.DataFrame({"supplier": ["SUP-A"], "sku": ["SERUM-01"], "qty": [1500]}),
              files["SUP-A"][0])
    assert deliver("2024-06-03") == "sent"
    assert smtp.messages[-1][2]["Subject"].startswith("Revised: ")
    assert deliver("2024-06-10") == "sent"
    assert not smtp.messages[-1][2]["Subject"].startswith("Revised")
    assert len(smtp.messages) == 3


def test_temporary_refusal_is_retried(smtp: SmtpServer, tmp_path: Path) -> None:
    smtp.refusals = ["451 4.3.0 Try again later"]
    files = {"SUP-A": write_supplier_files(tmp_path, "SUP-A", "SUP-A")}
    [result] = deliver_supplier_orders(SUPPLIERS, files, mail_settings(smtp),
                                       brand="Lotus Beauty", as_of="2024-06-03", outbox=tmp_path)
    assert (result.status, result.attempts, len(smtp.messages)) == ("sent", 2, 1)


def test_permanent_refusal_is_not_retried(smtp: SmtpServer, tmp_path: Path) -> None:
    smtp.refusals = ["554 5.7.1 Message rejected"] * 3
    files = {"SUP-A": write_supplier_files(tmp_path, "SUP-A", "SUP-A")}
    [result] = deliver_supplier_orders(SUPPLIERS, files, mail_settings(smtp),
                                       brand="Lotus Beauty", as_of="2024-06-03", outbox=tmp_path)
    assert (result.status, result.attempts) == ("failed", 1)
    assert "554" in result.message and "Message rejected" in result.message


def test_server_down_is_retried_then_reported_and_nothing_recorded(tmp_path: Path) -> None:
    files = {"SUP-A": write_supplier_files(tmp_path, "SUP-A", "SUP-A"),
             "杭州美研": write_supplier_files(tmp_path, "杭州美研", "杭州美研")}
    ledger = tmp_path / "ledger.json"
    results = deliver_supplier_orders(SUPPLIERS, files, mail_settings(None, attempts=3),
                                      brand="Lotus Beauty", as_of="2024-06-03",
                                      outbox=tmp_path, ledger=ledger)
    assert [(r.status, r.attempts) for r in results] == [("failed", 3), ("failed", 3)]
    assert "not sent after 3 tries: ConnectionRefusedError" in results[0].message
    assert not ledger.exists()
    assert all(path.exists() for paths in files.values() for path in paths)


def test_disabled_or_without_sender_sends_nothing(smtp: SmtpServer, tmp_path: Path) -> None:
    files = {"SUP-A": write_supplier_files(tmp_path, "SUP-A", "SUP-A")}
    off = deliver_supplier_orders(SUPPLIERS, files, mail_settings(smtp, enabled=False),
                                  brand="B", as_of="2024-06-03", outbox=tmp_path)
    no_sender = deliver_supplier_orders(SUPPLIERS, files, mail_settings(smtp, sender=""),
                                        brand="B", as_of="2024-06-03", outbox=tmp_path)
    assert off == []
    assert [(r.status, r.message) for r in no_sender] == [
        ("failed", "set notify.supplier_mail.sender (From)")]
    assert smtp.messages == []


def test_parse_recipients_splits_and_rejects() -> None:
    assert parse_recipients("a@x.com, Bob <b@y.cn>;c@z.org") == (
        ["a@x.com", "b@y.cn", "c@z.org"], [])
    assert parse_recipients("a@x.com; nobody") == (["a@x.com"], ["nobody"])
    assert parse_recipients(float("nan")) == ([], [])


def test_a_password_is_not_sent_in_clear_unless_allowed(
    smtp: SmtpServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    files = {"SUP-A": write_supplier_files(tmp_path, "SUP-A", "SUP-A")}
    login = {"username_env": "SMTP_USER", "password_env": "SMTP_PASS"}
    env = {"SMTP_USER": "planner", "SMTP_PASS": "hunter2-very-secret"}
    base = mail_settings(smtp)
    plain = base.model_copy(update={"smtp": base.smtp.model_copy(update=login)})
    [refused] = deliver_supplier_orders(SUPPLIERS, files, plain, brand="Lotus Beauty",
                                        as_of="2024-06-03", outbox=tmp_path, env=env)
    assert refused.status == "failed" and "in clear" in refused.message
    assert "allow_plaintext_password" in refused.message and smtp.messages == []

    allowed = plain.model_copy(update={"smtp": plain.smtp.model_copy(
        update={"allow_plaintext_password": True})})
    caplog.set_level(logging.WARNING)
    [tried] = deliver_supplier_orders(SUPPLIERS, files, allowed, brand="Lotus Beauty",
                                      as_of="2024-06-03", outbox=tmp_path, env=env)
    assert any("in clear" in r.getMessage() for r in caplog.records)
    # The test server offers no login on a plain connection: the attempt fails, and says so
    # without the password.
    assert tried.status == "failed" and "AUTH" in tried.message
    assert all("hunter2" not in r.getMessage() for r in caplog.records)
