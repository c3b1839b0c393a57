"""The platforms' request signatures, exactly as their documentation computes them.

Each function is pure (secret and timestamp in, signature out) so the tests can check it
against vectors computed independently (with `openssl dgst`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from urllib.parse import quote_plus


def feishu_sign(secret: str, timestamp: int) -> str:
    """Feishu/Lark custom bot: HMAC-SHA256 keyed by "timestamp\\nsecret" over an empty
    message, base64. Sent as `timestamp` (seconds, a string) and `sign` in the JSON body."""
    key = f"{timestamp}\n{secret}".encode()
    return base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk custom bot: HMAC-SHA256 keyed by the secret over "timestamp\\nsecret",
    base64, then URL-encoded. Sent as `timestamp` (milliseconds) and `sign` query parameters;
    the value returned is already encoded for the query string."""
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256)
    return quote_plus(base64.b64encode(digest.digest()))


def generic_sign(secret: str, timestamp: int, body: bytes) -> str:
    """returnwatch's own signature for `generic` receivers: "sha256=" + hex HMAC-SHA256 of
    "timestamp." + body, sent as X-Returnwatch-Signature with X-Returnwatch-Timestamp. A
    receiver recomputes it and rejects old timestamps to stop replays."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()
