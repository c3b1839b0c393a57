"""The 抖店 access token over time: renewing it, keeping the new pair, and its health.

An access token lasts 7 days and the refresh token that comes with it 14; a refresh token
is single use (token.refresh answers a new pair and spends the old refresh token). An
unattended nightly pull therefore renews the token itself and must keep the new pair, or
the next night starts from a spent refresh token:

- `TokenKeeper` holds the tokens a pull uses. The client asks it to `renew` when the
  platform refuses the access token as expired or superseded (or before the first call,
  when the stored token is known to have expired): token.refresh with the refresh token,
  or, for a self-use app (`self_use_shop_id`), token.create with grant_type
  authorization_self. The new pair is written to the `TokenStore` at once.
- `TokenStore` is a small JSON file next to the warehouse (`[source.api] token_file`),
  written atomically with mode 0600. Not the warehouse itself: analysts open that file
  and it is published to a share, and a token does not belong there. A stored pair takes
  precedence over the configured tokens until those change: the file keeps a keyed hash
  (HMAC with the app secret) of the configured values it was derived from, and a
  different hash means someone authorised again and configured a new token.
- `token_health` says how long the refresh token has left, for the night's data-health
  line three days before it expires (code `token_expiring`, `alerts.digest.api_token`).

No token is ever printed, logged or put in a message: `TokenPair` and `TokenKeeper`
mask them in their repr, and every token is registered with the project's scrubber.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import os
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

from returnwatch import redact
from returnwatch.sources.doudian_api import constants as c
from returnwatch.sources.doudian_api.credentials import resolve_credentials
from returnwatch.sources.doudian_api.exceptions import (
    DoudianApiError,
    TokenExpiredError,
    TokenRefreshFailed,
    TransientApiError,
)

if TYPE_CHECKING:
    from returnwatch.settings import Settings


class DoudianClient(Protocol):
    """What renewing needs of the client (client.py, which imports this module): one
    unauthenticated signed call."""

    def call(self, path: str, params: Mapping[str, Any], *, authenticated: bool = True) -> Any: ...


log = logging.getLogger(__name__)

Clock = Callable[[], float]
DAY = 86_400
STORE_FORMAT = 1
DEFAULT_TOKEN_FILE = "doudian_token.json"


def token_file(settings: Settings) -> Path:
    """Where the renewed pair is kept: `[source.api] token_file`, else next to the
    warehouse file."""
    return Path(settings.source.api.token_file or settings.db.parent / DEFAULT_TOKEN_FILE)


@dataclass(frozen=True)
class TokenPair:
    """An access token, its refresh token, and when each expires (epoch seconds; None
    when unknown: a configured token's age is not known until it is first renewed)."""

    access_token: str
    refresh_token: str
    access_expires_at: float | None
    refresh_expires_at: float | None
    obtained_at: float | None

    def __repr__(self) -> str:
        return (
            f"TokenPair(access_token='***', refresh_token='***', "
            f"access_expires_at={self.access_expires_at}, "
            f"refresh_expires_at={self.refresh_expires_at})"
        )

    @classmethod
    def from_answer(cls, data: Mapping[str, Any], now: float) -> TokenPair:
        """The `data` of a token.create / token.refresh answer."""
        access = str(data.get("access_token") or "")
        if not access:
            raise TokenRefreshFailed("the answer carries no access_token")
        try:
            expires_in = float(data.get("expires_in") or c.ACCESS_TOKEN_DAYS * DAY)
        except (TypeError, ValueError):
            expires_in = c.ACCESS_TOKEN_DAYS * DAY
        return cls(
            access_token=access,
            refresh_token=str(data.get("refresh_token") or ""),
            access_expires_at=now + expires_in,
            refresh_expires_at=now + c.REFRESH_TOKEN_DAYS * DAY,
            obtained_at=now,
        )


def fingerprint(
    app_key: str,
    app_secret: str,
    access_token: str,
    refresh_token: str,
    self_use_shop_id: str,
) -> str:
    """A keyed hash of the configured tokens: tells a stored pair derived from them from
    one a person has since replaced. Keyed with the app secret, so the file does not let
    anyone test a guessed token."""
    message = "\0".join((app_key, access_token, refresh_token, self_use_shop_id))
    return hmac.new(app_secret.encode(), message.encode(), hashlib.sha256).hexdigest()


class TokenStore:
    """The token file: one entry per app_key, each with the fingerprint of the configured
    tokens it supersedes."""

    def __init__(self, path: Path, app_key: str, configured: str):
        self.path = Path(path)
        self.app_key = app_key
        self.configured = configured

    def load(self) -> TokenPair | None:
        """The stored pair, if there is one for this app and the configuration it was
        derived from has not changed since."""
        entry = self._entries().get(self.app_key)
        if not isinstance(entry, dict) or entry.get("configured") != self.configured:
            return None
        if not entry.get("access_token"):
            return None
        return TokenPair(
            access_token=str(entry["access_token"]),
            refresh_token=str(entry.get("refresh_token") or ""),
            access_expires_at=_float(entry.get("access_expires_at")),
            refresh_expires_at=_float(entry.get("refresh_expires_at")),
            obtained_at=_float(entry.get("obtained_at")),
        )

    def save(self, pair: TokenPair) -> None:
        """Write the pair atomically (temporary file, mode 0600, then rename)."""
        entries = self._entries()
        entries[self.app_key] = {
            "configured": self.configured,
            "access_token": pair.access_token,
            "refresh_token": pair.refresh_token,
            "access_expires_at": pair.access_expires_at,
            "refresh_expires_at": pair.refresh_expires_at,
            "obtained_at": pair.obtained_at,
        }
        document = {"format": STORE_FORMAT, "apps": entries}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=".doudian-token-", dir=self.path.parent)
        try:
            os.fchmod(handle, 0o600)
            with os.fdopen(handle, "w", encoding="utf-8") as fh:
                json.dump(document, fh)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(temporary, self.path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def _entries(self) -> dict[str, Any]:
        try:
            document = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            log.warning("the 抖店 token file %s is unreadable (%s); ignored", self.path, exc)
            return {}
        apps = document.get("apps") if isinstance(document, dict) else None
        return dict(apps) if isinstance(apps, dict) else {}


class TokenKeeper:
    """The tokens one pull uses, renewed when the platform refuses the access token.

    `renewals` counts the renewals of this pull (the summary says so, never the token).
    """

    def __init__(
        self,
        *,
        configured_access: str,
        configured_refresh: str,
        self_use_shop_id: str,
        store: TokenStore | None,
        clock: Clock | None = None,
    ):
        self.store = store
        self.clock = clock or time.time
        self.self_use_shop_id = self_use_shop_id
        stored = store.load() if store is not None else None
        self.from_store = stored is not None
        self.pair = stored or TokenPair(configured_access, configured_refresh, None, None, None)
        self.renewals = 0
        for token in (self.pair.access_token, self.pair.refresh_token):
            if token:
                redact.register("", token)

    def __repr__(self) -> str:
        return f"TokenKeeper(from_store={self.from_store}, renewals={self.renewals})"

    @property
    def access_token(self) -> str:
        return self.pair.access_token

    @property
    def can_renew(self) -> bool:
        return bool(self.self_use_shop_id or self.pair.refresh_token)

    def needs_renewal(self) -> bool:
        """No access token yet, or the stored one is known to expire within minutes."""
        if not self.pair.access_token:
            return True
        expires = self.pair.access_expires_at
        return expires is not None and expires - self.clock() <= c.RENEW_MARGIN_SECONDS

    def renew(self, client: DoudianClient) -> str:
        """A new access token from the platform, stored before it is used; returns it.

        Raises TokenRefreshFailed (with what to do) when the platform refuses: the refresh
        token expired or was already spent, or the shop's authorisation is gone.
        """
        if self.self_use_shop_id:
            shop = self.self_use_shop_id
            path, params = (
                c.TOKEN_CREATE_PATH,
                {
                    "code": "",
                    "grant_type": "authorization_self",
                    "shop_id": int(shop) if shop.isdigit() else shop,
                },
            )
        elif self.pair.refresh_token:
            path, params = (
                c.TOKEN_REFRESH_PATH,
                {"grant_type": "refresh_token", "refresh_token": self.pair.refresh_token},
            )
        else:
            raise TokenExpiredError("no refresh token to renew it with")
        try:
            response = client.call(path, params, authenticated=False)
        except TransientApiError:
            raise  # the platform did not answer: the refresh token may still be good
        except TokenRefreshFailed:
            raise
        except DoudianApiError as error:
            raise TokenRefreshFailed(
                error.message, code=error.code, sub_code=error.sub_code, log_id=error.log_id
            ) from None
        pair = TokenPair.from_answer(response.data, self.clock())
        if not pair.refresh_token:  # token.create may not repeat it; keep the one we have
            pair = TokenPair(
                pair.access_token,
                self.pair.refresh_token,
                pair.access_expires_at,
                self.pair.refresh_expires_at,
                pair.obtained_at,
            )
        for token in (pair.access_token, pair.refresh_token):
            if token:
                redact.register("", token)
        if self.store is not None:
            self.store.save(pair)  # before use: the old refresh token is already spent
        self.pair = pair
        self.renewals += 1
        log.info("the 抖店 access token was renewed (%s)", method_label(path))
        return pair.access_token


def method_label(path: str) -> str:
    return path.strip("/").replace("/", ".")


# --- health -----------------------------------------------------------------------------

HealthStatus = Literal["ok", "expiring", "expired", "unknown", "not_configured"]


@dataclass(frozen=True)
class TokenHealth:
    """How long the API source can keep renewing its own token.

    `code` is "token_expiring" when a person must act soon (the data-health code);
    `what_failed` / `what_to_do` are the words of the chat notice.
    """

    status: HealthStatus
    refresh_expires_at: dt.datetime | None = None
    days_left: float | None = None
    detail: str = ""

    @property
    def code(self) -> str | None:
        return "token_expiring" if self.status in ("expiring", "expired") else None

    @property
    def needs_action(self) -> bool:
        return self.code is not None

    @property
    def what_failed(self) -> str:
        until = f"{self.refresh_expires_at:%Y-%m-%d %H:%M}" if self.refresh_expires_at else "?"
        if self.status == "expired":
            return f"抖店 API 授权已过期（refresh token 于 {until} 到期），无法再自动续期"
        days = max(0, int(self.days_left or 0))
        return f"抖店 API 授权即将过期：refresh token 还剩 {days} 天（{until} 到期）"

    @property
    def what_to_do(self) -> str:
        return (
            "请在抖店后台重新授权应用（抖店开放平台 / 服务市场 → 授权管理），"
            f"再把新的 refresh token 配置到 {c.ENV_REFRESH_TOKEN}（或 [source.api] refresh_token）。"
            " Authorise the app again in the 抖店 backend and set the new refresh token."
        )


def token_health(
    settings: Settings,
    *,
    now: float | None = None,
    secret_loader: Callable[[str], str] | None = None,
) -> TokenHealth:
    """The health of the API source's token from the token file: "expiring" within
    REFRESH_WARN_DAYS of the refresh token's end, "expired" after it, "unknown" when no
    renewal has been stored yet (a configured token's age is not known), "ok" otherwise
    and for self-use apps (they create a token whenever they need one)."""
    api = settings.source.api
    if not api.app_key:
        return TokenHealth("not_configured")
    if api.self_use_shop_id:
        return TokenHealth("ok", detail="self-use app: a token is created when needed")
    credentials = resolve_credentials(api, secret_loader)
    store = TokenStore(
        token_file(settings), credentials.app_key, configured_fingerprint(credentials)
    )
    pair = store.load()
    if pair is None or pair.refresh_expires_at is None:
        return TokenHealth("unknown", detail="no renewal stored yet")
    moment = time.time() if now is None else now
    left = (pair.refresh_expires_at - moment) / DAY
    until = dt.datetime.fromtimestamp(pair.refresh_expires_at).astimezone()
    if left <= 0:
        return TokenHealth("expired", until, left)
    if left <= c.REFRESH_WARN_DAYS:
        return TokenHealth("expiring", until, left)
    return TokenHealth("ok", until, left)


def configured_fingerprint(credentials: Any) -> str:
    return fingerprint(
        credentials.app_key,
        credentials.app_secret,
        credentials.access_token,
        credentials.refresh_token,
        credentials.self_use_shop_id,
    )


def _float(value: Any) -> float | None:
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None
