"""New serial returners in the digest, on a real warehouse file and real HTTP receivers:
announced once, by pseudonym prefix only, in Chinese or English, on every platform; the
first night's starting point said once and never listed; a rerun sends nothing; the
setting off, an owner's channel or a channel filtering dimensions or severity: no
section."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest

from returnwatch.alerts.digest import MAX_SERIAL_LISTED
from returnwatch.alerts.outbox import enqueue_digests
from returnwatch.alerts.sender import send_pending
from returnwatch.settings import ChannelSettings, DetectionSettings, OwnerSettings
from returnwatch.warehouse.rates import transaction
from returnwatch.warehouse.serial_returners import track_serial_returners
from tests.helpers import add_buyer_lines, current_rates

NOW = datetime(2026, 8, 15, 7, 0)
KNOWN = "0a1b2c3d4e5f6071"  # a serial returner before the first night tracked
NEW = "3f9a2c1b77e0d5a4"  # becomes one on the night
PSEUDONYM = re.compile(r"[0-9a-f]{16}")


def tracked(con, kit, night=None):
    current_rates(con, kit.SHOP)  # the nightly flow refreshes the rates before it tracks
    with transaction(con):
        return track_serial_returners(con, kit.SHOP, night or kit.NIGHT, now=NOW)


def a_known_buyer_then_a_new_one(con, kit) -> None:
    """KNOWN is the starting point of the night before; NEW buys 8 lines ten days before
    the night and returns 7 of them on the night (尺码不合适 3, 质量问题 2, 不想要了 2)."""
    add_buyer_lines(con, kit.SHOP, KNOWN, kit.NIGHT - timedelta(days=30), 6, {"不想要了": 6})
    tracked(con, kit, kit.NIGHT - timedelta(days=1))
    add_buyer_lines(
        con,
        kit.SHOP,
        NEW,
        kit.NIGHT - timedelta(days=10),
        8,
        {"尺码不合适": 3, "质量问题": 2, "不想要了": 2},
        returned_on=kit.NIGHT,
    )
    night = tracked(con, kit)
    assert [b.customer_id for b in night.new] == [NEW]


@pytest.fixture
def generic(kit, receiver, settings):
    channel = ChannelSettings(name="ops", type="generic", url=receiver.url("/generic/hook"))
    return kit.with_channels(settings.model_copy(update={"shop_id": kit.SHOP}), [channel])


def deliver(con, configured, kit, clock) -> None:
    enqueue_digests(con, configured, kit.SHOP, [kit.NIGHT], now=NOW)
    send_pending(con, configured, clock=clock, sleep=clock.sleep)


def test_a_new_serial_returner_is_announced_once(con, kit, receiver, generic, clock):
    a_known_buyer_then_a_new_one(con, kit)
    deliver(con, generic, kit, clock)
    [body] = [r.json for r in receiver.accepted("/generic")]

    # a night with nothing else to say still tells ops: one short message of its own
    assert body["kind"] == "serial_returners" and body["anomalies"] == []
    assert body["title"] == f"高频退货买家 · {kit.SHOP} · {kit.NIGHT}"
    assert "新高频退货买家 1 位：" in body["text"]
    assert (
        "· 买家 3f9a2c1b…：90 天退货 7 次（占其订单行 88%），最常见原因：尺码不合适 3"
        in (body["text"])
    )
    assert KNOWN[:8] not in body["text"]  # the starting point is never listed
    [buyer] = body["serial_returners"]["new"]
    assert buyer == {
        "customer_id_prefix": "3f9a2c1b",
        "returns": 7,
        "last_30_days_returns": 7,
        "order_lines": 8,
        "return_rate": 7 / 8,
        "top_reasons": "尺码不合适 3; 不想要了 2; 质量问题 2",
    }
    assert body["serial_returners"]["starting_point"] == 0
    # the pseudonym itself never leaves: only its prefix
    assert not PSEUDONYM.search(receiver.received[0].raw.decode())

    # a rerun of the night (tracking and the digest again): nothing new is sent
    assert tracked(con, kit).recorded == 0
    deliver(con, generic, kit, clock)
    assert len(receiver.accepted("/generic")) == 1
    # the next night: NEW is known, nothing to say
    tracked(con, kit, kit.NIGHT + timedelta(days=1))
    enqueue_digests(con, generic, kit.SHOP, [kit.NIGHT + timedelta(days=1)], now=NOW)
    send_pending(con, generic, clock=clock, sleep=clock.sleep)
    assert len(receiver.accepted("/generic")) == 1


def test_first_night_records_the_starting_point_without_listing_it(
    con, kit, receiver, generic, clock
):
    buyers = [f"{i:x}" * 16 for i in range(7)]
    for buyer in buyers:
        add_buyer_lines(con, kit.SHOP, buyer, kit.NIGHT - timedelta(days=20), 5, {"不想要了": 5})
    night = tracked(con, kit)
    assert (night.new, night.starting_point) == ((), 7)

    deliver(con, generic, kit, clock)
    deliver(con, generic, kit, clock)  # a rerun of the first night
    [body] = [r.json for r in receiver.accepted("/generic")]
    assert "已把现有的 7 位记为起点（不逐一提醒），今后只提醒新出现的" in body["text"]
    assert "新高频退货买家" not in body["text"]
    assert body["serial_returners"] == {"new": [], "starting_point": 7}
    for buyer in buyers:
        assert buyer[:8] not in body["text"]


def test_many_new_ones_are_one_short_message(con, kit, receiver, generic, clock):
    add_buyer_lines(con, kit.SHOP, KNOWN, kit.NIGHT - timedelta(days=30), 6, {"不想要了": 6})
    tracked(con, kit, kit.NIGHT - timedelta(days=1))
    many = [f"{i:02x}" * 8 for i in range(MAX_SERIAL_LISTED + 3)]
    for n, buyer in enumerate(many):
        returns = 5 + n  # the last one returns most: listed first
        add_buyer_lines(
            con, kit.SHOP, buyer, kit.NIGHT - timedelta(days=5), returns, {"": returns},
            returned_on=kit.NIGHT,
        )  # fmt: skip
    tracked(con, kit)
    deliver(con, generic, kit, clock)
    [body] = [r.json for r in receiver.accepted("/generic")]
    text = body["text"]
    assert f"新高频退货买家 {len(many)} 位：" in text
    assert "· 另有 3 位" in text
    listed = [b for b in many if b[:8] in text]
    assert listed == many[-MAX_SERIAL_LISTED:]
    assert "最常见原因：未填 12" in text  # a blank 售后原因
    assert len(body["serial_returners"]["new"]) == len(many)  # the receiver gets them all


def test_english_channel(con, kit, receiver, settings, clock):
    a_known_buyer_then_a_new_one(con, kit)
    channel = ChannelSettings(
        name="bi", type="generic", url=receiver.url("/generic/hook"), language="en"
    )
    deliver(con, kit.with_channels(settings, [channel]), kit, clock)
    [body] = [r.json for r in receiver.accepted("/generic")]
    assert body["title"] == f"Serial returners · {kit.SHOP} · {kit.NIGHT}"
    assert "New serial returners: 1" in body["text"]
    assert (
        "· Buyer 3f9a2c1b…: 7 returns in 90 days (88% of their order lines), "
        "top reason: 尺码不合适 3" in body["text"]
    )


def test_rides_along_with_a_spike(con, kit, receiver, generic, clock):
    a_known_buyer_then_a_new_one(con, kit)
    kit.add_anomaly(con, "sku", "111", severity="critical")
    deliver(con, generic, kit, clock)
    [body] = [r.json for r in receiver.accepted("/generic")]
    assert body["kind"] == "digest" and body["summary"]["slices"] == ["sku:111"]
    text = body["text"]
    assert text.index("SKU 111") < text.index("新高频退货买家 1 位：")


def test_setting_off_no_section_and_no_message(con, kit, receiver, generic, clock):
    a_known_buyer_then_a_new_one(con, kit)
    off = generic.model_copy(update={"detection": DetectionSettings(serial_returner_alerts=False)})
    deliver(con, off, kit, clock)
    assert receiver.accepted("/generic") == []  # a quiet night otherwise: nothing sent
    kit.add_anomaly(con, "sku", "111")
    deliver(con, off, kit, clock)
    [body] = [r.json for r in receiver.accepted("/generic")]
    assert body["serial_returners"] is None
    assert "高频退货" not in body["text"] and "3f9a2c1b" not in body["text"]


@pytest.mark.parametrize(
    "options",
    [
        {"min_severity": "warning"},
        {"dimensions": ["shop", "sku"]},
    ],
)
def test_channels_that_filter_get_no_section(con, kit, receiver, settings, clock, options):
    a_known_buyer_then_a_new_one(con, kit)
    channel = ChannelSettings(name="x", type="generic", url=receiver.url("/generic/x"), **options)
    deliver(con, kit.with_channels(settings, [channel]), kit, clock)
    assert receiver.accepted("/generic") == []


def test_a_channel_that_lists_customer_gets_it_an_owner_channel_does_not(
    con, kit, receiver, settings, clock
):
    a_known_buyer_then_a_new_one(con, kit)
    shop = ChannelSettings(
        name="shop", type="generic", url=receiver.url("/generic/shop"), dimensions=["customer"]
    )
    own = ChannelSettings(name="mine", type="generic", url=receiver.url("/generic/mine"))
    owner = OwnerSettings(name="王店长", slices=["sku:111"], channel="mine")
    configured = kit.with_channels(settings, [shop, own], owners=[owner])
    deliver(con, configured, kit, clock)
    assert len(receiver.accepted("/generic/shop")) == 1
    assert receiver.accepted("/generic/mine") == []


@pytest.mark.parametrize("channel_type", ["feishu", "dingtalk", "wecom", "slack"])
def test_every_platform_takes_it(con, kit, receiver, settings, clock, channel_type):
    a_known_buyer_then_a_new_one(con, kit)
    receiver.secrets.update(kit.secrets_for_receiver())
    [channel] = [
        c for c in kit.channel_configs(receiver.url("").rstrip("/")) if c.type == channel_type
    ]
    configured = kit.with_channels(settings, [channel])
    enqueue_digests(con, configured, kit.SHOP, [kit.NIGHT], now=NOW)
    summary = send_pending(con, configured, clock=clock, sleep=clock.sleep)
    assert summary.sent >= 1 and summary.failed == 0
    [got] = receiver.accepted(f"/{channel_type}")
    raw = got.raw.decode()
    assert "3f9a2c1b…" in raw
    assert ("新高频退货买家 1 位" in raw) or ("New serial returners: 1" in raw)
    assert not PSEUDONYM.search(raw)
