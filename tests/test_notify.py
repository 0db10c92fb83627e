"""Alert digests delivered to real loopback servers: HTTP webhooks and SMTP."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from apprise.plugins.dingtalk import NotifyDingTalk
from apprise.plugins.feishu import NotifyFeishu
from apprise.plugins.lark import NotifyLark
from apprise.plugins.slack import NotifySlack
from apprise.plugins.wecombot import NotifyWeComBot
from local_servers import (
    HttpReceiver,
    Request,
    SmtpServer,
    free_port,
    http_receiver,
    smtp_server,
)

from flows.config import ConfigError, NotifySettings, load_settings
from flows.outbound.notify import JsonLedger, RunSummary, notify_failure, notify_run

SUMMARY = RunSummary(
    brand="Lotus Beauty", as_of="2024-06-03", run_id="r-0603",
    counts={"skus": 5, "order_lines": 7}, totals={"order_value": 48250.0},
)


def make_alerts() -> pd.DataFrame:
    return pd.DataFrame({
        "alert_id": ["a-lip", "a-tea", "a-serum", "a-cream", "a-mask"],
        "kind": ["stockout_risk", "overstock", "event_readiness", "shelf_life",
                 "supplier_exception"],
        "severity": ["high", "low", "critical", "medium", "high"],
        "sku": ["LIP-01", "TEA-01", "SERUM-01", "CREAM-01", "MASK-01"],
        "channel": ["tmall", "jd", "douyin", None, None],
        "date": pd.to_datetime(["2024-06-09", "2024-06-03", "2024-06-18", "2024-08-01", "NaT"]),
        "message": [
            "P(stockout before next arrival) 62%",
            "142 days of cover",
            "618 livestream needs 3,000 units, 1,100 on hand",
            "400 units expire before they sell",
            "Commitment 35% below order forecast",
        ],
        "value_at_risk": [5200.0, 300.0, 21000.0, 900.0, 4100.0],
    })


PRODUCTS = pd.DataFrame({
    "sku": ["LIP-01", "TEA-01", "SERUM-01", "CREAM-01", "MASK-01"],
    "category": ["makeup", "tea", "skincare", "skincare", "skincare"],
    "supplier": ["SUP-A", "SUP-T", "SUP-B", "SUP-B", "SUP-M"],
})


def settings_for(*teams: dict[str, Any], **extra: Any) -> NotifySettings:
    return NotifySettings.model_validate(
        {"teams": teams, "backoff_s": 0.01, "backoff_max_s": 0.02, "timeout_s": 3, **extra}
    )


@pytest.fixture
def receiver() -> Iterator[HttpReceiver]:
    with http_receiver() as running:
        yield running


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with smtp_server() as running:
        yield running


def test_digest_groups_by_severity_with_top_alerts_and_links(receiver: HttpReceiver,
                                                            tmp_path: Path) -> None:
    settings = settings_for({"name": "ops", "urls": [f"json://{receiver.url}/hook"]}, top_n=3,
                            link_base_url="https://files.example.com/runs/r-0603")
    report = tmp_path / "report.html"
    results = notify_run(
        make_alerts(), PRODUCTS, SUMMARY, settings, output_dir=tmp_path,
        links={"Report": report, "Orders SUP-B": tmp_path / "orders" / "SUP-B.csv",
               "Dashboard": "https://bi.example.com/replenish"},
    )
    assert [(r.status, r.alerts) for r in results] == [("sent", 5)]
    [request] = receiver.requests
    payload = request.json()
    assert payload["title"] == (
        "[Lotus Beauty · ops] Replenishment 2024-06-03: 1 critical, 2 high, 1 medium, 1 low"
    )
    body = payload["message"]
    # Grouped by severity, most severe first; within a group by value at risk.
    assert body.index("### Critical (1)") < body.index("### High (2)")
    assert "SERUM-01 · douyin · 2024-06-18 · at risk 21,000: 618 livestream needs" in body
    assert body.index("LIP-01") < body.index("MASK-01")
    # top_n=3: the medium and low alerts are counted, not listed.
    assert "CREAM-01" not in body and "TEA-01" not in body
    assert "2 more new alerts are in the alerts file" in body
    assert "order value 48,250" in body and "run r-0603" in body
    assert "[Report](https://files.example.com/runs/r-0603/report.html)" in body
    assert "(https://files.example.com/runs/r-0603/orders/SUP-B.csv)" in body
    assert "[Dashboard](https://bi.example.com/replenish)" in body


def _point_chat_services_at(monkeypatch: pytest.MonkeyPatch, base: str) -> None:
    # The plugins hard-code the vendors' hosts; aim them at the loopback receiver instead.
    monkeypatch.setattr(NotifyDingTalk, "notify_url", base + "/dingtalk/send?access_token={token}")
    monkeypatch.setattr(NotifyFeishu, "notify_url", base + "/feishu/hook/{token}/")
    monkeypatch.setattr(NotifyLark, "notify_url", base + "/lark/hook/")
    monkeypatch.setattr(NotifyWeComBot, "notify_url", base + "/wecom/send?key={key}")
    monkeypatch.setattr(NotifySlack, "webhook_url", base + "/slack")
    # Lark's send() throttles twice, which costs the default 5.5 s even on a first message.
    monkeypatch.setattr(NotifyLark, "request_rate_per_sec", 0)


def _chat_text(service: str, request: Request) -> str:
    payload = request.json()
    if service == "dingtalk":
        return str(payload["markdown"]["text"])
    if service in ("feishu", "lark"):
        return str(payload["content"]["text"])
    if service == "wecombot":
        return str(payload["text"]["content"])
    attachment = payload["attachments"][0]
    return f"{attachment['title']}\n{attachment['text']}"


@pytest.mark.parametrize(("service", "url", "path"), [
    ("dingtalk", "dingtalk://${BOT_TOKEN}/", "/dingtalk/send?access_token=tok123456abc"),
    ("feishu", "feishu://${BOT_TOKEN}", "/feishu/hook/tok123456abc/"),
    ("lark", "lark://${BOT_TOKEN}", "/lark/hook/tok123456abc"),
    ("wecombot", "wecombot://${BOT_TOKEN}", "/wecom/send?key=tok123456abc"),
    ("slack", "slack://T1JJ3T3L2/A1BRTD4JD/${BOT_TOKEN}",
     "/slack/T1JJ3T3L2/A1BRTD4JD/tok123456abc"),
])
def test_chat_services_receive_the_digest(
    service: str, url: str, path: str, receiver: HttpReceiver, monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    _point_chat_services_at(monkeypatch, f"http://{receiver.url}")
    if service == "slack":  # a Slack webhook answers with the bare text "ok"
        receiver.reply = lambda _request: (200, b"ok")
    caplog.set_level(logging.DEBUG)
    settings = settings_for({"name": "ops", "urls": [url]})
    [result] = notify_run(make_alerts(), PRODUCTS, SUMMARY, settings, output_dir=tmp_path,
                          env={"BOT_TOKEN": "tok123456abc"})
    assert result.status == "sent", result.message
    [request] = receiver.requests
    assert request.path == path
    text = _chat_text(service, request)
    assert text.count("Replenishment 2024-06-03: 1 critical, 2 high") == 1  # title shown once
    assert "SERUM-01" in text and "618 livestream needs 3,000 units" in text
    if service in ("feishu", "lark", "wecombot"):  # raw-text services get no Markdown marks
        assert "CRITICAL (1)" in text and "###" not in text and "**" not in text
    # The token is a secret: it shows up neither in the result nor in our logs.
    assert "tok123456abc" not in result.target + result.message
    assert all("tok123456abc" not in r.getMessage() for r in caplog.records
               if r.name.startswith("flows"))


def test_email_digest_reaches_smtp_server(smtp: SmtpServer, tmp_path: Path) -> None:
    url = (f"mailto://{smtp.host}:{smtp.port}?from=planner@lotus-beauty.com"
           "&to=supply@lotus-beauty.com&mode=insecure")
    settings = settings_for({"name": "supply", "urls": [url]})
    [result] = notify_run(make_alerts(), PRODUCTS, SUMMARY, settings, output_dir=tmp_path,
                          links={"Report": "https://files.example.com/report.html"})
    assert result.status == "sent", result.message
    [(sender, recipients, message)] = smtp.messages
    assert (sender, recipients) == ("planner@lotus-beauty.com", ["supply@lotus-beauty.com"])
    assert message["Subject"].startswith("[Lotus Beauty · supply] Replenishment 2024-06-03")
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "Critical (1)" in text and "SERUM-01" in text
    assert "<h3>Critical (1)</h3>" in html
    assert 'href="https://files.example.com/report.html"' in html


def test_unchanged_alerts_are_not_sent_again_and_changed_ones_are(
    receiver: HttpReceiver, tmp_path: Path
) -> None:
    settings = settings_for({"name": "ops", "urls": [f"json://{receiver.url}/hook"]})
    ledger = tmp_path / "state" / "ledger.json"
    alerts = make_alerts()

    first = notify_run(alerts, PRODUCTS, SUMMARY, settings, output_dir=tmp_path, ledger=ledger)
    second = notify_run(alerts, PRODUCTS, SUMMARY, settings, output_dir=tmp_path, ledger=ledger)
    assert [r.status for r in first + second] == ["sent", "unchanged"]
    assert len(receiver.requests) == 1

    changed = alerts.copy()
    lip = changed["alert_id"] == "a-lip"
    changed.loc[lip, "severity"] = "critical"
    changed.loc[lip, "value_at_risk"] = 9100.0
    changed.loc[changed["alert_id"] == "a-tea", "value_at_risk"] = 300.2  # cents: not a change
    [third] = notify_run(changed, PRODUCTS, SUMMARY, settings, output_dir=tmp_path, ledger=ledger)
    assert (third.status, third.alerts) == ("sent", 1)
    body = receiver.requests[-1].json()["message"]
    assert "LIP-01" in body and "SERUM-01" not in body
    assert "4 unchanged alerts already sent are not repeated" in body
    # The ledger holds the target's label and fingerprints, not the URL.
    assert receiver.url not in ledger.read_text(encoding="utf-8")
    assert set(JsonLedger(ledger).load(f"ops|{third.target}")) == set(alerts["alert_id"])


def test_an_alert_that_went_away_and_returns_is_sent_again(
    receiver: HttpReceiver, tmp_path: Path
) -> None:
    settings = settings_for({"name": "ops", "urls": [f"json://{receiver.url}/hook"]})
    ledger = tmp_path / "ledger.json"
    alerts = make_alerts()
    notify_run(alerts, PRODUCTS, SUMMARY, settings, output_dir=tmp_path, ledger=ledger)
    without_lip = alerts[alerts["alert_id"] != "a-lip"]
    [gone] = notify_run(without_lip, PRODUCTS, SUMMARY, settings, output_dir=tmp_path,
                        ledger=ledger)
    [back] = notify_run(alerts, PRODUCTS, SUMMARY, settings, output_dir=tmp_path, ledger=ledger)
    assert (gone.status, back.status, back.alerts) == ("unchanged", "sent", 1)


def test_each_team_gets_the_digest_of_its_own_alerts(receiver: HttpReceiver,
                                                     tmp_path: Path) -> None:
    settings = settings_for(
        {"name": "skincare", "categories": ["skincare"], "urls": [f"json://{receiver.url}/skin"]},
        {"name": "supplier-a", "suppliers": ["SUP-A"], "min_severity": "high",
         "urls": [f"json://{receiver.url}/sup-a"]},
        {"name": "default", "urls": [f"json://{receiver.url}/default"]},
    )
    results = notify_run(make_alerts(), PRODUCTS, SUMMARY, settings, output_dir=tmp_path)
    assert {r.team: r.alerts for r in results} == {"skincare": 3, "supplier-a": 1, "default": 1}
    bodies = {r.path: r.json()["message"] for r in receiver.requests}
    skus = {"SERUM-01", "CREAM-01", "MASK-01", "LIP-01", "TEA-01"}
    assert {s for s in skus if s in bodies["/skin"]} == {"SERUM-01", "CREAM-01", "MASK-01"}
    assert {s for s in skus if s in bodies["/sup-a"]} == {"LIP-01"}
    # The default team gets what no other team claimed: the tea overstock only.
    assert {s for s in skus if s in bodies["/default"]} == {"TEA-01"}


def test_retry_recovers_from_a_flaky_receiver(receiver: HttpReceiver, tmp_path: Path) -> None:
    answers = iter([(503, b"busy"), (502, b"bad gateway")])
    receiver.reply = lambda _request: next(answers, (200, b"{}"))
    settings = settings_for({"name": "ops", "urls": [f"json://{receiver.url}/hook"]})
    [result] = notify_run(make_alerts(), PRODUCTS, SUMMARY, settings, output_dir=tmp_path)
    assert (result.status, result.attempts, len(receiver.requests)) == ("sent", 3, 3)


def test_receiver_down_is_retried_then_reported_without_raising(
    receiver: HttpReceiver, tmp_path: Path
) -> None:
    dead = f"json://127.0.0.1:{free_port()}/hook"
    settings = settings_for(
        {"name": "ops", "urls": [dead, f"json://{receiver.url}/hook", "digest://"]}, attempts=3
    )
    ledger = tmp_path / "ledger.json"
    alerts = make_alerts()
    before = alerts.copy()
    results = notify_run(alerts, PRODUCTS, SUMMARY, settings, output_dir=tmp_path, ledger=ledger)
    failed, sent, written = results
    assert (failed.status, failed.attempts) == ("failed", 3)
    assert "failed after 3 tries" in failed.message and "127.0.0.1" not in failed.target
    # The other targets still get the digest, and the caller's data is untouched.
    assert (sent.status, written.status) == ("sent", "written")
    pd.testing.assert_frame_equal(alerts, before)
    # Only the successful target is recorded: the failed one gets everything next run.
    again = notify_run(alerts, PRODUCTS, SUMMARY, settings, output_dir=tmp_path, ledger=ledger)
    assert [(r.status, r.attempts) for r in again[:2]] == [("failed", 3), ("unchanged", 0)]


def test_missing_secret_is_reported_and_others_still_sent(receiver: HttpReceiver,
                                                          tmp_path: Path) -> None:
    settings = settings_for({"name": "ops", "urls": [
        {"url_env": "NOT_SET_WEBHOOK"}, "dingtalk://${NOT_SET_TOKEN}/", f"json://{receiver.url}/x",
    ]})
    missing_url, missing_token, ok = notify_run(make_alerts(), PRODUCTS, SUMMARY, settings,
                                                output_dir=tmp_path, env={})
    assert missing_url.status == "failed" and "NOT_SET_WEBHOOK is not set" in missing_url.message
    assert missing_token.status == "failed" and "NOT_SET_TOKEN is not set" in missing_token.message
    assert ok.status == "sent"


def test_file_sink_writes_the_full_digest_in_the_run_folder(tmp_path: Path) -> None:
    settings = settings_for(
        {"name": "beauty", "categories": ["skincare"], "urls": ["digest://"]},
        {"name": "default", "urls": ["digest://daily-digest.md"]},
    )
    run_dir = tmp_path / "outputs" / "2024-06-03"
    for _ in range(2):  # a rerun still writes the run's record, even with a ledger
        results = notify_run(make_alerts(), PRODUCTS, SUMMARY, settings, output_dir=run_dir,
                             ledger=tmp_path / "ledger.json",
                             links={"Report": run_dir / "report.html"})
    assert [(r.status, r.path) for r in results] == [
        ("written", run_dir / "digest-beauty.md"), ("written", run_dir / "daily-digest.md"),
    ]
    beauty = (run_dir / "digest-beauty.md").read_text(encoding="utf-8")
    assert beauty.startswith("# [Lotus Beauty · beauty] Replenishment 2024-06-03: 1 critical")
    assert "### Critical (1)" in beauty and "SERUM-01" in beauty and "LIP-01" not in beauty
    assert f"Report: `{run_dir / 'report.html'}`" in beauty
    assert sorted(p.name for p in run_dir.iterdir()) == ["daily-digest.md", "digest-beauty.md"]


def test_file_sink_name_must_stay_in_the_run_folder(tmp_path: Path) -> None:
    settings = settings_for({"name": "ops", "urls": ["digest://../escape-digest.md"]})
    [result] = notify_run(make_alerts(), PRODUCTS, SUMMARY, settings, output_dir=tmp_path)
    assert result.status == "failed" and "bare file name containing 'digest'" in result.message
    assert not (tmp_path.parent / "escape-digest.md").exists()


def test_failure_notification_names_the_reason(receiver: HttpReceiver, tmp_path: Path) -> None:
    settings = settings_for(
        {"name": "beauty", "categories": ["skincare"], "urls": [f"json://{receiver.url}/hook"]},
        {"name": "default", "urls": [f"json://{receiver.url}/hook", "digest://"]},
    )
    results = notify_failure(SUMMARY, "sales source: HTTP 503 after 3 tries", settings,
                             output_dir=tmp_path)
    assert [r.status for r in results] == ["sent", "written"]  # the shared hook hears it once
    [request] = receiver.requests
    payload = request.json()
    assert payload["title"] == "[Lotus Beauty] Replenishment run FAILED (2024-06-03)"
    assert "Reason: sales source: HTTP 503 after 3 tries" in payload["message"]
    assert "FAILED" in (tmp_path / "digest-default.md").read_text(encoding="utf-8")


def test_bad_alerts_frame_is_reported_not_raised(receiver: HttpReceiver, tmp_path: Path) -> None:
    settings = settings_for({"name": "ops", "urls": [f"json://{receiver.url}/hook"]})
    alerts = make_alerts().drop(columns=["value_at_risk"]).assign(severity="urgent")
    [result] = notify_run(alerts, PRODUCTS, SUMMARY, settings, output_dir=tmp_path)
    assert result.status == "failed"
    assert "column 'value_at_risk'" in result.message
    assert "got 'urgent'; expected one of critical, high, medium, low" in result.message
    assert receiver.requests == []


def test_corrupt_ledger_is_reported(receiver: HttpReceiver, tmp_path: Path) -> None:
    ledger = tmp_path / "ledger.json"
    ledger.write_text("{not json", encoding="utf-8")
    settings = settings_for({"name": "ops", "urls": [f"json://{receiver.url}/hook"]})
    [result] = notify_run(make_alerts(), PRODUCTS, SUMMARY, settings, output_dir=tmp_path,
                          ledger=ledger)
    assert result.status == "failed" and "ledger is not valid JSON" in result.message


def test_notify_section_is_read_from_a_config_file(tmp_path: Path) -> None:
    config = tmp_path / "replenish.yaml"
    config.write_text(
        "notify:\n"
        "  top_n: 5\n"
        "  teams:\n"
        "    - name: beauty\n"
        "      categories: [skincare]\n"
        "      urls: ['feishu://${FEISHU_TOKEN}', {url_env: WECOM_URL}, 'digest://']\n",
        encoding="utf-8",
    )
    notify = load_settings(config).notify
    assert notify.top_n == 5
    assert [(t.url, t.url_env) for t in notify.teams[0].urls] == [
        ("feishu://${FEISHU_TOKEN}", None), (None, "WECOM_URL"), ("digest://", None),
    ]
    config.write_text("notify:\n  teams: [{name: x, urls: [{url: a, url_env: B}]}]\n",
                      encoding="utf-8")
    with pytest.raises(ConfigError, match="exactly one of 'url' or 'url_env'"):
        load_settings(config)


def test_a_malformed_token_is_masked_in_every_log_and_result(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    settings = settings_for({"name": "ops", "urls": ["dingtalk://${DINGTALK_TOKEN}/"]},
                            attempts=1)
    token = "SECRETTOKEN%zz-not-hex"  # Apprise's warning used to print it whole
    [result] = notify_run(make_alerts(), PRODUCTS, SUMMARY, settings, output_dir=tmp_path,
                          env={"DINGTALK_TOKEN": token})
    assert result.status == "failed"
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "invalid DingTalk API Token (SECR***)" in logged  # the warning still helps
    for text in (logged, result.message, result.target):
        assert "ETTOKEN" not in text and "not-hex" not in text


def test_mask_secrets_shows_at_most_four_characters() -> None:
    from flows.outbound.notify.targets import mask_secrets

    secret = "abcd1234efgh5678/part-two-xyz"
    text = mask_secrets(f"bad token {secret}; then part-two-xyz; q=abcd1234efgh5678%2Fpart",
                        [secret])
    assert "1234" not in text and "two-xyz" not in text and text.count("abcd***") >= 1
    assert mask_secrets("short key k3y!", ["k3y!"]) == "short key ***"


def test_hosts_sharing_a_run_store_send_a_digest_once(
    receiver: HttpReceiver, pg_url: str, tmp_path: Path
) -> None:
    from flows.outbound.notify import StoreLedger
    from flows.storage.store import RunStore

    slow = receiver.reply
    receiver.reply = lambda request: (time.sleep(0.5), slow(request))[1]
    settings = settings_for({"name": "ops", "urls": [f"json://{receiver.url}/hook"]})
    results: list[Any] = []

    def host() -> None:  # one process per host, each with its own store connection
        with RunStore(pg_url) as store:
            results.extend(notify_run(make_alerts(), PRODUCTS, SUMMARY, settings,
                                      output_dir=tmp_path, ledger=StoreLedger(store)))

    hosts = [threading.Thread(target=host) for _ in range(2)]
    for thread in hosts:
        thread.start()
    for thread in hosts:
        thread.join()
    assert sorted(r.status for r in results) == ["sent", "unchanged"]
    assert len(receiver.requests) == 1
    with RunStore(pg_url) as store:
        sent = store.sent_notifications(f"ops|{results[0].target}")
    assert set(sent) == set(make_alerts()["alert_id"])


def test_an_older_json_ledger_is_imported_into_the_store(
    receiver: HttpReceiver, tmp_path: Path
) -> None:
    from flows.outbound.notify import StoreLedger, import_json_ledger
    from flows.storage.store import RunStore

    settings = settings_for({"name": "ops", "urls": [f"json://{receiver.url}/hook"]})
    json_ledger = tmp_path / "notify-ledger.json"
    notify_run(make_alerts(), PRODUCTS, SUMMARY, settings, output_dir=tmp_path,
               ledger=json_ledger)
    with RunStore(f"sqlite:///{tmp_path / 'runs.db'}") as store:
        assert len(import_json_ledger(store, json_ledger)) == 1
        [again] = notify_run(make_alerts(), PRODUCTS, SUMMARY, settings, output_dir=tmp_path,
                             ledger=StoreLedger(store))
    assert again.status == "unchanged" and len(receiver.requests) == 1
