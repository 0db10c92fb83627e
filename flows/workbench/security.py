"""Who may use the workbench, and forms no other site can submit.

Decisions:

* On loopback (127.0.0.1, ::1, localhost) only the planner's own machine can connect: no
  login. Bound anywhere else the workbench requires a login whose user and password are read
  from the environment variables the config names (``workbench.user_env``,
  ``workbench.password_env``); without both it refuses to start.
* Sessions live in the server's memory (a restart logs everybody out), behind a random
  cookie that is ``HttpOnly`` and ``SameSite=Strict``; a login gets a new session id.
* Every form carries the session's CSRF token (compared in constant time), and a request
  whose ``Origin`` names another site is refused: a page elsewhere cannot approve or send.
* Passwords are compared in constant time and never logged or shown.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import secrets
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from flows.config import WorkbenchSettings
from flows.errors import UserError

__all__ = ["COOKIE", "Credentials", "Session", "Sessions", "credentials_for", "is_loopback",
           "same_origin"]

COOKIE = "replenish_workbench"


def is_loopback(host: str) -> bool:
    """Whether ``host`` is this machine only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class Credentials:
    """The one login of an exposed workbench."""

    user: str
    password: str = field(repr=False)

    def check(self, user: str, password: str) -> bool:
        same_user = hmac.compare_digest(user.encode(), self.user.encode())
        same_password = hmac.compare_digest(password.encode(), self.password.encode())
        return same_user and same_password


def credentials_for(host: str, settings: WorkbenchSettings,
                    env: Mapping[str, str] | None = None) -> Credentials | None:
    """None on loopback; else the login from the environment, or a :class:`UserError`."""
    if is_loopback(host):
        return None
    environ = os.environ if env is None else env
    user = environ.get(settings.user_env, "")
    password = environ.get(settings.password_env, "")
    if not user or not password:
        raise UserError(
            f"refusing to serve the workbench on {host} without a login: set the environment "
            f"variables {settings.user_env} and {settings.password_env} (user and password), "
            "or bind to 127.0.0.1")
    return Credentials(user, password)


@dataclass
class Session:
    """One browser: its CSRF token, who logged in, its language and a message to show."""

    csrf: str
    user: str | None = None
    locale: str | None = None
    flash: list[str] = field(default_factory=list)


class Sessions:
    """Sessions by cookie value, in memory."""

    def __init__(self) -> None:
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    def get(self, token: str | None) -> tuple[str, Session]:
        """The session of ``token``, or a new one (with its new token)."""
        with self._lock:
            if token and token in self._sessions:
                return token, self._sessions[token]
            token = secrets.token_urlsafe(32)
            self._sessions[token] = Session(csrf=secrets.token_urlsafe(32))
            return token, self._sessions[token]

    def renew(self, token: str) -> str:
        """Move a session to a new token (after a login), with a new CSRF token."""
        with self._lock:
            session = self._sessions.pop(token)
            session.csrf = secrets.token_urlsafe(32)
            fresh = secrets.token_urlsafe(32)
            self._sessions[fresh] = session
            return fresh

    def drop(self, token: str) -> None:
        with self._lock:
            self._sessions.pop(token, None)


def same_origin(origin: str | None, host: str | None) -> bool:
    """Whether a request's ``Origin`` (absent: a same-site form in older browsers) is the
    workbench itself."""
    if not origin:
        return True
    if origin == "null" or host is None:
        return False
    return urlsplit(origin).netloc.lower() == host.lower()
