"""Delivering the outbox: retries with backoff, platform rate limits, honest bookkeeping.

`send_pending` takes pending rows oldest first and updates each row right after its
request, so a crash loses at most the status of the one message in flight (it is then
sent again: at-least-once, with a window of one request). A channel failure never raises:
the row keeps its error and stays pending for the next run (timeouts, connection errors,
5xx, throttling) or is marked failed (other 4xx, a bad signature, a wrong key).

Retries: exponential backoff with jitter; `Retry-After` on 429 and the platforms' own
throttling codes are honoured; a wait longer than `max_wait_seconds`, or a channel that
keeps failing, ends that channel's turn in this run (its later rows wait too, so parts and
nights never arrive out of order). Clock and sleep are injectable, so tests never wait.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import duckdb
import requests
from tenacity import RetryCallState, Retrying, retry_if_exception, wait_exponential_jitter

from returnwatch.alerts import redact
from returnwatch.alerts.channels import CHANNEL_TYPES, Channel, DeliveryError, make_channel
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

    def acquire(self) -> None:
        now = self.clock()
        wait = 0.0
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
    ):
        self.alerts = alerts
        self.session = session or requests.Session()
        self.clock = clock or time.time
        self.sleep = sleep or time.sleep
        self._limiters: dict[str, RateLimiter] = {}

    def limiter(self, channel: Channel) -> RateLimiter:
        # Keyed by the webhook, not the name: two channel entries on one bot share its limit.
        key = hashlib.sha256(channel.url.encode()).hexdigest()
        if key not in self._limiters:
            self._limiters[key] = RateLimiter(channel.rate_limits, self.clock, self.sleep)
        return self._limiters[key]

    def deliver(self, channel: Channel, payload: dict) -> DeliveryOutcome:
        """One message, retried within this run as the settings allow; never raises for
        the receiver's failures."""
        alerts = self.alerts
        attempts = 0
        last_error: str | None = None
        backoff = wait_exponential_jitter(
            initial=alerts.backoff_initial_seconds,
            max=alerts.backoff_max_seconds,
            jitter=alerts.backoff_initial_seconds,
        )

        def wait(state: RetryCallState) -> float:
            error = state.outcome.exception() if state.outcome else None
            if isinstance(error, DeliveryError) and error.retry_after is not None:
                return error.retry_after
            return backoff(state)

        def stop(state: RetryCallState) -> bool:
            if state.attempt_number >= alerts.max_attempts_per_run:
                return True
            error = state.outcome.exception() if state.outcome else None
            return (
                isinstance(error, DeliveryError)
                and error.retry_after is not None
                and error.retry_after > alerts.max_wait_seconds
            )

        def attempt() -> None:
            nonlocal attempts, last_error
            attempts += 1
            try:
                send_once()
            except DeliveryError as error:
                last_error = error.message
                raise

        def send_once() -> None:
            self.limiter(channel).acquire()
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

        retrying = Retrying(
            stop=stop,
            wait=wait,
            retry=retry_if_exception(lambda e: isinstance(e, DeliveryError) and e.retryable),
            sleep=self.sleep,
            reraise=True,
        )
        try:
            retrying(attempt)
        except DeliveryError as error:
            log.warning(
                "alert to channel %s not delivered after %d attempt(s): %s",
                channel.name,
                attempts,
                error.message,
            )
            return DeliveryOutcome(False, attempts, error.message, error.retryable)
        return DeliveryOutcome(True, attempts, last_error)


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
