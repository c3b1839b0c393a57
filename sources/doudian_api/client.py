"""HTTP for the 抖店 Open Platform: signing, the envelope, paging and retries.

One request is `POST {base_url}/{path}?app_key&method&timestamp&v=2&sign_method&sign&
access_token` with the body `param_json`: compact JSON, keys sorted, not ASCII- or
HTML-escaped. The signature is hex(HMAC-SHA256(key=app_secret, app_secret + "app_key" +
app_key + "method" + method + "param_json" + param_json + "timestamp" + timestamp + "v2" +
app_secret)); the access token is not signed.

The answer is an envelope (`code`, `msg`, `sub_code`, `sub_msg`, `log_id`, `data`); code
10000 is success and errors come with HTTP 200. Network errors, HTTP 5xx, "service
unavailable" and throttling are retried with exponential backoff and jitter (sleep, clock
and randomness are injectable, so tests never wait); an expired token or a refused
signature raises at once with a message that says what to fix.

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
from typing import Any

import requests

from returnwatch import redact
from returnwatch.errors import short_error
from returnwatch.settings import ApiSourceSettings
from returnwatch.sources.doudian_api import constants as c
from returnwatch.sources.doudian_api.exceptions import (
    ApiNotConfigured,
    DoudianApiError,
    RateLimitedError,
    SignatureRejectedError,
    TokenExpiredError,
    TransientApiError,
)
from returnwatch.sources.doudian_api.values import as_int, as_text

log = logging.getLogger(__name__)

Sleep = Callable[[float], None]
Clock = Callable[[], float]
SecretLoader = Callable[[str], str]

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


# --- credentials -------------------------------------------------------------------------


@dataclass(frozen=True)
class Credentials:
    app_key: str
    app_secret: str
    access_token: str

    def __repr__(self) -> str:  # never print the secrets, even in a debugger's repr
        return f"Credentials(app_key={self.app_key!r}, app_secret='***', access_token='***')"


def load_prefect_secret(block_name: str) -> str:
    """The value of a Prefect Secret block (Prefect is imported only when one is named)."""
    from prefect.blocks.system import Secret

    value = Secret.load(block_name).get()
    return value if isinstance(value, str) else json.dumps(value)


def resolve_credentials(
    api: ApiSourceSettings, secret_loader: SecretLoader | None = None
) -> Credentials:
    """The app key, secret and token from the settings; a value written
    "prefect-secret:<block>" is read from that Prefect Secret block."""
    loader = secret_loader or load_prefect_secret
    missing = [
        name
        for name, value in (
            ("app_key", api.app_key),
            ("app_secret", api.app_secret),
            ("access_token", api.access_token),
        )
        if not value or (hasattr(value, "get_secret_value") and not value.get_secret_value())
    ]
    if missing:
        raise ApiNotConfigured(
            "the 抖店 API source needs [source.api] "
            + ", ".join(missing)
            + f" (env {', '.join(f'RETURNWATCH_SOURCE__API__{m.upper()}' for m in missing)}); "
            "see docs/api-source.md"
        )

    def value(raw: str, name: str) -> str:
        if raw.startswith(c.PREFECT_SECRET_PREFIX):
            block = raw[len(c.PREFECT_SECRET_PREFIX) :].strip()
            try:
                raw = loader(block)
            except Exception as exc:
                raise ApiNotConfigured(
                    f"[source.api] {name}: cannot read Prefect Secret block {block!r} "
                    f"({type(exc).__name__})"
                ) from None
        return raw.strip()

    assert api.app_key and api.app_secret and api.access_token
    return Credentials(
        app_key=value(api.app_key, "app_key"),
        app_secret=value(api.app_secret.get_secret_value(), "app_secret"),
        access_token=value(api.access_token.get_secret_value(), "access_token"),
    )


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
    ):
        self.credentials = credentials
        self.base_url = base_url.rstrip("/")
        self.session = session or requests.Session()
        self.timeout = timeout
        self.max_attempts = max(1, max_attempts)
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.sleep = sleep or time.sleep
        self.clock = clock or time.time
        self.rng = rng or random.Random()
        self.requests = 0
        self.retries = 0
        # Registered with the project's scrubber too: urllib3 logs request lines (with
        # the query) at DEBUG, and its filter masks them before any handler sees them.
        redact.register("", credentials.access_token)
        redact.register("", credentials.app_secret)
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
    ) -> DoudianClient:
        return cls(
            resolve_credentials(api, secret_loader),
            base_url=api.base_url,
            session=session,
            timeout=api.timeout_seconds,
            max_attempts=api.max_attempts,
            backoff_initial=api.backoff_initial_seconds,
            backoff_max=api.backoff_max_seconds,
            sleep=sleep,
            rng=rng,
        )

    # -- scrubbing --

    def scrub(self, text: str) -> str:
        """`text` without the token, the secret, a signature or any query string."""
        for secret in (self.credentials.access_token, self.credentials.app_secret):
            if secret:
                text = text.replace(secret, "***")
        return redact.scrub(_QUERY.sub("?…", text))

    def url(self, path: str) -> str:
        """The endpoint as it may be logged: never with its query string."""
        return f"{self.base_url}/{path.strip('/')}"

    # -- one call --

    def call(self, path: str, params: Mapping[str, Any]) -> Response:
        """One API call, retried on transient failures; returns the envelope's data."""
        method = method_name(path)
        attempt = 0
        while True:
            attempt += 1
            try:
                return self._call_once(path, method, params)
            except TransientApiError as error:
                error.attempts = attempt
                if attempt >= self.max_attempts:
                    error.message = f"{error.message} (gave up after {attempt} attempts)"
                    raise
                delay = self._backoff(attempt)
                log.info(
                    "%s: %s; retry %d/%d in %.1fs",
                    method,
                    error.message,
                    attempt,
                    self.max_attempts - 1,
                    delay,
                )
                self.retries += 1
                self.sleep(delay)

    def _backoff(self, attempt: int) -> float:
        """Exponential backoff with "equal" jitter: half fixed, half random, capped."""
        base = min(self.backoff_max, self.backoff_initial * 2 ** (attempt - 1))
        return base / 2 + self.rng.uniform(0, base / 2)

    def _call_once(self, path: str, method: str, params: Mapping[str, Any]) -> Response:
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
            "access_token": creds.access_token,
        }
        url = self.url(path)
        self.requests += 1
        log.debug("POST %s %s", url, body)
        # The error is raised outside the `except`: requests' exceptions carry the URL with
        # its query (token, sign), and a chained or implicit __context__ would print it.
        failure: DoudianApiError | None = None
        try:
            response = self.session.post(
                url,
                params=query,
                data=body.encode("utf-8"),
                headers={"Content-Type": "application/json;charset=UTF-8"},
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
        sub_code = as_text(envelope.get("sub_code"))
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
        if sub_code in c.TOKEN_SUB_CODES or any(w in words for w in c.TOKEN_WORDS):
            return TokenExpiredError(detail, **fields)
        if sub_code in c.SIGN_SUB_CODES or any(w in words for w in c.SIGN_WORDS):
            return SignatureRejectedError(detail, **fields)
        if sub_code in c.THROTTLE_SUB_CODES or any(w in words for w in c.THROTTLE_WORDS):
            return RateLimitedError(f"{method}: throttled by the platform ({detail})", **fields)
        if code in c.RETRYABLE_CODES or sub_code.startswith(c.RETRYABLE_SUB_CODE_PREFIX):
            return TransientApiError(f"{method}: platform error ({detail})", **fields)
        return DoudianApiError(f"{method}: refused ({detail})", **fields)

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
