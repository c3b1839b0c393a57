"""One retry policy for every outbound HTTP request: the 抖店 Open Platform and the chat
webhooks.

Where retrying belongs: **at the request, once.** The request is the only place that sees
why it failed (a timeout, a 5xx, the platform's throttling code, a `Retry-After`), so it
is the only place that can choose the right wait, and it is cheap to repeat. A retry
higher up (a Prefect task retried as a whole) re-runs every request of the step, and
multiplies the attempts: the 抖店 pull used to be tried 3 (task) × 6 (request) = 18 times
for one failing page. So the flows' tasks that make HTTP calls (`pull-api`,
`send-alerts`) have no Prefect retries; what is still failing after `max_attempts` waits
for the next run, which re-reads (a pull's watermark did not move) or re-sends (an
outbox row is still pending). docs/orchestration.md has the decision.

The policy: at most `max_attempts` tries of one request; between them exponential backoff
with "equal" jitter — the n-th wait is `b/2 + U(0, b/2)` with `b = min(backoff_max,
backoff_initial × 2^(n-1))` — unless the server named its own wait (`Retry-After`, a
platform's throttling penalty). A server wait longer than `max_wait` ends the retries
(the caller decides what that means, e.g. "try again next run"), except a pause the
caller marks as the platform's documented penalty. Built on tenacity; `sleep` and the
random source are injectable, so tests never wait.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from tenacity import RetryCallState, Retrying, retry_if_exception

T = TypeVar("T")
Sleep = Callable[[float], None]


@dataclass(frozen=True)
class Verdict:
    """What one failure asks for: whether to try again and how long the server said to
    wait (None: the policy's backoff). `penalty` marks a wait the platform documents for
    its throttling (DingTalk's 10 minutes): it is waited out even above `max_wait`."""

    retry: bool
    wait: float | None = None
    penalty: bool = False


@dataclass(frozen=True)
class RetryPolicy:
    """Attempts and waits for one request (see the module docstring)."""

    max_attempts: int
    backoff_initial: float
    backoff_max: float
    max_wait: float | None = None

    def backoff(self, attempt: int, rng: random.Random) -> float:
        """The wait after failed attempt number `attempt` (1-based): half fixed, half
        random, doubling up to the cap."""
        base = min(self.backoff_max, self.backoff_initial * 2 ** (attempt - 1))
        return base / 2 + rng.uniform(0, base / 2)

    def run(
        self,
        attempt: Callable[[], T],
        verdict: Callable[[BaseException], Verdict],
        *,
        sleep: Sleep,
        rng: random.Random | None = None,
        on_retry: Callable[[int, BaseException, float], None] | None = None,
    ) -> T:
        """`attempt()` until it returns, or the last error is re-raised: when `verdict`
        says it is not worth retrying, after `max_attempts`, or when the server asks for a
        wait above `max_wait`. `on_retry(attempt, error, wait)` runs before each wait."""
        rng = rng or random.Random()

        def judged(state: RetryCallState) -> Verdict:
            error = state.outcome.exception() if state.outcome else None
            return verdict(error) if error is not None else Verdict(False)

        def stop(state: RetryCallState) -> bool:
            if state.attempt_number >= max(1, self.max_attempts):
                return True
            judgement = judged(state)
            return (
                self.max_wait is not None
                and judgement.wait is not None
                and not judgement.penalty
                and judgement.wait > self.max_wait
            )

        def wait(state: RetryCallState) -> float:
            judgement = judged(state)
            if judgement.wait is not None:
                return judgement.wait
            return self.backoff(state.attempt_number, rng)

        def before_sleep(state: RetryCallState) -> None:
            if on_retry is not None and state.outcome is not None and state.next_action:
                on_retry(state.attempt_number, state.outcome.exception(), state.next_action.sleep)

        retrying = Retrying(
            stop=stop,
            wait=wait,
            retry=retry_if_exception(lambda error: verdict(error).retry),
            sleep=sleep,
            before_sleep=before_sleep,
            reraise=True,
        )
        return retrying(attempt)
