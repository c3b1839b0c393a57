"""HTTP for the 抖店 Open Platform: signing, the envelope, paging and retries.

One request is `POST {base_url}/{path}?app_key&method&timestamp&v=2&sign_method&sign&
access_token` with the body `param_json`: compact JSON, keys sorted, not ASCII- or
HTML-escaped. The signature is hex(HMAC-SHA256(key=app_secret, app_secret + "app_key" +
app_key + "method" + method + "param_json" + param_json + "timestamp" + timestamp + "v2" +
app_secret)); the access token is not signed.

The answer is an envelope (`code`, `msg`, `sub_code`, `sub_msg`, `log_id`, `data`); code
10000 is success and errors come with HTTP 200; they are classed by the platform's base
error table (code, then sub_code, then words: `_classify`). Network errors, HTTP 5xx,
20000/20001 and throttling (60000) are retried by the project's one retry policy
(`returnwatch.retrying`; sleep, clock and randomness are injectable, so tests never wait).
An expired or superseded access token is renewed through the `TokenKeeper` (tokens.py)
and the call made again; a token that cannot be renewed or a refused signature raises at
once with a message that says what to fix.

Secrets never leave this module in text: the sign and the token travel in the query
string, so no URL with a query is ever logged or put in an error, exceptions from
`requests` are re-raised as our own (not chained: their text holds the URL), and the
urllib3 loggers get the project's scrubbing filter.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import random
import re
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from returnwatch import redact
from returnwatch.errors import short_error
from returnwatch.retrying import RetryPolicy, Verdict
from returnwatch.settings import ApiSourceSettings
from returnwatch.sources.doudian_api import constants as c
from returnwatch.sources.doudian_api.credentials import (  # noqa: F401 (re-exported)
    Credentials,
    SecretLoader,
    load_prefect_secret,
    resolve_credentials,
)
from returnwatch.sources.doudian_api.exceptions import (
    DoudianApiError,
    RateLimitedError,
    SignatureRejectedError,
    TokenExpiredError,
    TokenRefreshFailed,
    TransientApiError,
)
from returnwatch.sources.doudian_api.tokens import (
    TokenKeeper,
    TokenStore,
    configured_fingerprint,
)
from returnwatch.sources.doudian_api.values import as_int, as_text

log = logging.getLogger(__name__)

Sleep = Callable[[float], None]
Clock = Callable[[], float]

_QUERY = re.compile(r"\?[^\s'\"<>)]*")


# --- signing (pure) ----------------------------------------------------------------------


def method_name(path: str) -> str:
    """`/afterSale/List` → `afterSale.List`, the `method` query parameter."""
    return path.strip("/").replace("/", ".")


def param_json(params: Mapping[str, Any]) -> str:
    """The body: compact JSON with keys sorted at every level, UTF-8 text kept as is.

    Python's json never HTML-escapes `<`, `>` or `&` (Go's does unless told not to; the
    platform's SDK turns it off), so the text signed is exactly the text sent.
    """
    return json.dumps(params, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def string_to_sign(app_key: str, method: str, body: str, timestamp: str) -> str:
    return f"app_key{app_key}method{method}param_json{body}timestamp{timestamp}v{c.API_VERSION}"


def sign(app_key: str, app_secret: str, method: str, body: str, timestamp: str) -> str:
    """hex(HMAC-SHA256(key=app_secret, app_secret + string_to_sign + app_secret))."""
    message = app_secret + string_to_sign(app_key, method, body, timestamp) + app_secret
    return hmac.new(app_secret.encode(), message.encode(), hashlib.sha256).hexdigest()


# --- the client --------------------------------------------------------------------------


@dataclass(frozen=True)
class Response:
    """A successful envelope: `data` and the platform's `log_id`."""

    data: dict[str, Any]
    log_id: str | None


@dataclass(frozen=True)
class Page:
    """One page of a list call. `number` is the API's 0-based page."""

    number: int
    items: list[dict[str, Any]]
    total: int
    size: int
    response: Response
    params: dict[str, Any]

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))


class DoudianClient:
    """Signed calls to the platform, retried as `ApiSourceSettings` says.

    `sleep`, `clock` (for the request timestamp) and `rng` (for jitter) are injectable;
    `retries` counts the waits taken, for the pull summary.
    """

    def __init__(
        self,
        credentials: Credentials,
        *,
        base_url: str,
        session: requests.Session | None = None,
        timeout: float = 30.0,
        max_attempts: int = 6,
        backoff_initial: float = 1.0,
        backoff_max: float = 60.0,
        sleep: Sleep | None = None,
        clock: Clock | None = None,
        rng: random.Random | None = None,
        tokens: TokenKeeper | None = None,
    ):
        self.credentials = credentials
        # The token in use: the keeper's (stored or renewed) when there is one.
        self.tokens = tokens
        self.access_token = tokens.access_token if tokens else credentials.access_token
        self.base_url = base_url.rstrip("/")
        self.session = session or requests.Session()
        self.timeout = timeout
        self.policy = RetryPolicy(max(1, max_attempts), backoff_initial, backoff_max)
        self.sleep = sleep or time.sleep
        self.clock = clock or time.time
        self.rng = rng or random.Random()
        self.requests = 0
        self.retries = 0
        # Registered with the project's scrubber too: urllib3 logs request lines (with
        # the query) at DEBUG, and its filter masks them before any handler sees them.
        for secret in (
            credentials.access_token,
            credentials.app_secret,
            credentials.refresh_token,
            self.access_token,
        ):
            if secret:
                redact.register("", secret)
        redact.install_log_filter()

    @classmethod
    def from_settings(
        cls,
        api: ApiSourceSettings,
        *,
        session: requests.Session | None = None,
        sleep: Sleep | None = None,
        secret_loader: SecretLoader | None = None,
        rng: random.Random | None = None,
        token_file: Path | None = None,
        clock: Clock | None = None,
    ) -> DoudianClient:
        """A client for `[source.api]`; with `token_file`, renewed tokens are kept there
        and a stored pair is used in preference to the configured tokens (tokens.py)."""
        credentials = resolve_credentials(api, secret_loader)
        store = (
            TokenStore(token_file, credentials.app_key, configured_fingerprint(credentials))
            if token_file is not None
            else None
        )
        keeper = TokenKeeper(
            configured_access=credentials.access_token,
            configured_refresh=credentials.refresh_token,
            self_use_shop_id=credentials.self_use_shop_id,
            store=store,
            clock=clock,
        )
        return cls(
            credentials,
            base_url=api.base_url,
            session=session,
            timeout=api.timeout_seconds,
            max_attempts=api.max_attempts,
            backoff_initial=api.backoff_initial_seconds,
            backoff_max=api.backoff_max_seconds,
            sleep=sleep,
            clock=clock,
            rng=rng,
            tokens=keeper,
        )

    # -- scrubbing --

    def scrub(self, text: str) -> str:
        """`text` without the tokens, the secret, a signature or any query string."""
        secrets = (
            self.access_token,
            self.credentials.access_token,
            self.credentials.refresh_token,
            self.credentials.app_secret,
        )
        for secret in secrets:
            if secret:
                text = text.replace(secret, "***")
        return redact.scrub(_QUERY.sub("?…", text))

    def url(self, path: str) -> str:
        """The endpoint as it may be logged: never with its query string."""
        return f"{self.base_url}/{path.strip('/')}"

    # -- one call --

    def call(self, path: str, params: Mapping[str, Any], *, authenticated: bool = True) -> Response:
        """One API call, retried on transient failures (the project's one retry policy,
        `returnwatch.retrying`); returns the envelope's data.

        When the platform refuses the access token as expired or superseded and a
        `TokenKeeper` can renew it, the token is renewed (once) and the call made again,
        so a pull carries on past the expiry. `authenticated=False` sends no access token
        (token.create / token.refresh).
        """
        if authenticated and self.tokens is not None and self.tokens.needs_renewal():
            self.renew()
        try:
            return self._call_retried(path, params, authenticated)
        except TokenExpiredError as error:
            if not (authenticated and error.refreshable and self._can_renew()):
                raise
            log.info("%s: the access token was refused (%s); renewing it", path, error.sub_code)
            self.renew()
            return self._call_retried(path, params, authenticated)

    def _can_renew(self) -> bool:
        return self.tokens is not None and self.tokens.can_renew

    def renew(self) -> None:
        """A new access token from the keeper (token.refresh / token.create)."""
        if self.tokens is None:
            raise TokenExpiredError("no token keeper")
        self.access_token = self.tokens.renew(self)
        redact.register("", self.access_token)

    def _call_retried(self, path: str, params: Mapping[str, Any], authenticated: bool) -> Response:
        method = method_name(path)
        attempts = 0

        def attempt() -> Response:
            nonlocal attempts
            attempts += 1
            try:
                return self._call_once(path, method, params, authenticated)
            except DoudianApiError as error:
                error.attempts = attempts
                raise

        def on_retry(number: int, error: BaseException, delay: float) -> None:
            log.info(
                "%s: %s; retry %d/%d in %.1fs",
                method,
                getattr(error, "message", type(error).__name__),
                number,
                self.policy.max_attempts - 1,
                delay,
            )
            self.retries += 1

        try:
            return self.policy.run(
                attempt, _verdict, sleep=self.sleep, rng=self.rng, on_retry=on_retry
            )
        except TransientApiError as error:  # retried until the policy gave up
            error.message = f"{error.message} (gave up after {attempts} attempts)"
            raise

    @property
    def max_attempts(self) -> int:
        return self.policy.max_attempts

    def _call_once(
        self, path: str, method: str, params: Mapping[str, Any], authenticated: bool = True
    ) -> Response:
        body = param_json(params)
        timestamp = str(int(self.clock()))
        creds = self.credentials
        query = {
            "app_key": creds.app_key,
            "method": method,
            "timestamp": timestamp,
            "v": c.API_VERSION,
            "sign_method": c.SIGN_METHOD,
            "sign": sign(creds.app_key, creds.app_secret, method, body, timestamp),
        }
        if authenticated:
            query["access_token"] = self.access_token
        url = self.url(path)
        self.requests += 1
        # A token call's body holds the refresh token: never logged.
        log.debug("POST %s %s", url, body if authenticated else "{token request}")
        # The error is raised outside the `except`: requests' exceptions carry the URL with
        # its query (token, sign), and a chained or implicit __context__ would print it.
        failure: DoudianApiError | None = None
        try:
            response = self.session.post(
                url,
                params=query,
                data=body.encode("utf-8"),
                headers=c.REQUEST_HEADERS,
                timeout=self.timeout,
            )
        except requests.Timeout:
            failure = TransientApiError(
                f"{method}: no answer from {url} within {self.timeout:g}s", method=method
            )
        except requests.ConnectionError as exc:
            failure = TransientApiError(
                f"{method}: connection to {url} failed ({self.scrub(short_error(exc))})",
                method=method,
            )
        except requests.RequestException as exc:
            failure = DoudianApiError(
                f"{method}: request to {url} failed ({self.scrub(short_error(exc))})",
                method=method,
            )
        if failure is not None:
            raise failure
        return self._read_envelope(method, url, response)

    def _read_envelope(self, method: str, url: str, response: requests.Response) -> Response:
        status = response.status_code
        if status == 429 or status >= 500:
            error_cls = RateLimitedError if status == 429 else TransientApiError
            raise error_cls(
                f"{method}: HTTP {status} from {url}", method=method, http_status=status
            )
        if status != 200:
            raise DoudianApiError(
                f"{method}: HTTP {status} from {url}: {self.scrub(response.text[:200])}",
                method=method,
                http_status=status,
            )
        try:
            envelope = response.json()
        except ValueError:
            raise TransientApiError(
                f"{method}: the answer from {url} is not JSON", method=method
            ) from None
        if not isinstance(envelope, dict):
            raise TransientApiError(f"{method}: the answer is not an envelope", method=method)
        code = as_int(envelope.get("code"))
        log_id = as_text(envelope.get("log_id"))
        if code == c.SUCCESS_CODE:
            data = envelope.get("data")
            return Response(data if isinstance(data, dict) else {}, log_id)
        raise self._envelope_error(method, envelope, code, log_id)

    def _envelope_error(
        self, method: str, envelope: Mapping[str, Any], code: int | None, log_id: str | None
    ) -> DoudianApiError:
        sub_code = as_text(envelope.get("sub_code")) or ""
        words = " ".join(as_text(envelope.get(k)) or "" for k in ("msg", "sub_msg", "sub_code"))
        words = words.lower()
        detail = self.scrub(
            "; ".join(
                part
                for part in (
                    f"code {code}",
                    as_text(envelope.get("msg")),
                    sub_code and f"sub_code {sub_code}",
                    as_text(envelope.get("sub_msg")),
                    log_id and f"log_id {log_id}",
                )
                if part
            )
        )
        fields = {"method": method, "code": code, "sub_code": sub_code or None, "log_id": log_id}
        return _classify(method, code, sub_code, words, detail, fields)

    # -- paging --

    def pages(
        self, path: str, params: Mapping[str, Any], *, items_key: str, size: int
    ) -> Iterator[Page]:
        """Every page of a list call, from page 0 to the end.

        The end is `has_more` false (where the API has it), a short or empty page, or
        page × size reaching `total`, whichever comes first. A page that fails after
        retries raises with `page`/`pages` set, so the caller can say "page 7 of 12".
        """
        size = max(1, min(size, c.MAX_PAGE_SIZE))
        number = 0
        pages: int | None = None
        while True:
            request = {**params, "page": number, "size": size}
            try:
                response = self.call(path, request)
            except DoudianApiError as error:
                error.page, error.pages = number, pages
                raise
            items = response.data.get(items_key) or []
            if not isinstance(items, list):
                raise DoudianApiError(
                    f"{method_name(path)}: data.{items_key} is not a list", method=method_name(path)
                )
            total = as_int(response.data.get("total")) or 0
            page = Page(number, items, total, size, response, request)
            pages = page.pages
            yield page
            has_more = response.data.get("has_more")
            number += 1
            if has_more is False or not items or len(items) < size:
                return
            if has_more is not True and number * size >= total:
                return


def _verdict(error: BaseException) -> Verdict:
    """Retry what can heal by itself: network errors, 5xx, the platform's own failures
    and throttling (`TransientApiError.retryable`); nothing else."""
    return Verdict(bool(getattr(error, "retryable", False)))


def _classify(
    method: str, code: int | None, sub_code: str, words: str, detail: str, fields: dict
) -> DoudianApiError:
    """The error class of a refused call: by code, then sub_code (the platform's base
    error table), then words in the message for answers that carry neither."""
    if code in c.THROTTLE_CODES or sub_code in c.THROTTLE_SUB_CODES:
        return RateLimitedError(f"{method}: throttled by the platform ({detail})", **fields)
    if code == c.CODE_API_OFFLINE:
        return DoudianApiError(f"{method}: the platform has retired this API ({detail})", **fields)
    if code in c.RETRYABLE_CODES or sub_code.startswith(c.RETRYABLE_SUB_CODE_PREFIX):
        return TransientApiError(f"{method}: platform error ({detail})", **fields)
    if sub_code in c.TOKEN_SUB_CODES:
        return TokenExpiredError(detail, **fields)
    if sub_code in c.SIGN_SUB_CODES:
        return SignatureRejectedError(detail, **fields)
    if code == c.CODE_TOKEN_GENERATION:
        return TokenRefreshFailed(detail, **fields)
    if any(w in words for w in c.TOKEN_WORDS):
        return TokenExpiredError(detail, **fields)
    if any(w in words for w in c.SIGN_WORDS):
        return SignatureRejectedError(detail, **fields)
    if any(w in words for w in c.THROTTLE_WORDS):
        return RateLimitedError(f"{method}: throttled by the platform ({detail})", **fields)
    return DoudianApiError(f"{method}: refused ({detail})", **fields)
