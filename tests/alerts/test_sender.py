"""Delivering the outbox to real local HTTP servers: retries, Retry-After, receivers that
are down, re-runs, rate limits. The clock is fake: nothing here really sleeps."""

from __future__ import annotations

import time

import pytest

from returnwatch.alerts.outbox import enqueue_digests
from returnwatch.alerts.sender import RateLimiter, send_pending
from returnwatch.settings import ChannelSettings


@pytest.fixture
def night(con, kit):
    """A night with one critical SKU spike, explained region and a headline."""
    kit.add_headline(con)
    kit.add_anomaly(con, "sku", "111", severity="critical", extra_returns=54.0)
    kit.add_anomaly(con, "region", "广东省", explained_by="sku:111")
    kit.add_refunds(con, "111", "广东省", {"尺码不合适": 3, "质量问题": 2})
    return con


def wecom_at(base: str, name: str = "ops-wecom") -> ChannelSettings:
    return ChannelSettings(name=name, type="wecom", url=f"{base}/wecom/send?key=test-key-1234567")


def run_night(con, settings, kit, clock, **kwargs):
    enqueue_digests(con, settings, kit.SHOP, [kit.NIGHT])
    return send_pending(con, settings, clock=clock, sleep=clock.sleep, **kwargs)


def test_500_then_success_is_delivered_once(night, kit, receiver, settings, clock):
    configured = kit.with_channels(settings, [wecom_at(receiver.url("").rstrip("/"))])
    receiver.reply((500, "oops"), (502, "bad gateway"))

    summary = run_night(night, configured, kit, clock)

    assert (summary.sent, summary.failed, summary.pending) == (1, 0, 0)
    assert len(receiver.received) == 3 and len(receiver.accepted()) == 1
    assert kit.outbox(night, "status", "attempts", "last_error") == [
        ("sent", 3, "HTTP 502: bad gateway")
    ]
    # the one retry policy (returnwatch.retrying): b/2 + U(0, b/2), b = 1 s, then 2 s
    assert len(clock.sleeps) == 2 and 0.5 <= clock.sleeps[0] <= 1.0 <= clock.sleeps[1] <= 2.0


def test_a_timeout_then_success_is_delivered_once(night, kit, receiver, settings, clock):
    configured = kit.with_channels(
        settings, [wecom_at(receiver.url("").rstrip("/"))], timeout_seconds=0.2
    )

    def slow(request):
        time.sleep(0.5)
        from werkzeug import Response

        return Response('{"errcode":0}', status=200)

    receiver.reply(slow)

    summary = run_night(night, configured, kit, clock)

    assert summary.sent == 1
    assert kit.outbox(night, "status", "attempts", "last_error") == [
        ("sent", 2, "timed out after 0.2s")
    ]


def test_429_honours_retry_after_then_succeeds(night, kit, receiver, settings, clock):
    configured = kit.with_channels(settings, [wecom_at(receiver.url("").rstrip("/"))])
    receiver.reply((429, "slow down", {"Retry-After": "7"}))

    summary = run_night(night, configured, kit, clock)

    assert summary.sent == 1 and clock.sleeps == [7.0]
    assert len(receiver.accepted()) == 1


def test_a_platform_throttle_code_waits_and_retries(night, kit, receiver, settings, clock):
    configured = kit.with_channels(settings, [wecom_at(receiver.url("").rstrip("/"))])
    receiver.reply((200, {"errcode": 45009, "errmsg": "api freq out of limit"}))

    summary = run_night(night, configured, kit, clock)

    assert summary.sent == 1 and clock.sleeps == [60.0]


def test_other_4xx_is_recorded_and_not_retried(night, kit, receiver, settings, clock):
    configured = kit.with_channels(settings, [wecom_at(receiver.url("").rstrip("/"))])
    receiver.reply((404, "no_service"))

    summary = run_night(night, configured, kit, clock)
    again = send_pending(night, configured, clock=clock, sleep=clock.sleep)

    assert (summary.failed, again.sent, again.failed) == (1, 0, 0)
    assert len(receiver.received) == 1
    assert kit.outbox(night, "status", "attempts", "last_error") == [
        ("failed", 1, "HTTP 404: no_service")
    ]


def test_a_retry_after_longer_than_allowed_leaves_the_row_for_the_next_run(
    night, kit, receiver, settings, clock
):
    configured = kit.with_channels(
        settings, [wecom_at(receiver.url("").rstrip("/"))], max_wait_seconds=60
    )
    receiver.reply((429, "", {"Retry-After": "3600"}))

    summary = run_night(night, configured, kit, clock)

    assert (summary.sent, summary.pending) == (0, 1) and clock.sleeps == []
    assert send_pending(night, configured, clock=clock, sleep=clock.sleep).sent == 1


def test_a_receiver_down_for_a_whole_run_gets_it_on_the_next_run_once(night, kit, settings, clock):
    port = kit.free_port()
    configured = kit.with_channels(settings, [wecom_at(f"http://127.0.0.1:{port}")], repeat="daily")
    kit.add_anomaly(night, "sku", "111", day=kit.NIGHT.replace(day=13), severity="critical")
    nights = [kit.NIGHT.replace(day=13), kit.NIGHT]
    enqueue_digests(night, configured, kit.SHOP, nights)

    first = send_pending(night, configured, clock=clock, sleep=clock.sleep)

    assert (first.sent, first.failed, first.pending) == (0, 0, 2)
    # the older night used its attempts; the channel then rests, so the nights stay in order
    assert kit.outbox(night, "day", "status", "attempts") == [
        (nights[0], "pending", 5),
        (nights[1], "pending", 0),
    ]
    assert "connection failed" in night.execute("SELECT last_error FROM alert_outbox").fetchone()[0]

    server = kit.start_server(port)
    try:
        receiver = kit.attach(server, kit.Receiver(server))
        enqueue_digests(night, configured, kit.SHOP, nights)  # the next nightly run re-enqueues
        second = send_pending(night, configured, clock=clock, sleep=clock.sleep)
        third = send_pending(night, configured, clock=clock, sleep=clock.sleep)
    finally:
        server.stop()

    assert (second.sent, second.pending, third.sent) == (2, 0, 0)
    assert [r.json["markdown"]["content"].split("\n")[0] for r in receiver.received] == [
        "**退货率异常 · demo-shop · 2026-08-13**",
        "**退货率异常 · demo-shop · 2026-08-14**",
    ]
    assert [s for (s,) in kit.outbox(night, "status")] == ["sent", "sent"]


def test_a_rerun_of_the_same_night_sends_nothing(night, kit, receiver, settings, clock):
    configured = kit.with_channels(settings, kit.channel_configs(receiver.url("").rstrip("/")))
    receiver.secrets.update(kit.secrets_for_receiver())

    first = run_night(night, configured, kit, clock)
    second = run_night(night, configured, kit, clock)

    assert (first.sent, first.failed, first.pending) == (5, 0, 0)
    assert (second.sent, second.failed, second.pending) == (0, 0, 0)
    assert len(receiver.received) == 5


def test_a_channel_removed_from_the_config_fails_its_rows(night, kit, receiver, settings, clock):
    configured = kit.with_channels(settings, [wecom_at(receiver.url("").rstrip("/"))])
    enqueue_digests(night, configured, kit.SHOP, [kit.NIGHT])

    summary = send_pending(night, kit.with_channels(settings, []), clock=clock, sleep=clock.sleep)

    assert summary.failed == 1
    assert kit.outbox(night, "status", "last_error") == [
        ("failed", "channel 'ops-wecom' is no longer configured")
    ]


def test_rate_limiter_keeps_to_the_platform_windows(clock):
    limiter = RateLimiter(((20, 60.0),), clock, clock.sleep)
    sent_at = []
    for _ in range(45):
        limiter.acquire()
        sent_at.append(clock.now)
    for i, at in enumerate(sent_at):
        assert sum(1 for other in sent_at[: i + 1] if other > at - 60.0) <= 20
    assert sent_at[-1] - sent_at[0] == pytest.approx(120.0)


def test_rate_limiter_does_not_let_messages_through_when_sleep_does_not_move_the_clock(clock):
    limiter = RateLimiter(((5, 1.0),), clock, lambda seconds: None)
    for _ in range(11):
        limiter.acquire()
    planned = list(limiter.sent)
    assert planned == [clock.now] * 5 + [clock.now + 1] * 5 + [clock.now + 2]


def test_many_nights_to_one_dingtalk_bot_are_paced(con, kit, receiver, settings, clock):
    from datetime import date, timedelta

    days = [date(2026, 8, 1) + timedelta(days=i) for i in range(25)]
    for day in days:
        kit.add_anomaly(con, "sku", "111", day=day, severity="critical")
    ding = ChannelSettings(
        name="ding",
        type="dingtalk",
        url=receiver.url("/dingtalk/robot/send?access_token=abc123456"),
    )
    configured = kit.with_channels(settings, [ding], catch_up_days=31, repeat="daily")
    enqueue_digests(con, configured, kit.SHOP, days)

    summary = send_pending(con, configured, clock=clock, sleep=clock.sleep)

    assert summary.sent == 25 and len(receiver.accepted()) == 25
    assert sum(clock.sleeps) == pytest.approx(60.0)  # the 21st waited for the window
    titles = [r.json["markdown"]["title"] for r in receiver.received]
    assert titles == [f"退货率异常 · demo-shop · {d.isoformat()}" for d in days]  # oldest first


def dingtalk_at(base: str, name: str = "ops-dingtalk") -> ChannelSettings:
    return ChannelSettings(
        name=name, type="dingtalk", url=f"{base}/dingtalk/robot/send?access_token=ding-token-1"
    )


SEND_TOO_FAST = (200, {"errcode": 130101, "errmsg": "send too fast, exceed 20 times per minute"})


def test_dingtalk_130101_waits_the_ten_minute_penalty_then_delivers(
    night, kit, receiver, settings, clock
):
    # max_wait_seconds (300) is for Retry-After; DingTalk's documented 10-minute block is
    # waited out in full rather than retried every minute into the same block
    configured = kit.with_channels(settings, [dingtalk_at(receiver.url("").rstrip("/"))])
    receiver.reply(SEND_TOO_FAST)

    summary = run_night(night, configured, kit, clock)

    assert summary.sent == 1 and clock.sleeps == [600.0]
    assert kit.outbox(night, "status", "attempts") == [("sent", 2)]
    assert len(receiver.received) == 2


def test_a_throttled_dingtalk_bot_makes_every_message_to_it_wait_without_spending_tries(
    kit, receiver, settings, clock
):
    from returnwatch.alerts.channels import make_channel
    from returnwatch.alerts.sender import Deliverer

    config = dingtalk_at(receiver.url("").rstrip("/"))
    configured = kit.with_channels(settings, [config], max_attempts_per_run=1)
    channel = make_channel(config)
    deliverer = Deliverer(configured.alerts, clock=clock, sleep=clock.sleep)
    message = {"msgtype": "markdown", "markdown": {"title": "t", "text": "returnwatch"}}
    receiver.reply(SEND_TOO_FAST)

    first = deliverer.deliver(channel, message)  # its one try met the block: pending
    second = deliverer.deliver(channel, message)  # waits the block out before its try

    assert (first.ok, first.retryable, first.attempts) == (False, True, 1)
    assert (second.ok, second.attempts) == (True, 1)
    assert clock.sleeps == [600.0] and len(receiver.received) == 2
