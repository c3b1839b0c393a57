"""Delivering the outbox: retries with backoff, platform rate limits, honest bookkeeping.

`send_pending` takes pending rows oldest first and updates each row right after its
request, so a crash loses at most the status of the one message in flight (it is then
sent again: at-least-once, with a window of one request). A channel failure never raises:
the row keeps its error and stays pending for the next run (timeouts, connection errors,
5xx, throttling) or is marked failed (other 4xx, a bad signature, a wrong key).

Retries: the project's one policy (`returnwatch.retrying`): exponential backoff with
jitter; `Retry-After` on 429 is honoured, and a longer one than `max_wait_seconds` ends
that channel's turn in this run; the platforms' own throttling codes are waited out for
the penalty the platform documents (DingTalk blocks a bot for 10 minutes) and block every
message to that bot meanwhile, so no try is spent on a bot that cannot answer. A channel
that keeps failing ends its turn in this run (its later rows wait too, so parts and
nights never arrive out of order). Clock and sleep are injectable, so tests never wait.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

import duckdb
import requests

from returnwatch import redact
from returnwatch.alerts.channels import (
    CHANNEL_TYPES,
    Channel,
    DeliveryError,
    channel_settings,
    make_channel,
)
from returnwatch.alerts.digest import sample_digest
from returnwatch.retrying import RetryPolicy, Verdict
from returnwatch.settings import AlertSettings, Settings

log = logging.getLogger(__name__)

Clock = Callable[[], float]
Sleep = Callable[[float], None]


@dataclass(frozen=True)
class DeliveryOutcome:
    ok: bool
    attempts: int
    error: str | None = None  # the last error met, also when a retry then succeeded
    retryable: bool = False  # a failure worth trying again in a later run


@dataclass
class SendSummary:
    """What one `send_pending` did. `pending` rows are retried by the next run."""

    sent: int = 0
    failed: int = 0
    pending: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.failed == 0 and self.pending == 0


class RateLimiter:
    """Sliding windows of (messages, seconds): waits until one more message is allowed."""

    def __init__(self, limits: Sequence[tuple[int, float]], clock: Clock, sleep: Sleep):
        self.limits = limits
        self.clock = clock
        self.sleep = sleep
        self.sent: deque[float] = deque()
        self.paused_until = 0.0

    def pause_until(self, moment: float) -> None:
        """The platform has blocked the bot until `moment` (DingTalk's 10 minutes)."""
        self.paused_until = max(self.paused_until, moment)

    def acquire(self) -> None:
        now = self.clock()
        wait = max(0.0, self.paused_until - now)
        for count, window in self.limits:
            recent = [t for t in self.sent if t > now - window]
            if len(recent) >= count:
                wait = max(wait, recent[-count] + window - now)
        if wait > 0:
            self.sleep(wait)
        # Record the planned time: a sleep that does not move the clock (a test's) must
        # not let the next message through early.
        self.sent.append(max(now + wait, self.clock()))
        longest = max((window for _, window in self.limits), default=0.0)
        while self.sent and self.sent[0] <= now - longest:
            self.sent.popleft()


class Deliverer:
    """Sends payloads to channels: one rate limiter per webhook, retries per message."""

    def __init__(
        self,
        alerts: AlertSettings,
        *,
        session: requests.Session | None = None,
        clock: Clock | None = None,
        sleep: Sleep | None = None,
        rng: random.Random | None = None,
    ):
        self.alerts = alerts
        self.session = session or requests.Session()
        self.clock = clock or time.time
        self.sleep = sleep or time.sleep
        self.rng = rng or random.Random()
        self._limiters: dict[str, RateLimiter] = {}

    def limiter(self, channel: Channel) -> RateLimiter:
        # Keyed by the webhook, not the name: two channel entries on one bot share its limit.
        key = hashlib.sha256(channel.url.encode()).hexdigest()
        if key not in self._limiters:
            self._limiters[key] = RateLimiter(channel.rate_limits, self.clock, self.sleep)
        return self._limiters[key]

    def deliver(self, channel: Channel, payload: dict) -> DeliveryOutcome:
        """One message, retried within this run by the project's one retry policy
        (`returnwatch.retrying`); never raises for the receiver's failures."""
        alerts = self.alerts
        policy = RetryPolicy(
            alerts.max_attempts_per_run,
            alerts.backoff_initial_seconds,
            alerts.backoff_max_seconds,
            max_wait=alerts.max_wait_seconds,
        )
        limiter = self.limiter(channel)
        attempts = 0
        last_error: str | None = None

        def attempt() -> None:
            nonlocal attempts, last_error
            attempts += 1
            try:
                send_once()
            except DeliveryError as error:
                last_error = error.message
                if error.penalty and error.retry_after:
                    # The bot is blocked, not just this message: every message to it waits.
                    limiter.pause_until(self.clock() + error.retry_after)
                raise

        def send_once() -> None:
            limiter.acquire()
            request = channel.prepare(payload, self.clock())
            try:
                response = self.session.post(
                    request.url,
                    data=request.body,
                    headers=request.headers,
                    timeout=alerts.timeout_seconds,
                )
            except requests.Timeout as exc:
                raise DeliveryError(
                    f"timed out after {alerts.timeout_seconds:g}s", retryable=True
                ) from exc
            except requests.ConnectionError as exc:
                raise DeliveryError(f"connection failed: {exc}", retryable=True) from exc
            except requests.RequestException as exc:
                raise DeliveryError(f"request failed: {exc}", retryable=False) from exc
            channel.check_response(
                response.status_code, response.headers, response.text, self.clock()
            )

        try:
            policy.run(attempt, _verdict, sleep=self.sleep, rng=self.rng)
        except DeliveryError as error:
            log.warning(
                "alert to channel %s not delivered after %d attempt(s): %s",
                channel.name,
                attempts,
                error.message,
            )
            return DeliveryOutcome(False, attempts, error.message, error.retryable)
        return DeliveryOutcome(True, attempts, last_error)


def _verdict(error: BaseException) -> Verdict:
    if not isinstance(error, DeliveryError):
        return Verdict(False)
    return Verdict(error.retryable, error.retry_after, error.penalty)


def send_pending(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    *,
    session: requests.Session | None = None,
    clock: Clock | None = None,
    sleep: Sleep | None = None,
    alert_ids: Sequence[int] | None = None,
) -> SendSummary:
    """Deliver pending outbox rows, oldest first (or only `alert_ids`); record each result.

    Runs outside any transaction of the caller's: each row's status is committed as soon
    as its request is answered.
    """
    deliverer = Deliverer(settings.alerts, session=session, clock=clock, sleep=sleep)
    configured = {c.name: c for c in settings.alerts.channels}
    channels: dict[str, Channel] = {}
    resting: set[str] = set()  # channels that failed in this run: their rows wait
    summary = SendSummary()

    query = "SELECT alert_id, channel, payload FROM alert_outbox WHERE status = 'pending'"
    params: list[object] = []
    if alert_ids is not None:
        if not alert_ids:
            return summary
        query += f" AND alert_id IN ({', '.join('?' for _ in alert_ids)})"
        params.extend(alert_ids)
    rows = con.execute(query + " ORDER BY created_at, alert_id", params).fetchall()

    for alert_id, name, payload in rows:
        if name in resting:
            summary.pending += 1
            continue
        config = configured.get(name)
        if config is None or config.type not in CHANNEL_TYPES:
            error = f"channel {name!r} is no longer configured"
            _record(con, alert_id, "failed", 0, error, deliverer.clock())
            summary.failed += 1
            summary.errors.append(f"{name}: {error}")
            continue
        if name not in channels:
            channels[name] = make_channel(config)
        channel = channels[name]
        outcome = deliverer.deliver(channel, json.loads(payload))
        if outcome.ok:
            status = "sent"
            summary.sent += 1
            log.info("alert %d delivered to channel %s", alert_id, name)
        elif outcome.retryable:
            status = "pending"
            summary.pending += 1
            resting.add(name)
            summary.errors.append(f"{name}: {outcome.error}")
        else:
            status = "failed"
            summary.failed += 1
            summary.errors.append(f"{name}: {outcome.error}")
        _record(con, alert_id, status, outcome.attempts, outcome.error, deliverer.clock())
    return summary


def _record(
    con: duckdb.DuckDBPyConnection,
    alert_id: int,
    status: str,
    attempts: int,
    error: str | None,
    now: float,
) -> None:
    at = datetime.fromtimestamp(now)
    con.execute(
        """
        UPDATE alert_outbox
        SET status = ?,
            attempts = attempts + ?,
            last_error = coalesce(?, last_error),
            last_attempt_at = ?,
            sent_at = CASE WHEN ? = 'sent' THEN ? ELSE sent_at END
        WHERE alert_id = ?
        """,
        [status, attempts, redact.scrub(error) if error else None, at, status, at, alert_id],
    )


def send_test_message(
    settings: Settings,
    channel_name: str,
    *,
    session: requests.Session | None = None,
    clock: Clock | None = None,
    sleep: Sleep | None = None,
    day: date | None = None,
) -> DeliveryOutcome | None:
    """Send a sample digest (marked as a test) straight to one channel, bypassing the outbox.

    Returns the `DeliveryOutcome` of the last part sent (ok, attempts, error). Raises
    UnknownChannelError for a name that is not configured. It lives here, beside the
    Deliverer it uses, so `channels` (markup and limits) never imports `sender` (delivery).
    """
    config = channel_settings(settings, channel_name)
    channel = make_channel(config)
    digest = sample_digest(settings, config, day or date.fromtimestamp((clock or time.time)()))
    deliverer = Deliverer(settings.alerts, session=session, clock=clock, sleep=sleep)
    outcome = None
    for message in channel.render(digest, dedup_key="test"):
        outcome = deliverer.deliver(channel, message.payload)
        if not outcome.ok:
            break
    return outcome
