"""The errors of the 抖店 API source. Every message is safe to log: no secret, no token, no
signature, no query string; each says what to do where there is something to do."""

from __future__ import annotations

from returnwatch.sources.doudian_api.constants import (
    ENV_ACCESS_TOKEN,
    ENV_APP_KEY,
    ENV_APP_SECRET,
)


class DoudianApiError(Exception):
    """A call the platform refused, or that could not be completed after retries.

    `retryable` marks failures worth trying again later (network, 5xx, throttling); the
    envelope fields are kept for troubleshooting (`log_id` is what the platform's support
    asks for).
    """

    retryable = False

    def __init__(
        self,
        message: str,
        *,
        method: str | None = None,
        code: int | None = None,
        sub_code: str | None = None,
        log_id: str | None = None,
        http_status: int | None = None,
    ):
        super().__init__(message)
        self.message = message
        self.method = method
        self.code = code
        self.sub_code = sub_code
        self.log_id = log_id
        self.http_status = http_status
        self.attempts = 1
        self.page: int | None = None  # 0-based page being fetched, once known
        self.pages: int | None = None  # pages the window has, once known
        self.window: tuple[int, int] | None = None  # the chunk paged (epoch s), once known

    def __str__(self) -> str:
        return self.message


class TransientApiError(DoudianApiError):
    """A network error, an HTTP 5xx or the platform's "service unavailable": retried."""

    retryable = True


class RateLimitedError(TransientApiError):
    """The platform's throttling answer: retried after a backoff."""


class TokenExpiredError(DoudianApiError):
    """The access token is expired, revoked or unknown; only a new token helps."""

    def __init__(self, detail: str = "", **envelope):
        message = (
            "the 抖店 access token has expired: refresh it in the 抖店 open platform and set "
            f"{ENV_ACCESS_TOKEN} (or [source.api] access_token)"
        )
        if detail:
            message += f" — platform said: {detail}"
        super().__init__(message, **envelope)


class SignatureRejectedError(DoudianApiError):
    """The platform refused the request signature: the app_key/app_secret pair is wrong."""

    def __init__(self, detail: str = "", **envelope):
        message = (
            "the 抖店 open platform refused the request signature: check that "
            f"{ENV_APP_KEY} and {ENV_APP_SECRET} (or [source.api] app_key / app_secret) "
            "belong to the same app"
        )
        if detail:
            message += f" — platform said: {detail}"
        super().__init__(message, **envelope)


class ApiNotConfigured(Exception):
    """A setting the API source needs is missing; the message names it."""


class PullFailed(Exception):
    """A pull in which some stream failed; `summary` says which and why (the streams that
    succeeded are loaded and their watermarks moved)."""

    def __init__(self, summary: object):
        self.summary = summary
        super().__init__(str(summary))
