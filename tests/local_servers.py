"""Real servers on 127.0.0.1 for tests: an HTTP receiver (webhooks) and an SMTP server."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller

__all__ = ["HttpReceiver", "Request", "SmtpServer", "free_port", "http_receiver", "smtp_server"]


def free_port() -> int:
    """A TCP port nothing listens on (bound and released at once)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Request:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


# What the chat services answer on success; Slack reads "ok", DingTalk/WeCom "errcode".
OK_REPLY = (200, b'{"ok": true, "errcode": 0, "code": 0, "msg": "success"}')


@dataclass
class HttpReceiver:
    """Records every POST; ``reply`` decides the status and body of each answer."""

    url: str
    requests: list[Request] = field(default_factory=list)
    reply: Callable[[Request], tuple[int, bytes]] = lambda _request: OK_REPLY


@contextmanager
def http_receiver() -> Iterator[HttpReceiver]:
    receiver: HttpReceiver

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            request = Request(self.path, dict(self.headers.items()), self.rfile.read(length))
            receiver.requests.append(request)
            status, body = receiver.reply(request)
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver = HttpReceiver(url=f"127.0.0.1:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@dataclass
class SmtpServer:
    host: str
    port: int
    messages: list[tuple[str, list[str], EmailMessage]] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)  # replies given before accepting again

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refusals:
            return self.refusals.pop(0)
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), parsed))
        return "250 Message accepted"


@contextmanager
def smtp_server() -> Iterator[SmtpServer]:
    """An aiosmtpd server on a free loopback port, keeping (from, recipients, message)."""
    handler = SmtpServer("127.0.0.1", free_port())
    controller = Controller(handler, hostname=handler.host, port=handler.port)
    controller.start()
    try:
        yield handler
    finally:
        controller.stop()
