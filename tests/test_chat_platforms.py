"""Native DingTalk, Feishu and WeCom robot messages: payload shape, signatures checked by a
loopback receiver as the platforms check them, splitting to each size limit, and secrets that
never show in results, logs, the ledger (in the run store) or the output folder."""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pandas as pd
import pytest
from local_servers import Request, http_receiver

from flows.config import NotifySettings
from flows.i18n import language
from flows.outbound.notify import RunSummary, notify_run
from flows.outbound.notify.digest import Digest
from flows.outbound.notify.ledger import StoreLedger
from flows.outbound.notify.platforms import (
    LIMITS,
    dingtalk_payloads,
    parse_native,
    send_native,
    split_text,
)
from flows.outbound.notify.targets import ResolvedTarget
from flows.storage.store import RunStore

SECRET = "SEC0123456789abcdefSECRETvalue"
TOKEN = "tok9876543210abcdefTOKENvalue"
# Not a usable signing secret: a colon, spaces and a broken percent-escape.
MALFORMED = "MALFORMED:sign key with spaces%zz"
REFUSED = (200, b'{"errcode": 310000, "errmsg": "sign not match", "code": 19021, '
                b'"msg": "sign match fail"}')
ACCEPTED = (200, b'{"errcode": 0, "errmsg": "ok", "code": 0, "msg": "success"}')


def _digest(lines: int = 5) -> Digest:
    body = "\n".join(f"- [缺货风险] SKU-{i:04d} 玻尿酸补水面膜 · 风险金额 ¥{i * 100:,}"
                     for i in range(lines))
    return Digest(title="[示例美妆] 补货计划 2026-11-01：2 紧急",
                  markdown=body + "\n\n- [报告](https://files.example.cn/report.html)\n",
                  text=body, alert_ids=())


def _dingtalk_check(request: Request) -> tuple[int, bytes]:
    """What DingTalk does: recompute the sign from the timestamp and the robot's secret."""
    query = {k: v[0] for k, v in parse_qs(urlsplit(request.path).query).items()}
    stamp = query.get("timestamp", "")
    expected = base64.b64encode(hmac.new(SECRET.encode(), f"{stamp}\n{SECRET}".encode(),
                                         hashlib.sha256).digest()).decode()
    fresh = stamp.isdigit() and abs(int(stamp) - time.time() * 1000) < 3_600_000
    ok = query.get("access_token") == TOKEN and query.get("sign") == expected and fresh
    return ACCEPTED if ok else REFUSED


def _feishu_check(request: Request) -> tuple[int, bytes]:
    body = request.json()
    stamp = str(body.get("timestamp", ""))
    expected = base64.b64encode(hmac.new(f"{stamp}\n{SECRET}".encode(), b"",
                                         hashlib.sha256).digest()).decode()
    ok = request.path.endswith(f"/open-apis/bot/v2/hook/{TOKEN}") and body.get("sign") == expected
    return ACCEPTED if ok else REFUSED


def _target(url: str) -> ResolvedTarget:
    return ResolvedTarget(label="robot", url=url, secrets=(SECRET, TOKEN))


def _send(url: str, digest: Digest) -> tuple[bool, str]:
    outcome = send_native(_target(url), digest, attempts=2, backoff_s=0, sleep=lambda _s: None)
    return outcome.ok, outcome.message


def test_dingtalk_markdown_is_signed_as_dingtalk_checks_it() -> None:
    with http_receiver() as receiver:
        receiver.reply = _dingtalk_check
        ok, message = _send(f"dingtalk+native://{SECRET}@{TOKEN}/?endpoint=http://"
                            f"{receiver.url}", _digest())
    assert ok, message
    [request] = receiver.requests
    assert urlsplit(request.path).path == "/robot/send"
    body = request.json()
    assert body["msgtype"] == "markdown"
    assert body["markdown"]["title"] == "[示例美妆] 补货计划 2026-11-01：2 紧急"
    assert body["markdown"]["text"].startswith("### [示例美妆] 补货计划")
    assert "玻尿酸补水面膜" in body["markdown"]["text"]


def test_dingtalk_wrong_secret_is_refused_and_never_shown(caplog: pytest.LogCaptureFixture
                                                          ) -> None:
    caplog.set_level(logging.DEBUG)
    with http_receiver() as receiver:
        receiver.reply = _dingtalk_check
        ok, message = _send(f"dingtalk+native://WRONG{SECRET}@{TOKEN}/?endpoint=http://"
                            f"{receiver.url}", _digest())
    assert not ok and "310000" in message and len(receiver.requests) == 2
    for text in (message, caplog.text):
        assert SECRET not in text and TOKEN not in text


def test_dingtalk_action_card_opens_the_report() -> None:
    [card] = dingtalk_payloads(_digest(), card=True)
    assert card["msgtype"] == "actionCard"
    assert card["actionCard"]["singleURL"] == "https://files.example.cn/report.html"
    assert set(card["actionCard"]) == {"title", "text", "singleTitle", "singleURL"}


def test_feishu_card_is_signed_as_feishu_checks_it() -> None:
    with http_receiver() as receiver:
        receiver.reply = _feishu_check
        ok, message = _send(f"feishu+native://{SECRET}@{TOKEN}?endpoint=http://{receiver.url}",
                            _digest())
    assert ok, message
    body = receiver.requests[0].json()
    assert body["msg_type"] == "interactive"
    card = body["card"]
    assert card["header"]["template"] == "red"
    assert card["header"]["title"] == {"tag": "plain_text",
                                       "content": "[示例美妆] 补货计划 2026-11-01：2 紧急"}
    assert card["elements"][0]["tag"] == "markdown"
    assert "玻尿酸补水面膜" in card["elements"][0]["content"]


def test_wecom_long_digest_is_split_under_4096_bytes() -> None:
    digest = _digest(lines=400)  # about 30 KB of Chinese text
    with http_receiver() as receiver:
        ok, message = _send(f"wecom+native://{TOKEN}?endpoint=http://{receiver.url}", digest)
    assert ok, message
    bodies = [r.json() for r in receiver.requests]
    assert len(bodies) > 5
    assert all(b["msgtype"] == "markdown" for b in bodies)
    sizes = [len(b["markdown"]["content"].encode()) for b in bodies]
    assert max(sizes) <= LIMITS["wecom"]
    assert bodies[0]["markdown"]["content"].startswith(f"**{digest.title} (1/{len(bodies)})**")
    joined = "".join(b["markdown"]["content"].split("**\n", 1)[1] for b in bodies)
    assert all(f"SKU-{i:04d}" in joined for i in range(400))  # nothing lost


def test_split_keeps_lines_whole_and_cuts_only_an_overlong_line() -> None:
    text = "短行\n" * 3 + "长" * 3000 + "\n"
    parts = split_text(text, 1000)
    assert all(len(p.encode()) <= 1001 for p in parts)  # + the closing newline
    assert parts[0] == "短行\n短行\n短行\n"
    assert "".join(p.rstrip("\n") for p in parts[1:]) == "长" * 3000


def test_a_target_without_token_is_named_without_its_secret() -> None:
    with pytest.raises(ValueError, match="without a token"):
        parse_native("wecom+native://")
    outcome = send_native(ResolvedTarget("robot", f"dingtalk+native://{SECRET}@/",
                                         (SECRET,)), _digest())
    assert not outcome.ok and SECRET not in outcome.message


def test_notify_run_sends_native_signed_digests_and_keeps_secrets_out(
    tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    alerts = pd.DataFrame({
        "alert_id": ["a1"], "kind": ["stockout_risk"], "severity": ["critical"],
        "sku": ["MSK-0001"], "channel": ["tmall"], "date": [pd.Timestamp("2026-11-05")],
        "message": ["62% chance of running out"], "value_at_risk": [12345.0],
    })
    products = pd.DataFrame({"sku": ["MSK-0001"], "category": ["面膜"], "supplier": ["SUP-01"],
                             "name": ["玻尿酸补水面膜 5片装"]})
    store_path = tmp_path / "store" / "runs.db"
    with http_receiver() as receiver, RunStore(f"sqlite:///{store_path}") as store:
        receiver.reply = _dingtalk_check
        settings = NotifySettings(backoff_s=0, attempts=1, teams=[{"name": "planners", "urls": [
            f"dingtalk+native://${{DT_SECRET}}@${{DT_TOKEN}}/?endpoint=http://{receiver.url}",
            f"dingtalk+native://${{DT_BAD}}@${{DT_TOKEN}}/?endpoint=http://{receiver.url}",
            "digest://"]}])
        results = notify_run(
            alerts, products, RunSummary("示例美妆", "2026-11-01", "r-1"), settings,
            output_dir=tmp_path / "out", ledger=StoreLedger(store),
            env={"DT_SECRET": SECRET, "DT_TOKEN": TOKEN, "DT_BAD": MALFORMED},
            lang=language("zh_CN"))
    assert [r.status for r in results] == ["sent", "failed", "written"], results
    text = receiver.requests[0].json()["markdown"]["text"]
    assert "[缺货风险] MSK-0001 玻尿酸补水面膜 5片装" in text
    written = " ".join(p.read_text(encoding="utf-8") for p in (tmp_path / "out").rglob("*")
                       if p.is_file())
    shown = " ".join(f"{r.target} {r.message}" for r in results)
    stored = b"".join(p.read_bytes() for p in store_path.parent.iterdir() if p.is_file())
    assert b"planners|dingtalk+native://${DT_SECRET}@${DT_TOKEN}/" in stored  # the ledger
    for secret in (SECRET, TOKEN, MALFORMED):
        assert secret.encode() not in stored
        for haystack in (written, shown, caplog.text):
            assert secret not in haystack
