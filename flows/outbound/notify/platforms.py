"""Native messages for the Chinese chat platforms: DingTalk, Feishu (Lark) and WeCom robots.

Apprise sends these services plain text (Feishu, WeCom) or unsigned Markdown (DingTalk). A
group robot with "加签" (signing) turned on refuses an unsigned message, and long digests are
cut off. Here each platform gets its own payload, signed as its robot documentation says,
and split to its size limit:

* **DingTalk** (钉钉自定义机器人): ``markdown`` (title + text) or ``actionCard`` (with a
  button to the report when the digest links one). Signing: ``sign = base64(HMAC-SHA256(key=
  secret, msg=f"{timestamp}\\n{secret}"))`` with ``timestamp`` in milliseconds, both sent in
  the query string (``&timestamp=...&sign=...``, the sign URL-encoded); DingTalk refuses a
  timestamp more than an hour off. Limit: 20,000 bytes of text; a part is at most 18,000.
* **Feishu / Lark** (飞书自定义机器人): an ``interactive`` card, header coloured by the worst
  severity, body as a ``markdown`` element. Signing: ``sign = base64(HMAC-SHA256(key=
  f"{timestamp}\\n{secret}", msg=b""))`` with ``timestamp`` in seconds, both in the JSON body.
  Limit: 20 KB per request body (card JSON included); a part's text is at most 18,000 bytes.
* **WeCom** (企业微信群机器人): ``markdown`` whose ``content`` is at most 4,096 bytes of UTF-8.
  WeCom robots are not signed; the webhook key is the secret.

Each split part is a full message whose title says ``(1/3)``; lines are never cut unless one
line alone is over the limit (then it is cut at a character boundary). Configured as targets
with the platform's Apprise-like scheme and a ``+native`` suffix (``dingtalk+native://
${DINGTALK_SECRET}@${DINGTALK_TOKEN}/``, ``feishu+native://${FEISHU_SECRET}@${FEISHU_TOKEN}``,
``wecom+native://${WECOM_KEY}``); ``?endpoint=http://host:port`` replaces the service's
origin (a proxy, or a loopback receiver in tests). Secrets come from the environment through
the placeholders and never appear in what is returned or logged (:func:`mask_secrets`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import parse_qs, quote, urlsplit

import httpx

from flows.outbound.notify.digest import Digest
from flows.outbound.notify.targets import MaskSecrets, ResolvedTarget, SendOutcome, mask_secrets

__all__ = [
    "LIMITS",
    "NATIVE_SCHEMES",
    "NativeTarget",
    "dingtalk_payloads",
    "dingtalk_sign",
    "feishu_payloads",
    "feishu_sign",
    "is_native",
    "parse_native",
    "send_native",
    "split_text",
    "wecom_payloads",
]

Platform = Literal["dingtalk", "feishu", "wecom"]
NATIVE_SCHEMES: dict[str, Platform] = {
    "dingtalk+native": "dingtalk", "feishu+native": "feishu", "lark+native": "feishu",
    "wecom+native": "wecom",
}
# Bytes of UTF-8 text per message part, under each platform's documented limit.
LIMITS: dict[Platform, int] = {"dingtalk": 18_000, "feishu": 18_000, "wecom": 4_096}
_ORIGINS = {"dingtalk": "https://oapi.dingtalk.com", "feishu": "https://open.feishu.cn",
            "lark": "https://open.larksuite.com", "wecom": "https://qyapi.weixin.qq.com"}
_COLOURS = {"critical": "red", "high": "orange", "medium": "yellow", "low": "blue"}


@dataclass(frozen=True)
class NativeTarget:
    """A parsed native target; ``token`` and ``secret`` are secrets: never log them."""

    platform: Platform
    token: str
    secret: str
    origin: str
    card: bool = False  # DingTalk: actionCard instead of markdown


def is_native(url: str) -> bool:
    return url.split("://", 1)[0].lower() in NATIVE_SCHEMES


def parse_native(url: str) -> NativeTarget:
    """``scheme://[secret@]token[/]?endpoint=...&card=yes``; ValueError names what is wrong
    without the secret."""
    scheme, _, rest = url.partition("://")
    platform = NATIVE_SCHEMES.get(scheme.lower())
    if platform is None:
        raise ValueError(f"not a native chat target: {scheme}://")
    parts = urlsplit(f"x://{rest}")
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    credentials = parts.netloc
    secret, _, token = credentials.rpartition("@")
    token = token or parts.path.strip("/")
    if not token:
        raise ValueError(f"{scheme}:// target without a token (webhook key)")
    origin = query.get("endpoint") or _ORIGINS["lark" if scheme.startswith("lark") else platform]
    return NativeTarget(platform, token, secret, origin.rstrip("/"),
                        card=query.get("card", "").lower() in ("1", "yes", "true"))


def split_text(text: str, limit: int) -> list[str]:
    """``text`` in parts of at most ``limit`` UTF-8 bytes, cut between lines where possible."""
    parts: list[str] = []
    current = ""
    for line in text.splitlines(keepends=True):
        while len(line.encode()) > limit:  # one line longer than a part: cut it
            head = line.encode()[:limit].decode("utf-8", errors="ignore")
            if current:
                parts.append(current)
                current = ""
            parts.append(head)
            line = line[len(head):]
        if len((current + line).encode()) > limit:
            parts.append(current)
            current = ""
        current += line
    if current or not parts:
        parts.append(current)
    return [part.rstrip("\n") + "\n" for part in parts]


def _titled(title: str, parts: list[str]) -> list[tuple[str, str]]:
    if len(parts) == 1:
        return [(title, parts[0])]
    return [(f"{title} ({i}/{len(parts)})", part) for i, part in enumerate(parts, start=1)]


def _first_link(markdown: str) -> str | None:
    start = markdown.find("](")
    if start < 0:
        return None
    end = markdown.find(")", start)
    link = markdown[start + 2:end]
    return link if "://" in link else None


def dingtalk_payloads(digest: Digest, card: bool = False) -> list[dict[str, Any]]:
    """DingTalk ``markdown`` (or ``actionCard``) messages; the text repeats the title as a
    heading, since DingTalk shows ``title`` only in the notification preview."""
    budget = LIMITS["dingtalk"] - len(f"### {digest.title} (99/99)\n\n".encode())
    messages = []
    link = _first_link(digest.markdown)
    for title, part in _titled(digest.title, split_text(digest.markdown, budget)):
        text = f"### {title}\n\n{part}"
        if card and link:
            messages.append({"msgtype": "actionCard", "actionCard": {
                "title": title, "text": text, "singleTitle": "打开报告 Report",
                "singleURL": link}})
        else:
            messages.append({"msgtype": "markdown", "markdown": {"title": title, "text": text}})
    return messages


def _worst(digest: Digest) -> str:
    """The most severe level in the title's tally (after its last colon, so a brand or team
    name such as 中国 never counts)."""
    lowered = digest.title.replace("：", ":").rpartition(":")[2].lower()
    for severity, word in (("critical", "critical"), ("critical", "紧急"), ("high", "high"),
                           ("high", "高"), ("medium", "medium"), ("medium", "中")):
        if word in lowered:
            return severity
    return "low"


def feishu_payloads(digest: Digest) -> list[dict[str, Any]]:
    """Feishu interactive cards: a header with the title, the digest as a markdown element."""
    colour = _COLOURS[_worst(digest)]
    messages = []
    for title, part in _titled(digest.title, split_text(digest.markdown, LIMITS["feishu"])):
        messages.append({"msg_type": "interactive", "card": {
            "config": {"wide_screen_mode": True},
            "header": {"template": colour, "title": {"tag": "plain_text", "content": title}},
            "elements": [{"tag": "markdown", "content": part}],
        }})
    return messages


def wecom_payloads(digest: Digest) -> list[dict[str, Any]]:
    """WeCom markdown messages of at most 4,096 bytes each, title included."""
    budget = LIMITS["wecom"] - len(f"**{digest.title} (99/99)**\n".encode())
    return [{"msgtype": "markdown", "markdown": {"content": f"**{title}**\n{part}"}}
            for title, part in _titled(digest.title, split_text(digest.markdown, budget))]


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk's signature of ``timestamp_ms`` (not yet URL-encoded)."""
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(),
                      hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def feishu_sign(secret: str, timestamp_s: int) -> str:
    """Feishu's signature of ``timestamp_s``: the HMAC of nothing under key ts\\nsecret."""
    digest = hmac.new(f"{timestamp_s}\n{secret}".encode(), b"", hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def _requests(target: NativeTarget, digest: Digest, now: float
              ) -> list[tuple[str, dict[str, Any]]]:
    if target.platform == "dingtalk":
        url = f"{target.origin}/robot/send?access_token={quote(target.token, safe='')}"
        if target.secret:
            stamp = int(now * 1000)
            url += f"&timestamp={stamp}&sign={quote(dingtalk_sign(target.secret, stamp), safe='')}"
        return [(url, body) for body in dingtalk_payloads(digest, target.card)]
    if target.platform == "feishu":
        url = f"{target.origin}/open-apis/bot/v2/hook/{quote(target.token, safe='')}"
        bodies = feishu_payloads(digest)
        if target.secret:
            stamp = int(now)
            sign = feishu_sign(target.secret, stamp)
            bodies = [{"timestamp": str(stamp), "sign": sign, **body} for body in bodies]
        return [(url, body) for body in bodies]
    url = f"{target.origin}/cgi-bin/webhook/send?key={quote(target.token, safe='')}"
    return [(url, body) for body in wecom_payloads(digest)]


def _refusal(reply: httpx.Response) -> str | None:
    """None when the platform accepted the message, else its reason."""
    if reply.status_code >= 400:
        return f"HTTP {reply.status_code}"
    try:
        answer = reply.json()
    except ValueError:
        return f"HTTP {reply.status_code}: not a JSON answer"
    code = answer.get("errcode", answer.get("code", answer.get("StatusCode", 0)))
    if code in (0, "0", None):
        return None
    return f"error {code}: {answer.get('errmsg') or answer.get('msg') or ''}".strip()


@contextmanager
def _http_logs_masked(secrets: tuple[str, ...]) -> Iterator[None]:
    """httpx logs every request's URL (a DingTalk or WeCom URL holds the token): mask it in
    the records of httpx and httpcore (a filter acts only on its own logger's records, so it
    goes on each of their loggers) while a message is sent."""
    names = [name for name in logging.root.manager.loggerDict
             if name.split(".")[0] in ("httpx", "httpcore")]
    loggers = [logging.getLogger(name) for name in {"httpx", "httpcore", *names}]
    masking = MaskSecrets(secrets)
    for each in loggers:
        each.addFilter(masking)
    try:
        yield
    finally:
        for each in loggers:
            each.removeFilter(masking)


def send_native(
    target: ResolvedTarget, digest: Digest, *, attempts: int = 3, backoff_s: float = 2.0,
    backoff_max_s: float = 30.0, timeout_s: float = 10.0,
    sleep: Callable[[float], None] = time.sleep,
) -> SendOutcome:
    """Post every part of ``digest`` to the target; retry a part that fails (network, 5xx,
    refusal) with exponential backoff. Never raises; the message is free of secrets."""
    try:
        parsed = parse_native(target.url)
    except ValueError as err:
        return SendOutcome(False, 0, mask_secrets(f"target {target.label}: {err}",
                                                  target.secrets))
    secrets = tuple(s for s in (*target.secrets, parsed.token, parsed.secret) if s)
    tries = 0
    with _http_logs_masked(secrets), httpx.Client(timeout=timeout_s) as client:
        for index in range(len(_requests(parsed, digest, time.time()))):
            for attempt in range(1, attempts + 1):
                tries += 1
                # Signed anew for each try: DingTalk refuses a timestamp an hour old.
                url, body = _requests(parsed, digest, time.time())[index]
                reason = _post(client, url, body)
                if reason is None:
                    break
                if attempt == attempts:
                    message = mask_secrets(reason, secrets)
                    return SendOutcome(False, tries, f"target {target.label}: part {index + 1} "
                                                     f"failed after {attempt} tries: {message}")
                sleep(min(backoff_s * 2 ** (attempt - 1), backoff_max_s))
    return SendOutcome(True, tries, "sent")


def _post(client: httpx.Client, url: str, body: dict[str, Any]) -> str | None:
    try:
        reply = client.post(url, content=json.dumps(body, ensure_ascii=False).encode(),
                            headers={"Content-Type": "application/json; charset=utf-8"})
    except httpx.HTTPError as err:
        return f"{type(err).__name__}: {err}"
    return _refusal(reply)
