"""Resolving configured targets to URLs, and delivering one message to one target.

Secrets live only in the environment: a target's URL is expanded at send time and is never
logged, returned or written; logs, results and the ledger use the target's *label*. Apprise
itself logs what it thinks of a URL (a malformed DingTalk token was printed in full in its
warning), so while a target is loaded and sent to, every record of Apprise's logger has the
target's secrets masked (:func:`mask_secrets`: at most the first 4 characters of a long secret,
nothing of a short one), and so has every message we return.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, unquote

import apprise
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_result,
    stop_after_attempt,
    wait_exponential,
)

from flows.config import NotifyTarget
from flows.errors import UserError
from flows.outbound.notify.digest import Digest
from flows.storage.exports import atomic_write, safe_filename

__all__ = [
    "FILE_SINK_SCHEME",
    "MaskSecrets",
    "ResolvedTarget",
    "SendOutcome",
    "TargetError",
    "file_sink_path",
    "mask_secret",
    "mask_secrets",
    "resolve_target",
    "send_apprise",
    "target_label",
    "write_file_sink",
]

FILE_SINK_SCHEME = "digest"
_PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_TIMEOUT_PARAMS = ("cto", "rto")  # Apprise's connect and read timeouts, in seconds
_SHOWN_CHARS = 4  # of a secret, at most
_SHOW_FROM_LENGTH = 12  # shorter secrets show nothing: 4 of 8 characters is half a secret
_MIN_PART = 4  # pieces of a secret (split at / : @ & = ...) that are masked on their own
_SEPARATORS = re.compile(r"[/:@?&=#,;\s]+")
logger = logging.getLogger(__name__)


class TargetError(UserError, ValueError):
    """A target that cannot be used as configured (message is free of secrets)."""


@dataclass(frozen=True)
class ResolvedTarget:
    """A target ready to use. ``url`` may hold secrets: never log or store it."""

    label: str
    url: str
    secrets: tuple[str, ...]

    @property
    def is_file_sink(self) -> bool:
        return self.url.startswith(f"{FILE_SINK_SCHEME}://")


@dataclass(frozen=True)
class SendOutcome:
    ok: bool
    attempts: int
    message: str


def target_label(target: NotifyTarget) -> str:
    """A name for the target that reveals no secret."""
    if target.name:
        return target.name
    if target.url_env:
        return f"${{{target.url_env}}}"
    url = target.url or ""
    scheme = url.split("://", 1)[0]
    if scheme == FILE_SINK_SCHEME or _PLACEHOLDER.search(url):
        # Secrets sit behind the placeholders, so the unexpanded URL is safe to show.
        return url
    return f"{scheme}://…#{hashlib.sha256(url.encode()).hexdigest()[:8]}"


def resolve_target(target: NotifyTarget, env: Mapping[str, str]) -> ResolvedTarget:
    """Expand the target's URL from ``env``; :class:`TargetError` names a missing variable."""
    label = target_label(target)
    secrets: list[str] = []
    if target.url_env:
        url = env.get(target.url_env, "")
        if not url:
            raise TargetError(f"target {label}: environment variable {target.url_env} is not set")
        secrets.append(url)
    else:
        url = target.url or ""

        def expand(match: re.Match[str]) -> str:
            name = match.group(1)
            if not env.get(name):
                raise TargetError(f"target {label}: environment variable {name} is not set")
            secrets.append(env[name])
            return env[name]

        url = _PLACEHOLDER.sub(expand, url)
    return ResolvedTarget(label=label, url=url, secrets=tuple(secrets))


def file_sink_path(url: str, output_dir: Path, team: str) -> Path:
    """Where ``digest://[NAME]`` writes: NAME (or ``digest-<team>.md``) in ``output_dir``."""
    name = url[len(f"{FILE_SINK_SCHEME}://"):].strip("/")
    if not name:
        return output_dir / f"digest-{safe_filename(team)}.md"
    if "/" in name or "\\" in name or name in {".", ".."} or "digest" not in name.lower():
        raise TargetError(
            f"target {url}: expected a bare file name containing 'digest' (e.g. "
            f"{FILE_SINK_SCHEME}://digest.md), written in the run's output folder"
        )
    return output_dir / name


def write_file_sink(path: Path, digest: Digest) -> None:
    """Write the digest as Markdown, atomically (a reader never sees half a digest)."""
    with atomic_write(path, "w") as handle:
        handle.write(f"# {digest.title}\n\n{digest.markdown}")


def mask_secret(secret: str) -> str:
    """``abcd***`` for a long secret, ``***`` for a short one."""
    return f"{secret[:_SHOWN_CHARS]}***" if len(secret) >= _SHOW_FROM_LENGTH else "***"


def _forms(secret: str) -> set[str]:
    """The secret as it may appear in a message: whole, URL-quoted or unquoted, and the
    pieces a URL parser cuts it into (Apprise names a token's path parts one by one)."""
    forms = {secret, unquote(secret), quote(secret, safe="")}
    for form in list(forms):
        forms |= {part for part in _SEPARATORS.split(form) if len(part) >= _MIN_PART}
    return {form for form in forms if form}


def mask_secrets(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every form of every secret masked (longest first)."""
    forms = sorted({form for secret in secrets if secret for form in _forms(secret)},
                   key=len, reverse=True)
    for form in forms:
        text = text.replace(form, mask_secret(form))
    return text


class MaskSecrets(logging.Filter):
    """Masks secrets in the records of the logger it is added to."""

    def __init__(self, secrets: tuple[str, ...]) -> None:
        super().__init__()
        self.secrets = secrets

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_secrets(message, self.secrets)
        if masked != message:
            record.msg, record.args = masked, None
        return True


@contextmanager
def _apprise_logs_masked(secrets: tuple[str, ...]) -> Iterator[None]:
    apprise_logger = logging.getLogger("apprise")  # every Apprise plugin logs here
    masking = MaskSecrets(secrets)
    apprise_logger.addFilter(masking)
    try:
        yield
    finally:
        apprise_logger.removeFilter(masking)


def _with_timeouts(url: str, timeout_s: float) -> str:
    extra = [f"{p}={timeout_s:g}" for p in _TIMEOUT_PARAMS if not re.search(rf"[?&]{p}=", url)]
    if not extra:
        return url
    return url + ("&" if "?" in url else "?") + "&".join(extra)


def _body_for(plugin: apprise.plugins.NotifyBase, digest: Digest) -> tuple[str, str]:
    """Markdown where the service renders it (or converts it to HTML), plain text elsewhere."""
    declared = plugin.notify_format
    formats = declared if isinstance(declared, tuple) else (declared,)
    if apprise.NotifyFormat.MARKDOWN in formats or apprise.NotifyFormat.HTML in formats:
        return digest.markdown, apprise.NotifyFormat.MARKDOWN
    return digest.text, apprise.NotifyFormat.TEXT


def send_apprise(
    target: ResolvedTarget,
    digest: Digest,
    *,
    attempts: int = 3,
    backoff_s: float = 2.0,
    backoff_max_s: float = 30.0,
    timeout_s: float = 10.0,
) -> SendOutcome:
    """Send ``digest`` to one Apprise URL, retrying with exponential backoff. Never raises.

    Apprise's log records are masked (:func:`mask_secrets`) while it loads and sends."""
    with _apprise_logs_masked(target.secrets):
        return _send_apprise(target, digest, attempts=attempts, backoff_s=backoff_s,
                             backoff_max_s=backoff_max_s, timeout_s=timeout_s)


def _send_apprise(
    target: ResolvedTarget, digest: Digest, *, attempts: int, backoff_s: float,
    backoff_max_s: float, timeout_s: float,
) -> SendOutcome:
    # Apprise's persistent store would write cache files; a run keeps no state there.
    client = apprise.Apprise(asset=apprise.AppriseAsset(storage_mode="memory"))
    if not client.add(_with_timeouts(target.url, timeout_s)):
        return SendOutcome(False, 0, f"target {target.label}: not a valid Apprise URL (see "
                                     "the warning above; secrets are masked)")
    body, body_format = _body_for(client[0], digest)
    reasons: list[str] = []

    def attempt() -> bool:
        try:
            with apprise.LogCapture(level=logging.WARNING, fmt="%(message)s") as captured:
                ok = bool(client.notify(body=body, title=digest.title, body_format=body_format))
            if not ok:
                reasons.append(captured.getvalue().strip() or "the service refused the message")
            return ok
        except Exception as err:  # a plugin bug must not end the run
            reasons.append(f"{type(err).__name__}: {err}")
            return False

    def last_result(state: RetryCallState) -> bool:
        return bool(state.outcome and state.outcome.result())

    retrying = Retrying(
        stop=stop_after_attempt(attempts),
        wait=wait_exponential(multiplier=backoff_s, max=backoff_max_s),
        retry=retry_if_result(lambda ok: not ok),
        retry_error_callback=last_result,
    )
    ok = retrying(attempt)
    tries = retrying.statistics.get("attempt_number", 1)
    if ok:
        return SendOutcome(True, tries, "sent")
    last = mask_secrets(reasons[-1] if reasons else "unknown error", target.secrets)
    last = " ".join(last.splitlines()[-3:])
    logger.warning("notification to %s failed after %d tries: %s", target.label, tries, last)
    return SendOutcome(False, tries, f"target {target.label}: failed after {tries} tries: {last}")
