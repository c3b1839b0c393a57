"""The one retry policy for outbound HTTP (returnwatch.retrying): attempts, waits, and the
server's own waits, with a sleep that records instead of waiting."""

from __future__ import annotations

import random

import pytest

from returnwatch.retrying import RetryPolicy, Verdict


class Flaky(Exception):
    def __init__(self, wait: float | None = None, penalty: bool = False, retry: bool = True):
        self.verdict = Verdict(retry, wait, penalty)


def failing(errors: list[Flaky], result: str = "done"):
    calls: list[int] = []

    def attempt() -> str:
        calls.append(1)
        if errors:
            raise errors.pop(0)
        return result

    return attempt, calls


def judge(error: BaseException) -> Verdict:
    return error.verdict if isinstance(error, Flaky) else Verdict(False)


def test_a_request_is_tried_at_most_max_attempts_times():
    attempt, calls = failing([Flaky() for _ in range(10)])
    sleeps: list[float] = []
    with pytest.raises(Flaky):
        RetryPolicy(4, 1.0, 8.0).run(attempt, judge, sleep=sleeps.append, rng=random.Random(3))
    assert len(calls) == 4 and len(sleeps) == 3


def test_waits_double_with_equal_jitter_up_to_the_cap():
    attempt, _ = failing([Flaky() for _ in range(6)])
    sleeps: list[float] = []
    RetryPolicy(7, 1.0, 8.0).run(attempt, judge, sleep=sleeps.append, rng=random.Random(5))
    for n, wait in enumerate(sleeps, start=1):
        base = min(8.0, 2.0 ** (n - 1))
        assert base / 2 <= wait <= base


def test_what_is_not_retryable_is_raised_at_once():
    attempt, calls = failing([Flaky(retry=False)])
    sleeps: list[float] = []
    with pytest.raises(Flaky):
        RetryPolicy(5, 1.0, 8.0).run(attempt, judge, sleep=sleeps.append)
    assert len(calls) == 1 and sleeps == []


def test_the_servers_wait_is_honoured_and_one_above_max_wait_ends_the_retries():
    attempt, calls = failing([Flaky(wait=7.0)])
    sleeps: list[float] = []
    assert RetryPolicy(5, 1.0, 8.0, max_wait=60).run(attempt, judge, sleep=sleeps.append)
    assert sleeps == [7.0] and len(calls) == 2

    attempt, calls = failing([Flaky(wait=3600.0)])
    sleeps.clear()
    with pytest.raises(Flaky):
        RetryPolicy(5, 1.0, 8.0, max_wait=60).run(attempt, judge, sleep=sleeps.append)
    assert sleeps == [] and len(calls) == 1


def test_a_documented_platform_penalty_is_waited_out_even_above_max_wait():
    attempt, calls = failing([Flaky(wait=600.0, penalty=True)])
    sleeps: list[float] = []
    assert RetryPolicy(5, 1.0, 8.0, max_wait=300).run(attempt, judge, sleep=sleeps.append)
    assert sleeps == [600.0] and len(calls) == 2


def test_on_retry_hears_each_wait():
    attempt, _ = failing([Flaky(), Flaky()])
    heard: list[tuple[int, float]] = []
    RetryPolicy(5, 2.0, 8.0).run(
        attempt,
        judge,
        sleep=lambda s: None,
        rng=random.Random(1),
        on_retry=lambda n, error, wait: heard.append((n, wait)),
    )
    assert [n for n, _ in heard] == [1, 2]
    assert 1.0 <= heard[0][1] <= 2.0 and 2.0 <= heard[1][1] <= 4.0
