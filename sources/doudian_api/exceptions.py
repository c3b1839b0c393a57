"""The errors of the 抖店 API source. Every message is safe to log: no secret, no token, no
signature, no query string; each says what to do where there is something to do."""

from __future__ import annotations

from returnwatch.sources.doudian_api.constants import (
    ENV_ACCESS_TOKEN,
    ENV_APP_KEY,
    ENV_APP_SECRET,
    ENV_REFRESH_TOKEN,
    TOKEN_REFRESHABLE_SUB_CODES,
    WHAT_TO_DO_AUTHORISE,
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
    """The access token is expired, revoked, unknown or the shop's authorisation is gone.

    `refreshable` says whether a refresh token can fix it (expired or superseded tokens,
    the sub_codes the official SDKs refresh on); the pull does so itself when it has one.
    """

    def __init__(self, detail: str = "", **envelope):
        message = (
            "the 抖店 access token has expired or is not accepted: set [source.api] "
            f"refresh_token ({ENV_REFRESH_TOKEN}) so returnwatch renews it itself, or "
            "authorise again in the 抖店 backend and set "
            f"{ENV_ACCESS_TOKEN} (or [source.api] access_token)"
        )
        if detail:
            message += f" — platform said: {detail}"
        super().__init__(message, **envelope)

    @property
    def refreshable(self) -> bool:
        return not self.sub_code or self.sub_code in TOKEN_REFRESHABLE_SUB_CODES


class TokenRefreshFailed(TokenExpiredError):
    """token.refresh / token.create was refused (code 50001: the refresh token expired,
    was already used, or the shop's authorisation is gone): a person must authorise again."""

    def __init__(self, detail: str = "", **envelope):
        DoudianApiError.__init__(
            self,
            f"the 抖店 access token could not be renewed: {WHAT_TO_DO_AUTHORISE}"
            + (f" — platform said: {detail}" if detail else ""),
            **envelope,
        )

    @property
    def refreshable(self) -> bool:
        return False


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
