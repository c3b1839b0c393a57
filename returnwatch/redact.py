"""Keeping webhook URLs, signing secrets and API tokens out of every log line and stored error.

WeCom and DingTalk URLs embed the bot's key, Feishu and Slack URLs are the key, the 抖店
API client holds an app secret and an access token; urllib3 logs the request line (path
and query) at DEBUG and requests puts the URL in its exception messages. So every
channel's secrets (and the API client's) are registered here when it is built, `scrub`
removes them from any text, and a log filter on urllib3's loggers scrubs their records
before any handler sees them. Core, not alerts/: sources/ (below alerts) needs it too.
"""

from __future__ import annotations

import logging
import re
import threading
from urllib.parse import parse_qsl, urlsplit

MASK = "***"
_MIN_SECRET_CHARS = 6  # shorter fragments ('send', '1') would mask harmless words

_lock = threading.Lock()
_secrets: set[str] = set()
# Query parameters that carry credentials on the platforms we know, even if unregistered.
_QUERY_SECRET = re.compile(
    r"(?<![\w-])((?:access_token|key|token|sign)=)[^&\s'\"<>]+", re.IGNORECASE
)
_URLLIB3_LOGGERS = (
    "urllib3",
    "urllib3.connectionpool",
    "urllib3.connection",
    "urllib3.poolmanager",
    "urllib3.response",
    "urllib3.util.retry",
    "requests",
)


def register(url: str, secret: str | None = None) -> None:
    """Remember the secret parts of a webhook: the URL, its path and query, each query
    value and the signing secret."""
    parts = urlsplit(url)
    found = {url, parts.query, parts.path + ("?" + parts.query if parts.query else "")}
    found.update(value for _, value in parse_qsl(parts.query))
    found.update(segment for segment in parts.path.split("/") if len(segment) >= 16)
    if parts.path not in ("", "/"):
        found.add(parts.path)
    if secret:
        found.add(secret)
    with _lock:
        _secrets.update(s for s in found if len(s) >= _MIN_SECRET_CHARS)


def scrub(text: str) -> str:
    """`text` with every registered secret (and any credential-looking query value) masked."""
    with _lock:
        known = sorted(_secrets, key=len, reverse=True)
    for secret in known:
        if secret in text:
            text = text.replace(secret, MASK)
    return _QUERY_SECRET.sub(lambda m: m.group(1) + MASK, text)


class ScrubFilter(logging.Filter):
    """Rewrites a log record's message with `scrub` (the record stays, its secrets go)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = scrub(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


_FILTER = ScrubFilter()


def install_log_filter() -> None:
    """Attach the scrubbing filter to urllib3's and requests' loggers (idempotent).

    A filter on a logger applies to the records that logger creates, so each module
    logger is named; handlers (pytest's caplog, a file) then only ever see scrubbed text.
    """
    for name in _URLLIB3_LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
